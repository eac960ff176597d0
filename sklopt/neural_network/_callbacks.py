"""Per-epoch skorch callbacks: sklearn's stopping rules and bookkeeping.

sklearn's MLP stopping rule (stop, or divide the learning rate by 5 with
``learning_rate="adaptive"``, once the training loss -- or the validation score with
``early_stopping`` -- has not improved by ``tol`` for more than ``n_iter_no_change``
epochs) differs from skorch's ``EarlyStopping`` (relative thresholds, no learning-rate
step, validation loss only), so it is written here. Stopping raises KeyboardInterrupt,
as skorch's own EarlyStopping does; the reason is kept in ``stop_reason_`` so that a
user's Ctrl-C can be told apart.
"""

import math

import numpy as np
import torch
from skorch.callbacks import Callback

from ._levers import SCHEDULES
from ._levers.losses import member_loss


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def parameters_finite(module):
    """Whether every parameter of ``module`` is finite (one device sync)."""
    params = [p.detach() for p in module.parameters()]
    return bool(torch.stack([torch.isfinite(p).all() for p in params]).all())


def record_parameter_stats(net, previous_state, loss=None):
    """Record in the last history row: ``weight_norm`` (L2 norm of all weights and
    biases), ``grad_norm`` (L2 norm of the gradient of the last step's batch loss, the
    L2 penalty included only when it is part of the loss) and ``param_change``
    (``||theta - theta_prev|| / ||theta_prev||`` over the epoch), and ``train_loss``
    when ``loss`` (a device scalar) is given: one fused norm and one host sync."""
    named = list(net.module_.named_parameters())
    params = [p.detach() for _, p in named]
    grads = [p.grad for _, p in named if p.grad is not None]
    prev = [previous_state[name] for name, _ in named]
    diffs = torch._foreach_sub(params, prev)
    groups = (params, grads, diffs, prev)
    norms = torch.stack(torch._foreach_norm([t for g in groups for t in g])).double()
    if loss is not None:
        norms = torch.cat([loss.double().reshape(1), norms])
    values = norms.tolist()  # the sync
    train_loss = values.pop(0) if loss is not None else None
    totals, start = [], 0
    for g in groups:
        totals.append(math.sqrt(sum(v * v for v in values[start:start + len(g)])))
        start += len(g)
    weight, grad, diff, prev_norm = totals
    record_stats(net, train_loss, weight, grad if grads else float("nan"), diff,
                 prev_norm)


def record_stats(net, train_loss, weight, grad, diff, prev_norm):
    """Record an epoch's statistics (:func:`record_parameter_stats`'s, or the batched
    trainer's, computed for all its members at once); ``train_loss`` None: not
    recorded."""
    if train_loss is not None:
        net.history.record("train_loss", train_loss)
    net.history.record("weight_norm", weight)
    net.history.record("grad_norm", grad)
    net.history.record("param_change", diff / prev_norm if prev_norm > 0 else float("nan"))


class Validation(Callback):
    """Score the held-out split after each epoch; record ``valid_loss`` and
    ``valid_score``.

    Parameters
    ----------
    data : TensorData
        The validation split.
    score : callable
        ``score(raw_output) -> float``: the estimator's score (accuracy or R^2), NaN
        when the outputs are not finite (as sklearn's).
    """

    def __init__(self, data, score):
        self.data = data
        self.score = score

    def on_epoch_end(self, net, valid_raw=None, **kwargs):
        """``valid_raw``: the raw outputs on the held-out rows, when the caller (the
        batched trainer) computed them already."""
        raw = net.forward_raw(self.data.X) if valid_raw is None else valid_raw
        with torch.no_grad():
            y = self.data.y.to(raw.device)
            w = None if self.data.sample_weight is None else self.data.sample_weight.to(
                raw.device)
            loss = float(member_loss(net.criterion_, raw, y, w))
        net.history.record("valid_loss", loss)
        net.history.record("valid_score", float(self.score(raw)))


class ConvergenceMonitor(Callback):
    """sklearn's bookkeeping and stopping rules for the stochastic solvers.

    Reads and updates a :class:`~sklopt.neural_network._spec.TrainState` (``t_``,
    ``loss_curve_``, ``best_loss_``, ``validation_scores_``, the no-improvement count,
    the schedule's position), sets each epoch's learning rate from the schedule, keeps
    the best weights for early stopping, prints sklearn's verbose lines, calls the
    estimator's sklearn callbacks, and stops at the first epoch whose weights are not
    finite (no later epoch can change them).

    Parameters
    ----------
    spec : TrainSpec
    state : TrainState
    on_epoch : callable or None
        ``on_epoch(epoch_index, history_row) -> bool``: sklearn callbacks of the
        estimator; True stops training.
    """

    def __init__(self, spec, state, on_epoch=None):
        self.spec = spec
        self.state = state
        self.on_epoch = on_epoch

    def on_train_begin(self, net, **kwargs):
        self.n_iter_ = 0
        self.stop_reason_ = None
        self.interrupted_ = False
        self.diverged_ = False
        self._in_epoch = False
        self._last_good = snapshot(net.module_)
        if self.spec.early_stopping and not hasattr(self, "best_state_"):
            self.best_state_ = self._last_good

    def on_epoch_begin(self, net, **kwargs):
        self._in_epoch = True
        state = self.state
        lr = SCHEDULES[self.spec.learning_rate].lr(state, self.spec.hyper_dict)
        state.lr, state.fresh = lr, False
        for group in net.optimizer_.param_groups:
            if torch.is_tensor(group["lr"]):  # a capturable optimizer's (CUDA graph)
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def _stop(self, reason):
        self.stop_reason_ = reason
        raise KeyboardInterrupt(reason)

    def on_epoch_end(self, net, dataset_train=None, epoch_stats=None, epoch_state=None,
                     **kwargs):
        """``epoch_stats`` (the values :func:`record_stats` takes) and ``epoch_state``
        (the weights at the epoch's end, as :func:`snapshot` takes them): given by the
        batched trainer, which computes them for all its members at once."""
        self._in_epoch = False
        spec, state = self.spec, self.state
        if epoch_stats is None:
            record_parameter_stats(net, self._last_good, net.epoch_loss_)
        else:
            record_stats(net, *epoch_stats)
        row = net.history[-1]
        loss = row["train_loss"]
        self.n_iter_ += 1
        state.epoch += 1
        state.t += len(dataset_train)
        state.loss_curve.append(loss)
        net.history.record("lr", state.lr)
        if spec.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")

        if spec.early_stopping:
            score = row["valid_score"]
            state.validation_scores.append(score)
            if spec.verbose:
                print(f"Validation score: {score:f}")
            # sklearn's rule on the score, or the same rule on minus the validation
            # loss (early_stopping_on="loss"); NaN never counts as an improvement.
            value = score if spec.stop_on == "score" else -row["valid_loss"]
            best = state.best_validation_value
            if value < best + spec.tol:
                state.no_improvement_count += 1
            else:
                state.no_improvement_count = 0
            if value > best:
                state.best_validation_value = value
                state.best_validation_score = score
                self.best_state_ = (snapshot(net.module_) if epoch_state is None else
                                    {k: v.clone() for k, v in epoch_state.items()})
        else:
            if loss > state.best_loss - spec.tol:
                state.no_improvement_count += 1
            else:
                state.no_improvement_count = 0
            state.best_loss = min(state.best_loss, loss)

        if not math.isfinite(loss) and not parameters_finite(net.module_):
            self.diverged_ = True
            self._stop("non-finite weights")
        self._last_good = snapshot(net.module_) if epoch_state is None else epoch_state

        if state.no_improvement_count > spec.n_iter_no_change:
            what = ("Training loss" if not spec.early_stopping else "Validation score"
                    if spec.stop_on == "score" else "Validation loss")
            msg = (f"{what} did not improve more than tol={spec.tol:f} for "
                   f"{spec.n_iter_no_change} consecutive epochs.")
            if spec.learning_rate == "adaptive":
                if state.lr <= 1e-6:
                    if spec.verbose:
                        print(msg + " Learning rate too small. Stopping.")
                    self._stop(msg)
                state.lr /= 5.0
                state.no_improvement_count = 0
                if spec.verbose:
                    print(msg + f" Setting learning rate to {state.lr:f}")
            else:
                if spec.verbose:
                    print(msg + " Stopping.")
                self._stop(msg)
        if self.on_epoch is not None and self.on_epoch(self.n_iter_ - 1, row):
            self._stop("a callback asked to stop")

    def on_train_end(self, net, **kwargs):
        if self._in_epoch:
            # Interrupted inside an epoch (Ctrl-C): go back to the last whole epoch.
            net.module_.load_state_dict(self._last_good)
            self.interrupted_ = True
        elif self.stop_reason_ is None and self.n_iter_ < net.max_epochs:
            self.interrupted_ = True
        if self.spec.early_stopping and getattr(self, "best_state_", None) is not None:
            # sklearn restores the best epoch's weights (the initial ones when no
            # epoch had a finite validation score).
            net.module_.load_state_dict(self.best_state_)
        self._last_good = None


def initial_state(early_stopping):
    """sklearn's counters for a new network (its ``_initialize``)."""
    from ._spec import TrainState

    if early_stopping:
        return TrainState(validation_scores=[], best_validation_score=-np.inf,
                          best_validation_value=-np.inf, best_loss=None)
    return TrainState(best_loss=np.inf)
