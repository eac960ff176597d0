"""Many nets in one pass: batched fits agree with separate fits, and the searches that
use them agree with scikit-learn's."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn import model_selection as skms
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklopt.io import load, save
from sklopt.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network._batched import batchable, fit_batched
from sklopt.preprocessing import GaussianNoise


pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _folds(X, k=3):
    # KFold of 600 rows into 3: equal folds; the first job below drops rows to make
    # the members' training sets unequal.
    return list(KFold(k, shuffle=True, random_state=0).split(X))


def _agree(separate, batched, X, proba=True):
    """Batched members equal their separate fits up to rounding (float64, CPU)."""
    for s, b in zip(separate, batched):
        assert s.n_iter_ == b.n_iter_
        np.testing.assert_allclose(b.loss_curve_, s.loss_curve_, rtol=1e-6, atol=1e-9)
        for a, c in zip(s.coefs_, b.coefs_):
            np.testing.assert_allclose(c, a, rtol=1e-6, atol=1e-9)
        if s.validation_scores_ is not None:
            np.testing.assert_allclose(b.validation_scores_, s.validation_scores_)
        out = (lambda m: m.predict_proba(X)) if proba else (lambda m: m.predict(X))
        np.testing.assert_allclose(out(b), out(s), rtol=1e-6, atol=1e-9)
        assert list(b.history_.columns) == list(s.history_.columns)
        np.testing.assert_allclose(b.history_.to_numpy(), s.history_.to_numpy(),
                                   rtol=1e-6, atol=1e-9)


SETTINGS = [
    {"solver": "adam"},
    {"solver": "adam", "dropout": 0.3},
    {"solver": "adamw", "penalty": "l2"},
    {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True},
    {"solver": "sgd", "learning_rate": "adaptive", "momentum": 0.0},
    {"solver": "adam", "early_stopping": True, "n_iter_no_change": 2},
    {"solver": "adam", "penalty": "elasticnet", "l1_ratio": 0.5},
    {"solver": "adam", "learning_rate": "cosine", "class_weight": "balanced"},
    {"solver": "rmsprop"},
    {"solver": "adagrad", "label_smoothing": 0.1},
    {"n_ensemble": 4},
    {"num_embedding": "piecewise_linear", "n_bins": 6, "embedding_dim": 4},
    {"num_embedding": "periodic", "n_ensemble": 2, "dropout": 0.2,
     "early_stopping": True},
]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(
    f"{k}={v}" for k, v in s.items()))
def test_batched_classifiers_equal_their_separate_fits(digits, setting, monkeypatch):
    import sklopt.neural_network._batched as batched

    # Embeddings batch on a GPU only: their stacked path is checked here on the CPU.
    monkeypatch.setattr(batched, "CPU_BATCHES_EMBEDDINGS", True)
    trained = []
    real = batched._train
    monkeypatch.setattr(batched, "_train", lambda members: trained.append(
        len(members)) or real(members))
    X, y = digits
    base = MLPClassifier((16,), max_iter=12, random_state=0, device="cpu", **setting)
    grid = [{"alpha": a, "learning_rate_init": lr, "random_state": seed}
            for a, lr, seed in [(1e-4, 1e-3, 0), (1e-2, 3e-3, 1), (1e-3, 1e-2, 2)]]
    jobs = []
    for i, params in enumerate(grid):
        for j, (train, _) in enumerate(_folds(X)):
            train = train[: len(train) - 7 * (i + j)]  # unequal training sets
            jobs.append((clone(base).set_params(**params), X[train], y[train], None))
    separate = [clone(m).fit(Xt, yt) for m, Xt, yt, _ in jobs]
    together = fit_batched([(clone(m), Xt, yt, w) for m, Xt, yt, w in jobs])
    assert sum(trained) == len(jobs)  # every member trained in the stack
    _agree(separate, together, X)


def test_batched_regressors_with_sample_weights_equal_their_separate_fits():
    X, y = make_regression(300, 6, noise=5.0, random_state=0)
    y = y / y.std()
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    base = MLPRegressor(hidden_layer_sizes=(12, 8), max_iter=15, random_state=0,
                        device="cpu", early_stopping=True, n_iter_no_change=3,
                        activation="tanh")
    jobs = [(clone(base).set_params(alpha=a, beta_1=b1, random_state=s),
             X[train], y[train], w[train])
            for a, b1, s in [(1e-4, 0.9, 0), (1e-1, 0.8, 1)]
            for train, _ in _folds(X)]
    separate = [clone(m).fit(Xt, yt, sample_weight=wt) for m, Xt, yt, wt in jobs]
    batched = fit_batched([(clone(m), Xt, yt, wt) for m, Xt, yt, wt in jobs])
    _agree(separate, batched, X, proba=False)


def test_dropout_rates_and_init_schemes_share_a_batch(digits, monkeypatch):
    import sklopt.neural_network._batched as batched

    X, y = digits
    trained = []
    real = batched._train
    monkeypatch.setattr(batched, "_train", lambda members: trained.append(
        len(members)) or real(members))
    jobs = [(MLPClassifier((16,), max_iter=4, random_state=0, device="cpu",
                           dropout=p, init=init), X, y, None)
            for p, init in [(0.1, "auto"), (0.5, "orthogonal"), (0.3, "he_uniform")]]
    separate = [clone(m).fit(X, y) for m, *_ in jobs]
    batch = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs])
    assert trained == [3]
    _agree(separate, batch, X)


def test_batches_split_by_memory_and_shape_give_the_same_fits(digits):
    X, y = digits
    jobs = [(MLPClassifier(hidden, max_iter=5, random_state=seed, device="cpu"), X, y,
             None) for hidden in [(8,), (16,)] for seed in range(3)]
    one = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs])
    small = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs], max_members=2)
    _agree(one, small, X)


def test_what_a_batch_cannot_take_trains_on_its_own(digits):
    X, y = digits
    others = [MLPClassifier((8,), solver="lbfgs", max_iter=20, random_state=0),
              MLPClassifier((8,), augment=GaussianNoise(0.1), max_iter=5, random_state=0),
              MLPClassifier((8,), num_embedding="periodic", max_iter=5, random_state=0),
              MLPClassifier((8,), batch_norm=True, max_iter=5, random_state=0)]
    assert all(batchable(m) for m in others)
    assert batchable(MLPClassifier()) is None
    jobs = [(m.set_params(device="cpu"), X, y, None) for m in others]
    separate = [clone(m).fit(X, y) for m, *_ in jobs]
    batched = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs])
    for s, b in zip(separate, batched):
        np.testing.assert_array_equal(s.predict_proba(X), b.predict_proba(X))


def test_a_batched_member_is_an_ordinary_fitted_model(digits, tmp_path):
    X, y = digits
    (member,) = fit_batched([(MLPClassifier((16,), max_iter=5, random_state=0,
                                            device="cpu"), X, y, None),
                             ][:1])
    alone = MLPClassifier((16,), max_iter=5, random_state=0, device="cpu").fit(X, y)
    save(member, tmp_path / "member.safetensors")
    loaded = load(tmp_path / "member.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(X), member.predict_proba(X))
    # partial_fit continues it as it continues a separate fit (its optimizer too).
    member.partial_fit(X, y)
    alone.partial_fit(X, y)
    np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X),
                               rtol=1e-6, atol=1e-9)


def test_a_failed_batch_leaves_every_member_as_it_was(digits):
    X, y = digits
    fine = MLPClassifier((8,), max_iter=3, random_state=0, device="cpu")
    wrong = MLPClassifier((8,), max_iter=3, random_state=0, device="cpu",
                          calibrate=True)  # no held-out rows: refused by its plan
    with pytest.raises(ValueError, match="early_stopping"):
        fit_batched([(fine, X, y, None), (wrong, X, y, None)])
    assert not hasattr(fine, "coefs_") and not hasattr(wrong, "coefs_")


# ----------------------------------------------------------------------------- searches
GRID = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier((16,), max_iter=10, random_state=0, device="cpu"),
    lambda: make_pipeline(MinMaxScaler(), MLPClassifier((16,), max_iter=10,
                                                        random_state=0, device="cpu")),
], ids=["mlp", "pipeline"])
def test_grid_search_matches_sklearns_and_trains_ahead(digits, make, monkeypatch):
    X, y = digits
    est = make()
    grid = GRID if not hasattr(est, "steps") else {
        f"mlpclassifier__{k}": v for k, v in GRID.items()}
    import sklopt.neural_network._batched as batched

    served = []
    real = batched.served_fit
    monkeypatch.setattr(batched, "served_fit", lambda *a: served.append(
        real(*a)) or served[-1])
    ours = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X, y)
    theirs = skms.GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-4)
    # Every candidate x fold took its batched fit; the refit trained on its own.
    assert sum(f is not None for f in served) == 12 and served[-1] is None
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X),
                               rtol=1e-6, atol=1e-9)
    assert ours.n_jobs == 2 and ours.cv == 3  # the user's parameters, as given


def test_a_varied_preprocessing_step_still_batches_the_networks(digits, monkeypatch):
    # Each candidate x fold's network trains on its own preprocessed rows: members
    # of a batch need not share their data.
    import sklopt.neural_network._batched as batched

    X, y = digits
    served = []
    real = batched.served_fit
    monkeypatch.setattr(batched, "served_fit", lambda *a: served.append(
        real(*a)) or served[-1])
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=5,
                                                         random_state=0, device="cpu"))
    grid = {"standardscaler": [StandardScaler(), MinMaxScaler()]}
    ours = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    theirs = skms.GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert sum(f is not None for f in served) == 6
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-4)


def test_fit_parameters_other_than_sample_weight_follow_sklearns_path(digits):
    from sklopt.model_selection._search import _fit_ahead

    X, y = digits
    est = MLPClassifier((8,), max_iter=2, random_state=0, device="cpu")
    splits = _folds(X)
    assert _fit_ahead(est, [{}], X, y, splits, {"classes": np.arange(10)}) is None
    assert _fit_ahead(LogisticRegression(), [{}], X, y, splits, {}) is None
    assert len(_fit_ahead(est, [{}], X, y, splits, {})) == 3


def test_randomized_search_draws_sklearns_candidates(digits):
    X, y = digits
    est = MLPClassifier((8,), max_iter=5, random_state=0, device="cpu")
    dist = {"alpha": loguniform(1e-5, 1e-1), "learning_rate_init": [1e-3, 1e-2]}
    ours = RandomizedSearchCV(est, dist, n_iter=3, cv=3, random_state=0).fit(X, y)
    theirs = skms.RandomizedSearchCV(est, dist, n_iter=3, cv=3, random_state=0).fit(X, y)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-4)


def test_error_score_and_failed_candidates_as_sklearn(digits):
    X, y = digits
    est = MLPClassifier((8,), max_iter=5, random_state=0, device="cpu")
    grid = {"hidden_layer_sizes": [(8,), (0,)]}  # the second cannot be built
    ours = GridSearchCV(est, grid, cv=3, error_score=np.nan).fit(X, y)
    theirs = skms.GridSearchCV(est, grid, cv=3, error_score=np.nan).fit(X, y)
    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"],
                                  theirs.cv_results_["mean_test_score"])


def test_cross_validate_matches_sklearns(digits):
    X, y = digits
    est = MLPClassifier((16,), max_iter=8, random_state=0, device="cpu", dropout=0.2)
    ours = cross_validate(est, X, y, cv=4, return_train_score=True)
    theirs = skms.cross_validate(est, X, y, cv=4, return_train_score=True)
    for key in ("test_score", "train_score"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-4)


def test_seed_stability_trains_seeds_as_members(digits, monkeypatch):
    from sklopt.inspection import seed_stability
    import sklopt.neural_network._batched as batched

    X, y = digits
    est = MLPClassifier((16,), max_iter=5, device="cpu", dropout=0.2)
    sizes = []
    real = batched.fit_batched
    monkeypatch.setattr(batched, "fit_batched",
                        lambda jobs, **kw: sizes.append(len(jobs)) or real(jobs, **kw))
    import sklopt.model_selection._search as search
    monkeypatch.setattr(search, "fit_batched", batched.fit_batched)
    result = seed_stability(est, X, y, seeds=3, cv=3)
    assert sizes == [9]  # 3 seeds x 3 folds, one batch
    # The same numbers as fitting each seed and fold on its own.
    for seed, row in zip(range(3), result.scores.itertuples()):
        scores = skms.cross_validate(est.set_params(random_state=seed), X, y, cv=3)
        assert row.score == pytest.approx(scores["test_score"].mean(), abs=1e-12)


def test_the_members_per_batch_follow_the_free_memory(digits, monkeypatch):
    import sklopt.neural_network._batched as batched

    X, y = digits
    est = MLPClassifier((16,), max_iter=2, random_state=0, device="cpu")
    plan = clone(est)._plan(X, y, None, False, batched.FitHook())
    monkeypatch.setattr(batched, "_free_cpu_memory", lambda: 10 ** 12)
    roomy = batched._members_per_batch(plan)
    monkeypatch.setattr(batched, "_free_cpu_memory", lambda: 10 ** 6)
    tight = batched._members_per_batch(plan)
    assert roomy > 1000 and tight == 1
    # A search too large for the memory runs in several batches, with the same fits.
    sizes = []
    real = batched._train
    monkeypatch.setattr(batched, "_train", lambda members: sizes.append(
        len(members)) or real(members))
    monkeypatch.setattr(batched, "_members_per_batch", lambda plan: 2)
    jobs = [(clone(est).set_params(random_state=s), X, y, None) for s in range(5)]
    split = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs])
    assert sizes == [2, 2, 1]
    _agree([clone(m).fit(a, b) for m, a, b, _ in jobs], split, X)


def test_fit_times_include_each_fits_share_and_worker_warnings_are_filtered(
        digits, capfd):
    X, y = digits
    est = MLPClassifier((16,), max_iter=3, random_state=0, device="cpu")
    capfd.readouterr()
    with warnings.catch_warnings():
        # The caller's filter reaches the workers (they print to the same stderr).
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2).fit(X, y)
        result = cross_validate(est, X, y, cv=3, n_jobs=2)
    assert "ConvergenceWarning" not in capfd.readouterr().err
    # A served fit takes microseconds; its share of the batch is what it cost.
    alone = skms.cross_validate(est, X, y, cv=3)["fit_time"].mean()
    assert search.cv_results_["mean_fit_time"].min() > 0.1 * alone
    assert result["fit_time"].min() > 0.1 * alone


def test_a_distillers_out_of_fold_teachers_train_as_one_batch(digits, monkeypatch):
    import sklopt.model_selection._search as search
    import sklopt.neural_network._batched as batched
    from sklopt.distillation import DistilledClassifier

    X, y = digits
    teacher = MLPClassifier((16,), max_iter=8, random_state=0, device="cpu")
    student = MLPClassifier((8,), max_iter=8, random_state=0, device="cpu")
    trained = []
    real = batched._train
    monkeypatch.setattr(batched, "_train", lambda members: trained.append(
        len(members)) or real(members))
    make = lambda: DistilledClassifier(teacher, student, cv=3, n_transfer=1,  # noqa: E731
                                       random_state=0)
    together = make().fit(X, y)
    assert trained == [3]  # the three out-of-fold teachers, in one pass
    monkeypatch.setattr(search, "fit_ahead", lambda fits, n_jobs=None: {})
    alone = make().fit(X, y)
    np.testing.assert_allclose(together.predict_proba(X), alone.predict_proba(X),
                               rtol=1e-6, atol=1e-9)


def test_multilabel_and_poisson_members_equal_their_separate_fits(digits):
    X, y = digits
    labels = np.c_[y % 2, y > 4, y == 0]  # three binary labels per row
    counts = (y % 4).astype(float)
    jobs = [(MLPClassifier((12,), max_iter=6, random_state=s, alpha=a, device="cpu",
                           label_smoothing=ls), X, labels, None)
            for s, a, ls in [(0, 1e-4, 0.0), (1, 1e-2, 0.1)]]
    jobs += [(MLPRegressor(loss="poisson", hidden_layer_sizes=(12,), max_iter=6,
                           random_state=s, device="cpu"), X, counts, None)
             for s in (0, 1)]
    separate = [clone(m).fit(a, b) for m, a, b, _ in jobs]
    together = fit_batched([(clone(m), a, b, w) for m, a, b, w in jobs])
    _agree(separate[:2], together[:2], X)
    _agree(separate[2:], together[2:], X, proba=False)


def test_refused_members_skip_or_raise_leaving_every_member_as_it_was(digits):
    X, y = digits
    good = MLPClassifier((8,), max_iter=3, random_state=0, device="cpu")
    bad_param = MLPClassifier((8,), solver="bogus", device="cpu")
    alone = MLPClassifier((8,), solver="lbfgs", max_iter=5, device="cpu")
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    jobs = lambda: [(clone(good), X, y, None), (clone(bad_param), X, y, None),  # noqa
                    (clone(alone), X_nan, y, None)]
    fitted = fit_batched(jobs(), on_error="skip")
    assert fitted[0] is not None and fitted[1] is None and fitted[2] is None
    for job in (jobs()[:2], [jobs()[0], jobs()[2]]):  # a bad parameter, a failing fit
        first = job[0][0]
        with pytest.raises(ValueError):
            fit_batched(job)
        assert not hasattr(first, "coefs_")  # the batched member is rolled back too


def test_a_search_with_an_invalid_candidate_scores_it_as_sklearn_does(digits):
    X, y = digits
    est = MLPClassifier((8,), max_iter=3, random_state=0, device="cpu")
    grid = {"solver": ["adam", "bogus"], "alpha": [1e-4, 1e-2]}
    kw = dict(cv=2, error_score=np.nan, refit=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GridSearchCV(est, grid, **kw).fit(X, y)
        theirs = skms.GridSearchCV(est, grid, **kw).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], atol=1e-4)
    assert np.isnan(ours.cv_results_["mean_test_score"]).sum() == 2


def test_members_with_and_without_early_stopping_share_a_batch():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    settings = [False, True, False, True]
    members = fit_batched([(MLPClassifier(early_stopping=e, max_iter=8, random_state=0,
                                          device="cpu"), X, y, None) for e in settings])
    for early, member in zip(settings, members):
        alone = MLPClassifier(early_stopping=early, max_iter=8, random_state=0,
                              device="cpu").fit(X, y)
        np.testing.assert_allclose(member.loss_curve_, alone.loss_curve_, rtol=1e-5)
        assert (member.validation_scores_ is None) == (not early)
