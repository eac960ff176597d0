"""Knowledge distillation: the loss, the teacher's targets, and the meta-estimators."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.distillation._loss import DISTILL_LOSSES
from sklopt.neural_network._levers import OUTPUTS
from sklopt.preprocessing import GaussianNoise, Mixup, SwapNoise

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _student(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01,
                  random_state=0, device="cpu")
    return MLPClassifier(**{**params, **kw})


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ----------------------------------------------------------------------------- the loss
def test_distill_loss_reduces_to_cross_entropy_at_soft_weight_zero():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(8, 3, generator=g)
    y = torch.randint(3, (8,), generator=g)
    soft = torch.softmax(torch.randn(8, 3, generator=g), dim=1)
    target = torch.cat([soft, y[:, None].float()], dim=1)
    kd = DISTILL_LOSSES["softmax"](z, target, None, 4.0, 0.0)
    assert torch.equal(kd, OUTPUTS["softmax"].loss(z, y))
    # Binary (one logistic output) too.
    zb, yb, pb = torch.randn(8, 1, generator=g), torch.rand(8, 1, generator=g).round(), \
        torch.rand(8, 1, generator=g)
    kd = DISTILL_LOSSES["logistic"](zb, torch.cat([pb, yb], dim=1), None, 2.0, 0.0)
    assert torch.equal(kd, OUTPUTS["logistic"].loss(zb, yb))


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_distill_loss_soft_term_is_t2_kl_and_zero_at_the_teacher(temperature):
    g = torch.Generator().manual_seed(1)
    z_teacher = torch.randn(6, 4, generator=g)
    soft = torch.softmax(z_teacher / temperature, dim=1)
    target = torch.cat([soft, torch.zeros(6, 1)], dim=1)
    # A student with the teacher's logits has zero soft loss.
    at_teacher = DISTILL_LOSSES["softmax"](z_teacher, target, None, temperature, 1.0)
    assert float(at_teacher) == pytest.approx(0.0, abs=1e-6)
    z = torch.randn(6, 4, generator=g)
    expected = temperature**2 * torch.nn.functional.kl_div(
        torch.log_softmax(z / temperature, dim=1), soft, reduction="batchmean")
    got = DISTILL_LOSSES["softmax"](z, target, None, temperature, 1.0)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)


def test_soft_weight_zero_trains_exactly_the_plain_student(iris):
    X, y = iris
    plain = _student().fit(X, y)
    distilled = DistilledClassifier(LogisticRegression(), _student(), soft_weight=0.0,
                                    temperature=5.0).fit(X, y)
    for a, b in zip(plain.coefs_, distilled.student_.coefs_):
        np.testing.assert_array_equal(a, b)


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
    kd = DistilledClassifier(teacher, student, fit_teacher=False, temperature=1.0,
                             soft_weight=1.0).fit(X, y)
    gap = np.abs(kd.predict_proba(X) - teacher.predict_proba(X)).mean()
    assert gap < 0.03
    # The labels alone teach the function less well.
    plain_gap = np.abs(clone(student).fit(X, y).predict_proba(X)
                       - teacher.predict_proba(X)).mean()
    assert gap < plain_gap


# ----------------------------------------------------------------------------- teacher
def test_out_of_fold_targets_differ_from_in_fold():
    X, y = make_classification(200, 5, flip_y=0.2, random_state=0)
    teacher = KNeighborsClassifier(n_neighbors=1)
    kd = DistilledClassifier(teacher, _student(), cv=5)
    kd.classes_ = np.unique(y)
    in_fold = kd._teacher_output(clone(teacher).fit(X, y), X)
    oof = kd._teacher_output_oof(clone(teacher), X, y, None)
    # 1-NN hands every training label back in fold; out of fold it does not.
    np.testing.assert_array_equal(np.argmax(in_fold, axis=1), y)
    assert np.mean(np.argmax(oof, axis=1) != y) > 0.1
    expected = cross_val_predict(teacher, X, y, cv=5, method="predict_proba")
    np.testing.assert_array_equal(np.exp(oof), expected)
    # And the students differ.
    a = DistilledClassifier(teacher, _student(), soft_weight=1.0).fit(X, y)
    b = DistilledClassifier(teacher, _student(), soft_weight=1.0, cv=5).fit(X, y)
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))


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
    grid = GridSearchCV(DistilledClassifier(FrozenEstimator(teacher), _student()),
                        {"temperature": [1.0, 4.0]}, cv=2).fit(X, y)
    assert grid.best_estimator_.teacher_.estimator is teacher


def test_teacher_is_cloned_and_fitted_by_default(iris):
    X, y = iris
    teacher = LogisticRegression()
    kd = DistilledClassifier(teacher, _student(max_iter=200)).fit(X, y)
    assert not hasattr(teacher, "coef_")
    assert kd.teacher_ is not teacher and hasattr(kd.teacher_, "coef_")
    assert 0.9 <= kd.fidelity_ <= 1.0


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
    assert student.t_ == student.n_iter_ * 3 * len(X)
    # With a label-mixing augmenter in the student, the one-hot layout is used.
    mixed = DistilledClassifier(LogisticRegression(), _student(augment=Mixup()),
                                random_state=0).fit(X, y)
    assert mixed.score(X, y) > 0.8


def test_transfer_keeps_dataframe_feature_names(iris, recwarn):
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    kd = DistilledClassifier(LogisticRegression(), _student(),
                             transfer=GaussianNoise(0.1), random_state=0).fit(df, y)
    kd.predict(df)
    assert list(kd.feature_names_in_) == ["a", "b", "c", "d"]
    assert not [w for w in recwarn if "feature names" in str(w.message)]
    with pytest.raises(ValueError, match="features"):
        kd.predict(X[:, :3])


def test_random_state_makes_the_fit_repeatable(iris):
    X, y = iris
    kw = dict(transfer=SwapNoise(0.2), random_state=3)
    student = _student(random_state=None)
    a = DistilledClassifier(RandomForestClassifier(n_estimators=10), student, **kw)
    b = clone(a)
    np.testing.assert_array_equal(a.fit(X, y).predict_proba(X),
                                  b.fit(X, y).predict_proba(X))


def test_pipeline_and_grid_search(iris):
    X, y = iris
    kd = DistilledClassifier(LogisticRegression(), make_pipeline(StandardScaler(),
                                                                 _student()))
    pipe = make_pipeline(StandardScaler(), kd)
    grid = GridSearchCV(pipe, {
        "distilledclassifier__temperature": [1.0, 4.0],
        "distilledclassifier__soft_weight": [0.3, 0.9],
        "distilledclassifier__student__mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
    }, cv=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert grid.score(X, y) > 0.8


# ----------------------------------------------------------------------------- regressor
def _reg_student():
    return MLPRegressor(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01, random_state=0,
                        device="cpu")


def test_regressor_student_fits_the_blend():
    X, y = make_regression(200, 4, noise=10, random_state=0)
    y = y / 100
    teacher = LinearRegression().fit(X, y)
    for w in (0.0, 1.0, 0.4):
        kd = DistilledRegressor(teacher, _reg_student(), soft_weight=w,
                                fit_teacher=False).fit(X, y)
        target = w * teacher.predict(X) + (1 - w) * y
        direct = _reg_student().fit(X, target)
        np.testing.assert_allclose(kd.predict(X), direct.predict(X), rtol=1e-6)
    assert kd.fidelity_ > 0.9


def test_regressor_out_of_fold_and_transfer():
    X, y = make_regression(150, 4, noise=10, random_state=0)
    kd = DistilledRegressor(RandomForestRegressor(n_estimators=10), _reg_student(), cv=3,
                            transfer=GaussianNoise(0.1), random_state=0).fit(X, y / 100)
    assert kd.student_.t_ == kd.student_.n_iter_ * 2 * len(X)
    with pytest.raises(TypeError, match="regressor"):
        DistilledRegressor(LogisticRegression(), _reg_student()).fit(X, y > 0)
