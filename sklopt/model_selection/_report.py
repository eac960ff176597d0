"""The study's report: a Markdown page, PNG plots, the per-fold scores and the models."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

# Written by hand: pandas' DataFrame.to_markdown needs the optional `tabulate` package.


def markdown_table(frame):
    """A DataFrame as a GitHub-flavoured Markdown table (no index)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "/") for v in row) + " |")
    return "\n".join(lines)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _figures(result):
    """The report's figures (name -> matplotlib Figure); empty without matplotlib."""
    try:
        import matplotlib.pyplot as plt  # the current backend: figures are closed after
    except ImportError:                  # saving, so none shows up in a notebook
        return {}
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    from ..inspection import LossCurveDisplay
    from ..inspection._loss_curve import _loss_label
    from ..inspection._lookup import find_network

    figures = {}
    models = {"chosen MLP (all rows)": (result.best_estimator, False),
              "distilled student (all rows)": (result.student, True)}
    models = {k: v for k, v in models.items() if v[0] is not None}
    if models:
        # The student is saved without its distiller: the lookup cannot tell that it
        # trained on the distillation loss, so that is said here.
        found = {name: find_network(model) for name, (model, _) in models.items()}
        # One panel per kind of loss: the student's distillation loss is not a log-loss.
        display = LossCurveDisplay(
            {name: f.network.history_ for name, f in found.items()},
            loss_labels={name: _loss_label(found[name].network,
                                           distilled or found[name].distilled,
                                           found[name].transformed_target)
                         for name, (_, distilled) in models.items()},
        ).plot(log_scale=True, show_validation=False)
        display.figure_.suptitle("Training loss of the saved models")
        display.figure_.set_size_inches(8, display.figure_.get_figheight())
        figures["loss curves"] = display.figure_

    # The trivial model and the baseline against it differ by far more than any other
    # row; on one axis they would flatten the rest (they are in the table).
    rows = [s for s in result.steps if s.paired is not None and s.against != "trivial"
            and not s.name.startswith("trivial")][::-1]  # first row on top
    if rows:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6), layout="constrained")
        means = np.array([s.paired.mean for s in rows])
        err = np.array([[s.paired.mean - s.paired.low for s in rows],
                        [s.paired.high - s.paired.mean for s in rows]])
        colors = ["C2" if s.paired.above_noise else "C3" if s.paired.below_noise
                  else "0.6" for s in rows]
        ax.barh(range(len(rows)), means, xerr=err, capsize=3, color=colors)
        ax.set_yticks(range(len(rows)),
                      [f"{s.name} (vs {s.against})" for s in rows])
        ax.axvline(0, color="k", lw=0.8)
        # Few signed ticks: small differences (+0.005) with a minus sign each ran
        # together at matplotlib's default density.
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%+.3g"))
        ax.set_xlabel(f"paired difference of the outer {result.scoring}\n"
                      "(error bar: its 95% interval)")
        ax.set_ylabel("row (vs what it is compared with)")
        ax.set_title("Paired differences on the outer folds\n"
                     "green: above the noise, red: below, grey: within")
        figures["paired differences"] = fig
    return figures


def _plots(result, out):
    """Save the report's figures as PNGs; an empty dict when matplotlib is missing."""
    figures = _figures(result)
    if not figures:
        return {}
    import matplotlib.pyplot as plt

    paths = {}
    for name, fig in figures.items():
        path = out / {"loss curves": "loss_curves.png",
                      "paired differences": "gains.png"}[name]
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths[name] = path
    return paths


def _save_model(estimator, stem):
    """Save with :mod:`sklopt.io` (no pickle); a model it cannot hold (a scikit-learn
    reference) with skops' secure format (``.skops``, no pickle either)."""
    import skops.io as sio

    from ..io import save

    path = stem.with_suffix(".safetensors")
    try:
        save(estimator, path)
    except TypeError:
        path.unlink(missing_ok=True)
        path = stem.with_suffix(".skops")
        sio.dump(estimator, path)
    return path


def _how_to_load(path):
    """How to load a saved model, in words for the report."""
    if path.suffix == ".skops":
        return ("load with `skops.io.load(path, trusted=...)`, trusting the types that "
                "`skops.io.get_untrusted_types(file=path)` lists once you have checked "
                "them (scikit-learn's and sklopt's classes)")
    return "load with `sklopt.io.load`"


# Every file write_report may write: --overwrite removes them first.
_FILES = ("report.md", "summary.csv", "folds.csv", "loss_curves.png", "gains.png",
          "recommended_model.safetensors", "recommended_model.skops",
          "best_model.safetensors", "best_model.skops", "student_model.safetensors",
          "student_model.skops")


def _has_matplotlib():
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def check_out(out, overwrite=False):
    """Refuse an output folder that holds files unless ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"--out {out} is not empty; choose another folder or pass "
                         "--overwrite.")


def report_lines(result, title="data"):
    """The report as Markdown lines (without its figures and files)."""
    lines = [f"# sklopt study: {title}", ""]
    lines += [f"**{line}**" if i == 0 else line for i, line in enumerate(result.summary)]
    lines += ["", "## Data", ""]
    for key, value in result.data.items():
        if key == "dropped":
            value = ", ".join(value) if value else "none"
        lines.append(f"- {key}: {value}")
    lines += ["", "## Evaluation", ""]
    for key, value in result.evaluation.items():
        lines.append(f"- {key}: {value}")
    lines += [
        "",
        "## Results",
        "",
        f"Every score is the {result.scoring} on the outer test folds (mean +/- std over "
        "the folds; the other metric of the task's pair, mean over the same folds, is "
        "in its own column). No lever's setting was chosen with those rows; only the "
        "decision to "
        "keep a lever reads them, through the paired test, which keeps a lever only when "
        "its gain is steady across folds (so the chosen MLP's score can be slightly "
        "optimistic). The paired "
        "difference compares a row with `vs` on the same folds. References run on the "
        "same folds: the trivial and linear ones come first, the strong ones last.",
        "",
        markdown_table(result.table()),
        "",
    ]
    return lines


def write_report(result, out, title="data", overwrite=False):
    """Write ``report.md``, ``loss_curves.png``, ``gains.png``, ``summary.csv``,
    ``folds.csv``, ``best_model.safetensors`` and ``student_model.safetensors``
    (:mod:`sklopt.io` files; skops' ``.skops`` for a model they cannot hold) and, when
    the verdict recommends a reference, ``recommended_model.skops`` (or
    ``.safetensors``) into ``out``.

    Parameters
    ----------
    result : StudyResult
        What :func:`run_study` returned.
    out : str or Path
        The folder; created when missing. One that holds files is refused unless
        ``overwrite``.
    title : str, default="data"
        The data's name in the report's title.
    overwrite : bool, default=False
        Write into a folder that already holds files.

    Returns
    -------
    paths : dict of str to Path
    """
    out = Path(out)
    check_out(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    for name in _FILES:  # an earlier report's files, not left to mislead
        (out / name).unlink(missing_ok=True)
    paths = {"summary": out / "summary.csv", "folds": out / "folds.csv"}
    result.table().to_csv(paths["summary"], index=False)
    pd.DataFrame({s.name: s.scores for s in result.steps}).rename_axis(
        "outer fold").to_csv(paths["folds"])
    if result.best_estimator is not None:
        paths["best model"] = _save_model(result.best_estimator, out / "best_model")
    if result.student is not None:
        paths["student"] = _save_model(result.student, out / "student_model")
    if result.recommended_model is not None and (
            result.recommended_model is not result.best_estimator):
        paths["recommended"] = _save_model(result.recommended_model,
                                           out / "recommended_model")
    plots = _plots(result, out)
    paths.update(plots)

    lines = report_lines(result, title)
    notes = {"paired differences": "The trivial model's row and the baseline's "
             "difference from it are left out here: they dwarf the rest (see the table)."}
    for name, path in plots.items():
        lines += [f"## {name.capitalize()}", "", f"![{name}]({path.name})", ""]
        if name in notes:
            lines += [notes[name], ""]
    if not plots and _has_matplotlib():
        lines += ["(No plots: nothing was measured.)", ""]
    elif not plots:
        lines += ["(Plots skipped: matplotlib is not installed; "
                  "pip install 'sklopt[plot]'.)", ""]
    lines += ["## Files", "",
              "- `summary.csv`: the table above",
              "- `folds.csv`: every row's score on each outer fold"]
    if "recommended" in paths:
        lines.append(f"- `{paths['recommended'].name}`: the recommended model, "
                     f"{result.recommended}, fitted on all rows; it takes the data's "
                     "columns (a DataFrame) or an array with them in the same order ("
                     + _how_to_load(paths["recommended"]) + ")")
    if "best model" in paths:
        lines.append(f"- `{paths['best model'].name}`: the chosen MLP pipeline"
                     + (", the recommended model" if result.recommended == "chosen MLP"
                        else "") + ", fitted on all rows; it takes the data's columns "
                     "(a DataFrame) or an array with them in the same order ("
                     + _how_to_load(paths["best model"]) + ")")
    if "student" in paths:
        lines.append(f"- `{paths['student'].name}`: the distilled student alone, "
                     "fitted on all rows")
    lines.append("")
    paths["report"] = out / "report.md"
    paths["report"].write_text("\n".join(lines))
    return paths
