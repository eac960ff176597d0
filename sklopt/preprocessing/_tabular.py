"""Preprocessing for real tables: a robust scaler with smooth clipping, and a
DataFrame-in, numbers-out preprocessor (numeric, categorical, missing, ID columns)."""

import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._doc_link import DocLinkMixin
from ..utils._param_validation import PercentileRange


class SmoothClipScaler(DocLinkMixin, OneToOneFeatureMixin, TransformerMixin,
                       BaseEstimator):
    """Robust scaling followed by smooth clipping (RealMLP's numeric preprocessing,
    Holzmueller et al., 2024).

    Each column is centred on its median and divided by its interquartile range (by
    half its range where that is 0; by 1 for a constant column), then squashed by
    ``x / sqrt(1 + (x / clip) ** 2)``: values within a few IQRs stay about as they are,
    outliers end near ``+-clip`` instead of dominating the network's input. NaNs pass
    through (impute them afterwards or before).

    Parameters
    ----------
    quantile_range : tuple (q_low, q_high), default=(25.0, 75.0)
        Percentiles whose difference scales each column.
    clip : float, default=3.0
        Where the smooth clipping levels off.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,)
        Per-column median.
    scale_ : ndarray of shape (n_features,)
        Per-column scale.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import SmoothClipScaler
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [1000.0]])
    >>> SmoothClipScaler().fit_transform(X).round(2).ravel().tolist()
    [-0.95, -0.49, 0.0, 0.49, 3.0]
    """

    _parameter_constraints: dict = {
        "quantile_range": [PercentileRange()],
        "clip": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, quantile_range=(25.0, 75.0), clip=3.0):
        self.quantile_range = quantile_range
        self.clip = clip

    def fit(self, X, y=None):
        """Compute the per-column median and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted scaler.
        """
        self._validate_params()  # quantile_range: 0 <= q_low < q_high <= 100
        q_low, q_high = self.quantile_range
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            self.center_ = np.nan_to_num(np.nanmedian(X, axis=0))
            low, high, lo, hi = np.nanpercentile(X, [q_low, q_high, 0, 100], axis=0)
        scale = np.nan_to_num(high - low)
        half_range = np.nan_to_num((hi - lo) / 2)
        scale = np.where(scale > 0, scale, half_range)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        """Scale and smoothly clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            The transformed data.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan",
                          reset=False)
        return self._scaled(X)

    def _scaled(self, X):
        """:meth:`transform`'s arithmetic on a float64 array of the fitted width."""
        Z = (X - self.center_) / self.scale_
        return Z / np.sqrt(1.0 + (Z / self.clip) ** 2)

    def inverse_transform(self, X):
        """Undo :meth:`transform` (exact: the clipping is invertible).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Transformed data, each value within ``(-clip, clip)``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        T = np.asarray(X, dtype=np.float64)
        Z = T / np.sqrt(np.maximum(1.0 - (T / self.clip) ** 2, 1e-300))
        return Z * self.scale_ + self.center_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


#: Most rows that :meth:`TabularPreprocessor.transform` reads in one call.
_FEW_ROWS = 64


def _imputed(imputer, values):
    """``imputer.transform(values)`` of a fitted ``SimpleImputer`` (missing values
    NaN or None), with its missing-value indicator columns appended."""
    missing = pd.isna(values)
    filled = values.copy()
    if missing.any():
        filled[missing] = np.broadcast_to(imputer.statistics_, values.shape)[missing]
    if imputer.indicator_ is None:
        return filled
    return np.hstack([filled, missing[:, imputer.indicator_.features_]])


#: Most rows for which :func:`_one_hot` looks the categories up one by one; larger
#: batches go through the encoder's own ``transform``, whose fixed cost (its input
#: checks) then no longer dominates.
_LOOKUP_ROWS = 256
_LOOKUPS = weakref.WeakKeyDictionary()  # fitted encoder -> its lookup tables
_UNSEEN = "\x00sklopt: a category the encoder never saw\x00"


def _lookup_tables(encoder):
    """``[(table, unknown)]`` per feature of a fitted dense ``OneHotEncoder``: the
    output column of each category (``table``) and of a category it never saw
    (``unknown``, None: no column), read from the encoder's own output on every
    category once, so that the tables cannot disagree with it (infrequent levels
    included); None when the encoder's layout is not the expected one."""
    if encoder in _LOOKUPS:
        return _LOOKUPS[encoder]
    widths = getattr(encoder, "_n_features_outs", None)
    tables = None
    if (widths is not None and encoder.drop is None and not encoder.sparse_output
            and len(widths) == len(encoder.categories_)):
        categories = encoder.categories_
        rows = max(len(c) for c in categories) + 1
        probe = np.empty((rows, len(categories)), dtype=object)
        for j, cats in enumerate(categories):
            column = list(cats) + [_UNSEEN]
            probe[:, j] = column + [cats[0]] * (rows - len(column))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the unseen category's warning
            out = np.asarray(encoder.transform(probe))  # a DataFrame under set_output
        tables, start = [], 0
        for j, (cats, width) in enumerate(zip(categories, widths)):
            block = out[:, start:start + width]
            hot = [np.flatnonzero(block[r]) for r in range(len(cats) + 1)]
            table = {c: start + int(h[0]) for c, h in zip(cats, hot) if len(h)}
            tables.append((table, start + int(hot[-1][0]) if len(hot[-1]) else None))
            start += width
        if start != out.shape[1]:
            tables = None
    _LOOKUPS[encoder] = tables
    return tables


def _one_hot(encoder, values):
    """``encoder.transform(values)`` (a fitted dense ``OneHotEncoder``, ``values`` an
    object array of strings): for a few rows, each category looked up in
    :func:`_lookup_tables`, without the encoder's per-call input checks (most of a
    one-row prediction's preprocessing)."""
    tables = None if len(values) > _LOOKUP_ROWS else _lookup_tables(encoder)
    if tables is None:
        return encoder.transform(values)
    out = np.zeros((len(values), sum(encoder._n_features_outs)))
    for j, (table, unknown) in enumerate(tables):
        for i, value in enumerate(values[:, j]):
            column = table.get(value, unknown)
            if column is not None:
                out[i, column] = 1.0
    return out


def _as_str(values):
    """A categorical column as one type (strings; booleans and mixed objects too),
    missing values left missing (NaN) for the imputer."""
    missing = pd.isna(values)
    return np.array([np.nan if m else str(v) for v, m in zip(values, missing)],
                    dtype=object)


def _is_categorical(column):
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _is_id_like(column):
    """A column that names each row: unique non-numeric values, or unique integers that
    count rows (a row number or record ID: within twice the row count of each other,
    or in increasing order). A CV fold's rows keep both properties. Unique whole
    numbers spread wide and in no order (prices in cents, say) are measurements."""
    n = len(column)
    values = column.dropna()
    if n < 20 or len(values) < n or values.nunique() < n:
        return False
    if _is_categorical(column):
        return True
    if not (pd.api.types.is_integer_dtype(column) or np.all(np.mod(values, 1) == 0)):
        return False
    span = float(values.max()) - float(values.min())
    return bool(span < 2 * n or values.is_monotonic_increasing
                or values.is_monotonic_decreasing)


class TabularPreprocessor(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Turn a table (a pandas DataFrame as it comes: numbers, categories, strings,
    booleans, missing values) or an array into the numbers a network trains on.

    * Columns that name each row (unique strings, or unique integers such as a row
      number or record ID) and constant columns are dropped, with a warning that names
      them (``drop_id_columns=False`` keeps the first kind).
    * Numeric columns: missing values imputed with the median plus a missing-indicator
      column, then ``scaler`` (default :class:`SmoothClipScaler`).
    * Categorical, string and boolean columns: missing values become their own
      category, then one-hot encoded; levels rarer than ``min_frequency`` and beyond
      ``max_categories`` are grouped into one "infrequent" column, and unknown levels at
      predict time go there too.

    Parameters
    ----------
    max_categories : int, default=32
        Most one-hot columns per categorical column.
    min_frequency : int or float, default=5
        Levels seen fewer times (or in a smaller share of rows) are grouped.
    scaler : transformer or None, default=None
        Numeric scaling; None means ``SmoothClipScaler()``.
    drop_id_columns : bool, default=True
        Drop columns that name each row.

    Attributes
    ----------
    transformer_ : ColumnTransformer
        The fitted column transformer.
    dropped_columns_ : list of str
        The columns dropped, with why.
    numeric_columns_, categorical_columns_ : list
        The columns of each kind.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the columns seen during fit, when X has string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklopt.preprocessing import TabularPreprocessor
    >>> df = pd.DataFrame({"age": [22.0, None, 35.0, 41.0], "port": ["S", "C", None, "S"]})
    >>> TabularPreprocessor(min_frequency=1).fit_transform(df).shape
    (4, 5)
    """

    _parameter_constraints: dict = {
        "max_categories": [Interval(Integral, 2, None, closed="left")],
        "min_frequency": [Interval(Integral, 1, None, closed="left"),
                          Interval(RealNotInt, 0, 1, closed="neither")],
        "scaler": [None, HasMethods(["fit", "transform"])],
        "drop_id_columns": ["boolean"],
    }

    def __init__(self, max_categories=32, min_frequency=5, scaler=None,
                 drop_id_columns=True):
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.scaler = scaler
        self.drop_id_columns = drop_id_columns

    def fit(self, X, y=None):
        """Find the columns' kinds and fit the imputers, encoders and scaler.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted preprocessor.
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then transform ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.
        y : None
            Ignored.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_output_features)
        """
        self._validate_params()
        frame = self._frame(X, reset=True)
        self.dropped_columns_ = []
        numeric, categorical = [], []
        for name in frame.columns:
            column = frame[name]
            if self.drop_id_columns and _is_id_like(column):
                self.dropped_columns_.append(f"column {name!r} (unique per row)")
            elif column.nunique(dropna=False) <= 1 and len(frame) > 1:
                self.dropped_columns_.append(f"column {name!r} (constant)")
            elif _is_categorical(column):
                categorical.append(name)
            else:
                numeric.append(name)
        if self.dropped_columns_:
            warnings.warn("TabularPreprocessor drops " + ", ".join(self.dropped_columns_)
                          + ".", UserWarning, stacklevel=2)
        if not numeric and not categorical:
            raise ValueError("No usable column: every column is constant or names "
                             "each row.")
        self.numeric_columns_, self.categorical_columns_ = numeric, categorical
        scaler = SmoothClipScaler() if self.scaler is None else self.scaler
        parts = []
        if numeric:
            parts.append(("num", make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True,
                              keep_empty_features=True), scaler), numeric))
        if categorical:
            parts.append(("cat", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="__missing__",
                              keep_empty_features=True),
                OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                              max_categories=self.max_categories,
                              min_frequency=self.min_frequency)), categorical))
        self.transformer_ = ColumnTransformer(parts, verbose_feature_names_out=True)
        return np.asarray(self.transformer_.fit_transform(self._categories_as_str(frame)),
                          dtype=np.float64)

    def transform(self, X):
        """Transform ``X`` as the training table was.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table with the training table's columns (extra columns are ignored,
            and the dropped ones may be left out), or an array with all the training
            columns in the training order.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_output_features)
        """
        check_is_fitted(self)
        frame = self._frame(X, reset=False)
        # The fitted column pipelines called directly, their outputs side by side: what
        # ColumnTransformer.transform computes for dense outputs, without its per-call
        # plumbing (dispatch through joblib, output checks), which was most of a
        # one-row prediction (3.3 ms of TabularMLP's, 2 cores).
        # A few rows are read in one call (a frame's columns one by one cost about
        # 10 us each, most of a one-row prediction); more rows column by column
        # (one object array of a large frame costs more than the arithmetic).
        cells = frame.to_numpy(dtype=object) if len(frame) <= _FEW_ROWS else None
        position = (None if cells is None
                    else {c: i for i, c in enumerate(frame.columns)})
        parts = []
        for name, pipe, columns in self.transformer_.transformers_:
            if pipe == "drop" or not len(columns):
                continue
            values = None
            if cells is not None:
                block = cells[:, [position[c] for c in columns]]
                try:
                    values = (np.column_stack([_as_str(v) for v in block.T])
                              if name == "cat" else block.astype(np.float64))
                except (TypeError, ValueError):  # pandas' NA, say: as below
                    values = None
            if values is None and name == "cat":
                values = np.empty((len(frame), len(columns)), dtype=object)
                for j, column in enumerate(columns):
                    values[:, j] = _as_str(frame[column].to_numpy(dtype=object))
            elif values is None:
                values = np.column_stack([frame[column].to_numpy(dtype=np.float64)
                                          for column in columns])
            # The imputer's own arithmetic (its statistics, its indicator columns)
            # without its input checks, then the fitted steps after it (this
            # module's scaler without its checks too).
            values = _imputed(pipe[0], values)
            for step in pipe[1:]:
                values = (_one_hot(step, values) if isinstance(step, OneHotEncoder)
                          else step._scaled(values) if type(step) is SmoothClipScaler
                          and not np.isinf(values).any()  # else its check names it
                          else step.transform(values))
            parts.append(np.asarray(values, dtype=np.float64))
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns (``num__age``, ``cat__port_S``, ...).

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        return self.transformer_.get_feature_names_out()

    def _frame(self, X, reset):
        if isinstance(X, pd.DataFrame):
            if reset:
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
                self.n_features_in_ = X.shape[1]
            else:
                used = set(self.numeric_columns_) | set(self.categorical_columns_)
                missing = [c for c in self.feature_names_in_
                           if c not in X.columns and c in used]
                if missing:
                    raise ValueError(f"X lacks the columns {missing} it was fitted with.")
                if list(X.columns) == list(self.feature_names_in_):
                    return X  # transform reads its columns by name, one by one
                # A dropped column (an ID, a constant) may be left out: it is unused.
                X = X.reindex(columns=list(self.feature_names_in_))
            return X.reset_index(drop=True)
        names = getattr(self, "feature_names_in_", None)
        if not reset and names is not None:
            # Fitted on a DataFrame, given an array: its columns in the training order.
            X = np.asarray(X, dtype=object)
            if X.ndim != 2 or X.shape[1] != len(names):
                raise ValueError(
                    f"X has {X.shape[-1] if X.ndim else 0} columns; this preprocessor "
                    f"was fitted on a DataFrame with {len(names)} columns "
                    f"({', '.join(map(str, names))}). Pass a DataFrame with those "
                    "columns or an array with them in that order.")
            frame = pd.DataFrame(X, columns=list(names))
            for name in self.numeric_columns_:
                frame[name] = pd.to_numeric(frame[name], errors="raise")
            return frame
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan",
                          reset=reset)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def _categories_as_str(self, frame):
        # One-hot encoding needs one type per column: categories as strings (booleans
        # and mixed objects too); missing values stay missing for the imputer.
        if not getattr(self, "categorical_columns_", None):
            return frame
        frame = frame.copy()
        for name in self.categorical_columns_:
            if name in frame:
                frame[name] = _as_str(frame[name].to_numpy(dtype=object))
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags
