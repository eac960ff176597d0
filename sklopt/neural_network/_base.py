"""BaseMLP: validate -> spec -> train -> fitted attributes.

The sklearn-facing classes (``_classes.py``) validate input and encode labels; this
base turns the estimator's current parameters into a
:class:`~sklopt.neural_network._spec.TrainSpec` on every call, hands it to the skorch
net (``_net.py``), and turns the outcome into sklearn's fitted attributes.
"""

import contextlib
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network._base import ACTIVATIONS as NP_ACTIVATIONS
from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._device import cpu_threads_for, resolve_device, torch_threads
from ..utils._doc_link import DocLinkMixin
from ._callbacks import ConvergenceMonitor, Validation, initial_state, record_parameter_stats
from ._callbacks import snapshot
from ._levers import (
    ACTIVATIONS,
    COMPILE_MODES,
    INITIALIZERS,
    PENALTIES,
    PRECISIONS,
    SCHEDULES,
    SOLVERS,
)
from ._levers.embeddings import EMBEDDINGS
from ._levers.hardware import check_precision, compile_key
from ._levers.losses import predict_outputs
from ._levers.schedules import schedule_for
from ._module import MLPModule
from ._net import SkloptNet, TensorData
from ._spec import ModuleSpec, TrainSpec, TrainState
from ._state import HYPER, WeightsMixin

try:  # sklearn >= 1.9: the callback API (set_callbacks(ProgressBar()), ...)
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - older sklearn: no callbacks
    class CallbackSupportMixin:
        pass

    def with_callbacks(method):
        return method


# The columns of ``history_``, in order; validation columns only with early stopping.
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "lr",
                   "weight_norm", "grad_norm", "param_change")

# Largest predict batch of a GPU model that runs on a CPU copy of its network.
SMALL_PREDICT = 256
# Largest predict batch of a plain CPU network that runs through numpy (_numpy_forward).
NUMPY_PREDICT = 256
_NP_NAME = {"sigmoid": "logistic"}

_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may "
               "contain large values and need to be preprocessed.")


def _history_frame(history):
    """skorch's per-epoch history as a DataFrame of :data:`HISTORY_COLUMNS`."""
    rows = [row for row in history if "train_loss" in row]  # not an interrupted epoch
    columns = [c for c in HISTORY_COLUMNS if any(c in row for row in rows)]
    frame = pd.DataFrame([[row.get(c, np.nan) for c in columns] for row in rows],
                         columns=columns)
    return frame.astype({c: float for c in columns if c != "epoch"})


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


class BaseMLP(DocLinkMixin, WeightsMixin, CallbackSupportMixin, BaseEstimator,
              metaclass=ABCMeta):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "activation": [ACTIVATIONS.constraint()],
        "solver": [SOLVERS.constraint()],
        "learning_rate": [SCHEDULES.constraint()],
        "init": [INITIALIZERS.constraint("auto")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "penalty": [PENALTIES.constraint(), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "device": [str],
        "augment": [None, HasMethods(["bind"]), list],
        "precision": [PRECISIONS.constraint()],
        "compile": ["boolean", COMPILE_MODES.constraint()],
        "early_stopping_on": [StrOptions({"score", "loss"})],
        "num_embedding": [EMBEDDINGS.constraint(), None],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "n_frequencies": [Interval(Integral, 1, None, closed="left")],
        "frequency_scale": [Interval(Real, 0, None, closed="neither")],
        "n_ensemble": [Interval(Integral, 1, None, closed="left")],
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes, activation, *, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, loss, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, init, dropout, batch_norm, penalty, l1_ratio,
                 device, augment, precision, compile, early_stopping_on, num_embedding,
                 embedding_dim, n_bins, n_frequencies, frequency_scale, n_ensemble):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.device = device
        self.augment = augment
        self.precision = precision
        self.compile = compile
        self.early_stopping_on = early_stopping_on
        self.num_embedding = num_embedding
        self.embedding_dim = embedding_dim
        self.n_bins = n_bins
        self.n_frequencies = n_frequencies
        self.frequency_scale = frequency_scale
        self.n_ensemble = n_ensemble

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """Return ``X``, the encoded training target and the checked ``y``."""

    @abstractmethod
    def _score_raw(self, raw, y, sample_weight):
        """Score of raw network outputs (a tensor) against true ``y``."""

    # ------------------------------------------------------------------ spec
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(not isinstance(s, Integral) or isinstance(s, bool) or s <= 0
               for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _resolve_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It "
                          "is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _augmenters(self):
        """The ``augment`` parameter as a validated list of augmenters."""
        if self.augment is None:
            return []
        augmenters = self.augment if isinstance(self.augment, list) else [self.augment]
        for aug in augmenters:
            if not hasattr(aug, "bind"):
                raise TypeError(
                    "augment must be None, an augmenter of sklopt.preprocessing (e.g. "
                    f"SwapNoise(0.1)) or a list of them; got {aug!r}.")
        return augmenters

    def _module_spec(self, n_features, n_outputs):
        if self.batch_norm and self.n_ensemble > 1:
            raise ValueError("batch_norm=True does not combine with n_ensemble > 1 (the "
                             "members would share batch statistics); use dropout.")
        return ModuleSpec((n_features, *self._hidden_layer_sizes(), n_outputs),
                          self.activation, self.init, float(self.dropout),
                          bool(self.batch_norm), self.num_embedding,
                          int(self.embedding_dim), int(self.n_bins),
                          int(self.n_frequencies), float(self.frequency_scale),
                          int(self.n_ensemble))

    def _train_dtype(self, X_dtype, device, module=None):
        dtype = PRECISIONS[self.precision].dtype
        if dtype is not None:
            return dtype
        if module is not None:  # a warm start keeps the weights' dtype
            return module.linears()[0].weight.dtype
        if torch.device(device).type == "cuda" or X_dtype == np.float32:
            return torch.float32
        return torch.float64

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight=None, incremental=False, criterion=None,
             extra_target=None, validation=None, stop_on=None):
        """Train on ``(X, y)``.

        ``criterion(raw, target, sample_weight)`` replaces the output layer's loss and
        ``extra_target`` (n_samples, k) is put before the encoded target's columns for
        it; ``validation=(X, y, extra_target, sample_weight)`` replaces the random
        early-stopping split and ``stop_on`` the ``early_stopping_on`` parameter: the
        hooks :mod:`sklopt.distillation` trains students through.
        """
        hidden = self._hidden_layer_sizes()
        solver = SOLVERS[self.solver]
        stochastic = not solver.full_batch
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, target, y_checked = self._validate_input(X, y, incremental, reset=first_pass)
        if sp.issparse(X):
            X = X.toarray()
        sample_weight = self._combined_sample_weight(sample_weight, X, y_checked,
                                                     incremental)
        n_outputs = self._n_outputs(target)
        if extra_target is not None:
            target = self._with_extra_target(target, extra_target)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        check_precision(self.precision, device)
        module_spec = self._module_spec(X.shape[1], n_outputs)

        if first_pass:
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(hidden) + 2
            self.out_activation_ = self._out_activation()
            dtype = self._train_dtype(X.dtype, device)
            module = MLPModule(module_spec, dtype).reset_parameters(rng)
            self.net_ = SkloptNet(module, device=device)
            state = initial_state(self.early_stopping and stochastic)
        else:
            module = self._module_for(module_spec, device)
            dtype = self._train_dtype(X.dtype, device, module)
            state = self._train_state()
            if stochastic and self.early_stopping and state.validation_scores is None:
                state.validation_scores, state.best_validation_score = [], -np.inf
                state.best_validation_value, state.best_loss = -np.inf, None
        net = self.net_
        if not incremental:
            state.fresh = True  # sklearn starts a new optimizer on each fit
        fresh_optimizer = not incremental or getattr(net, "optimizer_", None) is None

        early = self.early_stopping and stochastic
        if early and validation is not None:
            X_val, target_val, y_val = self._validate_input(validation[0], validation[1],
                                                            incremental=True, reset=False)
            if sp.issparse(X_val):
                X_val = X_val.toarray()
            if validation[2] is not None:
                target_val = self._with_extra_target(target_val, validation[2])
            sw_val = validation[3]
        elif early:
            # Hold out a split as sklearn does (stratified for 1-output classification).
            stratify = y_checked if self._stratify() else None
            parts = train_test_split(
                X, target, y_checked, *([] if sample_weight is None else [sample_weight]),
                random_state=rng, test_size=self.validation_fraction, stratify=stratify)
            X, X_val, target, target_val, _, y_val = parts[:6]
            sample_weight, sw_val = (parts[6], parts[7]) if len(parts) > 6 else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
        if first_pass:
            # Data-dependent embedding parameters (bin edges) from the training rows
            # only, never the held-out ones.
            module.fit_embedding(np.asarray(X, dtype=np.float64))
        n_train = X.shape[0]
        batch_size = self._resolve_batch_size(n_train) if stochastic else n_train
        if self.batch_norm and n_train < 2:
            raise ValueError("batch_norm=True needs at least 2 training samples.")

        generator = torch.Generator().manual_seed(int(rng.randint(np.iinfo(np.int32).max)))
        data = TensorData.from_numpy(X, target, sample_weight, device, dtype)
        spec = TrainSpec(
            module=module_spec, out_activation=self.out_activation_, device=device,
            dtype=dtype, precision=self.precision, compile=compile_key(self.compile),
            solver=self.solver, hyper=tuple((k, getattr(self, k)) for k in HYPER),
            learning_rate=schedule_for(self.learning_rate, self.solver),
            penalty=self.penalty, alpha=float(self.alpha), l1_ratio=float(self.l1_ratio),
            batch_size=batch_size, shuffle=bool(self.shuffle),
            max_epochs=(1 if incremental else self.max_iter) if stochastic else 1,
            incremental=incremental, tol=float(self.tol),
            n_iter_no_change=self.n_iter_no_change, early_stopping=early,
            stop_on=stop_on or self.early_stopping_on,
            verbose=int(self.verbose), augment=self._bind_augmenters(data, generator),
            label_smoothing=float(getattr(self, "label_smoothing", 0.0)))

        callbacks = []
        if early:
            val = TensorData.from_numpy(X_val, target_val, sw_val, device, dtype)
            callbacks.append(("validation", Validation(
                val, lambda raw: self._score_raw(raw, y_val, sw_val))))
        monitor = None
        if stochastic:
            monitor = ConvergenceMonitor(spec, state, self._sklearn_callbacks(spec))
            callbacks.append(("monitor", monitor))
        order = None
        if spec.shuffle and stochastic and torch.device(device).type == "cuda":
            # On a GPU the permutation is drawn there (no host work per epoch), from a
            # generator seeded by random_state.
            cuda_gen = torch.Generator(device=device).manual_seed(
                int(rng.randint(np.iinfo(np.int32).max)))

            def order():
                return torch.randperm(n_train, generator=cuda_gen, device=device)
        elif spec.shuffle and stochastic:
            # sklearn's shuffling, from the same RandomState: on the CPU, the same
            # batches as sklearn's MLP for the same seed.
            idx = np.arange(n_train)

            def order():
                nonlocal idx
                perm = np.arange(n_train)
                rng.shuffle(perm)
                idx = idx[perm]
                return idx

        criterion = None if criterion is None else criterion(self.out_activation_)
        net.configure(spec, criterion, callbacks, fresh_optimizer, order)
        kind = torch.device(device).type
        threads = (cpu_threads_for(*module_spec.work(batch_size)) if kind == "cpu"
                   else None)
        cuda = [torch.device(device).index or 0] if kind == "cuda" else []
        with torch_threads(threads), torch.random.fork_rng(devices=cuda), \
                _tf32(PRECISIONS[self.precision].tf32):
            # Dropout draws from torch's global generator: seed it from ours, inside a
            # fork so that the caller's random state is left as it was.
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
            start = None if stochastic else snapshot(net.module_)
            net.partial_fit(data)
            if not stochastic:
                net.history.record("lr", 1.0)
                record_parameter_stats(net, start, net.epoch_loss_)
        try:
            self._finish_fit(net, spec, state, monitor, data)
            self._calibrate(val if early else None, criterion)
        finally:
            net.release()
        return self

    def _calibrate(self, val, criterion):
        """Temperature scaling (classifiers with ``calibrate=True``; a no-op here)."""

    def _bind_augmenters(self, data, generator):
        """Augmenters bound to the training tensors; class indices become one-hot soft
        labels when an augmenter mixes labels."""
        augmenters = self._augmenters()
        if any(a.mixes_labels for a in augmenters) and data.y.dtype == torch.int64:
            data.y = torch.nn.functional.one_hot(data.y, self.n_outputs_).to(data.X.dtype)
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

    def _sklearn_callbacks(self, spec):
        """Per-epoch hook calling the callbacks set by ``set_callbacks`` (or None)."""
        if not getattr(self, "_skl_callbacks", None):
            return None
        ctx = self._init_callback_context(max_subtasks=spec.max_epochs)
        ctx.call_on_fit_task_begin(estimator=self)

        def on_epoch(i):
            sub = ctx.subcontext(task_name="epoch")
            sub.call_on_fit_task_begin(estimator=self)
            return sub.call_on_fit_task_end(estimator=self)

        return on_epoch

    def _train_state(self):
        """The warm-start state (sklearn's counters) of the current model."""
        saved = getattr(self, "_train_state_", None)
        if saved is not None:
            state = TrainState(**{**saved, "loss_curve": list(saved["loss_curve"]),
                                  "validation_scores": None if saved["validation_scores"]
                                  is None else list(saved["validation_scores"])})
            if state.best_validation_value is None and state.validation_scores is not None:
                state.best_validation_value = state.best_validation_score
            return state
        # Weights set by hand (coefs_ assigned before the first partial_fit).
        state = initial_state(self.early_stopping)
        state.t = getattr(self, "t_", 0)
        state.loss_curve = list(getattr(self, "loss_curve_", []))
        return state

    def _module_for(self, spec, device):
        """The module to continue training: the current one (with any ``coefs_`` /
        ``intercepts_`` assigned by hand), rebuilt around the same weights when the
        structure parameters (activation, dropout, batch norm) changed."""
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
        if net is None:
            self.net_ = SkloptNet(new, device=device)
        else:
            net.set_module(new)
        return new

    def _finish_fit(self, net, spec, state, monitor, data):
        """Copy the training record and weights into sklearn's fitted attributes."""
        if monitor is not None:
            if monitor.interrupted_:
                warnings.warn("Training interrupted by user; the model keeps the "
                              f"weights of the last completed epoch ({monitor.n_iter_}).")
            self.n_iter_ = monitor.n_iter_
            self.loss_curve_ = list(state.loss_curve)
            self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
            if (not spec.incremental and monitor.stop_reason_ is None
                    and not monitor.interrupted_ and self.n_iter_ == self.max_iter):
                warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter})"
                              " reached and the optimization hasn't converged yet.",
                              ConvergenceWarning)
        else:
            self._finish_lbfgs(net, spec, state, data)
        self.t_ = state.t
        self.best_loss_ = state.best_loss
        self.validation_scores_ = state.validation_scores
        self.best_validation_score_ = state.best_validation_score
        self._train_state_ = state.as_dict()
        self._no_improvement_count = state.no_improvement_count  # sklearn's name
        self.history_ = _history_frame(net.history)
        self._expose_weights()
        self._numpy_predict = self._plain_cpu_network()
        if not all(np.isfinite(np.asarray(w)).all()
                   for w in (*self.coefs_, *self.intercepts_)):
            raise ValueError(_NON_FINITE + self._non_finite_advice(data))

    def _non_finite_advice(self, data):
        """More of the non-finite-weights message, from what the data says."""
        return ""

    def _finish_lbfgs(self, net, spec, state, data):
        result = net.optimizer_.result_
        # sklearn's own check: a ConvergenceWarning when scipy stopped on max_iter or
        # max_fun.
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        state.t += len(data) * self.n_iter_
        losses = torch.stack(net.closure_losses_).tolist() if net.closure_losses_ else []
        self.loss_ = float(result.fun)
        self.loss_curve_ = losses
        state.best_loss = min(losses, default=self.loss_)
        state.loss_curve = losses
        if spec.verbose:
            print(f"L-BFGS: {self.n_iter_} iterations, {result.nfev} loss evaluations, "
                  f"loss = {self.loss_:.8f} ({result.message})")

    # ------------------------------------------------------------------ API
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. Sparse input is densified.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_with_loss(self, X, y, loss, extra_target, sample_weight=None,
                       validation=None, stop_on=None):
        """Fit on a custom loss: the package hook :mod:`sklopt.distillation` uses.

        ``loss(out_activation) -> criterion(raw, target, sample_weight)``;
        ``extra_target`` (n_samples, k) columns come before the encoded target's in
        the ``target`` the criterion receives. With ``early_stopping=True``,
        ``validation=(X_val, y_val, extra_target_val, sample_weight_val)`` are the
        held-out rows (instead of a random split of ``X``) and ``stop_on``
        (``"score"`` or ``"loss"``, the criterion on them) overrides
        ``early_stopping_on``.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         criterion=loss, extra_target=extra_target,
                         validation=validation, stop_on=stop_on)

    def _check_solver(self):
        if SOLVERS[self.solver].full_batch:
            raise AttributeError(f"partial_fit is only available for stochastic "
                                 f"optimizers. {self.solver} is not stochastic.")
        return True

    # ------------------------------------------------------------------ predicting
    def _validated(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse=["csr", "csc"],
                             dtype=(np.float64, np.float32), reset=False)

    def _raw(self, X, link=False, validated=False):
        """Network outputs of ``X`` (logits, or output activations with ``link``) as a
        tensor, and the validated ``X``'s dtype."""
        if not validated:
            X = self._validated(X)
        if sp.issparse(X):
            X = X.toarray()
        module = self._synced_module()
        net = self.net_
        dtype = module.linears()[0].weight.dtype
        Xt = torch.from_numpy(np.ascontiguousarray(X)).to(dtype)
        temperature = getattr(self, "temperature_", 1.0)
        fn = (lambda raw: predict_outputs(raw, self.out_activation_, temperature)
              ) if link else None
        kind = torch.device(net.device).type
        if kind == "cuda" and X.shape[0] <= SMALL_PREDICT:
            # A few rows predict faster on a CPU copy than through the GPU's launch
            # and transfer latency (measured: 1 row 0.14 ms against 0.28 ms on an H200).
            module, kind = self._cpu_module(), "cpu-copy"
        # On the CPU, the thread count of the work's size, for the link too: two
        # threads on a busy 2-core machine made a 100-row softmax take 12 ms.
        threads = (cpu_threads_for(*module.spec.work(min(X.shape[0], 65536)))
                   if kind != "cuda" else None)
        with torch_threads(threads), torch.inference_mode():
            if kind == "cpu-copy":
                raw = module(Xt)
            else:
                raw = net.forward_raw(Xt)
            return (raw if fn is None else fn(raw)), X.dtype

    def _plain_cpu_network(self):
        """Whether predictions of a few rows can run through numpy (_numpy_forward)."""
        spec = self.net_.module_.spec
        return (torch.device(self.net_.device).type == "cpu" and not spec.batch_norm
                and spec.num_embedding is None and spec.n_ensemble == 1
                and _NP_NAME.get(spec.activation, spec.activation) in NP_ACTIVATIONS
                and self.out_activation_ in NP_ACTIVATIONS)

    def _output_function(self):
        """``(forward, device, dtype)``: the trained network as a differentiable torch
        function from input rows (a ``dtype`` tensor on ``device``) to its output
        activations (probabilities, or predictions), in eval mode. Rows do not affect
        each other. The package hook of :mod:`sklopt.inspection`."""
        check_is_fitted(self)
        module = self._synced_module().eval()
        out, temperature = self.out_activation_, getattr(self, "temperature_", 1.0)
        return (lambda x: predict_outputs(module(x), out, temperature)), \
            torch.device(self.net_.device), module.linears()[0].weight.dtype

    def _forward(self, X):
        """Output-layer activations (probabilities or predictions) as numpy, in the
        dtype of ``X`` and the weights (numpy's promotion rule, as sklearn)."""
        X = self._validated(X)
        if (getattr(self, "_numpy_predict", False) and not sp.issparse(X)
                and X.shape[0] <= NUMPY_PREDICT):
            return self._numpy_forward(X)
        out, x_dtype = self._raw(X, link=True, validated=True)
        out = out.cpu().numpy()
        return out.astype(np.result_type(x_dtype, out.dtype), copy=False)

    def _numpy_forward(self, X):
        """A few validated rows through ``coefs_`` / ``intercepts_`` with numpy and sklearn's own
        activation functions: for a plain CPU network the same arithmetic as the torch
        module (the arrays are its parameters), without torch's per-call overhead
        (measured: 1 row 0.18 ms through torch against sklearn's 0.12 ms)."""
        self._synced_module()
        a = X.astype(self.coefs_[0].dtype, copy=False)
        last = len(self.coefs_) - 1
        activation = self.net_.module_.spec.activation  # the trained one
        for i, (coef, intercept) in enumerate(zip(self.coefs_, self.intercepts_)):
            a = a @ coef + intercept
            if i < last:
                NP_ACTIVATIONS[_NP_NAME.get(activation, activation)](a)
        temperature = getattr(self, "temperature_", 1.0)
        if temperature != 1.0:
            a /= temperature
        NP_ACTIVATIONS[self.out_activation_](a)
        return a.astype(np.result_type(X.dtype, a.dtype), copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
