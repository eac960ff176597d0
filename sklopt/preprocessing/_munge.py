"""MUNGE (Bucila, Caruana and Niculescu-Mizil, 2006): synthetic rows for model compression.

Each synthetic row starts as a copy of a training row; every attribute is then, with
probability ``p``, taken from the row's nearest (distinct) neighbour: a categorical
value as it is, a numeric one drawn from a normal centred on the neighbour's value with
standard deviation ``|x - x_neighbour| / s``. The rows stay near the data (unlike noise
added to every feature) and keep each column's type and range, which is what a teacher
needs to label them meaningfully.

Written with numpy, pandas and :class:`~sklearn.neighbors.NearestNeighbors` (not torch as
the training augmenters in ``_augment.py``): it runs once, before training, on tables
whose columns can be of any type.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
)

from ..utils._doc_link import DocLinkMixin


def _is_numeric(series):
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


class Munge(DocLinkMixin, BaseEstimator):
    """MUNGE: synthetic rows that mix each row with its nearest neighbour.

    The transfer-set generator of model compression (Bucila et al. 2006), used by
    :class:`~sklopt.distillation.DistilledClassifier` to show a student the teacher's
    function between the training rows. For each synthetic row, a training row is
    copied and each attribute is, with probability ``p``, replaced:

    * numeric: by a draw from ``N(x_nb, |x - x_nb| / s)``, with ``x_nb`` the value of
      the row's nearest distinct neighbour; clipped to the column's range in ``X``, and
      rounded when all of the column's values are whole numbers;
    * categorical: by the neighbour's value (a swap).

    Neighbours are found among the distinct rows with Euclidean distance on
    standardised numeric columns and one-hot categories (a category mismatch counts as
    one standard deviation); a missing value is imputed with the column mean for the
    distance only, and a swapped cell where either value is missing takes the
    neighbour's value as it is.

    Parameters
    ----------
    p : float, default=0.5
        Probability that an attribute is taken from the neighbour.
    s : float, default=1.0
        Local spread: the numeric draw has standard deviation ``|x - x_nb| / s``, so
        larger values stay closer to the neighbour's value.
    n_copies : int, default=1
        Synthetic rows per training row.
    categorical_features : "auto", array-like of int, bool or str, or None, default="auto"
        Columns that are swapped, never jittered. ``"auto"``: the non-numeric and
        boolean columns of a DataFrame, and the numeric columns with at most two
        distinct values (0/1 indicators). Indices, a boolean mask or column names
        select them explicitly; None means all columns are numeric. Adjacent 0/1
        columns that sum to exactly 1 on every row (a one-hot block, as written by
        :class:`~sklearn.preprocessing.OneHotEncoder` or :func:`pandas.get_dummies`)
        are swapped together, so a synthetic row has exactly one category set.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    See Also
    --------
    SwapNoise : Swaps cells with random rows instead of neighbours.
    sklopt.distillation.DistilledClassifier : Uses Munge for its transfer set.

    References
    ----------
    C. Bucila, R. Caruana, A. Niculescu-Mizil. Model compression. KDD 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import Munge
    >>> rng = np.random.RandomState(0)
    >>> X = np.c_[rng.normal(size=50), rng.randint(0, 2, size=50)]
    >>> y = (X[:, 0] > 0).astype(int)
    >>> X_res, y_res = Munge(n_copies=2, random_state=0).fit_resample(X, y)
    >>> X_res.shape, y_res.shape
    ((150, 2), (150,))
    >>> bool(np.isin(X_res[:, 1], [0, 1]).all())  # the 0/1 column stays 0/1
    True
    """

    _parameter_constraints: dict = {
        "p": [Interval(Real, 0, 1, closed="both")],
        "s": [Interval(Real, 0, None, closed="neither")],
        "n_copies": [Interval(Integral, 1, None, closed="left")],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
        "random_state": ["random_state"],
    }

    def __init__(self, p=0.5, s=1.0, *, n_copies=1, categorical_features="auto",
                 random_state=None):
        self.p = p
        self.s = s
        self.n_copies = n_copies
        self.categorical_features = categorical_features
        self.random_state = random_state

    # ------------------------------------------------------------------ API
    def fit_resample(self, X, y, sample_weight=None):
        """Return the original rows followed by ``n_copies`` synthetic rows per row.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training rows. A DataFrame keeps its columns and dtypes; a sparse matrix
            is densified for the draws and returned as CSR.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; a synthetic row gets the target of the row it was made from
            (relabel it with a teacher for distillation).
        sample_weight : array-like of shape (n_samples,), default=None
            When given, each distinct row with total weight ``c`` makes
            ``n_copies * max(1, round(c))`` synthetic rows of weight
            ``c / max(1, round(c))``, rows of weight 0 make none and are no one's
            neighbour, and the weights of the returned rows are returned too. Integer
            weights thus give the same synthetic rows as repeating the rows.

        Returns
        -------
        X_resampled : ndarray, sparse matrix or DataFrame
            The ``n_samples`` rows followed by the synthetic ones.
        y_resampled : ndarray
            Their targets.
        sample_weight_resampled : ndarray
            Only when ``sample_weight`` is given: ``sample_weight`` followed by the
            synthetic rows' weights.
        """
        self._validate_params()
        check_consistent_length(X, y)
        y = np.asarray(y)
        weighted = sample_weight is not None
        X_syn, source, w_syn = self._synthesize(X, sample_weight)
        X_out = _concat(X, X_syn)
        y_out = np.concatenate([y, y[source]])
        if not weighted:
            return X_out, y_out
        sample_weight = _check_sample_weight(sample_weight, np.empty((len(y), 0)))
        return X_out, y_out, np.concatenate([sample_weight, w_syn])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are kept (see above)
        return tags

    # ------------------------------------------------------------------ internals
    def _synthesize(self, X, sample_weight=None):
        """``(X_synthetic, source_rows, weights)``: the synthetic rows alone (same kind
        as ``X``), the index of the row each was made from, and their weights."""
        frame = X if hasattr(X, "iloc") else None
        sparse = sp.issparse(X)
        if frame is None:
            X = check_array(X, accept_sparse="csr", dtype="numeric",
                            ensure_all_finite="allow-nan")
            if sparse:
                X = X.toarray()
            columns = [X[:, j] for j in range(X.shape[1])]
        else:
            columns = [frame.iloc[:, j] for j in range(frame.shape[1])]
        n = len(columns[0]) if columns else X.shape[0]
        w = (np.ones(n) if sample_weight is None
             else _check_sample_weight(sample_weight, np.empty((n, 0))))
        keep = w > 0
        rng = check_random_state(self.random_state)

        kinds = self._kinds(columns, frame, keep)
        codes, numeric = _encode(columns, kinds, keep, w)
        # Distinct rows (of positive weight): sources and neighbours.
        rows = np.flatnonzero(keep)
        if rows.size == 0:
            return _empty_like(X, frame), np.zeros(0, dtype=np.intp), np.zeros(0)
        key = np.hstack([codes[rows], numeric[rows]])
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        unique_rows = rows[first]
        total = np.bincount(inverse, weights=w[rows])
        per_row = np.maximum(1, np.round(total)).astype(np.int64)
        counts = self.n_copies * per_row
        neighbour = _nearest_distinct(key[first])
        source = np.repeat(unique_rows, counts)
        partner = np.repeat(unique_rows[neighbour], counts)
        weights = np.repeat(total / per_row, counts)

        # One swap draw per attribute (a one-hot block is one attribute), then one
        # normal draw per numeric cell: the same draws for the same distinct rows.
        attributes = _attributes(columns, kinds, keep)
        swap = rng.uniform(size=(source.size, len(attributes))) < self.p
        n_numeric = sum(kinds[a[0]] == "numeric" for a in attributes)
        noise = rng.standard_normal(size=(source.size, n_numeric))
        new_columns = [None] * len(columns)
        k = 0
        for a, attribute in enumerate(attributes):
            for j in attribute:
                col = columns[j]
                if kinds[j] != "numeric":
                    values = col.to_numpy() if frame is not None else col
                    new_columns[j] = np.where(swap[:, a], values[partner], values[source])
                    continue
                values = _as_float(col)
                mine, theirs = values[source], values[partner]
                with np.errstate(invalid="ignore"):
                    draw = theirs + noise[:, k] * np.abs(mine - theirs) / self.s
                draw = np.where(np.isnan(draw), theirs, draw)
                lo, hi, whole = _range(values, keep)
                draw = np.clip(draw, lo, hi)
                if whole:
                    draw = np.round(draw)
                new_columns[j] = np.where(swap[:, a], draw, mine)
                k += 1
        return _assemble(new_columns, X, frame, sparse), source, weights

    def _kinds(self, columns, frame, keep):
        """'numeric' or 'categorical' per column."""
        n_features = len(columns)
        chosen = self.categorical_features
        if isinstance(chosen, str):  # "auto"
            kinds = []
            for col in columns:
                if frame is not None and not _is_numeric(col):
                    kinds.append("categorical")
                    continue
                values = _as_float(col)[keep]
                distinct = np.unique(values[~np.isnan(values)])
                kinds.append("categorical" if distinct.size <= 2 else "numeric")
            return kinds
        if chosen is None:
            mask = np.zeros(n_features, dtype=bool)
        else:
            chosen = np.asarray(chosen)
            if chosen.dtype == bool:
                if chosen.shape != (n_features,):
                    raise ValueError(f"categorical_features has {chosen.size} booleans "
                                     f"for {n_features} columns.")
                mask = chosen
            else:
                mask = np.zeros(n_features, dtype=bool)
                if chosen.dtype.kind in "OUS":
                    if frame is None:
                        raise ValueError("categorical_features names columns, but X "
                                         "has no column names (pass a DataFrame).")
                    names = list(map(str, frame.columns))
                    missing = [c for c in chosen if str(c) not in names]
                    if missing:
                        raise ValueError(f"categorical_features names unknown columns "
                                         f"{missing}.")
                    index = [names.index(str(c)) for c in chosen]
                else:
                    index = chosen.astype(int)
                    if index.size and (index.min() < -n_features
                                       or index.max() >= n_features):
                        raise ValueError("categorical_features has an index out of "
                                         f"range for {n_features} columns.")
                mask[index] = True
        kinds = ["categorical" if m else "numeric" for m in mask]
        if frame is not None:
            for j, col in enumerate(columns):
                if not _is_numeric(col) and kinds[j] == "numeric":
                    raise ValueError(f"Column {frame.columns[j]!r} is not numeric; it "
                                     "must be in categorical_features.")
        return kinds


def _as_float(col):
    """A column as float64, missing values (None, pd.NA) as NaN."""
    if hasattr(col, "to_numpy"):
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(col, dtype=np.float64)


def _range(values, keep):
    """Min, max (of the rows of positive weight) and whether all are whole numbers."""
    v = values[keep]
    v = v[~np.isnan(v)]
    if v.size == 0:
        return -np.inf, np.inf, False
    return v.min(), v.max(), bool(np.all(v == np.round(v)))


def _encode(columns, kinds, keep, w):
    """The matrices neighbours are searched in: one-hot categories (divided by sqrt 2,
    so a mismatch is at distance 1) and standardised numeric columns with a missing
    indicator where a column has missing values. Statistics are weighted, so that
    repeated rows and integer weights give the same matrix."""
    cats, nums = [], []
    ww = w[keep]
    for col, kind in zip(columns, kinds):
        if kind == "categorical":
            codes, _ = pd.factorize(pd.Series(np.asarray(col, dtype=object)),
                                    use_na_sentinel=False)
            onehot = np.zeros((codes.size, codes.max() + 1 if codes.size else 0))
            onehot[np.arange(codes.size), codes] = 1.0 / np.sqrt(2.0)
            cats.append(onehot)
            continue
        values = _as_float(col)
        missing = np.isnan(values)
        fit = values[keep]
        ok = ~np.isnan(fit)
        if ok.any():
            mean = np.average(fit[ok], weights=ww[ok])
            std = np.sqrt(np.average((fit[ok] - mean) ** 2, weights=ww[ok]))
        else:
            mean, std = 0.0, 0.0
        z = np.where(missing, 0.0, (values - mean) / std if std > 0 else 0.0)
        nums.append(z[:, None])
        if missing.any():
            nums.append(missing[:, None].astype(np.float64))
    n = len(keep)
    cat = np.hstack(cats) if cats else np.zeros((n, 0))
    num = np.hstack(nums) if nums else np.zeros((n, 0))
    return cat, num


def _attributes(columns, kinds, keep):
    """Columns grouped into attributes: each column alone, except runs of adjacent
    categorical 0/1 columns that sum to exactly 1 on every row (of positive weight): a
    one-hot block, swapped as one attribute."""
    def indicator(j):
        if kinds[j] != "categorical":
            return None
        try:
            v = _as_float(columns[j])[keep]
        except (TypeError, ValueError):
            return None
        return v if np.isin(v, (0.0, 1.0)).all() else None

    attributes, j, m = [], 0, len(kinds)
    while j < m:
        block, total = [j], indicator(j)
        if total is not None and total.size:
            k = j + 1
            while k < m and not np.all(total == 1.0):
                v = indicator(k)
                if v is None or np.any(total + v > 1.0):
                    break
                block.append(k)
                total = total + v
                k += 1
            if len(block) > 1 and np.all(total == 1.0):
                attributes.append(block)
                j += len(block)
                continue
        attributes.append([j])
        j += 1
    return attributes


def _nearest_distinct(Z):
    """Index of each (distinct) row's nearest other row; a lone row is its own."""
    m = Z.shape[0]
    if m < 2:
        return np.zeros(m, dtype=np.intp)
    nn = NearestNeighbors(n_neighbors=2).fit(Z)
    _, ind = nn.kneighbors(Z)
    own = ind[:, 0] == np.arange(m)
    return np.where(own, ind[:, 1], ind[:, 0])


def _empty_like(X, frame):
    if frame is not None:
        return frame.iloc[:0]
    return np.empty((0, X.shape[1]), dtype=X.dtype)


def _assemble(new_columns, X, frame, sparse):
    if frame is not None:
        data = {}
        for j, name in enumerate(frame.columns):
            data[j] = pd.Series(new_columns[j]).astype(frame.dtypes.iloc[j])
        out = pd.DataFrame(data)
        out.columns = frame.columns
        return out
    out = np.column_stack(new_columns).astype(X.dtype, copy=False) if new_columns else \
        np.empty((0, X.shape[1]), dtype=X.dtype)
    return sp.csr_matrix(out) if sparse else out


def _concat(X, X_syn):
    if hasattr(X, "iloc"):
        return pd.concat([X, X_syn], ignore_index=True)
    if sp.issparse(X):
        return sp.vstack([sp.csr_matrix(X), X_syn], format="csr")
    return np.concatenate([np.asarray(X), X_syn])
