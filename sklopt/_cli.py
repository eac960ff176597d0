"""The ``sklopt`` command (also ``python -m sklopt``).

``sklopt study`` runs the optimization study of :mod:`sklopt.model_selection` on a
built-in data set or a CSV file, prints its table and writes a report.
"""

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

from . import __version__

#: The budgets in words (``--help``); their settings are ``BUDGETS`` of the study.
BUDGET_HELP = {
    "quick": "the default: 5 outer folds, small candidate lists (measured on digits "
             "on 2 cores: about 2 minutes)",
    "full": "5 outer folds repeated twice (a sharper keep rule), larger candidate "
            "lists and the ablation",
    "smoke": "a trial run: 3 folds, 15 epochs, one candidate per lever",
}


_STUDY_HELP = """\
Walk the levers of a neural network one at a time (structure, activation and
init, optimizer and learning rate, preprocessing and augmentation,
regularization, embeddings and ensembling), keeping a lever only when its gain
on held-out rows is larger than the noise; distil the result into a smaller
student; compare everything with a trivial model, a linear model, gradient
boosting and TabularMLP on the same outer folds.

Every score is measured on outer folds (shuffled, stratified for
classification) that no lever's setting was chosen on. A lever is kept when
the 95% interval of its paired gain over the running best (corrected
resampled t-test) lies above 0. The report says what was dropped, how it was
measured and which model to use.

examples:
  sklopt study                                   digits, quick budget
  sklopt study --data titanic.csv --target survived --out titanic_study
  sklopt study --data sales.csv --target y --cv time --time-limit 600
"""


def _parser():
    parser = argparse.ArgumentParser(
        prog="sklopt", description="sklopt: make a neural network on a table better, "
        "lever by lever, with honest numbers.")
    parser.add_argument("--version", action="version", version=f"sklopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser(
        "study", help="run the optimization study on a data set",
        description=_STUDY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = study.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None,
                        help="built-in data set: digits (default), breast_cancer, wine, "
                        "iris, diabetes (regression)")
    source.add_argument("--data", type=Path, help="a CSV file with a header row")
    study.add_argument("--target", help="the target column of --data")
    study.add_argument("--task", choices=["auto", "classification", "regression"],
                       default="auto", help="task of --data (default: from the target)")
    study.add_argument("--budget", choices=list(BUDGET_HELP), default="quick",
                       help="; ".join(f"{k}: {v}" for k, v in BUDGET_HELP.items()))
    study.add_argument("--cv", choices=["shuffled", "time"], default="shuffled",
                       help="outer folds: shuffled (default; stratified for "
                       "classification) or time (rows in file order, each fold tested "
                       "on rows after its training rows)")
    study.add_argument("--groups", metavar="COL",
                       help="a column of --data naming groups (a patient, a store): "
                       "rows of one group never sit on both sides of a split; the "
                       "column is not a feature")
    study.add_argument("--repeats", type=int, metavar="R", default=None,
                       help="repeat the outer folds R times, each with another "
                       "shuffle: a sharper keep rule for R times the fits (default: "
                       "the budget's, 1 for smoke and quick, 2 for full)")
    study.add_argument("--scoring", metavar="NAME", default=None,
                       help="the metric the decisions use: a scikit-learn scorer name "
                       "such as neg_log_loss, f1_macro, roc_auc, "
                       "neg_root_mean_squared_error (default: accuracy, or r2 for "
                       "regression); every row also shows accuracy and log loss, or "
                       "R^2 and RMSE")
    study.add_argument("--ablation", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="also switch off each lever of TabularMLP in turn, on the "
                       "same folds: what each buys on this table (default: only with "
                       "--budget full; six TabularMLP fits per fold)")
    study.add_argument("--time-limit", type=float, metavar="SECONDS", default=None,
                       help="stop when this many seconds are spent: the step under "
                       "way is dropped and the report shows the steps finished")
    study.add_argument("--n-jobs", type=int, default=None,
                       help="parallel fits (joblib; default: one per core, at most "
                       "8, or every Dask worker with --scheduler; 1: one process)")
    study.add_argument("--scheduler", default=None,
                       help="address of a dask.distributed scheduler "
                       "(e.g. tcp://10.0.0.5:8786): the fits run on its cluster")
    study.add_argument("--out", type=Path, default=Path("sklopt_study"),
                       help="output folder (default: ./sklopt_study); refused when it "
                       "holds files, unless --overwrite")
    study.add_argument("--overwrite", action="store_true",
                       help="write into a non-empty --out folder")
    study.add_argument("--device", default="auto",
                       help="auto (the default: a GPU when there is one), cpu, cuda or "
                       "cuda:N")
    study.add_argument("--random-state", type=int, default=0,
                       help="seed of the folds and the models (default: 0)")
    study.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _load(args):
    from .model_selection._data import DataError, load_builtin, load_csv

    if args.data is not None:
        if not args.target:
            raise ValueError("--data needs --target COLUMN.")
        X, y, task = load_csv(args.data, args.target, args.task)
        groups = None
        if args.groups is not None:
            if args.groups not in X.columns:
                raise DataError(f"--groups {args.groups!r} is not a column of "
                                f"{args.data}.")
            groups = X.pop(args.groups)
        return X, y, task, groups
    if args.target:
        raise ValueError("--target goes with --data.")
    if args.groups:
        raise ValueError("--groups goes with --data.")
    if args.task != "auto":
        raise ValueError("--task goes with --data (a built-in data set has its task).")
    X, y, task = load_builtin(args.dataset or "digits")
    return X, y, task, None


def _backend(scheduler):
    """joblib's Dask backend on the scheduler at ``scheduler`` (or nothing)."""
    if scheduler is None:
        return contextlib.nullcontext()
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "--scheduler needs dask.distributed: pip install 'sklopt[dask]'"
        ) from None
    import joblib

    stack = contextlib.ExitStack()
    stack.enter_context(Client(scheduler))
    stack.enter_context(joblib.parallel_backend("dask"))
    return stack


def study(args):
    import joblib

    from .model_selection import run_study, write_report
    from .model_selection._data import DataError
    from .model_selection._evaluation import check_scorer_fits, check_scoring
    from .model_selection._plan import planned_fits
    from .model_selection._report import check_out, markdown_table

    try:
        # The input first: a mistyped --data names itself, whatever --out holds.
        X, y, task, groups = _load(args)
        check_scorer_fits(check_scoring(args.scoring, task), task, y)
        check_out(args.out, args.overwrite)
    except (DataError, ValueError) as exc:
        print(f"sklopt study: error: {exc}", file=sys.stderr)
        return 2
    limit = "" if args.time_limit is None else f", time limit {args.time_limit:g} s"
    repeats = None if args.repeats is None else max(1, args.repeats)
    planned = planned_fits(args.budget, task=task, ablation=args.ablation,
                           repeats=repeats)
    print(f"sklopt study: {X.shape[0]} rows, {X.shape[1]} columns, {task}, budget "
          f"{args.budget}: {planned} fits{limit}",
          file=sys.stderr)
    def show(message, category, *args, **kwargs):  # a plain line, not a traceback's
        print(f"sklopt study: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings(), _backend(args.scheduler):
            warnings.showwarning = show
            warnings.simplefilter("always", UserWarning)  # the dropped columns
            n_jobs = args.n_jobs
            if n_jobs is None:  # every core here (at most 8), every worker on Dask
                n_jobs = -1 if args.scheduler else min(joblib.cpu_count(), 8)
            result = run_study(X, y, task=task, budget=args.budget, cv=args.cv,
                               groups=groups, repeats=args.repeats,
                               scoring=args.scoring, ablation=args.ablation,
                               n_jobs=n_jobs,
                               time_limit=args.time_limit,
                               random_state=args.random_state, device=args.device,
                               verbose=not args.quiet)
    except ValueError as exc:
        print(f"sklopt study: error: {exc}", file=sys.stderr)
        return 2
    for line in result.summary:
        print(line)
    print()
    print(markdown_table(result.table()))
    name = args.data.name if args.data else (args.dataset or "digits")
    paths = write_report(result, args.out, title=name, overwrite=args.overwrite)
    print(f"\nreport: {paths['report']}", file=sys.stderr)
    return 0


def main(argv=None):
    """Entry point of the ``sklopt`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    return {"study": study}[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
