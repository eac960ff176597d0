"""LossCurveDisplay: the training (and validation) loss and score per epoch of fitted
sklopt networks."""

from sklearn.base import is_classifier
from sklearn.utils._optional_dependencies import check_matplotlib_support

from ._plot_utils import (
    MAX_LEGEND_INSIDE,
    _legend,
    _log_y,
    _named_networks,
    _panels,
    _with_log_scale,
    _wrap,
)


def _loss_label(net, distilled=False, transformed_target=False):
    """The axis label of ``net``'s training loss: what it is, and its unit.

    ``distilled``: it trained on a distiller's loss; ``transformed_target``: on the
    target of a TransformedTargetRegressor / TabularMLPRegressor (see
    :class:`~sklopt.inspection._lookup.FoundNetwork`)."""
    if is_classifier(net):
        return "distillation loss (nats)" if distilled else "log-loss (nats)"
    units = "transformed-target units²" if transformed_target else "target units²"
    if distilled:
        return f"squared error to the teacher blend / 2 ({units})"
    if getattr(net, "loss", None) == "poisson":
        return ("Poisson deviance / 2 (of the transformed target)" if transformed_target
                else "Poisson deviance / 2")
    return f"squared error / 2 ({units})"


def _score_label(net):
    return "validation accuracy" if is_classifier(net) else "validation R²"


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
            Fitted sklopt networks (``MLPClassifier`` / ``MLPRegressor``,
            ``TabularMLPClassifier`` / ``TabularMLPRegressor``), or estimators that
            hold one: Pipelines ending in one, distillers (their student is shown),
            ``TransformedTargetRegressor`` (the loss is on the transformed target),
            ``FrozenEstimator`` or fitted searches (their best estimator).
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
            {name: f.network.history_ for name, f in found},
            loss_labels={name: _loss_label(f.network, f.distilled, f.transformed_target)
                         for name, f in found},
            score_label=" / ".join(dict.fromkeys(_score_label(f.network)
                                                 for _, f in found)),
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
        def entries(names, styles):
            out = [Line2D([], [], color=f"C{i % 10}", label=name)
                   for i, name in enumerate(self.histories) if name in names]
            if styles:
                out += [Line2D([], [], color="0.3", label="training loss"),
                        Line2D([], [], color="0.3", ls="--", label="validation loss")]
            return out

        handles = entries(set(self.histories), has_valid_loss)
        if len(kinds) > 1 and not has_score and len(handles) <= MAX_LEGEND_INSIDE:
            # Panels of different losses hold different networks: each panel names
            # its own (legend_ is the first panel's).
            legends = []
            for kind, loss_ax in self.loss_axes_.items():
                names = {n for n in self.histories if labels.get(n, "training loss") == kind}
                styles = has_valid_loss and any("valid_loss" in self.histories[n]
                                                for n in names)
                legends.append(loss_ax.legend(handles=entries(names, styles),
                                              fontsize="small"))
            self.legend_ = legends[0]
            return self
        self.legend_ = _legend(self.axes_, handles, legend_place)
        return self
