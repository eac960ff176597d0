"""The study's report: a Markdown page, PNG plots, per-step CV results and the models."""

import re
from pathlib import Path

import joblib

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
    from ..inspection import LossCurveDisplay

    figures = {}
    curves = {
        "distilled student" if s.lever == "distillation" else s.lever: s.estimator
        for s in result.steps if s.kept
    }
    # One panel per kind of loss: the student's distillation loss is not a log-loss.
    display = LossCurveDisplay.from_estimator(curves, log_scale=True,
                                              show_validation=False)
    display.ax_.set_title("Training loss of each kept step's winner (refit on all rows)")
    display.figure_.set_size_inches(8, display.figure_.get_figheight())
    figures["loss curves"] = display.figure_

    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    steps = result.steps[1:][::-1]  # first lever on top
    ax.barh([s.lever for s in steps], [s.change for s in steps],
            xerr=[s.std for s in steps], capsize=3,
            color=["C2" if s.change >= 0 else "C3" for s in steps])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"change of the mean CV {result.scoring} vs the baseline\n"
                  "(error bar: std of that CV score over the folds)")
    ax.set_ylabel("lever (in the order walked)")
    ax.set_title("What each lever bought (cumulative)")
    figures["per-lever gains"] = fig
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
                      "per-lever gains": "gains.png"}[name]
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths[name] = path
    return paths


def _save_model(estimator, stem):
    """Save with :mod:`sklopt.io` (no pickle); joblib only for models it cannot hold."""
    from ..io import save

    path = stem.with_suffix(".safetensors")
    try:
        save(estimator, path)
    except TypeError:
        path.unlink(missing_ok=True)
        path = stem.with_suffix(".joblib")
        joblib.dump(estimator, path)
    return path


def write_report(result, out, title="data"):
    """Write ``report.md``, ``loss_curves.png``, ``gains.png``, ``cv_results/*.csv``,
    ``summary.csv``, ``best_model.safetensors`` and ``student_model.safetensors``
    (:mod:`sklopt.io` files; ``.joblib`` for a model they cannot hold) into ``out``.

    Returns
    -------
    paths : dict of str to Path
    """
    out = Path(out)
    (out / "cv_results").mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, step in enumerate(result.steps):
        path = out / "cv_results" / f"{i}_{_slug(step.lever)}.csv"
        step.cv_results.to_csv(path, index=False)
    paths["summary"] = out / "summary.csv"
    result.table().to_csv(paths["summary"], index=False)
    paths["best model"] = _save_model(result.best_estimator, out / "best_model")
    paths["student"] = _save_model(result.student, out / "student_model")
    plots = _plots(result, out)
    paths.update(plots)

    lines = [
        f"# sklopt study: {title}",
        "",
        f"Task: {result.task}; score: cross-validated {result.scoring} (mean +/- std "
        "over folds). Each lever is a grid search from the previous step's winner; a "
        "step keeps its best setting only if it beats the running best.",
        "",
        markdown_table(result.table()),
        "",
    ]
    for name, path in plots.items():
        lines += [f"## {name.capitalize()}", "", f"![{name}]({path.name})", ""]
    if not plots:
        lines += ["(Plots skipped: matplotlib is not installed; "
                  "pip install 'sklopt[plot]'.)", ""]
    lines += [
        "## Files",
        "",
        "- `cv_results/*.csv`: every candidate of every step (GridSearchCV's cv_results_)",
        "- `summary.csv`: the table above",
        f"- `{paths['best model'].name}`: the best pipeline, refit on all rows "
        "(load with `sklopt.io.load`)",
        f"- `{paths['student'].name}`: the distilled student "
        "(DistilledClassifier/Regressor)",
        "",
    ]
    paths["report"] = out / "report.md"
    paths["report"].write_text("\n".join(lines))
    return paths
