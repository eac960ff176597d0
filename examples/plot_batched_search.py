"""
A grid search whose networks train together
===========================================

:class:`sklopt.model_selection.GridSearchCV` is scikit-learn's ``GridSearchCV``; the
networks of all its candidates and folds train together, in batches, before
scikit-learn's search scores them. Each network keeps its own rows, initial weights,
shuffling and hyper-parameters, so the results are those of fitting them one at a
time.
"""

# %%
# Data and the search: the L2 penalty ``alpha`` x the learning rate, 3 folds.
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn import model_selection as sk
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklopt.model_selection import GridSearchCV
from sklopt.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

X, y = load_digits(return_X_y=True)
X = X / 16.0
grid = {"alpha": [1e-4, 1e-2, 1.0], "learning_rate_init": [3e-4, 1e-3, 3e-3]}
mlp = MLPClassifier((32,), max_iter=20, random_state=0, device="cpu")

start = time.perf_counter()
batched = GridSearchCV(mlp, grid, cv=3).fit(X, y)
batched_seconds = time.perf_counter() - start

start = time.perf_counter()
one_at_a_time = sk.GridSearchCV(mlp, grid, cv=3).fit(X, y)
separate_seconds = time.perf_counter() - start

# %%
# The same search: the same best parameters and scores. (Timings vary: the first
# search of a process also pays torch's one-time set-up of its optimizers.)
same = np.allclose(batched.cv_results_["mean_test_score"],
                   one_at_a_time.cv_results_["mean_test_score"], atol=1e-4)
print(f"best: {batched.best_params_} (scikit-learn's search: "
      f"{one_at_a_time.best_params_}); same scores: {same}")
print(f"27 networks: {batched_seconds:.1f} s batched, {separate_seconds:.1f} s one at "
      "a time")

# %%
# Mean cross-validated accuracy of each candidate.
results = batched.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
for alpha in grid["alpha"]:
    rows = [i for i, p in enumerate(results["params"]) if p["alpha"] == alpha]
    ax.errorbar([results["params"][i]["learning_rate_init"] for i in rows],
                results["mean_test_score"][rows], yerr=results["std_test_score"][rows],
                marker="o", capsize=3, label=f"alpha = {alpha:g}")
ax.set_xscale("log")
ax.set_xticks(grid["learning_rate_init"], [f"{lr:g}" for lr in grid["learning_rate_init"]])
ax.minorticks_off()
ax.set_xlabel("learning_rate_init (log scale)")
ax.set_ylabel("mean CV accuracy (3 folds)")
ax.set_title("Grid search, all 27 networks trained together")
ax.legend()
fig.tight_layout()
fig.savefig("batched_search.png", dpi=100)
