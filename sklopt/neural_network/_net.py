"""The skorch net that trains an :class:`MLPModule` on tensors already on the device.

skorch supplies the structure (module / criterion / optimizer initialisation, device
handling, callbacks, history, pickling of CUDA-trained models onto CPU machines). What is
overridden here is only the per-batch path, because for tabular data it dominates:

* ``get_iterator`` slices contiguous batches out of tensors that were moved to the device
  once and shuffled once per epoch, instead of skorch's per-sample ``DataLoader``
  (3x slower on a 15,000-row fit, see shared/PERF_NOTES.md);
* ``run_single_epoch`` keeps batch losses on the device and reads them once per epoch
  (one device sync per epoch instead of one per batch; no per-batch history rows);
* ``train_step`` is a plain zero_grad / forward / backward / step (a closure only for
  L-BFGS), adding the weight penalty of the estimator.

Per-batch callback notifications (``on_batch_begin/end``, ``on_grad_computed``) are not
sent: sklopt's callbacks all work per epoch.
"""

import numpy as np
import torch
from skorch import NeuralNet

from ._options import DISTILL_LOSSES, LOSSES, PENALTIES


class TensorData(torch.utils.data.Dataset):
    """Training data held as tensors on the training device.

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
        # Per-batch weight sums (the penalty's denominator, as in sklearn) are computed
        # on the CPU so that reading them costs no device sync.
        self.sample_weight_cpu = (
            None if sample_weight is None else sample_weight.detach().cpu().numpy()
        )

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        w = None if self.sample_weight is None else self.sample_weight[i]
        return self.X[i], (None if self.y is None else self.y[i]), w


class BatchIterator:
    """Yield ``(X, y, sample_weight, denominator)`` batches sliced from a TensorData.

    With ``shuffle``, the rows are permuted once per epoch (one gather) and then cut into
    contiguous slices. ``augment`` (bound augmenters ``aug(X, y) -> (X, y)``) are applied
    to the epoch's rows before they are cut. ``denominator`` is a Python float: the batch's size, or its weight
    sum when sample weights are given; the penalty is divided by it, as in sklearn.
    """

    def __init__(self, data, batch_size, shuffle=False, generator=None, drop_single=False,
                 augment=()):
        self.data = data
        self.augment = augment
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        # BatchNorm cannot train on a batch of one row: drop such a last batch (its row
        # lands in another batch after the next shuffle).
        self.drop_single = drop_single

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        data, bs = self.data, self.batch_size
        n = len(data)
        X, y, w, w_cpu = data.X, data.y, data.sample_weight, data.sample_weight_cpu
        if self.shuffle:
            # The permutation comes from a CPU generator, so that a seed gives the same
            # batches on every device.
            perm_cpu = torch.randperm(n, generator=self.generator)
            perm = perm_cpu.to(X.device, non_blocking=True)
            X = X[perm]
            y = None if y is None else y[perm]
            if w is not None:
                w, w_cpu = w[perm], w_cpu[perm_cpu.numpy()]
        # Augment the whole epoch at once (fresh every epoch): one large op per
        # augmenter instead of one small op per batch, which made SwapNoise cost 40% of
        # a small net's epoch (benchmarks/bench_augment.py).
        for aug in self.augment:
            X, y = aug(X, y)
        starts = range(0, n, bs)
        if self.drop_single and n > 1 and n % bs == 1:
            starts = starts[:-1]
        if w_cpu is None:
            denoms = [float(min(bs, n - s)) for s in starts]
        else:
            denoms = np.add.reduceat(w_cpu, list(starts)).tolist()
        for s, denom in zip(starts, denoms):
            e = s + bs
            yield (
                X[s:e],
                None if y is None else y[s:e],
                None if w is None else w[s:e],
                denom,
            )


class SampleLoss(torch.nn.Module):
    """The batch mean (or sample-weighted mean) of a loss of
    :data:`~sklopt.neural_network._options.LOSSES`, named by the output activation.

    With ``distill=(temperature, soft_weight)`` it is the knowledge-distillation loss
    of :data:`~sklopt.neural_network._options.DISTILL_LOSSES` instead, whose targets
    carry the teacher's tempered probabilities before the true labels.
    """

    def __init__(self, out_activation, distill=None):
        super().__init__()
        self.out_activation = out_activation
        self.distill = distill

    def forward(self, raw, target, sample_weight=None):
        if self.distill is not None:
            return DISTILL_LOSSES[self.out_activation](raw, target, sample_weight,
                                                       *self.distill)
        return LOSSES[self.out_activation](raw, target, sample_weight)


class SkloptNet(NeuralNet):
    """skorch ``NeuralNet`` that trains on pre-built tensor batches.

    Built by :class:`~sklopt.neural_network.MLPClassifier` and
    :class:`~sklopt.neural_network.MLPRegressor` inside ``fit`` and exposed as
    their ``net_`` attribute; not meant to be configured by hand.

    Parameters
    ----------
    module : MLPModule
        The initialised torch module.
    criterion : SampleLoss
        The data loss.
    optimizer : callable
        ``optimizer(module) -> torch.optim.Optimizer``.
    schedule : callable or None
        ``schedule(optimizer) -> torch LR scheduler``, stepped once per epoch.
    penalty : str or None
        Key of ``PENALTIES``.
    alpha, l1_ratio : float
        Penalty strength and elastic-net mixing.
    l2_in_optimizer : bool
        Apply the L2 penalty as the optimizer's ``weight_decay`` (same gradient, runs
        inside the fused optimizer kernel) instead of adding it to the loss.
    shuffle : bool
        Shuffle the rows every epoch.
    generator : torch.Generator
        CPU random source of the shuffling.
    augment : list of callables
        Bound augmenters ``aug(X, y) -> (X, y)``, applied to the training rows of every
        epoch (never to validation or prediction data).
    closure_step : bool
        Whether the optimizer needs a closure (L-BFGS); the loss of each closure call is
        then kept in ``closure_losses_``.
    drop_single : bool
        Drop a last training batch of one row (needed by BatchNorm).
    """

    def __init__(self, module, criterion, optimizer, *, schedule=None, penalty=None,
                 alpha=0.0, l1_ratio=0.5, l2_in_optimizer=False, shuffle=True,
                 generator=None, augment=(), closure_step=False, drop_single=False,
                 **kwargs):
        super().__init__(module, criterion, optimizer=optimizer, train_split=None,
                         verbose=0, **kwargs)
        self.schedule = schedule
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.l2_in_optimizer = l2_in_optimizer
        self.shuffle = shuffle
        self.generator = generator
        self.augment = augment
        self.closure_step = closure_step
        self.drop_single = drop_single
        self.closure_losses_ = []

    # ----------------------------------------------------------------- initialisation
    def get_default_callbacks(self):
        # skorch's defaults (timer, scoring, printing) record per batch; the estimator
        # passes the per-epoch callbacks it needs.
        return []

    def initialize_optimizer(self, triggered_directly=None):
        self.optimizer_ = self.optimizer(self.module_)
        self.optimizer_schedule_ = (
            None if self.schedule is None else self.schedule(self.optimizer_)
        )
        self._explicit_penalty = self.penalty is not None and self.alpha > 0 and not (
            self.penalty == "l2" and self.l2_in_optimizer
        )
        self._weight_decay_group = (
            self.optimizer_.param_groups[0]
            if self.penalty == "l2" and self.l2_in_optimizer and self.alpha > 0
            else None
        )
        return self

    def load_optimizer_state(self, state_dict):
        """Load a saved optimizer state (``sklopt.io``); the weight-decay group is
        looked up again, as ``load_state_dict`` replaces the param-group dicts."""
        self.optimizer_.load_state_dict(state_dict)
        if self._weight_decay_group is not None:
            self._weight_decay_group = self.optimizer_.param_groups[0]

    # ----------------------------------------------------------------- data
    def get_dataset(self, X, y=None):
        if isinstance(X, TensorData):
            return X
        return TensorData(X, y)

    def get_iterator(self, dataset, training=False):
        batch_size = self.batch_size if training else 65536
        return BatchIterator(dataset, batch_size, shuffle=training and self.shuffle,
                             generator=self.generator,
                             drop_single=training and self.drop_single,
                             augment=self.augment if training else ())

    # ----------------------------------------------------------------- training
    def penalty_value(self):
        """The (unscaled) penalty of the current weights, without autograd."""
        if self.penalty is None:
            return 0.0
        with torch.no_grad():
            return float(PENALTIES[self.penalty](self.module_.weights(), self.l1_ratio))

    def _objective(self, X, y, w, coef):
        loss = self.criterion_(self.module_(X), y, w)
        if self._explicit_penalty:
            loss = loss + coef * PENALTIES[self.penalty](self.module_.weights(), self.l1_ratio)
        return loss

    def train_step(self, batch, **fit_params):
        """One optimizer step on ``batch``; returns ``(loss, n_rows, penalty coef)``."""
        X, y, w, denom = batch
        coef = self.alpha / denom
        group = self._weight_decay_group
        if group is not None and group["weight_decay"] != coef:
            group["weight_decay"] = coef
        optimizer = self.optimizer_
        if self.closure_step:
            def closure():
                optimizer.zero_grad(set_to_none=True)
                loss = self._objective(X, y, w, coef)
                loss.backward()
                self.closure_losses_.append(float(loss.detach()))
                return loss

            loss = optimizer.step(closure)
        else:
            optimizer.zero_grad(set_to_none=True)
            loss = self._objective(X, y, w, coef)
            loss.backward()
            optimizer.step()
        return loss.detach(), len(X), coef

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        losses, sizes, coef_sum = [], [], 0.0
        for batch in iterator:
            loss, n, coef = step_fn(batch, **fit_params)
            losses.append(loss)
            sizes.append(n)
            coef_sum += coef * n
        n = sum(sizes)
        sizes = torch.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
        loss = float(torch.stack(losses).dot(sizes)) / n
        if self._weight_decay_group is not None:
            # The L2 term ran inside the optimizer, so its value is not in the batch
            # losses: add it, evaluated with the weights at the end of the epoch.
            loss += self.penalty_value() * coef_sum / n
        self.history.record(prefix + "_loss", loss)
        self.history.record(prefix + "_batch_count", len(losses))

    def forward_raw(self, X, batch_size=65536):
        """Raw outputs (logits) of the module for a tensor ``X`` on the device."""
        self.module_.eval()
        with torch.no_grad():
            if len(X) <= batch_size:
                return self.module_(X)
            return torch.cat(
                [self.module_(X[s:s + batch_size]) for s in range(0, len(X), batch_size)]
            )
