"""Feature attributions of sklopt networks, given on the columns the user passed.

The attribution methods: captum computes the attributions on the network's input (found
by ``_lookup.py``); they are then carried back through the preprocessing steps to the
user's columns (``_columns.py``) and returned as an ``Attributions`` Bunch
(``_attribution_result.py``).
"""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ..utils import torch_threads
from ._attribution_result import Attributions
from ._columns import _data_matrix, _to_user_columns, _user_columns, _user_names
from ._lookup import find_network

METHODS = ("integrated_gradients", "gradient_shap", "gradient_x_input", "smoothgrad")
BASELINES = ("mean", "median", "zeros")

# Rows x path steps (or noise samples) in one forward / backward pass. Of 4k-64k, 8k-32k
# were the fastest on the project's 2-core CPU (the model of benchmarks/bench_explain.py):
# large enough that the per-call overhead is small, small enough that the hidden
# activations stay in cache.
_ROWS_PER_PASS = 16_384
# SmoothGrad's noise: this fraction of each network-input column's standard deviation
# over X (Smilkov et al. 2017 found 10-20 % of the input range works best).
_SMOOTHGRAD_NOISE = 0.15
# Torch threads for the attribution passes on a CPU. On the project's 2-core machine two
# threads were at best 10 % faster and, with the other core busy, up to 8x slower
# (benchmarks/bench_explain.py --threads); one thread is never much slower.
_THREADS = 1


def _torch_model(estimator):
    """The fitted network of ``estimator`` (a sklopt MLPClassifier / MLPRegressor) as a
    torch function, through the MLPs' ``_output_function`` hook.

    Returns
    -------
    forward : callable
        ``forward(x)`` maps a (n, n_features_in_) tensor to the output layer's
        activations: class probabilities in the order of ``classes_`` (binary
        classifiers get two columns ``[1 - p, p]``), or the regressor's predictions.
    device : torch.device
    dtype : torch.dtype
        The dtype the network computes in.
    """
    out, device, dtype = estimator._output_function()
    binary = is_classifier(estimator) and estimator.n_outputs_ == 1

    def forward(x):
        p = out(x)
        return torch.cat([1 - p, p], dim=1) if binary else p

    return forward, device, dtype


def _import_captum():
    try:
        import captum.attr
    except ImportError as exc:
        raise ImportError(
            'feature_attributions needs captum; install it with pip install "sklopt[explain]"'
            " (or pip install captum)."
        ) from exc
    return captum.attr


def _row_gradients(forward_fn, inputs, target_ind=None, additional_forward_args=None):
    """Gradient of each row's target output with respect to that row's input.

    Replaces captum's ``gradient_func``, which differentiates one output per row as its
    own autograd root (a Python-level loop over every row of every path step, ten
    times slower than the network itself here). In eval mode the network treats rows
    independently, so the gradient of the outputs' sum is the same, in one pass.
    """
    with torch.enable_grad():
        out = forward_fn(*inputs)
        if isinstance(target_ind, torch.Tensor):
            out = out.gather(1, target_ind.reshape(-1, 1).to(out.device))
        elif target_ind is not None:
            out = out[:, int(target_ind)]
        return torch.autograd.grad(out.sum(), inputs)


def _transform(steps, model, X):
    """X after each preprocessing step; the last entry is the network's input as a
    dense float64 array, validated like the network's own predict does."""
    seen = [X]
    for _, step in steps:
        seen.append(step.transform(seen[-1]))
    Z = validate_data(model, seen[-1], reset=False, accept_sparse=["csr", "csc"],
                      dtype=(np.float64, np.float32))
    Z = Z.toarray() if sp.issparse(Z) else Z
    return seen, np.require(Z, dtype=np.float64, requirements=["C", "W"])


# ------------------------------------------------------------------ baselines


def _summary_row(X, how, integers_as_mode=False):
    """One row of X's columns: their mean or median; the most frequent value for
    non-numeric columns (strings, categories, booleans; integers too when asked)."""
    if not isinstance(X, pd.DataFrame):
        if sp.issparse(X):
            X = X.toarray()
        A = np.asarray(X)
        if A.dtype.kind in "fc" or (A.dtype.kind in "iu" and not integers_as_mode):
            stat = np.nanmean if how == "mean" else np.nanmedian
            return stat(A.astype(np.float64), axis=0)[None, :]
        return _summary_row(pd.DataFrame(A), how, integers_as_mode).to_numpy()
    row = {}
    for name in X.columns:
        column = X[name]
        numeric = (pd.api.types.is_numeric_dtype(column)
                   and not pd.api.types.is_bool_dtype(column))
        if numeric and not (integers_as_mode and pd.api.types.is_integer_dtype(column)):
            row[name] = column.mean() if how == "mean" else column.median()
        else:
            mode = column.mode(dropna=True)
            row[name] = mode.iloc[0] if len(mode) else column.iloc[0]
    frame = pd.DataFrame([row], columns=X.columns)
    for name in X.columns:
        if isinstance(X[name].dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(X[name]):
            frame[name] = frame[name].astype(X[name].dtype)
    return frame


def _like_X(X, rows):
    """``rows`` (2-D) with X's columns, when X is a DataFrame."""
    if isinstance(X, pd.DataFrame) and not isinstance(rows, pd.DataFrame):
        frame = pd.DataFrame(rows, columns=X.columns).infer_objects()
        for name in X.columns:
            dtype = X[name].dtype
            if isinstance(dtype, pd.CategoricalDtype) and not frame[name].isin(
                    dtype.categories).all():
                continue  # not a category: left for the pipeline to reject
            try:
                frame[name] = frame[name].astype(dtype)
            except (TypeError, ValueError):
                pass
        return frame
    return rows


def _net_baseline(baseline, X, steps, model, method, n_columns):
    """The baseline row(s) in the network's input space."""
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ValueError(
                f"baseline must be one of {BASELINES}, a number or an array of X's "
                f"columns; got {baseline!r}."
            )
        if baseline == "zeros":
            return np.zeros((1, model.n_features_in_))
        try:
            return _transform(steps, model, _summary_row(X, baseline))[1]
        except Exception:
            pass
        try:  # integer-coded categories: their mean is no category the encoder knows
            return _transform(steps, model, _summary_row(X, baseline, True))[1]
        except Exception as exc:
            raise ValueError(
                f"baseline={baseline!r}: the row of X's {baseline}s (most frequent values "
                f"for non-numeric columns) cannot go through the pipeline ({exc}). Pass "
                "a baseline row of X's columns instead."
            ) from exc
    if isinstance(baseline, Real) and not isinstance(baseline, bool):
        rows = _like_X(X, np.full((1, n_columns), baseline, dtype=np.float64))
    else:
        rows = baseline if isinstance(baseline, pd.DataFrame) else np.asarray(baseline)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != n_columns or rows.shape[0] == 0:
            raise ValueError(
                f"baseline must have shape ({n_columns},) or (n_baseline_rows, "
                f"{n_columns}) (X's columns); got an array of shape {np.shape(baseline)}."
            )
        if rows.shape[0] > 1 and method != "gradient_shap":
            raise ValueError(
                f"A baseline of {rows.shape[0]} rows is a distribution, which only "
                f"method='gradient_shap' samples from; {method!r} takes one row."
            )
        rows = _like_X(X, rows)
    try:
        Zb = _transform(steps, model, rows)[1]
    except Exception as exc:
        raise ValueError(
            f"The baseline cannot go through the pipeline's preprocessing ({exc}); pass "
            "a baseline row of X's columns that the pipeline can transform."
        ) from exc
    if not np.all(np.isfinite(Zb)):
        raise ValueError("The baseline has non-finite values after preprocessing.")
    return Zb


# ------------------------------------------------------------------ targets


def _targets(model, target, proba):
    """(output indices, per_row, labels): per_row True when each row has one target.

    ``labels`` names what each attribution explains: per row (n_samples,) when
    ``per_row``, else per output (n_outputs,).
    """
    n_out = proba.shape[1]
    if is_classifier(model):
        labels = np.asarray(model.classes_)
        multilabel = model.out_activation_ == "logistic" and model.n_outputs_ > 1
        if target is None and not multilabel:
            index = proba.argmax(axis=1)
            return index, True, labels[index]
        if target is None or (isinstance(target, str) and target == "all"):
            return np.arange(n_out), False, labels
        found = np.flatnonzero(labels == target) if np.ndim(target) == 0 else []
        if len(found) != 1:
            raise ValueError(
                f"target={target!r} is not a class of the classifier; use None (the "
                f"predicted class), 'all', or one of {labels.tolist()}."
            )
        index = np.full(len(proba), found[0])
        return index, True, labels[index]
    if target is None:
        if n_out == 1:
            return np.zeros(len(proba), dtype=int), True, np.zeros(len(proba), dtype=int)
        return np.arange(n_out), False, np.arange(n_out)
    if isinstance(target, str) and target == "all":
        return np.arange(n_out), False, np.arange(n_out)
    if (isinstance(target, Integral) and not isinstance(target, bool)
            and 0 <= target < n_out):
        index = np.full(len(proba), int(target))
        return index, True, index
    raise ValueError(
        f"target={target!r} is not an output of the regressor; use None, 'all' or an "
        f"output index in [0, {n_out})."
    )


# ------------------------------------------------------------------ captum


@contextmanager
def _seeded(random_state, device):
    """Seed torch's and numpy's global generators (captum draws from both) for the
    body, and restore them afterwards."""
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    numpy_state = np.random.get_state()
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


def _explainer(attr, method, forward, scale):
    if method == "integrated_gradients":
        explainer = attr.IntegratedGradients(forward)
    elif method == "gradient_shap":
        explainer = attr.GradientShap(forward)
    elif method == "gradient_x_input":
        explainer = attr.InputXGradient(forward)
    else:  # smoothgrad, on inputs in units of each column's spread (see _attribute)
        mean, std = scale
        saliency = attr.Saliency(lambda u: forward(mean + std * u))
        saliency.gradient_func = _row_gradients
        return attr.NoiseTunnel(saliency)
    explainer.gradient_func = _row_gradients
    return explainer


def _attribute(explainer, method, x, baselines, target, n_steps, scale):
    """Attributions of the rows ``x`` (a tensor on the device) for ``target``."""
    if method == "integrated_gradients":
        return explainer.attribute(x, baselines=baselines, target=target, n_steps=n_steps,
                                   internal_batch_size=len(x) * n_steps)
    if method == "gradient_shap":
        return explainer.attribute(x, baselines=baselines, target=target,
                                   n_samples=n_steps, stdevs=0.0)
    if method == "gradient_x_input":
        return explainer.attribute(x, target=target)
    # SmoothGrad with per-column noise: captum's NoiseTunnel adds noise of one standard
    # deviation to the whole input, so it runs on u = (x - mean) / std, where the noise
    # is the same fraction of every column's spread; d f / d x = (d f / d u) / std.
    mean, std = scale
    grad_u = explainer.attribute((x - mean) / std, nt_type="smoothgrad", nt_samples=n_steps,
                                 stdevs=_SMOOTHGRAD_NOISE, target=target, abs=False)
    return grad_u / std


def _net_attributions(attr, method, forward, device, dtype, Z, Zb, targets, per_row,
                      n_steps, batch_size, random_state):
    """Attributions on the network's input, shape (n_samples, n_net_inputs,
    len(targets)); each target is an int array (one output per row) when ``per_row``,
    else one output index for every row."""
    expansion = 1 if method == "gradient_x_input" else n_steps
    rows = batch_size or max(1, _ROWS_PER_PASS // expansion)
    as_tensor = lambda A: torch.as_tensor(A, dtype=dtype, device=device)  # noqa: E731
    baselines = None if Zb is None else as_tensor(Zb)
    scale = None
    if method == "smoothgrad":
        std = Z.std(axis=0)
        scale = (as_tensor(Z.mean(axis=0)), as_tensor(np.where(std > 0, std, 1.0)))
    explainer = _explainer(attr, method, forward, scale)
    values = np.empty((len(Z), Z.shape[1], len(targets)))
    with _seeded(random_state, device), warnings.catch_warnings():
        # captum's own notes (e.g. on requires_grad) are not the user's concern
        warnings.simplefilter("ignore", UserWarning)
        for k, target in enumerate(targets):
            for s in range(0, len(Z), rows):
                batch_target = (torch.as_tensor(target[s:s + rows], device=device)
                                if per_row else target)
                values[s:s + rows, :, k] = _attribute(
                    explainer, method, as_tensor(Z[s:s + rows]), baselines, batch_target,
                    n_steps, scale).detach().double().cpu().numpy()
    return values


def _evaluate(forward, Z, device, dtype, rows=_ROWS_PER_PASS):
    with torch.no_grad():
        return np.concatenate([
            forward(torch.as_tensor(Z[s:s + rows], dtype=dtype, device=device))
            .double().cpu().numpy()
            for s in range(0, len(Z), rows)
        ]) if len(Z) else np.empty((0, 0))


# ------------------------------------------------------------------ public


def feature_attributions(estimator, X, *, method="integrated_gradients", baseline="mean",
                         target=None, n_steps=50, batch_size=None, random_state=None):
    """Per-row feature attributions of a sklopt network, on the columns of ``X``.

    How much each column of each row moved the network's output away from a baseline,
    computed by `captum <https://captum.ai>`_ on the network's input and carried back
    through the Pipeline's preprocessing steps to ``X``'s columns. The result follows
    :func:`sklearn.inspection.permutation_importance`: a Bunch with a global
    ``importances_mean``, plus the per-row ``values``.

    Read more in docs/user_guide/explanations.md.

    Parameters
    ----------
    estimator : estimator
        A fitted sklopt ``MLPClassifier`` / ``MLPRegressor`` or ``TabularMLPClassifier``
        / ``TabularMLPRegressor``, or one inside a :class:`~sklearn.pipeline.Pipeline`
        (as its last step), a ``DistilledClassifier`` / ``DistilledRegressor`` (its
        student is explained), a :class:`~sklearn.compose.TransformedTargetRegressor`,
        a :class:`~sklearn.frozen.FrozenEstimator` or a fitted search (its best
        estimator), nested to any depth. Behind a ``TransformedTargetRegressor`` or in
        a ``TabularMLPRegressor``, the network predicts the transformed (standardised)
        target: the attributions and ``base_values`` are on that scale.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        The rows to explain, as passed to ``estimator.predict``.
    method : {"integrated_gradients", "gradient_shap", "gradient_x_input", \
"smoothgrad"}, default="integrated_gradients"
        - ``"integrated_gradients"``: gradients integrated along the straight path from
          the baseline to the row (Sundararajan et al. 2017); the attributions of a row
          add up to ``output(row) - output(baseline)`` (``delta`` is the gap).
        - ``"gradient_shap"``: expected gradients over random baseline rows and random
          points of the path (Lundberg & Lee 2017); pass several baseline rows.
        - ``"gradient_x_input"``: input times gradient at the row (the zero input of the
          network is the implicit reference); one pass, no baseline.
        - ``"smoothgrad"``: the gradient averaged over noisy copies of the row (noise of
          15 % of each network input's standard deviation over ``X``); a local
          sensitivity (output per unit of the network input), not an additive share.
    baseline : {"mean", "median", "zeros"}, float or array-like, default="mean"
        The reference the attributions are measured from (integrated_gradients,
        gradient_shap). ``"mean"`` / ``"median"``: the mean / median of each column of
        ``X`` (the most frequent value for non-numeric columns), passed through the
        preprocessing steps. ``"zeros"``: the all-zero input of the network (after the
        preprocessing). A number or an array of shape (n_columns,) is a row of ``X``'s
        columns, passed through the preprocessing; gradient_shap also takes several
        rows, shape (n_baseline_rows, n_columns), and samples from them.
    target : None, "all", class label or int, default=None
        Classifiers: the predicted class of each row (None), every class ("all"), or one
        class label; the attributions are on the predicted probability. Regressors: the
        output (None; every output of a multi-output regressor), "all", or an output
        index.
    n_steps : int, default=50
        Path steps of integrated_gradients; random samples per row of gradient_shap and
        smoothgrad; unused by gradient_x_input.
    batch_size : int, default=None
        Rows explained per pass; each pass evaluates ``batch_size * n_steps`` inputs.
        Default: about 16,384 inputs per pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the random draws of gradient_shap and smoothgrad.

    Returns
    -------
    result : Bunch
        A :class:`~sklearn.utils.Bunch` (``result.values`` is the attributions array,
        not the dict method; ``result.to_shap()`` gives a ``shap.Explanation``) with:

        - ``values`` : ndarray of shape (n_samples, n_features) or (n_samples,
          n_features, n_outputs) — the attributions; 3-D when several outputs are
          explained (``target="all"``, multi-output regressors, multi-label classifiers).
        - ``base_values`` : ndarray of shape (n_samples,) or (n_samples, n_outputs), or
          None — the output at the baseline (at the zero network input for
          gradient_x_input; None for smoothgrad).
        - ``importances_mean`` : ndarray of shape (n_features,) — mean absolute
          attribution of each column (over rows and outputs).
        - ``feature_names`` : ndarray of str — the explained columns: ``X``'s columns
          (a column the pipeline drops gets zeros), then the output columns of a step
          that attributions could not be carried back through, named as that step
          names them (with a warning); in that case only the columns of ``X`` that
          attributions reach are listed.
        - ``feature_names_in`` : ndarray of str — all of ``X``'s columns.
        - ``delta`` : ndarray shaped like ``base_values``, or None — completeness gap
          ``values.sum(1) - (output(row) - base_values)`` (integrated_gradients,
          gradient_shap).
        - ``outputs`` : ndarray — what each set of attributions explains: the class label
          (or output index) per row when ``values`` is 2-D, per last axis when 3-D.
        - ``data`` : ndarray of shape (n_samples, n_features) — the explained values.
        - ``method`` : str.

    Raises
    ------
    ImportError
        When captum is not installed: ``pip install "sklopt[explain]"``.

    See Also
    --------
    AttributionDisplay : Plot the attributions, beside permutation importances.
    to_shap : The attributions as a ``shap.Explanation``.
    sklearn.inspection.permutation_importance : Model-agnostic global importance.

    Notes
    -----
    Per-feature affine preprocessing (StandardScaler, MinMaxScaler, RobustScaler,
    MaxAbsScaler) needs no correction for integrated gradients: with the baseline
    passed through the same map, the straight path in the network's input is the image
    of the straight path in ``X``, and the chain rule's scale factor cancels against the
    scaled difference ``x - baseline``, so each column's attribution is the same in both
    spaces. Expanding encoders (one-hot) have their output columns summed back to their
    source column, which keeps every row's total.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklopt.inspection import feature_attributions
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> model = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=200,
    ...                       random_state=0, device="cpu")).fit(X, y)
    >>> result = feature_attributions(model, X)
    >>> result.values.shape
    (150, 4)
    >>> result.feature_names[result.importances_mean.argmax()]
    'petal length (cm)'
    >>> bool(abs(result.delta).max() < 1e-2)
    True
    """
    attr = _import_captum()
    if not (isinstance(method, str) and method in METHODS):
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1; got {n_steps!r}.")
    if batch_size is not None and (not isinstance(batch_size, Integral)
                                   or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an integer >= 1; got {batch_size!r}.")

    steps, model = find_network(estimator)[:2]
    seen, Z = _transform(steps, model, X)
    user_names = _user_names(X, steps, model)
    if method in ("integrated_gradients", "gradient_shap"):
        Zb = _net_baseline(baseline, X, steps, model, method, len(user_names))
    elif method == "gradient_x_input":  # x * gradient compares x with the zero input
        Zb = np.zeros((1, Z.shape[1]))
    else:
        Zb = None
    forward, device, dtype = _torch_model(model)
    with torch_threads(_THREADS if device.type == "cpu" else None):
        proba = _evaluate(forward, Z, device, dtype)
        index, per_row, labels = _targets(model, target, proba)
        targets = [index] if per_row else [int(k) for k in index]
        values = _net_attributions(attr, method, forward, device, dtype, Z, Zb, targets,
                                   per_row, n_steps, batch_size, random_state)
        reference = None if Zb is None else _evaluate(forward, Zb, device, dtype)

    base_values = delta = None
    if reference is not None:
        reference = reference.mean(axis=0)  # over the baseline rows; (n_outputs,)
        if per_row:
            base_values = reference[index]
            gap = proba[np.arange(len(Z)), index] - base_values
        else:
            base_values = np.broadcast_to(reference[index], (len(Z), len(index))).copy()
            gap = proba[:, index] - base_values
        if method != "gradient_x_input":
            delta = values.sum(axis=1).reshape(gap.shape) - gap
    if per_row:
        values = values[:, :, 0]

    destination, names, kept, extra_data = _user_columns(steps, seen, user_names)
    values = _to_user_columns(values, destination, len(names))
    importance = np.abs(values)
    importances_mean = importance.mean(axis=(0, 2) if importance.ndim == 3 else 0)
    return Attributions(
        values=values,
        base_values=base_values,
        importances_mean=importances_mean,
        feature_names=np.asarray(names, dtype=object),
        delta=delta,
        outputs=np.asarray(labels),
        data=_data_matrix(X, kept, extra_data),
        feature_names_in=np.asarray(user_names, dtype=object),
        method=method,
    )
