"""GPU training and prediction speed: sklopt on CUDA against sklearn on the CPU and a
plain PyTorch loop on the same GPU.

Cases (synthetic classification, float32, AdamW lr 1e-3, no penalty, shuffled):

* 1,000,000 x 100, net (512, 256), batch 4,096, 3 epochs;
* 50,000 x 50, net (256, 256), batch 512, 3 epochs;
* a distilled student's (64,) predict of 1 row and of 1,000,000 rows against its
  teacher (the 1M case's float32 net).

Rows: sklearn ``MLPClassifier`` on the CPU (one epoch; on the 1M case over 250,000 rows,
scaled by the row count: its cost is linear in rows at a fixed batch size), the plain
GPU loop (same net, data on the device, device permutation, fused AdamW), and sklopt
with ``precision`` float32 / tf32 / bfloat16 and ``compile`` True / "reduce-overhead" /
"cuda-graph" (the whole step as one CUDA graph).
ms / epoch is the median of the epochs after the first (the first includes compiling
and moving the data); "first epoch" shows it. Accuracy on 20,000 held-out rows.

Run: ``python benchmarks/bench_gpu.py`` (about 3 minutes on an H100). Without CUDA it
prints what it would measure and exits 0.
"""

import argparse
import pickle
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from sklopt.distillation import DistilledClassifier
from sklopt.neural_network import MLPClassifier

CASES = [("50k x 50", 50_000, 50, (256, 256), 512, 3, 50_000),
         ("1M x 100", 1_000_000, 100, (512, 256), 4096, 3, 250_000)]
VARIANTS = [("sklopt float32", {"precision": "float32"}),
            ("sklopt tf32", {"precision": "tf32"}),
            ("sklopt bfloat16", {"precision": "bfloat16"}),
            ("sklopt compile", {"precision": "float32", "compile": True}),
            ("sklopt reduce-overhead", {"precision": "float32", "compile": "reduce-overhead"}),
            ("sklopt cuda-graph", {"precision": "float32", "compile": "cuda-graph"}),
            ("sklopt cuda-graph bfloat16", {"precision": "bfloat16", "compile": "cuda-graph"})]


class EpochTimer:
    """sklearn fit callback: wall time at the end of each epoch (the epoch's loss is
    read on the host there, so the GPU work of the epoch is done)."""

    def setup(self, estimator, context):
        self.times = [time.perf_counter()]

    def on_fit_task_begin(self, estimator, context, **kw):
        pass

    def on_fit_task_end(self, estimator, context, **kw):
        if context.parent is not None:
            self.times.append(time.perf_counter())
        return False

    def teardown(self, estimator, context):
        pass


def data(n, d, seed=0):
    X, y = make_classification(n + 20_000, d, n_informative=d // 2, n_classes=2,
                               random_state=seed)
    X = X.astype(np.float32)
    return X[:n], y[:n], X[n:], y[n:]


def torch_loop(X, y, Xt, yt, hidden, batch, epochs):
    dev = "cuda"
    torch.manual_seed(0)
    layers, units = [], [X.shape[1], *hidden]
    for a, b in zip(units[:-1], units[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(units[-1], 2)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0, fused=True)
    Xd, yd = torch.from_numpy(X).to(dev), torch.from_numpy(y).to(dev)
    times = [time.perf_counter()]
    for _ in range(epochs):
        perm = torch.randperm(len(Xd), device=dev)
        Xp, yp = Xd[perm], yd[perm]
        total = torch.zeros((), device=dev)
        for s in range(0, len(Xd), batch):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(Xp[s:s + batch]), yp[s:s + batch])
            loss.backward()
            opt.step()
            total += loss.detach()
        float(total)  # one sync per epoch, as sklopt
        times.append(time.perf_counter())
    with torch.no_grad():
        acc = float((model(torch.from_numpy(Xt).to(dev)).argmax(1).cpu().numpy() == yt).mean())
    return times, acc


def sklopt_fit(X, y, Xt, yt, hidden, batch, epochs, **kw):
    timer = EpochTimer()
    est = MLPClassifier(hidden, solver="adamw", alpha=0.0, batch_size=batch,
                        max_iter=epochs, n_iter_no_change=10**6, random_state=0,
                        device="cuda", **kw).set_callbacks(timer)
    torch.cuda.reset_peak_memory_stats()
    est.fit(X, y)
    return timer.times, est.score(Xt, yt), est


def report(name, label, times, acc, ref_cpu, ref_loop):
    gaps = np.diff(times) * 1000
    per_epoch = float(np.median(gaps[1:])) if len(gaps) > 1 else float(gaps[0])
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"| {name} | {label} | {per_epoch:.1f} | {gaps[0]:.0f} | "
          f"{ref_cpu / per_epoch:.1f}x | {per_epoch / ref_loop:.2f} | {acc:.4f} | "
          f"{peak:.0f} |", flush=True)
    return per_epoch


def predict_latency(est, X, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.predict_proba(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 50k case only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("No CUDA device: bench_gpu.py would time, on a GPU, sklopt float32 / tf32 / "
              "bfloat16 / compile / reduce-overhead against sklearn on the CPU and a plain "
              "PyTorch loop on the GPU, for:")
        for name, n, d, hidden, batch, epochs, _ in CASES:
            print(f"  {name}: net {hidden}, batch {batch}, {epochs} epochs")
        print("  and a distilled (64,) student's predict of 1 and 1,000,000 rows.")
        return 0
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}\n")
    print("| case | model | ms / epoch | first epoch (ms) | speed-up vs sklearn CPU | "
          "vs plain GPU loop | accuracy | peak GPU MiB |")
    print("|---|---|---|---|---|---|---|---|")
    latency = []
    for name, n, d, hidden, batch, epochs, n_sk in CASES[:1] if args.quick else CASES:
        X, y, Xt, yt = data(n, d)
        t0 = time.perf_counter()
        sk = SkMLP(hidden, batch_size=batch, max_iter=1, alpha=0.0, random_state=0)
        sk.fit(X[:n_sk], y[:n_sk])
        cpu_ms = (time.perf_counter() - t0) * 1000 * n / n_sk
        print(f"| {name} | sklearn CPU (1 epoch{'' if n_sk == n else ', scaled'}) | "
              f"{cpu_ms:.0f} | | 1.0x | | {sk.score(Xt, yt):.4f} | |", flush=True)
        torch.cuda.reset_peak_memory_stats()
        times, acc = torch_loop(X, y, Xt, yt, hidden, batch, epochs)
        loop_ms = float(np.median(np.diff(times)[1:] * 1000))
        report(name, "plain torch loop", times, acc, cpu_ms, loop_ms)
        for label, kw in VARIANTS:
            try:
                times, acc, est = sklopt_fit(X, y, Xt, yt, hidden, batch, epochs, **kw)
            except Exception as exc:  # report and go on: one lever must not hide others
                print(f"| {name} | {label} | failed: {type(exc).__name__}: {exc} |")
                continue
            report(name, label, times, acc, cpu_ms, loop_ms)
            if label == "sklopt float32" and n == 1_000_000:
                latency = distilled_latency(est, X, y)
    if latency:
        print("\n| predict | teacher (512, 256), GPU | student (64,), GPU | student (64,), "
              "CPU copy | student speed-up vs teacher |")
        print("|---|---|---|---|---|")
        print("\n".join(latency))
    return 0


def distilled_latency(teacher, X, y):
    """Distil the 1M case's net into a (64,) student on 200,000 rows, then time
    ``predict_proba`` of 1 and 1,000,000 rows: teacher and student on the GPU, and a
    CPU copy of the student (small batches may be faster there)."""
    student = DistilledClassifier(teacher, MLPClassifier(
        (64,), solver="adamw", alpha=0.0, batch_size=4096, max_iter=3, random_state=0,
        device="cuda"), fit_teacher=False, cv=None, transfer=None).fit(
            X[:200_000], y[:200_000]).student_
    cpu_copy = pickle.loads(pickle.dumps(student))
    cpu_copy.net_.module_.cpu()
    cpu_copy.set_params(device="cpu").net_.device = "cpu"
    lines = []
    for rows, reps in ((1, 200), (1_000_000, 3)):
        Xp = X[:rows]
        t, g, c = (predict_latency(m, Xp, reps) for m in (teacher, student, cpu_copy))
        lines.append(f"| {rows:,} rows | {t:.3f} ms | {g:.3f} ms | {c:.3f} ms | "
                     f"{t / min(g, c):.1f}x |")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
