"""
Distilling gradient boosting into a small MLP
=============================================

A gradient-boosting teacher is accurate but slow to predict one row at a time. A
small MLP student trained on the teacher's out-of-fold probabilities and on a MUNGE
transfer set labelled by the teacher (the ``DistilledClassifier`` defaults) keeps much
of the teacher's accuracy and predicts far faster. This compares teacher, student
trained from scratch and distilled students of several sizes: accuracy against predict
latency.
"""

# %%
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.distillation import DistilledClassifier
from sklopt.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, train_size=500,
                                                    random_state=0, stratify=y)


def latency_ms(model, rows):
    """Median milliseconds of predicting ``rows`` rows."""
    batch = np.resize(X_test, (rows, X_test.shape[1]))
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        model.predict(batch)
        times.append(time.perf_counter() - t0)
    return 1e3 * np.median(times)


# %%
# The teacher, fitted once and handed to every distiller with ``fit_teacher=False``
# (its out-of-fold probabilities still come from 5 refitted copies).
teacher = HistGradientBoostingClassifier(max_iter=100, random_state=0)
teacher.fit(X_train, y_train)
results = {"teacher (HGB, 100 trees)": teacher}

# %%
# Students of three sizes, from scratch and distilled.
for width in (8, 16, 32):
    student = MLPClassifier((width,), max_iter=200, random_state=0, device="cpu")
    results[f"MLP ({width},) from scratch"] = student.fit(X_train, y_train)
    results[f"MLP ({width},) distilled"] = DistilledClassifier(
        teacher, student, fit_teacher=False, n_transfer=4, random_state=0,
    ).fit(X_train, y_train)

rows = []
for name, model in results.items():
    rows.append((name, model.score(X_test, y_test), latency_ms(model, 1)))
    print(f"{name:28s} accuracy {rows[-1][1]:.4f}   predict 1 row {rows[-1][2]:.2f} ms")

# %%
# Accuracy against latency (log scale): each arrow goes from a student trained from
# scratch to the same student distilled from the teacher; all students sit far to the
# left of the teacher. Colours tell the student sizes apart, markers how they were
# trained.
fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
points = {name: (ms, acc) for name, acc, ms in rows}
teacher_ms, teacher_acc = points["teacher (HGB, 100 trees)"]
ax.scatter(teacher_ms, teacher_acc, marker="s", s=70, color="k")
for i, width in enumerate((8, 16, 32)):
    scratch = points[f"MLP ({width},) from scratch"]
    distilled = points[f"MLP ({width},) distilled"]
    ax.scatter(*scratch, marker="x", s=60, color=f"C{i}")
    ax.scatter(*distilled, marker="o", s=60, color=f"C{i}")
    ax.annotate("", xy=distilled, xytext=scratch,
                arrowprops={"arrowstyle": "->", "color": f"C{i}", "lw": 1.2})
handles = [
    Line2D([], [], ls="", marker="s", color="k", label="teacher: HGB, 100 trees"),
    *[Line2D([], [], ls="", marker="o", color=f"C{i}", label=f"student MLP ({w},)")
      for i, w in enumerate((8, 16, 32))],
    Line2D([], [], ls="", marker="x", color="0.3", label="trained from scratch"),
    Line2D([], [], ls="", marker="o", color="0.3", label="distilled (defaults)"),
]
ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1),
          borderaxespad=0)
ax.set_xscale("log")
ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
ax.set_xlabel("predict latency, 1 row (ms, log scale; median of 15 calls)")
ax.set_ylabel(f"test accuracy ({len(y_test):,} rows)")
ax.set_title("Distillation on digits (500 training rows): accuracy vs speed")
fig.savefig("distillation_tradeoff.png", dpi=100)
