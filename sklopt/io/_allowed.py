"""The classes a sklopt model file may name: an explicit allow-list.

A file names each estimator by one of these public paths; :func:`sklopt.io.load`
refuses any other name before importing anything, so a crafted file cannot make it
import a module (``sklopt.__main__``, a third-party package, ...) or build an object of
another kind. Every class here keeps its fitted state as arrays, numbers and strings.
Adding a class is one line.
"""

ALLOWED_CLASSES = frozenset({
    # sklopt
    "sklopt.neural_network.MLPClassifier",
    "sklopt.neural_network.MLPRegressor",
    "sklopt.neural_network.TabularMLPClassifier",
    "sklopt.neural_network.TabularMLPRegressor",
    "sklopt.preprocessing.SmoothClipScaler",
    "sklopt.preprocessing.TabularPreprocessor",
    "sklopt.distillation.DistilledClassifier",
    "sklopt.distillation.DistilledRegressor",
    "sklopt.preprocessing.MinMaxScaler",
    "sklopt.preprocessing.GaussianNoise",
    "sklopt.preprocessing.SwapNoise",
    "sklopt.preprocessing.FeatureMask",
    "sklopt.preprocessing.Mixup",
    "sklopt.preprocessing.CutMix",
    "sklopt.preprocessing.Munge",
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


def public_path(cls):
    """The allow-listed public path of ``cls`` (None when it is not allowed)."""
    import importlib

    for path in ALLOWED_CLASSES:
        module, _, name = path.rpartition(".")
        if name == cls.__name__ and cls.__module__.startswith(module.split(".")[0] + "."):
            if getattr(importlib.import_module(module), name, None) is cls:
                return path
    return None
