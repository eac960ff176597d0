"""
Explaining a network on a table with categorical columns
========================================================

A credit-default table (generated here, so that we know which columns matter): income,
debt ratio and employment drive the risk; region and the customer's shoe size do not.
A Pipeline scales the numbers, one-hot encodes the categories and fits an sklopt MLP.
:func:`~sklopt.inspection.feature_attributions` computes Integrated Gradients on the
network's inputs and carries them back to the table's columns: the one-hot columns of
``employment`` add up to one attribution for ``employment``. The bar chart puts them
beside the permutation importance of the same columns; the beeswarm shows each row.
"""

# %%
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklopt.inspection import AttributionDisplay, feature_attributions
from sklopt.neural_network import MLPClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epoch budget

rng = np.random.RandomState(0)
n = 3000
table = pd.DataFrame({
    "income": rng.lognormal(10.5, 0.5, n).round(-2),
    "debt_ratio": rng.beta(2, 5, n).round(3),
    "age": rng.randint(19, 75, n),
    "employment": pd.Categorical(rng.choice(["salaried", "self-employed", "unemployed"],
                                            n, p=[0.7, 0.2, 0.1])),
    "region": rng.choice(["north", "south", "east", "west"], n),
    "shoe_size": rng.randint(36, 47, n),
})
risk = (2.5 * table["debt_ratio"] - 1.2 * np.log(table["income"] / 36000)
        + table["employment"].map({"salaried": -0.5, "self-employed": 0.3,
                                   "unemployed": 1.5}).astype(float))
default = (risk + rng.logistic(scale=0.4, size=n) > 0.6).astype(int)
X_train, X_test, y_train, y_test = train_test_split(table, default, test_size=0.3,
                                                    random_state=0, stratify=default)

numeric = ["income", "debt_ratio", "age", "shoe_size"]
model = make_pipeline(
    ColumnTransformer([("num", StandardScaler(), numeric),
                       ("cat", OneHotEncoder(), ["employment", "region"])]),
    MLPClassifier((32,), alpha=1e-2, max_iter=200, early_stopping=True, random_state=0,
                  device="cpu"),
).fit(X_train, y_train)
print(f"test accuracy {model.score(X_test, y_test):.3f}")

# %%
# Integrated Gradients of the probability of default (class 1), from the mean applicant
# (column means; the most frequent category for categorical columns). Each row's
# attributions add up to its probability minus the baseline's (``delta`` is the gap).
result = feature_attributions(model, X_test, target=1)
summary = pd.DataFrame({"mean |attribution|": result.importances_mean},
                       index=result.feature_names).sort_values("mean |attribution|",
                                                               ascending=False)
print(summary.round(4).to_string())
gap = np.abs(result.delta).sum() / np.abs(result.values.sum(axis=1) - result.delta).sum()
print(f"completeness gap: {gap:.2%} of the change in probability")

row = 0
print(f"\nrow {row}: P(default) = {model.predict_proba(X_test.iloc[[row]])[0, 1]:.3f} = "
      f"baseline {result.base_values[row]:.3f} + attributions "
      f"{result.values[row].sum():+.3f} (gap {result.delta[row]:+.4f})")
for name, value in zip(result.feature_names, result.values[row]):
    print(f"  {name:<11} {X_test.iloc[row][name]!s:>14}  {value:+.3f}")

# %%
# Beside the permutation importance of the same columns (shares of each total), and
# every row's attributions coloured by the column's value.
perm = permutation_importance(model, X_test, y_test, n_repeats=5, random_state=0)
fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), layout="constrained")
AttributionDisplay.from_attributions(result, permutation_importances=perm, ax=axes[0])
AttributionDisplay.from_attributions(result, kind="beeswarm", ax=axes[1])
fig.savefig("attributions.png", dpi=100)
