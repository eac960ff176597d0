"""Many nets in one pass: a grid search whose networks train together, against
scikit-learn's GridSearchCV and sklopt's networks fitted one at a time, in one run.

The work (issue "many nets in one pass"): a 4 x 3 grid (``learning_rate_init`` x
``alpha``) x 5 folds = 60 fits, Adam, ``max_iter`` epochs without early stopping,
float32 input to every trainer:

(a) 15,000 x 50 (``make_classification``), hidden (100,), 30 epochs;
(b) digits (1,797 x 64, scaled to [0, 1]), hidden (64,), 30 epochs.

Rows: scikit-learn's ``GridSearchCV(sklearn MLPClassifier, n_jobs=-1)`` (the
reference), scikit-learn's ``GridSearchCV(sklopt MLPClassifier, n_jobs=-1)`` (separate
fits, one per worker) and ``sklopt.model_selection.GridSearchCV(sklopt
MLPClassifier)`` batched: all 60 networks in one batch in this process, and with
``n_jobs=-1`` one batch per joblib worker. The table shows each time, its ratio to
the reference and the best mean CV accuracy.

Each trainer runs once untimed on a small problem first: what a session pays once
(scikit-learn's worker processes starting, torch's lazy imports on a first optimizer)
is not in the table.

``--members`` measures instead how a batch's epoch grows with its members: K = 1, 8,
32, 128 networks of case (a)'s shape, (100,), on ``--rows`` rows (1,000,000 by
default, the issue's GPU case; batch 4,096), trained by
:func:`~sklopt.neural_network._batched.fit_batched` on ``--device`` (auto: the GPU
when there is one) for 2 epochs: seconds per epoch and the ratio to K = 1 (the target
on a GPU: 32 members in at most 2x the time of one).

Run: ``python benchmarks/bench_batched.py [--cases a b] [--epochs 30]``, or
``python benchmarks/bench_batched.py --members [--rows 1000000] [--device cuda]``
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn import model_selection as skms
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from sklopt.model_selection import GridSearchCV
from sklopt.neural_network import MLPClassifier

GRID = {"learning_rate_init": [3e-4, 1e-3, 3e-3, 1e-2], "alpha": [1e-5, 1e-4, 1e-2]}


def cases(names):
    if "a" in names:
        X, y = make_classification(15_000, 50, n_informative=25, n_classes=5,
                                   random_state=0)
        yield "a: 15,000 x 50, (100,)", X.astype(np.float32), y, (100,)
    if "b" in names:
        X, y = load_digits(return_X_y=True)
        yield "b: digits, (64,)", (X / 16.0).astype(np.float32), y, (64,)


def timed(search, X, y):
    start = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - start, search.best_score_


def members(rows, device, ks=(1, 8, 32, 128), epochs=2):
    """Seconds per epoch of K members of case (a)'s shape, batched."""
    from sklopt.neural_network._batched import fit_batched

    X, y = make_classification(rows, 50, n_informative=25, n_classes=5, random_state=0)
    X = X.astype(np.float32)
    net = dict(hidden_layer_sizes=(100,), batch_size=4096, max_iter=epochs,
               device=device)
    fit_batched([(MLPClassifier(**net, random_state=0), X[:5000], y[:5000], None)])
    print(f"| members K | seconds per epoch | per member | vs K = 1 |\n|---|---|---|---|")
    first = None
    for k in ks:
        jobs = [(MLPClassifier(**net, random_state=s), X, y, None) for s in range(k)]
        start = time.perf_counter()
        fit_batched(jobs)
        if device != "cpu" and torch.cuda.is_available():
            torch.cuda.synchronize()
        epoch = (time.perf_counter() - start) / epochs
        first = first or epoch
        print(f"| {k} | {epoch:.3f} | {epoch / k:.4f} | {epoch / first:.2f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["a", "b"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--members", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32, 128])
    args = parser.parse_args()
    if args.members:
        warnings.simplefilter("ignore", ConvergenceWarning)
        members(args.rows, args.device, tuple(args.ks))
        return
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"| case | trainer | seconds | vs sklearn GridSearchCV(n_jobs=-1) | best CV "
          f"accuracy |\n|---|---|---|---|---|")
    for name, X, y, hidden in cases(args.cases):
        common = dict(hidden_layer_sizes=hidden, max_iter=args.epochs, random_state=0)
        runs = [
            ("sklearn GridSearchCV(sklearn MLP, n_jobs=-1)",
             skms.GridSearchCV(SkMLP(**common), GRID, cv=5, n_jobs=-1)),
            ("sklearn GridSearchCV(sklopt MLP, n_jobs=-1): separate fits",
             skms.GridSearchCV(MLPClassifier(device="cpu", **common), GRID, cv=5,
                               n_jobs=-1)),
            ("sklopt GridSearchCV(sklopt MLP): one batch, one process",
             GridSearchCV(MLPClassifier(device="cpu", **common), GRID, cv=5)),
            ("sklopt GridSearchCV(sklopt MLP, n_jobs=-1): a batch per worker",
             GridSearchCV(MLPClassifier(device="cpu", **common), GRID, cv=5,
                          n_jobs=-1)),
        ]
        reference = None
        for _, search in runs:  # warm-up: worker start and lazy imports, untimed
            clone(search).set_params(estimator__max_iter=1).fit(X[:300], y[:300])
        for label, search in runs:
            seconds, score = timed(search, X, y)
            reference = reference or seconds
            print(f"| {name} | {label} | {seconds:.1f} | {seconds / reference:.2f} | "
                  f"{score:.4f} |", flush=True)


if __name__ == "__main__":
    main()
