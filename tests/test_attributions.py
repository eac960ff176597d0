"""Feature attributions: faithful to the model, carried back to the user's columns."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    OneHotEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)

from sklopt.distillation import DistilledClassifier
from sklopt.inspection import AttributionDisplay, feature_attributions, to_shap
from sklopt.inspection._attributions import _torch_model
from sklopt.inspection._columns import column_sources
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import MinMaxScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

METHODS = ["integrated_gradients", "gradient_shap", "gradient_x_input", "smoothgrad"]
SIGNAL = {0, 3, 7}  # the columns that carry the label; the other 7 are noise


def _mlp(cls=MLPClassifier, **kw):
    return cls(**{"hidden_layer_sizes": (32,), "max_iter": 60, "random_state": 0,
                  "device": "cpu", **kw})


def _top(importances, k=3):
    return set(np.argsort(-importances)[:k].tolist())


def _explain(model, X, method, **kw):
    # gradient_shap samples baselines: give it a background of rows
    if method == "gradient_shap":
        kw.setdefault("baseline", X[:64])
    return feature_attributions(model, X, method=method, random_state=0, **kw)


@pytest.fixture(scope="module")
def signal():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(800, 10))
    y = (X[:, 0] + 2 * X[:, 3] - 1.5 * X[:, 7] + 0.3 * rng.normal(size=800) > 0).astype(int)
    return X, y, _mlp().fit(X, y)


@pytest.fixture(scope="module")
def table():
    """A DataFrame with numeric, string and categorical columns, and a pipeline
    (ColumnTransformer: StandardScaler + OneHotEncoder) ending in an sklopt MLP."""
    rng = np.random.RandomState(1)
    n = 600
    df = pd.DataFrame({
        "income": rng.lognormal(3, 0.5, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "age": rng.randint(18, 80, n).astype(float),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n)),
        "ignored": rng.normal(size=n),
    })
    y = ((df["color"] == "red") * 1.5 + (df["income"] - 20) / 10
         + (df["size"] == "L") > 0.8).astype(int)
    ct = ColumnTransformer([("num", StandardScaler(), ["income", "age"]),
                            ("cat", OneHotEncoder(), ["color", "size"])])
    pipe = make_pipeline(ct, _mlp()).fit(df, y)
    return df, y, pipe


# ----------------------------------------------------------------------------- faithful
@pytest.mark.parametrize("method", METHODS)
def test_signal_columns_rank_first(signal, method):
    X, _, clf = signal
    result = _explain(clf, X, method)
    assert result.values.shape == (len(X), 10)
    assert _top(result.importances_mean) == SIGNAL
    np.testing.assert_allclose(result.importances_mean, np.abs(result.values).mean(axis=0))


def test_signal_columns_rank_first_regression():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(600, 10))
    y = X[:, 0] + 2 * X[:, 3] - 1.5 * X[:, 7]
    reg = _mlp(MLPRegressor, max_iter=80).fit(X, y)
    result = feature_attributions(reg, X)
    assert _top(result.importances_mean) == SIGNAL
    # a near-linear model: the attribution of x_j is about coef_j * (x_j - mean_j)
    expected = 2 * (X[:, 3] - X[:, 3].mean())
    assert np.corrcoef(result.values[:, 3], expected)[0, 1] > 0.9


def test_integrated_gradients_is_complete(signal):
    """Each row's attributions add up to output(row) - output(baseline)."""
    X, _, clf = signal
    result = feature_attributions(clf, X, n_steps=100)
    proba = clf.predict_proba(X)[np.arange(len(X)), result.outputs]
    gap = proba - result.base_values
    np.testing.assert_allclose(result.delta, result.values.sum(axis=1) - gap, atol=1e-6)
    assert np.abs(result.delta).sum() < 0.01 * np.abs(gap).sum()
    # the gap is a quadrature error: it shrinks with the number of steps
    coarse = feature_attributions(clf, X, n_steps=5)
    assert np.abs(result.delta).mean() < np.abs(coarse.delta).mean()
    # the baseline is X's column means
    np.testing.assert_allclose(
        result.base_values, clf.predict_proba(X.mean(axis=0, keepdims=True))[0, result.outputs],
        rtol=1e-5)


@pytest.mark.parametrize("method", ["integrated_gradients", "smoothgrad"])
def test_randomized_model_changes_the_ranking(signal, method):
    """Adebayo et al. (2018): attributions must depend on the learned weights (and on the
    labels the weights were learned from), not only on the input and the architecture."""
    X, y, clf = signal
    trained = _explain(clf, X, method).importances_mean
    retrained = _explain(_mlp(random_state=1).fit(X, y), X, method).importances_mean
    assert spearmanr(trained, retrained).statistic > 0.5  # the learned signal is stable
    for seed in (0, 1):
        # model randomization: weights at their random init (one step at lr 1e-6)
        untrained = _mlp(max_iter=1, learning_rate_init=1e-6, random_state=seed).fit(X, y)
        randomized = _explain(untrained, X, method).importances_mean
        assert _top(randomized) != SIGNAL
        assert spearmanr(trained, randomized).statistic < 0.75
    # data randomization: the same net trained on permuted labels
    noise = _mlp().fit(X, np.random.RandomState(0).permutation(y))
    shuffled = _explain(noise, X, method).importances_mean
    assert _top(shuffled) != SIGNAL
    assert spearmanr(trained, shuffled).statistic < 0.75


def test_deleting_top_columns_hurts_more_than_random_ones(signal):
    """Per row, replacing the k most attributed columns by the baseline moves the
    predicted class's probability more than replacing k random columns."""
    X, y, clf = signal
    result = feature_attributions(clf, X)
    rows = np.arange(len(X))
    p0 = clf.predict_proba(X)[rows, result.outputs]
    mean = X.mean(axis=0)
    rng = np.random.RandomState(0)
    for k in (1, 2, 3):
        top = np.argsort(-np.abs(result.values), axis=1)[:, :k]
        X_top = X.copy()
        X_top[rows[:, None], top] = mean[top]
        drop_top = p0 - clf.predict_proba(X_top)[rows, result.outputs]
        drops_random = []
        for _ in range(5):
            random = np.argsort(rng.rand(*X.shape), axis=1)[:, :k]
            X_random = X.copy()
            X_random[rows[:, None], random] = mean[random]
            drops_random.append(p0 - clf.predict_proba(X_random)[rows, result.outputs])
        assert drop_top.mean() > 1.5 * np.mean(drops_random)
    # globally too: the score falls more without the top-3 columns
    top3 = np.argsort(-result.importances_mean)[:3]
    X_top = X.copy()
    X_top[:, top3] = mean[top3]
    X_rest = X.copy()
    rest = np.argsort(-result.importances_mean)[3:6]
    X_rest[:, rest] = mean[rest]
    assert clf.score(X_top, y) < clf.score(X_rest, y) - 0.2


# ----------------------------------------------------------------------------- targets
def test_multiclass_targets():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(300, 4))
    y = np.array(["a", "b", "c"])[np.digitize(X[:, 1] + X[:, 2], [-0.5, 0.5])]
    clf = _mlp(max_iter=40).fit(X, y)
    every = feature_attributions(clf, X, target="all")
    assert every.values.shape == (300, 4, 3) and every.base_values.shape == (300, 3)
    assert every.outputs.tolist() == ["a", "b", "c"]
    # probabilities sum to one: the attributions of the classes cancel per column
    np.testing.assert_allclose(every.values.sum(axis=2), 0.0, atol=1e-5)
    predicted = feature_attributions(clf, X)
    k = np.searchsorted(clf.classes_, clf.predict(X))
    np.testing.assert_array_equal(predicted.outputs, clf.predict(X))
    np.testing.assert_allclose(predicted.values, every.values[np.arange(300), :, k],
                               atol=1e-6)
    b = feature_attributions(clf, X, target="b")
    np.testing.assert_allclose(b.values, every.values[:, :, 1], atol=1e-6)


def test_binary_classes_are_mirror_images(signal):
    X, _, clf = signal
    every = feature_attributions(clf, X[:50], target="all")
    np.testing.assert_allclose(every.values[:, :, 0], -every.values[:, :, 1], atol=1e-6)
    np.testing.assert_allclose(feature_attributions(clf, X[:50], target=1).values,
                               every.values[:, :, 1], atol=1e-6)


def test_multi_output_regression():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(200, 5))
    Y = np.c_[X[:, 0] - X[:, 1], 2 * X[:, 4]]
    reg = _mlp(MLPRegressor, max_iter=40).fit(X, Y)
    result = feature_attributions(reg, X, n_steps=100)
    assert result.values.shape == (200, 5, 2) and result.outputs.tolist() == [0, 1]
    gap = reg.predict(X) - result.base_values
    np.testing.assert_allclose(result.values.sum(axis=1), gap, atol=0.05 * np.abs(gap).max())
    np.testing.assert_allclose(feature_attributions(reg, X, target=1, n_steps=100).values,
                               result.values[:, :, 1], atol=1e-6)
    assert _top(np.abs(result.values[:, :, 1]).mean(axis=0), 1) == {4}


# ----------------------------------------------------------------------------- pipelines
@pytest.mark.parametrize("scaler", [StandardScaler(), MinMaxScaler(), MinMaxScaler((-1, 1))])
def test_affine_steps_need_no_change(signal, scaler):
    """Integrated gradients through a per-feature affine step equal integrated gradients
    of the composed function in the user's space, the baseline mapped alike."""
    from captum.attr import IntegratedGradients

    X, y, _ = signal
    X = X * [1, 10, 100, 0.5, 3, 1, 1, 20, 1, 1] + 5
    pipe = make_pipeline(scaler, _mlp()).fit(X, y)
    result = feature_attributions(pipe, X, n_steps=64)
    forward, _, dtype = _torch_model(pipe[-1])
    step = pipe[0]
    shift = torch.tensor(step.mean_ if hasattr(step, "mean_") else -step.min_ / step.scale_)
    scale = torch.tensor(step.scale_ if hasattr(step, "mean_") else 1 / step.scale_)
    in_user_space = IntegratedGradients(lambda x: forward(((x - shift) / scale).to(dtype)))
    x = torch.tensor(X, dtype=torch.float64)
    expected = in_user_space.attribute(x, x.mean(0, keepdim=True), target=torch.as_tensor(
        np.searchsorted(pipe.classes_, result.outputs)), n_steps=64).numpy()
    np.testing.assert_allclose(result.values, expected, atol=1e-5)


def test_one_hot_sums_are_conserved(table):
    df, _, pipe = table
    row = df.iloc[3].to_numpy()
    result = feature_attributions(pipe, df, baseline=row)
    assert result.feature_names.tolist() == df.columns.tolist()
    # the same attributions computed on the network's input, then summed by hand
    Z = pipe[:-1].transform(df)
    net = feature_attributions(pipe[-1], Z, baseline=pipe[:-1].transform(df.iloc[[3]])[0])
    np.testing.assert_allclose(result.values.sum(axis=1), net.values.sum(axis=1), atol=1e-9)
    names = pipe[0].get_feature_names_out().tolist()
    for column in ["color", "size"]:
        parts = [i for i, n in enumerate(names) if n.startswith(f"cat__{column}_")]
        j = df.columns.get_loc(column)
        np.testing.assert_allclose(result.values[:, j], net.values[:, parts].sum(axis=1),
                                   atol=1e-9)
    np.testing.assert_allclose(result.delta, net.delta, atol=1e-9)
    assert np.all(result.values[:, df.columns.get_loc("ignored")] == 0)  # dropped column


def test_pipeline_gives_user_columns_and_values(table):
    df, y, pipe = table
    result = feature_attributions(pipe, df)
    assert result.feature_names.tolist() == df.columns.tolist()
    assert result.values.shape == (len(df), 5)
    assert result.data[0, 1] == df["color"].iloc[0] and result.data[0, 3] == df["size"].iloc[0]
    assert _top(result.importances_mean, 3) == {0, 1, 3}  # income, color, size
    # baseline "mean": numeric means, most frequent category, through the pipeline
    mean_row = pd.DataFrame([{
        "income": df["income"].mean(), "color": df["color"].mode()[0],
        "age": df["age"].mean(), "size": df["size"].mode()[0],
        "ignored": df["ignored"].mean()}]).astype({"size": df["size"].dtype})
    expected = pipe.predict_proba(mean_row)[0, np.searchsorted(pipe.classes_, result.outputs)]
    np.testing.assert_allclose(result.base_values, expected, rtol=1e-5)
    assert np.abs(result.delta).sum() < 0.02 * np.abs(result.values.sum(axis=1)).sum()


def test_column_sources_follow_sklearn_output_names():
    """Each output column of a nested ColumnTransformer is traced to the input column
    whose name sklearn puts in the output name."""
    rng = np.random.RandomState(5)
    n = 200
    df = pd.DataFrame({
        "alpha": rng.normal(size=n), "beta": rng.choice(list("pqrs"), n, p=[.5, .3, .15, .05]),
        "gamma": np.where(rng.rand(n) < 0.2, np.nan, rng.normal(size=n)),
        "delta": rng.normal(size=n), "epsilon": rng.normal(size=n), "zeta": np.ones(n),
        "omega": rng.normal(size=n),
    })
    ct = ColumnTransformer([
        ("onehot", OneHotEncoder(drop="first", min_frequency=20), ["beta"]),
        ("impute", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
         ["gamma", "alpha"]),
        ("bins", KBinsDiscretizer(n_bins=3, encode="onehot-dense"), ["delta"]),
        ("spline", SplineTransformer(n_knots=4), slice("epsilon", "epsilon")),
        ("select", VarianceThreshold(), ["zeta", "alpha"]),
    ], remainder="passthrough", sparse_threshold=0).fit(df)
    unknown = []
    sources = column_sources(ct, df.shape[1], unknown)
    out_names = ct.get_feature_names_out()
    assert unknown == [] and len(sources) == len(out_names)
    for name, source in zip(out_names, sources):
        assert df.columns[source] in name, (name, df.columns[source])
    # 3 one-hot columns (q, r and the infrequent s; p dropped) come from beta
    assert (sources == df.columns.get_loc("beta")).sum() == 3
    # a transformer sklopt does not know is reported, and its slice left unknown
    ct_pca = ColumnTransformer([("pca", PCA(2), ["alpha", "delta"]),
                                ("num", StandardScaler(), ["omega"])]).fit(df)
    unknown = []
    sources = column_sources(ct_pca, df.shape[1], unknown)
    assert sources.tolist() == [-1, -1, df.columns.get_loc("omega")]
    assert unknown == ["pca/PCA"]


def test_unknown_step_keeps_its_output_columns(table):
    df, y, _ = table
    ct = ColumnTransformer([("num", StandardScaler(), ["income", "age"]),
                            ("cat", OneHotEncoder(sparse_output=False), ["color", "size"])])
    pipe = make_pipeline(ct, PCA(4), _mlp(max_iter=20)).fit(df, y)
    with pytest.warns(UserWarning, match="pca/PCA.*pca0, pca1, pca2, pca3"):
        result = feature_attributions(pipe, df)
    assert result.feature_names.tolist() == ["pca0", "pca1", "pca2", "pca3"]
    np.testing.assert_allclose(result.data, pipe[:-1].transform(df))
    # inside a ColumnTransformer: the known parts still reach the user's columns
    ct = ColumnTransformer([("num", PCA(1), ["income", "age"]),
                            ("cat", OneHotEncoder(), ["color", "size"])])
    pipe = make_pipeline(ct, _mlp(max_iter=20)).fit(df, y)
    with pytest.warns(UserWarning, match="num/PCA"):
        result = feature_attributions(pipe, df, baseline=df.iloc[0].to_numpy())
    assert result.feature_names.tolist() == ["color", "size", "num__pca0"]
    net = feature_attributions(pipe[-1], pipe[:-1].transform(df),
                               baseline=pipe[:-1].transform(df.iloc[[0]])[0])
    np.testing.assert_allclose(result.values[:, 2], net.values[:, 0], atol=1e-6)
    # a widening unknown step after a known one: 3 columns -> 10 products
    X = df[["income", "age", "ignored"]].to_numpy()
    pipe = make_pipeline(StandardScaler(), PolynomialFeatures(2), _mlp(max_iter=5)).fit(X, y)
    with pytest.warns(UserWarning, match="polynomialfeatures/PolynomialFeatures"):
        result = feature_attributions(pipe, X)
    assert result.feature_names.tolist() == pipe[1].get_feature_names_out().tolist()
    np.testing.assert_allclose(result.data, pipe[:-1].transform(X))


def test_distiller_explains_its_student(signal):
    X, y, _ = signal
    distilled = DistilledClassifier(LogisticRegression(), _mlp(max_iter=30),
                                    random_state=0).fit(X, y)
    np.testing.assert_allclose(feature_attributions(distilled, X[:100]).values,
                               feature_attributions(distilled.student_, X[:100]).values)


def test_batches_and_seeds(signal):
    X, _, clf = signal
    np.testing.assert_allclose(feature_attributions(clf, X[:100], batch_size=7).values,
                               feature_attributions(clf, X[:100]).values, atol=1e-6)
    state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state()
    first = _explain(clf, X[:100], "gradient_shap")
    np.testing.assert_array_equal(first.values, _explain(clf, X[:100], "gradient_shap").values)
    other = feature_attributions(clf, X[:100], method="smoothgrad", random_state=1)
    assert not np.allclose(other.values, _explain(clf, X[:100], "smoothgrad").values)
    # the global random generators are left as they were
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert torch.equal(torch.random.get_rng_state(), torch_state)


# ----------------------------------------------------------------------------- errors
def test_errors(signal, table):
    X, y, clf = signal
    df, _, pipe = table
    with pytest.raises(NotFittedError):
        feature_attributions(MLPClassifier(), X)
    with pytest.raises(NotFittedError):
        feature_attributions(make_pipeline(StandardScaler(), MLPClassifier()), X)
    with pytest.raises(NotFittedError):
        feature_attributions(DistilledClassifier(LogisticRegression()), X)
    with pytest.raises(TypeError, match="LogisticRegression"):
        feature_attributions(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), X)
    with pytest.raises(ValueError, match="'lime'"):
        feature_attributions(clf, X, method="lime")
    with pytest.raises(ValueError, match="'average'"):
        feature_attributions(clf, X, baseline="average")
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        feature_attributions(clf, X, baseline=np.zeros(3))
    with pytest.raises(ValueError, match="gradient_shap"):
        feature_attributions(clf, X, baseline=X[:5])
    with pytest.raises(ValueError, match="target=7"):
        feature_attributions(clf, X, target=7)
    with pytest.raises(ValueError, match="n_steps"):
        feature_attributions(clf, X, n_steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        feature_attributions(clf, X, batch_size=0)
    with pytest.raises(ValueError, match="4 features"):
        feature_attributions(clf, X[:, :4])
    with pytest.raises(ValueError, match="cannot go through the pipeline"):
        feature_attributions(pipe, df, baseline=0.0)  # 0 is no color
    reg = _mlp(MLPRegressor, max_iter=5).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="target=1"):
        feature_attributions(reg, X, target=1)


def test_missing_optional_packages_say_how_to_install(signal, monkeypatch):
    X, _, clf = signal
    result = feature_attributions(clf, X[:10])
    monkeypatch.setitem(sys.modules, "captum", None)
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(ImportError, match=r'pip install "sklopt\[explain\]"'):
        feature_attributions(clf, X[:10])
    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(ImportError, match="pip install shap"):
        to_shap(result)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "sklopt\[plot\]"'):
        AttributionDisplay.from_attributions(result)


# ----------------------------------------------------------------------------- shap
def test_to_shap(table):
    shap = pytest.importorskip("shap", reason="shap is in the test extra; to_shap needs it")
    df, _, pipe = table
    result = feature_attributions(pipe, df[:50])
    explanation = result.to_shap()
    assert isinstance(explanation, shap.Explanation)
    np.testing.assert_array_equal(explanation.values, result.values)
    np.testing.assert_array_equal(explanation.base_values, result.base_values)
    assert list(explanation.feature_names) == df.columns.tolist()
    assert explanation.data.dtype == np.float64  # categories as codes ...
    assert explanation.display_data[0, 1] == df["color"].iloc[0]  # ... values kept
    every = feature_attributions(pipe, df[:50], target="all")
    assert to_shap(every).values.shape == (50, 5, 2)
    np.testing.assert_array_equal(to_shap(every, output=1).values, every.values[:, :, 1])


# ----------------------------------------------------------------------------- Display
def _labels_overlap(labels):
    boxes = [label.get_window_extent() for label in labels if label.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_display_bar_with_permutation_importance(table):
    df, y, pipe = table
    disp = AttributionDisplay.from_estimator(pipe, df, y, permutation=True, n_repeats=3,
                                             random_state=0)
    result = feature_attributions(pipe, df)
    order = np.argsort(-result.importances_mean, kind="stable")
    assert disp.features_ == [df.columns[j] for j in order]
    bars = disp.bars_["Integrated Gradients"]
    shares = result.importances_mean[order] / result.importances_mean.sum()
    np.testing.assert_allclose([b.get_width() for b in bars], shares)
    perm = permutation_importance(pipe, df, y, n_repeats=3, random_state=0)
    perm_widths = [b.get_width() for b in disp.bars_["permutation importance"]]
    np.testing.assert_allclose(perm_widths, perm.importances_mean[order]
                               / np.clip(perm.importances_mean, 0, None).sum())
    ax = disp.ax_
    assert ax.get_title() and ax.get_xlabel() and disp.figure_.get_layout_engine() is not None
    disp.figure_.canvas.draw()
    assert not _labels_overlap(ax.get_yticklabels())
    plt.close(disp.figure_)


def test_display_beeswarm(table):
    df, _, pipe = table
    result = feature_attributions(pipe, df)
    disp = AttributionDisplay.from_attributions(result, kind="beeswarm", max_display=3)
    assert len(disp.features_) == 3
    offsets = disp.collection_.get_offsets()
    assert len(offsets) == 3 * len(df)
    top = np.argsort(-result.importances_mean)[0]
    first = np.abs(offsets[:, 1]) < 0.45  # the points of the top row (y = 0)
    np.testing.assert_allclose(np.sort(offsets[first, 0]), np.sort(result.values[:, top]))
    assert disp.colorbar_ is not None and "value" in disp.colorbar_.ax.get_ylabel()
    assert "top 3 of 5" in disp.ax_.get_ylabel()
    plt.close(disp.figure_)


def test_display_several_outputs(signal):
    rng = np.random.RandomState(6)
    X = rng.normal(size=(300, 12))
    y = np.digitize(X[:, 0] + X[:, 1], [-1, -0.3, 0.3, 1])  # 5 classes
    clf = _mlp(max_iter=30).fit(X, y)
    result = feature_attributions(clf, X, target="all")
    disp = AttributionDisplay.from_attributions(result, max_display=12)
    assert sorted(disp.bars_) == ["0", "1", "2", "3", "4"]
    disp.figure_.canvas.draw()
    legend = disp.ax_.get_legend().get_window_extent()
    assert legend.x0 >= disp.ax_.get_window_extent().x1  # outside the data
    assert legend.x1 <= disp.figure_.bbox.x1 + 1  # but inside the figure
    assert not _labels_overlap(disp.ax_.get_yticklabels())
    plt.close(disp.figure_)
    with pytest.raises(ValueError, match="output="):
        AttributionDisplay.from_attributions(result, kind="beeswarm")
    disp = AttributionDisplay.from_attributions(result, kind="beeswarm", output=2)
    assert len(disp.collection_.get_offsets()) == 10 * len(X)
    plt.close("all")


def test_display_errors(signal):
    X, y, clf = signal
    with pytest.raises(ValueError, match="needs y"):
        AttributionDisplay.from_estimator(clf, X, permutation=True)
    with pytest.raises(ValueError, match="'violin'"):
        AttributionDisplay.from_estimator(clf, X, kind="violin")
    with pytest.raises(ValueError, match="max_display"):
        AttributionDisplay.from_estimator(clf, X, max_display=0)
