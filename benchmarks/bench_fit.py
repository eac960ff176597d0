"""Training speed and predict latency of sklopt's MLPClassifier against sklearn and a
plain PyTorch loop, at equal precision.

Same work for every trainer: hidden layers (100,), ReLU, Adam (lr 1e-3), batch 200, 50
epochs without early stopping, sklearn's L2 penalty (alpha=1e-4), shuffling each
epoch. Each precision is compared with itself: float32 input to all three (sklearn
trains in float32 when given float32, sklopt's ``precision="auto"`` too), then float64
input to all three. The plain loop slices pre-built tensors, uses fused Adam with the L2
term as weight decay and one torch thread. Runs are interleaved and repeated; the
table shows medians.

The second table times ``predict_proba`` of 1, 100 and 10,000 rows (float32, the
20,000 x 50 model) against sklearn's, median of many calls.

Run: ``python benchmarks/bench_fit.py [--repeats 3] [--precisions float32 float64]``
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


def _params(seed):
    return dict(hidden_layer_sizes=(HIDDEN,), batch_size=BATCH, max_iter=EPOCHS,
                alpha=ALPHA, n_iter_no_change=EPOCHS + 1, random_state=seed)


def fit_sklearn(X, y, Xt, yt, seed):
    est = SkMLP(**_params(seed))
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0, est.score(Xt, yt), est


def fit_sklopt(X, y, Xt, yt, seed):
    est = MLPClassifier(device="cpu", **_params(seed))
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0, est.score(Xt, yt), est


def fit_torch(X, y, Xt, yt, seed, threads=1):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    try:
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        classes, y_idx = np.unique(y, return_inverse=True)
        X_ = torch.from_numpy(X).to(dtype)
        y_ = torch.from_numpy(y_idx)
        model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(),
                                    torch.nn.Linear(HIDDEN, len(classes))).to(dtype)
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
                loss = torch.nn.functional.cross_entropy(model(Xp[s:s + BATCH]),
                                                         yp[s:s + BATCH])
                loss.backward()
                opt.step()
        elapsed = time.perf_counter() - t0
        with torch.no_grad():
            pred = classes[model(torch.from_numpy(Xt).to(dtype)).argmax(1).numpy()]
        return elapsed, float(np.mean(pred == yt)), None
    finally:
        torch.set_num_threads(previous)


def latency(est, X, repeats):
    est.predict_proba(X)  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.predict_proba(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["float32", "float64"])
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    contenders = {"sklearn": fit_sklearn, "sklopt": fit_sklopt, "torch loop": fit_torch}
    print(f"{EPOCHS} epochs, hidden ({HIDDEN},), Adam, batch {BATCH}; median of "
          f"{args.repeats} interleaved runs\n")
    print("| data | precision | trainer | ms / epoch | vs sklearn | vs torch loop | "
          "test accuracy |")
    print("|---|---|---|---|---|---|---|")
    models = {}
    for name, (X, Xt, y, yt) in datasets():
        for precision in args.precisions:
            Xp, Xtp = X.astype(precision), Xt.astype(precision)
            times = {k: [] for k in contenders}
            accs = {k: [] for k in contenders}
            for r in range(args.repeats):
                for k, fn in contenders.items():
                    t, a, est = fn(Xp, y, Xtp, yt, r)
                    times[k].append(t)
                    accs[k].append(a)
                    models[(name, precision, k)] = est
            med = {k: np.median(v) / EPOCHS * 1000 for k, v in times.items()}
            for k in contenders:
                print(f"| {name} ({len(X)} rows) | {precision} | {k} | {med[k]:.1f} | "
                      f"{med[k] / med['sklearn']:.2f} | {med[k] / med['torch loop']:.2f} | "
                      f"{np.mean(accs[k]):.4f} |", flush=True)
    if ("20000x50", "float32", "sklopt") not in models:
        return
    X = next(d for n, d in datasets() if n == "20000x50")[1].astype(np.float32)
    print("\n| predict_proba, float32, 20000x50 model | sklearn ms | sklopt ms | "
          "sklopt / sklearn |")
    print("|---|---|---|---|")
    for rows, reps in ((1, 2000), (100, 1000), (10_000, 50)):
        sk = latency(models[("20000x50", "float32", "sklearn")], X[:rows], reps)
        so = latency(models[("20000x50", "float32", "sklopt")], X[:rows], reps)
        print(f"| {rows:,} rows | {sk:.3f} | {so:.3f} | {so / sk:.2f} |", flush=True)


if __name__ == "__main__":
    main()
