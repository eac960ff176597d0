"""What augmentation buys on small training sets, and what it costs per batch.

1. Accuracy: the same MLP trained with and without each augmenter on small training
   sets (10% of ``load_digits``; 200 rows of ``make_classification``), over several
   seeds (each seed draws its own training subset); mean +/- std test accuracy.
2. Cost: training time of 15,000 x 50 rows (batch 200) with each augmenter, as a ratio
   to training without augmentation, measured in the same run, interleaved
   (target <= 1.15 for the noise augmenters on the CPU).

Run: ``python benchmarks/bench_augment.py [--seeds 5]``
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.neural_network import MLPClassifier
from sklopt.preprocessing import CutMix, FeatureMask, GaussianNoise, Mixup, SwapNoise

AUGMENTERS = {
    "none": None,
    "GaussianNoise(0.1)": GaussianNoise(0.1),
    "SwapNoise(0.15)": SwapNoise(0.15),
    "FeatureMask(0.1)": FeatureMask(0.1),
    "Mixup(0.2)": Mixup(0.2),
    "CutMix(0.2)": CutMix(0.2),
}


def small_sets(seed):
    X, y = load_digits(return_X_y=True)
    yield "digits, 10% (180 rows)", train_test_split(X / 16, y, train_size=0.1,
                                                     stratify=y, random_state=seed)
    X, y = make_classification(2200, 20, n_informative=10, n_classes=3, random_state=0)
    yield "make_classification, 200 rows", train_test_split(X, y, train_size=200,
                                                            random_state=seed)


def accuracy_table(seeds):
    scores = {}
    for seed in range(seeds):
        for data, (X, Xt, y, yt) in small_sets(seed):
            for name, aug in AUGMENTERS.items():
                clf = MLPClassifier((128,), max_iter=150, learning_rate_init=0.003,
                                    batch_size=32, augment=aug, random_state=seed,
                                    device="cpu")
                scores.setdefault(data, {}).setdefault(name, []).append(
                    clf.fit(X, y).score(Xt, yt))
    print(f"Test accuracy, mean +/- std over {seeds} seeds (MLP (128,), 150 epochs)\n")
    print("| data | augmenter | accuracy | vs none |")
    print("|---|---|---|---|")
    for data, by_aug in scores.items():
        base = np.mean(by_aug["none"])
        for name, s in by_aug.items():
            print(f"| {data} | {name} | {np.mean(s):.4f} +/- {np.std(s):.4f} | "
                  f"{np.mean(s) - base:+.4f} |")


def cost_table(repeats):
    X, y = make_classification(15000, 50, n_informative=25, n_classes=5, random_state=0)
    times = {name: [] for name in AUGMENTERS}
    for _ in range(repeats):
        for name, aug in AUGMENTERS.items():
            clf = MLPClassifier((100,), max_iter=10, n_iter_no_change=100, augment=aug,
                                random_state=0, device="cpu")
            t0 = time.perf_counter()
            clf.fit(X, y)
            times[name].append(time.perf_counter() - t0)
    base = np.median(times["none"])
    print("\nTraining cost, 15,000 x 50, (100,), batch 200, 10 epochs "
          f"(median of {repeats} interleaved runs)\n")
    print("| augmenter | ms / epoch | vs none |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {np.median(t) / 10 * 1000:.1f} | {np.median(t) / base:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    accuracy_table(args.seeds)
    cost_table(args.repeats)


if __name__ == "__main__":
    main()
