"""Training-curve Displays, following scikit-learn's Display API
(``Display.from_estimator(...)`` computes, ``display.plot(ax=...)`` draws)."""

import numpy as np
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
