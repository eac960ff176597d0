"""Many nets in one pass: K sklopt MLPs of one architecture trained together.

Small tabular nets are overhead-bound: a step of a (100,) net on 200 rows is mostly
Python and dispatch, not arithmetic. :func:`fit_batched` trains K member networks (the
candidates x folds of a search, the seeds of a stability measure) with one batched
forward and backward pass per step: the members' weights are stacked each step
(``torch.stack``: autograd hands each member its own gradient) and every layer is one
``baddbmm`` over the member axis.

Everything else is each member's own fit, through the one fit path (``_fit.py``):

* each member is planned by its estimator's ``_plan`` on its own rows: its
  validation, its early-stopping split, its initial weights, its shuffling, its
  dropout generator, its spec;
* each member trains through its own configured :class:`SkloptNet` (its optimizer with
  its own learning rate, momentum, betas and penalty, its loss, its callbacks: the
  validation and sklearn's stopping rules of :class:`ConvergenceMonitor`);
* each member is published by its estimator's ``_publish``.

A member's batch is its own rows in its own shuffled order; members whose data are
shorter are padded and their padded rows never reach their loss. A member that stops
(``n_iter_no_change``, ``max_iter``) leaves the batch: it stops changing and costing.
So, on the CPU in float64, a batched fit gives each member the ``loss_curve_``,
``n_iter_`` and weights of its separate fit up to rounding (the batched matrix products
sum in another order: ``tests/test_batched.py`` holds them to 1e-6).

Written by hand because ``torch.func.vmap`` cannot draw each member's dropout masks
from that member's own generator (which the separate fit's exactness needs) and
torch's optimizers take one learning rate per parameter group, not per member.
"""

import contextlib
import dataclasses
import functools
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.optim.adam import adam

from ..utils._device import cpu_threads_for, torch_threads
from ._fit import FitHook, _rollback
from ._levers import COMPILE_MODES, OUTPUTS, PRECISIONS, SOLVERS
from ._module import SeededDropout


@dataclass
class _Member:
    estimator: object
    plan: object
    net: object = None
    monitor: object = None
    generator: object = None  # dropout's
    done: bool = False
    epochs: int = 0  # epochs left (max_iter)
    rows: int = 0  # rows of the member's current batch
    losses: list = None  # the epoch's batch losses, sizes and sum n_b / denom_b
    sizes: list = None
    l2_share: object = 0.0
    denom: object = 1.0  # the current batch's size or weight sum
    params: list = None
    layers: list = None
    adam_state: list = None  # per parameter group: the optimizer's state lists


def batchable(estimator):
    """Why ``estimator`` cannot join a batch (a str), or None when it can: a sklopt MLP
    with a stochastic solver, a plain network (no embedding, ensemble or batch norm),
    no augmenter, full precision and no compilation."""
    if SOLVERS[estimator.solver].full_batch:
        return f"solver={estimator.solver!r} trains full-batch"
    if estimator.num_embedding is not None or estimator.n_ensemble != 1:
        return "embeddings and ensembles train one at a time for now"
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
        ``(estimator, X, y, sample_weight)``: sklopt MLPs (not yet fitted, or refitted
        from scratch) and their training data.
    max_members : int, default=None
        Most members per batch; None chooses from the free memory.
    on_error : {'raise', 'skip'}, default='raise'
        What a member whose fit is refused before training (its parameters or data)
        does: raise, leaving every member as it was, or stay unfitted (None in the
        result) while the others train.

    Returns
    -------
    estimators : list
        The fitted estimators, in order (fitted in place; None for a member skipped by
        ``on_error="skip"``). An estimator that cannot join a batch
        (:func:`batchable`) is fitted on its own.
    """
    members, singles, skipped = [], [], set()
    with contextlib.ExitStack() as stack:
        for estimator, X, y, sample_weight in jobs:
            if batchable(estimator) is not None:
                singles.append((estimator, X, y, sample_weight))
                continue
            saved = dict(vars(estimator))
            try:
                estimator._validate_params()
                plan = estimator._plan(X, y, sample_weight, False, FitHook())
            except Exception:
                vars(estimator).clear()
                vars(estimator).update(saved)
                if on_error == "raise":
                    raise
                skipped.add(id(estimator))
                continue
            stack.enter_context(_rollback(estimator, saved))  # as before the plan
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
    for estimator, X, y, sample_weight in singles:
        estimator.fit(X, y, sample_weight=sample_weight)
    return [None if id(job[0]) in skipped else job[0] for job in jobs]


def _members_per_batch(plan):
    """Members per batch from the free memory: each member holds its parameters four
    times (weights, gradients, two optimizer moments), a batch's activations and its
    epoch's shuffled rows (a copy of its data); a batch may take a quarter of the free
    memory."""
    spec = plan.spec
    units = spec.module.layer_units
    n_params = sum(a * b + b for a, b in zip(units[:-1], units[1:]))
    itemsize = torch.empty((), dtype=spec.dtype).element_size()
    rows = len(plan.data) * (units[0] + 2)  # features, target, weight
    per_member = itemsize * (4 * n_params + 3 * spec.batch_size * sum(units) + rows)
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


def _batched_forward(members, X):
    """Raw outputs ``(K, B, out)`` of the members for their stacked batches ``X``
    ``(K, B, F)``: each member's module layer by layer, as its own ``forward``
    (``_module.py``), with the linear layers as one batched product."""
    for i, layer in enumerate(members[0].layers):
        if isinstance(layer, torch.nn.Linear):
            weight = torch.stack([m.layers[i].weight for m in members])
            bias = torch.stack([m.layers[i].bias for m in members])
            X = torch.baddbmm(bias.unsqueeze(1), X, weight.transpose(1, 2))
        elif isinstance(layer, SeededDropout):
            X = X * _dropout_masks(members, [m.layers[i] for m in members], X)
        else:  # the activation: elementwise, the same for every member
            X = layer.forward(X)
    return X


def _dropout_masks(members, dropouts, X):
    """Each member's dropout mask, drawn from its own generator in the order and shape
    of its separate fit (its batch's rows only; padded rows get 0)."""
    masks = torch.zeros_like(X)
    for k, (member, dropout) in enumerate(zip(members, dropouts)):
        n = member.rows
        if dropout.p == 0:
            masks[k, :n] = 1.0
            continue
        keep = 1.0 - dropout.p
        draw = torch.rand((n, X.shape[2]), generator=member.generator, dtype=X.dtype,
                          device=X.device) < keep
        masks[k, :n] = draw.to(X.dtype).div_(keep)
    return masks


def _train(members):
    """Train a group of members (one architecture) together, epoch by epoch."""
    for member in members:
        estimator, plan = member.estimator, member.plan
        member.net, member.monitor = estimator._prepare_net(plan)
        member.net.module_.train()
        device = torch.device(plan.spec.device)
        member.generator = (plan.generator if device.type == "cpu" else
                            torch.Generator(device=device).manual_seed(
                                int(torch.randint(2**62, (1,), generator=plan.generator))))
        member.net.notify("on_train_begin", X=plan.data, y=None)
        member.epochs = plan.spec.max_epochs
        member.params = list(member.net.module_.parameters())
        member.layers = list(member.net.module_.layers)
    spec = members[0].plan.spec
    threads = (cpu_threads_for(*spec.module.work(spec.batch_size * len(members)))
               if torch.device(spec.device).type == "cpu" else None)
    with torch_threads(threads):
        active = list(members)
        while active:
            for member in active:
                member.net.notify("on_epoch_begin", dataset_train=member.plan.data,
                                  dataset_valid=None)
            _epoch(active, spec)
            for member in active:
                net = member.net
                net.module_.eval()
                try:
                    net.notify("on_epoch_end", dataset_train=member.plan.data,
                               dataset_valid=None)
                except KeyboardInterrupt:
                    if member.monitor.stop_reason_ is None:
                        raise  # the user's Ctrl-C: the whole batch stops
                    member.done = True  # the member's stopping rule
                net.module_.train()
                member.epochs -= 1
                if member.epochs == 0:
                    member.done = True
            for member in active:
                if member.done:
                    member.net.notify("on_train_end", X=member.plan.data, y=None)
            active = [m for m in active if not m.done]


def _epoch(members, spec):
    """One epoch of every member: its rows in its own order, cut in its batches, one
    batched step per batch index. The epoch's rows are laid out once, padded to the
    longest member: ``(K, rows, features)``."""
    device = torch.device(spec.device)
    sizes = [len(m.plan.data) for m in members]
    longest = max(sizes)
    first = members[0].plan.data
    X = torch.zeros((len(members), longest, first.X.shape[1]), dtype=spec.dtype,
                    device=device)
    y = torch.zeros((len(members), longest, *first.y.shape[1:]), dtype=first.y.dtype,
                    device=device)
    weights = torch.zeros((len(members), longest), dtype=spec.dtype, device=device)
    weighted = [m.plan.data.sample_weight is not None for m in members]
    for k, member in enumerate(members):
        data = member.plan.data
        rows = torch.arange(sizes[k])
        order = member.plan.order
        if order is not None:
            perm = order()
            rows = torch.from_numpy(perm) if isinstance(perm, np.ndarray) else perm
        rows = rows.to(data.X.device)
        X[k, :sizes[k]] = data.X[rows].to(device)
        y[k, :sizes[k]] = data.y[rows].to(device)
        weights[k, :sizes[k]] = (1.0 if data.sample_weight is None
                                 else data.sample_weight[rows].to(device))
        member.losses, member.sizes, member.l2_share = [], [], 0.0
    shared = _shared_criterion(members)
    bs = spec.batch_size
    for s in range(0, longest, bs):
        stepping = [k for k, n in enumerate(sizes) if s < n]
        batch = [members[k] for k in stepping]
        index = None if len(stepping) == len(members) else torch.tensor(stepping,
                                                                        device=device)
        take = (lambda t: t[:, s:s + bs]) if index is None else (
            lambda t: t.index_select(0, index)[:, s:s + bs])
        Xb, yb, wb = take(X), take(y), take(weights)
        rows = [min(bs, sizes[k] - s) for k in stepping]
        for member, n in zip(batch, rows):
            member.rows = n
            for p in member.params:
                p.grad = None
        raw = _batched_forward(batch, Xb)
        if shared is not None:
            # The members' own losses, one vectorised call: each member's (weighted)
            # mean over its rows of the batch, its padding weighted 0.
            losses = torch.vmap(shared)(raw, yb, wb)
        total = 0.0
        for k, (member, n) in enumerate(zip(batch, rows)):
            w = None if not weighted[stepping[k]] else wb[k, :n]
            denom = float(n) if w is None else w.sum()
            net = member.net
            if shared is None:
                loss = net.objective_of(raw[k, :n], yb[k, :n], w, denom)
            else:
                loss = losses[k]
                if net.explicit_penalty_:
                    loss = loss + net.spec_.alpha / denom * net._penalty()
            member.denom = denom
            total = total + loss
            member.losses.append(loss.detach())
            member.sizes.append(n)
            member.l2_share = member.l2_share + n / denom
        total.backward()
        _step(batch)
    for member in members:
        member.net.end_epoch(member.losses, member.sizes, member.l2_share)


def _shared_criterion(members):
    """The members' one loss function, when they share it, as ``loss(raw, y, w)`` of
    one member's padded batch; None when they differ (each then computes its own)."""
    criteria = [m.net.criterion_ for m in members]

    def signature(c):
        if isinstance(c, functools.partial):
            return (c.func, c.args, tuple(sorted(c.keywords.items())))
        return (c,)
    first = signature(criteria[0])
    if any(signature(c) != first for c in criteria[1:]):
        return None
    if first[0] not in {rec.loss for rec in OUTPUTS.values()}:
        return None  # a custom loss (distillation): not known to vectorise
    return criteria[0]


# ------------------------------------------------------------------ serving fits
# Fits made ahead in batches (by a search or cross-validation) are handed to the
# ``fit`` calls that ask for them: scikit-learn's own search code then runs as it is
# (its cloning, parameters, scoring, cv_results_, error_score, refit), and each of its
# fits finds its result ready. Keyed by the estimator's class and parameters and the
# exact training data, so a fit that was not made ahead trains as usual.
_SERVED = []


def fit_key(estimator, X, y, sample_weight):
    """The key of a fit: the estimator's class and parameters, and its data."""
    from joblib import hash as joblib_hash

    params = estimator.get_params(deep=False)
    return joblib_hash((type(estimator).__qualname__, sorted(params.items()), X, y,
                        sample_weight))


@contextlib.contextmanager
def serving(fitted):
    """Within the block, a ``fit`` of an sklopt MLP whose :func:`fit_key` is in
    ``fitted`` (a dict of key -> fitted estimator) takes that fit's result."""
    _SERVED.append(fitted)
    try:
        yield
    finally:
        _SERVED.remove(fitted)


def served_fit(estimator, X, y, sample_weight):
    """The fitted estimator made ahead for this fit, or None."""
    if not _SERVED:
        return None
    key = fit_key(estimator, X, y, sample_weight)
    for fitted in reversed(_SERVED):
        if key in fitted:
            return fitted.pop(key)
    return None


# ------------------------------------------------------------------ optimizer steps
def _step(members):
    """Each member's optimizer step. The Adam family steps in one fused call per set
    of equal hyper-parameters (learning rate, betas, epsilon, decoupled decay) over
    every member's parameters: the same arithmetic as each member's own
    ``optimizer.step()``, without its per-call overhead; sklearn's coupled L2
    gradient ``alpha / n_b * W`` joins (a copy of) the gradients first, as the
    optimizer's own ``weight_decay`` would add it. Other optimizers step one member at
    a time."""
    buckets, decayed, decays = {}, [], []
    for member in members:
        net, optimizer = member.net, member.net.optimizer_
        if not isinstance(optimizer, torch.optim.Adam) or optimizer.defaults.get(
                "capturable") or optimizer.defaults.get("differentiable"):
            net.set_coupled_decay(member.denom)
            optimizer.step()
            continue
        coupled = net.l2_mode_ == "coupled"
        if member.adam_state is None:
            member.adam_state = [None] * len(optimizer.param_groups)
        for i, group in enumerate(optimizer.param_groups):
            if coupled:
                group["weight_decay"] = 0.0
            state = member.adam_state[i]
            if state is None or any(p.grad is None for p in state[0]):
                lists = ([], [], [], [], [], [])
                optimizer._init_group(group, *lists)
                if len(lists[0]) == len(group["params"]):  # every state made: keep
                    member.adam_state[i] = (lists[0], *lists[2:])
            else:
                params, *moments = state
                lists = (params, [p.grad for p in params], *moments)
            if not lists[0]:
                continue
            grads = lists[1]
            if coupled and i == 0:  # the weights: decayed copies, p.grad as it was
                grads = list(grads)
                decayed.append((grads, lists[0]))
                decays.extend([float(net.spec_.alpha / member.denom)] * len(grads))
            key = (group["lr"], group["betas"], group["eps"], group["weight_decay"],
                   group["amsgrad"], group["maximize"], group["foreach"], group["fused"],
                   group.get("decoupled_weight_decay", False))
            bucket = buckets.setdefault(key, ([], [], [], [], [], []))
            for into, part in zip(bucket, (lists[0], grads, *lists[2:])):
                into.extend(part)
    if decayed:
        # g + (alpha / n_b) W for every member's weights, in two foreach calls.
        grads = [g for gs, _ in decayed for g in gs]
        weights = [w for _, ws in decayed for w in ws]
        new = torch._foreach_add(grads, torch._foreach_mul(weights, decays))
        swap = dict(zip(map(id, grads), new))
        for lists in buckets.values():
            lists[1][:] = [swap.get(id(g), g) for g in lists[1]]
    for key, lists in buckets.items():
        lr, (beta1, beta2), eps, decay, amsgrad, maximize, foreach, fused, decoupled = key
        adam(*lists, amsgrad=amsgrad, beta1=beta1, beta2=beta2, lr=lr,
             weight_decay=decay, eps=eps, maximize=maximize,
             foreach=foreach, fused=fused,
             decoupled_weight_decay=decoupled)
