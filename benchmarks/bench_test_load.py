"""Why the tests slow down when the cores are shared: a slice of the suite, quiet vs
loaded, with the libraries' default threads and with one thread.

Each round runs ``pytest <slice>`` in a fresh process under every thread setting, first
on a quiet machine, then while ``--busy`` competing processes (one per core by
default) share the cores, as other jobs do on a shared machine: ``--competitor busy``
(a Python busy loop) or ``--competitor torch`` (a torch job on torch's default threads,
like a second test suite). Rounds alternate, so a change in the background load touches
every setting alike; the table shows the median wall time of each cell (start-up
included) and its ratio to the quiet run of the same setting.

Thread settings:

- ``default``: what a plain ``pytest`` gets (torch, OpenMP and BLAS: one thread per
  core; ``SKLOPT_TEST_THREADS=default`` turns tests/conftest.py's limit off);
- ``OMP_NUM_THREADS=1``: OpenMP, MKL and OpenBLAS on one thread, from the environment;
- ``OMP_WAIT_POLICY=PASSIVE``: one thread per core, but idle ones sleep, not spin;
- ``tests/conftest.py``: what this repository's tests/conftest.py sets (one thread).

``--ops`` times single multi-threaded calls of the kind the tests make (a
HistGradientBoosting predict, torch and numpy matmuls) on the default threads and on
one. ``--fit`` times one large fit (MLP (512, 512), 3 epochs on 15,000 x 50) on 1 and 2
torch threads and on the thread count sklopt's policy picks (``cpu_threads_for``).

Run: ``python benchmarks/bench_test_load.py [--rounds 3] [--competitor busy|torch]
[--slice tests/test_preprocessing.py ...] [--ops] [--fit]``
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "default": {"SKLOPT_TEST_THREADS": "default"},
    "OMP_NUM_THREADS=1": {"SKLOPT_TEST_THREADS": "default", "OMP_NUM_THREADS": "1"},
    "OMP_WAIT_POLICY=PASSIVE": {"SKLOPT_TEST_THREADS": "default",
                                "OMP_WAIT_POLICY": "PASSIVE"},
    "tests/conftest.py": {},
}


def run_slice(test_slice, extra_env):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS",
                        "OPENBLAS_NUM_THREADS", "SKLOPT_TEST_THREADS")}
    env.update(extra_env)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *test_slice],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"pytest failed under {extra_env}:\n{proc.stdout[-2000:]}")
    return elapsed


COMPETITORS = {
    # A pure-Python busy loop: one runnable thread per process.
    "busy": "while True:\n    pass\n",
    # Another torch job with torch's default threads (one per core): what a second
    # test suite or training run on the same machine looks like.
    "torch": ("import torch\nx = torch.randn(512, 512)\nw = torch.randn(512, 512)\n"
              "while True:\n    torch.relu(x @ w).sum()\n"),
}


def competitors(kind, n):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return [subprocess.Popen([sys.executable, "-c", COMPETITORS[kind]], env=env)
            for _ in range(n)]


def ops_ms(threads):
    """Milliseconds per call of three multi-threaded calls the tests make, with the
    environment giving OpenMP / BLAS ``threads`` threads ("default": one per core):
    a HistGradientBoosting predict of one row (sklearn's OpenMP), a 512 x 512 torch
    matmul and a 512 x 512 numpy matmul (BLAS). Median of 60 calls each."""
    code = (
        "import time, numpy as np, torch\n"
        "from sklearn.datasets import load_digits\n"
        "from sklearn.ensemble import HistGradientBoostingClassifier\n"
        "X, y = load_digits(return_X_y=True)\n"
        "hgb = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)\n"
        "a = torch.randn(512, 512); b = np.random.rand(512, 512)\n"
        "calls = {'hgb': lambda: hgb.predict(X[:1]), 'torch': lambda: a @ a,\n"
        "         'numpy': lambda: b @ b}\n"
        "out = []\n"
        "for name, call in calls.items():\n"
        "    times = []\n"
        "    for _ in range(60):\n"
        "        t0 = time.perf_counter(); call(); times.append(time.perf_counter() - t0)\n"
        "    out.append(f'{1e3 * np.median(times):.3f}')\n"
        "print(' '.join(out))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if threads != "default":
        env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    return [float(v) for v in out.split()]


def fit_seconds(threads):
    """Seconds to fit a (512, 512) MLP for 3 epochs on 15,000 x 50 rows on ``threads``
    torch threads ("policy": sklopt's own choice, ``cpu_threads_for``)."""
    code = (
        "import time, warnings, torch\n"
        "from sklearn.datasets import make_classification\n"
        "from sklopt.neural_network import MLPClassifier\n"
        "warnings.simplefilter('ignore')\n"
        "X, y = make_classification(15000, 50, random_state=0)\n"
        f"threads = {threads!r}\n"
        "if threads != 'policy':\n"
        "    import sklopt.neural_network._multilayer_perceptron as m\n"
        "    m.cpu_threads_for = lambda *a: threads\n"
        "clf = MLPClassifier((512, 512), max_iter=3, random_state=0, device='cpu')\n"
        "t0 = time.perf_counter(); clf.fit(X, y); print(time.perf_counter() - t0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2,
                        help="competing processes during the loaded runs")
    parser.add_argument("--competitor", choices=list(COMPETITORS), default="busy",
                        help="what the competing processes run")
    parser.add_argument("--ops", action="store_true",
                        help="time single multi-threaded calls (HGB predict, torch and "
                        "numpy matmuls) on the default threads and on one")
    parser.add_argument("--fit", action="store_true",
                        help="time one large fit on 1, 2 and the policy's threads "
                        "instead of the test slice")
    parser.add_argument("--slice", nargs="+", default=["tests/test_preprocessing.py"])
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS),
                        choices=list(SETTINGS))
    args = parser.parse_args()
    if args.ops:
        return main_ops(args)
    settings = ([1, 2, "policy"] if args.fit else args.settings)
    times = {(s, load): [] for s in settings for load in ("quiet", "loaded")}
    for r in range(args.rounds):
        for load in ("quiet", "loaded"):
            procs = competitors(args.competitor, args.busy) if load == "loaded" else []
            try:
                time.sleep(0.5 if procs else 0)
                for s in settings:
                    times[s, load].append(
                        fit_seconds(s) if args.fit else run_slice(args.slice, SETTINGS[s]))
                    print(f"round {r} {load:6s} {s!s:26s} {times[s, load][-1]:6.1f} s",
                          file=sys.stderr, flush=True)
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    what = ("fit of MLP (512, 512), 3 epochs, 15,000 x 50" if args.fit
            else f"`pytest {' '.join(args.slice)}`")
    print(f"\n{what}; {os.cpu_count()} cores; loaded: {args.busy} '{args.competitor}' "
          f"processes; median of {args.rounds} rounds, wall seconds\n")
    print("| threads | quiet (s) | loaded (s) | loaded / quiet | vs first row, loaded |")
    print("|---|---|---|---|---|")
    base = np.median(times[settings[0], "loaded"])
    for s in settings:
        quiet, loaded = np.median(times[s, "quiet"]), np.median(times[s, "loaded"])
        print(f"| {s} | {quiet:.1f} | {loaded:.1f} | {loaded / quiet:.1f}x | "
              f"{loaded / base:.2f} |")


def main_ops(args):
    names = ("HGB predict, 1 row", "torch matmul 512", "numpy matmul 512")
    times = {(t, load): [] for t in ("default", 1) for load in ("quiet", "loaded")}
    for r in range(args.rounds):
        for load in ("quiet", "loaded"):
            procs = competitors(args.competitor, args.busy) if load == "loaded" else []
            try:
                time.sleep(0.5 if procs else 0)
                for t in ("default", 1):
                    times[t, load].append(ops_ms(t))
                    print(f"round {r} {load:6s} threads={t!s:8s} {times[t, load][-1]}",
                          file=sys.stderr, flush=True)
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    print(f"\nms per call, median over {args.rounds} rounds of the median of 60 calls; "
          f"{os.cpu_count()} cores; loaded: {args.busy} '{args.competitor}' processes\n")
    print("| call | threads | quiet (ms) | loaded (ms) | loaded / quiet |")
    print("|---|---|---|---|---|")
    for i, name in enumerate(names):
        for t in ("default", 1):
            quiet = np.median([row[i] for row in times[t, "quiet"]])
            loaded = np.median([row[i] for row in times[t, "loaded"]])
            print(f"| {name} | {t} | {quiet:.3f} | {loaded:.3f} | {loaded / quiet:.1f}x |")


if __name__ == "__main__":
    main()
