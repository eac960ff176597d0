"""Checks that a matplotlib figure is fit to publish (used by test_plots.py and
test_examples.py): titles, axis labels, no overlapping labels, big legends beside the
data, nothing cut off at the figure's edge."""

from itertools import combinations

MAX_LEGEND_INSIDE = 4


def _tick_labels(axis):
    """The tick labels drawn on ``axis`` (locators also place ticks just outside the
    view, whose labels are never drawn)."""
    ticks = axis._update_ticks()  # the ticks in view, as matplotlib draws them
    return [label for tick in ticks for label in (tick.label1, tick.label2)
            if label.get_visible() and label.get_text().strip()]


def _texts(fig):
    """Every text drawn on ``fig``: titles, axis labels, the tick labels in view,
    annotations, legend texts and figure texts."""
    texts = [fig._suptitle, *fig.texts]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            if ax.axison and axis.get_visible():
                texts += [axis.label, axis.get_offset_text(), *_tick_labels(axis)]
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            texts += [*legend.texts, legend.get_title()]
    for legend in fig.legends:
        texts += [*legend.texts, legend.get_title()]
    unique = {id(t): t for t in texts if t is not None}  # the suptitle is in fig.texts
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def _overlap(a, b, tol=1.0):
    """Whether two display-space boxes overlap by more than ``tol`` pixels."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol
            and min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def publishing_problems(fig):
    """What is wrong with ``fig`` for publication, as a list of sentences."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    data_axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    for ax in data_axes:
        where = f"axes {ax.get_title() or ax.get_label() or id(ax)!r}"
        if ax.get_label() == "<colorbar>":  # needs a label on its long side only
            if not (ax.get_xlabel() or ax.get_ylabel()):
                problems.append("a colour bar has no label")
        elif not ax.get_title() and not suptitle:
            problems.append(f"{where} has no title")
        if ax.get_label() != "<colorbar>" and (ax.has_data() or ax.lines or ax.patches
                                               or ax.collections):
            if not ax.get_xlabel():
                problems.append(f"{where} has no x label")
            if not ax.get_ylabel():
                problems.append(f"{where} has no y label")
        for axis_name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _tick_labels(axis)
            boxes = [t.get_window_extent(renderer) for t in labels]
            for (ta, a), (tb, b) in combinations(zip(labels, boxes), 2):
                if _overlap(a, b):
                    problems.append(f"{where}: {axis_name} tick labels "
                                    f"{ta.get_text()!r} and {tb.get_text()!r} overlap")
    legends = [ax.get_legend() for ax in fig.axes if ax.get_visible()] + list(fig.legends)
    for legend in legends:
        if legend is not None and len(legend.texts) > MAX_LEGEND_INSIDE:
            box = legend.get_window_extent(renderer)
            for other in data_axes:
                if _overlap(box, other.get_window_extent(renderer), tol=2.0):
                    problems.append(f"a legend of {len(legend.texts)} entries covers "
                                    f"the data of axes {other.get_title()!r}")
    # No two texts of the figure (titles, labels, tick labels, annotations) overlap,
    # and none is cut off by the figure's edge.
    texts = _texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    fig_box = fig.bbox
    for text, box in zip(texts, boxes):
        if (box.x0 < fig_box.x0 - 1 or box.y0 < fig_box.y0 - 1
                or box.x1 > fig_box.x1 + 1 or box.y1 > fig_box.y1 + 1):
            problems.append(f"text {text.get_text()!r} is cut off by the figure's edge")
    for (ta, a), (tb, b) in combinations(zip(texts, boxes), 2):
        if _overlap(a, b, tol=2.0):
            problems.append(f"texts {ta.get_text()!r} and {tb.get_text()!r} overlap")
    return sorted(set(problems))
