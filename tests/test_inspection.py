"""Training history, Displays and seed stability."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklopt.distillation import DistilledClassifier
from sklopt.inspection import (
    LossCurveDisplay,
    ParameterStabilityDisplay,
    seed_stability,
)
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import MinMaxScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


def _mlp(**kw):
    return MLPClassifier(**{"hidden_layer_sizes": (16,), "max_iter": 20,
                            "random_state": 0, "device": "cpu", **kw})


# ----------------------------------------------------------------------------- history_
@pytest.mark.parametrize("kw, valid", [({}, False), ({"early_stopping": True}, True),
                                       ({"solver": "sgd", "learning_rate": "cosine"},
                                        False)])
def test_history_columns_are_right_and_finite(iris, kw, valid):
    X, y = iris
    clf = _mlp(**kw).fit(X, y)
    hist = clf.history_
    expected = ["epoch", "train_loss", *(["valid_loss", "valid_score"] if valid else []),
                "lr", "weight_norm", "grad_norm", "param_change"]
    assert list(hist.columns) == expected
    assert len(hist) == clf.n_iter_
    assert np.isfinite(hist.drop(columns="epoch").to_numpy()).all()
    np.testing.assert_array_equal(hist["epoch"], np.arange(1, clf.n_iter_ + 1))
    np.testing.assert_allclose(hist["train_loss"], clf.loss_curve_)
    if valid:
        np.testing.assert_allclose(hist["valid_score"], clf.validation_scores_)
    # The weight norm is the norm of coefs_ and intercepts_ after the last epoch
    # (early stopping restores the best epoch's weights).
    norm = np.sqrt(sum((c**2).sum() for c in clf.coefs_ + clf.intercepts_))
    if not valid:
        assert hist["weight_norm"].iloc[-1] == pytest.approx(norm, rel=1e-5)
    assert (hist["param_change"] > 0).all() and (hist["grad_norm"] > 0).all()


def test_history_lr_follows_the_schedule(iris):
    X, y = iris
    hist = _mlp(solver="sgd", learning_rate="cosine", learning_rate_init=0.1,
                max_iter=10, n_iter_no_change=100).fit(X, y).history_
    assert hist["lr"].iloc[0] == pytest.approx(0.1)
    assert np.all(np.diff(hist["lr"]) < 0)


def test_history_grows_with_partial_fit_and_lbfgs_has_one_row(iris):
    X, y = iris
    clf = _mlp()
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
    assert len(clf.history_) == 3
    lbfgs = _mlp(solver="lbfgs").fit(X, y)
    assert len(lbfgs.history_) == 1
    assert np.isfinite(lbfgs.history_[["weight_norm", "param_change"]].to_numpy()).all()


def test_param_change_shrinks_as_training_converges(iris):
    X, y = iris
    hist = _mlp(max_iter=150, learning_rate_init=0.01).fit(X, y).history_
    assert hist["param_change"].iloc[-10:].mean() < hist["param_change"].iloc[:10].mean()


# ----------------------------------------------------------------------------- Displays
def test_loss_curve_display_draws_several_estimators(iris):
    X, y = iris
    a = _mlp(early_stopping=True).fit(X, y)
    b = make_pipeline(MinMaxScaler(), _mlp(hidden_layer_sizes=(4,))).fit(X, y)
    c = GridSearchCV(_mlp(), {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    d = DistilledClassifier(LogisticRegression(), _mlp()).fit(X, y)
    fig, ax = plt.subplots()
    disp = LossCurveDisplay.from_estimator({"a": a, "b": b, "c": c, "d": d}, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    assert set(disp.lines_) == {"a", "b", "c", "d"}
    assert len(disp.lines_["a"]) == 3  # train loss, validation loss, validation score
    assert len(disp.lines_["b"]) == 1
    np.testing.assert_allclose(disp.lines_["a"][0].get_ydata(), a.loss_curve_)
    assert disp.ax_score_ is not None
    plt.close(fig)


def test_parameter_stability_display(iris):
    X, y = iris
    clfs = [_mlp().fit(X, y), _mlp(hidden_layer_sizes=(32,)).fit(X, y)]
    disp = ParameterStabilityDisplay.from_estimator(clfs, names=["small", "large"])
    assert list(disp.lines_) == ["small", "large"]
    np.testing.assert_allclose(disp.lines_["large"][0].get_ydata(),
                               clfs[1].history_["weight_norm"])
    assert disp.axes_[1].get_yscale() == "log"
    plt.close(disp.figure_)


def test_display_refuses_an_estimator_without_history(iris):
    X, y = iris
    with pytest.raises(TypeError, match="no training history"):
        LossCurveDisplay.from_estimator(LogisticRegression().fit(X, y))
    with pytest.raises(ValueError, match="names"):
        LossCurveDisplay.from_estimator([_mlp().fit(X, y)], names=["a", "b"])


def test_displays_say_how_to_install_matplotlib(iris, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        LossCurveDisplay.from_estimator(object())


# ----------------------------------------------------------------------------- stability
def test_seed_stability_detects_a_seed_dependent_estimator():
    X, y = make_regression(80, 5, noise=20, random_state=0)
    y = (y > np.median(y)).astype(int)
    sensitive = _mlp(hidden_layer_sizes=(8,), max_iter=5, learning_rate_init=0.05)
    res = seed_stability(sensitive, X, y, seeds=4, cv=3)
    assert list(res.scores["seed"]) == [0, 1, 2, 3]
    assert res.predictions.shape == (4, 80)
    assert res.disagreement > 0
    assert res.std > 0
    steady = seed_stability(LogisticRegression(), X, y, seeds=3, cv=3)
    assert steady.disagreement == 0.0
    assert steady.std == pytest.approx(0.0, abs=1e-12)


def test_seed_stability_regression_and_errors():
    X, y = make_regression(60, 4, noise=5, random_state=0)
    res = seed_stability(MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, device="cpu"),
                         X, y / 100, seeds=[3, 7], cv=2)
    assert res.disagreement > 0
    with pytest.raises(ValueError, match="no random_state"):
        seed_stability(LinearRegression(), X, y, seeds=2)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_stability(MLPRegressor(), X, y, seeds=1)
