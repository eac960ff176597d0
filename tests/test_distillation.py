"""Knowledge distillation: the loss, the teacher's targets, the held-out rows, the
transfer set, calibration, the fast predict path, and the meta-estimators."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklopt.distillation import (
    DistilledClassifier,
    DistilledRegressor,
    TeacherNotBetterWarning,
)
from sklopt.distillation._loss import DISTILL_LOSSES, distillation_loss
from sklopt.io import load, save
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network._levers import OUTPUTS
from sklopt.preprocessing import GaussianNoise, Mixup, SwapNoise

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::sklopt.distillation.TeacherNotBetterWarning"),
]


def _student(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01,
                  random_state=0, device="cpu")
    return MLPClassifier(**{**params, **kw})


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(400, 6, n_informative=4, flip_y=0.05, random_state=0)
    return X, y


class _Spy:
    """Records the calls of an MLP method (and still makes them)."""

    def __init__(self, monkeypatch, cls, name):
        self.calls = []
        original = getattr(cls, name)

        def spy(est, *args, **kwargs):
            self.calls.append((est, args, kwargs))
            return original(est, *args, **kwargs)

        monkeypatch.setattr(cls, name, spy)


class _FitSpy:
    """Records the student fits through the MLPs' fit hook (``_fit_hooked``) as
    ``(mlp, (X, y, loss, extra_target), {"validation", "stop_on", "sample_weight"})``."""

    def __init__(self, monkeypatch, cls):
        self._spy = _Spy(monkeypatch, cls, "_fit_hooked")

    @property
    def calls(self):
        return [(est, (X, y, hook.loss, hook.extra_target),
                 {"validation": hook.validation, "stop_on": hook.stop_on, **kwargs})
                for est, (X, y, hook), kwargs in self._spy.calls]


# ----------------------------------------------------------------------------- the loss
def _target(soft, w, hard):
    return torch.cat([soft, w[:, None], hard], dim=1)


def test_distill_loss_is_cross_entropy_at_soft_weight_zero():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 3, generator=g)
    y = torch.randint(3, (8,), generator=g)
    soft = torch.softmax(torch.randn(8, 3, generator=g), dim=1)
    kd = DISTILL_LOSSES["softmax"](z, _target(soft, torch.zeros(8), y[:, None].float()),
                                   None, 4.0)
    torch.testing.assert_close(kd, OUTPUTS["softmax"].loss(z, y))
    # Binary (one logistic output) too.
    zb, yb, pb = torch.randn(8, 1, generator=g), torch.rand(8, 1, generator=g).round(), \
        torch.rand(8, 1, generator=g)
    kd = DISTILL_LOSSES["logistic"](zb, _target(pb, torch.zeros(8), yb), None, 2.0)
    torch.testing.assert_close(kd, OUTPUTS["logistic"].loss(zb, yb))


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_distill_loss_soft_term_is_t2_kl_and_zero_at_the_teacher(temperature):
    g = torch.Generator().manual_seed(1)
    z_teacher = torch.randn(6, 4, generator=g)
    soft = torch.softmax(z_teacher / temperature, dim=1)
    target = _target(soft, torch.ones(6), torch.zeros(6, 1))
    # A student with the teacher's logits has zero soft loss.
    at_teacher = DISTILL_LOSSES["softmax"](z_teacher, target, None, temperature)
    assert float(at_teacher) == pytest.approx(0.0, abs=1e-6)
    z = torch.randn(6, 4, generator=g)
    expected = temperature**2 * torch.nn.functional.kl_div(
        torch.log_softmax(z / temperature, dim=1), soft, reduction="batchmean")
    got = DISTILL_LOSSES["softmax"](z, target, None, temperature)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


def test_distill_loss_weighs_each_row_by_its_own_soft_weight():
    # Rows with w = 1 (transfer rows) count their soft term only, rows with w = 0 their
    # label only, and the mean is weighted by sample_weight.
    g = torch.Generator().manual_seed(2)
    z = torch.randn(6, 3, generator=g)
    soft = torch.softmax(torch.randn(6, 3, generator=g), dim=1)
    y = torch.randint(3, (6, 1), generator=g).float()
    w = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.5, 0.5])
    sw = torch.tensor([1.0, 2.0, 1.0, 3.0, 1.0, 1.0])
    got = DISTILL_LOSSES["softmax"](z, _target(soft, w, y), sw, 2.0)
    per_row = []
    for i in range(6):
        kl = DISTILL_LOSSES["softmax"](z[i:i + 1], _target(soft[i:i + 1], torch.ones(1),
                                                           y[i:i + 1]), None, 2.0)
        ce = OUTPUTS["softmax"].loss(z[i:i + 1], y[i:i + 1, 0].long())
        per_row.append(w[i] * kl + (1 - w[i]) * ce)
    expected = (torch.stack(per_row) * sw).sum() / sw.sum()
    torch.testing.assert_close(got, expected)


# ----------------------------------------------------------------------------- defaults
def test_soft_weight_zero_trains_exactly_the_plain_student(iris):
    X, y = iris
    plain = _student().fit(X, y)
    distilled = DistilledClassifier(LogisticRegression(), _student(), soft_weight=0.0,
                                    temperature=5.0, validation_fraction=None).fit(X, y)
    for a, b in zip(plain.coefs_, distilled.student_.coefs_):
        np.testing.assert_array_equal(a, b)
    assert distilled.transfer_size_ == 0  # the teacher's rows would teach it


def test_soft_weight_zero_with_held_out_rows_equals_the_student_alone(binary):
    X, y = binary
    kd = DistilledClassifier(LogisticRegression(), _student(early_stopping=True),
                             soft_weight=0.0, calibrate=False, random_state=0).fit(X, y)
    # The student alone is trained on the same rows, with the same seed and stopping.
    assert kd.student_score_ == kd.scratch_score_
    assert kd.transfer_size_ == 0


def test_defaults_use_out_of_fold_targets_a_transfer_set_and_held_out_rows(
        binary, monkeypatch):
    X, y = binary
    spy = _FitSpy(monkeypatch, MLPClassifier)
    kd = DistilledClassifier(LogisticRegression(), _student(early_stopping=True),
                             random_state=0).fit(X, y)
    (_, (X_fit, _, _, extra), kwargs), alone = spy.calls[0], spy.calls[1]
    n_val = int(0.1 * len(X))
    n_train = len(X) - n_val
    assert kd.transfer_size_ == 8 * n_train  # n_transfer=8 MUNGE rows per row
    assert len(X_fit) == n_train + kd.transfer_size_
    X_val = kwargs["validation"][0]
    assert len(X_val) == n_val and kwargs["stop_on"] == "loss"
    # The student alone trains on the real rows only, with the same held-out rows.
    assert len(alone[1][0]) == n_train
    np.testing.assert_array_equal(alone[2]["validation"][0], X_val)
    assert np.isfinite([kd.teacher_score_, kd.student_score_, kd.scratch_score_]).all()
    # Real rows blend soft and hard targets (w = soft_weight), transfer rows are soft.
    np.testing.assert_array_equal(extra[:n_train, -1], 0.5)
    np.testing.assert_array_equal(extra[n_train:, -1], 1.0)


class _Marked(BaseEstimator):
    """A transfer set whose rows are recognisable: every value + 1000."""

    def __init__(self, n_copies=1, random_state=None):
        self.n_copies = n_copies
        self.random_state = random_state

    def fit_resample(self, X, y):
        X = np.asarray(X)
        return np.vstack([X] + [X + 1000.0] * self.n_copies), np.tile(y, self.n_copies + 1)


@pytest.mark.parametrize("transfer", [_Marked(), "munge"])
def test_synthetic_rows_never_reach_validation_or_scoring(binary, monkeypatch, transfer):
    X, y = binary
    real = {row.tobytes() for row in X}
    fits = _FitSpy(monkeypatch, MLPClassifier)
    probas = _Spy(monkeypatch, MLPClassifier, "predict_proba")
    kd = DistilledClassifier(LogisticRegression(), _student(early_stopping=True),
                             transfer=transfer, n_transfer=2, random_state=0).fit(X, y)
    assert kd.transfer_size_ > 0
    X_fit = fits.calls[0][1][0]
    X_val = fits.calls[0][2]["validation"][0]
    train_rows = {row.tobytes() for row in X_fit}
    # Held-out rows are real rows the student never trains on.
    assert all(row.tobytes() in real for row in X_val)
    assert not any(row.tobytes() in train_rows for row in X_val)
    # Every prediction made during fit (calibration, scores, fidelity) is of real rows.
    assert probas.calls
    for _, args, _ in probas.calls:
        assert all(row.tobytes() in real for row in np.asarray(args[0]))
    if isinstance(transfer, _Marked):
        assert (np.asarray(X_fit)[len(X) - len(X_val):] > 500).all()


def test_early_stopping_monitors_the_distillation_loss_and_keeps_the_best_epoch(
        binary, monkeypatch):
    X, y = binary
    spy = _FitSpy(monkeypatch, MLPClassifier)
    kd = DistilledClassifier(LogisticRegression(),
                             _student(early_stopping=True, max_iter=200, n_iter_no_change=5),
                             temperature=2.0, calibrate=False, random_state=0).fit(X, y)
    student, _, kwargs = spy.calls[0]
    assert student is kd.student_ and kwargs["stop_on"] == "loss"
    X_val, y_val, extra_val, sw_val = kwargs["validation"]
    assert kd.student_.n_iter_ < 200  # it stopped
    # The distillation loss of the restored weights on the held-out rows is the best
    # validation loss of the history.
    p = kd.student_.predict_proba(X_val)[:, 1]
    raw = torch.from_numpy(np.log(p) - np.log1p(-p))[:, None]
    target = torch.from_numpy(np.hstack([extra_val, y_val[:, None]]))
    loss = distillation_loss(2.0)("logistic")(raw, target, None)
    assert float(loss) == pytest.approx(kd.student_.history_["valid_loss"].min(), rel=1e-6)
    # The held-out soft targets are the teacher's, blended with weight soft_weight.
    np.testing.assert_array_equal(extra_val[:, -1], kd.soft_weight)


def test_no_held_out_rows_on_tiny_data_and_folds_capped_by_class_counts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.zeros(37), np.ones(3)].astype(int)
    kd = DistilledClassifier(LogisticRegression(), _student(early_stopping=True),
                             random_state=0)
    assert kd._folds(y, 5, 0).get_n_splits() == 3
    assert kd._folds(np.r_[np.zeros(10), 1], 5, 0) is None  # a class of one row
    kd.fit(X, y)
    assert np.isnan(kd.teacher_score_) and np.isnan(kd.student_score_)
    assert kd.calibration_temperature_ == 1.0
    assert not kd.student_.early_stopping  # nothing held out to stop on
    assert kd.transfer_size_ == 8 * 40


# ----------------------------------------------------------------------------- teacher
def test_soft_weight_one_learns_the_teacher_probabilities():
    # A "perfect" teacher: the labels are drawn from its own probabilities, so the
    # hard labels are noisy and only the soft targets carry the function.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 2))
    teacher = LogisticRegression().fit(X, (X @ [1.5, -1.0] > 0).astype(int))
    teacher.coef_[:] = [[1.5, -1.0]]
    teacher.intercept_[:] = 0.0
    y = (rng.uniform(size=600) < teacher.predict_proba(X)[:, 1]).astype(int)
    student = _student(hidden_layer_sizes=(8,), max_iter=300)
    kd = DistilledClassifier(teacher, student, fit_teacher=False, cv=None,
                             transfer=None, soft_weight=1.0, calibrate=False).fit(X, y)
    gap = np.abs(kd.predict_proba(X) - teacher.predict_proba(X)).mean()
    assert gap < 0.03
    # The labels alone teach the function less well.
    plain_gap = np.abs(clone(student).fit(X, y).predict_proba(X)
                       - teacher.predict_proba(X)).mean()
    assert gap < plain_gap


def test_out_of_fold_targets_differ_from_in_fold(monkeypatch):
    X, y = make_classification(300, 5, flip_y=0.2, random_state=0)
    spy = _FitSpy(monkeypatch, MLPClassifier)
    teacher = KNeighborsClassifier(n_neighbors=1)
    common = dict(soft_weight=1.0, transfer=None, validation_fraction=None)
    DistilledClassifier(teacher, _student(), cv=None, **common).fit(X, y)
    DistilledClassifier(teacher, _student(), **common).fit(X, y)  # cv=5
    in_fold, oof = spy.calls[0][1][3][:, 0], spy.calls[1][1][3][:, 0]
    # 1-NN hands every training label back in fold; out of fold it does not.
    np.testing.assert_array_equal(in_fold, y)
    assert np.mean(np.round(oof) != y) > 0.1


class _NoRefit(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        if hasattr(self, "coef_"):
            raise AssertionError("a prefit teacher was refitted")
        return super().fit(X, y, sample_weight)


def test_prefit_teacher_is_not_refitted(iris):
    X, y = iris
    teacher = _NoRefit().fit(X, y)
    coef = teacher.coef_.copy()
    kd = DistilledClassifier(teacher, _student(), fit_teacher=False).fit(X, y)
    assert kd.teacher_ is teacher
    np.testing.assert_array_equal(teacher.coef_, coef)
    # A frozen teacher survives clone() in a grid search and is not refitted either.
    grid = GridSearchCV(DistilledClassifier(FrozenEstimator(teacher), _student(),
                                            transfer=None),
                        {"temperature": [1.0, 4.0]}, cv=2).fit(X, y)
    assert grid.best_estimator_.teacher_.estimator is teacher


def test_teacher_is_cloned_and_fitted_by_default(iris):
    X, y = iris
    teacher = LogisticRegression()
    kd = DistilledClassifier(teacher, _student(max_iter=200)).fit(X, y)
    assert not hasattr(teacher, "coef_")
    assert kd.teacher_ is not teacher and hasattr(kd.teacher_, "coef_")
    assert 0.9 <= kd.fidelity_ <= 1.0


def test_a_list_of_teachers_is_averaged(binary, monkeypatch):
    X, y = binary
    members = [LogisticRegression(C=0.1), RandomForestClassifier(20, random_state=0)]
    fitted = [clone(m).fit(X, y) for m in members]
    mean = np.mean([m.predict_proba(X) for m in fitted], axis=0)
    spy = _FitSpy(monkeypatch, MLPClassifier)
    kd = DistilledClassifier(members, _student(), cv=None, transfer=None,
                             validation_fraction=None, soft_weight=1.0).fit(X, y)
    np.testing.assert_allclose(kd.teacher_.predict_proba(X), mean)
    # The student's soft targets are the averaged probabilities.
    np.testing.assert_allclose(spy.calls[0][1][3][:, 0], mean[:, 1])
    # Fitted teachers are averaged as they are, not refitted.
    prefit = DistilledClassifier(fitted, _student(), fit_teacher=False, cv=None,
                                 transfer=None).fit(X, y)
    assert [e.estimator for e in prefit.teacher_.estimators_] == fitted
    np.testing.assert_allclose(prefit.teacher_.predict_proba(X), mean)
    # Out of fold, every teacher is refitted per fold and averaged.
    oof = DistilledClassifier(members, _student(), transfer=None, random_state=0)
    oof.fit(X, y)
    assert np.isfinite(oof.teacher_score_)
    with pytest.raises(TypeError, match="no predict_proba"):
        DistilledClassifier([LogisticRegression(), SVC()], _student()).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        DistilledClassifier([], _student()).fit(X, y)


def test_tree_ensembles_and_a_stacking_teacher(binary):
    X, y = binary
    stack = StackingClassifier([("rf", RandomForestClassifier(20, random_state=0)),
                                ("lr", LogisticRegression())], cv=3)
    for teacher in (HistGradientBoostingClassifier(max_iter=30), stack):
        kd = DistilledClassifier(teacher, _student(), n_transfer=1,
                                 random_state=0).fit(X, y)
        assert kd.score(X, y) > 0.8


def test_a_teacher_no_better_than_the_student_alone_is_reported(binary):
    X, y = binary
    with pytest.warns(TeacherNotBetterWarning, match="not better"):
        kd = DistilledClassifier(DummyClassifier(strategy="prior"), _student(),
                                 n_transfer=1, random_state=0).fit(X, y)
    assert kd.teacher_score_ <= kd.scratch_score_


def test_a_teacher_better_than_the_student_alone_is_not_reported():
    # The teacher is the true model the noisy labels are drawn from; the student alone
    # only sees 600 of those labels.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 4))
    w = np.array([2.0, -1.5, 1.0, 0.5])
    teacher = LogisticRegression().fit(X, (X @ w > 0).astype(int))
    teacher.coef_[:] = w
    teacher.intercept_[:] = 0.0
    y = (rng.uniform(size=600) < teacher.predict_proba(X)[:, 1]).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TeacherNotBetterWarning)
        kd = DistilledClassifier(teacher, _student(max_iter=200), fit_teacher=False,
                                 cv=None, n_transfer=1, random_state=0).fit(X, y)
    assert kd.teacher_score_ > kd.scratch_score_


@pytest.mark.parametrize(
    "teacher, kwargs, error, match",
    [
        (SVC(), {}, TypeError, "no predict_proba"),
        (LinearRegression(), {}, TypeError, "no predict_proba"),
        (LogisticRegression(), {"fit_teacher": False}, ValueError, "not fitted"),
    ],
)
def test_bad_teacher_gets_a_clear_error(iris, teacher, kwargs, error, match):
    X, y = iris
    with pytest.raises(error, match=match):
        DistilledClassifier(teacher, _student(), **kwargs).fit(X, y)


def test_teacher_with_other_classes_is_refused(iris):
    X, y = iris
    teacher = LogisticRegression().fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="classes"):
        DistilledClassifier(teacher, _student(), fit_teacher=False).fit(X, y)


def test_student_must_be_an_sklopt_mlp(iris):
    X, y = iris
    with pytest.raises(TypeError, match="sklopt MLPClassifier"):
        DistilledClassifier(LogisticRegression(), LogisticRegression()).fit(X, y)


def test_multilabel_target_is_refused():
    X = np.random.RandomState(0).normal(size=(20, 3))
    Y = (X[:, :2] > 0).astype(int)
    with pytest.raises(ValueError, match="binary and multiclass"):
        DistilledClassifier(LogisticRegression(), _student()).fit(X, Y)


# ----------------------------------------------------------------------------- calibration
def test_calibration_lowers_held_out_log_loss_of_an_over_confident_student():
    # Noisy labels, a large student trained long without early stopping on the labels
    # (soft_weight=0): over-confident. Temperature scaling on the held-out rows must
    # lower the log loss on new data.
    X, y = make_classification(3000, 10, n_informative=5, flip_y=0.3, random_state=0)
    X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]
    common = dict(soft_weight=0.0, random_state=0)
    student = _student(hidden_layer_sizes=(128,), max_iter=300)
    raw = DistilledClassifier(LogisticRegression(), student, calibrate=False,
                              **common).fit(X_train, y_train)
    cal = DistilledClassifier(LogisticRegression(), student, **common).fit(X_train, y_train)
    assert cal.calibration_temperature_ > 1.5  # it was over-confident
    assert (log_loss(y_test, cal.predict_proba(X_test))
            < log_loss(y_test, raw.predict_proba(X_test)) - 0.05)
    # The temperature is the student network's own (the MLPs' one temperature
    # scaling): it is calibrated by itself, and the predicted classes do not change.
    T = cal.calibration_temperature_
    assert cal.student_.temperature_ == T and raw.student_.temperature_ == 1.0
    np.testing.assert_allclose(cal.student_.predict_proba(X_test), cal.predict_proba(X_test))
    np.testing.assert_array_equal(cal.predict(X_test), raw.predict(X_test))
    # On the held-out rows the calibrated student is no worse than before.
    assert cal.student_score_ >= raw.student_score_
    # Binary: the student's one logit is divided by T; its weights are the uncalibrated
    # student's.
    for a, b in zip(cal.student_.coefs_, raw.student_.coefs_):
        np.testing.assert_array_equal(a, b)
    hidden = np.maximum(X_test[:5] @ cal.student_.coefs_[0] + cal.student_.intercepts_[0], 0)
    logit = (hidden @ cal.student_.coefs_[1] + cal.student_.intercepts_[1]).ravel()
    for rows in (slice(0, 5), slice(0, 1000)):  # the numpy path and torch's
        np.testing.assert_allclose(cal.predict_proba(X_test[rows])[:5, 1], expit(logit / T))
    # A student early stopped on the held-out rows is left as it is.
    stopped = DistilledClassifier(LogisticRegression(), _student(early_stopping=True),
                                  random_state=0).fit(X_train, y_train)
    assert stopped.calibration_temperature_ == 1.0


# ----------------------------------------------------------------------------- speed
@pytest.mark.parametrize("kw", [{}, {"activation": "tanh", "hidden_layer_sizes": (8, 4)},
                                {"activation": "logistic"}, {"activation": "leaky_relu"}])
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_fast_path_matches_the_student(iris, kw, task):
    X, y = iris
    if task == "binary":
        y = (y > 0).astype(int)
    kd = DistilledClassifier(LogisticRegression(), _student(**kw), cv=None,
                             n_transfer=1).fit(X, y)
    for rows in (X[:1], X[:7], X[:64], X.astype(np.float32)[:3]):
        assert kd._fast_output(rows) is not None
        np.testing.assert_allclose(kd.predict_proba(rows),
                                   kd.student_.predict_proba(rows), rtol=1e-6, atol=1e-12)
        np.testing.assert_array_equal(kd.predict(rows), kd.student_.predict(rows))
    # Other input takes the student's own path.
    for rows in (np.vstack([X] * 2), X[:2].tolist(), np.c_[X[:2], X[:2]]):
        assert kd._fast_output(rows) is None
    with pytest.raises(ValueError, match="features"):
        kd.predict(X[:2, :3])
    with pytest.raises(ValueError, match="NaN"):
        kd.predict(np.full((1, 4), np.nan))


def test_fast_path_of_a_float32_student_and_of_the_regressor():
    X, y = make_regression(300, 4, noise=5, random_state=0)
    kd = DistilledRegressor(LinearRegression(),
                            MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, device="cpu",
                                         random_state=0),
                            cv=None, n_transfer=1).fit(X.astype(np.float32), y / 100)
    assert kd.student_.coefs_[0].dtype == np.float32
    assert kd._fast_output(X[:2]) is not None
    np.testing.assert_allclose(kd.predict(X[:2]), kd.student_.predict(X[:2]), rtol=1e-6,
                               atol=1e-6)
    assert kd.predict(X[:2]).dtype == kd.student_.predict(X[:2]).dtype
    # Batch norm too: the network's one numpy forward pass covers every module.
    bn = DistilledRegressor(LinearRegression(), MLPRegressor(hidden_layer_sizes=(8,),
                                                             batch_norm=True, max_iter=5,
                                                             device="cpu"),
                            cv=None, transfer=None).fit(X, y)
    assert bn._fast_output(X[:2]) is not None
    np.testing.assert_allclose(bn.predict(X[:2]), bn.student_.predict(X[:2]), rtol=1e-6)


def test_the_saved_student_is_the_student_alone(binary, tmp_path):
    X, y = binary
    kd = DistilledClassifier(HistGradientBoostingClassifier(max_iter=20), _student(),
                             n_transfer=1, random_state=0).fit(X, y)
    save(kd.student_, tmp_path / "student.safetensors")
    loaded = load(tmp_path / "student.safetensors")
    assert type(loaded) is MLPClassifier
    # Calibrated by itself: the same probabilities as the distiller.
    np.testing.assert_array_equal(loaded.predict_proba(X), kd.predict_proba(X))
    blob = (tmp_path / "student.safetensors").read_bytes()
    assert b"HistGradientBoosting" not in blob and b"teacher" not in blob


# ----------------------------------------------------------------------------- use
def test_binary_target_with_a_forest_teacher():
    X, y = make_classification(300, 8, random_state=0)
    kd = DistilledClassifier(RandomForestClassifier(n_estimators=20), _student(),
                             random_state=0).fit(X, y)
    proba = kd.predict_proba(X)
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert kd.score(X, y) > 0.85
    assert set(kd.predict(X)) <= {0, 1}


def test_transfer_set_adds_teacher_labelled_rows(iris):
    X, y = iris
    kd = DistilledClassifier(LogisticRegression(), _student(max_iter=5),
                             transfer=SwapNoise(0.2), n_transfer=2,
                             random_state=0).fit(X, y)
    student = kd.student_
    assert student.t_ == student.n_iter_ * 3 * len(X)  # iris: nothing held out
    # With a label-mixing augmenter in the student, the one-hot layout is used.
    mixed = DistilledClassifier(LogisticRegression(), _student(augment=Mixup()),
                                random_state=0).fit(X, y)
    assert mixed.score(X, y) > 0.8


def test_transfer_set_is_capped(iris):
    X, y = iris
    kd = DistilledClassifier(LogisticRegression(), _student(max_iter=2),
                             max_transfer=100, random_state=0).fit(X, y)
    assert kd.transfer_size_ == 100


@pytest.mark.parametrize("transfer", [GaussianNoise(0.1), "munge"])
def test_transfer_keeps_dataframe_feature_names(iris, recwarn, transfer):
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    kd = DistilledClassifier(LogisticRegression(), _student(), transfer=transfer,
                             random_state=0).fit(df, y)
    kd.predict(df)
    assert list(kd.feature_names_in_) == ["a", "b", "c", "d"]
    assert not [w for w in recwarn if "feature names" in str(w.message)]
    with pytest.raises(ValueError, match="features"):
        kd.predict(X[:, :3])


def test_random_state_makes_the_fit_repeatable(binary):
    X, y = binary
    kw = dict(transfer=SwapNoise(0.2), random_state=3)
    student = _student(random_state=None, early_stopping=True)
    a = DistilledClassifier(RandomForestClassifier(n_estimators=10), student, **kw)
    b = clone(a)
    np.testing.assert_array_equal(a.fit(X, y).predict_proba(X),
                                  b.fit(X, y).predict_proba(X))
    assert a.teacher_score_ == b.teacher_score_


def test_pipeline_and_grid_search(iris):
    X, y = iris
    kd = DistilledClassifier(LogisticRegression(), make_pipeline(StandardScaler(),
                                                                 _student()),
                             n_transfer=1)
    pipe = make_pipeline(StandardScaler(), kd)
    grid = GridSearchCV(pipe, {
        "distilledclassifier__temperature": [1.0, 4.0],
        "distilledclassifier__soft_weight": [0.3, 0.9],
        "distilledclassifier__student__mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
    }, cv=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert grid.score(X, y) > 0.8


def test_pipeline_student_is_calibrated_and_stopped_on_held_out_rows(binary):
    X, y = binary
    kd = DistilledClassifier(
        LogisticRegression(), make_pipeline(StandardScaler(), _student(early_stopping=True)),
        n_transfer=1, random_state=0).fit(X * 10, y)
    assert "valid_loss" in kd.student_[-1].history_
    assert np.isfinite(kd.student_score_)
    np.testing.assert_allclose(kd.predict_proba(X[:3] * 10),
                               kd.student_.predict_proba(X[:3] * 10))


# ----------------------------------------------------------------------------- regressor
def _reg_student(**kw):
    return MLPRegressor(**{"hidden_layer_sizes": (16,), "max_iter": 100,
                           "learning_rate_init": 0.01, "random_state": 0, "device": "cpu",
                           **kw})


def test_regressor_student_fits_the_blend():
    X, y = make_regression(200, 4, noise=10, random_state=0)
    y = y / 100
    teacher = LinearRegression().fit(X, y)
    plain = dict(fit_teacher=False, cv=None, transfer=None, validation_fraction=None)
    for w in (0.0, 1.0, 0.4):
        kd = DistilledRegressor(teacher, _reg_student(), soft_weight=w, **plain).fit(X, y)
        target = w * teacher.predict(X) + (1 - w) * y
        direct = _reg_student().fit(X, target)
        np.testing.assert_allclose(kd.predict(X), direct.predict(X), rtol=1e-6)
    assert kd.fidelity_ > 0.9


def test_regressor_out_of_fold_transfer_and_held_out_rows(monkeypatch):
    X, y = make_regression(300, 4, noise=10, random_state=0)
    spy = _FitSpy(monkeypatch, MLPRegressor)
    kd = DistilledRegressor(RandomForestRegressor(n_estimators=10),
                            _reg_student(early_stopping=True), n_transfer=1,
                            random_state=0).fit(X, y / 100)
    _, (X_fit, target, _, _), kwargs = spy.calls[0]
    assert len(X_fit) == 2 * 270 and kd.transfer_size_ == 270
    assert kwargs["stop_on"] == "loss" and len(kwargs["validation"][0]) == 30
    assert np.isfinite([kd.teacher_score_, kd.student_score_, kd.scratch_score_]).all()
    with pytest.raises(TypeError, match="regressor"):
        DistilledRegressor(LogisticRegression(), _reg_student()).fit(X, y > 0)


def test_regressor_with_any_student_and_a_list_of_teachers():
    from sklearn.linear_model import Ridge

    X, y = make_regression(300, 4, noise=10, random_state=0)
    kd = DistilledRegressor([LinearRegression(), RandomForestRegressor(10, random_state=0)],
                            Ridge(), n_transfer=1, random_state=0).fit(X, y)
    mean = np.mean([m.predict(X) for m in kd.teacher_.estimators_], axis=0)
    np.testing.assert_allclose(kd.teacher_.predict(X), mean)
    assert kd.score(X, y) > 0.8


def test_the_students_preprocessing_is_fitted_on_the_real_rows_only():
    # A name column is unique per real row, so TabularPreprocessor drops it; the
    # Munge transfer rows copy names, and a preprocessing fitted on them too would
    # one-hot encode the names. Fitted on the real rows, the student sees the
    # teacher's inputs.
    from sklopt.preprocessing import TabularPreprocessor

    rng = np.random.RandomState(0)
    n = 200
    X = pd.DataFrame({"name": [f"row {i}" for i in range(n)],
                      "a": rng.normal(size=n), "b": rng.choice(["x", "y"], size=n)})
    y = (X["a"] + (X["b"] == "x") > 0.5).astype(int)

    def pipe(width):
        return make_pipeline(TabularPreprocessor(), MLPClassifier(
            (width,), max_iter=20, random_state=0, device="cpu"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kd = DistilledClassifier(pipe(16), pipe(4), cv=None, n_transfer=2,
                                 random_state=0).fit(X, y)
    teacher_inputs = kd.teacher_[-1].coefs_[0].shape[0]
    assert kd.student_[-1].coefs_[0].shape[0] == teacher_inputs == 3  # a, b: x, y
    assert kd.student_[0].dropped_columns_ == ["column 'name' (unique per row)"]


@pytest.mark.parametrize("student_kw", [{"n_ensemble": 4}, {"num_embedding": "periodic"},
                                        {"n_ensemble": 2, "batch_norm": False,
                                         "num_embedding": "piecewise_linear"},
                                        {"batch_norm": True, "activation": "gelu"}])
def test_small_batches_of_every_student_kind_answer_as_the_student(student_kw):
    # Issue 20, bug 1: the distillers' small-batch path re-implemented the forward
    # pass without ensembles or embeddings (wrong probabilities for <= 64 rows, a
    # matmul shape error with an embedding); it is now the network's own.
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kd = DistilledClassifier(LogisticRegression(),
                             MLPClassifier((16,), max_iter=20, random_state=0,
                                           device="cpu", **student_kw),
                             n_transfer=1, random_state=0).fit(X, y)
    assert kd._fast_output(X[:5]) is not None
    np.testing.assert_allclose(kd.predict_proba(X[:5]), kd.student_.predict_proba(X[:5]),
                               rtol=1e-9)
    np.testing.assert_allclose(kd.predict_proba(X[:5]), kd.predict_proba(X)[:5], rtol=1e-9)
    np.testing.assert_array_equal(kd.predict(X[:64]), kd.predict(X)[:64])
