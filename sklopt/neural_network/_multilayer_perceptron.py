"""MLPClassifier and MLPRegressor: scikit-learn's MLPs, trained by PyTorch through skorch.

The sklearn-facing classes validate input, encode labels, cast dtypes and seed; the
skorch net (``_net.py``) trains; the torch module (``_module.py``) computes.
"""

import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..utils._device import cpu_threads_for, resolve_device, torch_threads
from ._callbacks import (
    ConvergenceMonitor,
    ProgressBar,
    Validation,
    record_parameter_stats,
    snapshot,
)
from ._module import MLPModule
from ._net import SampleLoss, SkloptNet, TensorData
from ._options import (
    ACTIVATIONS,
    FUSED_SOLVERS,
    INITIALIZERS,
    L2_AS_WEIGHT_DECAY,
    OUTPUT_ACTIVATIONS,
    PENALTIES,
    SCHEDULES,
    SOLVERS,
    STOCHASTIC_SOLVERS,
)

# The hyper-parameters the option tables read (see _options.py).
_OPTIMIZER_PARAMS = (
    "learning_rate_init", "momentum", "nesterovs_momentum", "beta_1", "beta_2",
    "epsilon", "max_iter", "max_fun", "tol", "power_t",
)


def _build_optimizer(solver, hyper, fused, module):
    """Optimizer over [weights group, other parameters group] of ``module``."""
    weights = module.weights()
    weight_ids = {id(w) for w in weights}
    others = [p for p in module.parameters() if id(p) not in weight_ids]
    groups = [{"params": weights, "weight_decay": 0.0}, {"params": others, "weight_decay": 0.0}]
    return SOLVERS[solver](groups, SimpleNamespace(**hyper), fused)


def _build_schedule(learning_rate, hyper, n_samples, optimizer):
    return SCHEDULES[learning_rate](optimizer, SimpleNamespace(**hyper), n_samples)


# The columns of ``history_``, in order; validation columns only with early stopping.
HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_score", "lr",
                   "weight_norm", "grad_norm", "param_change")


def _history_frame(history):
    """skorch's per-epoch history as a DataFrame of :data:`HISTORY_COLUMNS`."""
    rows = [row for row in history if "train_loss" in row]  # not an interrupted epoch
    columns = [c for c in HISTORY_COLUMNS if any(c in row for row in rows)]
    frame = pd.DataFrame([[row.get(c, np.nan) for c in columns] for row in rows],
                         columns=columns)
    return frame.astype({c: float for c in columns if c != "epoch"})


def _to_float32(X):
    """Dense C-contiguous float32 copy of validated ``X`` (sparse input is densified)."""
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=np.float32)


class BaseMLP(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "init": [StrOptions({"auto", *INITIALIZERS})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "penalty": [StrOptions(set(PENALTIES)), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "device": [str],
        "augment": [None, HasMethods(["bind"]), list],
    }

    @abstractmethod
    def __init__(self, hidden_layer_sizes, activation, *, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, loss, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, init, dropout, batch_norm, penalty, l1_ratio,
                 device, augment):
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

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _validate_input(self, X, y, incremental, reset):
        """Return ``X`` and the training target as numpy arrays."""

    @abstractmethod
    def _score_raw(self, raw, y, sample_weight):
        """Score of raw network outputs (a device tensor) against true ``y``."""

    # ------------------------------------------------------------------ fitting
    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        if any(
            not isinstance(s, Integral) or isinstance(s, bool) or s <= 0
            for s in sizes
        ):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
        return [int(s) for s in sizes]

    def _resolve_batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to "
                "be clipped"
            )
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
                    f"SwapNoise(0.1)) or a list of them; got {aug!r}."
                )
        return augmenters

    def _bind_augmenters(self, data):
        """Augmenters bound to the training tensors; class indices become one-hot soft
        labels when an augmenter mixes labels."""
        augmenters = self._augmenters()
        if any(a.mixes_labels for a in augmenters) and data.y.dtype == torch.int64:
            data.y = torch.nn.functional.one_hot(data.y, self.n_outputs_).float()
        seeds = torch.randint(np.iinfo(np.int32).max, (len(augmenters),),
                              generator=self._generator).tolist()
        return [a.bind(data.X, seed) for a, seed in zip(augmenters, seeds)]

    def _hyper(self):
        return {name: getattr(self, name) for name in _OPTIMIZER_PARAMS}

    def _train_tensors(self, X, target, sample_weight, device):
        Xt = torch.from_numpy(_to_float32(X)).to(device)
        yt = torch.from_numpy(target).to(device)
        wt = None
        if sample_weight is not None:
            wt = torch.from_numpy(np.asarray(sample_weight, dtype=np.float32)).to(device)
        return TensorData(Xt, yt, wt)

    def _fit(self, X, y, sample_weight=None, incremental=False, distill=None):
        """Train; ``distill=(soft_target, temperature, soft_weight)`` trains on the
        knowledge-distillation loss (see :mod:`sklopt.distillation`)."""
        hidden = self._hidden_layer_sizes()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "net_") or (not self.warm_start and not incremental)

        X, target, y_checked = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = self._combined_sample_weight(sample_weight, X, y_checked)
        n_outputs = self._n_outputs(target)
        if distill is not None:
            target = self._distill_target(target, n_outputs, distill[0])
        rng = check_random_state(self.random_state)
        stochastic = self.solver in STOCHASTIC_SOLVERS

        if first_pass:
            self.n_outputs_ = n_outputs
            self.n_layers_ = len(hidden) + 2
            self.out_activation_ = self._out_activation()
            self._layer_units = [X.shape[1], *hidden, n_outputs]
            device = resolve_device(self.device)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            self._generator = torch.Generator().manual_seed(seed)
        else:
            device = self.net_.device

        # Early stopping: hold out a split, as sklearn does (stratified for 1-output
        # classification).
        if self.early_stopping and stochastic:
            stratify = y_checked if self._stratify() else None
            parts = train_test_split(
                X, target, y_checked,
                *([] if sample_weight is None else [sample_weight]),
                random_state=rng, test_size=self.validation_fraction, stratify=stratify,
            )
            X, X_val, target, target_val, _, y_val = parts[:6]
            sample_weight, sw_val = (parts[6], parts[7]) if len(parts) > 6 else (None, None)
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or "
                    "the size of your dataset."
                )
        n_train = X.shape[0]
        batch_size = n_train if not stochastic else self._resolve_batch_size(n_train)
        if self.batch_norm and n_train < 2:
            raise ValueError("batch_norm=True needs at least 2 training samples.")

        hyper = self._hyper()
        if first_pass:
            self.net_ = self._build_net(device)
            self._monitor = None
        net = self.net_
        # Plain attribute updates: skorch's set_params would re-initialise the module.
        vars(net).update(
            optimizer=self._optimizer_factory(),
            schedule=(
                partial(_build_schedule, self.learning_rate, hyper, n_train)
                if stochastic and SCHEDULES[self.learning_rate] is not None else None
            ),
            **self._penalty_settings(),
            shuffle=self.shuffle, batch_size=batch_size, drop_single=self.batch_norm,
            max_epochs=self.max_iter if stochastic and not incremental else 1,
        )
        if first_pass:
            net.initialize()
        elif not incremental or not hasattr(net, "optimizer_"):
            # sklearn starts a fresh optimizer on each warm-started fit.
            net.initialize_optimizer()
        # The loss of this fit: plain, or knowledge distillation.
        net.criterion_.distill = None if distill is None else distill[1:]
        if self._monitor is None or not stochastic:
            self._monitor = ConvergenceMonitor(
                self.tol, self.n_iter_no_change, self.early_stopping and stochastic,
                adaptive=self.learning_rate == "adaptive", verbose=bool(self.verbose),
            )
        monitor = self._monitor
        callbacks = []
        if self.early_stopping and stochastic:
            val_data = self._train_tensors(X_val, target_val, sw_val, device)
            callbacks.append(("validation", Validation(
                val_data, partial(self._score_raw, y=y_val, sample_weight=sw_val))))
        if self.verbose and stochastic:
            callbacks.append(("progress", ProgressBar(desc=type(self).__name__)))
        if stochastic:
            callbacks.append(("monitor", monitor))
        net.callbacks_ = callbacks

        data = self._train_tensors(X, target, sample_weight, device)
        net.augment = self._bind_augmenters(data)
        torch_device = torch.device(device)
        cuda = [torch_device.index or 0] if torch_device.type == "cuda" else []
        threads = cpu_threads_for(self._layer_units, batch_size) if not cuda else None
        with torch_threads(threads), torch.random.fork_rng(devices=cuda):
            # Dropout draws from torch's global generator: seed it from ours, inside a
            # fork so that the caller's random state is left as it was.
            seed = int(torch.randint(2**62, (1,), generator=self._generator))
            torch.default_generator.manual_seed(seed)
            if cuda:
                torch.cuda.manual_seed(seed)
            net.closure_losses_ = []
            start = None if stochastic else snapshot(net.module_)
            net.partial_fit(data)
            if not stochastic:
                net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
                record_parameter_stats(net, start)
        net.callbacks_ = []
        net.augment = ()  # bound augmenters hold training statistics: not part of the model
        self._finish_fit(net, monitor, data, stochastic, incremental)
        return self

    def _build_net(self, device):
        """A new skorch net around a new module (initialised weights)."""
        module = MLPModule(self._layer_units, self.activation, self.init,
                           self.dropout, self.batch_norm, generator=self._generator)
        return SkloptNet(
            module,
            SampleLoss(self.out_activation_),
            optimizer=None,
            lr=self.learning_rate_init,
            device=device,
            generator=self._generator,
            closure_step=self.solver not in STOCHASTIC_SOLVERS,
            callbacks=[],
        )

    def _penalty_settings(self):
        return dict(penalty=self.penalty, alpha=self.alpha, l1_ratio=self.l1_ratio,
                    l2_in_optimizer=self.solver in L2_AS_WEIGHT_DECAY)

    def _optimizer_factory(self):
        fused = self.solver in STOCHASTIC_SOLVERS and self.solver in FUSED_SOLVERS
        return partial(_build_optimizer, self.solver, self._hyper(), fused)

    def _distill_target(self, target, n_outputs, soft):
        """Teacher's tempered probabilities followed by the true labels: a class-index
        column, or one-hot rows when an augmenter mixes labels (see DISTILL_LOSSES)."""
        soft = np.asarray(soft, dtype=np.float32)
        if soft.shape != (target.shape[0], n_outputs):
            raise ValueError(
                f"The soft targets have shape {soft.shape}; expected "
                f"{(target.shape[0], n_outputs)}."
            )
        if target.dtype == np.int64:
            if any(a.mixes_labels for a in self._augmenters()):
                target = np.eye(n_outputs, dtype=np.float32)[target]
            else:
                target = target[:, None].astype(np.float32)
        return np.hstack([soft, target])

    def _finish_fit(self, net, monitor, data, stochastic, incremental):
        """Copy the training record and weights into sklearn's fitted attributes."""
        if stochastic:
            if monitor.interrupted_:
                warnings.warn(
                    "Training interrupted by user; the model keeps the weights of the "
                    f"last completed epoch ({monitor.n_iter_})."
                )
            self.n_iter_ = monitor.n_iter_
            self.t_ = monitor.t_
            self.loss_curve_ = list(monitor.loss_curve_)
            self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
            self.best_loss_ = monitor.best_loss_
            self.validation_scores_ = (
                None if monitor.validation_scores_ is None else list(monitor.validation_scores_)
            )
            self.best_validation_score_ = monitor.best_validation_score_
            if (
                not incremental and monitor.stop_reason_ is None
                and not monitor.interrupted_ and self.n_iter_ == self.max_iter
            ):
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
        else:
            state = net.optimizer_.state[next(iter(net.module_.parameters()))]
            self.n_iter_ = int(state.get("n_iter", 0))
            self.t_ = getattr(self, "t_", 0) + len(data) * self.n_iter_
            with torch.no_grad():
                net.module_.eval()
                raw = net.module_(data.X)
                loss = net.criterion_(raw, data.y, data.sample_weight)
                if self.penalty is not None and self.alpha > 0:
                    denom = len(data) if data.sample_weight is None else float(
                        data.sample_weight.sum())
                    loss = loss + self.alpha / denom * net.penalty_value()
            self.loss_ = float(loss)
            self.loss_curve_ = list(net.closure_losses_)
            self.best_loss_ = min(self.loss_curve_, default=self.loss_)
            self.validation_scores_ = None
            self.best_validation_score_ = None
            if not np.isfinite(self.loss_):
                raise ValueError(
                    "Solver produced non-finite parameter weights. The input data may "
                    "contain large values and need to be preprocessed."
                )
            if self.n_iter_ >= self.max_iter:
                warnings.warn(
                    "lbfgs failed to converge after "
                    f"{self.n_iter_} iteration(s) (max_iter={self.max_iter}). Increase the "
                    "number of iterations to improve the convergence.",
                    ConvergenceWarning,
                )
        self.history_ = _history_frame(net.history)
        linears = net.module_.linears()
        self.coefs_ = [lin.weight.detach().cpu().numpy().T.copy() for lin in linears]
        self.intercepts_ = [lin.bias.detach().cpu().numpy().copy() for lin in linears]

    def _combined_sample_weight(self, sample_weight, X, y):
        class_weight = getattr(self, "class_weight", None)
        if sample_weight is None and class_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if class_weight is not None:
            if y.ndim > 1:
                raise ValueError("class_weight is not supported for multi-label targets.")
            sw = sw * compute_sample_weight(class_weight, y)
        if not sw.sum() > 0:
            raise ValueError("sample_weight must have a positive sum.")
        return sw

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data. Sparse input is densified on the training device.
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

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_distilled(self, X, y, soft_target, temperature, soft_weight,
                       sample_weight=None):
        """Fit on the knowledge-distillation loss; used by :mod:`sklopt.distillation`.

        ``soft_target`` (n_samples, n_outputs_) holds the teacher's probabilities at
        ``temperature``, laid out as this network's outputs.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         distill=(soft_target, float(temperature), float(soft_weight)))

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} "
                "is not stochastic."
            )
        return True

    # ------------------------------------------------------------------ predicting
    def _raw(self, X):
        """Raw network outputs (logits) of ``X`` as a float64 tensor on the device."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"],
                          dtype=(np.float64, np.float32), reset=False)
        net = self.net_
        Xt = torch.from_numpy(_to_float32(X)).to(net.device)
        threads = (
            cpu_threads_for(self._layer_units, min(X.shape[0], 65536))
            if torch.device(net.device).type == "cpu" else None
        )
        with torch_threads(threads):
            return net.forward_raw(Xt).double()

    def _forward(self, X):
        """Output-layer activations (probabilities or predictions) as float64 numpy."""
        raw = self._raw(X)  # checks that the model is fitted first
        return OUTPUT_ACTIVATIONS[self.out_activation_](raw).cpu().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_PARAMS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : str, default='relu'
        Activation function of the hidden layers: sklearn's ``'identity'``,
        ``'logistic'``, ``'tanh'``, ``'relu'``, plus ``'sigmoid'`` (alias of
        ``'logistic'``), ``'leaky_relu'``, ``'elu'``, ``'selu'``, ``'gelu'``, ``'silu'``.

    solver : {'adam', 'sgd', 'lbfgs', 'adamw', 'rmsprop', 'adagrad'}, default='adam'
        The torch optimizer. ``'sgd'`` honours ``momentum`` and ``nesterovs_momentum``;
        ``'adam'`` and ``'adamw'`` use ``beta_1``, ``beta_2``, ``epsilon``; ``'adamw'``
        adds torch's decoupled weight decay (0.01) on the weights; ``'lbfgs'`` is full
        batch L-BFGS with a strong-Wolfe line search (``max_iter`` iterations, at most
        ``max_fun`` loss evaluations, gradient tolerance ``tol``).

    alpha : float, default=0.0001
        Strength of the weight penalty (see ``penalty``).

    batch_size : int or 'auto', default='auto'
        Mini-batch size; ``'auto'`` is ``min(200, n_samples)``. Ignored by ``'lbfgs'``.

    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'onecycle'}, \
default='constant'
        Learning-rate schedule, applied to every stochastic solver and stepped once
        per epoch: sklearn's ``'invscaling'`` (``lr / (t + 1) ** power_t``, ``t``
        samples seen) and ``'adaptive'`` (divide by 5 each time ``n_iter_no_change``
        epochs pass without improvement; stop below 1e-6), cosine annealing to zero
        over ``max_iter`` epochs, or a one-cycle schedule peaking at
        ``learning_rate_init``.

    learning_rate_init : float, default=0.001
        Initial learning rate.

    power_t : float, default=0.5
        Exponent of ``'invscaling'``.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (``'lbfgs'``).

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling, dropout and the early-stopping
        split. With an int, fits on the CPU are bit-for-bit repeatable.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.

    verbose : bool, default=False
        Show a tqdm progress bar over epochs with the loss and validation score.

    warm_start : bool, default=False
        Reuse the weights of the previous fit (with a fresh optimizer, as sklearn).

    momentum : float, default=0.9
        Momentum of ``'sgd'``.

    nesterovs_momentum : bool, default=True
        Whether ``'sgd'`` uses Nesterov's momentum.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when its score
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; the weights of the
        best epoch are restored.

    validation_fraction : float, default=0.1
        Size of the early-stopping split.

    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.

    epsilon : float, default=1e-8
        Numerical stability term of Adam, AdamW, RMSprop and Adagrad.

    n_iter_no_change : int, default=10
        Epochs without improvement before stopping (or the adaptive LR step).

    max_fun : int, default=15000
        Maximum number of loss evaluations of ``'lbfgs'``.

    init : str, default='auto'
        Weight initialisation: ``'auto'`` (He uniform for the ReLU family, LeCun
        normal for SELU, Xavier/Glorot uniform for tanh, sigmoid and identity),
        ``'xavier_uniform'``, ``'xavier_normal'``, ``'he_uniform'``, ``'he_normal'``,
        ``'lecun_normal'``, ``'orthogonal'``. Biases start at zero.

    dropout : float, default=0.0
        Dropout probability after each hidden activation (training only).

    batch_norm : bool, default=False
        Add a BatchNorm1d layer before each hidden activation.

    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        Weight penalty added to the mini-batch loss (weights only, not biases),
        scaled as in scikit-learn: ``alpha / n_b * P(W)`` with ``n_b`` the batch size
        (or its sum of sample weights) and
        ``P = 0.5 * sum ||W||^2`` for ``'l2'``, ``sum |W|`` for ``'l1'``,
        ``l1_ratio * sum |W| + (1 - l1_ratio) * 0.5 * sum ||W||^2`` for
        ``'elasticnet'``. For sgd, adam, rmsprop and adagrad the L2 gradient is applied
        through the optimizer's ``weight_decay`` (the same update, computed in the
        optimizer kernel); its contribution to ``loss_curve_`` is then evaluated with
        the weights at the end of each epoch.

    l1_ratio : float, default=0.5
        Elastic-net mixing, used with ``penalty='elasticnet'``.

    device : {'auto', 'cpu', 'cuda', 'cuda:N'}, default='auto'
        Where to train: ``'auto'`` is CUDA when available, else the CPU. A model
        trained on a GPU pickles and loads on a CPU-only machine.

    augment : augmenter, list of augmenters or None, default=None
        Data augmentation from :mod:`sklopt.preprocessing` (``GaussianNoise``,
        ``SwapNoise``, ``FeatureMask``, ``Mixup``, ``CutMix``), applied to every
        training mini-batch on the training device, fresh each epoch; never to
        validation data nor at predict time. Mixup and CutMix train on soft labels
        (mixed targets for the regressor). Its parameters tune like any nested
        estimator's: ``{"mlp__augment__p": [0.05, 0.15]}``.
"""

_COMMON_ATTRS_DOC = """
    loss_ : float
        The loss at the end of training (data loss plus penalty).

    best_loss_ : float or None
        The minimum of ``loss_curve_``; None with ``early_stopping=True``.

    loss_curve_ : list of float
        The loss after each epoch (``'lbfgs'``: after each loss evaluation).

    validation_scores_ : list of float or None
        The validation score after each epoch, with ``early_stopping=True``.

    best_validation_score_ : float or None
        The best validation score, with ``early_stopping=True``.

    t_ : int
        Number of training samples seen by the solver.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrices (copies of the torch module's, transposed as in sklearn).

    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vectors.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    n_iter_ : int
        Number of epochs (``'lbfgs'``: iterations) run by the last fit.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation.

    history_ : pandas.DataFrame
        One row per epoch (``'lbfgs'``: per fit) since the model was created; warm
        starts and ``partial_fit`` append. Columns: ``epoch``, ``train_loss`` (as in
        ``loss_curve_``), ``valid_loss`` and ``valid_score`` (with
        ``early_stopping=True``), ``lr`` (the learning rate used in the epoch),
        ``weight_norm`` (L2 norm of all weights and biases at the end of the epoch),
        ``grad_norm`` (L2 norm of the gradient of the epoch's last mini-batch) and
        ``param_change`` (relative change of the parameters over the epoch,
        ``||theta_end - theta_start|| / ||theta_start||``). Read convergence from the
        losses and parameter stability from the last two.

    net_ : skorch.NeuralNet
        The skorch net that trained the torch module (``net_.module_``) and holds the
        per-epoch ``history``.
"""


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained by PyTorch through skorch.

    A drop-in replacement of :class:`sklearn.neural_network.MLPClassifier` (same
    keyword arguments, defaults and fitted attributes) whose levers -- activation,
    weight init, optimizer, learning-rate schedule, penalty, dropout, batch norm,
    device -- are ordinary parameters. It minimises the log-loss: softmax
    cross-entropy for multiclass targets, logistic for binary and multi-label targets.

    Parameters
    ----------
    {_COMMON_PARAMS_DOC.strip()}

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` as in
        :func:`sklearn.utils.class_weight.compute_sample_weight`.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels.

    {_COMMON_ATTRS_DOC.strip()}

    See Also
    --------
    MLPRegressor : The regressor twin.
    sklearn.neural_network.MLPClassifier : The numpy implementation it replaces.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), max_iter=20, random_state=0, device="cpu")
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, init="auto", dropout=0.0,
                 batch_norm=False, penalty="l2", l1_ratio=0.5, device="auto",
                 augment=None, class_weight=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            init=init, dropout=dropout, batch_norm=batch_norm, penalty=penalty,
            l1_ratio=l1_ratio, device=device, augment=augment,
        )
        self.class_weight = class_weight

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _n_outputs(self, target):
        if self._label_binarizer.y_type_ == "multiclass":
            return len(self.classes_)
        return target.shape[1]

    def _stratify(self):
        return self._label_binarizer.y_type_ != "multilabel-indicator"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: {self.classes_[0]!r}."
                )
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            target = Y.argmax(axis=1).astype(np.int64)
        else:
            target = Y.astype(np.float32)
        return X, target, y

    def _score_raw(self, raw, y, sample_weight):
        proba = OUTPUT_ACTIVATIONS[self.out_activation_](raw.double()).cpu().numpy()
        return accuracy_score(y, self._decode(proba), sample_weight=sample_weight)

    def _decode(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._decode(self._forward(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``.
        """
        proba = self._forward(X)
        if self.n_outputs_ == 1:
            p = proba.ravel()
            return np.vstack([1 - p, p]).T
        return proba

    def predict_log_proba(self, X):
        """Log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        # From the logits (log-softmax, log-sigmoid) rather than log(predict_proba), so
        # that confident predictions keep finite, exact log-probabilities (distillation
        # tempers them).
        raw = self._raw(X)
        if self.out_activation_ == "softmax":
            log_prob = torch.log_softmax(raw, dim=1)
        elif self.n_outputs_ == 1:
            log_prob = torch.cat([F.logsigmoid(-raw), F.logsigmoid(raw)], dim=1)
        else:
            log_prob = F.logsigmoid(raw)
        return log_prob.cpu().numpy()

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            All the classes across calls; required on the first call, ignored later.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            if hasattr(self, "net_"):
                del self.net_
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained by PyTorch through skorch.

    A drop-in replacement of :class:`sklearn.neural_network.MLPRegressor` with the
    levers of :class:`MLPClassifier`. It minimises half the squared error (or half
    the Poisson deviance, with an exponential output, for ``loss='poisson'``).

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        The loss: half squared error averaged over outputs, or half Poisson deviance.

    {_COMMON_PARAMS_DOC.strip()}

    Attributes
    ----------
    {_COMMON_ATTRS_DOC.strip()}

    See Also
    --------
    MLPClassifier : The classifier twin.
    sklearn.neural_network.MLPRegressor : The numpy implementation it replaces.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklopt.neural_network import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
    ...                    random_state=0)
    >>> reg.fit(X, y / 100).score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu",
                 *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="auto",
                 dropout=0.0, batch_norm=False, penalty="l2", l1_ratio=0.5,
                 device="auto", augment=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            init=init, dropout=dropout, batch_norm=batch_norm, penalty=penalty,
            l1_ratio=l1_ratio, device=device, augment=augment,
        )

    def _out_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _n_outputs(self, target):
        return target.shape[1]

    def _stratify(self):
        return False

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson "
                "regression (loss='poisson')."
            )
        target = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if not reset and hasattr(self, "n_outputs_") and target.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {target.shape[1]} output(s), but the model was fitted with "
                f"{self.n_outputs_}."
            )
        return X, target, y

    def _score_raw(self, raw, y, sample_weight):
        pred = OUTPUT_ACTIVATIONS[self.out_activation_](raw.double()).cpu().numpy()
        if pred.shape[1] == 1:
            pred = pred.ravel()
        return r2_score(y, pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        pred = self._forward(X)
        return pred.ravel() if pred.shape[1] == 1 else pred

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)
