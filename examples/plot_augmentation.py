"""
Augmentation on a small training set
=====================================

With 200 training rows an MLP overfits; noise augmenters applied inside training
(fresh noise every epoch, never at predict time) regularise it. This compares test
accuracy over a few seeds with and without augmentation.
"""

# %%
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.neural_network import MLPClassifier
from sklopt.preprocessing import FeatureMask, GaussianNoise, SwapNoise

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

X, y = make_classification(2200, 20, n_informative=10, n_classes=3, random_state=0)

# %%
# Each setting is trained on 200 rows and tested on 2,000, for three seeds.
settings = {"none": None, "GaussianNoise(0.1)": GaussianNoise(0.1),
            "FeatureMask(0.1)": FeatureMask(0.1), "SwapNoise(0.15)": SwapNoise(0.15)}
scores = {name: [] for name in settings}
for seed in range(3):
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=200,
                                                        random_state=seed)
    for name, aug in settings.items():
        clf = MLPClassifier((128,), max_iter=150, learning_rate_init=0.003, batch_size=32,
                            augment=aug, random_state=seed)
        scores[name].append(clf.fit(X_train, y_train).score(X_test, y_test))

for name, s in scores.items():
    print(f"{name:20s} {np.mean(s):.4f} +/- {np.std(s):.4f}")

# %%
# Mean test accuracy of each setting; the error bars are the standard deviation over
# the three seeds (each seed: another 200-row training sample and another network
# initialisation), the dots the seeds themselves. Horizontal bars keep the
# augmenters' names readable.
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
names = list(scores)[::-1]  # "none" on top
means = [np.mean(scores[n]) for n in names]
ax.barh(names, means, xerr=[np.std(scores[n]) for n in names], capsize=4,
        color=["0.6" if n == "none" else "C0" for n in names],
        error_kw={"label": "std over 3 seeds"})
for i, name in enumerate(names):
    ax.plot(scores[name], [i] * len(scores[name]), "k.", ms=4)
ax.set_xlim(min(min(s) for s in scores.values()) - 0.02,
            max(max(s) for s in scores.values()) + 0.02)
ax.set_xlabel("test accuracy on 2,000 rows (bar: mean; error bar: std over 3 seeds)")
ax.set_ylabel("augmentation")
ax.set_title("Noise augmentation, 200 training rows, MLP (128,)")
fig.savefig("augmentation.png")
print("saved augmentation.png")
