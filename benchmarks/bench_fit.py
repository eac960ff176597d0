"""Training speed of sklopt's MLPClassifier against sklearn and a plain PyTorch loop.

Same work for every contender: hidden layers (100,), ReLU, Adam (lr 1e-3), batch 200,
50 epochs without early stopping, sklearn's L2 penalty (alpha=1e-4), shuffling each
epoch. The plain PyTorch loop slices pre-built float32 tensors, uses fused Adam with the
L2 term as weight decay and one torch thread (the fastest setting on a 2-core machine,
see ``--threads``). Runs are interleaved and repeated; the table shows the median.

Run: ``python benchmarks/bench_fit.py [--repeats 3] [--threads]``
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

from sklopt.neural_network import MLPClassifier

EPOCHS, BATCH, HIDDEN, ALPHA, LR = 50, 200, 100, 1e-4, 1e-3


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    X, y = make_classification(20_000, 50, n_informative=25, n_classes=5, random_state=0)
    yield "20000x50", train_test_split(X, y, test_size=0.25, random_state=0)


def fit_sklearn(X, y, Xt, yt, seed):
    est = SkMLP((HIDDEN,), batch_size=BATCH, max_iter=EPOCHS, alpha=ALPHA,
                n_iter_no_change=EPOCHS + 1, random_state=seed)
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0, est.score(Xt, yt)


def fit_sklopt(X, y, Xt, yt, seed):
    est = MLPClassifier((HIDDEN,), batch_size=BATCH, max_iter=EPOCHS, alpha=ALPHA,
                        n_iter_no_change=EPOCHS + 1, random_state=seed, device="cpu")
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0, est.score(Xt, yt)


def fit_torch(X, y, Xt, yt, seed, threads=1):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        classes, y_idx = np.unique(y, return_inverse=True)
        X_ = torch.tensor(X, dtype=torch.float32)
        y_ = torch.tensor(y_idx)
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, len(classes)))
        weights = [model[0].weight, model[2].weight]
        biases = [model[0].bias, model[2].bias]
        opt = torch.optim.Adam([{"params": weights, "weight_decay": ALPHA / BATCH},
                                {"params": biases}], lr=LR, fused=True)
        n = len(X_)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(EPOCHS):
            perm = torch.randperm(n, generator=gen)
            Xp, yp = X_[perm], y_[perm]
            for s in range(0, n, BATCH):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(Xp[s:s + BATCH]), yp[s:s + BATCH])
                loss.backward()
                opt.step()
        elapsed = time.perf_counter() - t0
        with torch.no_grad():
            pred = classes[model(torch.tensor(Xt, dtype=torch.float32)).argmax(1).numpy()]
        return elapsed, float(np.mean(pred == yt))
    finally:
        torch.set_num_threads(previous)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", action="store_true",
                        help="also time the plain loop with 2 torch threads")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    contenders = {"sklearn": fit_sklearn, "sklopt": fit_sklopt, "torch loop": fit_torch}
    if args.threads:
        contenders["torch loop, 2 threads"] = lambda *a: fit_torch(*a, threads=2)
    print(f"{EPOCHS} epochs, hidden ({HIDDEN},), Adam, batch {BATCH}; "
          f"median of {args.repeats} interleaved runs\n")
    print("| data | model | ms / epoch | vs sklearn | vs torch loop | test accuracy |")
    print("|---|---|---|---|---|---|")
    for name, (X, Xt, y, yt) in datasets():
        times = {k: [] for k in contenders}
        accs = {k: [] for k in contenders}
        for r in range(args.repeats):
            for k, fn in contenders.items():
                t, a = fn(X, y, Xt, yt, r)
                times[k].append(t)
                accs[k].append(a)
        med = {k: np.median(v) / EPOCHS * 1000 for k, v in times.items()}
        for k in contenders:
            print(f"| {name} ({len(X)} rows) | {k} | {med[k]:.1f} | "
                  f"{med[k] / med['sklearn']:.2f} | {med[k] / med['torch loop']:.2f} | "
                  f"{np.mean(accs[k]):.4f} |")


if __name__ == "__main__":
    main()
