"""MLPClassifier / MLPRegressor: drop-in behaviour, levers, training semantics."""

import inspect
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import neural_network as sk_nn
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, recall_score
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sklopt.neural_network._fit as mlp_module
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network._levers import (
    ACTIVATIONS,
    INITIALIZERS,
    PENALTIES,
    SCHEDULES,
    SOLVERS,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=300, n_features=8, noise=0.1, random_state=0)
    return X, y / np.std(y)


def small(cls=MLPClassifier, **kw):
    params = dict(hidden_layer_sizes=(32,), max_iter=30, random_state=0, device="cpu",
                  learning_rate_init=0.01)
    params.update(kw)
    return cls(**params)


# --------------------------------------------------------------------------- drop-in
@pytest.mark.parametrize(
    "ours, theirs",
    [(MLPClassifier, sk_nn.MLPClassifier), (MLPRegressor, sk_nn.MLPRegressor)],
)
def test_every_sklearn_keyword_with_the_same_default(ours, theirs):
    sk_params = inspect.signature(theirs).parameters
    our_params = inspect.signature(ours).parameters
    for name, param in sk_params.items():
        assert name in our_params, name
        assert our_params[name].default == param.default, name
        assert our_params[name].kind == param.kind, name


def test_sklearn_script_runs_with_only_the_import_changed(digits):
    X, y = digits
    for MLP in (sk_nn.MLPClassifier, MLPClassifier):
        clf = MLP(hidden_layer_sizes=(50,), max_iter=40, alpha=1e-4, solver="adam",
                  random_state=1, early_stopping=False)
        clf.fit(X, y)
        assert clf.score(X, y) > 0.9
        proba = clf.predict_proba(X[:5])
        assert proba.shape == (5, 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[:5])), proba, rtol=1e-6)
        assert len(clf.loss_curve_) == clf.n_iter_ == 40
        assert clf.n_layers_ == 3 and clf.n_outputs_ == 10
        assert clf.out_activation_ == "softmax"
        assert [c.shape for c in clf.coefs_] == [(64, 50), (50, 10)]
        assert [b.shape for b in clf.intercepts_] == [(50,), (10,)]
        assert clf.t_ == 40 * len(X)
        assert clf.best_loss_ == min(clf.loss_curve_)
        assert clf.validation_scores_ is None and clf.best_validation_score_ is None


def test_fitted_attributes_are_numpy_and_match_the_module(digits):
    X, y = digits
    clf = small().fit(X, y)
    assert all(isinstance(c, np.ndarray) for c in clf.coefs_ + clf.intercepts_)
    linear = clf.net_.module_.linears()[0]
    np.testing.assert_array_equal(clf.coefs_[0], linear.weight.detach().numpy().T)
    # coefs_ reproduce the predictions, as in sklearn
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    logits = hidden @ clf.coefs_[1] + clf.intercepts_[1]
    np.testing.assert_array_equal(clf.classes_[logits.argmax(1)], clf.predict(X))
    assert isinstance(clf.loss_, float) and np.isfinite(clf.loss_)


def test_binary_and_multilabel_targets():
    X, y = make_classification(200, 10, random_state=0)
    clf = small(max_iter=50, learning_rate_init=0.01).fit(X, y)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.predict_proba(X).shape == (200, 2)
    assert clf.score(X, y) > 0.8

    Y = np.column_stack([y, 1 - y, (X[:, 0] > 0).astype(int)])
    clf = small(max_iter=100, learning_rate_init=0.01).fit(X, Y)
    assert clf.n_outputs_ == 3 and clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == (200, 3)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.score(X, Y) > 0.6


def test_string_labels(digits):
    X, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])[y]
    clf = small().fit(X, labels)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, labels) > 0.8


def test_regressor_multioutput_and_poisson(regression):
    X, y = regression
    Y = np.column_stack([y, -y])
    reg = small(MLPRegressor, max_iter=200, learning_rate_init=0.01).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9
    counts = np.random.default_rng(0).poisson(np.exp(X[:, 0] / 2))
    reg = small(MLPRegressor, loss="poisson", max_iter=100).fit(X, counts)
    assert reg.out_activation_ == "exp"
    assert (reg.predict(X) > 0).all()
    with pytest.raises(ValueError, match="negative"):
        small(MLPRegressor, loss="poisson").fit(X, y)


# --------------------------------------------------------------------------- levers
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_trains(digits, activation):
    X, y = digits
    clf = small(activation=activation, max_iter=20).fit(X, y)
    assert np.isfinite(clf.loss_curve_).all()
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("init", sorted(INITIALIZERS) + ["auto"])
def test_every_init_trains(digits, init):
    X, y = digits
    clf = small(init=init, max_iter=10).fit(X, y)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_auto_init_starts_where_sklearn_starts(est, activation):
    # init="auto" with sklearn's activations is sklearn's own scheme, drawn from the
    # same RandomState in the same order: the same initial weights and biases.
    X, y = make_classification(60, 7, random_state=0)
    ours = est(hidden_layer_sizes=(9, 5), activation=activation, random_state=3,
               device="cpu", max_iter=1, learning_rate_init=1e-300, penalty=None)
    theirs = getattr(sk_nn, est.__name__)(hidden_layer_sizes=(9, 5), activation=activation,
                                          random_state=3, max_iter=1,
                                          learning_rate_init=1e-300, alpha=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_auto_init_is_he_for_gelu_and_the_output_layer_is_linear():
    X, y = make_classification(50, 400, random_state=0)
    gelu = small(hidden_layer_sizes=(400,), activation="gelu", max_iter=1,
                 learning_rate_init=1e-12).fit(X, y)
    # He uniform: std sqrt(2 / fan_in); the output layer feeds the loss, not GELU:
    # std sqrt(1 / fan_in).
    assert np.std(gelu.coefs_[0]) == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    assert np.std(gelu.coefs_[1]) == pytest.approx(np.sqrt(1 / 400), rel=0.1)


def test_sgd_trajectory_is_sklearns(digits):
    # Same initial network, same batches: the loss curve is sklearn's up to rounding.
    X, y = digits
    kw = dict(hidden_layer_sizes=(20,), solver="sgd", momentum=0, max_iter=4,
              random_state=0, learning_rate_init=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(device="cpu", **kw).fit(X, y)
        theirs = sk_nn.MLPClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_learns(digits, solver):
    X, y = digits
    lr = 0.1 if solver in ("sgd", "adagrad") else 0.003
    clf = small(solver=solver, learning_rate_init=lr).fit(X, y)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_every_schedule_sets_the_learning_rate(digits, schedule):
    X, y = digits
    clf = small(solver="sgd", learning_rate=schedule, max_iter=20,
                learning_rate_init=0.01).fit(X, y)
    lrs = np.array(clf.net_.history[:, "lr"])
    assert lrs[0] == pytest.approx(0.01 if schedule != "onecycle" else lrs[0])
    if schedule in ("invscaling", "cosine"):
        assert np.all(np.diff(lrs) < 0)
    if schedule == "onecycle":
        assert lrs.max() == pytest.approx(0.01, rel=0.05) and lrs[0] < 0.01 / 5
    if schedule == "constant":
        assert np.all(lrs == 0.01)


def test_invscaling_matches_sklearn_formula(digits):
    X, y = digits
    clf = small(solver="sgd", learning_rate="invscaling", power_t=0.5, max_iter=3,
                learning_rate_init=0.1).fit(X, y)
    lrs = clf.net_.history[:, "lr"]
    expected = [0.1 / (t * len(X) + 1) ** 0.5 for t in range(3)]
    np.testing.assert_allclose(lrs, expected)


def test_adaptive_divides_the_learning_rate_by_five():
    X, y = make_classification(100, 5, random_state=0)
    clf = small(solver="sgd", learning_rate="adaptive", n_iter_no_change=2, tol=10.0,
                max_iter=12, learning_rate_init=0.01).fit(X, y)
    lrs = clf.net_.history[:, "lr"]
    assert 0.01 / 5 in [pytest.approx(v) for v in lrs]
    assert min(lrs) < 0.01 / 24


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_penalty_formula_is_the_documented_one(digits, penalty):
    """loss_ = data loss + alpha / n * P(W) on a full-batch epoch with frozen weights."""
    X, y = digits
    alpha, l1_ratio = 5.0, 0.3
    clf = small(solver="sgd", momentum=0, learning_rate_init=1e-12, max_iter=1,
                batch_size=len(X), shuffle=False, penalty=penalty, alpha=alpha,
                l1_ratio=l1_ratio).fit(X, y)
    W = clf.coefs_
    sq = 0.5 * sum((w**2).sum() for w in W)
    ab = sum(np.abs(w).sum() for w in W)
    P = {"l2": sq, "l1": ab, "elasticnet": l1_ratio * ab + (1 - l1_ratio) * sq}[penalty]
    data_loss = log_loss(y, clf.predict_proba(X))
    assert clf.loss_ == pytest.approx(data_loss + alpha / len(X) * P, rel=1e-4)


def test_penalties_shrink_weights(digits):
    X, y = digits
    norms = {}
    for penalty in [None, "l2", "l1"]:
        clf = small(penalty=penalty, alpha=1.0, max_iter=30).fit(X, y)
        norms[penalty] = sum(np.abs(c).sum() for c in clf.coefs_)
    assert norms["l2"] < norms[None] and norms["l1"] < norms[None]


def test_l1_drives_weights_to_zero_more_than_l2(digits):
    X, y = digits
    l1 = small(penalty="l1", alpha=2.0, max_iter=60, solver="sgd",
               learning_rate_init=0.05).fit(X, y)
    l2 = small(penalty="l2", alpha=2.0, max_iter=60, solver="sgd",
               learning_rate_init=0.05).fit(X, y)
    tiny = lambda est: np.mean(np.abs(est.coefs_[0]) < 1e-3)
    assert tiny(l1) > tiny(l2)


def test_dropout_and_batch_norm(digits):
    X, y = digits
    clf = small(dropout=0.3, batch_norm=True, max_iter=20).fit(X, y)
    kinds = {type(m).__name__ for m in clf.net_.module_.modules()}
    assert {"SeededDropout", "BatchNorm1d"} <= kinds
    assert clf.score(X, y) > 0.9
    # dropout is off at predict time: predictions are deterministic
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("p", [1e-5, 0.1, 0.5, 0.9])
def test_dropout_masks_drop_a_fraction_p_and_keep_the_mean(p):
    from sklopt.neural_network._module import dropout_mask

    generator = torch.Generator().manual_seed(0)
    mask = dropout_mask((200, 8, 64), p, generator, torch.float32, "cpu")
    dropped = float((mask == 0).float().mean())
    assert abs(dropped - p) < 0.01  # 102,400 draws: the standard error is < 0.002
    kept = mask[mask != 0]
    assert torch.allclose(kept, kept[0].expand_as(kept))  # one scale, 1 / keep
    assert kept[0].item() == pytest.approx(1 / (1 - p), rel=1e-4)
    assert float(mask.double().mean()) == pytest.approx(1.0, abs=0.02)
    again = dropout_mask((200, 8, 64), p, torch.Generator().manual_seed(0),
                         torch.float32, "cpu")
    torch.testing.assert_close(mask, again)  # the generator's draws, nothing else
    other = dropout_mask((200, 8, 64), p, generator, torch.float32, "cpu")
    assert p < 1e-4 or not torch.equal(mask, other)


def test_sgd_momentum_is_passed_to_torch(digits):
    X, y = digits
    clf = small(solver="sgd", momentum=0.7, nesterovs_momentum=False, max_iter=1).fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert group["momentum"] == 0.7 and group["nesterov"] is False
    clf = small(solver="adam", beta_1=0.8, beta_2=0.95, epsilon=1e-6, max_iter=1).fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]
    assert group["betas"] == (0.8, 0.95) and group["eps"] == 1e-6


# --------------------------------------------------------------------------- training
def test_random_state_is_bit_for_bit_repeatable(digits):
    X, y = digits
    a = small(dropout=0.2).fit(X, y)
    b = small(dropout=0.2).fit(X, y)
    c = small(dropout=0.2, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_fit_leaves_global_torch_state_alone(digits):
    X, y = digits
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(dropout=0.5).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_no_hidden_validation_split(digits):
    X, y = digits
    clf = small(max_iter=5).fit(X, y)
    assert clf.t_ == 5 * len(X)
    assert "valid_loss" not in clf.net_.history[-1]


def test_early_stopping_restores_the_best_weights(digits, monkeypatch):
    X, y = digits
    splits = []
    real_split = mlp_module.train_test_split

    def recording_split(*args, **kwargs):
        parts = real_split(*args, **kwargs)
        splits.append(parts)
        return parts

    monkeypatch.setattr(mlp_module, "train_test_split", recording_split)
    clf = small(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                max_iter=200, learning_rate_init=0.05).fit(X, y)
    X_val, y_val = splits[0][1], splits[0][5]
    assert len(X_val) == 120
    assert clf.best_loss_ is None
    assert clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.validation_scores_[-1] <= clf.best_validation_score_
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)
    assert clf.t_ == clf.n_iter_ * (len(X) - 120)


def test_stops_when_loss_stops_improving(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = small(tol=1.0, n_iter_no_change=2, max_iter=100).fit(X, y)
    # sklearn's rule: stop once more than n_iter_no_change epochs did not improve
    assert clf.n_iter_ == 4


def test_max_iter_reached_warns(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        small(max_iter=2).fit(X, y)


def test_partial_fit_runs_one_epoch_and_needs_classes(digits):
    X, y = digits
    clf = small()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:300], y[:300], classes=np.arange(10))
    assert clf.n_iter_ == 1 and clf.t_ == 300
    for _ in range(20):
        clf.partial_fit(X, y)
    assert clf.t_ == 300 + 20 * len(X)
    assert len(clf.loss_curve_) == 21
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:5], np.full(5, 11))
    with pytest.raises(ValueError, match="early_stopping"):
        small(early_stopping=True).partial_fit(X, y, classes=np.arange(10))
    assert not hasattr(small(solver="lbfgs"), "partial_fit")


def test_partial_fit_continues_the_optimizer_state(digits):
    X, y = digits
    clf = small(shuffle=False)
    clf.partial_fit(X, y, classes=np.arange(10))
    state = clf.net_.optimizer_.state[clf.net_.module_.weights()[0]]
    steps = int(state["step"])
    clf.partial_fit(X, y)
    state = clf.net_.optimizer_.state[clf.net_.module_.weights()[0]]
    assert int(state["step"]) == 2 * steps


def test_warm_start_continues_from_the_weights(digits):
    X, y = digits
    clf = small(warm_start=True, max_iter=5).fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < clf.loss_curve_[0]
    assert clf.loss_curve_[-1] < first


def test_lbfgs_is_full_batch_and_converges(digits):
    X, y = digits
    clf = small(solver="lbfgs", max_iter=200).fit(X, y)
    assert 0 < clf.n_iter_ <= 200
    assert clf.score(X, y) > 0.98
    assert clf.loss_ == pytest.approx(min(clf.loss_curve_), rel=0.05)


def test_sample_weight_zero_is_like_dropping_rows(digits):
    X, y = digits
    w = np.ones(len(X))
    w[::3] = 0
    kw = dict(solver="lbfgs", max_iter=30, hidden_layer_sizes=(8,))
    a = small(**kw).fit(X, y, sample_weight=w)
    b = small(**kw).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=2e-3)


def test_class_weight_balanced_helps_the_minority_class():
    X, y = make_classification(600, 10, weights=[0.95], flip_y=0, class_sep=0.5,
                               random_state=0)
    plain = small(max_iter=30).fit(X, y)
    balanced = small(max_iter=30, class_weight="balanced").fit(X, y)
    assert recall_score(y, balanced.predict(X)) > recall_score(y, plain.predict(X))


def test_verbose_prints_sklearns_lines(digits, capsys):
    X, y = digits
    small(verbose=True, max_iter=3, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 3, loss = " in out
    assert "Validation score: " in out


def test_progress_bar_is_an_opt_in_callback(digits, capsys):
    from sklopt.callback import ProgressBar

    X, y = digits
    small(max_iter=3, early_stopping=True).set_callbacks(ProgressBar()).fit(X, y)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "loss=" in captured.err and "val_score=" in captured.err
    small(max_iter=3).fit(X, y)
    assert capsys.readouterr().err == ""


def test_non_finite_weights_raise_sklearns_error(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        small(MLPRegressor, solver="sgd", learning_rate_init=1e3, momentum=0,
              max_iter=50).fit(X * 1e3, y)


# --------------------------------------------------------------------------- ecosystem
def test_pickle_joblib_and_clone_round_trips(digits, tmp_path):
    X, y = digits
    clf = small().fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict_proba(X),
                                  expected)
    fresh = clone(clf)
    assert not hasattr(fresh, "net_")
    np.testing.assert_array_equal(fresh.fit(X, y).predict_proba(X), expected)


def test_a_model_saved_for_cuda_loads_on_a_cpu_only_machine(digits):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the fallback to the CPU is not exercised")
    X, y = digits
    clf = small().fit(X, y)
    expected = clf.predict_proba(X)
    clf.net_.device = "cuda"  # as if trained on a GPU
    with pytest.warns(Warning, match="no CUDA devices"):
        loaded = pickle.loads(pickle.dumps(clf))
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)


def test_pipeline_column_transformer_and_pandas():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200),
                       "color": rng.choice(["red", "green", "blue"], size=200)})
    y = (df["a"] + (df["color"] == "red") > 0.5).astype(int)
    pre = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                             ("cat", OneHotEncoder(), ["color"])])
    pipe = Pipeline([("pre", pre), ("mlp", small(max_iter=100))]).fit(df, y)
    assert pipe.score(df, y) > 0.85

    clf = small().fit(df[["a", "b"]], y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b"])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["b", "a"]])


def test_grid_search_over_the_levers(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), small(max_iter=10))
    grid = GridSearchCV(pipe, {
        "mlpclassifier__hidden_layer_sizes": [(16,), (16, 16)],
        "mlpclassifier__activation": ["relu", "gelu"],
        "mlpclassifier__init": ["auto", "orthogonal"],
        "mlpclassifier__solver": ["adam", "rmsprop"],
        "mlpclassifier__penalty": ["l2", "l1"],
    }, cv=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 32
    assert grid.best_score_ > 0.8


def test_cross_validate(regression):
    X, y = regression
    res = cross_validate(small(MLPRegressor, max_iter=100, learning_rate_init=0.01), X, y,
                         cv=3)
    assert np.all(res["test_score"] > 0.8)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, match", [
    (np.nan, "NaN"), (np.inf, "infinity"),
])
def test_non_finite_input_is_refused(digits, bad, match):
    X, y = digits
    X = X.copy()
    X[3, 3] = bad
    with pytest.raises(ValueError, match=match):
        small().fit(X, y)


def test_bad_input_gets_clear_errors(digits):
    X, y = digits
    clf = small(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="64 features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match="continuous"):
        small().fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="(could not convert|string)"):
        small().fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])
    with pytest.raises(ValueError, match="device"):
        small(device="tpu").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        small(hidden_layer_sizes=(10, 0)).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        small(activation="swish").fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda_is_a_clear_error(digits):
    X, y = digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        small(device="cuda").fit(X, y)


def test_auto_device_is_the_cpu_without_cuda(digits):
    X, y = digits
    clf = small(device="auto", max_iter=1).fit(X, y)
    assert str(clf.net_.device) == ("cuda" if torch.cuda.is_available() else "cpu")


def test_sparse_input(digits):
    import scipy.sparse as sp

    X, y = digits
    dense = small(max_iter=5).fit(X, y).predict_proba(X)
    sparse = small(max_iter=5).fit(sp.csr_matrix(X), y).predict_proba(sp.csr_matrix(X))
    np.testing.assert_allclose(dense, sparse, atol=1e-6)


def test_validation_mask_picks_the_early_stopping_rows():
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    mask = np.zeros(len(y), dtype=bool)
    mask[-40:] = True  # the last rows: classes 2 only there, as a time split might
    mask[::7] = True
    model = MLPClassifier(early_stopping=True, max_iter=40, random_state=0,
                          device="cpu").fit(X, y, validation_mask=mask)
    # The restored best weights score the held-out rows as the validation did.
    assert model.score(X[mask], y[mask]) == pytest.approx(model.best_validation_score_)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        early_stopping=True, max_iter=5, random_state=0, device="cpu"))
    pipe.fit(X, y, mlpclassifier__validation_mask=mask)
    assert len(pipe[-1].validation_scores_) == 5
    before = MLPClassifier(early_stopping=True, device="cpu")
    with pytest.raises(ValueError, match="boolean array of one value per row"):
        before.fit(X, y, validation_mask=mask[:10])
    with pytest.raises(ValueError, match="at least 2 rows"):
        before.fit(X, y, validation_mask=np.zeros(len(y), dtype=bool))
    with pytest.raises(ValueError, match="needs early_stopping=True"):
        MLPClassifier(device="cpu").fit(X, y, validation_mask=mask)
    assert not hasattr(before, "coefs_")  # a refused fit leaves it as it was
