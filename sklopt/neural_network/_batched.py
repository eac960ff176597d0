"""Many nets in one pass: K sklopt MLPs of one architecture trained together.

Small tabular nets are overhead-bound: a step of a (100,) net on 200 rows is mostly
Python and dispatch, not arithmetic. :func:`fit_batched` trains K member networks (the
candidates x folds of a search, the seeds of a stability measure) as one stacked
network: each linear layer's weights are one ``(K, out, in)`` tensor, every layer is
one batched product over the member axis, the members' losses are one vectorised call
and one backward pass, and the members' optimizer steps are one fused (or foreach)
call per set of equal optimizer settings.

Everything else is each member's own fit, through the one fit path (``_fit.py``):

* each member is planned by its estimator's ``_plan`` on its own rows: its
  validation, its early-stopping split, its initial weights, its shuffling, its
  dropout generator, its spec;
* each member's parameters are views into the stacked tensors, so its own module, its
  own optimizer (with its own learning rate, momentum, betas and state) and its own
  callbacks (the validation and sklearn's stopping rules of
  :class:`ConvergenceMonitor`) see and step the training weights;
* each member is published by its estimator's ``_publish``.

A member's batch is its own rows in its own shuffled order; members whose data are
shorter are padded and their padded rows never reach their loss. A member that stops
(``n_iter_no_change``, ``max_iter``) leaves the stack: it stops changing and costing.
So, on the CPU in float64, a batched fit gives each member the ``loss_curve_``,
``n_iter_`` and weights of its separate fit up to rounding (the batched products sum
in another order: ``tests/test_batched.py`` holds them to 1e-6).

Written by hand because ``torch.func.vmap`` cannot draw each member's dropout masks
from that member's own generator (which the separate fit's exactness needs), torch's
optimizers take one learning rate per parameter group, not per member, and autograd's
own backward of a batched product is slow for thin output layers (:class:`_StackedLinear`).
"""

import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..utils._device import cpu_threads_for, resolve_device, torch_threads
from ._fit import FitHook, _rollback
from ._levers import COMPILE_MODES, OUTPUTS, PENALTIES, PRECISIONS, SOLVERS
from ._module import SeededDropout, dropout_mask
from ._net import optimizer_step


@dataclass
class _Member:
    estimator: object
    plan: object
    net: object = None
    monitor: object = None
    generator: object = None  # dropout's
    done: bool = False
    epochs: int = 0  # epochs left (max_iter)
    rows: int = 0  # rows of the member's current batch (its dropout masks' height)
    layers: list = None
    data_group: int = 0  # members with equal training data share a number
    last_denom: object = None  # its last batch's size or weight sum


#: Whether numerical embeddings join batches on the CPU. Measured slower there than one
#: fit at a time (6 members of a (64,) net with piecewise-linear embeddings on digits,
#: 2 cores: 1.69 s batched against 1.18 s separate: the per-feature maps of K members
#: move K times the memory per step and leave the cache); on a GPU they batch.
CPU_BATCHES_EMBEDDINGS = False


def batchable(estimator):
    """Why ``estimator`` cannot join a batch (a str), or None when it can: a sklopt MLP
    with a stochastic solver (ensembles included; embeddings on a GPU; batch norm
    not), no augmenter, full precision and no compilation."""
    if SOLVERS[estimator.solver].full_batch:
        return f"solver={estimator.solver!r} trains full-batch"
    if (estimator.num_embedding is not None and not CPU_BATCHES_EMBEDDINGS
            and resolve_device(estimator.device) == "cpu"):
        return "numerical embeddings train one at a time on the CPU (measured faster)"
    if estimator.batch_norm:
        return "batch norm trains one at a time"
    if estimator.augment is not None:
        return "augmenters train one at a time"
    if PRECISIONS[estimator.precision].autocast is not None or estimator.compile:
        return "mixed precision and compilation train one at a time"
    if estimator.warm_start and hasattr(estimator, "coefs_"):
        return "a warm start continues one network"
    return None


def _group_key(plan):
    """Members with equal keys share a batch: the same layers (the dropout rate and
    the initial weights' scheme may differ: each member draws its own), dtype,
    device, batch size and output."""
    spec = plan.spec
    module = dataclasses.replace(spec.module, init="",
                                 dropout=float(spec.module.dropout > 0))
    return (module, spec.dtype, spec.device, spec.batch_size, spec.out_activation,
            COMPILE_MODES[spec.compile].mode)


def fit_batched(jobs, max_members=None, on_error="raise"):
    """Fit each ``(estimator, X, y, sample_weight)`` of ``jobs`` as its own ``fit``
    would, training the members that can share a batch together.

    Parameters
    ----------
    jobs : list of tuple
        ``(estimator, X, y, sample_weight)`` or ``(estimator, X, y, sample_weight,
        validation_mask)``: sklopt MLPs (not yet fitted, or refitted from scratch),
        their training data and, optionally, ``fit``'s ``validation_mask``.
    max_members : int, default=None
        Most members per batch; None chooses from the free memory.
    on_error : {'raise', 'skip'}, default='raise'
        What a member whose fit fails does (its parameters or data refused, or its
        own fit raising, for a member that trains on its own): raise, leaving every
        member as it was, or stay unfitted (None in the result) while the others
        train.

    Returns
    -------
    estimators : list
        The fitted estimators, in order (fitted in place; None for a member skipped by
        ``on_error="skip"``). An estimator that cannot join a batch
        (:func:`batchable`) is fitted on its own.

    Notes
    -----
    Each member draws from its own ``random_state`` as its own fit does, but the
    members draw in the batch's order: members that share one ``RandomState``
    instance get other draws than fits made one after the other. Give each member an
    int or its own instance (``sklearn.base.clone`` copies it).
    """
    members, singles, skipped = [], [], set()

    def refused(estimator, saved):
        vars(estimator).clear()
        vars(estimator).update(saved)
        if on_error == "raise":
            raise
        skipped.add(id(estimator))

    with contextlib.ExitStack() as stack:
        for estimator, X, y, sample_weight, *rest in jobs:
            saved = dict(vars(estimator))
            mask = rest[0] if rest else None
            try:
                estimator._validate_params()
                alone = batchable(estimator) is not None
                hook = FitHook()
                if mask is not None and not alone:
                    X, y, sample_weight, hook = estimator._held_out(X, y, sample_weight,
                                                                    mask)
                plan = None if alone else estimator._plan(X, y, sample_weight, False,
                                                          hook)
            except Exception:
                refused(estimator, saved)
                continue
            # As before the plan, if anything later fails and raises.
            stack.enter_context(_rollback(estimator, saved))
            if alone:
                singles.append((estimator, X, y, sample_weight, mask, saved))
            else:
                members.append(_Member(estimator, plan))
        groups = {}
        for member in members:
            groups.setdefault(_group_key(member.plan), []).append(member)
        for group in groups.values():
            size = max_members or _members_per_batch(group[0].plan)
            for start in range(0, len(group), size):
                _train(group[start:start + size])
        for member in members:
            member.estimator._publish(member.plan, member.net, member.monitor)
        for estimator, X, y, sample_weight, mask, saved in singles:
            try:
                estimator.fit(X, y, sample_weight=sample_weight, validation_mask=mask)
            except Exception:
                refused(estimator, saved)
    return [None if id(job[0]) in skipped else job[0] for job in jobs]


def _members_per_batch(plan):
    """Members per batch from the free memory: each member holds its parameters four
    times (weights, gradients, two optimizer moments), a batch's activations and its
    epoch's shuffled rows (a copy of its data); a batch may take a quarter of the free
    memory."""
    spec = plan.spec
    units = spec.module.layer_units
    n_params = sum(p.numel() for p in plan.module.parameters())
    itemsize = torch.empty((), dtype=spec.dtype).element_size()
    rows = len(plan.data) * (units[0] + 2)  # features, target, weight
    width = sum(units) * spec.module.n_ensemble + (
        0 if spec.module.num_embedding is None else spec.module.first_width())
    per_member = itemsize * (4 * n_params + 3 * spec.batch_size * width + rows)
    if torch.device(spec.device).type == "cuda":
        free = torch.cuda.mem_get_info(torch.device(spec.device))[0]
    else:
        free = _free_cpu_memory()
    return max(1, int(0.25 * free // per_member))


def _free_cpu_memory():
    """Available RAM in bytes (POSIX); 1 GiB where the system does not say."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 2 ** 30


#: Widest output computed as ``(W @ X^T)^T``: torch's CPU ``baddbmm`` runs ``X @ W^T``
#: about 2x slower than that when the output is thin (30 members, 200 rows, 100 -> 5:
#: 0.31 against 0.16 ms; 15 members, 64 -> 10: 0.21 against 0.07 ms) and level or
#: slightly faster when it is wide (64 or 100 units: this machine).
_THIN = 16


class _StackedLinear(torch.autograd.Function):
    """``X @ W^T + b`` for every member at once, then ReLU when ``relu``: ``X``
    ``(K, B, in)``, ``W`` ``(K, out, in)``, ``b`` ``(K, 1, out)`` or None.

    Written out because autograd's own backward of ``baddbmm`` forms the weight
    gradient as ``X^T @ G`` ``(K, in, out)``, which torch's CPU ``bmm`` runs about 5x
    slower than ``G^T @ X`` ``(K, out, in)`` when ``out`` is small (an output layer):
    1.19 ms against 0.25 ms for 60 members, 200 rows, 100 -> 5 (this machine). The
    ReLU runs in place on the product and its gradient on the incoming one: two
    passes over the ``(K, B, out)`` activations fewer than a separate ReLU node. A thin
    layer's product is formed transposed (:data:`_THIN`)."""

    @staticmethod
    def forward(ctx, X, W, b, relu=False):
        if W.shape[1] <= _THIN:  # (W @ X^T)^T: a thin layer's faster product
            Xt = X.transpose(1, 2)
            out = (torch.bmm(W, Xt) if b is None else torch.baddbmm(
                b.transpose(1, 2), W, Xt)).transpose(1, 2)
        else:
            out = torch.bmm(X, W.transpose(1, 2)) if b is None else torch.baddbmm(
                b, X, W.transpose(1, 2))
        if relu:
            out.relu_()
        ctx.relu = relu
        ctx.save_for_backward(X, W, out if relu else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        X, W, out = ctx.saved_tensors
        if ctx.relu:
            grad = torch.ops.aten.threshold_backward(grad, out, 0)
        grad_X = torch.bmm(grad, W) if ctx.needs_input_grad[0] else None
        grad_b = grad.sum(1, keepdim=True) if ctx.needs_input_grad[2] else None
        return grad_X, torch.bmm(grad.transpose(1, 2), X), grad_b, None


class _Stack:
    """The members' parameters stacked along a leading member axis: the tensors that
    train.

    Each member's own parameters are views into them, so its module computes with the
    training weights (its validation, snapshots and stopping rules run on it as in its
    own fit). The members are ordered by their optimizer settings: each run of members
    with equal settings (learning rate, betas, momentum, ..., batches per epoch) steps
    through one optimizer of their solver, built by the solver registry as their own,
    over slices of the stacked tensors: torch's fused or foreach kernel steps the whole
    run at once, with the arithmetic of each member's own ``optimizer.step()``. Its
    state (moments, step count) is the members' own optimizer state stacked on
    entry and handed back by :meth:`release`. sklearn's coupled L2 gradient is added to
    the stacked gradients before the step (:func:`_epoch`), so its weight decay is 0
    here.
    """

    def __init__(self, members):
        runs = {}
        for member in members:
            runs.setdefault(_optimizer_key(member), []).append(member)
        self.members = [m for run in runs.values() for m in run]
        self.partition = _partition(self.members)
        module = self.members[0].net.module_
        self.module = module  # the template of the layers' structure
        self.names = [name for name, _ in module.named_parameters()]
        decayed = {id(w) for w in module.weights()}
        self.weight_names = [n for n, p in module.named_parameters() if id(p) in decayed]
        self.own = [dict(m.net.module_.named_parameters()) for m in self.members]
        self.leaves = {}
        for name in self.names:
            leaf = torch.stack([own[name].detach() for own in self.own])
            self.leaves[name] = leaf.requires_grad_()
            for k, own in enumerate(self.own):
                own[name].data = leaf.detach()[k]
        self.weights = [self.leaves[n] for n in self.weight_names]
        self.buffers = {}
        if module.embedding is not None:
            own = [dict(m.net.module_.embedding.named_buffers()) for m in self.members]
            self.buffers = {name: torch.stack([b[name] for b in own]) for name in own[0]}
        self.runs, start = [], 0
        for run in runs.values():
            self.runs.append((start, start + len(run), self._optimizer(start, len(run))))
            start += len(run)
        # The weights at the last epoch's end (at the start: each member's
        # ``_last_good``, the same values): the parameter change of the next epoch.
        self.previous = [self.leaves[n].detach().clone() for n in self.names]
        # The buffers a snapshot holds (``state_dict``'s: the bin edges, not the
        # column indices, which the spec rebuilds).
        saved = [n for n in module.state_dict() if n not in self.leaves]
        self.saved_buffers = []  # per member: those buffers, read once
        for member in self.members:
            buffers = dict(member.net.module_.named_buffers())
            self.saved_buffers.append({n: buffers[n].detach() for n in saved})
        self._validation = None

    def _params(self, k):
        """Member ``k``'s parameters in the stacked tensors' order."""
        return [self.own[k][name] for name in self.names]

    def _optimizer(self, start, size):
        stop = start + size
        first = self.members[start]
        # Leaves sharing the slices' storage: what the optimizer steps, in place, in
        # the member's own groups (weights: the penalty's; the other parameters).
        aliases = {n: torch.nn.Parameter(self.leaves[n].detach()[start:stop])
                   for n in self.names}
        groups = [[aliases[n] for n in self.weight_names],
                  [aliases[n] for n in self.names if n not in self.weight_names]]
        record = SOLVERS[first.plan.spec.solver]
        optimizer = record.build([{"params": g, "weight_decay": 0.0} for g in groups],
                                 first.plan.spec.hyper_dict, record.fused)
        self._settings(optimizer, first)
        for name, alias in aliases.items():
            states = [m.net.optimizer_.state.get(self.own[k][name])
                      for k, m in enumerate(self.members[start:stop], start)]
            if not states[0]:
                continue  # a new optimizer: its state starts on its first step
            param = self.own[start][name]
            optimizer.state[alias] = {
                key: (torch.stack([st[key] for st in states])
                      if torch.is_tensor(value) and value.shape == param.shape
                      else value.clone() if torch.is_tensor(value) else value)
                for key, value in states[0].items()}
        optimizer.aliases = aliases
        return optimizer

    @staticmethod
    def _settings(optimizer, member):
        """The member's optimizer settings (its schedule's learning rate of the epoch)
        on the run's optimizer."""
        coupled = member.net.l2_mode_ == "coupled"
        for mine, theirs in zip(optimizer.param_groups, member.net.optimizer_.param_groups):
            mine.update({k: v for k, v in theirs.items() if k != "params"})
            if coupled:
                mine["weight_decay"] = 0.0

    def refresh(self):
        """Take the members' settings for the coming epoch: the same runs with new
        values (a schedule), or, when the runs split or merge (an adaptive learning
        rate), a new stack."""
        if _partition(self.members) == self.partition:
            for start, _, optimizer in self.runs:
                self._settings(optimizer, self.members[start])
            return self
        members = self.members
        self.release(members)
        return _Stack(members)

    def grads(self):
        return [self.leaves[n].grad for n in self.names]

    def clear_grads(self):
        """Before a backward pass: autograd then hands over its new gradients (no
        zeroing pass, no accumulation pass)."""
        for leaf in self.leaves.values():
            leaf.grad = None

    def bind_run_grads(self):
        """After a backward pass: each run's optimizer steps on its slices of the new
        gradients."""
        for start, stop, optimizer in self.runs:
            for name, alias in optimizer.aliases.items():
                alias.grad = self.leaves[name].grad[start:stop]

    def bind_grads(self, k, grads):
        """Point member ``k``'s parameter gradients at its slices of ``grads``."""
        for p, g in zip(self._params(k), grads):
            p.grad = g[k]

    def release(self, members):
        """Hand ``members`` their own parameters and optimizer state again (they leave
        the stack, or the stack is rebuilt)."""
        leaving = {id(m) for m in members}
        for start, stop, optimizer in self.runs:
            for k in range(start, stop):
                if id(self.members[k]) not in leaving:
                    continue
                own = self.members[k].net.optimizer_.state
                for name, alias in optimizer.aliases.items():
                    state = optimizer.state.get(alias)
                    if state:
                        own[self.own[k][name]] = {
                            key: (value[k - start].clone()
                                  if torch.is_tensor(value) and value.shape == alias.shape
                                  else value.clone() if torch.is_tensor(value) else value)
                            for key, value in state.items()}
        for k, member in enumerate(self.members):
            if id(member) in leaving:
                for param in self._params(k):
                    param.data = param.data.clone()
                    param.grad = None

    def epoch_end(self, last_grads):
        """What each member's callbacks need after an epoch, computed for all members
        at once (per member, its own callbacks would each make a few small calls):
        ``[{"valid_raw": ..., "epoch_stats": ..., "epoch_state": ...}]``, the keyword
        arguments of its ``on_epoch_end`` (``_callbacks.py``)."""
        K = len(self.members)
        raws = self._validate()
        with torch.no_grad():
            current = [self.leaves[n].detach() for n in self.names]
            flat = [t.reshape(K, -1) for t in current]
            rows = [torch.stack([m.net.epoch_loss_.to(flat[0].dtype)
                                 for m in self.members])]
            rows.append(_norms(flat))
            grads = {}  # the kept gradients of a batch index -> the members' norms
            for k in range(K):
                key = id(last_grads[k])
                if key not in grads:
                    grads[key] = _norms([g.reshape(K, -1) for g in last_grads[k]])
            rows.append(torch.stack([grads[id(last_grads[k])][k] for k in range(K)]))
            rows.append(_norms([a - b for a, b in zip(flat, (
                p.reshape(K, -1) for p in self.previous))]))
            rows.append(_norms([p.reshape(K, -1) for p in self.previous]))
            values = torch.stack(rows).double().T.tolist()  # the epoch's one sync
            self.previous = [t.clone() for t in current]
        out = []
        for k, member in enumerate(self.members):
            state = {name: self.previous[i][k] for i, name in enumerate(self.names)}
            state.update(self.saved_buffers[k])
            out.append({"valid_raw": raws[k], "epoch_stats": tuple(values[k]),
                        "epoch_state": state})
        return out

    def _validate(self):
        """Each member's raw outputs on its early-stopping rows (None without), one
        stacked eval-mode pass per chunk of rows."""
        members = self.members
        if self._validation is None:
            data, slots = [], []
            for member in members:
                valid = member.plan.validation
                X = None if valid is None else valid[0].X
                slot = next((i for i, other in enumerate(data) if other is X or (
                    X is not None and other is not None and other.shape == X.shape
                    and torch.equal(other, X))), None)
                if slot is None:
                    slot = len(data)
                    data.append(X)
                slots.append(slot)
            self._validation = (data, slots)
        data, slots = self._validation
        if all(X is None for X in data):
            return [None] * len(members)
        present = [X for X in data if X is not None]
        longest = max(len(X) for X in present)
        spec = members[0].plan.spec
        K = len(members)
        width = max(spec.module.first_width(), *spec.module.layer_units[1:]) * (
            spec.module.n_ensemble)
        chunk = max(1, 2 ** 22 // (K * width))  # rows: about 16 MB of activations
        device = self.leaves[self.names[0]].device
        index = torch.tensor(slots, device=device)
        outs = []
        with torch.no_grad():
            for s in range(0, longest, chunk):
                block = torch.zeros((len(data), min(chunk, longest - s),
                                     present[0].shape[1]), dtype=present[0].dtype,
                                    device=device)
                for g, X in enumerate(data):
                    if X is not None and s < len(X):
                        part = X[s:s + chunk]
                        block[g, :len(part)] = part.to(device)
                outs.append(self.forward(block.index_select(0, index), training=False))
        raw = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        return [None if data[slots[k]] is None else raw[k, :len(data[slots[k]])]
                for k in range(K)]

    def forward(self, X, training=True):
        """Raw outputs ``(K, B, [n_ensemble,] out)`` for the members' batches ``X``
        ``(K, B, F)``: each member's module layer by layer, as its own ``forward``
        (``_module.py``); ``training=False``: eval mode (no dropout)."""
        module, K, B = self.module, X.shape[0], X.shape[1]
        if module.embedding is not None:
            X = self._embed(X)
        ensemble = module.spec.n_ensemble
        if ensemble > 1:
            X = X.unsqueeze(2).expand(-1, -1, ensemble, -1)
        layers = list(module.layers)
        fused = False
        for i, layer in enumerate(layers):
            if fused:  # a ReLU that ran inside the product before it
                fused = False
                continue
            if isinstance(layer, torch.nn.Linear):
                W = self.leaves[f"layers.{i}.weight"]
                b = self.leaves[f"layers.{i}.bias"]
                if ensemble == 1:
                    fused = i + 1 < len(layers) and type(layers[i + 1]) is torch.nn.ReLU
                    X = _StackedLinear.apply(X, W, b.unsqueeze(1), fused)
                else:  # BatchEnsemble: ((x * r) @ W^T) * s + b, every member's own r, s
                    r = self.leaves[f"layers.{i}.r"].unsqueeze(1)
                    s = self.leaves[f"layers.{i}.s"].unsqueeze(1)
                    h = _StackedLinear.apply((X * r).reshape(K, B * ensemble, -1), W, None)
                    X = h.view(K, B, ensemble, -1) * s + b[:, None, None, :]
            elif isinstance(layer, SeededDropout):
                if training:
                    X = X * _dropout_masks(self.members, i, X)
            else:  # the activation: elementwise, the same for every member
                X = layer.forward(X)
        return X

    def _embed(self, X):
        """Every member's numerical embedding of its batch: the template embedding
        called with each member's parameters and bin edges (``vmap`` over the member
        axis)."""
        from torch.func import functional_call

        embedding = self.module.embedding
        params = {n.split(".", 1)[1]: self.leaves[n] for n in self.names
                  if n.startswith("embedding.")}

        def one(p, b, x):
            return functional_call(embedding, (p, b), (x,))
        return self.module.embed(X, lambda x: torch.vmap(one)(params, self.buffers, x))


def _norms(tensors):
    """Per member (row), the L2 norm of all of ``tensors`` ``(K, n_i)`` together."""
    return torch.stack([torch.linalg.vector_norm(t, dim=1) for t in tensors]).norm(dim=0)


def _batches(member):
    return -(-len(member.plan.data) // member.plan.spec.batch_size)


def _optimizer_key(member):
    """Members with equal keys step through one optimizer: the same solver and
    settings (sklearn's coupled L2 decay apart: it is per member) and the same number
    of batches per epoch (so the same step count)."""
    net = member.net
    coupled = net.l2_mode_ == "coupled"
    return (type(net.optimizer_), member.plan.spec.solver, _batches(member)) + tuple(
        tuple(sorted((k, 0.0 if coupled and k == "weight_decay" else v)
                     for k, v in group.items() if k != "params"))
        for group in net.optimizer_.param_groups)


def _partition(members):
    """Where the runs of equal optimizer keys start, or None when equal keys are not
    one run (the stack must be rebuilt to share an optimizer)."""
    keys = [_optimizer_key(m) for m in members]
    bounds = tuple(k for k in range(1, len(keys)) if keys[k] != keys[k - 1])
    return bounds if len(set(keys)) == len(bounds) + 1 else None


def _dropout_masks(members, index, X):
    """Each member's dropout mask for layer ``index``, drawn from its own generator in
    the order and shape of its separate fit (its batch's rows only; padded rows get
    0)."""
    masks = torch.zeros_like(X)
    for k, member in enumerate(members):
        n, p = member.rows, member.layers[index].p
        if p == 0:
            masks[k, :n] = 1.0
            continue
        masks[k, :n] = dropout_mask((n, *X.shape[2:]), p, member.generator, X.dtype,
                                    X.device)
    return masks


def _train(members):
    """Train a group of members (one architecture) together, epoch by epoch."""
    for member in members:
        estimator, plan = member.estimator, member.plan
        member.net, member.monitor = estimator._prepare_net(plan)
        # Eval mode throughout (its validation's): the stack computes its training
        # forward pass, with its dropout masks, and never calls its module's.
        member.net.module_.eval()
        device = torch.device(plan.spec.device)
        member.generator = (plan.generator if device.type == "cpu" else
                            torch.Generator(device=device).manual_seed(
                                int(torch.randint(2**62, (1,), generator=plan.generator))))
        member.net.notify("on_train_begin", X=plan.data, y=None)
        member.epochs = plan.spec.max_epochs
        member.layers = list(member.net.module_.layers)
    spec = members[0].plan.spec
    _data_groups(members)
    threads = (cpu_threads_for(*spec.module.work(spec.batch_size * len(members)))
               if torch.device(spec.device).type == "cpu" else None)
    stack = None
    with torch_threads(threads):
        try:
            active = members
            while active:
                for member in active:
                    member.net.notify("on_epoch_begin", dataset_train=member.plan.data,
                                      dataset_valid=None)
                stack = _Stack(active) if stack is None else stack.refresh()
                _train_epoch(stack, spec)
                active = [m for m in stack.members if not m.done]
                if len(active) < len(stack.members):
                    # The members that stopped leave: the stack shrinks.
                    stack.release(stack.members)
                    stack = None
        finally:
            if stack is not None:  # interrupted: every member owns its weights again
                stack.release(stack.members)
    for member in members:  # as its own fit leaves it
        member.net.module_.train()
        if member.last_denom is not None:
            member.net.set_coupled_decay(member.last_denom)


def _data_groups(members):
    """Number the members' training data: members with equal tensors (the candidates
    of one fold) share a number, and their epochs share one layout of the rows when
    they also share the shuffled order (the same ``random_state``)."""
    seen = []
    for member in members:
        data = member.plan.data
        for number, other in enumerate(seen):
            if _same_data(data, other):
                member.data_group = number
                break
        else:
            member.data_group = len(seen)
            seen.append(data)


def _same_data(a, b):
    def same(s, t):
        if s is None or t is None:
            return s is t
        return s.shape == t.shape and s.dtype == t.dtype and bool(torch.equal(s, t))
    return same(a.X, b.X) and same(a.y, b.y) and same(a.sample_weight, b.sample_weight)


def _train_epoch(stack, spec):
    """One epoch of every member of ``stack``, with its callbacks after it (the
    ``on_epoch_begin`` ones ran before the stack took the epoch's settings)."""
    last_grads = _epoch(stack, spec)
    after = stack.epoch_end(last_grads)
    for k, member in enumerate(stack.members):
        # The gradient of its last batch, as its own fit leaves it for the monitor.
        stack.bind_grads(k, last_grads[k])
        try:
            member.net.notify("on_epoch_end", dataset_train=member.plan.data,
                              dataset_valid=None, **after[k])
        except KeyboardInterrupt:
            if member.monitor.stop_reason_ is None:
                raise  # the user's Ctrl-C: the whole batch stops
            member.done = True  # the member's stopping rule
        member.epochs -= 1
        if member.epochs == 0:
            member.done = True
    for member in stack.members:
        if member.done:
            member.net.notify("on_train_end", X=member.plan.data, y=None)


def _layout(members, spec):
    """The epoch's rows: each member's order drawn (as its own fit draws it), and one
    padded ``(G, rows, ...)`` layout per distinct data and order: ``(X, y, w, index)``,
    ``index`` picking each member's layout (None when they are one each, in order)."""
    device = torch.device(spec.device)
    slots, layouts = [], {}
    for member in members:
        data, order = member.plan.data, member.plan.order
        perm = None
        if order is not None:
            perm = order()
            perm = torch.from_numpy(perm) if isinstance(perm, np.ndarray) else perm
        key = (member.data_group,
               None if perm is None else perm.cpu().numpy().tobytes())
        if key not in layouts:
            layouts[key] = (len(layouts), data, perm)
        slots.append(layouts[key][0])
    longest = max(len(m.plan.data) for m in members)
    first = members[0].plan.data
    G = len(layouts)
    X = torch.empty((G, longest, first.X.shape[1]), dtype=spec.dtype, device=device)
    y = torch.empty((G, longest, *first.y.shape[1:]), dtype=first.y.dtype, device=device)
    w = torch.empty((G, longest), dtype=spec.dtype, device=device)
    for g, data, perm in layouts.values():
        n = len(data)
        rows = slice(None) if perm is None else perm.to(data.X.device)
        X[g, :n] = data.X[rows].to(device)
        y[g, :n] = data.y[rows].to(device)
        w[g, :n] = 1.0 if data.sample_weight is None else data.sample_weight[rows].to(device)
        X[g, n:], y[g, n:], w[g, n:] = 0, 0, 0
    index = (None if slots == list(range(len(members)))
             else torch.tensor(slots, device=device))
    return X, y, w, index


def _epoch(stack, spec):
    """One epoch of every member: its rows in its own order, cut in its batches, one
    stacked step per batch index. Sets each member's epoch loss; returns, per member,
    the stacked gradients its last batch left (the monitor's ``grad_norm``)."""
    members = stack.members
    K = len(members)
    device, dtype, bs = torch.device(spec.device), spec.dtype, spec.batch_size
    X, y, weights, index = _layout(members, spec)
    weighted = any(m.plan.data.sample_weight is not None for m in members)
    loss_rows, smoothing = _loss_rows(members, device, dtype)
    penalties = _explicit_penalties(members, device, dtype)
    coupled = torch.tensor([m.net.spec_.alpha if m.net.l2_mode_ == "coupled" else 0.0
                            for m in members], dtype=dtype, device=device)
    decay = bool(coupled.any())
    sizes = [len(m.plan.data) for m in members]
    sizes_t = torch.tensor(sizes, device=device)
    total = torch.zeros(K, dtype=dtype, device=device)  # sum_b n_b * loss_b
    l2_share = torch.zeros(K, dtype=dtype, device=device)  # sum_b n_b / denom_b
    last_grads = [None] * K
    ensemble = spec.module.n_ensemble
    for s in range(0, max(sizes), bs):
        rows = [min(bs, max(0, n - s)) for n in sizes]
        for member, n in zip(members, rows):
            member.rows = n
        Xb, yb, wb = X[:, s:s + bs], y[:, s:s + bs], weights[:, s:s + bs]
        if index is not None:
            Xb, yb, wb = (t.index_select(0, index) for t in (Xb, yb, wb))
        B = Xb.shape[1]
        n_b = (sizes_t - s).clamp_(0, bs).to(dtype)
        denom = wb.sum(1) if weighted else n_b
        denom = torch.where(n_b > 0, denom, torch.ones_like(denom))
        stack.clear_grads()
        raw = stack.forward(Xb)
        # An ensemble's (K, B, k, out): each row's loss is the mean of its k members'
        # (member_loss, TabM's rule).
        per_row = loss_rows(raw.reshape(-1, raw.shape[-1]),
                            _repeat(yb.reshape(K * B, *yb.shape[2:]), ensemble),
                            smoothing if not torch.is_tensor(smoothing)
                            else smoothing.repeat_interleave(B * ensemble))
        per_row = per_row.view(K, B, ensemble).mean(2) if ensemble > 1 else \
            per_row.view(K, B)
        losses = (per_row * wb).sum(1) / denom
        for value, alphas in penalties:
            losses = losses + alphas / denom * value(stack.weights)
        losses.sum().backward()
        stack.bind_run_grads()
        with torch.no_grad():
            total.add_(losses.detach() * n_b)
            l2_share.add_(n_b / denom)
            final = [k for k, n in enumerate(sizes) if s < n <= s + bs]
            if final:  # some members' last batch of the epoch: keep their gradients
                kept = [g.clone() for g in stack.grads()]
                for k in final:
                    last_grads[k] = kept
                    members[k].last_denom = denom[k] if weighted else float(rows[k])
            if decay:  # sklearn's L2 gradient alpha / n_b * W, per member
                factor = (coupled / denom).view(K, 1, 1)
                for W in stack.weights:
                    W.grad.addcmul_(W.detach(), factor)
            for start, _, optimizer in stack.runs:
                if rows[start]:  # a run shares its batch count: it steps or rests
                    optimizer_step(optimizer)
    for k, member in enumerate(members):
        member.net.end_epoch(total[k], sizes[k], l2_share[k], -(-sizes[k] // bs))
    return last_grads


def _repeat(y, k):
    """Each row's target ``k`` times, for the ``k`` members of an ensemble."""
    return y if k == 1 else y.repeat_interleave(k, dim=0)


def _loss_rows(members, device, dtype):
    """The members' per-row loss (their output layer's, ``OUTPUTS[..].rows``) and their
    label smoothing: one float when they share it, else a per-member tensor."""
    spec = members[0].plan.spec
    record = OUTPUTS[spec.out_activation]
    for member in members:
        criterion = member.net.criterion_
        func = criterion.func if isinstance(criterion, functools.partial) else criterion
        if func is not record.loss:  # pragma: no cover - fit_batched plans no hook
            raise ValueError("A batched member must train on its output layer's loss.")
    smoothing = [m.plan.spec.label_smoothing for m in members]
    if len(set(smoothing)) == 1:
        return record.rows, smoothing[0]
    return record.rows, torch.tensor(smoothing, dtype=dtype, device=device)


def _explicit_penalties(members, device, dtype):
    """``(value(weights) -> (K,), alpha per member)`` for each penalty that some
    members add to their loss (L1, elastic net): its value for every member at once
    (``vmap`` over the member axis), weighted 0 for the members without it."""
    out = []
    for name in {m.net.spec_.penalty for m in members if m.net.explicit_penalty_}:
        alphas = torch.tensor([m.net.spec_.alpha if m.net.explicit_penalty_ and
                               m.net.spec_.penalty == name else 0.0 for m in members],
                              dtype=dtype, device=device)
        ratios = torch.tensor([m.net.spec_.l1_ratio for m in members], dtype=dtype,
                              device=device)

        def value(weights, value=PENALTIES[name].value, ratios=ratios):
            return torch.vmap(lambda r, *ws: value(list(ws), r))(ratios, *weights)
        out.append((value, alphas))
    return out


# ------------------------------------------------------------------ serving fits
# Fits made ahead in batches (by a search or cross-validation) are handed to the
# ``fit`` calls that ask for them: scikit-learn's own search code then runs as it is
# (its cloning, parameters, scoring, cv_results_, error_score, refit), and each of its
# fits finds its result ready. Keyed by the estimator's class and parameters and the
# exact training data, so a fit that was not made ahead trains as usual.
_SERVED = []


def fit_key(estimator, X, y, sample_weight, validation_mask=None):
    """The key of a fit: the estimator's class and parameters, and its data."""
    from joblib import hash as joblib_hash

    params = estimator.get_params(deep=False)
    return joblib_hash((type(estimator).__qualname__, sorted(params.items()), X, y,
                        sample_weight, validation_mask))


@contextlib.contextmanager
def serving(fitted):
    """Within the block, a ``fit`` of an sklopt MLP whose :func:`fit_key` is in
    ``fitted`` (a dict of key -> fitted estimator) takes that fit's result."""
    _SERVED.append(fitted)
    try:
        yield
    finally:
        _SERVED.remove(fitted)


def served_fit(estimator, X, y, sample_weight, validation_mask=None):
    """The fitted estimator made ahead for this fit, or None."""
    if not _SERVED:
        return None
    key = fit_key(estimator, X, y, sample_weight, validation_mask)
    for fitted in reversed(_SERVED):
        if key in fitted:
            return fitted.pop(key)
    return None
