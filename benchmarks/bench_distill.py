"""Knowledge distillation: does the distilled student beat the same student trained from
scratch, and how much faster does it predict than its teacher?

For each data set and seed: a large teacher (an sklopt MLP (512, 512) and a
HistGradientBoostingClassifier of 300 trees), a small student MLP (32,) trained from
scratch on the labels, and the same student distilled from each teacher (default
``DistilledClassifier`` settings plus a transfer set of 2 SwapNoise copies). Test
accuracy is the mean +/- std over seeds; latency is the median predict time of one row
and of 10,000 rows (student vs teacher, measured in the same run, interleaved).

Run: ``python benchmarks/bench_distill.py [--seeds 3]``
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.distillation import DistilledClassifier
from sklopt.neural_network import MLPClassifier
from sklopt.preprocessing import SwapNoise


def datasets(seed):
    X, y = load_digits(return_X_y=True)
    # A small training set, where a student has the most to learn from a teacher.
    yield "digits (500 train)", train_test_split(
        X / 16.0, y, train_size=500, random_state=seed, stratify=y)
    X, y = make_classification(20_000, 50, n_informative=25, n_classes=5,
                               random_state=0)
    yield "20000x50 (15000 train)", train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y)


def teachers(seed):
    return {
        "MLP (512, 512)": MLPClassifier((512, 512), max_iter=100, early_stopping=True,
                                        random_state=seed, device="cpu"),
        "HGB (300 trees)": HistGradientBoostingClassifier(
            max_iter=300, early_stopping=False, random_state=seed),
    }


def student(seed):
    return MLPClassifier((32,), max_iter=200, random_state=seed, device="cpu")


def latency(estimator, X, repeats):
    """Median seconds of ``estimator.predict(X)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        estimator.predict(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    scores = {}  # (data, model) -> list of accuracies
    lat = {}  # (data, model) -> [t(1 row), t(10000 rows)]
    for seed in range(args.seeds):
        for data, (X, Xt, y, yt) in datasets(seed):
            big_X = np.resize(Xt, (10_000, Xt.shape[1]))
            scratch = student(seed).fit(X, y)
            scores.setdefault((data, "student from scratch"), []).append(
                scratch.score(Xt, yt))
            models = {"student from scratch": scratch}
            for name, teacher in teachers(seed).items():
                teacher.fit(X, y)
                scores.setdefault((data, f"teacher {name}"), []).append(
                    teacher.score(Xt, yt))
                distilled = DistilledClassifier(
                    teacher, student(seed), fit_teacher=False,
                    transfer=SwapNoise(0.2), n_transfer=2, random_state=seed,
                ).fit(X, y)
                scores.setdefault((data, f"distilled from {name}"), []).append(
                    distilled.score(Xt, yt))
                models[f"teacher {name}"] = teacher
                models[f"distilled from {name}"] = distilled
            if seed == 0:
                for _ in range(2):  # interleave, keep the last
                    for name, model in models.items():
                        lat[(data, name)] = [latency(model, Xt[:1], args.repeats),
                                             latency(model, big_X, 5)]

    print("| data | model | test accuracy | vs scratch | predict 1 row (ms) | "
          "10,000 rows (ms) | 1 row vs teacher | 10,000 rows vs teacher |")
    print("|---|---|---|---|---|---|---|---|")
    for data in dict.fromkeys(d for d, _ in scores):
        base = np.mean(scores[(data, "student from scratch")])
        for (d, name), accs in scores.items():
            if d != data:
                continue
            one, many = lat[(d, name)]
            vs = ""
            if name.startswith("distilled from "):
                teacher_lat = lat[(d, "teacher " + name[len("distilled from "):])]
                vs = f"{teacher_lat[0] / one:.1f}x faster | {teacher_lat[1] / many:.1f}x faster"
            else:
                vs = "| "
            print(f"| {d} | {name} | {np.mean(accs):.4f} +/- {np.std(accs):.4f} | "
                  f"{np.mean(accs) - base:+.4f} | {one * 1e3:.2f} | {many * 1e3:.1f} | {vs} |")


if __name__ == "__main__":
    main()
