"""One fit of an sklopt MLP as plan -> run -> publish.

* :meth:`FitMixin._plan` validates the data and every parameter, draws the
  early-stopping split, builds the :class:`~sklopt.neural_network._spec.TrainSpec`, the
  module to train and a per-fit ``torch.Generator``. Every configuration error is raised
  here, before any training.
* :meth:`FitMixin._run` trains. Every random number of the run (shuffling, dropout,
  augmenters) comes from the plan's generators, never from torch's global one, which
  threads share: fits in threads (joblib's threading backend, Dask threads) reproduce
  the sequential fit with the same ``random_state``.
* :meth:`FitMixin._publish` sets the fitted attributes together at the end.

:meth:`FitMixin._fit` runs the three under :func:`_rollback`: a fit that raises leaves
the estimator as it was (its attributes, the network's weights, optimizer state and
history), as sklearn asks of a failed ``fit``.

Package callers (:mod:`sklopt.distillation`, the TabularMLP estimators) change a fit
through one documented hook, :class:`FitHook`, passed to :meth:`FitMixin._fit_hooked`.
"""

import contextlib
import copy
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.optimize import _check_optimize_result

from ..utils._device import cpu_threads_for, resolve_device, torch_threads
from ._callbacks import ConvergenceMonitor, Validation, initial_state, record_parameter_stats
from ._callbacks import snapshot
from ._levers import PRECISIONS, SOLVERS
from ._levers.hardware import check_precision, compile_key
from ._levers.schedules import schedule_for
from ._module import MLPModule
from ._net import SkloptNet, TensorData
from ._spec import TrainSpec
from ._state import HYPER

try:  # sklearn >= 1.9: the callback API (set_callbacks(ProgressBar()), ...)
    from sklearn.callback import with_callbacks
except ImportError:  # pragma: no cover - older sklearn: no callbacks
    def with_callbacks(method):
        return method


_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may "
               "contain large values and need to be preprocessed.")


@dataclass(frozen=True)
class FitHook:
    """What a caller inside sklopt changes in one fit of an sklopt MLP: the
    package-internal hook of :mod:`sklopt.distillation` and the TabularMLP estimators
    (:meth:`FitMixin._fit_hooked`). Every field left at None is the estimator's own
    behaviour.

    Attributes
    ----------
    loss : callable or None
        ``loss(out_activation) -> criterion(raw, target, sample_weight)`` replacing the
        output layer's loss (a distillation loss).
    extra_target : ndarray of shape (n_samples, k) or None
        Columns put before the encoded target's in the ``target`` the criterion gets.
    validation : tuple or None
        ``(X_val, y_val, extra_target_val, sample_weight_val)``: the held-out rows of
        early stopping (and of ``calibrate=True``), instead of a random split of ``X``.
    stop_on : {'score', 'loss'} or None
        Overrides ``early_stopping_on``.
    """

    loss: object = None
    extra_target: object = None
    validation: object = None
    stop_on: object = None


@dataclass
class FitPlan:
    """Everything one training call needs, decided before anything changes."""

    spec: TrainSpec
    module: object  # the MLPModule to train: new, or the one training continues
    state: object  # TrainState
    fresh_optimizer: bool
    data: object  # TensorData of the training rows
    validation: object  # (TensorData, score(raw) -> float) or None
    order: object  # () -> the epoch's permutation, or None
    criterion: object  # criterion(raw, target, sample_weight) or None
    generator: object  # torch.Generator of dropout
    attributes: dict  # fitted attributes the plan decided (n_outputs_, ...)
    first_pass: bool  # a new network (not a warm start or partial_fit)


def _embedded_columns(X):
    """Which columns a numerical embedding maps: those with more than two values.
    Any function of a column of two values (one-hot, an indicator) is affine in it,
    so the first layer takes such a column as it is, at ``1 / embedding_dim`` of the
    cost (a table's one-hot columns were 320 of 440 embedded inputs)."""
    X = np.asarray(X)
    low, high = X.min(axis=0), X.max(axis=0)
    return tuple(bool(v) for v in ~np.all((X == low) | (X == high), axis=0))


def _seed(rng):
    return int(rng.randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def _rollback(estimator, saved=None):
    """Put ``estimator`` back as it was when the body raises: its attributes (those of
    ``saved``, a copy of ``vars(estimator)`` taken earlier, when given), and its
    network's module weights, optimizer state and history, which a continued fit
    (warm start, ``partial_fit``) changes in place."""
    saved = dict(vars(estimator)) if saved is None else saved
    net = saved.get("net_")
    if net is not None:
        net_vars = dict(vars(net))
        module = getattr(net, "module_", None)
        weights = None if module is None else snapshot(module)
        optimizer = getattr(net, "optimizer_", None)
        optimizer_state = None if optimizer is None else copy.deepcopy(
            optimizer.state_dict())
        n_history = len(net.history) if hasattr(net, "history") else 0
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        if net is not None:
            vars(net).clear()
            vars(net).update(net_vars)
            if weights is not None:
                module.load_state_dict(weights)
            if optimizer_state is not None:
                optimizer.load_state_dict(optimizer_state)
            if hasattr(net, "history"):
                del net.history[n_history:]
        raise


@contextlib.contextmanager
def _tf32(enabled):
    """Let CUDA float32 matrix products use TensorFloat-32 inside the block."""
    if not enabled:
        yield
        return
    matmul = torch.backends.cuda.matmul
    # torch >= 2.9 names it fp32_precision; allow_tf32 is the older switch.
    name, value = (("fp32_precision", "tf32") if hasattr(matmul, "fp32_precision")
                   else ("allow_tf32", True))
    previous = getattr(matmul, name)
    setattr(matmul, name, value)
    try:
        yield
    finally:
        setattr(matmul, name, previous)


class FitMixin:
    """``fit`` / ``partial_fit`` of the sklopt MLPs as plan -> run -> publish."""

    def _fit(self, X, y, sample_weight=None, incremental=False, hook=None,
             classes=None):
        with _rollback(self):
            if incremental:
                self._start_partial_fit(y, classes)
            plan = self._plan(X, y, sample_weight, incremental, hook or FitHook())
            net, monitor = self._run(plan)
            self._publish(plan, net, monitor)
        return self

    def _served(self, X, y, sample_weight, validation_mask):
        """Take the result of this fit when it was trained ahead in a batch
        (:func:`~sklopt.neural_network._batched.serving`); whether it was."""
        from ._batched import served_fit

        fitted = served_fit(self, X, y, sample_weight, validation_mask)
        if fitted is None:
            return False
        params = self.get_params(deep=False)
        vars(self).update({k: v for k, v in vars(fitted).items() if k not in params})
        return True

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_hooked(self, X, y, hook, sample_weight=None):
        """Fit changed by ``hook`` (a :class:`FitHook`): the package-internal hook of
        :mod:`sklopt.distillation` and the TabularMLP estimators."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, hook=hook)

    # ------------------------------------------------------------------ plan
    def _start_partial_fit(self, y, classes):
        """Set up what a first ``partial_fit`` call needs (classifiers: the classes)."""

    def _check_calibration(self, early, incremental, hook):
        """Refuse a calibration the fit cannot do (classifiers override)."""

    def _plan(self, X, y, sample_weight, incremental, hook):
        hidden = self._hidden_layer_sizes()
        stochastic = not SOLVERS[self.solver].full_batch
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        early = bool(self.early_stopping and stochastic)
        self._check_calibration(early, incremental, hook)
        augmenters = self._augmenters()
        device = resolve_device(self.device)
        check_precision(self.precision, device)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, target, y_checked = self._validate_input(X, y, incremental, reset=first_pass)
        if sp.issparse(X):
            X = X.toarray()
        sample_weight = self._combined_sample_weight(sample_weight, X, y_checked,
                                                     incremental)
        n_outputs = self._n_outputs(target)
        out_activation = self._out_activation()
        if hook.extra_target is not None:
            target = self._with_extra_target(target, hook.extra_target)
        rng = check_random_state(self.random_state)
        embedded = None
        if first_pass and self.num_embedding is not None and not incremental:
            # (partial_fit's first batch may be a few rows: every column embedded)
            embedded = _embedded_columns(X)
        module_spec = self._module_spec(X.shape[1], n_outputs, embedded)

        if first_pass:
            attributes = {"n_outputs_": n_outputs, "n_layers_": len(hidden) + 2,
                          "out_activation_": out_activation,
                          "embedded_columns_": None if embedded is None
                          else np.array(embedded)}
            dtype = self._train_dtype(X.dtype, device)
            module = MLPModule(module_spec, dtype).reset_parameters(rng)
            state = initial_state(early)
        else:
            attributes = {}
            out_activation = self.out_activation_
            module = self._module_for(module_spec)
            dtype = self._train_dtype(X.dtype, device, module)
            state = self._train_state()
            if early and state.validation_scores is None:
                state.validation_scores, state.best_validation_score = [], -np.inf
                state.best_validation_value, state.best_loss = -np.inf, None
            elif not early and state.best_loss is None:
                # Continuing without early stopping a network that trained with it:
                # the training-loss rule starts afresh (sklearn raises a TypeError).
                state.best_loss = np.inf
        if not incremental:
            state.fresh = True  # sklearn starts a new optimizer on each fit
        net = getattr(self, "net_", None)
        fresh_optimizer = (first_pass or not incremental or net is None
                           or getattr(net, "optimizer_", None) is None)

        validation = None
        if early:
            if hook.validation is not None:
                X_val, y_val, extra_val, sw_val = hook.validation
                X_val, target_val, y_val = self._validate_input(
                    X_val, y_val, incremental=True, reset=False)
                if sp.issparse(X_val):
                    X_val = X_val.toarray()
                if extra_val is not None:
                    target_val = self._with_extra_target(target_val, extra_val)
            else:
                (X, X_val, target, target_val, y_checked, y_val, sample_weight,
                 sw_val) = self._early_stopping_split(X, target, y_checked,
                                                      sample_weight, n_outputs, rng)
            val_data = TensorData.from_numpy(X_val, target_val, sw_val, device, dtype)

            def score(raw, y_val=y_val, sw_val=sw_val):
                return self._score_outputs(raw, out_activation, y_val, sw_val)
            validation = (val_data, score)
        if first_pass:
            # Data-dependent embedding parameters (bin edges) from the training rows
            # only, never the held-out ones.
            module.fit_embedding(np.asarray(X, dtype=np.float64))
        n_train = X.shape[0]
        batch_size = self._resolve_batch_size(n_train) if stochastic else n_train
        if self.batch_norm and n_train < 2:
            raise ValueError("batch_norm=True needs at least 2 training samples.")

        generator = torch.Generator().manual_seed(_seed(rng))
        data = TensorData.from_numpy(X, target, sample_weight, device, dtype)
        spec = TrainSpec(
            module=module_spec, out_activation=out_activation, device=device,
            dtype=dtype, precision=self.precision, compile=compile_key(self.compile),
            solver=self.solver, hyper=tuple((k, getattr(self, k)) for k in HYPER),
            learning_rate=schedule_for(self.learning_rate, self.solver),
            penalty=self.penalty, alpha=float(self.alpha), l1_ratio=float(self.l1_ratio),
            batch_size=batch_size, shuffle=bool(self.shuffle),
            max_epochs=(1 if incremental else self.max_iter) if stochastic else 1,
            incremental=incremental, tol=float(self.tol),
            n_iter_no_change=self.n_iter_no_change, early_stopping=early,
            stop_on=hook.stop_on or self.early_stopping_on,
            verbose=int(self.verbose),
            augment=self._bind_augmenters(augmenters, data, n_outputs, generator),
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)))
        order = self._shuffling(spec, n_train, rng) if stochastic else None
        criterion = None if hook.loss is None else hook.loss(out_activation)
        return FitPlan(spec, module, state, fresh_optimizer, data, validation, order,
                       criterion, generator, attributes, first_pass)

    def _early_stopping_split(self, X, target, y, sample_weight, n_outputs, rng):
        """sklearn's held-out split: ``validation_fraction`` of the rows, drawn from
        the fit's ``rng``; stratified, as sklearn's, only for a classifier with one
        output column (binary): a multiclass or multi-label target is split without
        stratification."""
        stratify = self._stratify_on(target, n_outputs)
        parts = train_test_split(
            X, target, y, *([] if sample_weight is None else [sample_weight]),
            random_state=rng, test_size=self.validation_fraction, stratify=stratify)
        X, X_val, target, target_val, y, y_val = parts[:6]
        sample_weight, sw_val = (parts[6], parts[7]) if len(parts) > 6 else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        return X, X_val, target, target_val, y, y_val, sample_weight, sw_val

    def _stratify_on(self, target, n_outputs):
        """The stratification target of the early-stopping split, or None."""
        return None

    def _shuffling(self, spec, n_train, rng):
        """``order() -> permutation`` of the training rows for each epoch, or None."""
        if not spec.shuffle:
            return None
        device = spec.device
        if torch.device(device).type == "cuda":
            # On a GPU the permutation is drawn there (no host work per epoch), from a
            # generator seeded by random_state.
            cuda_gen = torch.Generator(device=device).manual_seed(_seed(rng))
            return lambda: torch.randperm(n_train, generator=cuda_gen, device=device)
        # sklearn's shuffling, from the same RandomState: on the CPU, the same batches
        # as sklearn's MLP for the same seed.
        idx = np.arange(n_train)

        def order():
            nonlocal idx
            perm = np.arange(n_train)
            rng.shuffle(perm)
            idx = idx[perm]
            return idx
        return order

    def _bind_augmenters(self, augmenters, data, n_outputs, generator):
        """Augmenters bound to the training tensors; class indices become one-hot soft
        labels when an augmenter mixes labels."""
        if any(a.mixes_labels for a in augmenters) and data.y.dtype == torch.int64:
            data.y = torch.nn.functional.one_hot(data.y, n_outputs).to(data.X.dtype)
        seeds = torch.randint(np.iinfo(np.int32).max, (len(augmenters),),
                              generator=generator).tolist()
        return tuple(a.bind(data.X, seed) for a, seed in zip(augmenters, seeds))

    def _with_extra_target(self, target, extra):
        """``extra`` columns followed by the encoded target (class indices as one
        float column; one-hot rows when an augmenter mixes labels)."""
        extra = np.asarray(extra, dtype=np.float64)
        if extra.ndim != 2 or extra.shape[0] != target.shape[0]:
            raise ValueError(f"The extra target columns have shape {extra.shape}; "
                             f"expected ({target.shape[0]}, k).")
        if target.dtype == np.int64:
            if any(a.mixes_labels for a in self._augmenters()):
                target = np.eye(self._n_outputs(target))[target]
            else:
                target = target[:, None]
        return np.hstack([extra, target.astype(np.float64)])

    def _module_for(self, spec):
        """The module to continue training: the current one (with any ``coefs_`` /
        ``intercepts_`` assigned by hand), or a new one around the same weights when
        the structure parameters (activation, dropout, batch norm) changed. Nothing is
        installed: the run step does that."""
        net = getattr(self, "net_", None)
        module = None if net is None else self._synced_module()
        if module is not None and module.spec == spec:
            return module
        if module is not None and not module.spec.same_shape(spec):
            raise ValueError(
                "warm_start and partial_fit continue the same network: its layer "
                "sizes, num_embedding and n_ensemble cannot change (fit a new model, "
                "warm_start=False, to change them).")
        if module is None:  # weights set by hand (coefs_ before a first partial_fit)
            old_units = tuple([self.coefs_[0].shape[0]]
                              + [c.shape[1] for c in self.coefs_])
            if old_units != spec.layer_units or spec.num_embedding is not None:
                raise ValueError(
                    f"The model has layer sizes {old_units}; the current parameters and "
                    f"data ask for {spec.layer_units}. warm_start and partial_fit "
                    "continue the same network: fit a new model (warm_start=False) to "
                    "change its shape.")
        dtype = (module.linears()[0].weight.dtype if module is not None
                 else torch.from_numpy(np.asarray(self.coefs_[0])).dtype)
        new = MLPModule(spec, dtype if dtype.is_floating_point else torch.float64)
        if module is not None:
            # Same shapes: the embedding and the ensemble adapters carry over too
            # (batch norm's statistics do not: the layers around them changed).
            old = {k: v for k, v in module.state_dict().items() if "layers" not in k}
            new.load_state_dict(old, strict=False)
            with torch.no_grad():
                for a, b in zip(new.linears(), module.linears()):
                    if hasattr(a, "r"):
                        a.r.copy_(b.r)
                        a.s.copy_(b.s)
        with torch.no_grad():
            for lin, coef, bias in zip(new.linears(), self.coefs_, self.intercepts_):
                lin.weight.copy_(torch.as_tensor(np.asarray(coef)).T)
                lin.bias.copy_(torch.as_tensor(np.asarray(bias)).reshape(-1))
        return new

    # ------------------------------------------------------------------ run
    def _prepare_net(self, plan):
        """The net that trains the plan's module, configured for it, and the
        stochastic solvers' monitor (None for L-BFGS); the batched trainer
        (``_batched.py``) prepares each member's net here too."""
        spec, module = plan.spec, plan.module
        net = getattr(self, "net_", None)
        if net is None or plan.first_pass:
            net = SkloptNet(module, device=spec.device)
        elif net.module_ is not module:
            net.set_module(module)
        callbacks = []
        if plan.validation is not None:
            callbacks.append(("validation", Validation(*plan.validation)))
        monitor = None
        if not SOLVERS[spec.solver].full_batch:
            monitor = ConvergenceMonitor(spec, plan.state, self._sklearn_callbacks(spec))
            callbacks.append(("monitor", monitor))
        net.configure(spec, plan.criterion, callbacks, plan.fresh_optimizer, plan.order)
        return net, monitor

    def _run(self, plan):
        """Train the plan's module; returns the net and the stochastic solvers'
        monitor (None for L-BFGS)."""
        spec = plan.spec
        net, monitor = self._prepare_net(plan)
        stochastic = monitor is not None
        kind = torch.device(spec.device).type
        threads = (cpu_threads_for(*spec.module.work(spec.batch_size)) if kind == "cpu"
                   else None)
        # Dropout draws from the fit's generator, on the CPU; on a GPU from torch's
        # CUDA generator (graph-safe), seeded from ours inside a fork that leaves the
        # caller's random state as it was.
        cuda = [torch.device(spec.device).index or 0] if kind == "cuda" else []
        net.module_.set_generator(plan.generator if kind == "cpu" else None)
        try:
            with torch_threads(threads), \
                    torch.random.fork_rng(devices=cuda, enabled=bool(cuda)), \
                    _tf32(PRECISIONS[spec.precision].tf32):
                if cuda:
                    torch.cuda.manual_seed(int(torch.randint(2**62, (1,),
                                                             generator=plan.generator)))
                start = None if stochastic else snapshot(net.module_)
                net.partial_fit(plan.data)
                if not stochastic:
                    net.history.record("lr", 1.0)
                    record_parameter_stats(net, start, net.epoch_loss_)
        finally:
            net.module_.set_generator(None)
        return net, monitor

    # ------------------------------------------------------------------ publish
    def _publish(self, plan, net, monitor):
        """Set the fitted attributes from the trained net, together."""
        spec, state = plan.spec, plan.state
        try:
            fitted = dict(plan.attributes)
            if monitor is not None:
                if monitor.interrupted_:
                    warnings.warn("Training interrupted by user; the model keeps the "
                                  "weights of the last completed epoch "
                                  f"({monitor.n_iter_}).")
                n_iter, losses = monitor.n_iter_, list(state.loss_curve)
                fitted.update(n_iter_=n_iter, loss_curve_=losses,
                              loss_=losses[-1] if losses else np.nan)
                if (not spec.incremental and monitor.stop_reason_ is None
                        and not monitor.interrupted_ and n_iter == self.max_iter):
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations "
                                  f"({self.max_iter}) reached and the optimization "
                                  "hasn't converged yet.", ConvergenceWarning)
            else:
                fitted.update(self._lbfgs_result(net, spec, state, len(plan.data)))
            fitted.update(
                t_=state.t, best_loss_=state.best_loss,
                validation_scores_=state.validation_scores,
                best_validation_score_=state.best_validation_score,
                _train_state_=state.as_dict(),
                _no_improvement_count=state.no_improvement_count,  # sklearn's name
                history_=_history_frame(net.history), net_=net)
            if not all(torch.isfinite(p).all() for p in net.module_.parameters()):
                raise ValueError(_NON_FINITE + self._non_finite_advice(plan.data))
            fitted.update(self._calibration(net, plan))
            vars(self).update(fitted)
            self._expose_weights()
        finally:
            net.release()

    def _calibration(self, net, plan):
        """Fitted attributes of a calibration of the trained ``net`` (classifiers:
        ``temperature_``)."""
        return {}

    def _non_finite_advice(self, data):
        """More of the non-finite-weights message, from what the data says."""
        return ""

    def _lbfgs_result(self, net, spec, state, n_rows):
        result = net.optimizer_.result_
        # sklearn's own check: a ConvergenceWarning when scipy stopped on max_iter or
        # max_fun.
        n_iter = _check_optimize_result("lbfgs", result, self.max_iter)
        state.t += n_rows * n_iter
        losses = torch.stack(net.closure_losses_).tolist() if net.closure_losses_ else []
        state.best_loss = min(losses, default=float(result.fun))
        state.loss_curve = losses
        if spec.verbose:
            print(f"L-BFGS: {n_iter} iterations, {result.nfev} loss evaluations, "
                  f"loss = {float(result.fun):.8f} ({result.message})")
        return {"n_iter_": n_iter, "loss_": float(result.fun), "loss_curve_": losses}

    def _sklearn_callbacks(self, spec):
        """Per-epoch hook calling the callbacks set by ``set_callbacks`` (or None)."""
        if not getattr(self, "_skl_callbacks", None):
            return None
        ctx = self._init_callback_context(max_subtasks=spec.max_epochs)
        ctx.call_on_fit_task_begin(estimator=self)

        def on_epoch(i, row):
            sub = ctx.subcontext(task_name="epoch")
            sub.call_on_fit_task_begin(estimator=self)
            metadata = {k: row[k] for k in ("train_loss", "valid_loss", "valid_score")
                        if k in row}
            return sub.call_on_fit_task_end(estimator=self, metadata=metadata)

        return on_epoch


def _history_frame(history):
    """skorch's per-epoch history as a DataFrame of :data:`HISTORY_COLUMNS`."""
    rows = [row for row in history if "train_loss" in row]  # not an interrupted epoch
    columns = [c for c in HISTORY_COLUMNS if any(c in row for row in rows)]
    frame = pd.DataFrame([[row.get(c, np.nan) for c in columns] for row in rows],
                         columns=columns)
    return frame.astype({c: float for c in columns if c != "epoch"})


# The columns of ``history_``, in order; validation columns only with early stopping.
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "lr",
                   "weight_norm", "grad_norm", "param_change")
