"""Every Display, and the study's report figures, are fit to publish: each axes has a
title and axis labels, no two labels overlap, a legend of more than four entries sits
beside the data, nothing is cut off (checks in plot_checks.py; the example figures are
checked the same way in test_examples.py)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from plot_checks import publishing_problems
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklopt.distillation import DistilledClassifier
from sklopt.inspection import LossCurveDisplay, ParameterStabilityDisplay
from sklopt.model_selection import StudyResult, StudyStep
from sklopt.model_selection._evaluation import paired_difference
from sklopt.model_selection._report import _figures
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import MinMaxScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _mlp(**kw):
    return MLPClassifier(**{"hidden_layer_sizes": (8,), "max_iter": 12,
                            "random_state": 0, "device": "cpu", **kw})


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def fitted(iris):
    """Six classifiers with early stopping (a legend of 6 + 2 entries), one distiller."""
    X, y = iris
    nets = {f"learning rate {lr:g}": _mlp(learning_rate_init=lr, early_stopping=True,
                                          n_iter_no_change=50).fit(X, y)
            for lr in (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)}
    distilled = DistilledClassifier(LogisticRegression(), _mlp()).fit(X, y)
    return nets, distilled


def _assert_publishable(fig):
    problems = publishing_problems(fig)
    assert not problems, "\n".join(problems)


def test_loss_curve_display_of_one_network(iris):
    disp = LossCurveDisplay.from_estimator(_mlp().fit(*iris))
    assert disp.ax_.get_title() and disp.ax_.get_ylabel() == "log-loss (nats)"
    assert disp.ax_score_ is None and len(disp.axes_) == 1
    _assert_publishable(disp.figure_)


def test_loss_curve_display_of_many_networks_keeps_its_legend_off_the_data(fitted):
    nets, _ = fitted
    disp = LossCurveDisplay.from_estimator(nets, log_scale=True)
    assert len(disp.legend_.texts) == len(nets) + 2  # models, then the line styles
    # Validation scores have their own axes, below the losses.
    assert disp.ax_score_ is not disp.ax_ and disp.ax_score_.get_ylabel() == (
        "validation accuracy")
    _assert_publishable(disp.figure_)


def test_different_losses_get_different_axes(fitted):
    nets, distilled = fitted
    first = next(iter(nets.values()))
    disp = LossCurveDisplay.from_estimator({"plain": first, "distilled": distilled},
                                           show_validation=False)
    assert list(disp.loss_axes_) == ["log-loss (nats)", "distillation loss (nats)"]
    assert disp.lines_["distilled"][0].axes is disp.loss_axes_["distillation loss (nats)"]
    # Each panel's legend names the networks drawn in it, not the other panel's.
    named = {kind: [t.get_text() for t in ax.get_legend().texts]
             for kind, ax in disp.loss_axes_.items()}
    assert named == {"log-loss (nats)": ["plain"],
                     "distillation loss (nats)": ["distilled"]}
    _assert_publishable(disp.figure_)


def test_loss_curve_display_splits_one_given_axes_into_its_panels(fitted):
    nets, distilled = fitted
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6), layout="constrained")
    disp = LossCurveDisplay.from_estimator({**nets, "distilled": distilled}, ax=left)
    assert disp.ax_ is left and len(disp.axes_) == 3
    right.plot([0, 1], [0, 1])
    right.set(title="another plot", xlabel="x", ylabel="y")
    _assert_publishable(fig)


def test_loss_curve_display_of_regressors():
    X, y = load_diabetes(return_X_y=True)
    regs = {
        "squared error": make_pipeline(MinMaxScaler(), MLPRegressor(
            hidden_layer_sizes=(8,), max_iter=10, random_state=0, device="cpu")),
        "poisson": make_pipeline(MinMaxScaler(), MLPRegressor(
            loss="poisson", hidden_layer_sizes=(8,), max_iter=10, random_state=0,
            device="cpu")),
    }
    disp = LossCurveDisplay.from_estimator({k: r.fit(X, y) for k, r in regs.items()},
                                           log_scale=True)
    assert len(disp.loss_axes_) == 2
    assert "target units²" in disp.ax_.get_ylabel().replace("\n", " ")
    _assert_publishable(disp.figure_)


@pytest.mark.parametrize("n_models", [1, 6])
def test_parameter_stability_display(fitted, n_models):
    nets, _ = fitted
    disp = ParameterStabilityDisplay.from_estimator(dict(list(nets.items())[:n_models]))
    assert all(ax.get_title() for ax in disp.axes_)
    _assert_publishable(disp.figure_)


def test_the_study_report_figures(fitted):
    nets, distilled = fitted
    plain = list(nets.values())
    rng = np.random.RandomState(0)
    base = rng.uniform(0.85, 0.95, 5)

    def step(name, gain, noise, kind="lever", against="running best"):
        scores = base + gain + rng.normal(0, noise, 5)
        return StudyStep(name, "setting", scores, paired_difference(scores, base, 0.25),
                         against, "", 1.0, kind)

    steps = [step("trivial (class prior)", -0.5, 0.01, "reference", "chosen MLP"),
             step("baseline", 0.0, 0.0, "baseline", "trivial"),
             step("structure", 0.03, 0.002),
             step("activation & init", 0.0, 0.02),
             step("optimizer & learning rate", -0.05, 0.002),
             step("distillation", -0.01, 0.01, "distillation", "teacher"),
             step("TabularMLPClassifier", 0.01, 0.01, "reference", "chosen MLP")]
    figures = _figures(StudyResult("classification", steps, plain[3],
                                   distilled.student_, "accuracy"))
    assert set(figures) == {"loss curves", "paired differences"}
    for fig in figures.values():
        _assert_publishable(fig)
    # Above, within and below the noise get three colours; the student's distillation
    # loss has its own panel, apart from the log-loss.
    bars = figures["paired differences"].axes[0].patches
    assert len({tuple(b.get_facecolor()) for b in bars}) == 3
    labels = " / ".join(ax.get_ylabel() for ax in figures["loss curves"].axes)
    assert "log-loss (nats" in labels and "distillation loss (nats" in labels


def test_the_checks_catch_overlapping_tick_labels():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar([f"a long category name {i}" for i in range(6)], np.arange(6))
    ax.set(title="t", xlabel="x", ylabel="y")
    assert any("overlap" in p for p in publishing_problems(fig))
