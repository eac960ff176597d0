"""Speedup of a 2-job grid search over 1 job (target >= 1.7x on a 2-core machine).

GridSearchCV over sklopt MLPClassifier on load_digits: 8 candidates x 3 folds, 150
epochs each. joblib's loky workers get ``cpu_count // n_jobs`` torch threads each
(sklopt keeps to the share it is given and leaves the process's thread count as it
found it), so two jobs do not oversubscribe two cores. Runs alternate; medians shown.

Run: ``python benchmarks/bench_parallel.py [--repeats 3]``
"""

import argparse
import os
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sklopt.neural_network import MLPClassifier

GRID = {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-2],
        "learning_rate_init": [1e-3, 3e-3]}


def search(X, y, n_jobs):
    est = MLPClassifier(max_iter=150, n_iter_no_change=200, random_state=0, device="cpu")
    t0 = time.perf_counter()
    grid = GridSearchCV(est, GRID, cv=3, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - t0, grid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    threads_before = torch.get_num_threads()
    search(X, y, 2)  # start the worker pool once, as a notebook session would
    times = {1: [], 2: []}
    results = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            seconds, grid = search(X, y, n_jobs)
            times[n_jobs].append(seconds)
            results[n_jobs] = grid.cv_results_["mean_test_score"]
    t1, t2 = np.median(times[1]), np.median(times[2])
    print(f"cores: {os.cpu_count()}; torch threads before/after: {threads_before}/"
          f"{torch.get_num_threads()}; 24 fits per search")
    print("| n_jobs | seconds (median) | speedup vs n_jobs=1 |")
    print("|---|---|---|")
    print(f"| 1 | {t1:.2f} | 1.00 |")
    print(f"| 2 | {t2:.2f} | {t1 / t2:.2f} |")
    print(f"identical cv_results_: {np.array_equal(results[1], results[2])}")


if __name__ == "__main__":
    main()
