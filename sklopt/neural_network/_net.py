"""The skorch net that trains an :class:`MLPModule` on tensors.

skorch supplies the structure (module / criterion / optimizer initialisation, device
handling, callbacks, history, pickling of CUDA-trained models onto CPU machines).
What is overridden here is only the per-batch path, because for tabular data it
dominates:

* ``get_iterator`` slices contiguous batches out of tensors that were moved to the
  device once and shuffled once per epoch, instead of skorch's per-sample
  ``DataLoader`` (3x slower on a 15,000-row fit, see docs/performance.md);
* ``run_single_epoch`` keeps batch losses on the device and reads them once per epoch
  (one device sync per epoch instead of one per batch);
* ``train_step`` is a plain zero_grad / forward / backward / step (a closure only for
  L-BFGS; autocast and a gradient scaler for half precision).

Everything a training call needs is set by :meth:`SkloptNet.configure` from a
:class:`~sklopt.neural_network._spec.TrainSpec`, in one place.
"""

import contextlib
from functools import partial

import numpy as np
import torch
from torch.optim.adam import adam
from skorch import NeuralNet
from skorch.history import History

from ._graph import GraphedStep, check_graphable
from ._levers import COMPILE_MODES, OUTPUTS, PENALTIES, PRECISIONS, SOLVERS
from ._levers.losses import member_loss

# Fraction of the free GPU memory the training tensors may take to be moved there
# once per fit; above it they stay in pinned CPU memory and stream batch by batch.
DEVICE_DATA_FRACTION = 0.5
PREDICT_BATCH = 65536


def _writable(a):
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()


class TensorData(torch.utils.data.Dataset):
    """Training data held as tensors: on the training device, or in pinned CPU memory
    (streamed per batch) when it does not fit there.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features)
    y : torch.Tensor of shape (n_samples,) or (n_samples, n_outputs), or None
    sample_weight : torch.Tensor of shape (n_samples,), or None
    """

    def __init__(self, X, y=None, sample_weight=None):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight

    @classmethod
    def from_numpy(cls, X, y, sample_weight, device, dtype):
        """Tensors of ``X`` (as ``dtype``), ``y`` and ``sample_weight`` placed for
        training on ``device``."""
        # Writable arrays: joblib hands workers large inputs as read-only memory maps,
        # which torch.from_numpy would warn about (the tensors are copies anyway).
        Xt = torch.from_numpy(_writable(X)).to(dtype)
        yt = None if y is None else torch.from_numpy(_writable(y))
        if yt is not None and yt.is_floating_point():
            yt = yt.to(dtype)
        wt = None if sample_weight is None else torch.from_numpy(
            np.asarray(sample_weight)).to(dtype)
        tensors = [t for t in (Xt, yt, wt) if t is not None]
        if torch.device(device).type == "cuda":
            size = sum(t.numel() * t.element_size() for t in tensors)
            free, _ = torch.cuda.mem_get_info(torch.device(device))
            if size <= DEVICE_DATA_FRACTION * free:
                return cls(*(None if t is None else t.to(device, non_blocking=True)
                             for t in (Xt, yt, wt)))
            return cls(*(None if t is None else t.pin_memory() for t in (Xt, yt, wt)))
        return cls(Xt, yt, wt)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        w = None if self.sample_weight is None else self.sample_weight[i]
        return self.X[i], (None if self.y is None else self.y[i]), w


class BatchIterator:
    """Yield ``(X, y, sample_weight, denominator)`` batches sliced from a TensorData.

    ``order`` (a callable returning the epoch's numpy permutation, or None) reorders
    the rows once per epoch (one gather) before they are cut into contiguous slices; ``augment`` (bound augmenters
    ``aug(X, y) -> (X, y)``) are applied to the epoch's rows before the cut.
    ``denominator`` is the batch's size or weight sum (a tensor on the device, no
    sync): the penalty is divided by it, as in sklearn. Data kept in pinned CPU memory
    is copied to ``device`` batch by batch, without blocking.
    """

    def __init__(self, data, batch_size, device, order=None, drop_single=False,
                 augment=()):
        self.data = data
        self.batch_size = batch_size
        self.device = device
        self.order = order
        # BatchNorm cannot train on a batch of one row: drop such a last batch (its row
        # lands in another batch after the next shuffle).
        self.drop_single = drop_single
        self.augment = augment

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        data, bs = self.data, self.batch_size
        n = len(data)
        X, y, w = data.X, data.y, data.sample_weight
        if self.order is not None:
            perm = self.order()
            perm = (torch.from_numpy(perm) if isinstance(perm, np.ndarray) else perm).to(
                X.device, non_blocking=True)
            X = X[perm]
            y = None if y is None else y[perm]
            w = None if w is None else w[perm]
        stream = X.device.type != torch.device(self.device).type
        # Augment the whole epoch at once (fresh every epoch): one large op per
        # augmenter instead of one small op per batch.
        for aug in self.augment:
            X, y = aug(X, y)
        starts = range(0, n, bs)
        if self.drop_single and n > 1 and n % bs == 1:
            starts = starts[:-1]
        for s in starts:
            e = s + bs
            batch = (X[s:e], None if y is None else y[s:e], None if w is None else w[s:e])
            if stream:
                batch = tuple(None if t is None else t.to(self.device, non_blocking=True)
                              for t in batch)
            denom = float(min(bs, n - s)) if w is None else batch[2].sum()
            yield (*batch, denom)


class EpochHistory(History):
    """skorch's ``History`` with constant-time access to an epoch row.

    skorch's ``history[-1]`` and ``history.record`` copy the whole history on every
    call (``History.__getitem__`` starts with ``to_list()``): a fit of E epochs paid
    O(E^2), and a batched search of K members that many times over. An integer index
    is the plain list's; every other index is skorch's.
    """

    def __getitem__(self, i):
        if isinstance(i, int):
            return list.__getitem__(self, i)
        return super().__getitem__(i)

    def record(self, attr, value):
        if not self:
            raise ValueError("Call new_epoch before recording for the first time.")
        list.__getitem__(self, -1)[attr] = value


class SkloptNet(NeuralNet):
    """skorch ``NeuralNet`` that trains an :class:`MLPModule` on pre-built tensor batches.

    Built by the sklopt MLP estimators inside ``fit`` and exposed as their ``net_``;
    :meth:`configure` sets it up from a ``TrainSpec`` before every training call.

    Parameters
    ----------
    module : MLPModule
        The initialised torch module.
    device : str
        Training device.
    """

    def __init__(self, module, *, device="cpu", **kwargs):
        # Unpickling (joblib's workers hand fitted networks back this way) reads the
        # tensors with torch's full unpickler: skorch's default, weights_only=True,
        # runs torch's pure-Python one per tensor, 3.1 ms a (64,) network against
        # 1.4 ms, and guards nothing inside a pickle, which runs code anyway
        # (sklopt.io's files are the safe format).
        kwargs.setdefault("torch_load_kwargs", {"weights_only": False})
        super().__init__(module, torch.nn.Identity, optimizer=None, train_split=None,
                         verbose=0, device=device, **kwargs)

    def __getstate__(self):
        # The module lives in module_ (which skorch pickles device-independently);
        # the `module` init argument is the same object and is not pickled again.
        state = super().__getstate__()
        state["module"] = None
        return state

    # ----------------------------------------------------------------- configuration
    def get_default_callbacks(self):
        # skorch's defaults (timer, scoring, printing) record per batch; the estimator
        # passes the per-epoch callbacks it needs.
        return []

    def set_module(self, module):
        """Replace the trained module (a warm start whose structure changed)."""
        with self._current_init_context("module"):
            self.module_ = module
        with self._current_init_context("optimizer"):
            self.optimizer_ = None
        return self

    def set_optimizer(self, optimizer):
        """Install a restored optimizer (``sklopt.io``)."""
        with self._current_init_context("optimizer"):
            self.optimizer_ = optimizer
        return self

    def initialize_history(self):
        self.history_ = EpochHistory()
        return self

    def initialize_criterion(self):
        self.criterion_ = None  # set per training call by configure()
        return self

    def initialize_module(self):
        self.module_ = self.module.to(self.device)
        return self

    def initialize_optimizer(self, triggered_directly=None):
        return self  # built by configure(), which knows the spec

    def configure(self, spec, criterion, callbacks, fresh_optimizer, order=None):
        """Set up the next training call from ``spec``: device and dtype of the module,
        the loss (``criterion(raw, target, sample_weight)``, default: the output
        layer's), the optimizer (new, or the current one kept for ``partial_fit``),
        penalty, precision, compilation and the per-epoch ``callbacks``."""
        if not hasattr(self, "module_"):
            self.initialize()
        module = self.module_
        if module.linears()[0].weight.dtype != spec.dtype or self.device != spec.device:
            module.to(device=spec.device, dtype=spec.dtype)
            fresh_optimizer = True  # optimizer state lives with the parameters
        self.device = spec.device
        solver = SOLVERS[spec.solver]
        self.spec_ = spec
        if criterion is None:
            criterion = OUTPUTS[spec.out_activation].loss
            if spec.label_smoothing:
                criterion = partial(criterion, label_smoothing=spec.label_smoothing)
        self.criterion_ = criterion
        graph = COMPILE_MODES[spec.compile].graph
        if graph:
            check_graphable(spec, solver)
        if fresh_optimizer or getattr(self, "optimizer_", None) is None:
            with self._current_init_context("optimizer"):
                self.optimizer_ = build_optimizer(spec.solver, module, spec.hyper_dict,
                                                  capturable=graph)
        capturable = bool(self.optimizer_.defaults.get("capturable", False))
        l2 = spec.penalty == "l2" and spec.alpha > 0
        self.l2_mode_ = solver.l2 if l2 else None
        if graph and self.l2_mode_ == "coupled":
            # A per-batch weight_decay cannot change inside a graph: the L2 term joins
            # the loss (the same gradient, by autograd).
            self.l2_mode_ = "loss"
        self.explicit_penalty_ = spec.penalty is not None and spec.alpha > 0 and (
            not l2 or self.l2_mode_ == "loss")
        group = self.optimizer_.param_groups[0]
        group["weight_decay"] = spec.alpha if self.l2_mode_ == "decoupled" else 0.0
        precision = PRECISIONS[spec.precision]
        kind = torch.device(spec.device).type
        self.autocast_ = (None if precision.autocast is None
                          else (kind, precision.autocast))
        self.scaler_ = (torch.amp.GradScaler(kind)
                        if precision.autocast is torch.float16 else None)
        mode = COMPILE_MODES[spec.compile].mode
        # A bound method, not a module: skorch would register a module attribute.
        self.forward_ = (module if mode is None else _compiled(module, mode)).__call__
        self.graphed_ = (GraphedStep(self, spec.batch_size) if graph and capturable
                         and self.scaler_ is None else None)
        self.order_ = order
        self.callbacks_ = callbacks
        self.max_epochs = spec.max_epochs
        self.closure_losses_ = []
        return self

    def release(self):
        """Drop what only the last training call needed (its spec with the bound
        augmenters' training statistics, the shuffling closure, a compiled module, the
        loss): not part of the fitted model, and not all of it pickles."""
        self.spec_ = self.order_ = self.forward_ = self.scaler_ = self.epoch_loss_ = None
        self.graphed_ = None
        self.criterion_ = None
        self.callbacks_ = []
        self.closure_losses_ = []
        return self

    # ----------------------------------------------------------------- data
    def get_dataset(self, X, y=None):
        return X if isinstance(X, TensorData) else TensorData(X, y)

    def get_iterator(self, dataset, training=False):
        spec = self.spec_
        if not training:
            return BatchIterator(dataset, PREDICT_BATCH, self.device)
        return BatchIterator(dataset, spec.batch_size, self.device, order=self.order_,
                             drop_single=spec.module.batch_norm,
                             augment=spec.augment)

    # ----------------------------------------------------------------- training
    def _penalty(self):
        """The (unscaled) penalty ``P(W)`` of the current weights, a device scalar."""
        spec = self.spec_
        return PENALTIES[spec.penalty].value(self.module_.weights(), spec.l1_ratio)

    def _autocast(self):
        if self.autocast_ is None:
            return contextlib.nullcontext()
        # No cast cache inside a CUDA graph (PyTorch's rule for autocast + capture).
        return torch.autocast(self.autocast_[0], dtype=self.autocast_[1],
                              cache_enabled=getattr(self, "graphed_", None) is None)

    def _objective(self, X, y, w, denom):
        with self._autocast():
            raw = self.forward_(X)
        return self.objective_of(raw, y, w, denom)

    def objective_of(self, raw, y, w, denom):
        """The training objective of raw outputs ``raw`` of a batch: the loss, plus the
        penalty when it is not in the optimizer (also the batched trainer's, per
        member)."""
        with self._autocast():
            loss = member_loss(self.criterion_, raw, y, w)
        loss = loss.float() if loss.dtype in (torch.float16, torch.bfloat16) else loss
        if self.explicit_penalty_:
            loss = loss + self.spec_.alpha / denom * self._penalty()
        return loss

    def set_coupled_decay(self, denom):
        """sklearn's L2 gradient ``alpha / n_b * W`` as the optimizer's weight decay for
        a batch whose size (or weight sum) is ``denom``."""
        if self.l2_mode_ == "coupled":
            self.optimizer_.param_groups[0]["weight_decay"] = self.spec_.alpha / denom

    def train_step(self, batch, **fit_params):
        """One optimizer step on ``batch``; returns ``(loss, n_rows, denominator)``."""
        X, y, w, denom = batch
        optimizer = self.optimizer_
        # sklearn's L2 gradient alpha / n_b * W, computed in the optimizer kernel.
        self.set_coupled_decay(denom)
        if SOLVERS[self.spec_.solver].full_batch:
            def closure():
                optimizer.zero_grad(set_to_none=True)
                loss = self._objective(X, y, w, denom)
                loss.backward()
                self.closure_losses_.append(loss.detach())
                return loss

            loss = optimizer.step(closure)
        elif self.graphed_ is not None and len(X) == self.graphed_.batch_size:
            loss = self.graphed_(X, y, w, denom)
        elif self.scaler_ is not None:
            optimizer.zero_grad(set_to_none=True)
            loss = self._objective(X, y, w, denom)
            self.scaler_.scale(loss).backward()
            self.scaler_.step(optimizer)
            self.scaler_.update()
        else:
            # Gradients zeroed in place when a graph owns them (their addresses are
            # captured); released otherwise, directly (``zero_grad`` adds a dynamo
            # guard call to every step).
            if self.graphed_ is None:
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        p.grad = None
            else:
                optimizer.zero_grad(set_to_none=False)
            loss = self._objective(X, y, w, denom)
            loss.backward()
            optimizer_step(optimizer)
        return loss.detach(), len(X), denom

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        if training and self.optimizer_ is not None:
            self.optimizer_.lists_ = None  # its state may have been loaded since
        self._set_training(training)
        losses, sizes, l2_share = [], [], 0.0
        for batch in iterator:
            loss, n, denom = step_fn(batch, **fit_params)
            losses.append(loss)
            sizes.append(n)
            l2_share = l2_share + n / denom
        sizes_t = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
        self.end_epoch(torch.stack(losses).dot(sizes_t), sum(sizes), l2_share,
                       len(losses), prefix)

    def end_epoch(self, loss_sum, n, l2_share, batch_count, prefix="train"):
        """Set ``epoch_loss_`` from the epoch's ``sum_b n_b * loss_b`` (a device
        scalar) over its ``n`` rows and ``l2_share = sum_b n_b / denom_b``, and record
        the batch count (also the batched trainer's, per member)."""
        loss = loss_sum / n
        if self.l2_mode_ == "coupled":
            # The L2 term ran inside the optimizer, so its value is not in the batch
            # losses: add sum_b n_b / n * alpha * P / denom_b, evaluated with the
            # weights at the end of the epoch.
            with torch.no_grad():
                penalty = self._penalty()
            loss = loss + penalty * (self.spec_.alpha * l2_share / n)
        # A device tensor: the stochastic solvers' monitor reads it together with the
        # epoch's parameter statistics, in the epoch's one host sync.
        self.epoch_loss_ = loss.detach()
        self.history.record(prefix + "_batch_count", batch_count)

    def forward_raw(self, X, batch_size=PREDICT_BATCH):
        """Raw outputs (logits) of the module for a tensor ``X``, in eval mode."""
        if self.module_.training:
            self.module_.eval()
        with torch.no_grad():
            if len(X) <= batch_size:
                return self.module_(X.to(self.device))
            return torch.cat([self.module_(X[s:s + batch_size].to(self.device))
                              for s in range(0, len(X), batch_size)])


def optimizer_step(optimizer):
    """``optimizer.step()``; for torch's Adam family, once its state exists, the same
    functional update (``torch.optim.adam.adam``) on the lists ``step()`` would
    rebuild from its state on every call: measured about 140 us a call on this
    project's 2-core machine, a visible share of a step of a small net (a fit on
    digits spends 0.58 ms a step). The lists are kept on the optimizer as
    ``lists_``; set it to None whenever its state may have been replaced (a new
    epoch, a loaded state)."""
    lists = getattr(optimizer, "lists_", None)
    if lists is None:
        optimizer.step()
        groups = optimizer.param_groups
        if isinstance(optimizer, torch.optim.Adam) and not any(
                g["amsgrad"] or g["capturable"] or g["differentiable"] for g in groups) \
                and all(optimizer.state.get(p) for g in groups for p in g["params"]):
            optimizer.lists_ = [
                (g, g["params"], *([optimizer.state[p][key] for p in g["params"]]
                                   for key in ("exp_avg", "exp_avg_sq", "step")))
                for g in groups]
        return
    with torch.no_grad():
        for group, params, exp_avgs, exp_avg_sqs, steps in lists:
            beta1, beta2 = group["betas"]
            adam(params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps,
                 amsgrad=False, has_complex=False, beta1=beta1, beta2=beta2,
                 lr=group["lr"], weight_decay=group["weight_decay"], eps=group["eps"],
                 maximize=group["maximize"], foreach=group["foreach"], capturable=False,
                 differentiable=False, fused=group["fused"],
                 decoupled_weight_decay=group["decoupled_weight_decay"])


def build_optimizer(solver, module, hyper, capturable=False):
    """The ``solver``'s torch optimizer over ``[weights, other parameters]`` groups of
    ``module`` (the penalty acts on the first group only); ``capturable`` for a CUDA
    graph."""
    record = SOLVERS[solver]
    weights = module.weights()
    ids = {id(w) for w in weights}
    others = [p for p in module.parameters() if id(p) not in ids]
    groups = [{"params": weights, "weight_decay": 0.0},
              {"params": others, "weight_decay": 0.0}]
    if capturable:
        return record.build(groups, hyper, record.fused, capturable=True)
    return record.build(groups, hyper, record.fused)


def _compiled(module, mode):
    """``torch.compile(module, mode=mode)``, with a clear error where it cannot run."""
    if not hasattr(torch, "compile"):
        raise ValueError("compile needs torch >= 2.0.")
    return torch.compile(module, mode=mode, dynamic=False)
