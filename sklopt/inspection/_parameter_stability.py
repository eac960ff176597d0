"""ParameterStabilityDisplay: the weight norm and the relative parameter change per
epoch of fitted sklopt networks."""

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support

from ._plot_utils import _legend, _log_y, _named_networks


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
        found = _named_networks(estimators, names)
        return cls({name: f.network.history_ for name, f in found}).plot(axes=axes)

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
