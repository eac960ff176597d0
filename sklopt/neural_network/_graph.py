"""Whole-step CUDA graphs: forward, backward and optimizer step captured once, replayed
per batch.

Small tabular nets on a GPU are bound by kernel launches, not arithmetic: a step is
some twenty small kernels. ``torch.compile(mode="reduce-overhead")`` graphs the forward
and backward but leaves the optimizer and the loss outside; capturing the whole step
(PyTorch's "whole network capture" recipe, :class:`torch.cuda.CUDAGraph`) makes each
full batch one graph launch. The optimizer is built ``capturable`` with its learning
rate as a device tensor, so the schedule still acts; batches of another size (the
epoch's last) run eagerly on the same parameters.
"""

import torch

from ._callbacks import snapshot


class GraphedStep:
    """The training step of ``net`` for batches of ``batch_size`` rows as a CUDA graph.

    Parameters
    ----------
    net : SkloptNet
        Configured for a CUDA device, with a capturable optimizer.
    batch_size : int
        The size of the batches the graph serves.
    """

    def __init__(self, net, batch_size):
        self.net = net
        self.batch_size = batch_size
        self.graph = None

    def _warm_up(self):
        # Kernels must have run once (lazy state, cuBLAS workspaces) before capture.
        # The warm-up steps are undone: weights, buffers and optimizer state go back to
        # where they were, in place, so the captured addresses stay valid.
        net, optimizer = self.net, self.net.optimizer_
        module_state = snapshot(net.module_)
        before = {p: {k: v.clone() for k, v in s.items() if torch.is_tensor(v)}
                  for p, s in optimizer.state.items()}
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                optimizer.zero_grad(set_to_none=True)
                net._objective(*self.static, self._denominator()).backward()
                optimizer.step()
        torch.cuda.current_stream().wait_stream(side)
        with torch.no_grad():
            net.module_.load_state_dict(module_state)
            for p, state in optimizer.state.items():
                for key, value in state.items():
                    if not torch.is_tensor(value):
                        continue
                    if p in before:
                        value.copy_(before[p][key])
                    else:
                        value.zero_()

    def __call__(self, X, y, w, denom):
        """One step on a full batch; returns the batch loss (a device tensor)."""
        if self.graph is None:
            self.static = [X.clone(), None if y is None else y.clone(),
                           None if w is None else w.clone()]
            self._warm_up()
            optimizer = self.net.optimizer_
            optimizer.zero_grad(set_to_none=True)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                # Everything the step reads is computed inside the graph from the
                # static inputs (a tensor made outside would be freed and reused).
                self.loss = self.net._objective(*self.static, self._denominator())
                self.loss.backward()
                optimizer.step()
        else:
            for static, new in zip(self.static, (X, y, w)):
                if static is not None:
                    static.copy_(new)
        self.graph.replay()
        return self.loss.detach().clone()

    def _denominator(self):
        # The penalty's batch denominator inside the graph: the row count, or the
        # batch's weight sum computed from the static weights on every replay.
        w = self.static[2]
        return float(self.batch_size) if w is None else w.sum()


def check_graphable(spec, solver):
    """Raise a ValueError naming why ``spec`` cannot train with whole-step graphs."""
    if torch.device(spec.device).type != "cuda":
        raise ValueError(f"compile='cuda-graph' needs a CUDA device; this model trains "
                         f"on {spec.device!r}.")
    if not solver.capturable:
        raise ValueError(f"compile='cuda-graph' works with solver 'adam' or 'adamw'; "
                         f"got solver={spec.solver!r}.")
    if spec.precision == "float16":
        raise ValueError("compile='cuda-graph' does not combine with precision="
                         "'float16' (its gradient scaler steps on the host); use "
                         "'bfloat16'.")
