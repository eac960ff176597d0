"""The one lookup of the network inside an estimator (``sklopt.inspection._lookup``),
through every wrapper it walks, and what it makes work: the Displays and the
attributions of a TabularMLP* (issue 20, bug 7)."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.inspection import (
    LossCurveDisplay,
    ParameterStabilityDisplay,
    feature_attributions,
)
from sklopt.inspection._columns import column_sources
from sklopt.inspection._lookup import find_network
from sklopt.neural_network import (
    MLPClassifier,
    MLPRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)
from sklopt.preprocessing import TabularPreprocessor

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:TabularPreprocessor drops")]

SMALL = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, "device": "cpu"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y, X @ [1.0, -2.0, 0.5, 0.0] * 10 + 100


@pytest.fixture(scope="module")
def table():
    """A DataFrame with a numeric column with missing values, a string column, a
    boolean column and an ID column (which TabularPreprocessor drops)."""
    rng = np.random.RandomState(0)
    n = 200
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["north", "south", "east"], n),
        "income": rng.lognormal(3, 0.5, n),
        "member": rng.rand(n) > 0.5,
        "row_id": np.arange(n),
    })
    df.loc[::9, "age"] = np.nan
    y = ((df["age"].fillna(40) > 40) ^ (df["city"] == "north")).astype(int)
    return df, y


def _pipe(net):
    return Pipeline([("scale", StandardScaler()), ("skip", "passthrough"), ("mlp", net)])


# ----------------------------------------------------------------------------- the walk
def test_the_network_itself(data):
    X, y, _ = data
    clf = MLPClassifier(**SMALL).fit(X, y)
    found = find_network(clf)
    assert found.network is clf and found.steps == []
    assert not found.distilled and not found.transformed_target


def test_through_a_pipeline(data):
    X, y, _ = data
    pipe = _pipe(MLPClassifier(**SMALL)).fit(X, y)
    found = find_network(pipe)
    assert found.network is pipe[-1]
    assert found.steps == [("scale", pipe[0])]  # "passthrough" left out


def test_through_a_search(data):
    X, y, _ = data
    search = GridSearchCV(_pipe(MLPClassifier(**SMALL)), {"mlp__alpha": [1e-4, 1e-2]},
                          cv=2).fit(X, y)
    found = find_network(search)
    assert found.network is search.best_estimator_[-1]
    assert found.steps == [("scale", search.best_estimator_[0])]


def test_through_a_distiller_whose_student_is_a_pipeline(data):
    X, y, _ = data
    distiller = DistilledClassifier(LogisticRegression(), _pipe(MLPClassifier(**SMALL)),
                                    cv=2, transfer=None, random_state=0).fit(X, y)
    found = find_network(distiller)
    assert found.network is distiller.student_[-1] and found.distilled
    assert [name for name, _ in found.steps] == ["scale"]
    assert found.steps[0][1] is distiller.student_[0]


def test_through_a_regression_distiller(data):
    X, _, t = data
    distiller = DistilledRegressor(Ridge(), MLPRegressor(**SMALL), cv=2, transfer=None,
                                   random_state=0).fit(X, t)
    found = find_network(distiller)
    assert found.network is distiller.student_ and found.distilled and found.steps == []


def test_through_a_transformed_target_regressor(data):
    X, _, t = data
    ttr = TransformedTargetRegressor(_pipe(MLPRegressor(**SMALL)),
                                     transformer=StandardScaler()).fit(X, t)
    found = find_network(ttr)
    assert found.network is ttr.regressor_[-1] and found.transformed_target
    assert found.steps == [("scale", ttr.regressor_[0])]


def test_through_a_frozen_estimator(data):
    X, y, t = data
    clf = MLPClassifier(**SMALL).fit(X, y)
    assert find_network(FrozenEstimator(clf)).network is clf
    # The study's saved student: standardised target, frozen pipeline.
    pipe = _pipe(MLPRegressor(**SMALL)).fit(X, (t - t.mean()) / t.std())
    ttr = TransformedTargetRegressor(FrozenEstimator(pipe),
                                     transformer=StandardScaler()).fit(X, t)
    found = find_network(ttr)
    assert found.network is pipe[-1] and found.transformed_target
    assert found.steps == [("scale", pipe[0])]


@pytest.mark.parametrize("cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_through_a_tabular_mlp(table, cls):
    df, y = table
    model = cls(**SMALL).fit(df, y if cls is TabularMLPClassifier else df["income"])
    found = find_network(model)
    assert found.network is model.mlp_
    assert found.steps == [("preprocess", model.pipeline_[0])]
    assert found.transformed_target == (cls is TabularMLPRegressor)  # standardised y


def test_not_fitted_says_so(data):
    X, y, _ = data
    for unfitted in [MLPClassifier(), _pipe(MLPClassifier()),
                     GridSearchCV(MLPClassifier(), {"alpha": [1e-4]}),
                     DistilledClassifier(LogisticRegression()),
                     TransformedTargetRegressor(MLPRegressor()),
                     FrozenEstimator(MLPClassifier()),
                     TabularMLPClassifier()]:
        with pytest.raises(NotFittedError):
            find_network(unfitted)
    # A fitted network behind a step that is not fitted.
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", MLPClassifier(**SMALL).fit(X, y))])
    with pytest.raises(NotFittedError, match="'scale'"):
        find_network(pipe)


def test_unsupported_estimators_name_what_is_accepted(data):
    X, y, _ = data
    with pytest.raises(TypeError, match="LogisticRegression holds no sklopt network.*"
                                        "TabularMLPClassifier"):
        find_network(LogisticRegression().fit(X, y))
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)
    with pytest.raises(TypeError, match=r"Pipeline holds .*\(it ends in LogisticRegression\)"):
        find_network(pipe)
    with pytest.raises(TypeError, match="no training history"):
        LossCurveDisplay.from_estimator(pipe)


def test_unfitted_walk_follows_the_parameters():
    student = _pipe(MLPClassifier())
    found = find_network(GridSearchCV(DistilledClassifier(LogisticRegression(), student),
                                      {"soft_weight": [0.5]}), fitted=False)
    assert found.network is student[-1] and found.distilled
    assert found.steps == [("scale", student[0])]
    ttr = TransformedTargetRegressor(FrozenEstimator(MLPRegressor()))
    assert find_network(ttr, fitted=False).network is ttr.regressor.estimator


# ----------------------------------------------------------------------------- bug 7
def test_displays_of_a_tabular_mlp(table):
    df, y = table
    clf = TabularMLPClassifier(**SMALL).fit(df, y)
    disp = LossCurveDisplay.from_estimator(clf)
    # The legend names the user's estimator, not the network inside it.
    np.testing.assert_allclose(disp.lines_["TabularMLPClassifier"][0].get_ydata(),
                               clf.mlp_.history_["train_loss"])
    assert disp.ax_.get_ylabel() == "log-loss (nats)"
    ParameterStabilityDisplay.from_estimator({"tabular": clf})
    reg = TabularMLPRegressor(**SMALL).fit(df, df["income"])
    label = LossCurveDisplay.from_estimator(reg).ax_.get_ylabel().replace("\n", " ")
    assert "transformed-target units²" in label


@pytest.mark.parametrize("cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_attributions_of_a_tabular_mlp_are_on_the_user_columns(table, cls):
    df, y = table
    model = cls(**SMALL).fit(df, y if cls is TabularMLPClassifier else df["income"])
    with warnings.catch_warnings():
        # every output column of TabularPreprocessor is carried back: no warning
        warnings.filterwarnings("error", message="Attributions cannot")
        # 200 steps: the integral's error at 50 (0.08 of an output range of 12 for
        # the regressor) is the path's discretisation, and shrinks with the steps.
        result = feature_attributions(model, df, n_steps=200)
    assert list(result.feature_names) == list(df.columns)
    assert result.values.shape == (len(df), df.shape[1])
    # The dropped ID column gets none; each row's attributions still add up.
    np.testing.assert_array_equal(result.values[:, list(df.columns).index("row_id")], 0)
    assert np.abs(result.delta).max() < 0.05


def test_column_sources_of_a_tabular_preprocessor(table):
    df, _ = table
    pre = TabularPreprocessor(min_frequency=1).fit(df)
    names = pre.get_feature_names_out()
    for frozen in (pre, FrozenEstimator(pre)):
        unknown = []
        sources = column_sources(frozen, df.shape[1], unknown)
        assert unknown == [] and len(sources) == len(names)
        by_name = dict(zip(names, sources))
        # the missing-value indicator of age, and each city level, go back to theirs
        assert by_name["num__missingindicator_age"] == by_name["num__age"] == 0
        assert {by_name[n] for n in names if n.startswith("cat__city")} == {1}
        assert 4 not in sources  # row_id is dropped
