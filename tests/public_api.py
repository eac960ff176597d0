"""The public estimators, derived from the ``__all__`` of every public sklopt
subpackage, and one small, quick, CPU-only instance of each for the tests that must
cover all of them (test_bad_input.py, test_io.py).

A new public estimator makes those tests fail until ``FACTORIES`` knows how to build
it: that is the point, every public estimator gets the bad-input, bad-parameter and
save/load contracts.
"""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression

import sklopt
from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.model_selection import GridSearchCV, RandomizedSearchCV
from sklopt.neural_network import (
    MLPClassifier,
    MLPRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)
from sklopt.preprocessing import (
    CutMix,
    FeatureMask,
    GaussianNoise,
    MinMaxScaler,
    MinorityInterpolation,
    Mixup,
    Munge,
    SmoothClipScaler,
    SwapNoise,
    TabularPreprocessor,
)

# What an estimator does with data: the methods that take training data.
_ESTIMATOR_METHODS = ("fit", "fit_resample", "fit_transform", "bind")


def public_subpackages():
    """The public sklopt subpackages (no leading underscore), imported."""
    return {info.name: importlib.import_module(f"sklopt.{info.name}")
            for info in pkgutil.iter_modules(sklopt.__path__)
            if info.ispkg and not info.name.startswith("_")}


def public_estimator_classes():
    """``{name: class}`` of every estimator, transformer and sampler in the ``__all__``
    of a public subpackage: a scikit-learn ``BaseEstimator`` subclass, or any class
    with a method that takes training data, except the abstract and ``Base*`` classes
    (not meant to be used directly)."""
    found = {}
    for package in public_subpackages().values():
        for name in getattr(package, "__all__", ()):
            obj = getattr(package, name)
            if not isinstance(obj, type) or name.startswith("Base"):
                continue
            if inspect.isabstract(obj):
                continue
            if issubclass(obj, BaseEstimator) or any(
                    callable(getattr(obj, m, None)) for m in _ESTIMATOR_METHODS):
                found[name] = obj
    return found


def small_mlp(cls=MLPClassifier, **params):
    return cls(**{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0,
                  "device": "cpu", **params})


def _tabular(cls):
    return cls(hidden_layer_sizes=(4,), n_ensemble=1, max_iter=2, random_state=0,
               device="cpu")


# name -> a small instance. Every public estimator needs an entry.
FACTORIES = {
    "MLPClassifier": lambda: small_mlp(),
    "MLPRegressor": lambda: small_mlp(MLPRegressor),
    "TabularMLPClassifier": lambda: _tabular(TabularMLPClassifier),
    "TabularMLPRegressor": lambda: _tabular(TabularMLPRegressor),
    "DistilledClassifier": lambda: DistilledClassifier(LogisticRegression(), small_mlp(),
                                                       cv=2, random_state=0),
    "DistilledRegressor": lambda: DistilledRegressor(LinearRegression(),
                                                     small_mlp(MLPRegressor), cv=2,
                                                     random_state=0),
    "MinMaxScaler": MinMaxScaler,
    "SmoothClipScaler": SmoothClipScaler,
    "TabularPreprocessor": TabularPreprocessor,
    "GaussianNoise": lambda: GaussianNoise(random_state=0),
    "SwapNoise": lambda: SwapNoise(random_state=0),
    "FeatureMask": lambda: FeatureMask(random_state=0),
    "Mixup": lambda: Mixup(random_state=0),
    "CutMix": lambda: CutMix(random_state=0),
    "Munge": lambda: Munge(random_state=0),
    "MinorityInterpolation": lambda: MinorityInterpolation(k_neighbors=1, random_state=0),
    "GridSearchCV": lambda: GridSearchCV(small_mlp(), {"alpha": [1e-4, 1e-2]}, cv=2),
    "RandomizedSearchCV": lambda: RandomizedSearchCV(
        small_mlp(), {"alpha": [1e-4, 1e-3, 1e-2]}, n_iter=2, cv=2, random_state=0),
}

PUBLIC_ESTIMATORS = sorted(public_estimator_classes())


def make(name):
    """A small instance of the public estimator ``name``; a clear failure when
    ``FACTORIES`` lacks it."""
    import pytest

    if name not in FACTORIES:
        pytest.fail(f"{name} is a public sklopt estimator (in a subpackage's __all__) "
                    "but tests/public_api.py FACTORIES cannot build it: add an entry.")
    return FACTORIES[name]()


def is_regressor(name):
    return name.endswith("Regressor")


def trains_inside_a_network(est):
    """Label-mixing augmenters (Mixup, CutMix) have no sampler use: they act inside an
    MLP's training (``MLPClassifier(augment=...)``)."""
    return getattr(est, "mixes_labels", False)
