"""AttributionDisplay: feature attributions as a bar chart (beside permutation
importances) or a beeswarm."""

import numbers

import numpy as np

from ._attribution_result import _numeric
from ._attributions import feature_attributions
from ._plot_utils import _pyplot

_METHOD_TITLES = {
    "integrated_gradients": "Integrated Gradients",
    "gradient_shap": "GradientSHAP",
    "gradient_x_input": "gradient x input",
    "smoothgrad": "SmoothGrad",
}
_KINDS = ("bar", "beeswarm")


def _swarm_offsets(x, width=0.38, n_bins=60):
    """Vertical offsets that spread points with close x values apart, alternately
    above and below the centre line (a beeswarm on a grid of ``n_bins`` x bins)."""
    n = len(x)
    if n == 0:
        return np.zeros(0)
    span = np.ptp(x)
    bins = np.floor((x - x.min()) / (span if span > 0 else 1.0) * n_bins)
    order = np.lexsort((x, bins))
    sorted_bins = bins[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    counts = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, counts)
    step = width / max(1, -(-counts.max() // 2))
    offsets = np.empty(n)
    offsets[order] = np.where(rank % 2, -((rank + 1) // 2), rank // 2) * step
    return offsets


def _colour_scale(column):
    """A column's values on [0, 1] for the colour map: numeric values between their 5th
    and 95th percentiles, other values by their sorted category codes; NaN stays."""
    values = _numeric(column)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values
    lo, hi = np.percentile(finite, [5, 95])
    if hi <= lo:
        lo, hi = finite.min(), finite.max()
    if hi <= lo:
        return np.where(np.isfinite(values), 0.5, np.nan)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


class AttributionDisplay:
    """Feature attributions of a sklopt network: a bar chart of each column's mean
    absolute attribution (with the permutation importance of the same columns beside
    it when given), or a beeswarm of the per-row attributions.

    Build it with :meth:`from_estimator` (computes the attributions with
    :func:`~sklopt.inspection.feature_attributions`) or :meth:`from_attributions`.

    Parameters
    ----------
    attributions : Bunch
        Returned by :func:`~sklopt.inspection.feature_attributions`.
    permutation_importances : Bunch, default=None
        Returned by :func:`sklearn.inspection.permutation_importance` on the same
        estimator and the same columns of ``X`` (``attributions.feature_names_in``).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    features_ : list of str
        The columns shown, most important first.
    bars_ : dict of str to matplotlib BarContainer
        ``kind="bar"``: the bars of each series, by legend label.
    collection_ : matplotlib PathCollection or None
        ``kind="beeswarm"``: the points.
    colorbar_ : matplotlib Colorbar or None
        ``kind="beeswarm"``: the feature-value colour bar.

    See Also
    --------
    sklopt.inspection.feature_attributions : The attributions.
    sklearn.inspection.permutation_importance : Model-agnostic importance.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.inspection import AttributionDisplay
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> clf = MLPClassifier((16,), max_iter=200, random_state=0, device="cpu").fit(X, y)
    >>> disp = AttributionDisplay.from_estimator(clf, X, y, permutation=True,
    ...                                          random_state=0)
    >>> len(disp.features_)
    4
    >>> sorted(disp.bars_)
    ['Integrated Gradients', 'permutation importance']
    """

    def __init__(self, attributions, *, permutation_importances=None):
        self.attributions = attributions
        self.permutation_importances = permutation_importances

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, method="integrated_gradients",
                       permutation=False, kind="bar", max_display=10, ax=None,
                       baseline="mean", target=None, n_steps=50, n_repeats=5,
                       scoring=None, output=None, random_state=None):
        """Compute the attributions of a fitted estimator on ``X`` and plot them.

        Parameters
        ----------
        estimator : estimator
            As for :func:`~sklopt.inspection.feature_attributions`.
        X : {array-like, DataFrame} of shape (n_samples, n_columns)
            The rows to explain.
        y : array-like of shape (n_samples,), default=None
            The targets of ``X``; needed with ``permutation=True``.
        method : str, default="integrated_gradients"
            As for :func:`~sklopt.inspection.feature_attributions`.
        permutation : bool, default=False
            Also compute :func:`sklearn.inspection.permutation_importance` on ``X, y``
            and draw it beside the attributions (``kind="bar"``).
        kind : {"bar", "beeswarm"}, default="bar"
            Mean absolute attribution per column, or every row's attribution (x) per
            column (y), coloured by the column's value.
        max_display : int, default=10
            The most important columns to show.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure (constrained layout) when None.
        baseline, target, n_steps, random_state
            As for :func:`~sklopt.inspection.feature_attributions`;
            ``random_state`` also seeds the permutations.
        n_repeats : int, default=5
            Permutations per column (``permutation=True``).
        scoring : str, callable or None, default=None
            Score of the permutation importance; None: the estimator's ``score``.
        output : label, default=None
            With several outputs explained (``target="all"``, multi-output): the class
            label / output index to draw; None: all (stacked bars).

        Returns
        -------
        display : AttributionDisplay
        """
        _pyplot(f"{cls.__name__}.from_estimator")

        cls._check_kind(kind, max_display)
        importances = None
        if permutation:
            if y is None:
                raise ValueError("permutation=True needs y, the targets of X.")
            from sklearn.inspection import permutation_importance

            importances = permutation_importance(estimator, X, y, n_repeats=n_repeats,
                                                 scoring=scoring, random_state=random_state)
        attributions = feature_attributions(estimator, X, method=method, baseline=baseline,
                                            target=target, n_steps=n_steps,
                                            random_state=random_state)
        return cls(attributions, permutation_importances=importances).plot(
            ax=ax, kind=kind, max_display=max_display, output=output)

    @classmethod
    def from_attributions(cls, attributions, *, permutation_importances=None, kind="bar",
                          max_display=10, ax=None, output=None):
        """Plot attributions already computed.

        Parameters
        ----------
        attributions : Bunch
            Returned by :func:`~sklopt.inspection.feature_attributions`.
        permutation_importances : Bunch, default=None
            Returned by :func:`sklearn.inspection.permutation_importance` over the same
            columns of ``X``.
        kind : {"bar", "beeswarm"}, default="bar"
        max_display : int, default=10
        ax : matplotlib Axes, default=None
        output : label, default=None
            See :meth:`from_estimator`.

        Returns
        -------
        display : AttributionDisplay
        """
        _pyplot(f"{cls.__name__}.from_attributions")
        return cls(attributions, permutation_importances=permutation_importances).plot(
            ax=ax, kind=kind, max_display=max_display, output=output)

    @staticmethod
    def _check_kind(kind, max_display):
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}.")
        if not isinstance(max_display, numbers.Integral) or max_display < 1:
            raise ValueError(f"max_display must be an integer >= 1; got {max_display!r}.")

    def _values(self, output):
        """values (n, p) or (n, p, k) and the output labels of the last axis."""
        result = self.attributions
        values, labels = result["values"], np.asarray(result["outputs"])
        if values.ndim == 2:
            if output is not None:
                raise ValueError("output selects among several explained outputs; these "
                                 "attributions explain one per row.")
            return values, None
        if output is None:
            return values, labels
        found = np.flatnonzero(labels == output)
        if len(found) != 1:
            raise ValueError(f"output={output!r} is not one of {labels.tolist()}.")
        return values[:, :, found[0]], None

    def plot(self, ax=None, *, kind="bar", max_display=10, output=None):
        """Draw the attributions.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure (constrained layout) when None.
        kind : {"bar", "beeswarm"}, default="bar"
        max_display : int, default=10
        output : label, default=None
            See :meth:`from_estimator`.

        Returns
        -------
        display : AttributionDisplay
        """
        plt = _pyplot(f"{type(self).__name__}.plot")
        self._check_kind(kind, max_display)
        values, labels = self._values(output)
        if kind == "beeswarm" and values.ndim == 3:
            raise ValueError(
                f"A beeswarm draws one attribution per row; these explain several outputs "
                f"({labels.tolist()}): pass output=<one of them>."
            )
        names = [str(n) for n in self.attributions["feature_names"]]
        magnitude = np.abs(values).mean(axis=0)  # (p,) or (p, k)
        total = magnitude if magnitude.ndim == 1 else magnitude.sum(axis=1)
        shown = np.argsort(-total, kind="stable")[:max_display]
        self.features_ = [names[j] for j in shown]
        if ax is None:
            height = 1.6 + 0.32 * len(shown) * (2 if self.permutation_importances else 1)
            _, ax = plt.subplots(figsize=(7.5, min(max(height, 3.0), 14.0)),
                                 layout="constrained")
        self.ax_, self.figure_ = ax, ax.figure
        self.bars_, self.collection_, self.colorbar_ = {}, None, None
        method = _METHOD_TITLES.get(self.attributions["method"], self.attributions["method"])
        position = np.arange(len(shown))
        if kind == "bar":
            self._bars(ax, magnitude, total, shown, labels, method, position)
        else:
            self._beeswarm(ax, values, shown, method, position)
        ax.set_yticks(position, self.features_)
        ax.set_ylim(len(shown) - 0.5, -0.5)  # most important on top
        more = len(names) - len(shown)
        ax.set_ylabel("column" + (f" (top {len(shown)} of {len(names)})" if more else ""))
        return self

    def _bars(self, ax, magnitude, total, shown, labels, method, position):
        perm = self.permutation_importances
        if perm is None:
            if magnitude.ndim == 1:
                self.bars_[method] = ax.barh(position, magnitude[shown], color="C0",
                                             label=method)
            else:  # one stacked segment per explained output
                left = np.zeros(len(shown))
                for k, label in enumerate(labels):
                    self.bars_[str(label)] = ax.barh(position, magnitude[shown, k],
                                                     left=left, color=f"C{k % 10}",
                                                     label=str(label))
                    left += magnitude[shown, k]
            ax.set_xlabel(f"mean |attribution| ({method}), in units of the output")
            ax.set_title(f"Feature attributions: {method}")
        else:
            # Attributions (units of the output) and permutation importances (units of
            # the score) are not on one scale: each is shown as its share of its total.
            in_names = [str(n) for n in self.attributions["feature_names_in"]]
            where = {name: i for i, name in enumerate(in_names)}
            perm_mean = np.asarray(perm["importances_mean"], dtype=float)
            perm_std = np.asarray(perm["importances_std"], dtype=float)
            if len(perm_mean) != len(in_names):
                raise ValueError(
                    f"permutation_importances has {len(perm_mean)} columns; the "
                    f"attributions were computed on {len(in_names)} columns of X."
                )
            perm_total = np.clip(perm_mean, 0, None).sum() or 1.0
            picked = [where.get(self.features_[i]) for i in range(len(shown))]
            perm_share = np.array([np.nan if j is None else perm_mean[j] / perm_total
                                   for j in picked])
            perm_err = np.array([np.nan if j is None else perm_std[j] / perm_total
                                 for j in picked])
            share = total[shown] / (total.sum() or 1.0)
            self.bars_[method] = ax.barh(position - 0.2, share, height=0.4, color="C0",
                                         label=method)
            self.bars_["permutation importance"] = ax.barh(
                position + 0.2, np.nan_to_num(perm_share), height=0.4, color="C1",
                xerr=np.nan_to_num(perm_err), capsize=2, label="permutation importance")
            ax.set_xlabel("share of the total importance")
            ax.set_title(f"Feature attributions ({method}) and permutation importance")
        ax.axvline(0, color="black", linewidth=0.8)
        if len(self.bars_) > 4:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                      fontsize="small", title="output")
        else:
            ax.legend(loc="lower right", fontsize="small")

    def _beeswarm(self, ax, values, shown, method, position):
        plt = _pyplot(f"{type(self).__name__}.plot")
        data = self.attributions["data"]
        xs, ys, colours = [], [], []
        for row, j in zip(position, shown):
            x = values[:, j]
            xs.append(x)
            ys.append(row + _swarm_offsets(x))
            colours.append(_colour_scale(data[:, j]))
        x, y, c = np.concatenate(xs), np.concatenate(ys), np.concatenate(colours)
        nan = ~np.isfinite(c)
        if nan.any():  # values the colour map cannot place (missing, no numbers)
            ax.scatter(x[nan], y[nan], s=9, color="0.6", alpha=0.8, linewidths=0)
        self.collection_ = ax.scatter(x[~nan], y[~nan], c=c[~nan], cmap="coolwarm",
                                      vmin=0.0, vmax=1.0, s=9, alpha=0.8, linewidths=0,
                                      rasterized=len(x) > 5000)
        self.colorbar_ = plt.colorbar(self.collection_, ax=ax, ticks=[0, 1], aspect=40,
                                      pad=0.02)
        self.colorbar_.set_ticklabels(["low", "high"])
        self.colorbar_.set_label("feature value")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"attribution ({method}): effect on the output")
        ax.set_title(f"Per-row feature attributions: {method}")
