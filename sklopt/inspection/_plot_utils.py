"""What the Displays share: finding the networks to draw, matplotlib's import, axis
labels, log axes, panels and legends.

Figures are meant to be published as they come: every axes has a title and labelled
axes with units, different losses get different axes, and a legend of more than four
entries sits beside the data instead of over it.
"""

import numpy as np

from ._lookup import find_network

#: Legends with more entries than this are drawn beside the axes, not over the data.
MAX_LEGEND_INSIDE = 4


def _pyplot(what):
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f'{what} needs matplotlib; install it with pip install "sklopt[plot]".'
        ) from exc
    return plt


def _legend_name(estimator, found):
    """The user's estimator (``TabularMLPClassifier``, ``DistilledClassifier``) by its
    class; generic wrappers (a Pipeline, a search, a frozen or target-transformed
    model) by the network's."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import Pipeline

    generic = (Pipeline, BaseSearchCV, FrozenEstimator, TransformedTargetRegressor)
    return type(found.network if isinstance(estimator, generic) else estimator).__name__


def _named_networks(estimators, names):
    """``[(name, found)]`` of the fitted estimators, in order: ``found`` is the
    :class:`~sklopt.inspection._lookup.FoundNetwork` of each."""
    if isinstance(estimators, dict):
        names, estimators = list(estimators), list(estimators.values())
    elif not isinstance(estimators, (list, tuple)):
        estimators = [estimators]
    found = [find_network(e) for e in estimators]
    if names is None:
        names = [_legend_name(e, f) for e, f in zip(estimators, found)]
        if len(set(names)) < len(names):
            names = [f"{n} {i}" for i, n in enumerate(names)]
    if len(names) != len(found):
        raise ValueError(f"Got {len(names)} names for {len(found)} estimators.")
    return list(zip(names, found))


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
