"""
Reading a training run: loss curves, parameter stability and seed stability
===========================================================================

Three optimizers on digits. ``history_`` records every epoch; the Displays of
:mod:`sklopt.inspection` draw the loss / validation curves and the parameter-stability
curves (weight norm, relative change per epoch), and ``seed_stability`` shows how much
the score and the predictions move with the random seed.
"""

# %%
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklopt.inspection import (
    LossCurveDisplay,
    ParameterStabilityDisplay,
    seed_stability,
)
from sklopt.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget
X, y = load_digits(return_X_y=True)
X = X / 16.0

# %%
# Three optimizers, each with early stopping so that validation curves are recorded.
models = {
    name: MLPClassifier((64,), solver=solver, learning_rate_init=lr, max_iter=60,
                        early_stopping=True, n_iter_no_change=60, random_state=0,
                        device="cpu").fit(X, y)
    for name, solver, lr in [("adam", "adam", 1e-3), ("sgd", "sgd", 0.05),
                             ("rmsprop", "rmsprop", 1e-3)]
}
print(models["adam"].history_.tail(3).to_string())

# %%
# Top: the losses (training solid, validation dashed) and, on their own axes, the
# validation accuracy. Bottom: the parameter-stability curves.
fig = plt.figure(figsize=(12, 7.5), layout="constrained")
grid = fig.add_gridspec(2, 2)
LossCurveDisplay.from_estimator(
    models, ax=[fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])], log_scale=True)
ParameterStabilityDisplay.from_estimator(
    models, axes=[fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])])
fig.suptitle("Three optimizers on digits: MLP (64,), 10% held out for early stopping")
fig.savefig("training_diagnostics.png", dpi=100)

# %%
# Seed stability of the Adam model: 3 seeds on the same 3 folds.
result = seed_stability(MLPClassifier((64,), max_iter=40, device="cpu"), X, y, seeds=3,
                        cv=3)
print(result.scores.to_string(index=False))
print(f"score {result.mean:.4f} +/- {result.std:.4f}; "
      f"seeds disagree on {result.disagreement:.1%} of the rows")
