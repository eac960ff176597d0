"""Faults during training: non-finite losses, Ctrl-C, and continuing where training
stopped."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression

from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing._augment import BaseAugmenter

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class _Interrupt(BaseAugmenter):
    """A no-op augmenter that raises KeyboardInterrupt (as Ctrl-C does) in the middle
    of epoch ``at`` (1-based); ``at=0`` never interrupts."""

    mixes_labels = False

    def __init__(self, at=0):
        self.at = at

    def bind(self, X, seed, device=None):
        count = {"epoch": 0}

        def apply(X, y):
            count["epoch"] += 1
            if count["epoch"] == self.at:
                raise KeyboardInterrupt
            return X, y

        return apply


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def _clf(**kw):
    return MLPClassifier(**{"hidden_layer_sizes": (16,), "random_state": 0,
                            "device": "cpu", **kw})


def test_keyboard_interrupt_keeps_the_last_completed_epoch(digits):
    X, y = digits
    with pytest.warns(UserWarning, match=r"interrupted by user.*last completed epoch \(3\)"):
        stopped = _clf(max_iter=20, learning_rate_init=0.01,
                       augment=_Interrupt(at=4)).fit(X, y)
    assert stopped.n_iter_ == 3 and len(stopped.loss_curve_) == 3
    # Exactly the model of 3 whole epochs: the interrupted one left no trace.
    three = _clf(max_iter=3, learning_rate_init=0.01, augment=_Interrupt(at=0)).fit(X, y)
    for a, b in zip(stopped.coefs_, three.coefs_):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(stopped.predict_proba(X)).all()
    assert stopped.score(X, y) == three.score(X, y)
    assert len(stopped.history_) == 3


NON_FINITE = "Solver produced non-finite parameter weights"


def test_a_huge_learning_rate_raises_sklearns_error_and_stops_early(capsys):
    # sklearn's rule: a fit whose weights end non-finite raises its ValueError (no NaN
    # model is ever returned). sklopt stops at the first such epoch, since no later
    # epoch could change NaN weights, and the failed fit leaves the estimator as it was.
    X, y = make_regression(200, 5, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e3,
                       max_iter=50, random_state=0, device="cpu", verbose=True)
    with pytest.raises(ValueError, match=NON_FINITE):
        reg.fit(X, y)
    assert capsys.readouterr().out.count("Iteration") < 50
    assert not hasattr(reg, "coefs_") and not hasattr(reg, "net_")


def test_a_diverging_fit_with_early_stopping_keeps_its_best_finite_weights(digits):
    # sklearn's rule: validation scores of a diverging net are recorded as NaN, and the
    # best (here: initial) weights are restored, so the model still predicts.
    X, y = digits
    clf = _clf(solver="sgd", learning_rate_init=1e6, momentum=0.0, max_iter=30,
               early_stopping=True)
    clf.fit(X * 1e3, y)
    assert np.isnan(clf.validation_scores_[-1])
    assert isinstance(clf.validation_scores_[-1], float)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_partial_fit_continues_exactly_where_training_stopped(digits):
    X, y = digits
    classes = np.unique(y)
    one = _clf()
    for _ in range(6):
        one.partial_fit(X, y, classes=classes)
    two = _clf()
    for _ in range(3):
        two.partial_fit(X, y, classes=classes)
    snapshot = [c.copy() for c in two.coefs_]
    for _ in range(3):
        two.partial_fit(X, y)
    assert one.loss_curve_ == two.loss_curve_
    for a, b in zip(one.coefs_, two.coefs_):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(snapshot[0], two.coefs_[0])


def test_warm_start_continues_from_the_interrupted_weights(digits):
    X, y = digits
    with pytest.warns(UserWarning, match="interrupted"):
        clf = _clf(max_iter=10, warm_start=True, augment=_Interrupt(at=3)).fit(X, y)
    weights = [c.copy() for c in clf.coefs_]
    loss = clf.loss_curve_[-1]
    clf.set_params(augment=None, max_iter=1)
    clf.fit(X, y)
    # One more epoch from the kept weights: close to them, and the loss goes on down.
    assert clf.loss_curve_[-1] < loss
    assert np.abs(clf.coefs_[0] - weights[0]).max() < 0.1
    assert len(clf.history_) == 3  # 2 kept epochs + 1 more
