"""Which input column each output column of a fitted scikit-learn transformer comes from.

Attributions are computed on the network's input; these maps carry them back through the
preprocessing steps of a Pipeline to the columns the user passed. A map is an int array
with one entry per output column: the index of the input column it comes from, or -1
where it comes from none that is known (a transformer this module does not know). Steps
are walked from the network back to the user's columns; attributions that reach a -1
stay on that step's output columns.

Known transformers:

* one to one (scalers, imputers without indicator, per-feature monotone maps, encoders
  with one output per input): output column j comes from input column j;
* feature selectors (``SelectorMixin``): the selected input columns;
* per-feature expanding encoders (``OneHotEncoder``, one-hot ``KBinsDiscretizer``,
  ``SplineTransformer``, multiclass ``TargetEncoder``): a block of output columns per
  input column, in input order (sklearn's feature-major output layout);
* imputers with ``add_indicator``: the indicator of column j comes from column j;
* ``ColumnTransformer`` (through ``transformers_`` and ``output_indices_``) and
  ``Pipeline`` (the steps' maps composed), nested to any depth;
* ``TabularPreprocessor`` (through its ``transformer_``) and ``FrozenEstimator`` (the
  estimator it freezes);
* any other ``OneToOneFeatureMixin`` transformer (``SmoothClipScaler``, ...): one to
  one.

:func:`_user_columns` then walks a Pipeline's steps with these maps, and
:func:`_to_user_columns` sums the attributions of the network's inputs onto the user's
columns.
"""

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import OneToOneFeatureMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.frozen import FrozenEstimator
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

from ..preprocessing import TabularPreprocessor

# One output column per input column, in the same order. sklopt's MinMaxScaler is a
# subclass of sklearn's and is matched by isinstance.
ONE_TO_ONE = (
    StandardScaler,
    MinMaxScaler,
    RobustScaler,
    MaxAbsScaler,
    PowerTransformer,
    QuantileTransformer,
    Binarizer,
    OrdinalEncoder,
    FunctionTransformer,  # checked against the real output width by the callers
)


def _one_hot_counts(encoder):
    """Output columns per input column of a fitted OneHotEncoder: its categories, with
    infrequent ones merged into one column and the dropped category removed."""
    counts = np.array([len(c) for c in encoder.categories_])
    try:
        infrequent = encoder.infrequent_categories_
    except AttributeError:  # infrequent grouping not enabled
        infrequent = [None] * len(counts)
    for i, cats in enumerate(infrequent):
        if cats is not None:
            counts[i] -= len(cats) - 1
    drop_idx = getattr(encoder, "drop_idx_", None)
    if drop_idx is not None:
        counts -= np.array([d is not None for d in drop_idx], dtype=int)
    return counts


def _imputer_sources(imputer, n_in):
    """The kept columns (an all-missing column is dropped unless
    ``keep_empty_features``), then one indicator column per column that had missing
    values, read from the imputer's output names."""
    names_in = getattr(imputer, "feature_names_in_", None)
    if names_in is None:
        names_in = [f"x{i}" for i in range(n_in)]
    position = {str(name): i for i, name in enumerate(names_in)}
    sources = []
    for name in imputer.get_feature_names_out():
        name = str(name)
        if name not in position:
            name = name.removeprefix("missingindicator_")
        sources.append(position[name])
    return np.array(sources, dtype=int)


def _resolve_columns(columns, n_features, names):
    """Indices of a ColumnTransformer column selection (as stored in transformers_)."""
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            names = list(names)
            start = 0 if columns.start is None else names.index(columns.start)
            stop = n_features if columns.stop is None else names.index(columns.stop) + 1
            return np.arange(start, stop)
        return np.arange(n_features)[columns]
    cols = np.asarray(columns)
    if cols.ndim == 0:
        cols = cols.reshape(1)
    if cols.dtype == bool:
        return np.flatnonzero(cols)
    if cols.size and not np.issubdtype(cols.dtype, np.integer):
        lookup = {str(name): i for i, name in enumerate(names)}
        return np.array([lookup[str(c)] for c in cols], dtype=int)
    return cols.astype(int)


def column_sources(transformer, n_in, unknown, where=""):
    """Input column of each output column of ``transformer``.

    Parameters
    ----------
    transformer : fitted transformer, "passthrough", "drop" or None
    n_in : int
        Number of input columns.
    unknown : list of str
        Qualified names of the transformers that could not be mapped are appended.
    where : str
        Qualified name of ``transformer``, for ``unknown``.

    Returns
    -------
    sources : ndarray of int or None
        One entry per output column (-1 where unknown); None when the whole
        transformer is unknown (its output width is then unknown too).
    """
    if transformer is None or (isinstance(transformer, str) and transformer == "passthrough"):
        return np.arange(n_in)
    if isinstance(transformer, str) and transformer == "drop":
        return np.empty(0, dtype=int)
    if isinstance(transformer, Pipeline):
        sources, width = None, n_in
        for name, step in transformer.steps:
            step_sources = column_sources(step, width, unknown, f"{where}{name}/")
            if step_sources is None:
                return None
            sources = step_sources if sources is None else np.where(
                step_sources >= 0, sources[step_sources], -1)
            width = len(step_sources)
        return np.arange(n_in) if sources is None else sources
    if isinstance(transformer, FrozenEstimator):
        return column_sources(transformer.estimator, n_in, unknown, where)
    if isinstance(transformer, TabularPreprocessor):
        # Its ColumnTransformer sees all the columns, in the fitted order; the dropped
        # ones (IDs, constants) feed no output column.
        return _column_transformer_sources(transformer.transformer_, unknown, where)
    if isinstance(transformer, ColumnTransformer):
        return _column_transformer_sources(transformer, unknown, where)
    if isinstance(transformer, SelectorMixin):
        return transformer.get_support(indices=True)
    if isinstance(transformer, OneHotEncoder):
        return np.repeat(np.arange(n_in), _one_hot_counts(transformer))
    if isinstance(transformer, (SimpleImputer, KNNImputer)):
        return _imputer_sources(transformer, n_in)
    if isinstance(transformer, MissingIndicator):
        return np.asarray(transformer.features_, dtype=int)
    if isinstance(transformer, KBinsDiscretizer):
        if transformer.encode == "ordinal":
            return np.arange(n_in)
        return np.repeat(np.arange(n_in), transformer.n_bins_)
    if isinstance(transformer, SplineTransformer):
        return np.repeat(np.arange(n_in), transformer.n_features_out_ // n_in)
    if isinstance(transformer, TargetEncoder):
        per_column = len(transformer.classes_) if transformer.target_type_ == "multiclass" else 1
        return np.repeat(np.arange(n_in), per_column)
    if isinstance(transformer, ONE_TO_ONE + (OneToOneFeatureMixin,)):
        return np.arange(n_in)
    unknown.append(f"{where}{type(transformer).__name__}")
    return None


def _column_transformer_sources(ct, unknown, where):
    widths = {name: sl.stop - sl.start for name, sl in ct.output_indices_.items()}
    n_out = max((sl.stop for sl in ct.output_indices_.values()), default=0)
    sources = np.full(n_out, -1)
    names = getattr(ct, "feature_names_in_", None)
    for name, transformer, columns in ct.transformers_:
        out = ct.output_indices_[name]
        if widths[name] == 0:
            continue
        inputs = _resolve_columns(columns, ct.n_features_in_, names)
        sub = column_sources(transformer, len(inputs), unknown, f"{where}{name}/")
        if sub is None or len(sub) != widths[name]:
            if sub is not None:
                unknown.append(f"{where}{name}")
            continue
        sources[out] = np.where(sub >= 0, inputs[np.maximum(sub, 0)], -1)
    return sources


# ------------------------------------------------------------------ a Pipeline's steps


def _n_columns(A):
    return A.shape[1] if hasattr(A, "shape") else np.shape(A)[1]


def _column(A, j):
    if isinstance(A, pd.DataFrame):
        return A.iloc[:, j].to_numpy()
    if sp.issparse(A):
        return A[:, [j]].toarray().ravel()
    return np.asarray(A)[:, j]


def _user_names(X, steps, model):
    first = steps[0][1] if steps else model
    names = getattr(first, "feature_names_in_", None)
    if names is None and isinstance(X, pd.DataFrame):
        names = X.columns
    if names is None:
        return [f"x{i}" for i in range(_n_columns(X))]
    return [str(n) for n in names]


def _output_names(steps, k, user_names):
    """Names of the output columns of step ``k``."""
    try:
        names = user_names
        for _, step in steps[:k + 1]:
            names = step.get_feature_names_out(names)
        return [str(n) for n in names]
    except Exception:  # a step without output names: fall back on the step's own
        pass
    name, step = steps[k]
    try:
        return [str(n) for n in step.get_feature_names_out()]
    except Exception:
        return None


def _user_columns(steps, seen, user_names):
    """Where each network input column lands: an index into the returned names.

    Steps are walked from the network back to the user's input; a column whose origin
    is unknown stays on the output column of that step (named as such), with a warning.

    Returns
    -------
    destination : ndarray of int, shape (n_net_inputs,)
    names : list of str
    kept : ndarray of int
        The user columns among ``names`` (they come first).
    extra_data : list of ndarray
        The values of the columns that stayed on a step's output.
    """
    n_net = _n_columns(seen[-1])
    current = np.arange(n_net)  # column of the current step's output
    stuck = np.full(n_net, -1)  # index into `extra` once a column stays put
    extra_names, extra_steps, extra_data = [], [], []
    for k in reversed(range(len(steps))):
        name, step = steps[k]
        n_in, n_out = _n_columns(seen[k]), _n_columns(seen[k + 1])
        unknown = []
        sources = column_sources(step, n_in, unknown, f"{name}/")
        if sources is None or len(sources) != n_out:
            sources = np.full(n_out, -1)
            unknown = unknown or [f"{name}/{type(step).__name__}"]
        live = stuck < 0
        source = np.full(n_net, -1)
        source[live] = sources[current[live]]
        blocked = live & (source < 0)
        if blocked.any():
            out_names = _output_names(steps, k, user_names) or [
                f"{name}__x{j}" for j in range(n_out)]
            new = []
            for j in np.unique(current[blocked]):
                label = out_names[j]
                if label in extra_names:
                    label = f"{name}__{label}"
                stuck[blocked & (current == j)] = len(extra_names)
                extra_steps.append(name)
                extra_names.append(label)
                extra_data.append(_column(seen[k + 1], j))
                new.append(label)
            warnings.warn(
                f"Attributions cannot be carried back through {', '.join(unknown)} (not a "
                "per-feature or encoding transformer that sklopt knows); they are given "
                f"on its output columns: {', '.join(new[:8])}"
                f"{', ...' if len(new) > 8 else ''}.",
                UserWarning, stacklevel=3,
            )
        current = np.where(stuck < 0, source, current)
    # Every user column is listed (one the pipeline drops gets zeros, which is true),
    # unless some attributions stayed on a step's outputs: then only the user columns
    # that attributions reach, since the columns behind that step are not known.
    kept = np.arange(len(user_names))
    if extra_names:
        kept = np.unique(current[stuck < 0])
    position = np.full(len(user_names), -1)
    position[kept] = np.arange(len(kept))
    destination = np.where(stuck < 0, position[np.where(stuck < 0, current, 0)],
                           len(kept) + stuck)
    names = [user_names[j] for j in kept]
    names += [f"{step}__{label}" if label in names else label
              for step, label in zip(extra_steps, extra_names)]
    return destination, names, kept, extra_data


def _to_user_columns(values, destination, n_columns):
    """Sum the attributions of the network inputs that share a destination column."""
    fold = np.zeros((len(destination), n_columns))
    fold[np.arange(len(destination)), destination] = 1.0
    if values.ndim == 2:
        return values @ fold
    return np.einsum("ndk,dp->npk", values, fold)


def _data_matrix(X, kept, extra_data):
    """The values of the explained columns, numeric where they are, else objects."""
    columns = [_column(X, j) for j in kept] + list(extra_data)
    try:
        return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    except (TypeError, ValueError):
        return np.column_stack([np.asarray(c, dtype=object) for c in columns])
