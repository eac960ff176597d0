"""MinMaxScaler and the augmenters: statistics, training integration, sampler use."""

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler as SkMinMaxScaler

from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import (
    AUGMENTERS,
    CutMix,
    FeatureMask,
    GaussianNoise,
    MinMaxScaler,
    MinorityInterpolation,
    Mixup,
    Munge,
    SwapNoise,
)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(300, 8, random_state=0)
    return X, y


def mlp(**kw):
    params = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0, device="cpu",
                  learning_rate_init=0.01)
    params.update(kw)
    return MLPClassifier(**params)


# --------------------------------------------------------------------------- scaler
@pytest.mark.parametrize("kw", [{}, {"feature_range": (-1, 2)}, {"clip": True}])
def test_min_max_scaler_equals_sklearn_by_default(data, kw):
    X, _ = data
    ours, theirs = MinMaxScaler(**kw).fit(X), SkMinMaxScaler(**kw).fit(X)
    X_new = X * 1.5
    np.testing.assert_array_equal(ours.transform(X_new), theirs.transform(X_new))
    np.testing.assert_array_equal(ours.inverse_transform(X), theirs.inverse_transform(X))
    for attr in ("min_", "scale_", "data_min_", "data_max_", "data_range_"):
        np.testing.assert_array_equal(getattr(ours, attr), getattr(theirs, attr))


def test_quantile_range_resists_outliers():
    X = np.r_[np.linspace(0, 1, 99), [1000.0]][:, None]
    plain = MinMaxScaler().fit_transform(X)
    robust = MinMaxScaler(quantile_range=(5, 95)).fit_transform(X)
    assert np.median(plain) < 0.001
    assert 0.4 < np.median(robust) < 0.6
    clipped = MinMaxScaler(quantile_range=(5, 95), clip=True).fit_transform(X)
    assert clipped.min() == 0 and clipped.max() == 1
    assert robust.max() > 1  # without clip, beyond the percentiles is beyond the range


def test_constant_feature_maps_to_the_low_end():
    X = np.c_[np.full(10, 3.0), np.arange(10.0)]
    for q in [(0, 100), (10, 90)]:
        out = MinMaxScaler(feature_range=(-1, 1), quantile_range=q).fit_transform(X)
        np.testing.assert_array_equal(out[:, 0], -1)


def test_nan_passes_through_and_pandas_output():
    df = pd.DataFrame({"a": [0.0, np.nan, 2.0, 4.0], "b": [1.0, 2.0, 3.0, 4.0]})
    scaler = MinMaxScaler(quantile_range=(0, 50)).set_output(transform="pandas")
    out = scaler.fit_transform(df)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a", "b"]
    assert np.isnan(out["a"][1])
    np.testing.assert_array_equal(scaler.get_feature_names_out(), ["a", "b"])


def test_quantile_range_errors(data):
    X, _ = data
    with pytest.raises(ValueError, match="quantile_range"):
        MinMaxScaler(quantile_range=(50, 10)).fit(X)
    scaler = MinMaxScaler(quantile_range=(5, 95)).fit(X)
    assert not hasattr(scaler, "partial_fit")  # percentiles cannot be updated online
    MinMaxScaler().partial_fit(X).partial_fit(X)  # the default range stays online


# --------------------------------------------------------------------------- statistics
def _bound(aug, X):
    return aug.bind(torch.as_tensor(X, dtype=torch.float32), seed=0)


def test_swap_noise_swaps_a_fraction_p_of_cells_from_the_same_column():
    X = np.arange(20000, dtype=np.float64).reshape(2000, 10)  # every cell distinct
    out, _ = _bound(SwapNoise(0.2), X)(torch.as_tensor(X, dtype=torch.float32), None)
    out = out.numpy()
    changed = out != X
    assert changed.mean() == pytest.approx(0.2, abs=0.01)
    # a swapped value comes from the same column of another row
    cols = np.nonzero(changed)[1]
    assert np.all(out[changed].astype(int) % 10 == cols)


def test_gaussian_noise_is_relative_to_each_feature_spread():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 3)) * np.array([1.0, 10.0, 0.0])
    Xt = torch.as_tensor(X, dtype=torch.float32)
    out, _ = _bound(GaussianNoise(0.3), X)(Xt, None)
    diff = (out - Xt).numpy()
    np.testing.assert_allclose(diff.std(axis=0)[:2], [0.3, 3.0], rtol=0.03)
    assert np.all(diff[:, 2] == 0)  # a constant feature gets no noise


def test_feature_mask_replaces_cells_by_the_column_mean():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 4)) + np.arange(4)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    out, _ = _bound(FeatureMask(0.25), X)(Xt, None)
    masked = (out != Xt).numpy()
    assert masked.mean() == pytest.approx(0.25, abs=0.02)
    means = Xt.mean(dim=0).numpy()
    np.testing.assert_allclose(out.numpy()[masked], np.broadcast_to(means, X.shape)[masked])


@pytest.mark.parametrize("aug", [Mixup(0.4), CutMix(0.4)])
def test_mixed_labels_sum_to_one_and_follow_the_rows(aug):
    X = torch.rand(1000, 6)
    y = torch.nn.functional.one_hot(torch.randint(0, 3, (1000,)), 3).float()
    X_mixed, y_mixed = _bound(aug, X)(X, y)
    np.testing.assert_allclose(y_mixed.sum(dim=1).numpy(), 1.0, rtol=1e-6)
    assert ((y_mixed > 0) & (y_mixed < 1)).any()  # some labels are soft
    assert X_mixed.shape == X.shape and not torch.equal(X_mixed, X)


def test_fit_resample_adds_copies_and_is_repeatable(data):
    X, y = data
    for name, cls in AUGMENTERS.items():
        aug = cls(random_state=3)
        if aug.mixes_labels:
            with pytest.raises(TypeError, match="soft labels"):
                aug.fit_resample(X, y)
            continue
        aug.set_params(n_copies=2)
        X_res, y_res = aug.fit_resample(X, y)
        assert X_res.shape == (900, 8) and y_res.shape == (900,)
        np.testing.assert_array_equal(X_res[:300], X)
        np.testing.assert_array_equal(y_res[300:600], y)
        np.testing.assert_array_equal(aug.fit_resample(X, y)[0], X_res)


def test_minority_interpolation_balances_classes():
    X, y = make_classification(300, 5, weights=[0.9], random_state=0)
    X_res, y_res = MinorityInterpolation(random_state=0).fit_resample(X, y)
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1] == np.bincount(y)[0]
    np.testing.assert_array_equal(X_res[:300], X)


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("aug", [GaussianNoise(0.1), SwapNoise(0.1), FeatureMask(0.1),
                                 Mixup(0.2), CutMix(0.2), [SwapNoise(0.1), Mixup(0.2)]])
def test_training_with_each_augmenter(data, aug):
    X, y = data
    clf = mlp(augment=aug).fit(X, y)
    assert clf.score(X, y) > 0.8
    assert np.isfinite(clf.loss_curve_).all()


def test_regressor_mixes_targets():
    X, y = make_classification(200, 5, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0,
                       learning_rate_init=0.01, augment=Mixup(0.3)).fit(X, y.astype(float))
    assert reg.score(X, y) > 0.3


def test_augmenters_run_once_per_epoch_and_never_at_predict_time(data, monkeypatch):
    X, y = data
    calls = []
    original = SwapNoise._augment

    def counting(self, X, y, *args):
        calls.append(X.shape[0])
        return original(self, X, y, *args)

    monkeypatch.setattr(SwapNoise, "_augment", counting)
    clf = mlp(augment=SwapNoise(0.3), early_stopping=True, validation_fraction=0.2,
              n_iter_no_change=100).fit(X, y)
    assert calls == [240] * clf.n_iter_  # training rows only, one call per epoch
    proba = clf.predict_proba(X)
    assert len(calls) == clf.n_iter_
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_augmentation_is_repeatable_and_changes_training(data):
    X, y = data
    a = mlp(augment=SwapNoise(0.2)).fit(X, y).predict_proba(X)
    b = mlp(augment=SwapNoise(0.2)).fit(X, y).predict_proba(X)
    c = mlp(augment=SwapNoise(0.2, random_state=7)).fit(X, y).predict_proba(X)
    plain = mlp().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, plain)


def test_bad_augment_is_a_clear_error(data):
    X, y = data
    with pytest.raises((TypeError, ValueError), match="augment"):
        mlp(augment="swap").fit(X, y)


def test_grid_search_tunes_the_augmenter(data):
    X, y = data
    pipe = Pipeline([("scale", MinMaxScaler()), ("mlp", mlp(augment=SwapNoise(0.1)))])
    grid = GridSearchCV(pipe, {"mlp__augment__p": [0.05, 0.15]}, cv=2).fit(X, y)
    assert [p["mlp__augment__p"] for p in grid.cv_results_["params"]] == [0.05, 0.15]
    grid = GridSearchCV(pipe, {"mlp__augment": [None, SwapNoise(0.1), Mixup(0.2)]},
                        cv=2).fit(X, y)
    assert len(grid.cv_results_["mean_test_score"]) == 3


def test_imblearn_pipeline_with_a_sampler_in_grid_search(data):
    X, y = data
    pipe = ImbPipeline([("aug", GaussianNoise(0.1, random_state=0)),
                        ("mlp", mlp())])
    grid = GridSearchCV(pipe, {"aug__scale": [0.05, 0.2], "aug__n_copies": [1, 2]},
                        cv=2).fit(X, y)
    assert grid.best_score_ > 0.8
    # the sampler only acts during fit: predict sees the rows it is given
    assert grid.predict(X[:7]).shape == (7,)


# --------------------------------------------------------------------------- MUNGE
def _table(n=120, seed=0):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame({
        "income": rng.lognormal(3, 1, n),
        "age": rng.randint(18, 70, n),
        "region": pd.Categorical(rng.choice(["north", "south", "east"], n)),
        "owner": rng.uniform(size=n) < 0.4,
        "plan": rng.choice(["basic", "premium"], n),
        "score": rng.normal(size=n),
    })
    frame.loc[::17, "score"] = np.nan
    return frame, rng.randint(0, 2, n)


def test_munge_keeps_column_types_and_ranges():
    frame, y = _table()
    X_res, y_res = Munge(n_copies=3, random_state=0).fit_resample(frame, y)
    assert len(X_res) == 4 * len(frame) and len(y_res) == len(X_res)
    pd.testing.assert_frame_equal(X_res.iloc[:len(frame)], frame)
    synthetic = X_res.iloc[len(frame):]
    assert (synthetic.dtypes == frame.dtypes).all()
    for col in ("income", "age", "score"):
        assert synthetic[col].min() >= frame[col].min()
        assert synthetic[col].max() <= frame[col].max()
    assert set(synthetic["region"]) <= set(frame["region"])
    assert set(synthetic["plan"]) <= set(frame["plan"])
    # Numeric columns are jittered (new values), categorical ones only swapped.
    assert not synthetic["income"].isin(frame["income"]).all()
    assert (synthetic["age"] == synthetic["age"].round()).all()  # whole numbers stay whole


def test_munge_on_arrays_keeps_indicators_and_one_hot_blocks():
    rng = np.random.RandomState(0)
    onehot = np.eye(3)[rng.randint(0, 3, 200)]
    X = np.c_[rng.normal(size=200), onehot, rng.randint(0, 2, 200), rng.normal(size=200)]
    X_res, _ = Munge(p=0.9, n_copies=2, random_state=0).fit_resample(X, np.zeros(200))
    synthetic = X_res[200:]
    assert np.isin(synthetic[:, 1:5], [0.0, 1.0]).all()
    np.testing.assert_array_equal(synthetic[:, 1:4].sum(axis=1), 1.0)  # one category
    assert not np.isin(synthetic[:, 0], X[:, 0]).all()
    # Explicit categorical columns are swapped, never jittered.
    X_res, _ = Munge(p=0.9, categorical_features=[0], random_state=0).fit_resample(
        X, np.zeros(200))
    assert np.isin(X_res[200:, 0], X[:, 0]).all()


def test_munge_moves_towards_the_nearest_neighbour():
    # Two far-apart pairs: every swapped value comes from the row's own pair.
    X = np.array([[0.0, 0.0], [0.1, 0.2], [100.0, 100.0], [100.2, 100.1]])
    X_res, y_res = Munge(p=1.0, s=1e6, n_copies=50, random_state=0).fit_resample(
        X, np.arange(4))
    for source in range(4):
        rows = X_res[4:][y_res[4:] == source]
        partner = source ^ 1
        np.testing.assert_allclose(rows, np.tile(X[partner], (len(rows), 1)), atol=1e-3)
    # p=0: exact copies of their source rows.
    X_res, y_res = Munge(p=0.0, random_state=0).fit_resample(X, np.arange(4))
    np.testing.assert_array_equal(X_res[4:], X[y_res[4:]])


def test_munge_integer_weights_equal_repeated_rows():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 4))
    w = rng.randint(0, 4, 30)
    y = np.arange(30)
    X_w, y_w, sw = Munge(n_copies=2, random_state=0).fit_resample(X, y, sample_weight=w)
    X_r, y_r = Munge(n_copies=2, random_state=0).fit_resample(np.repeat(X, w, axis=0),
                                                              np.repeat(y, w))
    np.testing.assert_allclose(X_w[30:], X_r[len(y_r) // 3:])
    np.testing.assert_array_equal(y_w[30:], y_r[len(y_r) // 3:])
    np.testing.assert_array_equal(sw[30:], 1.0)
    assert not np.isin(y_w[30:], y[w == 0]).any()  # weight 0 makes no row


def test_munge_is_repeatable_and_accepts_sparse_input():
    import scipy.sparse as sp

    X, y = make_classification(60, 5, random_state=0)
    a = Munge(random_state=3).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, Munge(random_state=3).fit_resample(X, y)[0])
    assert not np.array_equal(a, Munge(random_state=4).fit_resample(X, y)[0])
    X_sp, _ = Munge(random_state=3).fit_resample(sp.csr_matrix(X), y)
    assert sp.issparse(X_sp)
    np.testing.assert_allclose(X_sp.toarray(), a)


def test_munge_errors():
    frame, y = _table(30)
    with pytest.raises(ValueError, match="not numeric"):
        Munge(categorical_features=["region"]).fit_resample(frame, y)
    with pytest.raises(ValueError, match="unknown columns"):
        Munge(categorical_features=["nope"]).fit_resample(frame, y)
    with pytest.raises(ValueError, match="out of range"):
        Munge(categorical_features=[7]).fit_resample(np.zeros((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="p"):
        Munge(p=2.0).fit_resample(np.zeros((5, 2)), np.zeros(5))
