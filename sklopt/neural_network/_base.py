"""BaseMLP: the sklopt MLPs' parameters, fit entry points and predictions.

The sklearn-facing classes (``_classes.py``) validate input and encode labels; this
base holds the parameters and their constraints, turns them into a
:class:`~sklopt.neural_network._spec.ModuleSpec`, and predicts. Fitting is plan -> run
-> publish (``_fit.py``).
"""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._device import cpu_threads_for, torch_threads
from ..utils._doc_link import DocLinkMixin
from ..utils._param_validation import DeviceOptions, PositiveIntSequence
from . import _numpy_forward
from ._callbacks import initial_state
from ._fit import FitMixin, with_callbacks
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
from ._levers.losses import predict_outputs
from ._spec import ModuleSpec, TrainState
from ._state import WeightsMixin

try:  # sklearn >= 1.9: the callback API (set_callbacks(ProgressBar()), ...)
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older sklearn: no callbacks
    class CallbackSupportMixin:
        pass


# Largest predict batch of a GPU model that runs on a CPU copy of its network.
SMALL_PREDICT = 256
# Largest predict batch of a CPU network that runs through the numpy forward pass
# (_numpy_forward.py); above it torch's batched kernels win.
NUMPY_PREDICT = 256


class BaseMLP(DocLinkMixin, FitMixin, WeightsMixin, CallbackSupportMixin,
              BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of :class:`MLPClassifier` and :class:`MLPRegressor`.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        # sklearn's (an int or array-like), refusing widths < 1 as a parameter error.
        "hidden_layer_sizes": [PositiveIntSequence(),
                               Interval(Integral, 1, None, closed="left")],
        "activation": [ACTIVATIONS.constraint()],
        "solver": [SOLVERS.constraint()],
        "learning_rate": [SCHEDULES.constraint()],
        "init": [INITIALIZERS.constraint("auto")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "penalty": [PENALTIES.constraint(), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "device": [DeviceOptions()],
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
    def _score_outputs(self, raw, out_activation, y, sample_weight):
        """Score (accuracy or R^2) of raw network outputs (a tensor) against true
        ``y``; NaN when the outputs are not finite, as sklearn's."""

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

    def _module_spec(self, n_features, n_outputs, embedded=None):
        """The module's structure; ``embedded``: which columns the embedding maps
        (None: the fitted ``embedded_columns_``, or all)."""
        if self.batch_norm and self.n_ensemble > 1:
            raise ValueError("batch_norm=True does not combine with n_ensemble > 1 (the "
                             "members would share batch statistics); use dropout.")
        if self.num_embedding is None:
            embedded = None
        elif embedded is None:
            embedded = getattr(self, "embedded_columns_", None)
        return ModuleSpec((n_features, *self._hidden_layer_sizes(), n_outputs),
                          self.activation, self.init, float(self.dropout),
                          bool(self.batch_norm), self.num_embedding,
                          int(self.embedding_dim), int(self.n_bins),
                          int(self.n_frequencies), float(self.frequency_scale),
                          int(self.n_ensemble),
                          None if embedded is None else tuple(bool(e) for e in embedded))

    def _train_dtype(self, X_dtype, device, module=None):
        dtype = PRECISIONS[self.precision].dtype
        if dtype is not None:
            return dtype
        if module is not None:  # a warm start keeps the weights' dtype
            return module.linears()[0].weight.dtype
        if torch.device(device).type == "cuda" or X_dtype == np.float32:
            return torch.float32
        return torch.float64

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

    # ------------------------------------------------------------------ API
    @with_callbacks
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_mask=None):
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
        validation_mask : array-like of bool of shape (n_samples,), default=None
            With ``early_stopping=True``: the rows held out for early stopping (and
            calibration), instead of a random ``validation_fraction`` of the rows:
            for example the last rows of a time series, or whole groups. The other
            rows train. Not a scikit-learn parameter. In a Pipeline, pass it as
            ``step__validation_mask``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._served(X, y, sample_weight, validation_mask):
            return self  # trained ahead, in a batch (_batched.py)
        if validation_mask is None:
            return self._fit(X, y, sample_weight=sample_weight, incremental=False)
        X, y, sample_weight, hook = self._held_out(X, y, sample_weight, validation_mask)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, hook=hook)

    def _held_out(self, X, y, sample_weight, validation_mask):
        """The training rows and the early-stopping hook of ``validation_mask``."""
        from sklearn.utils import _safe_indexing
        from sklearn.utils.validation import _num_samples

        from ._fit import FitHook

        if not self.early_stopping:
            raise ValueError("validation_mask picks the early-stopping rows: it needs "
                             "early_stopping=True.")
        mask = np.asarray(validation_mask)
        n = _num_samples(X)
        if mask.dtype != bool or mask.shape != (n,):
            raise ValueError(f"validation_mask must be a boolean array of one value per "
                             f"row ({n}); got dtype {mask.dtype} and shape {mask.shape}.")
        if mask.sum() < 2 or mask.all():
            raise ValueError(f"validation_mask must hold out at least 2 rows and leave "
                             f"some to train on; it holds out {int(mask.sum())} of {n}.")
        keep, held = np.flatnonzero(~mask), np.flatnonzero(mask)
        y = np.asarray(y) if not hasattr(y, "iloc") else y
        if is_classifier(self):
            labels = np.asarray(y)
            lost = set(np.unique(labels[held]).tolist()) - set(
                np.unique(labels[keep]).tolist())
            if lost:
                raise ValueError(f"validation_mask holds out every row of the classes "
                                 f"{sorted(lost)}: the network could not learn them.")
        sw = None if sample_weight is None else np.asarray(sample_weight)
        hook = FitHook(validation=(_safe_indexing(X, held), _safe_indexing(y, held), None,
                                   None if sw is None else sw[held]))
        return (_safe_indexing(X, keep), _safe_indexing(y, keep),
                None if sw is None else sw[keep], hook)

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

    def _numpy_network(self):
        """The numpy forward pass of the trained CPU network (``_numpy_forward.py``),
        made once per set of weights; None for a GPU network."""
        module = self._synced_module()
        cache = self._cpu_copy
        if "numpy" not in cache:
            cache["numpy"] = (_numpy_forward.build(module)
                              if _numpy_forward.supports(module) else None)
        return cache["numpy"]

    def _small_batch_output(self, X):
        """Output activations (probabilities, or predictions) of a few validated
        float rows through the numpy forward pass, in the dtype of ``X`` and the
        weights (numpy's promotion rule, as sklearn); None when they must take the
        torch path (a GPU network, more than ``NUMPY_PREDICT`` rows). The package hook
        of the distillers' small-batch predictions."""
        if not 0 < X.shape[0] <= NUMPY_PREDICT:
            return None
        forward = self._numpy_network()
        if forward is None:
            return None
        return _numpy_forward.outputs(forward, X, self.out_activation_,
                                      getattr(self, "temperature_", 1.0))

    def _forward(self, X, validated=False):
        """Output-layer activations (probabilities or predictions) as numpy, in the
        dtype of ``X`` and the weights (numpy's promotion rule, as sklearn);
        ``validated``: ``X`` is already a finite float array of the fitted width (a
        fitted preprocessing's output, as the TabularMLP hands over)."""
        if not validated:
            X = self._validated(X)
        if not sp.issparse(X):
            out = self._small_batch_output(X)
            if out is not None:
                return out
        out, x_dtype = self._raw(X, link=True, validated=True)
        out = out.cpu().numpy()
        return out.astype(np.result_type(x_dtype, out.dtype), copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
