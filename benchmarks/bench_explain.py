"""Speed of feature attributions against permutation importance of the same model.

One sklopt MLPClassifier (hidden (100,), 30 epochs) fitted on ``make_classification``
(10,000 rows x 50 columns, 10 informative). Every contender explains the same 10,000
rows: ``sklearn.inspection.permutation_importance(n_repeats=5)`` (the reference, 250
predictions of 10,000 rows) and ``sklopt.inspection.feature_attributions`` with each
method at its defaults (Integrated Gradients: 50 Gauss-Legendre steps, i.e. 500,000
forward and backward rows). The table shows the median time of interleaved runs, the
speed-up against permutation importance, and the Spearman rank correlation of each
method's global ordering (mean |attribution| per column) with the permutation ordering
(over all 50 columns, so the 40 noise columns, whose order is noise, pull it down), and
how many of the 10 informative columns each method ranks in its top 10.

``--threads`` also times Integrated Gradients with 2 torch threads (the default is 1,
see ``_THREADS`` in ``sklopt/inspection/_attributions.py``); ``--ablation`` also times
it with captum's stock gradient function (one autograd root per row), which sklopt
replaces.

Run: ``python benchmarks/bench_explain.py [--repeats 3] [--threads] [--ablation]``
"""

import argparse
import time
import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance

from sklopt.inspection import _attributions, feature_attributions
from sklopt.neural_network import MLPClassifier


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", action="store_true",
                        help="also time Integrated Gradients on 2 torch threads")
    parser.add_argument("--ablation", action="store_true",
                        help="also time Integrated Gradients with captum's stock gradients")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    # shuffle=False: the informative columns are the first 10
    X, y = make_classification(10_000, 50, n_informative=10, n_redundant=0, n_classes=3,
                               shuffle=False, random_state=0)
    clf = MLPClassifier((100,), max_iter=30, random_state=0, device="cpu").fit(X, y)

    def attributions(method, **kwargs):
        return lambda: feature_attributions(clf, X, method=method, random_state=0,
                                            **kwargs).importances_mean

    def with_setting(name, value, fn):
        def run():
            previous = getattr(_attributions, name)
            setattr(_attributions, name, value)
            try:
                return fn()
            finally:
                setattr(_attributions, name, previous)
        return run

    contenders = {
        "permutation_importance (n_repeats=5)": lambda: permutation_importance(
            clf, X, y, n_repeats=5, random_state=0).importances_mean,
        "integrated_gradients": attributions("integrated_gradients"),
        "gradient_shap (100 baseline rows)": attributions("gradient_shap",
                                                           baseline=X[:100]),
        "gradient_x_input": attributions("gradient_x_input"),
        "smoothgrad": attributions("smoothgrad"),
    }
    if args.threads:
        contenders["integrated_gradients, 2 threads"] = with_setting(
            "_THREADS", 2, attributions("integrated_gradients"))
    if args.ablation:
        # captum's own gradient function: one autograd root per row
        from captum._utils.gradient import compute_gradients

        contenders["integrated_gradients, captum's stock gradients"] = with_setting(
            "_row_gradients", compute_gradients, attributions("integrated_gradients"))

    times = {k: [] for k in contenders}
    orderings = {}
    for _ in range(args.repeats):
        for name, fn in contenders.items():
            t, importances = timed(fn)
            times[name].append(t)
            orderings[name] = importances
    med = {k: float(np.median(v)) for k, v in times.items()}
    reference = "permutation_importance (n_repeats=5)"
    print(f"{len(X):,} rows x {X.shape[1]} columns, MLP (100,), 3 classes; "
          f"median of {args.repeats} interleaved runs\n")
    print("| method | time (s) | speed-up vs permutation | Spearman vs permutation | "
          "informative in top 10 |")
    print("|---|---|---|---|---|")
    for name in contenders:
        rho = spearmanr(orderings[name], orderings[reference]).statistic
        found = len(set(np.argsort(-orderings[name])[:10].tolist()) & set(range(10)))
        print(f"| {name} | {med[name]:.2f} | {med[reference] / med[name]:.1f}x | "
              f"{rho:.3f} | {found} / 10 |")


if __name__ == "__main__":
    main()
