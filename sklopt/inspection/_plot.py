"""Training-curve and feature-attribution Displays, following scikit-learn's Display API
(``Display.from_estimator(...)`` computes, ``display.plot(ax=...)`` draws).

Figures are meant to be published as they come: every axes has a title and labelled
axes with units, different losses get different axes, and a legend of more than four
entries sits beside the data instead of over it.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils._optional_dependencies import check_matplotlib_support

#: Legends with more entries than this are drawn beside the axes, not over the data.
MAX_LEGEND_INSIDE = 4


def _network_estimator(estimator):
    """The fitted sklopt network inside ``estimator`` (itself, the last step of a
    Pipeline, the student of a distiller, or a search's best estimator), and whether
    it was reached through a distiller (then it trained on the distillation loss)."""
    seen, distilled = estimator, False
    while not hasattr(seen, "history_"):
        if hasattr(seen, "best_estimator_"):
            seen = seen.best_estimator_
        elif hasattr(seen, "student_"):
            seen, distilled = seen.student_, True
        elif hasattr(seen, "steps"):
            seen = seen.steps[-1][1]
        elif hasattr(seen, "regressor_"):  # TransformedTargetRegressor
            seen = seen.regressor_
        elif type(seen).__name__ == "FrozenEstimator":
            seen = seen.estimator
        else:
            raise TypeError(
                f"{type(estimator).__name__} has no training history: pass a fitted "
                "sklopt MLPClassifier / MLPRegressor, a Pipeline ending in one, a "
                "DistilledClassifier / DistilledRegressor or a fitted search over them."
            )
    return seen, distilled


def _loss_label(net, distilled):
    """The axis label of ``net``'s training loss: what it is, and its unit."""
    if is_classifier(net):
        return "distillation loss (nats)" if distilled else "log-loss (nats)"
    if distilled:
        return "squared error to the teacher blend / 2 (target units²)"
    if getattr(net, "loss", None) == "poisson":
        return "Poisson deviance / 2"
    return "squared error / 2 (target units²)"


def _wrap(label, width=30):
    """A long axis label on two lines, so that it fits beside a short panel."""
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) if len(label) > width else label


def _with_log_scale(label):
    """``'log-loss (nats)'`` -> ``'log-loss (nats, log scale)'``."""
    if label.endswith(")"):
        return label[:-1] + ", log scale)"
    return label + " (log scale)"


def _log_y(ax):
    """A log y scale labelled in plain numbers (``0.1``, ``20``); minor ticks are
    labelled only when the view spans about a decade or less."""
    from matplotlib.ticker import LogFormatter

    class PlainLogFormatter(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            # Enough significant digits to tell neighbouring ticks apart.
            span = max(abs(vmax - vmin), 1e-300)
            digits = min(10, max(3, int(np.ceil(np.log10(abs(x) / span))) + 2))
            return f"{x:.{digits}g}"

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PlainLogFormatter())
    ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False,
                                                   minor_thresholds=(1, 0.4)))


def _score_label(net):
    return "validation accuracy" if is_classifier(net) else "validation R²"


def _named_networks(estimators, names):
    """``[(name, network, distilled)]`` of the fitted estimators, in order."""
    if isinstance(estimators, dict):
        names, estimators = list(estimators), list(estimators.values())
    elif not isinstance(estimators, (list, tuple)):
        estimators = [estimators]
    found = [_network_estimator(e) for e in estimators]
    if names is None:
        names = [type(net).__name__ for net, _ in found]
        if len(set(names)) < len(names):
            names = [f"{n} {i}" for i, n in enumerate(names)]
    if len(names) != len(found):
        raise ValueError(f"Got {len(names)} names for {len(found)} estimators.")
    return [(name, net, distilled) for name, (net, distilled) in zip(names, found)]


def _histories(estimators, names):
    """``history_`` of each fitted estimator, keyed by its legend name."""
    return {name: net.history_ for name, net, _ in _named_networks(estimators, names)}


def _panels(ax, n, figsize, legend_column=False):
    """``n`` Axes to draw on, and where a big legend goes.

    - ``ax=None``: a new constrained-layout figure of ``n`` rows; the legend goes
      beside the figure's panels (``"figure"``).
    - ``n`` Axes given: drawn on as they are; the legend goes beside the top right one.
    - One Axes of a grid given: it is split into ``n`` rows (the Axes itself becomes
      the first), plus a column for the legend when ``legend_column``, so that the
      legend neither covers the data nor stretches one row.

    Returns ``(axes, legend_place)``, ``legend_place`` being ``"figure"``, an Axes to
    hold the legend, or None (beside the top right panel).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, axes = plt.subplots(n, 1, figsize=figsize, layout="constrained", squeeze=False)
        return list(axes.ravel()), "figure"
    axes = list(np.asarray(ax, dtype=object).ravel())
    if len(axes) == n:
        return axes, None
    if len(axes) == 1 and axes[0].get_subplotspec() is not None:
        first, fig = axes[0], axes[0].figure
        if legend_column:
            outer = first.get_subplotspec().subgridspec(1, 2, width_ratios=[4, 1],
                                                         wspace=0.05)
            grid = outer[0].subgridspec(n, 1)
            holder = fig.add_subplot(outer[1])
            holder.set_axis_off()
        else:
            grid, holder = first.get_subplotspec().subgridspec(n, 1), None
        first.set_subplotspec(grid[0])
        return [first] + [fig.add_subplot(grid[i]) for i in range(1, n)], holder
    raise ValueError(
        f"This plot needs {n} Axes (one per kind of loss, and one for validation "
        f"scores); got {len(axes)}. Pass one Axes of a grid (it is split) or {n}."
    )


def _legend(axes, handles, place=None):
    """A legend for the panels ``axes``: inside the first when it holds at most
    MAX_LEGEND_INSIDE entries; else off the data, at ``place`` (see :func:`_panels`)."""
    kw = {"handles": handles, "fontsize": "small"}
    if len(handles) <= MAX_LEGEND_INSIDE:
        return axes[0].legend(**kw)
    if place == "figure":
        return axes[0].figure.legend(loc="outside right upper", **kw)
    if place is not None:
        return place.legend(loc="upper left", borderaxespad=0.0, **kw)
    corner = max(axes, key=lambda a: (round(a.get_position().x1, 3), a.get_position().y1))
    return corner.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                         **kw)


class LossCurveDisplay:
    """Training loss (and validation loss and score) per epoch of one or several
    fitted sklopt networks.

    Each kind of loss gets its own axes (a distilled student's loss is not a plain
    log-loss), and validation scores, recorded with ``early_stopping=True``, a panel
    of their own below the losses. Models are told apart by colour; training curves
    are solid, validation losses dashed.

    Parameters
    ----------
    histories : dict of str to pandas.DataFrame
        ``history_`` of each network, by legend name.
    loss_labels : dict of str to str, default=None
        Label of each network's loss (what it is and its unit); the same label means
        the same axes. Default: ``"training loss"`` for all.
    score_label : str, default="validation score"
        Label of the validation-score axis.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the (first kind of) loss.
    loss_axes_ : dict of str to matplotlib Axes
        Axes of each kind of loss, by its label.
    ax_score_ : matplotlib Axes or None
        Axes of the validation scores, when any was recorded and shown.
    axes_ : list of matplotlib Axes
        Every panel, top to bottom: the losses, then the scores.
    lines_ : dict of str to list of matplotlib Line2D
        The lines drawn for each name: training loss, then validation loss and
        validation score when recorded.
    legend_ : matplotlib Legend
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
    >>> disp = LossCurveDisplay.from_estimator(clf)
    >>> disp.ax_.get_ylabel(), disp.ax_.get_title()
    ('log-loss (nats)', 'Training loss per epoch')
    """

    def __init__(self, histories, *, loss_labels=None, score_label="validation score"):
        self.histories = histories
        self.loss_labels = loss_labels
        self.score_label = score_label

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
        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw: one Axes per panel (one per kind of loss, plus one for
            validation scores when shown), or one Axes, split into those panels. A new
            figure when None.
        log_scale : bool, default=False
            Log scale for the loss axes.
        show_validation : bool, default=True
            Also draw validation loss and score when recorded
            (``early_stopping=True``).

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        found = _named_networks(estimators, names)
        display = cls(
            {name: net.history_ for name, net, _ in found},
            loss_labels={name: _loss_label(net, distilled)
                         for name, net, distilled in found},
            score_label=" / ".join(dict.fromkeys(_score_label(net) for _, net, _ in found)),
        )
        return display.plot(ax=ax, log_scale=log_scale, show_validation=show_validation)

    def plot(self, ax=None, *, log_scale=False, show_validation=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            As for :meth:`from_estimator`.
        log_scale : bool, default=False
            Log scale for the loss axes.
        show_validation : bool, default=True
            Draw the validation curves when recorded.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        from matplotlib.lines import Line2D

        labels = self.loss_labels or {}
        kinds = list(dict.fromkeys(labels.get(n, "training loss") for n in self.histories))
        has_valid_loss = show_validation and any(
            "valid_loss" in h for h in self.histories.values())
        has_score = show_validation and any(
            "valid_score" in h for h in self.histories.values())
        n_panels = len(kinds) + has_score
        n_entries = len(self.histories) + 2 * has_valid_loss
        axes, legend_place = _panels(ax, n_panels,
                                     figsize=(7.5, 3.2 + 2.4 * (n_panels - 1)),
                                     legend_column=n_entries > MAX_LEGEND_INSIDE)
        self.axes_, self.figure_ = axes, axes[0].figure
        self.loss_axes_ = dict(zip(kinds, axes))
        self.ax_ = axes[0]
        self.ax_score_ = axes[-1] if has_score else None

        self.lines_ = {}
        for i, (name, hist) in enumerate(self.histories.items()):
            color = f"C{i % 10}"
            loss_ax = self.loss_axes_[labels.get(name, "training loss")]
            lines = loss_ax.plot(hist["epoch"], hist["train_loss"], color=color,
                                 label=f"{name} training loss")
            if show_validation and "valid_loss" in hist:
                lines += loss_ax.plot(hist["epoch"], hist["valid_loss"], "--",
                                      color=color, label=f"{name} validation loss")
            if has_score and "valid_score" in hist:
                lines += self.ax_score_.plot(hist["epoch"], hist["valid_score"],
                                             color=color, label=f"{name} validation score")
            self.lines_[name] = lines

        for kind, loss_ax in self.loss_axes_.items():
            valid = has_valid_loss and any(
                "valid_loss" in h for n, h in self.histories.items()
                if labels.get(n, "training loss") == kind)
            what = "Training and validation loss" if valid else "Training loss"
            loss_ax.set_xlabel("epoch")
            loss_ax.set_ylabel(_wrap(_with_log_scale(kind) if log_scale else kind))
            if log_scale:
                _log_y(loss_ax)
            if not loss_ax.get_title():
                short = kind.split(" (")[0]
                loss_ax.set_title(f"{what} per epoch" if len(kinds) == 1
                                  else f"{what} per epoch: {short}")
        if has_score:
            self.ax_score_.set_xlabel("epoch")
            self.ax_score_.set_ylabel(self.score_label)
            if not self.ax_score_.get_title():
                self.ax_score_.set_title("Validation score per epoch (held-out split)")

        # One entry per model (its colour), plus the line styles when validation
        # losses are drawn: far fewer entries than one per line.
        handles = [Line2D([], [], color=f"C{i % 10}", label=name)
                   for i, name in enumerate(self.histories)]
        if has_valid_loss:
            handles += [Line2D([], [], color="0.3", label="training loss"),
                        Line2D([], [], color="0.3", ls="--", label="validation loss")]
        self.legend_ = _legend(self.axes_, handles, legend_place)
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
    legend_ : matplotlib Legend
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

        legend_place = None
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
            legend_place = "figure"
        axes = np.asarray(axes, dtype=object).ravel()
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 Axes; got {len(axes)}.")
        self.axes_, self.figure_, self.lines_ = axes, axes[0].figure, {}
        for i, (name, hist) in enumerate(self.histories.items()):
            color = f"C{i % 10}"
            self.lines_[name] = [
                *axes[0].plot(hist["epoch"], hist["weight_norm"], color=color, label=name),
                *axes[1].plot(hist["epoch"], hist["param_change"], color=color,
                              label=name),
            ]
        axes[0].set(xlabel="epoch",
                    ylabel=r"$\Vert\theta\Vert$, L2 norm of all parameters")
        axes[1].set(xlabel="epoch", ylabel=r"$\Vert\theta_{\rm end} - \theta_{\rm start}"
                    r"\Vert \,/\, \Vert\theta_{\rm start}\Vert$" + "\n(log scale)")
        _log_y(axes[1])
        for ax, title in zip(axes, ("Weight norm per epoch",
                                    "Relative parameter change per epoch")):
            if not ax.get_title():
                ax.set_title(title)
        handles = [lines[0] for lines in self.lines_.values()]
        self.legend_ = _legend(list(axes), handles, legend_place)
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
