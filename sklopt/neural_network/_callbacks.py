"""Per-epoch skorch callbacks: validation, progress bar, and sklearn's stopping rules.

sklearn's MLP stopping rule (stop, or divide the learning rate by 5 with
``learning_rate="adaptive"``, once the training loss -- or the validation score with
``early_stopping`` -- has not improved by ``tol`` for more than ``n_iter_no_change``
epochs) differs from skorch's ``EarlyStopping`` (relative thresholds, no learning-rate
step, validation loss only), so it is written here. Stopping raises KeyboardInterrupt,
as skorch's own EarlyStopping does; the reason is kept in ``stop_reason_`` so that a
user's Ctrl-C can be told apart.
"""

import math
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def record_parameter_stats(net, previous_state):
    """Record in the last history row: ``weight_norm`` (L2 norm of all weights and
    biases), ``grad_norm`` (L2 norm of the gradient of the last step's batch loss, the
    L2 penalty included only when it is part of the loss) and ``param_change``
    (``||theta - theta_prev|| / ||theta_prev||`` over the epoch). One device sync."""
    named = list(net.module_.named_parameters())
    params = [p.detach() for _, p in named]
    grads = [p.grad for _, p in named if p.grad is not None]
    prev = [previous_state[name] for name, _ in named]
    diffs = torch._foreach_sub(params, prev)
    # One fused norm over all tensors and one device sync; the groups are summed on
    # the host (the epoch loop of a small net is a few ms, so this shows).
    groups = (params, grads, diffs, prev)
    norms = torch.stack(torch._foreach_norm([t for g in groups for t in g])).tolist()
    totals, start = [], 0
    for g in groups:
        totals.append(math.sqrt(sum(v * v for v in norms[start:start + len(g)])))
        start += len(g)
    weight, grad, diff, prev_norm = totals
    net.history.record("weight_norm", weight)
    net.history.record("grad_norm", grad if grads else float("nan"))
    net.history.record("param_change", diff / prev_norm if prev_norm > 0 else float("nan"))


class Validation(Callback):
    """Score the held-out split after each epoch and record ``valid_loss`` and
    ``valid_score`` in the net's history.

    Parameters
    ----------
    data : TensorData
        The validation split, on the training device.
    score : callable
        ``score(raw_output) -> float``: the estimator's score (accuracy or R^2).
    """

    def __init__(self, data, score):
        self.data = data
        self.score = score

    def on_epoch_end(self, net, **kwargs):
        raw = net.forward_raw(self.data.X)
        with torch.no_grad():
            loss = float(net.criterion_(raw, self.data.y, self.data.sample_weight))
        net.history.record("valid_loss", loss)
        net.history.record("valid_score", self.score(raw))


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the training loss and validation score."""

    def __init__(self, desc="fit"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        postfix = {"loss": f"{row['train_loss']:.5g}"}
        if "valid_score" in row:
            postfix["val_score"] = f"{row['valid_score']:.4f}"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_


class ConvergenceMonitor(Callback):
    """sklearn's bookkeeping and stopping rules for stochastic MLP solvers.

    Keeps ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``t_`` and ``n_iter_`` as sklearn defines them, steps the
    learning-rate schedule, keeps the best weights for early stopping, and protects the
    model from non-finite losses (the last finite weights are restored and training
    stops with one warning).
    """

    def __init__(self, tol, n_iter_no_change, early_stopping, adaptive, verbose=False):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.adaptive = adaptive
        self.verbose = verbose
        self.loss_curve_ = []
        self.t_ = 0
        self.n_iter_ = 0
        self.no_improvement_count_ = 0
        if early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        self.best_state_ = None
        self.stop_reason_ = None

    def on_train_begin(self, net, **kwargs):
        self.n_iter_ = 0
        self.stop_reason_ = None
        self.interrupted_ = False
        self._in_epoch = False
        self._last_good = snapshot(net.module_)

    def on_epoch_begin(self, net, **kwargs):
        self._in_epoch = True

    def _stop(self, reason):
        self.stop_reason_ = reason
        raise KeyboardInterrupt(reason)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        self._in_epoch = False
        row = net.history[-1]
        loss = row["train_loss"]
        if not math.isfinite(loss):
            net.module_.load_state_dict(self._last_good)
            net.history.record("stopped", "non-finite loss")
            warnings.warn(
                f"The training loss became {loss} at epoch {len(net.history)}; training "
                "stopped and the weights of the last epoch with a finite loss were kept. "
                "Lower learning_rate_init or scale the input (e.g. MinMaxScaler).",
                RuntimeWarning,
                stacklevel=2,
            )
            self._stop("non-finite loss")

        self.n_iter_ += 1
        self.t_ += len(dataset_train)
        self.loss_curve_.append(loss)
        lr = net.optimizer_.param_groups[0]["lr"]
        net.history.record("lr", lr)

        if self.early_stopping:
            score = row["valid_score"]
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self.no_improvement_count_ += 1
            else:
                self.no_improvement_count_ = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self.best_state_ = snapshot(net.module_)
        else:
            if loss > self.best_loss_ - self.tol:
                self.no_improvement_count_ += 1
            else:
                self.no_improvement_count_ = 0
            self.best_loss_ = min(self.best_loss_, loss)

        record_parameter_stats(net, self._last_good)
        if net.optimizer_schedule_ is not None:
            net.optimizer_schedule_.step()
        self._last_good = snapshot(net.module_)

        if self.no_improvement_count_ > self.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs."
            )
            if self.adaptive and lr > 1e-6:
                for group in net.optimizer_.param_groups:
                    group["lr"] /= 5.0
                self.no_improvement_count_ = 0
                if self.verbose:
                    tqdm.write(msg + f" Setting learning rate to {lr / 5.0:f}")
            else:
                if self.adaptive:
                    msg += " Learning rate too small."
                if self.verbose:
                    tqdm.write(msg + " Stopping.")
                self._stop(msg)

    def on_train_end(self, net, **kwargs):
        if self._in_epoch:
            # Interrupted inside an epoch (Ctrl-C): go back to the last whole epoch.
            net.module_.load_state_dict(self._last_good)
            self.interrupted_ = True
        elif self.stop_reason_ is None and self.n_iter_ < net.max_epochs:
            self.interrupted_ = True
        if self.early_stopping and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        # Snapshots are not part of a fitted model: do not pickle them.
        self.best_state_ = None
        self._last_good = None
