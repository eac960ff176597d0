"""The result of :func:`~sklopt.inspection.feature_attributions` (a Bunch), and its
conversion to a ``shap.Explanation``."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch


class Attributions(Bunch):
    """The Bunch that :func:`feature_attributions` returns.

    A :class:`~sklearn.utils.Bunch` whose ``values`` attribute is the attributions array
    (as in shap), not the dict method; ``to_shap()`` converts it.
    """

    @property
    def values(self):
        return self["values"]

    def to_shap(self, output=None):
        """The attributions as a ``shap.Explanation``; see :func:`to_shap`."""
        return to_shap(self, output=output)


def to_shap(attributions, output=None):
    """The result of :func:`feature_attributions` as a ``shap.Explanation``, for shap's
    plots (``shap.plots.beeswarm``, ``waterfall``, ...).

    Parameters
    ----------
    attributions : Bunch
        Returned by :func:`feature_attributions`.
    output : label, default=None
        With 3-D ``values`` (several outputs), the class label / output index to keep;
        None keeps all (shap's multi-output Explanation).

    Returns
    -------
    explanation : shap.Explanation
        ``values``, ``base_values``, ``data`` (non-numeric columns as category codes,
        their values in ``display_data``) and ``feature_names``.

    Raises
    ------
    ImportError
        When shap is not installed.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklopt.inspection import feature_attributions, to_shap
    >>> from sklopt.neural_network import MLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0,
    ...                    device="cpu").fit(X, y)
    >>> explanation = to_shap(feature_attributions(reg, X[:20]))
    >>> explanation.values.shape
    (20, 10)
    """
    try:
        import shap
    except ImportError as exc:
        raise ImportError(
            "to_shap needs shap; install it with pip install shap."
        ) from exc
    values, base_values = attributions.values, attributions.base_values
    if output is not None:
        if values.ndim != 3:
            raise ValueError("output selects among several outputs; values are 2-D.")
        found = np.flatnonzero(np.asarray(attributions.outputs) == output)
        if len(found) != 1:
            raise ValueError(f"output={output!r} is not one of "
                             f"{np.asarray(attributions.outputs).tolist()}.")
        values = values[:, :, found[0]]
        base_values = None if base_values is None else base_values[:, found[0]]
    data = attributions.data
    display_data = None
    if data.dtype == object:
        display_data = data
        data = np.column_stack([_numeric(data[:, j]) for j in range(data.shape[1])])
    if base_values is None:
        base_values = np.zeros(values.shape[:1] + values.shape[2:])
    return shap.Explanation(values=values, base_values=base_values, data=data,
                            display_data=display_data,
                            feature_names=[str(n) for n in attributions.feature_names])


def _numeric(column):
    """A column as floats: itself when numeric, else its category codes."""
    try:
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        codes, _ = pd.factorize(pd.Series(column), sort=True)
        return np.where(codes < 0, np.nan, codes).astype(np.float64)
