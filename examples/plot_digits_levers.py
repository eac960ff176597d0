"""
Pulling the levers on the digits
================================

Fit :class:`sklopt.neural_network.MLPClassifier` on ``load_digits`` with a few settings
of the levers (activation and init, optimizer and schedule, regularization) and compare
the training-loss curves and test accuracy.
"""

# %%
# Data: 8x8 digit images, pixel values scaled to [0, 1].
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.inspection import LossCurveDisplay
from sklopt.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)

# %%
# One baseline (sklearn's defaults) and one change of lever at a time.
settings = {
    "baseline (relu, adam)": {},
    "gelu + orthogonal init": {"activation": "gelu", "init": "orthogonal"},
    "sgd + nesterov, cosine": {"solver": "sgd", "learning_rate_init": 0.1,
                               "learning_rate": "cosine"},
    "dropout 0.2 + l2": {"dropout": 0.2, "alpha": 1e-3},
}
models = {}
for name, params in settings.items():
    clf = MLPClassifier((64,), max_iter=60, random_state=0, **params)
    clf.fit(X_train, y_train)
    acc = clf.score(X_test, y_test)
    print(f"{name:28s} test accuracy {acc:.3f}  epochs {clf.n_iter_}")
    models[f"{name} ({acc:.3f})"] = clf

# %%
# The training loss of each setting (log scale); the legend gives each one's test
# accuracy on the 450 held-out digits.
fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
display = LossCurveDisplay.from_estimator(models, ax=ax, log_scale=True)
display.legend_.set_title("setting (test accuracy)", prop={"size": "small"})
ax.set_title("Digits, MLP (64,): training loss of four lever settings")
fig.savefig("digits_levers.png")
print("saved digits_levers.png")
