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


@pytest.mark.parametrize("kw", [{}, {"activation": "tanh"}, {"activation": "logistic",
                                                             "precision": "float32"},
                                {"calibrate": True, "early_stopping": True}])
def test_small_predictions_through_numpy_match_the_network(digits, kw):
    X, y = digits
    clf = mlp(max_iter=3, **kw).fit(X, y)
    assert clf._numpy_predict
    small = clf.predict_proba(X[:10])  # numpy
    big = clf.predict_proba(np.vstack([X] * 2))[:10]  # torch (> 256 rows)
    np.testing.assert_allclose(small, big, rtol=1e-6, atol=1e-7)
    clf.intercepts_ = [b + 1.0 for b in clf.intercepts_]  # assignments are honoured
    np.testing.assert_allclose(clf.predict_proba(X[:10]),
                               clf.predict_proba(np.vstack([X] * 2))[:10], rtol=1e-6,
                               atol=1e-7)


def test_gelu_and_ensembles_predict_through_torch(digits):
    X, y = digits
    assert not mlp(max_iter=1, activation="gelu").fit(X, y)._numpy_predict
    assert not mlp(max_iter=1, n_ensemble=2).fit(X, y)._numpy_predict
