"""The classes a sklopt model file may name: an explicit allow-list.

A file names each estimator by one of these public paths; :func:`sklopt.io.load`
refuses any other name before importing anything, so a crafted file cannot make it
import a module (``sklopt.__main__``, a third-party package, ...) or build an object of
another kind. Every class here keeps its fitted state as arrays, numbers and strings.

The sklopt part is derived from the public API, once, when ``sklopt.io`` is imported:
every scikit-learn estimator class (a ``BaseEstimator`` subclass, base classes
``Base*`` aside) named in the ``__all__`` of a public sklopt subpackage, by that public
path (``sklopt.preprocessing.MinorityInterpolation``). A new public estimator is thus
savable without an edit here (``tests/test_io.py`` round-trips every one of them). The
third-party part is written by hand; adding a class is one line.
"""

import importlib
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.model_selection._search import BaseSearchCV

# Subpackages whose names are not estimators a file may name (this one).
_NOT_ESTIMATOR_SUBPACKAGES = frozenset({"io"})


def _public_sklopt_estimators():
    """``sklopt.<subpackage>.<Name>`` for every BaseEstimator subclass in the
    ``__all__`` of a public (no leading underscore) sklopt subpackage, except the base
    classes (``Base*``, not meant to be used directly)."""
    import sklopt

    paths = set()
    for info in pkgutil.iter_modules(sklopt.__path__):
        if (not info.ispkg or info.name.startswith("_")
                or info.name in _NOT_ESTIMATOR_SUBPACKAGES):
            continue
        module_name = f"sklopt.{info.name}"
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (isinstance(obj, type) and issubclass(obj, BaseEstimator)
                    and not name.startswith("Base")
                    and not issubclass(obj, BaseSearchCV)):  # searches: not models
                paths.add(f"{module_name}.{name}")
    return paths


_THIRD_PARTY_CLASSES = frozenset({
    # scikit-learn: composition
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.compose.ColumnTransformer",
    "sklearn.compose.TransformedTargetRegressor",
    "sklearn.frozen.FrozenEstimator",
    # scikit-learn: preprocessing, imputation, decomposition
    "sklearn.preprocessing.StandardScaler",
    "sklearn.preprocessing.MinMaxScaler",
    "sklearn.preprocessing.MaxAbsScaler",
    "sklearn.preprocessing.RobustScaler",
    "sklearn.preprocessing.QuantileTransformer",
    "sklearn.preprocessing.PowerTransformer",
    "sklearn.preprocessing.Normalizer",
    "sklearn.preprocessing.OneHotEncoder",
    "sklearn.preprocessing.OrdinalEncoder",
    "sklearn.preprocessing.TargetEncoder",
    "sklearn.preprocessing.LabelEncoder",
    "sklearn.preprocessing.LabelBinarizer",
    "sklearn.preprocessing.PolynomialFeatures",
    "sklearn.preprocessing.KBinsDiscretizer",
    "sklearn.preprocessing.SplineTransformer",
    "sklearn.impute.SimpleImputer",
    "sklearn.impute.MissingIndicator",
    "sklearn.impute.KNNImputer",
    "sklearn.feature_selection.VarianceThreshold",
    "sklearn.decomposition.PCA",
    "sklearn.decomposition.TruncatedSVD",
    # scikit-learn: linear and reference models
    "sklearn.linear_model.LogisticRegression",
    "sklearn.linear_model.LinearRegression",
    "sklearn.linear_model.Ridge",
    "sklearn.linear_model.RidgeClassifier",
    "sklearn.linear_model.Lasso",
    "sklearn.linear_model.ElasticNet",
    "sklearn.linear_model.SGDClassifier",
    "sklearn.linear_model.SGDRegressor",
    "sklearn.dummy.DummyClassifier",
    "sklearn.dummy.DummyRegressor",
    # scikit-learn: ensembles. Their fitted trees are not plain data and are refused
    # at save time; unfitted ones (a distiller's teacher parameter) are.
    "sklearn.ensemble.HistGradientBoostingClassifier",
    "sklearn.ensemble.HistGradientBoostingRegressor",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestRegressor",
})

ALLOWED_CLASSES = frozenset(_public_sklopt_estimators() | _THIRD_PARTY_CLASSES)


def public_path(cls):
    """The allow-listed public path of ``cls`` (None when it is not allowed)."""
    for path in ALLOWED_CLASSES:
        module, _, name = path.rpartition(".")
        if name == cls.__name__ and cls.__module__.startswith(module.split(".")[0] + "."):
            if getattr(importlib.import_module(module), name, None) is cls:
                return path
    return None
