"""The rebuilt core: sklearn's semantics where sklearn has the parameter, and a
regression test for each bug the rebuild fixed."""

import contextlib
import io
import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network._levers import ACTIVATIONS


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def mlp(cls=MLPClassifier, **kw):
    return cls(**{"hidden_layer_sizes": (16,), "random_state": 0, "device": "cpu", **kw})


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ---------------------------------------------------------------- warm start
def test_warm_start_reads_the_current_parameters(digits):
    X, y = digits
    clf = mlp(max_iter=5, warm_start=True).fit(X, y)
    # A new tol / n_iter_no_change: the next fit stops on them.
    clf.set_params(tol=10.0, n_iter_no_change=1, max_iter=50).fit(X, y)
    assert clf.n_iter_ == 2
    # verbose switched on after the first fit prints.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        clf.set_params(verbose=True, max_iter=2, tol=1e-4).fit(X, y)
    assert "Iteration 1, loss" in out.getvalue()
    # early_stopping switched on after the first fit holds out a split.
    clf.set_params(verbose=False, early_stopping=True, max_iter=3).fit(X, y)
    assert len(clf.validation_scores_) == 3


def test_warm_start_can_switch_to_lbfgs_and_back(digits):
    X, y = digits
    clf = mlp(max_iter=5, warm_start=True).fit(X, y)
    before = clf.loss_curve_[-1]
    clf.set_params(solver="lbfgs", max_iter=20).fit(X, y)
    assert clf.loss_ < before
    n_epochs = len(clf.history_)
    clf.set_params(solver="adam", max_iter=2).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_) == n_epochs + 2


def test_warm_start_refuses_a_new_shape_clearly(digits):
    X, y = digits
    clf = mlp(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="layer sizes"):
        clf.set_params(hidden_layer_sizes=(8,)).fit(X, y)


def test_warm_started_invscaling_goes_on_from_t(digits):
    # sklearn: each fit starts a new optimizer at learning_rate_init, then the rate is
    # learning_rate_init / (t_ + 1) ** power_t with t_ counted since the first fit.
    X, y = digits
    clf = mlp(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1,
              max_iter=3, warm_start=True).fit(X, y)
    clf.fit(X, y)
    n = len(X)
    expected = [0.1 / (t * n + 1) ** 0.5 for t in range(3)]
    expected += [0.1] + [0.1 / ((3 + t) * n + 1) ** 0.5 for t in (1, 2)]
    np.testing.assert_allclose(clf.history_["lr"], expected)
    assert clf.t_ == 6 * n


@pytest.mark.parametrize("learning_rate", ["invscaling", "adaptive"])
def test_sgd_only_schedules_leave_adam_constant(digits, learning_rate):
    X, y = digits
    clf = mlp(learning_rate=learning_rate, max_iter=4).fit(X, y)
    assert (clf.history_["lr"] == clf.learning_rate_init).all()


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_cyclic_schedules_go_on_under_partial_fit(digits, schedule):
    X, y = digits
    clf = mlp(learning_rate=schedule, max_iter=4)
    for _ in range(10):  # past max_iter: the cycle restarts, no error
        clf.partial_fit(X, y, classes=np.arange(10))
    lrs = clf.history_["lr"].to_numpy()
    np.testing.assert_allclose(lrs[:4], lrs[4:8])
    assert len(set(np.round(lrs[:4], 12))) == 4


# ---------------------------------------------------------------- solvers, penalties
def test_adamw_without_penalty_is_adam(digits):
    X, y = digits
    adamw = mlp(solver="adamw", penalty=None, max_iter=5).fit(X, y)
    adam = mlp(solver="adam", penalty=None, max_iter=5).fit(X, y)
    for a, b in zip(adamw.coefs_, adam.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_adamw_l2_is_one_decoupled_decay_set_by_alpha(digits):
    X, y = digits
    plain = mlp(solver="adamw", alpha=0.0, max_iter=5).fit(X, y)
    decayed = mlp(solver="adamw", alpha=0.5, max_iter=5).fit(X, y)
    assert decayed.net_.optimizer_.param_groups[0]["weight_decay"] == 0.5
    assert decayed.net_.optimizer_.param_groups[1]["weight_decay"] == 0.0  # biases
    assert np.linalg.norm(decayed.coefs_[0]) < np.linalg.norm(plain.coefs_[0])
    # No coupled L2 on top: the loss curve is the data loss alone.
    assert not decayed.net_.explicit_penalty_


def test_lbfgs_warns_when_it_runs_out_of_max_fun(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        clf = mlp(solver="lbfgs", max_fun=5, max_iter=200).fit(X, y)
    assert clf.n_iter_ <= 5


# ---------------------------------------------------------------- class weights
def test_balanced_class_weight_is_refused_by_partial_fit(digits):
    X, y = digits
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        mlp(class_weight="balanced").partial_fit(X, y, classes=np.arange(10))


def test_dict_class_weight_in_partial_fit_weights_rows_by_class(digits):
    X, y = digits
    weights = {c: 1.0 + c for c in range(10)}
    a = mlp(class_weight=weights).partial_fit(X, y, classes=np.arange(10))
    b = mlp().partial_fit(X, y, classes=np.arange(10),
                          sample_weight=np.array([weights[c] for c in y]))
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------- dtypes, weights
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_dtype_follows_the_input(digits, cls, dtype):
    X, y = digits
    est = mlp(cls, max_iter=2).fit(X.astype(dtype), y)
    assert all(c.dtype == dtype for c in est.coefs_ + est.intercepts_)
    out = est.predict_proba(X.astype(dtype)) if cls is MLPClassifier else est.predict(
        X.astype(dtype))
    assert out.dtype == dtype


def test_float32_precision_on_float64_input(digits):
    X, y = digits
    reg = mlp(MLPRegressor, max_iter=2, precision="float32").fit(X, y)
    assert reg.coefs_[0].dtype == np.float32
    assert reg.predict(X).dtype == np.float64  # numpy's promotion, as sklearn


@pytest.mark.parametrize("precision, match", [("tf32", "CUDA"), ("float16", "CUDA")])
def test_gpu_only_precisions_are_refused_on_the_cpu(digits, precision, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        mlp(precision=precision, max_iter=1).fit(X, y)


def test_whole_step_cuda_graphs_are_refused_on_the_cpu(digits):
    X, y = digits
    with pytest.raises(ValueError, match="cuda-graph.*CUDA"):
        mlp(compile="cuda-graph", max_iter=1).fit(X, y)


def test_compile_trains_on_the_cpu(digits):
    X, y = digits
    compiled = mlp(compile=True, max_iter=2, precision="float32").fit(X, y)
    eager = mlp(max_iter=2, precision="float32").fit(X, y)
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-4)
    pickle.loads(pickle.dumps(compiled))


def test_bfloat16_trains_on_the_cpu(digits):
    X, y = digits
    clf = mlp(precision="bfloat16", max_iter=30, learning_rate_init=0.01).fit(X, y)
    ref = mlp(precision="float32", max_iter=30, learning_rate_init=0.01).fit(X, y)
    assert clf.coefs_[0].dtype == np.float32  # float32 master weights
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert abs(clf.loss_curve_[-1] - ref.loss_curve_[-1]) < 0.1 * ref.loss_curve_[-1]


def test_assigned_coefs_change_the_model(digits):
    X, y = digits
    reg = mlp(MLPRegressor, max_iter=3).fit(X, y.astype(float))
    reg.coefs_[-1][:] = 0.0  # in place, as with sklearn's arrays
    reg.intercepts_[-1][:] = 7.0
    np.testing.assert_allclose(reg.predict(X[:5]), 7.0)
    reg.coefs_ = [np.zeros_like(c) for c in reg.coefs_]  # a new list
    reg.intercepts_ = [np.ones_like(b) for b in reg.intercepts_]
    np.testing.assert_allclose(reg.predict(X[:5]), 1.0)
    clone = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(clone.predict(X[:5]), 1.0)
    reg.partial_fit(X, y.astype(float))  # continues from the assigned weights
    assert np.abs(reg.predict(X[:5]) - 1.0).max() < 0.5


def test_bad_assigned_coefs_get_a_clear_error(digits):
    X, y = digits
    clf = mlp(max_iter=1).fit(X, y)
    clf.coefs_ = [np.zeros((3, 3)), clf.coefs_[1]]
    with pytest.raises(ValueError, match=r"coefs_\[0\]"):
        clf.predict(X)


def test_a_single_class_fits_and_predicts_it():
    X = np.random.RandomState(0).rand(20, 3)
    clf = mlp(max_iter=3).fit(X, np.full(20, "only"))
    assert (clf.predict(X) == "only").all()


# ---------------------------------------------------------------- distillation hooks
def _weights_and_subset():
    X, y = make_classification(300, 6, random_state=0)
    w = np.where(np.arange(300) % 3 == 0, 0.0, 1.0)
    return X, y, w


@pytest.mark.parametrize("routing", [False, True])
def test_distiller_sample_weight_reaches_a_pipeline_teacher_and_student(routing):
    X, y, w = _weights_and_subset()
    lr, scaler = LogisticRegression(), StandardScaler()
    student = make_pipeline(StandardScaler(), mlp(max_iter=5))
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:  # the user's requests decide where the weights go
            lr.set_fit_request(sample_weight=True)
            scaler.set_fit_request(sample_weight=False)
            student[0].set_fit_request(sample_weight=False)
            student[-1].set_fit_request(sample_weight=True)
        kd = DistilledClassifier(make_pipeline(scaler, lr), student,
                                 random_state=0).fit(X, y, sample_weight=w)
    # The teacher's final step got the weights: it is the weighted fit, not the plain.
    weighted = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=w)
    plain = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    np.testing.assert_allclose(kd.teacher_[-1].coef_, weighted[-1].coef_, rtol=1e-4)
    assert not np.allclose(kd.teacher_[-1].coef_, plain[-1].coef_, rtol=1e-2)
    # And the student's MLP: the labels of rows of weight 0 change nothing.
    flipped = np.where(w == 0, 1 - y, y)

    def student(labels):
        return DistilledClassifier(
            make_pipeline(StandardScaler(), LogisticRegression()),
            make_pipeline(StandardScaler(), mlp(max_iter=5)), cv=None, transfer=None,
            validation_fraction=None,
            random_state=0).fit(X, labels, sample_weight=w).predict_proba(X)

    np.testing.assert_allclose(student(y), student(flipped), rtol=1e-7)


def test_distilled_regressor_sample_weight_reaches_a_pipeline_student():
    from sklearn.linear_model import Ridge

    X, y = make_regression(200, 4, random_state=0)
    w = np.where(np.arange(200) % 2 == 0, 0.0, 1.0)
    student = make_pipeline(StandardScaler(), mlp(MLPRegressor, max_iter=5))
    kd = DistilledRegressor(make_pipeline(StandardScaler(), Ridge()), student,
                            random_state=0).fit(X, y, sample_weight=w)
    weighted = make_pipeline(StandardScaler(), Ridge()).fit(X, y, ridge__sample_weight=w)
    np.testing.assert_allclose(kd.teacher_[-1].coef_, weighted[-1].coef_)


def test_the_network_package_knows_nothing_of_distillation():
    import pathlib

    import sklopt.neural_network as nn_pkg

    source = "".join(p.read_text() for p in pathlib.Path(nn_pkg.__file__).parent.rglob("*.py"))
    assert "teacher" not in source and "import distill" not in source
    assert "from ..distillation" not in source and "sklopt.distillation import" not in source


def test_early_stopping_on_the_validation_loss(digits):
    X, y = digits
    clf = mlp(early_stopping=True, early_stopping_on="loss", n_iter_no_change=3,
              max_iter=300, learning_rate_init=0.01, tol=1e-3).fit(X, y)
    losses = clf.history_["valid_loss"].to_numpy()
    best = int(np.argmin(losses))
    assert clf.n_iter_ < 300
    # It stopped because the loss (not the score) stopped improving by tol...
    assert (losses[-4:] > losses.min() - 1e-3).all()
    # ... and kept the epoch of the lowest validation loss.
    assert clf.best_validation_score_ == clf.validation_scores_[best]


def test_every_registry_option_is_documented():
    import pathlib

    from sklopt.neural_network._levers import REGISTRIES

    docs = "".join(p.read_text() for p in
                   (pathlib.Path(__file__).parent.parent / "docs").rglob("*.md"))
    missing = [(reg.lever, name) for reg in REGISTRIES for name in reg
               if f"`{name}`" not in docs]
    assert missing == []
    for reg in REGISTRIES:  # and in the estimators' docstrings
        assert all(f"``'{name}'``" in MLPClassifier.__doc__ for name in reg)


# Every kind of module the core builds: each activation, batch norm, both embeddings,
# ensembles (with an embedding too), both precisions, a calibrated classifier.
NETWORK_KINDS = (
    [{"activation": name} for name in ACTIVATIONS]
    + [{"batch_norm": True}, {"dropout": 0.3}, {"num_embedding": "periodic"},
       {"num_embedding": "piecewise_linear"}, {"n_ensemble": 3},
       {"n_ensemble": 2, "num_embedding": "piecewise_linear", "activation": "gelu"},
       {"precision": "float32"}, {"calibrate": True, "early_stopping": True}])


@pytest.mark.parametrize("kw", NETWORK_KINDS, ids=lambda kw: "-".join(
    f"{k}={v}" for k, v in kw.items()))
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_small_batches_through_numpy_match_the_network(digits, kw, cls):
    # Up to NUMPY_PREDICT rows take the numpy forward pass; more rows take torch.
    X, y = digits
    if cls is MLPRegressor:
        kw = {k: v for k, v in kw.items() if k != "calibrate"}
        y = y.astype(float)
    est = mlp(cls, max_iter=3, **kw).fit(X, y)
    method = est.predict_proba if cls is MLPClassifier else est.predict
    assert est._small_batch_output(X[:10]) is not None
    big = method(np.vstack([X] * 2))  # > 256 rows: torch
    tol = (dict(rtol=1e-4, atol=1e-6) if est.coefs_[0].dtype == np.float32
           else dict(rtol=1e-9, atol=1e-12))
    for rows in (1, 5, 64, 256):
        np.testing.assert_allclose(method(X[:rows]), big[:rows], **tol)
    if cls is MLPClassifier:  # the same labels
        np.testing.assert_array_equal(est.predict(X[:64]),
                                      est.predict(np.vstack([X] * 2))[:64])
    est.intercepts_ = [b + 1.0 for b in est.intercepts_]  # assignments are honoured
    np.testing.assert_allclose(method(X[:10]), method(np.vstack([X] * 2))[:10], **tol)


# ----------------------------------------------------------------------------- issue 20
@pytest.mark.parametrize("kw", [{"dropout": 0.5}, {"dropout": 0.3, "n_ensemble": 2},
                                {"dropout": 0.2, "early_stopping": True}])
def test_random_state_is_honoured_when_fits_run_in_threads(digits, kw):
    # Bug 2: dropout drew from torch's global generator, which threads share, so fits
    # in threads (joblib's threading backend, Dask threads) differed from the
    # sequential fit with the same random_state.
    from concurrent.futures import ThreadPoolExecutor

    X, y = digits

    def fit(_=None):
        return mlp(hidden_layer_sizes=(64,), max_iter=5, random_state=0, **kw).fit(X, y)

    sequential = fit()
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(fit, range(4)))
    for est in threaded:
        assert est.loss_curve_ == sequential.loss_curve_
        for a, b in zip(est.coefs_, sequential.coefs_):
            np.testing.assert_array_equal(a, b)


def test_a_fit_leaves_torchs_global_random_state_alone(digits):
    import torch

    X, y = digits
    state = torch.random.get_rng_state()
    mlp(dropout=0.5, max_iter=2, n_ensemble=2, num_embedding="periodic").fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_calibrate_without_held_out_rows_fails_before_training(digits, capsys):
    # Bug 3: calibrate=True without early stopping trained all epochs, then raised,
    # leaving n_iter_ and coefs_ set; partial_fit raised but advanced t_.
    X, y = digits
    clf = mlp(calibrate=True, verbose=True, max_iter=30)
    with pytest.raises(ValueError, match="early_stopping=True"):
        clf.fit(X, y)
    assert "Iteration" not in capsys.readouterr().out  # no epoch ran
    assert not hasattr(clf, "n_iter_") and not hasattr(clf, "coefs_")
    with pytest.raises(ValueError, match="early_stopping=True"):
        mlp(calibrate=True, early_stopping=True, solver="lbfgs").fit(X, y)
    online = mlp(max_iter=30).partial_fit(X, y, classes=np.arange(10))
    t, coefs = online.t_, [c.copy() for c in online.coefs_]
    online.set_params(calibrate=True)
    for _ in range(2):
        with pytest.raises(ValueError, match="partial_fit"):
            online.partial_fit(X, y)
    assert online.t_ == t
    for a, b in zip(online.coefs_, coefs):
        np.testing.assert_array_equal(a, b)


def test_a_failed_fit_leaves_a_fitted_model_as_it_was(digits):
    # A refit whose configuration is wrong keeps the model it had: weights, counters,
    # classes, history.
    X, y = digits
    clf = mlp(max_iter=3).fit(X, y)
    before = {k: v for k, v in vars(clf).items()}
    proba = clf.predict_proba(X)
    clf.set_params(calibrate=True)
    with pytest.raises(ValueError):
        clf.fit(X[:, :10], y % 3)
    assert set(vars(clf)) == set(before) and clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # A warm start that diverges puts the weights, optimizer and history back.
    Xr, yr = make_regression(200, 5, random_state=0)
    warm = mlp(MLPRegressor, max_iter=3, solver="sgd", warm_start=True,
               learning_rate_init=1e-4).fit(Xr, yr)
    pred, n_history, t = warm.predict(Xr), len(warm.net_.history), warm.t_
    optimizer_state = str(warm.net_.optimizer_.state_dict())
    warm.set_params(learning_rate_init=1e3, max_iter=20)
    with pytest.raises(ValueError, match="non-finite"):
        warm.fit(Xr, yr)
    np.testing.assert_array_equal(warm.predict(Xr), pred)
    assert len(warm.net_.history) == n_history and warm.t_ == t
    assert str(warm.net_.optimizer_.state_dict()) == optimizer_state


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_split_is_sklearns_for_multiclass_targets(solver):
    # Bug 4: sklopt stratified multiclass labels; sklearn stratifies only a target of
    # one column (binary), so the same seed gave other held-out rows.
    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = load_iris(return_X_y=True)
    for target in (y, y == 2):  # multiclass, binary
        kw = dict(solver=solver, early_stopping=True, random_state=0, max_iter=5)
        ours = MLPClassifier(device="cpu", **kw).fit(X, target)
        theirs = SkMLP(**kw).fit(X, target)
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)


@pytest.mark.parametrize("weighted", [False, True])
def test_validation_scores_equal_sklearns_metrics(weighted):
    from sklearn.metrics import accuracy_score, r2_score

    from sklopt.neural_network._scores import accuracy, r2

    rng = np.random.RandomState(0)
    w = rng.uniform(0.1, 2.0, 40) if weighted else None
    labels = np.array(["a", "b", "c"])[rng.randint(0, 3, 40)]
    guess = np.array(["a", "b", "c"])[rng.randint(0, 3, 40)]
    matrix, matrix_guess = rng.randint(0, 2, (40, 3)), rng.randint(0, 2, (40, 3))
    assert accuracy(labels, guess, w) == pytest.approx(accuracy_score(labels, guess,
                                                                      sample_weight=w))
    assert accuracy(matrix, matrix_guess, w) == pytest.approx(
        accuracy_score(matrix, matrix_guess, sample_weight=w))
    y, pred = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    y[:, 1] = 3.0  # a constant output, predicted imperfectly: sklearn scores it 0
    for a, b in [(y[:, 0], pred[:, 0]), (y, pred), (y, np.c_[pred[:, 0], y[:, 1]])]:
        assert r2(a, b, w) == pytest.approx(r2_score(a, b, sample_weight=w))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_decoded_predictions_equal_the_label_binarizers(n_classes):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = np.array(["ant", "bee", "cat", "dog"])[np.arange(60) % n_classes]
    model = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    if n_classes == 2:
        proba = proba[:, 1:]  # the binary network's one output column
        proba[:3] = 0.5  # the threshold itself goes to the negative class
    expected = model._label_binarizer.inverse_transform(
        proba.ravel() if n_classes == 2 else proba)
    np.testing.assert_array_equal(model._decode(proba), expected)


def test_continuing_without_early_stopping_a_network_that_used_it():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    model = MLPClassifier((8,), max_iter=5, early_stopping=True, random_state=0,
                          device="cpu").fit(X, y)
    model.set_params(early_stopping=False)
    model.partial_fit(X, y)  # scikit-learn's own MLP raises a TypeError here
    assert np.isfinite(model.best_loss_) and len(model.loss_curve_) == 6
