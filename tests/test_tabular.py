"""TabularPreprocessor, SmoothClipScaler and the TabularMLP estimators: contracts on
tables as they come (DataFrames with categories, strings, missing values, IDs)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
    validate_parameter_constraints,
)

from sklopt.io import load, save
from sklopt.neural_network import (
    MLPClassifier,
    MLPRegressor,
    TabularMLPClassifier,
    TabularMLPRegressor,
)
from sklopt.preprocessing import SmoothClipScaler, TabularPreprocessor

SMALL = dict(hidden_layer_sizes=(16,), n_ensemble=2, max_iter=15, random_state=0,
             device="cpu")


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    n = 300
    df = pd.DataFrame({
        "passenger": [f"Person {i}" for i in range(n)],  # an ID: unique per row
        "row": np.arange(1000, 1000 + n),  # a record number
        "age": np.where(rng.rand(n) < 0.2, np.nan, rng.uniform(1, 80, n)),
        "fare": rng.lognormal(3, 1, n),
        "port": rng.choice(["S", "C", "Q", None], n),
        "cls": pd.Categorical(rng.choice(["1st", "2nd", "3rd"], n)),
        "alone": rng.rand(n) < 0.5,
        "constant": 1.0,
    })
    y = ((df["cls"] == "1st") | (df["age"].fillna(40) < 15)).to_numpy()
    return df, y


def test_smooth_clip_scaler_is_robust_and_invertible():
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=200), rng.normal(size=200) * 1000 + 5]
    X[0] = [1e6, -1e9]  # outliers
    scaler = SmoothClipScaler(clip=3.0).fit(X)
    Z = scaler.transform(X)
    assert np.abs(Z).max() < 3.0  # bounded
    assert abs(np.median(Z[:, 1])) < 1e-9  # centred on the median
    np.testing.assert_allclose(scaler.inverse_transform(Z[1:]), X[1:], rtol=1e-8)
    # A constant column does not divide by zero.
    assert np.isfinite(SmoothClipScaler().fit_transform(np.ones((5, 1)))).all()


def test_preprocessor_drops_ids_and_constants_naming_them(table):
    df, _ = table
    with pytest.warns(UserWarning, match=r"column 'passenger' \(unique per row\).*'row' "
                                         r"\(unique per row\).*'constant' \(constant\)"):
        pre = TabularPreprocessor().fit(df)
    names = pre.get_feature_names_out()
    assert not any("passenger" in n or "row" == n.split("__")[-1] for n in names)
    assert "num__age" in names and "missingindicator_age" in " ".join(names)
    assert any(n.startswith("cat__port_") for n in names)
    assert pre.transform(df).shape == (len(df), len(names))
    # Unique whole numbers spread wide and in no order are a measurement, not an ID.
    rng = np.random.RandomState(1)
    prices = pd.DataFrame({"price": rng.choice(np.arange(10_000, 900_000), 300,
                                               replace=False)})
    assert TabularPreprocessor().fit(prices).numeric_columns_ == ["price"]
    shuffled_ids = pd.DataFrame({"id": rng.permutation(300) + 5000})
    assert TabularPreprocessor().fit(shuffled_ids.assign(x=1.0, z=rng.normal(size=300))
                                     ).dropped_columns_[0] == "column 'id' (unique per row)"


def test_preprocessor_handles_unknown_levels_and_missing_at_predict(table):
    df, _ = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pre = TabularPreprocessor().fit(df)
    new = df.head(3).copy()
    new.loc[0, "port"] = "Atlantis"
    new.loc[1, "age"] = np.nan
    out = pre.transform(new)
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="lacks the columns"):
        pre.transform(df.drop(columns=["fare"]))


def test_tabular_classifier_takes_a_table_as_it_comes(table, tmp_path):
    df, y = table
    with pytest.warns(UserWarning, match="passenger"):
        clf = TabularMLPClassifier(**SMALL).fit(df, y)
    assert "column 'passenger' (unique per row)" in clf.dropped_columns_
    proba = clf.predict_proba(df)
    assert proba.shape == (len(df), 2)
    assert clf.predict(df).dtype == bool
    assert clf.mlp_.early_stopping and clf.mlp_.temperature_ > 0  # held-out rows used
    # The saved model takes the same columns.
    save(clf, tmp_path / "m.safetensors")
    np.testing.assert_allclose(load(tmp_path / "m.safetensors").predict_proba(df), proba)


def test_tabular_regressor_predicts_on_the_targets_scale():
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.uniform(size=400), "b": rng.choice(["x", "y"], 400)})
    y = 1e4 + 5e3 * X["a"] + 2e3 * (X["b"] == "x")
    reg = TabularMLPRegressor(**{**SMALL, "max_iter": 60}).fit(X, y)
    assert abs(reg.predict(X).mean() - y.mean()) < 0.05 * y.std()
    assert reg.score(X, y) > 0.8


def test_small_data_gets_no_held_out_split():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    clf = TabularMLPClassifier(**SMALL).fit(X, y)
    assert not clf.mlp_.early_stopping
    assert clf.mlp_.batch_size <= 40


def test_tabular_mlp_tunes_in_a_grid_search(table):
    df, y = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search = GridSearchCV(TabularMLPClassifier(**SMALL), {"n_ensemble": [1, 2]},
                              cv=2).fit(df, y)
    assert set(search.cv_results_["param_n_ensemble"]) == {1, 2}
    assert clone(search.best_estimator_).get_params()["n_ensemble"] in (1, 2)


@pytest.mark.parametrize(("params", "match"), [
    ({"precision": "fp8"}, "'precision' parameter"),  # was a raw KeyError: 'fp8'
    ({"device": "gpu"}, "'device' parameter"),
    ({"device": "cuda:first"}, "'device' parameter"),
    ({"hidden_layer_sizes": (0,)}, "'hidden_layer_sizes' parameter"),
    ({"hidden_layer_sizes": (16, -1)}, "'hidden_layer_sizes' parameter"),
    ({"hidden_layer_sizes": ("16",)}, "'hidden_layer_sizes' parameter"),
    ({"num_embedding": "nonsense"}, "'num_embedding' parameter"),
])
@pytest.mark.parametrize("cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_invalid_parameters_are_named_before_training(cls, params, match):
    # Bug 5: fit skips the inner MLP's validation (nested), so the TabularMLP's own
    # constraints must be as exact as the MLP's.
    X, y = np.random.RandomState(0).normal(size=(30, 2)), np.arange(30) % 2
    with pytest.raises(InvalidParameterError, match=match):
        cls(**{**SMALL, **params}).fit(X, y)


def _rejected(constraints, value):
    try:
        validate_parameter_constraints({"p": constraints}, {"p": value}, "caller")
    except InvalidParameterError:
        return True
    return False


@pytest.mark.parametrize("cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_tabular_constraints_are_as_exact_as_the_inner_estimators(cls):
    # Every value the inner MLP (or the TabularPreprocessor) refuses for a parameter
    # the TabularMLP passes on to it, the TabularMLP refuses too, so the nested fit,
    # whose validation is skipped, never sees it.
    inner = [(MLPRegressor if cls is TabularMLPRegressor else MLPClassifier)(),
             TabularPreprocessor()]
    own = cls._parameter_constraints
    checked = set()
    for est in inner:
        for param, constraints in est._parameter_constraints.items():
            if param not in own:
                continue
            values = [type("BadType", (), {})(), "nonsense", -1, 0, 1.5, (0,), (4, -1),
                      "fp8", "gpu", "cuda:x"]
            for constraint in map(make_constraint, constraints):
                try:
                    values.append(generate_invalid_param_val(constraint))
                except NotImplementedError:
                    pass
            for value in values:
                if _rejected(constraints, value) or (
                        # the inner MLP checks these in fit, with a ValueError
                        param == "hidden_layer_sizes" and isinstance(value, tuple)
                        and any(v < 1 for v in value)) or (
                        param == "device" and value in ("gpu", "cuda:x", "nonsense")):
                    assert _rejected(own[param], value), (param, value)
            checked.add(param)
    assert {"precision", "device", "hidden_layer_sizes", "num_embedding",
            "max_categories", "dropout", "n_ensemble"} <= checked


@pytest.mark.parametrize("cls", [TabularMLPClassifier, TabularMLPRegressor])
def test_held_out_rows_are_kept_out_of_the_preprocessing_and_target_scaling(
        cls, monkeypatch):
    # Issue 20, bug 8: the preprocessing (and the regressor's target scaling) were
    # fitted on all rows, the early-stopping rows included.
    from sklopt.neural_network import MLPClassifier, MLPRegressor
    from sklopt.preprocessing import TabularPreprocessor

    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.permutation(400) / 10.0,
                       "colour": rng.choice(["red", "blue", "green"], 400)})
    y = (df["x"] > 20).to_numpy() if cls is TabularMLPClassifier else df["x"].to_numpy() ** 2
    seen, hooks = [], []
    real_fit = TabularPreprocessor.fit_transform
    monkeypatch.setattr(TabularPreprocessor, "fit_transform", lambda self, X, y=None: (
        seen.append(X["x"].to_numpy().copy()), real_fit(self, X, y))[1])
    mlp_cls = MLPClassifier if cls is TabularMLPClassifier else MLPRegressor
    real_hooked = mlp_cls._fit_hooked
    monkeypatch.setattr(mlp_cls, "_fit_hooked", lambda self, X, y, hook, **kw: (
        hooks.append((X, y, hook)), real_hooked(self, X, y, hook, **kw))[1])
    est = cls(max_iter=3, hidden_layer_sizes=(8,), n_ensemble=2, random_state=0,
              device="cpu").fit(df, y)
    (train_x,), ((X_fit, y_fit, hook),) = seen, hooks
    n_val = len(df) - len(train_x)
    assert n_val == 80 and len(X_fit) == 320 and len(hook.validation[0]) == 80
    held_out = np.setdiff1d(df["x"].to_numpy(), train_x)
    assert len(held_out) == 80  # the preprocessor never saw them
    if cls is TabularMLPRegressor:
        # The target's scaling is the training rows', and the network trained and
        # stopped on that one scaling.
        y_train, y_held = train_x ** 2, held_out ** 2
        assert est.target_mean_ == pytest.approx(y_train.mean())
        assert est.target_scale_ == pytest.approx(y_train.std())
        assert np.mean(y_fit) == pytest.approx(0.0, abs=1e-9)
        np.testing.assert_allclose(
            np.sort(hook.validation[1]),
            np.sort((y_held - y_train.mean()) / y_train.std()))


@pytest.mark.parametrize("grouping", [
    {"max_categories": 3},  # rare levels grouped: an unseen one goes there
    {"min_frequency": 1, "max_categories": 32},  # nothing grouped: an unseen one is 0
])
def test_the_direct_transform_equals_the_column_transformers(table, grouping):
    from sklopt.preprocessing import _tabular

    df, _ = table
    pre = TabularPreprocessor(**grouping).fit(df)
    new = df.copy()
    new.loc[0, "port"] = "Z"  # a level never seen
    new.loc[1, "age"] = np.nan
    new.loc[2, "port"] = None
    big = pd.concat([new] * (_tabular._LOOKUP_ROWS // len(new) + 1), ignore_index=True)
    assert len(big) > _tabular._LOOKUP_ROWS  # the encoder's own path
    for rows in (new, new.iloc[[0]], new.iloc[[2, 1]], new.to_numpy(), big):
        frame = pre._frame(rows, reset=False)
        expected = pre.transformer_.transform(pre._categories_as_str(frame))
        np.testing.assert_array_equal(pre.transform(rows), expected)
    unseen = pre.transform(new.iloc[[0]])
    names = list(pre.get_feature_names_out())
    ports = [i for i, n in enumerate(names) if n.startswith("cat__port")]
    assert unseen[0, ports].sum() == (1 if "infrequent" in " ".join(names) else 0)


def test_a_few_rows_read_at_once_equal_the_column_by_column_path():
    # Nullable columns with pandas' NA (the one-call read of a few rows falls back to
    # the column path there) and a string column with missing levels.
    from sklopt.preprocessing import _tabular

    rng = np.random.RandomState(0)
    n = _tabular._FEW_ROWS + 40
    df = pd.DataFrame({
        "count": pd.array(np.where(rng.rand(n) < 0.2, None, rng.randint(0, 50, n)),
                          dtype="Int64"),
        "x": np.where(rng.rand(n) < 0.1, np.nan, rng.rand(n)),
        "level": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
    })
    pre = TabularPreprocessor().fit(df)
    many = pre.transform(df)  # more than _FEW_ROWS rows: column by column
    few = np.vstack([pre.transform(df.iloc[[i]]) for i in range(20)])
    np.testing.assert_array_equal(few, many[:20])
    plain = df.astype({"count": "float64", "level": object})  # numpy dtypes: one read
    np.testing.assert_array_equal(pre.transform(plain.iloc[:20]), many[:20])


def test_an_infinite_or_empty_input_at_predict_time_is_refused(table):
    df, y = table
    model = TabularMLPClassifier(max_iter=2, random_state=0, device="cpu").fit(df, y)
    bad = df.iloc[[0, 1]].copy()
    bad["fare"] = [np.inf, 1.0]
    for method in (model.predict_proba, model.predict, model.pipeline_[0].transform):
        with pytest.raises(ValueError, match="infinity"):
            method(bad)
    with pytest.raises(ValueError, match="0 sample"):
        model.predict(df.iloc[:0])


def test_tabular_mlp_trains_in_float32_unless_told(table):
    df, y = table
    for precision, dtype in (("auto", np.float32), ("float64", np.float64)):
        model = TabularMLPClassifier(max_iter=1, precision=precision, random_state=0,
                                     device="cpu").fit(df, y)
        assert model.mlp_.coefs_[0].dtype == dtype


def test_tabular_mlp_under_pandas_output(table):
    # scikit-learn set to output DataFrames: the one-hot lookup tables and the
    # prediction path read arrays all the same (fitting failed before).
    import sklearn

    df, y = table
    with sklearn.config_context(transform_output="pandas"):
        model = TabularMLPClassifier(max_iter=2, random_state=0, device="cpu").fit(df, y)
        proba = model.predict_proba(df.iloc[:3])
    np.testing.assert_allclose(proba, model.predict_proba(df.iloc[:3]))
    assert proba.shape == (3, 2)
