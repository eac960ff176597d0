"""Training-curve and feature-attribution Displays, following scikit-learn's Display API
(``Display.from_estimator(...)`` computes, ``display.plot(ax=...)`` draws)."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils._optional_dependencies import check_matplotlib_support


def _network_estimator(estimator):
    """The fitted sklopt network inside ``estimator``: itself, the last step of a
    Pipeline, the student of a distiller, or a search's best estimator."""
    seen = estimator
    while not hasattr(seen, "history_"):
        if hasattr(seen, "best_estimator_"):
            seen = seen.best_estimator_
        elif hasattr(seen, "student_"):
            seen = seen.student_
        elif hasattr(seen, "steps"):
            seen = seen.steps[-1][1]
        else:
            raise TypeError(
                f"{type(estimator).__name__} has no training history: pass a fitted "
                "sklopt MLPClassifier / MLPRegressor, a Pipeline ending in one, a "
                "DistilledClassifier / DistilledRegressor or a fitted search over them."
            )
    return seen


def _histories(estimators, names):
    """``history_`` of each fitted estimator, keyed by its legend name."""
    if isinstance(estimators, dict):
        names, estimators = list(estimators), list(estimators.values())
    elif not isinstance(estimators, (list, tuple)):
        estimators = [estimators]
    nets = [_network_estimator(e) for e in estimators]
    if names is None:
        names = [type(net).__name__ for net in nets]
        if len(set(names)) < len(names):
            names = [f"{n} {i}" for i, n in enumerate(names)]
    if len(names) != len(nets):
        raise ValueError(f"Got {len(names)} names for {len(nets)} estimators.")
    return {name: net.history_ for name, net in zip(names, nets)}


class LossCurveDisplay:
    """Training loss (and validation loss / score) per epoch of one or several fitted
    sklopt networks, on one axes.

    Parameters
    ----------
    histories : dict of str to pandas.DataFrame
        ``history_`` of each network, by legend name.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the loss curves.
    ax_score_ : matplotlib Axes or None
        Twin axes of the validation scores, when any was recorded.
    lines_ : dict of str to list of matplotlib Line2D
        The lines drawn for each name.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.inspection import LossCurveDisplay
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=30, random_state=0).fit(X, y)
    >>> LossCurveDisplay.from_estimator(clf).lines_["MLPClassifier"][0].get_label()
    'MLPClassifier train loss'
    """

    def __init__(self, histories):
        self.histories = histories

    @classmethod
    def from_estimator(cls, estimators, *, names=None, ax=None, log_scale=False,
                       show_validation=True):
        """Plot the curves of fitted estimators.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of name to estimator
            Fitted sklopt networks, Pipelines ending in one, distillers (their student
            is shown) or fitted searches (their best estimator).
        names : list of str, default=None
            Legend names; default: the class names.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=False
            Log scale for the loss axis.
        show_validation : bool, default=True
            Also draw validation loss (dashed) and score (dotted, right axis) when
            recorded (``early_stopping=True``).

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        histories = _histories(estimators, names)
        return cls(histories).plot(ax=ax, log_scale=log_scale,
                                   show_validation=show_validation)

    def plot(self, ax=None, *, log_scale=False, show_validation=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        log_scale : bool, default=False
            Log scale for the loss axis.
        show_validation : bool, default=True
            Draw the validation curves when recorded.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        self.ax_, self.figure_, self.ax_score_, self.lines_ = ax, ax.figure, None, {}
        for i, (name, hist) in enumerate(self.histories.items()):
            color = f"C{i}"
            lines = ax.plot(hist["epoch"], hist["train_loss"], color=color,
                            label=f"{name} train loss")
            if show_validation and "valid_loss" in hist:
                lines += ax.plot(hist["epoch"], hist["valid_loss"], "--", color=color,
                                 label=f"{name} validation loss")
            if show_validation and "valid_score" in hist:
                if self.ax_score_ is None:
                    self.ax_score_ = ax.twinx()
                    self.ax_score_.set_ylabel("validation score")
                lines += self.ax_score_.plot(hist["epoch"], hist["valid_score"], ":",
                                             color=color,
                                             label=f"{name} validation score")
            self.lines_[name] = lines
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        handles = [line for lines in self.lines_.values() for line in lines]
        ax.legend(handles=handles, fontsize="small")
        return self


class ParameterStabilityDisplay:
    """Weight norm and relative parameter change per epoch of fitted sklopt networks:
    converged, stable training shows a flat weight norm and a change that decays.

    Parameters
    ----------
    histories : dict of str to pandas.DataFrame
        ``history_`` of each network, by legend name.

    Attributes
    ----------
    axes_ : ndarray of 2 matplotlib Axes
        Weight norm (left) and relative change (right, log scale).
    lines_ : dict of str to list of matplotlib Line2D
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.inspection import ParameterStabilityDisplay
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=30, random_state=0).fit(X, y)
    >>> disp = ParameterStabilityDisplay.from_estimator(clf)
    >>> len(disp.axes_)
    2
    """

    def __init__(self, histories):
        self.histories = histories

    @classmethod
    def from_estimator(cls, estimators, *, names=None, axes=None):
        """Plot the parameter-stability curves of fitted estimators.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of name to estimator
            As for :meth:`LossCurveDisplay.from_estimator`.
        names : list of str, default=None
            Legend names; default: the class names.
        axes : array-like of 2 matplotlib Axes, default=None
            Where to draw the norm and the change; a new figure when None.

        Returns
        -------
        display : ParameterStabilityDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        histories = _histories(estimators, names)
        return cls(histories).plot(axes=axes)

    def plot(self, axes=None):
        """Draw the curves.

        Parameters
        ----------
        axes : array-like of 2 matplotlib Axes, default=None
            Where to draw the norm and the change; a new figure when None.

        Returns
        -------
        display : ParameterStabilityDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4))
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 Axes; got {len(axes)}.")
        self.axes_, self.figure_, self.lines_ = axes, axes[0].figure, {}
        for i, (name, hist) in enumerate(self.histories.items()):
            color = f"C{i}"
            self.lines_[name] = [
                *axes[0].plot(hist["epoch"], hist["weight_norm"], color=color, label=name),
                *axes[1].plot(hist["epoch"], hist["param_change"], color=color,
                              label=name),
            ]
        axes[0].set(xlabel="epoch", ylabel="weight norm ||theta||")
        axes[1].set(xlabel="epoch", ylabel="relative change per epoch", yscale="log")
        axes[0].legend(fontsize="small")
        return self


def _pyplot(what):
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f'{what} needs matplotlib; install it with pip install "sklopt[plot]".'
        ) from exc
    return plt


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
    try:
        values = np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        codes, _ = pd.factorize(pd.Series(column), sort=True)
        values = np.where(codes < 0, np.nan, codes).astype(np.float64)
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
        from ._attributions import feature_attributions

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
