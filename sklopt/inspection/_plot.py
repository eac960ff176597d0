"""Training-curve Displays, following scikit-learn's Display API
(``Display.from_estimator(...)`` computes, ``display.plot(ax=...)`` draws).

Figures are meant to be published as they come: every axes has a title and labelled
axes with units, different losses get different axes, and a legend of more than four
entries sits beside the data instead of over it.
"""

import numpy as np
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
