"""TabularMLPClassifier and TabularMLPRegressor: the levers that pay on real tables, set
by default, behind a table-in interface.

Every parameter defaults to None and is resolved in ``fit`` from :data:`DEFAULTS`, one
table measured on public tables (``benchmarks/bench_quality.py``), and from the data's
size (small data gets no held-out split).
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (_check_sample_weight, _num_samples,
                                      check_consistent_length, check_is_fitted,
                                      column_or_1d)

from ..preprocessing import TabularPreprocessor
from ..utils._doc_link import DocLinkMixin
from ..utils._param_validation import DeviceOptions, PositiveIntSequence
from ._classes import MLPClassifier, MLPRegressor
from ._fit import FitHook
from ._levers.embeddings import EMBEDDINGS
from ._levers.hardware import PRECISIONS

# The defaults, chosen from measurements on public tables (docs/tabular.md).
DEFAULTS = {
    "hidden_layer_sizes": (128, 128),
    "n_ensemble": 4,
    "num_embedding": "piecewise_linear",
    "embedding_dim": 8,
    "n_bins": 16,
    "solver": "adamw",
    "alpha": 1e-4,
    "learning_rate": "cosine",
    "learning_rate_init": 2e-3,
    "batch_size": 256,
    "max_iter": 60,
    "dropout": 0.1,
    "label_smoothing": 0.0,
    "early_stopping": True,
    "n_iter_no_change": 16,
    "validation_fraction": 0.2,
    "calibrate": True,
}
# Below this many rows there is no held-out split (no early stopping, no calibration).
MIN_ROWS_FOR_VALIDATION = 100


class _BaseTabularMLP(DocLinkMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "hidden_layer_sizes": [PositiveIntSequence(), None],
        "n_ensemble": [Interval(Integral, 1, None, closed="left"), None],
        "num_embedding": [EMBEDDINGS.constraint("none"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "early_stopping": ["boolean", None],
        "max_categories": [Interval(Integral, 2, None, closed="left")],
        "device": [DeviceOptions()],
        "precision": [PRECISIONS.constraint()],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _mlp_params(self, n_samples):
        params = dict(DEFAULTS)
        for name in ("hidden_layer_sizes", "n_ensemble", "num_embedding", "max_iter",
                     "learning_rate_init", "alpha", "dropout", "batch_size",
                     "early_stopping"):
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if params["num_embedding"] == "none":
            params["num_embedding"] = None
        if n_samples < MIN_ROWS_FOR_VALIDATION:
            params["early_stopping"] = False
        if self.batch_size is None:
            # Small tables need more steps per epoch: about 16 batches, 16 to 256 rows.
            params["batch_size"] = int(np.clip(n_samples // 16, 16, params["batch_size"]))
        params["batch_size"] = min(params["batch_size"], n_samples)
        if not params["early_stopping"]:
            params.pop("calibrate", None)
        # The cosine schedule runs its cycle over max_iter epochs; early stopping on the
        # validation loss keeps the best epoch.
        # 'auto' trains in float32: the preprocessing hands over float64, which would
        # train in float64 at about twice the time (benchmarks/bench_quality.py
        # --set tuning --models TabularMLP --variant precision="'float64'" compares
        # both).
        precision = "float32" if self.precision == "auto" else self.precision
        params.update(early_stopping_on="loss", device=self.device,
                      precision=precision, random_state=self.random_state,
                      verbose=self.verbose)
        return params

    def _fit_pipeline(self, X, y, sample_weight, mlp):
        """Fit the preprocessing and ``mlp`` as :attr:`pipeline_`. With early stopping
        the held-out rows are drawn first and kept out of everything fitted: the
        preprocessing's statistics, the target's scaling and the network's weights;
        the network stops (and calibrates) on them through its fit hook."""
        if not (hasattr(X, "iloc") or isinstance(X, np.ndarray) or sp.issparse(X)):
            X = np.asarray(X)  # lists and other array-likes, to draw rows from
        check_consistent_length(X, y, sample_weight)
        n = _num_samples(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        train = val = None
        if mlp.early_stopping:
            train, val = train_test_split(
                np.arange(n), test_size=mlp.validation_fraction,
                random_state=check_random_state(self.random_state),
                stratify=self._stratify(y))
        rows = (lambda a, idx: a if idx is None or a is None else _safe_indexing(a, idx))
        pre = TabularPreprocessor(max_categories=self.max_categories)
        y_train = rows(y, train)
        scaling = self._target_scaling(y_train)
        Xt = pre.fit_transform(rows(X, train), y_train)
        hook = FitHook()
        if val is not None:
            hook = FitHook(validation=(pre.transform(rows(X, val)),
                                       self._scaled(rows(y, val), scaling), None,
                                       rows(sample_weight, val)))
        mlp._fit_hooked(Xt, self._scaled(y_train, scaling), hook,
                        sample_weight=rows(sample_weight, train))
        vars(self).update(scaling)
        self.pipeline_ = Pipeline([("preprocess", pre), ("mlp", mlp)])
        self.n_features_in_ = pre.n_features_in_
        if hasattr(pre, "feature_names_in_"):
            self.feature_names_in_ = pre.feature_names_in_
        self.dropped_columns_ = pre.dropped_columns_
        self.n_iter_ = mlp.n_iter_
        return self

    def _stratify(self, y):
        """The stratification labels of the held-out split (None: not stratified)."""
        return None

    def _target_scaling(self, y):
        """The target's scaling fitted on the training rows ``y``, as attributes."""
        return {}

    def _scaled(self, y, scaling):
        return y

    @property
    def mlp_(self):
        """The fitted network (an sklopt MLP) at the end of :attr:`pipeline_`."""
        check_is_fitted(self)
        return self.pipeline_[-1]

    def _outputs(self, X):
        """The network's output activations for the table ``X``: the pipeline's
        prediction path, without its per-call plumbing (Pipeline's dispatch, the
        network's input validation: the fitted preprocessing's output is a float
        array of the network's width by construction, so only its finiteness is
        checked), which was about half of a one-row prediction."""
        # (a float array even where scikit-learn is set to output DataFrames)
        Xt = np.asarray(self.pipeline_[0].transform(X), dtype=np.float64)
        if Xt.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={Xt.shape}) while a "
                             "minimum of 1 is required.")
        if not np.isfinite(Xt).all():
            raise ValueError("X contains infinity or a value too large for float64 in "
                             "a numeric column; replace it, or mark it missing (NaN), "
                             "which the preprocessing imputes.")
        return self.pipeline_[-1]._forward(Xt, validated=True)

    def predict(self, X):
        """Predict for the rows of ``X`` (a table with the training table's columns).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags


_DOC_PARAMS = """
    hidden_layer_sizes : tuple or None, default=None
        Hidden layer widths; None means ``DEFAULTS["hidden_layer_sizes"]``.
    n_ensemble : int or None, default=None
        Members of the parameter-efficient ensemble (TabM style).
    num_embedding : {'periodic', 'piecewise_linear', 'none'} or None, default=None
        Numerical feature embedding.
    max_iter : int or None, default=None
        Epochs (the cosine schedule's cycle); the best epoch on the validation loss is
        kept.
    learning_rate_init : float or None, default=None
        Peak learning rate of AdamW.
    alpha : float or None, default=None
        AdamW's decoupled weight decay.
    dropout : float or None, default=None
        Dropout after each hidden activation.
    batch_size : int or None, default=None
        Mini-batch size; None is about a sixteenth of the rows, between 16 and
        ``DEFAULTS["batch_size"]``.
    early_stopping : bool or None, default=None
        Hold out ``DEFAULTS["validation_fraction"]`` of the rows to select the best
        epoch (and, for the classifier, to calibrate); off below 100 rows.
    max_categories : int, default=32
        Most one-hot columns per categorical column.
    device : str, default='auto'
        Training device.
    precision : str, default='auto'
        Training precision (see :class:`MLPClassifier`); 'auto' trains in float32
        on every device ('float64' for float64).
    random_state : int, RandomState instance or None, default=None
        Seeds everything.
    verbose : bool or int, default=False
        Print the network's progress lines.
"""

_DOC_ATTRS = """
    pipeline_ : Pipeline
        ``TabularPreprocessor`` then the network.
    mlp_ : MLPClassifier or MLPRegressor
        The fitted network.
    dropped_columns_ : list of str
        Columns dropped as IDs or constants, with why.
    n_iter_ : int
        Epochs the network trained.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen during fit, when X is a DataFrame.
"""


class TabularMLPClassifier(ClassifierMixin, _BaseTabularMLP):
    __doc__ = f"""A classifier for real tables, best by default.

    Takes a pandas DataFrame as it comes (numeric, categorical, string and boolean
    columns, missing values) or an array; preprocesses it
    (:class:`~sklopt.preprocessing.TabularPreprocessor`: ID-like and constant columns
    dropped with a warning, robust scaling with smooth clipping, one-hot categories) and
    trains an :class:`MLPClassifier` with the levers that measured best on public
    tables: piecewise-linear numerical embeddings, a TabM-style ensemble, AdamW with a
    cosine schedule, best-epoch selection on the validation log loss and temperature
    scaling (:data:`DEFAULTS`).

    Parameters
    ----------
    {_DOC_PARAMS.strip()}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {_DOC_ATTRS.strip()}

    See Also
    --------
    TabularMLPRegressor : The regressor twin.
    MLPClassifier : The network, every lever a parameter.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklopt.neural_network import TabularMLPClassifier
    >>> df = pd.DataFrame({{"x": [0.5 * i for i in range(60)],
    ...                    "color": ["red", "blue", None] * 20}})
    >>> y = df["x"] > 15
    >>> clf = TabularMLPClassifier(random_state=0, device="cpu").fit(df, y)
    >>> clf.predict(df.iloc[[0, 59]]).tolist()
    [False, True]
    """

    def __init__(self, hidden_layer_sizes=None, n_ensemble=None, num_embedding=None,
                 max_iter=None, learning_rate_init=None, alpha=None, dropout=None,
                 batch_size=None, early_stopping=None, max_categories=32, device="auto",
                 precision="auto", random_state=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_ensemble = n_ensemble
        self.num_embedding = num_embedding
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.dropout = dropout
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.max_categories = max_categories
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Preprocess the table and train the network.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
        """
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = column_or_1d(np.asarray(y), warn=True)
        check_classification_targets(y)
        mlp = MLPClassifier(**self._mlp_params(len(y)))
        self._fit_pipeline(X, y, sample_weight, mlp)
        self.classes_ = self.mlp_.classes_
        return self

    def _stratify(self, y):
        # Stratified when every class can have a row on both sides.
        return y if np.unique(y, return_counts=True)[1].min() >= 2 else None

    def _predict(self, X):
        return self.pipeline_[-1]._decode(self._outputs(X))

    def predict_proba(self, X):
        """Calibrated class probabilities.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.pipeline_[-1]._proba(self._outputs(X))

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))


class TabularMLPRegressor(RegressorMixin, _BaseTabularMLP):
    __doc__ = f"""A regressor for real tables, best by default.

    As :class:`TabularMLPClassifier` (same preprocessing and levers, the validation
    loss being the squared error), training on the standardised target; predictions
    are on the target's scale.

    Parameters
    ----------
    {_DOC_PARAMS.strip()}

    Attributes
    ----------
    {_DOC_ATTRS.strip()}
    target_mean_, target_scale_ : float or ndarray
        The target's standardisation.

    See Also
    --------
    TabularMLPClassifier : The classifier twin.
    MLPRegressor : The network, every lever a parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.neural_network import TabularMLPRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(300, 3))
    >>> y = 100 + 50 * X[:, 0] - 20 * X[:, 1]
    >>> reg = TabularMLPRegressor(max_iter=40, random_state=0, device="cpu").fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes=None, n_ensemble=None, num_embedding=None,
                 max_iter=None, learning_rate_init=None, alpha=None, dropout=None,
                 batch_size=None, early_stopping=None, max_categories=32, device="auto",
                 precision="auto", random_state=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_ensemble = n_ensemble
        self.num_embedding = num_embedding
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.dropout = dropout
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.max_categories = max_categories
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Preprocess the table and train the network on the standardised target.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
        """
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity.")
        params = {k: v for k, v in self._mlp_params(len(y)).items()
                  if k not in ("calibrate", "label_smoothing")}  # classifier levers
        return self._fit_pipeline(X, y, sample_weight, MLPRegressor(**params))

    def _target_scaling(self, y):
        scale = y.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0) if np.ndim(scale) else (
            scale if scale > 0 else 1.0)
        return {"target_mean_": y.mean(axis=0), "target_scale_": scale}

    def _scaled(self, y, scaling):
        return (y - scaling["target_mean_"]) / scaling["target_scale_"]

    def _predict(self, X):
        pred = self._outputs(X)
        pred = pred.ravel() if pred.shape[1] == 1 else pred
        return pred * self.target_scale_ + self.target_mean_
