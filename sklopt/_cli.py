"""The ``sklopt`` command (also ``python -m sklopt``).

``sklopt study`` runs the optimization study of :mod:`sklopt.model_selection` on a
built-in data set or a CSV file, prints its table and writes a report.
"""

import argparse
import contextlib
import sys
from pathlib import Path

from . import __version__


def _parser():
    parser = argparse.ArgumentParser(prog="sklopt", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sklopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser(
        "study", help="run the optimization study on a data set",
        description="From a baseline MLP, walk the levers one at a time (structure, "
        "activation and init, optimizer and learning rate, preprocessing and "
        "augmentation, regularization), each a cross-validated grid search keeping "
        "its winner, then distil the best model into a smaller student.")
    source = study.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None,
                        help="built-in data set: digits (default), breast_cancer, wine, "
                        "iris, diabetes (regression)")
    source.add_argument("--data", type=Path, help="a CSV file with a header row")
    study.add_argument("--target", help="the target column of --data")
    study.add_argument("--task", choices=["auto", "classification", "regression"],
                       default="auto", help="task of --data (default: from the target)")
    study.add_argument("--budget", choices=["smoke", "quick", "full"], default="quick",
                       help="cost: quick (default, ~1-3 min on digits on 2 cores), "
                       "full (bigger grids, 5 folds, halving search), smoke (a trial run)")
    study.add_argument("--n-jobs", type=int, default=None,
                       help="parallel fits per search (joblib)")
    study.add_argument("--scheduler", default=None,
                       help="address of a dask.distributed scheduler "
                       "(e.g. tcp://10.0.0.5:8786): the fits run on its cluster")
    study.add_argument("--out", type=Path, default=Path("sklopt_study"),
                       help="output folder (default: ./sklopt_study)")
    study.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    study.add_argument("--random-state", type=int, default=0)
    study.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _load(args):
    from .model_selection._data import load_builtin, load_csv

    if args.data is not None:
        if not args.target:
            raise ValueError("--data needs --target COLUMN.")
        return load_csv(args.data, args.target, args.task)
    if args.target:
        raise ValueError("--target goes with --data.")
    return load_builtin(args.dataset or "digits")


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
    from .model_selection import run_study, write_report
    from .model_selection._data import DataError
    from .model_selection._report import markdown_table

    try:
        X, y, task = _load(args)
    except (DataError, ValueError) as exc:
        print(f"sklopt study: error: {exc}", file=sys.stderr)
        return 2
    print(f"sklopt study: {X.shape[0]} rows, {X.shape[1]} features, {task}, "
          f"budget {args.budget}", file=sys.stderr)
    try:
        with _backend(args.scheduler):
            result = run_study(X, y, task=task, budget=args.budget, n_jobs=args.n_jobs,
                               random_state=args.random_state, device=args.device,
                               verbose=not args.quiet)
    except ValueError as exc:
        print(f"sklopt study: error: {exc}", file=sys.stderr)
        return 2
    table = markdown_table(result.table())
    print(table)
    paths = write_report(result, args.out, title=args.data.name if args.data else (
        args.dataset or "digits"))
    print(f"\nreport: {paths['report']}", file=sys.stderr)
    return 0


def main(argv=None):
    """Entry point of the ``sklopt`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    return {"study": study}[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
