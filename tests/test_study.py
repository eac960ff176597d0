"""The optimization study and the ``sklopt study`` command: honest evaluation (shuffled
outer folds, references on the same folds, paired keep rule), data sense, the student
judged against its teacher, the time limit and the report."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (GroupKFold, KFold, StratifiedKFold,
                                     cross_val_score)
from sklearn.pipeline import Pipeline

from sklopt._cli import main
from sklopt.io import load
from sklopt.model_selection import load_csv, run_study
from sklopt.model_selection import _study as study_module
from sklopt.model_selection._data import DataError, check_target
from sklopt.model_selection._evaluation import (Measure, inner_validation, outer_cv,
                                               outer_splits, paired_difference)
from sklopt.preprocessing import SwapNoise, TabularPreprocessor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _table_rows(text):
    """The rows of the Markdown table in ``text`` (without header and rule)."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    return lines[1:]


def _row(result, name):
    return next(s for s in result.steps if s.name == name)


# --- the paired comparison -----------------------------------------------------------

def test_paired_difference_finds_a_steady_gain_and_not_noise():
    rng = np.random.RandomState(0)
    base = rng.uniform(0.7, 0.9, size=5)
    steady = paired_difference(base + 0.05 + rng.normal(0, 0.002, 5), base, 0.25)
    assert steady.above_noise and not steady.below_noise
    assert steady.low < 0.05 < steady.high
    noisy = paired_difference(base + rng.normal(0, 0.05, 5), base, 0.25)
    assert not noisy.above_noise and not noisy.below_noise
    same = paired_difference(base, base, 0.25)
    assert same.mean == 0 and not same.above_noise and not same.below_noise
    # The correction widens the interval: with n_test/n_train = 0 it is the plain
    # paired t interval, narrower.
    plain = paired_difference(base + rng.normal(0, 0.05, 5), base, 0.0)
    assert plain.high - plain.low < noisy.high - noisy.low


def test_outer_folds_are_shuffled_stratified_grouped_or_time_ordered():
    y = np.repeat([0, 1], 50)
    X = np.zeros((100, 1))
    folds = list(outer_cv("shuffled", 5, True, 0).split(X, y))
    for _, test in folds:  # stratified: each test fold holds both classes equally
        assert np.bincount(y[test]).tolist() == [10, 10]
    assert any(np.any(np.diff(test) > 1) for _, test in folds)  # shuffled
    groups = np.arange(100) // 10
    for train, test in outer_cv("shuffled", 5, False, 0, groups).split(X, y, groups):
        assert not set(groups[train]) & set(groups[test])
    for train, test in outer_cv("time", 3, True, 0).split(X, y):
        assert train.max() < test.min()
    with pytest.raises(ValueError, match="cannot be combined"):
        outer_cv("time", 3, True, 0, groups)


def test_repeated_outer_folds_reshuffle_and_sharpen_the_paired_test():
    y = np.repeat([0, 1], 50)
    X = np.zeros((100, 1))
    splits = outer_splits("shuffled", 5, True, 0, X, y, repeats=3)
    assert len(splits) == 15
    for r in range(3):  # each repeat is a partition of the rows
        tests = np.sort(np.concatenate([t for _, t in splits[5 * r:5 * r + 5]]))
        np.testing.assert_array_equal(tests, np.arange(100))
    assert not np.array_equal(splits[0][1], splits[5][1])  # another shuffle
    with pytest.raises(ValueError, match="repeats must be 1"):
        outer_splits("time", 3, True, 0, X, y, repeats=2)
    # The same spread of differences over twice the folds: a narrower interval.
    rng = np.random.RandomState(0)
    d = rng.normal(0.01, 0.01, 10)
    once, twice = paired_difference(d[:5], 0 * d[:5], 0.25), paired_difference(
        d, 0 * d, 0.25)
    assert twice.high - twice.low < once.high - once.low


def test_a_study_with_repeated_folds_pairs_every_repeat(capsys):
    X, y = load_iris(return_X_y=True)
    levers = {"width": [{"mlp__hidden_layer_sizes": (4,)}]}
    result = run_study(X, y, budget="smoke", levers=levers, repeats=2, device="cpu",
                       verbose=False)
    width = _row(result, "width")
    assert len(width.scores) == 6  # 2 repeats x 3 folds, every row on the same folds
    assert all(len(s.scores) == 6 for s in result.steps)
    assert "repeated 2 times" in result.evaluation["outer folds"]
    assert "Bouckaert" in result.evaluation["paired test"]
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        run_study(X, y, budget="smoke", repeats=0)
    with pytest.raises(ValueError, match="repeats must be 1"):
        run_study(X, y, budget="smoke", cv="time", repeats=2)


def test_the_recommendation_is_the_cheapest_row_within_noise_of_the_best():
    from sklopt.model_selection._study import StudyStep, _recommend

    base = np.array([0.80, 0.85, 0.82, 0.88, 0.84])

    def ref(offsets, seconds):
        return StudyStep("r", "defaults", base + np.asarray(offsets), fit_time=seconds,
                         kind="reference")

    def pick(mlp_offsets, refs):
        return _recommend(10.0, base + np.asarray(mlp_offsets), refs, refs["trivial"],
                          lambda a, b: paired_difference(a, b, 0.25, 0.01), "accuracy")

    refs = {"trivial": ref([-0.5] * 5, 0.0),
            "linear": ref([0.004, -0.006, 0.01, -0.008, 0.002], 0.5),
            "boosting": ref([0.01, -0.002, 0.008, 0.0, 0.006], 3.0),
            "far behind": ref([-0.2] * 5, 0.1)}
    name, why = pick([0.0] * 5, refs)
    # boosting is best on average; linear and the MLP tie with it; linear is cheapest,
    # and the trivial model (cheaper still) and the row far behind are not candidates.
    assert name == "linear" and "within noise of the best row, boosting" in why
    assert "6x faster" in why
    # A steady lead is not a tie: the best row itself is recommended.
    name, why = pick([0.1] * 5, {**refs, "linear": ref([-0.1] * 5, 0.5),
                                 "boosting": ref([-0.1] * 5, 3.0)})
    assert name == "chosen MLP" and why.startswith("chosen MLP has the best mean")


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_lever_candidate_is_a_valid_setting(task):
    from sklopt.model_selection import BUDGETS, LEVERS
    from sklopt.model_selection._plan import _lever_candidates, _pipeline

    base = _pipeline(task)
    for budget in BUDGETS:
        for lever, candidates in _lever_candidates(budget, None, task):
            assert candidates, (budget, lever)
            for candidate in candidates:
                model = base.set_params(**candidate)
                model[0]._validate_params()
                model[-1]._validate_params()
    # The table's only classifier-only option is left out of a regression study.
    n_full = sum(len(t["full"]) for t in LEVERS.values())
    n_task = sum(len(c) for _, c in _lever_candidates("full", None, task))
    assert n_full - n_task == (task == "regression")


# --- evaluation that cannot flatter ----------------------------------------------------

def test_a_table_sorted_by_its_target_gets_the_shuffled_answer():
    # Rows sorted by the target: unshuffled folds test on the largest targets after
    # training on the smallest, which no model can predict. The study's references
    # run on shuffled folds seeded by random_state: the same numbers as sklearn's
    # cross_val_score with KFold(shuffle=True).
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    y = pd.Series(X["a"] * 3 + rng.normal(size=150) * 0.3)
    order = np.argsort(y.to_numpy())
    X, y = X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    result = run_study(X, y, task="regression", budget="smoke", levers={},
                       random_state=3, device="cpu", verbose=False)
    trivial = _row(result, "trivial (mean)")
    shuffled = cross_val_score(DummyRegressor(), X, y,
                               cv=KFold(3, shuffle=True, random_state=3))
    unshuffled = cross_val_score(DummyRegressor(), X, y, cv=KFold(3))
    np.testing.assert_allclose(trivial.scores, shuffled)
    assert unshuffled.mean() < -1 < trivial.mean < 0.05


def test_classification_references_run_on_the_same_stratified_folds():
    X, y = load_iris(return_X_y=True, as_frame=True)
    order = np.argsort(y.to_numpy(), kind="stable")  # sorted by class, as iris is
    result = run_study(X.iloc[order], y.iloc[order], budget="smoke", levers={},
                       random_state=1, device="cpu", verbose=False)
    expected = cross_val_score(
        Pipeline([("prep", TabularPreprocessor()),
                  ("model", LogisticRegression(max_iter=1000))]),
        X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True),
        cv=StratifiedKFold(3, shuffle=True, random_state=1))
    np.testing.assert_allclose(_row(result, "logistic regression").scores, expected)
    trivial = _row(result, "trivial (class prior)")
    np.testing.assert_allclose(trivial.mean, 1 / 3, atol=0.02)  # not 0: shuffled
    # References come first (trivial, linear) and last (strong), and each one is
    # compared with the chosen MLP on the same folds.
    names = [s.name for s in result.steps]
    assert names[:2] == ["trivial (class prior)", "logistic regression"]
    assert names[-2:] == ["hist gradient boosting", "TabularMLPClassifier"]
    assert all(s.against == "chosen MLP" for s in result.steps if s.kind == "reference")


def test_a_lever_with_no_effect_is_not_kept_and_a_real_gain_is():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    levers = {
        # SwapNoise with p=0 swaps nothing: no effect at all.
        "no-op augmentation": [{"mlp__augment": SwapNoise(p=0.0)}],
        # 15 epochs at the baseline's 1e-3 leave the net far from trained; 3e-2 is a
        # real, large gain.
        "learning rate": [{"mlp__learning_rate_init": 3e-2}],
    }
    # Two repeats of the 3 folds: the gain wins on every fold, and 6 differences
    # (t with 5 degrees of freedom) judge it steadier than 3 could.
    result = run_study(X, y, budget="smoke", repeats=2, levers=levers, random_state=0,
                       device="cpu", verbose=False)
    noop, lr = _row(result, "no-op augmentation"), _row(result, "learning rate")
    assert noop.decision.startswith("not kept")
    assert not noop.paired.above_noise
    assert lr.decision == "kept", lr
    assert lr.paired.above_noise
    assert "learning_rate_init=0.03" in lr.setting
    assert _study_mlp(result.best_estimator).learning_rate_init == 3e-2
    assert "learning rate" in result.summary[-2]
    # The smoke budget's 15 epochs end before the stopping rule's 20: it says so.
    assert any("all max_iter=15 epochs" in line for line in result.summary)


def _periodic_table(n=900, seed=0):
    """Three uniform columns; the class is the sign of a sine of the first with three
    periods: a plain MLP in 15 epochs barely beats the prior, while numerical
    embeddings (one weight per bin of each column) can follow the waves."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n, 3))
    return X, (np.sin(2 * np.pi * 3 * X[:, 0]) > 0).astype(int)


def test_a_lever_that_truly_helps_is_kept_and_saved():
    X, y = _periodic_table()
    result = run_study(X, y, budget="smoke", levers={
        "embedding": [{"mlp__num_embedding": "piecewise_linear"}]}, random_state=0,
        device="cpu", verbose=False)
    row = _row(result, "embedding")
    assert row.decision == "kept", row
    assert row.paired.low > 0.05  # not a marginal call
    assert _study_mlp(result.best_estimator).num_embedding == "piecewise_linear"
    assert result.summary[-2].startswith("Levers kept: embedding.")


def test_on_a_table_where_nothing_helps_no_lever_is_kept():
    X, _ = _periodic_table()
    y = np.random.RandomState(1).randint(0, 2, len(X))  # labels unrelated to X
    result = run_study(X, y, budget="smoke", levers={
        "embedding": [{"mlp__num_embedding": "piecewise_linear"}],
        "width": [{"mlp__hidden_layer_sizes": (8,)}],
        "learning rate": [{"mlp__learning_rate_init": 1e-2}]},
        random_state=0, device="cpu", verbose=False)
    rows = [s for s in result.steps if s.kind == "lever"]
    assert len(rows) == 3
    assert all(s.decision.startswith("not kept") for s in rows), result.table()
    assert "Levers kept: none." in result.summary[-2]
    assert _study_mlp(result.best_estimator).get_params()["num_embedding"] is None


def test_scoring_decides_and_every_row_shows_the_pair_of_metrics():
    X, y = load_iris(return_X_y=True)
    result = run_study(X, y, budget="smoke", scoring="neg_log_loss", levers={
        "learning rate": [{"mlp__learning_rate_init": 3e-2}]}, random_state=0,
        device="cpu", verbose=False)
    table = result.table()
    assert list(table.columns[2:4]) == ["outer neg_log_loss", "accuracy"]
    assert "log loss" not in table.columns  # the decision column is that metric
    for row in result.steps:
        np.testing.assert_allclose(row.scores, -row.metrics["log loss"])
        assert np.all((row.metrics["accuracy"] >= 0) & (row.metrics["accuracy"] <= 1))
    # Selection by the deciding scorer on the networks' early-stopping rows.
    assert "best validation neg_log_loss" in result.evaluation["selection"]
    lr = _row(result, "learning rate")
    assert lr.paired.mean > 0  # 15 epochs at 3e-2 beat 1e-3 on log loss too
    regression = run_study(*load_diabetes(return_X_y=True), task="regression",
                           budget="smoke", scoring="neg_mean_absolute_error",
                           levers={}, random_state=0, device="cpu", verbose=False)
    assert list(regression.table().columns[2:5]) == [
        "outer neg_mean_absolute_error", "R^2", "RMSE"]
    assert "validation neg_mean_absolute_error" in regression.evaluation["selection"]
    for bad, message in [("nope", "scorer name"), ("r2", "regression metric"),
                         ("neg_log_loss", "classification metric")]:
        task = "regression" if bad == "neg_log_loss" else "classification"
        with pytest.raises(ValueError, match=message):
            run_study(X, y, task=task, scoring=bad, budget="smoke", verbose=False)


def test_the_saved_setting_is_the_best_mean_validation_over_the_folds(monkeypatch):
    X, y = load_iris(return_X_y=True)
    candidates = [{"mlp__hidden_layer_sizes": (4,)}, {"mlp__hidden_layer_sizes": (32,)}]
    seen = []
    original = study_module._fit_score

    def recording(estimator, X_, y_, fold, measure, fit_params=None):
        out = original(estimator, X_, y_, fold, measure, fit_params)
        if fold.test is not None and "mlp" in getattr(estimator, "named_steps", {}):
            seen.append((estimator.named_steps["mlp"].hidden_layer_sizes, out[1]))
        return out

    monkeypatch.setattr(study_module, "_fit_score", recording)
    result = run_study(X, y, budget="smoke", levers={"width": candidates},
                       random_state=0, device="cpu", verbose=False)
    row = _row(result, "width")
    means = {size: np.mean([v for s, v in seen if s == size])
             for size in [(64,), (4,), (32,)]}
    assert all(len([v for s, v in seen if s == size]) == 3 for size in means)
    options = [(4,), (32,)] if row.decision == "kept" else [(4,), (32,), (64,)]
    best = max(options, key=lambda s: means[s])
    expected = None if best == (64,) else [(4,), (32,)].index(best)
    assert row.details["saved choice"] == expected
    assert _study_mlp(result.best_estimator).hidden_layer_sizes == (
        best if row.decision == "kept" else (64,))
    # The study's networks train in float32, although its preprocessing outputs float64.
    assert _study_mlp(result.best_estimator).coefs_[0].dtype == np.float32


def test_inner_selection_keeps_groups_apart_and_time_in_order(monkeypatch):
    train = np.arange(100)
    groups = np.repeat(np.arange(20), 5)
    y = np.tile([0, 1], 50)
    mask = inner_validation("shuffled", train, y, groups, True, 0)
    assert 10 <= mask.sum() <= 30
    assert not set(groups[mask]) & set(groups[~mask])  # whole groups held out
    assert set(y[mask]) == {0, 1}
    late = inner_validation("time", train, y, None, True, 0)
    assert late.sum() == 20 and late[-20:].all()  # the last fifth, in order
    random = inner_validation("shuffled", train, y, None, True, 0)
    assert random.sum() == 20 and y[random].mean() == 0.5  # a stratified fifth

    seen = []
    original = study_module._fit_score

    def recording(estimator, X_, y_, fold, measure, fit_params=None):
        seen.append((fold, fit_params))
        return original(estimator, X_, y_, fold, measure, fit_params)

    monkeypatch.setattr(study_module, "_fit_score", recording)
    X, y = load_iris(return_X_y=True)
    groups = np.arange(150) // 3
    result = run_study(X, y, budget="smoke", groups=groups, levers={
        "width": [{"mlp__hidden_layer_sizes": (8,)}]}, random_state=0, device="cpu",
        verbose=False)
    networks = [(fold, p) for fold, p in seen if p]
    assert len(networks) == 3 + 3 + 1  # baseline, the lever, the saved model
    for fold, params in networks:
        held = params["mlp__validation_mask"]
        inner = groups[fold.train]
        assert not set(inner[held]) & set(inner[~held])
    assert "whole 'group' groups" in result.evaluation["selection"]


def test_the_ablation_switches_off_each_lever_of_the_strong_default(monkeypatch):
    from sklopt.model_selection import ABLATIONS, planned_fits
    from sklopt.model_selection import _fits

    counted = []
    original = _fits._Runner.run

    fitted = []

    def counting(self, calls, ahead=None, fits_per_call=1, force=False):
        out = original(self, calls, ahead, fits_per_call, force)
        counted.append(len(calls) * fits_per_call)
        fitted.extend(args[0] for _, args in calls)
        return out

    monkeypatch.setattr(_fits._Runner, "run", counting)
    X, y = load_iris(return_X_y=True)
    levers = {"width": [{"mlp__hidden_layer_sizes": (8,)}]}
    result = run_study(X, y, budget="smoke", levers=levers, ablation=True,
                       random_state=0, device="cpu", verbose=False)
    rows = [s for s in result.steps if s.kind == "ablation"]
    assert [r.name for r in rows] == [f"TabularMLPClassifier without {lever}"
                                      for lever in ABLATIONS]
    full = _row(result, "TabularMLPClassifier")
    for row, params in zip(rows, ABLATIONS.values()):
        assert row.against == "TabularMLPClassifier"
        np.testing.assert_allclose(row.paired.mean, np.mean(row.scores - full.scores))
        assert len(row.scores) == 3
    # Each ablated variant is the strong default with that lever's parameters set, on
    # every outer fold (and once more on all rows if it is the recommended model).
    tabular = [e.get_params() for e in fitted if type(e).__name__ == "TabularMLPClassifier"]
    for name, params in ABLATIONS.items():
        runs = sum(all(p[k] == v for k, v in params.items()) for p in tabular)
        assert runs == 3 + (result.recommended == f"TabularMLPClassifier without {name}")
    assert result.summary[-1].startswith("Switched off one at a time in "
                                         "TabularMLPClassifier: numerical embeddings:")
    # The plan counts every fit the study ran, but the recommended reference's fit on
    # all rows, which it cannot foresee (the progress bar adds it).
    planned = planned_fits("smoke", 3, levers, ablation=True)
    assert result.evaluation["planned fits"] == planned
    assert sum(counted) == planned + (result.recommended != "chosen MLP")


def test_inner_selection_copes_with_few_groups_and_late_classes():
    X, y = load_diabetes(return_X_y=True)
    # 4 groups: each fold's training rows hold 2 or 3, fewer than 5 inner folds.
    result = run_study(X, y, task="regression", budget="smoke", levers={},
                       groups=np.arange(len(y)) % 4, random_state=0, device="cpu",
                       verbose=False)
    assert result.best_estimator is not None
    # Time order with a class that appears only late: held out, it would be a class
    # the network never saw; it trains instead.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3))
    y = np.where(np.arange(600) < 400, (X[:, 0] > 0).astype(int), 2)
    mask = inner_validation("time", np.arange(450), y, None, True, 0)
    assert not mask[y[:450] == 2].any() and mask.sum() >= 2
    result = run_study(X, y, budget="smoke", cv="time", levers={}, random_state=0,
                       device="cpu", verbose=False)
    assert result.best_estimator is not None


def test_a_scorer_that_cannot_score_the_target_is_refused_up_front(tmp_path, capsys):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="scoring='roc_auc' cannot score this target"):
        run_study(X, y, budget="smoke", scoring="roc_auc", verbose=False)
    assert main(["study", "--dataset", "iris", "--scoring", "f1", "--budget", "smoke",
                 "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    assert "cannot score this target" in capsys.readouterr().err


def test_a_candidate_that_fails_to_fit_is_reported_and_never_chosen():
    X, y = load_iris(return_X_y=True)
    result = run_study(X, y, budget="smoke", levers={"no layer": [{
        "mlp__hidden_layer_sizes": (0,)}]}, random_state=0, device="cpu", verbose=False)
    row = _row(result, "no layer")
    assert ("3 of 3 fits failed, never chosen (InvalidParameterError: The "
            "'hidden_layer_sizes' parameter"
            in row.setting)
    assert row.details["per-fold choices"] == [None] * 3
    assert row.decision == "not kept: no difference"
    assert np.all(np.isfinite(row.scores))  # the running best's scores


def _study_mlp(model):
    return study_module._unwrap(model)


def test_the_student_row_reports_a_loss_when_the_teacher_is_better(monkeypatch):
    # A student that cannot learn (one epoch at a tiny step) against a good teacher:
    # the row must say LOSS, never a gain.
    original = study_module._distill

    def crippled(teacher, student, *args):
        student.set_params(mlp__max_iter=1, mlp__learning_rate_init=1e-7)
        return original(teacher, student, *args)

    monkeypatch.setattr(study_module, "_distill", crippled)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    result = run_study(X, y, budget="smoke",
                       levers={"learning rate": [{"mlp__learning_rate_init": 3e-2}]},
                       random_state=0, device="cpu", verbose=False)
    student = _row(result, "distillation")
    assert student.against == "teacher"
    assert student.paired.below_noise
    assert student.decision.startswith("LOSS")
    assert "LOSS" in result.summary[-1]
    # The student is small and alone: a pipeline ending in the small network.
    net = _study_mlp(result.student)
    assert net.hidden_layer_sizes == (16,)
    assert "Distilled" not in type(result.student).__name__


# --- data sense, the report and the files ---------------------------------------------

def _titanic_like(n=240, seed=0):
    rng = np.random.RandomState(seed)
    sex = rng.choice(["female", "male"], size=n)
    cls = rng.choice(["1st", "2nd", "3rd"], size=n)
    age = rng.uniform(1, 70, size=n).round(1)
    p = 0.2 + 0.5 * (sex == "female") + 0.2 * (cls == "1st")
    frame = pd.DataFrame({
        "name": [f"Passenger {i}, Mr. X{i}" for i in range(n)],  # unique per row
        "sex": sex, "age": np.where(rng.uniform(size=n) < 0.2, np.nan, age),
        "passengerClass": cls, "ship": "Titanic",  # constant
        "survived": np.where(rng.uniform(size=n) < p, "yes", "no"),
    })
    return frame.sort_values("passengerClass").reset_index(drop=True)


def test_study_cli_on_a_csv_drops_ids_and_writes_an_honest_report(tmp_path, capsys):
    path = tmp_path / "titanic.csv"
    frame = _titanic_like()
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    code = main(["study", "--data", str(path), "--target", "survived", "--budget",
                 "smoke", "--out", str(out), "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert ("sklopt study: warning: The study drops column 'name' (unique per row), "
            "column 'ship' (constant).") in captured.err
    assert "fits" in captured.err  # says up front how many fits it will run
    printed = _table_rows(captured.out)
    assert captured.out.count("| step |") == 1  # the table prints once
    report = (out / "report.md").read_text()
    assert _table_rows(report) == printed
    steps = [row.split(" | ")[0].strip("| ") for row in printed]
    assert steps == ["trivial (class prior)", "logistic regression", "baseline",
                     "structure", "activation & init", "optimizer & learning rate",
                     "preprocessing & augmentation", "regularization",
                     "embeddings & ensembling", "distillation", "hist gradient boosting",
                     "TabularMLPClassifier"]
    # The report says what was dropped and how it was measured.
    assert "column 'name' (unique per row)" in report and (
        "column 'ship' (constant)" in report)
    for words in ("3-fold, shuffled, stratified", "seed: 0", "budget: smoke",
                  "Nadeau & Bengio", "time (s)", "rows: 240"):
        assert words in report, words
    # Its first line is the verdict against the best reference.
    first = report.splitlines()[2]
    assert "reference" in first and first.startswith("**")
    for name in ("loss_curves.png", "gains.png", "summary.csv", "folds.csv",
                 "best_model.safetensors", "student_model.safetensors"):
        assert (out / name).stat().st_size > 0, name
    folds = pd.read_csv(out / "folds.csv", index_col=0)
    assert folds.shape == (3, 12)
    # The saved model takes the CSV's columns (the name column too, ignored) or an
    # array in the same column order, and the student file holds the student alone.
    best = load(out / "best_model.safetensors")
    X = frame.drop(columns="survived")
    expected = best.predict(X)
    assert set(expected) <= {"yes", "no"}
    np.testing.assert_array_equal(best.predict(X.to_numpy()), expected)
    # The dropped columns are not needed at predict time.
    np.testing.assert_array_equal(best.predict(X.drop(columns=["name", "ship"])),
                                  expected)
    student = load(out / "student_model.safetensors")
    assert student.predict(X).shape == (240,)
    assert "Distilled" not in type(student).__name__
    # The recommended model: named in the summary, saved with the report (a reference
    # in skops' format, loaded by trusting the listed types) unless it is the MLP.
    line = next(line for line in captured.out.splitlines()
                if line.startswith("Recommended: "))
    if "Recommended: chosen MLP" in line:
        assert not list(out.glob("recommended_model.*"))
    else:
        import skops.io as sio

        saved = next(out.glob("recommended_model.*"))
        model = (sio.load(saved, trusted=sio.get_untrusted_types(file=saved))
                 if saved.suffix == ".skops" else load(saved))
        assert set(model.predict(X)) <= {"yes", "no"}
        assert saved.name in report
    # Another run into the same folder is refused before any work, unless --overwrite.
    assert main(["study", "--data", str(path), "--target", "survived", "--budget",
                 "smoke", "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_a_regression_study_beats_the_trivial_model_on_a_large_scale_target():
    # A target in the tens of thousands: the networks learn it standardised.
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    y = 20000 + 5000 * (X["a"] - 0.5 * X["b"]) + rng.normal(0, 500, 300)
    result = run_study(X, y, task="regression", budget="quick", levers={},
                       random_state=0, device="cpu", verbose=False)
    baseline = _row(result, "baseline")
    assert baseline.decision == "better than trivial"
    assert baseline.mean > 0.5  # the trivial model scores about 0
    assert result.best_estimator.predict(X.iloc[:5]).mean() > 1000


def test_time_limit_stops_cleanly_and_says_so(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["study", "--dataset", "iris", "--budget", "smoke", "--time-limit",
                 "0.5", "--out", str(out), "--quiet", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "time limit stopped" in captured.out
    report = (out / "report.md").read_text()
    assert "stopped by the time limit: True" in report
    assert len(_table_rows(report)) < 12


def test_a_step_stopped_by_the_time_limit_is_reported_with_its_finished_fits():
    import time

    from sklopt.model_selection._fits import _Runner

    runner = _Runner(4, None, 0.05, verbose=False)
    calls = [(time.sleep, (0.06,))] * 4
    assert runner.run(calls) is None  # the limit passed during the first call
    assert runner.stopped and runner.abandoned == (1, 4)
    assert runner.run(calls[:1], force=True) == [None]  # the saved model's fit runs
    paired = paired_difference([0.8, 0.9, 0.85], [0.7, 0.85, 0.8], 0.5)
    assert paired.half_width == pytest.approx((paired.high - paired.low) / 2)
    assert paired.low == pytest.approx(paired.mean - paired.half_width)


def test_ctrl_c_ends_the_study_with_what_finished(monkeypatch):
    original, calls = study_module._fit_score, []

    def interrupted_at_the_third_lever(*args):
        calls.append(1)
        if len(calls) > 12 + 3 + 3 + 3:  # references, baseline, two levers
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(study_module, "_fit_score", interrupted_at_the_third_lever)
    X, y = load_iris(return_X_y=True)
    result = run_study(X, y, budget="smoke", random_state=0, device="cpu",
                       verbose=False)
    assert result.summary[0].startswith("Interrupted (Ctrl-C)")
    assert [s.name for s in result.steps if s.kind != "reference"] == [
        "baseline", "structure", "activation & init"]
    assert result.evaluation["interrupted (Ctrl-C)"] is True
    # Ctrl-C means stop: no further fit on all rows, and the summary says so.
    assert result.best_estimator is None
    assert any("No model was saved" in line for line in result.summary)


def test_ctrl_c_inside_a_network_fit_is_passed_on(monkeypatch):
    # skorch's training loop catches KeyboardInterrupt and the network only warns
    # that it was interrupted; the study must stop, not score a half-trained model.
    from sklopt.model_selection._fits import _Fold

    X, y = load_iris(return_X_y=True, as_frame=True)
    calls = []

    from sklopt.neural_network._net import SkloptNet

    original = SkloptNet.run_single_epoch

    def interrupt_the_third_epoch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # two epochs of training and validation, then Ctrl-C
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SkloptNet, "run_single_epoch", interrupt_the_third_epoch)
    model = study_module._pipeline("classification")
    with pytest.raises(KeyboardInterrupt):
        study_module._fit_score(model, X, y, _Fold(np.arange(100), np.arange(100, 150)),
                                Measure("classification", "accuracy"))
    assert len(calls) == 5


def test_groups_column_is_not_a_feature(tmp_path, capsys):
    frame = _titanic_like(n=150)
    frame["family"] = np.arange(150) // 5
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    code = main(["study", "--data", str(path), "--target", "survived", "--groups",
                 "family", "--budget", "smoke", "--out", str(tmp_path / "o"),
                 "--quiet", "--device", "cpu", "--time-limit", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = (tmp_path / "o" / "report.md").read_text()
    assert "never split across folds" in report
    assert "columns: 5" in report  # name, sex, age, passengerClass, ship: no family
    assert main(["study", "--data", str(path), "--target", "survived", "--groups",
                 "nope", "--out", str(tmp_path / "p")]) == 2
    assert "--groups 'nope'" in capsys.readouterr().err


def test_tabular_preprocessor_takes_an_array_in_the_training_column_order():
    frame = _titanic_like(n=60).drop(columns="survived")
    prep = TabularPreprocessor(min_frequency=1).fit(frame)
    np.testing.assert_array_equal(prep.transform(frame.to_numpy()), prep.transform(frame))
    with pytest.raises(ValueError, match="fitted on a DataFrame with 5 columns"):
        prep.transform(frame.to_numpy()[:, :3])


def test_group_kfold_shuffles():
    # The group-aware folds rely on GroupKFold(shuffle=True) (scikit-learn >= 1.6).
    groups = np.arange(40) // 4
    a = [t for _, t in GroupKFold(4, shuffle=True, random_state=0).split(groups,
                                                                          groups=groups)]
    b = [t for _, t in GroupKFold(4).split(groups, groups=groups)]
    assert any(not np.array_equal(x, z) for x, z in zip(a, b))


# --- command line --------------------------------------------------------------------

@pytest.mark.parametrize("content, target, message", [
    ("a,b\n1,2\n3,4\n", "c", "no column 'c'"),
    ("a,b\n1,x\n3,x\n2,x\n", "b", "one class"),
    ("", "a", "is empty"),
    ("a,b\n", "a", "no data rows"),
])
def test_bad_csv_gets_a_clear_message_and_nonzero_exit(tmp_path, capsys, content,
                                                      target, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = main(["study", "--data", str(path), "--target", target, "--out",
                 str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code != 0
    assert message in err and "error" in err
    assert not (tmp_path / "o").exists()


def test_cli_argument_errors(tmp_path, capsys, monkeypatch):
    # From a folder whose default --out (sklopt_study) already holds a study, as the
    # README's main command leaves it: the input's own error comes first.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sklopt_study").mkdir()
    (tmp_path / "sklopt_study" / "report.md").write_text("an earlier study")
    assert main(["study", "--data", str(tmp_path / "nope.csv"), "--target", "y"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["study", "--data", str(tmp_path / "nope.csv")]) == 2
    assert "--target" in capsys.readouterr().err
    assert main(["study", "--dataset", "iris", "--task", "regression"]) == 2
    assert "--task goes with --data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["study", "--dataset", "digits", "--budget", "enormous"])
    with pytest.raises(ValueError, match=r"classes 2 \(1\) have fewer rows than the 5"):
        run_study(np.zeros((41, 2)), np.array([0] * 20 + [1] * 20 + [2]))
    for bad, message in [({"time_limit": float("nan")}, "time_limit must be"),
                         ({"time_limit": -1}, "time_limit must be"),
                         ({"n_jobs": 0}, "n_jobs must not be 0"),
                         ({"levers": {"baseline": []}}, "taken by other rows")]:
        with pytest.raises(ValueError, match=message):
            run_study(np.zeros((20, 2)), np.arange(20) % 2, **bad)
    assert main(["study", "--dataset", "iris", "--task", "regression", "--out",
                 str(tmp_path / "o")]) == 2
    assert "--task goes with --data" in capsys.readouterr().err
    assert main(["study", "--dataset", "iris", "--repeats", "0", "--out",
                 str(tmp_path / "r")]) == 2
    assert "repeats must be a positive integer" in capsys.readouterr().err
    with pytest.raises(ValueError, match="levers must be"):
        run_study(np.zeros((10, 2)), np.arange(10) % 2, levers=["structure"])
    with pytest.raises(ValueError, match=r"lacks: \['mlp__hidden_sizes'\]"):
        run_study(np.zeros((10, 2)), np.arange(10) % 2,
                  levers={"width": [{"mlp__hidden_sizes": (8,)}]})


def test_target_kind_detection():
    assert check_target(pd.Series([0, 1, 1, 0])) == "classification"
    assert check_target(pd.Series(["a", "b"])) == "classification"
    assert check_target(pd.Series(np.linspace(0, 1, 50))) == "regression"
    assert check_target(pd.Series(np.arange(100))) == "regression"
    with pytest.raises(DataError, match="constant"):
        check_target(pd.Series([1.5, 1.5]), "regression")


def test_load_csv_drops_rows_without_target(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n2,\n3,1\n")
    X, y, task = load_csv(path, "y")
    assert len(X) == 2 and task == "classification"


def test_help_is_plain_text():
    done = subprocess.run([sys.executable, "-m", "sklopt", "study", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    for option in ("--budget", "--scheduler", "--time-limit", "--groups", "--cv",
                   "--overwrite"):
        assert option in done.stdout
    assert "``" not in done.stdout and ":func:" not in done.stdout
    assert "examples:\n  sklopt study" in done.stdout  # its line breaks kept


def test_the_study_trains_its_networks_in_batches_with_the_same_results(monkeypatch):
    # Every step's candidates x folds train together (fit_ahead); each fit then takes
    # its batched network. The table is the one of fits made one at a time.
    import sklopt.model_selection._fits as fits_module
    import sklopt.neural_network._batched as batched

    X, y = load_iris(return_X_y=True, as_frame=True)
    levers = {"learning rate": [{"mlp__learning_rate_init": 3e-3}],
              "width": [{"mlp__hidden_layer_sizes": (8,)}]}
    served = []
    real = batched.served_fit
    monkeypatch.setattr(batched, "served_fit", lambda *a: served.append(
        real(*a)) or served[-1])
    together = run_study(X, y, budget="smoke", levers=levers, random_state=0,
                         device="cpu", verbose=False)
    assert sum(f is not None for f in served) >= 12  # baseline and levers: 4 + 4 + 4
    monkeypatch.setattr(fits_module, "fit_ahead", lambda fits, n_jobs=None: {})
    alone = run_study(X, y, budget="smoke", levers=levers, random_state=0,
                      device="cpu", verbose=False)
    import re

    def untimed(setting):  # the distillation row's measured predict-time ratio
        return re.sub(r"predict time [\d.]+x", "predict time", setting)

    for a, b in zip(together.steps, alone.steps):
        assert (a.name, untimed(a.setting), a.decision) == (
            b.name, untimed(b.setting), b.decision)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-12)


def test_the_readmes_commands_in_order_in_a_fresh_clone(tmp_path):
    """The README's main command, then its tests, from one clone's root (a user's
    order): the study's output folder must not break a test (smoke budget for time;
    the tests that read the working directory)."""
    import os
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        pytest.skip("needs git and a git checkout of the repository (CI's clone is one)")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", str(root), str(clone)], check=True)
    lines = (clone / "README.md").read_text().splitlines()
    command = lines[lines.index("<!-- main-command -->") + 2].split("&&")[-1].split()
    assert command[:2] == ["sklopt", "study"] and "--out" in command, command
    study = [a if a != "quick" else "smoke" for a in command[2:]]
    env = {**os.environ, "PYTHONPATH": str(clone)}
    done = subprocess.run([sys.executable, "-m", "sklopt", "study", *study, "--quiet",
                           "--device", "cpu"], cwd=clone, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    out = clone / command[command.index("--out") + 1]
    assert (out / "report.md").exists()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_study.py", "-k",
                            "cli_argument_errors or bad_csv or help_is_plain"],
                           cwd=clone, env=env, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-2000:]


def test_a_failed_first_fold_keeps_the_rows_metrics():
    from sklopt.model_selection._study import _metrics

    metrics = _metrics([{}, {"accuracy": 0.9, "log loss": 0.3}])
    assert sorted(metrics) == ["accuracy", "log loss"]
    np.testing.assert_array_equal(metrics["accuracy"], [np.nan, 0.9])
