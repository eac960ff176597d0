"""MinMaxScaler with an outlier-robust range."""

from numbers import Real

import numpy as np
from sklearn.preprocessing import MinMaxScaler as _SkMinMaxScaler
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import FLOAT_DTYPES, validate_data

from ..utils._doc_link import DocLinkMixin
from ..utils._param_validation import PercentileRange

_FULL_RANGE = (0.0, 100.0)


class MinMaxScaler(DocLinkMixin, _SkMinMaxScaler):
    """Scale each feature to a range, optionally measured between two percentiles.

    Everything :class:`sklearn.preprocessing.MinMaxScaler` does (``feature_range``,
    ``clip``, ``inverse_transform``, NaN passed through, ``get_feature_names_out``,
    ``set_output``), plus ``quantile_range``: the range of each feature is taken between
    its ``q_low`` and ``q_high`` percentiles, so that a few outliers do not squash the
    other values into a sliver of the output range. The default ``(0, 100)`` is the
    minimum and maximum, and reproduces sklearn's scaler exactly (its code runs).

    The transform is ``X_scaled = (X - q_low) / (q_high - q_low) * (max - min) + min``
    with ``min, max = feature_range``. A constant feature (zero range) maps to the low
    end, ``min``. Values beyond the percentiles fall outside ``feature_range`` unless
    ``clip=True``, which bounds what ``transform`` returns to ``feature_range``.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
        Desired range of transformed data.
    copy : bool, default=True
        Set to False to perform inplace scaling where possible.
    clip : bool, default=False
        Clip transformed values to ``feature_range``.
    quantile_range : tuple (q_low, q_high), 0 <= q_low < q_high <= 100, \
default=(0.0, 100.0)
        Percentiles between which each feature's range is measured. NaNs are ignored.

    Attributes
    ----------
    min_ : ndarray of shape (n_features,)
        Per-feature adjustment for minimum.
    scale_ : ndarray of shape (n_features,)
        Per-feature relative scaling of the data.
    data_min_ : ndarray of shape (n_features,)
        Per-feature ``q_low`` percentile seen in the data (the minimum by default).
    data_max_ : ndarray of shape (n_features,)
        Per-feature ``q_high`` percentile seen in the data (the maximum by default).
    data_range_ : ndarray of shape (n_features,)
        ``data_max_ - data_min_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    n_samples_seen_ : int
        Number of samples processed.

    See Also
    --------
    sklearn.preprocessing.MinMaxScaler : The scaler this one extends.
    sklearn.preprocessing.RobustScaler : Centres and scales by percentiles, unbounded.

    Examples
    --------
    >>> import numpy as np
    >>> from sklopt.preprocessing import MinMaxScaler
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [1000.0]])
    >>> MinMaxScaler().fit_transform(X).ravel().round(3)
    array([0.   , 0.001, 0.002, 0.003, 1.   ])
    >>> MinMaxScaler(quantile_range=(0, 75), clip=True).fit_transform(X).ravel()
    array([0.        , 0.33333333, 0.66666667, 1.        , 1.        ])
    """

    _parameter_constraints: dict = {
        **_SkMinMaxScaler._parameter_constraints,
        "quantile_range": [PercentileRange()],
    }

    def __init__(self, feature_range=(0, 1), *, copy=True, clip=False,
                 quantile_range=_FULL_RANGE):
        super().__init__(feature_range=feature_range, copy=copy, clip=clip)
        self.quantile_range = quantile_range

    def _checked_quantile_range(self):
        q = self.quantile_range
        if (
            len(q) != 2
            or not all(isinstance(v, Real) for v in q)
            or not 0 <= q[0] < q[1] <= 100
        ):
            raise ValueError(
                f"quantile_range must be a tuple (q_low, q_high) with "
                f"0 <= q_low < q_high <= 100; got {q!r}."
            )
        return float(q[0]), float(q[1])

    def _full_range(self):
        return self._checked_quantile_range() == _FULL_RANGE

    def _partial_fit_available(self):
        # An invalid quantile_range keeps partial_fit, whose parameter validation then
        # names it (InvalidParameterError), as fit's does.
        try:
            return self._full_range()
        except (TypeError, ValueError):
            return True

    def fit(self, X, y=None):
        """Compute the per-feature range to be used for later scaling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data used to compute the per-feature range.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        self._validate_params()
        if self._full_range():
            return super().fit(X, y)  # sklearn's own min / max code
        self._reset()
        return self._fit_percentiles(X)

    @available_if(_partial_fit_available)
    def partial_fit(self, X, y=None):
        """Online update of the per-feature min and max (sklearn's).

        Percentiles cannot be updated online, so this method exists only with the
        default ``quantile_range=(0, 100)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data used to update the range.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        return super().partial_fit(X, y)

    def _fit_percentiles(self, X):
        q_low, q_high = self._checked_quantile_range()
        feature_range = self.feature_range
        if feature_range[0] >= feature_range[1]:
            raise ValueError(
                "Minimum of desired feature range must be smaller than maximum. Got "
                f"{feature_range}."
            )
        X = validate_data(self, X, reset=True, dtype=FLOAT_DTYPES,
                          ensure_all_finite="allow-nan")
        data_min = np.nanpercentile(X, q_low, axis=0)
        data_max = np.nanpercentile(X, q_high, axis=0)
        data_range = data_max - data_min
        self.scale_ = (feature_range[1] - feature_range[0]) / _handle_zeros_in_scale(
            data_range, copy=True
        )
        self.min_ = feature_range[0] - data_min * self.scale_
        self.data_min_ = data_min
        self.data_max_ = data_max
        self.data_range_ = data_range
        self.n_samples_seen_ = X.shape[0]
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # sklearn's scaler supports the array API; the percentile path here is numpy
        # only (np.nanpercentile), so this one does not claim it.
        tags.array_api_support = False
        return tags
