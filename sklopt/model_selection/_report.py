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


def _plots(result, out):
    """PNG plots; an empty dict when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    from ..inspection import LossCurveDisplay

    paths = {}
    curves = {
        "distilled student (distillation loss)" if s.lever == "distillation" else s.lever:
        s.estimator for s in result.steps if s.kept
    }
    fig, ax = plt.subplots(figsize=(7, 4.5))
    LossCurveDisplay.from_estimator(curves, ax=ax, log_scale=True, show_validation=False)
    ax.set_title("Training loss of each step's winner (refit on all rows)")
    fig.tight_layout()
    paths["loss curves"] = out / "loss_curves.png"
    fig.savefig(paths["loss curves"], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    levers = [s.lever for s in result.steps[1:]]
    changes = [s.change for s in result.steps[1:]]
    errors = [s.std for s in result.steps[1:]]
    ax.barh(levers[::-1], changes[::-1], xerr=errors[::-1], capsize=3,
            color=["C2" if c >= 0 else "C3" for c in changes[::-1]])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"CV {result.scoring} change vs baseline (error bar: std over folds)")
    ax.set_title("What each lever bought (cumulative)")
    fig.tight_layout()
    paths["per-lever gains"] = out / "gains.png"
    fig.savefig(paths["per-lever gains"], dpi=100)
    plt.close(fig)
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
