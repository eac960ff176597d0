"""Safe model files: sklopt.io.save / load (JSON + safetensors, no pickle)."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from public_api import (
    PUBLIC_ESTIMATORS,
    is_regressor,
    make,
    public_estimator_classes,
    small_mlp,
    trains_inside_a_network,
)
from safetensors.numpy import save_file
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sklopt.io._safe as safe
from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.io import ALLOWED_CLASSES, UnsafeFileError, load, save
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import (
    AUGMENTERS,
    MinMaxScaler,
    MinorityInterpolation,
    SwapNoise,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y], X[:, 0] * 2.0


def _mlp(cls=MLPClassifier, **kw):
    return cls(**{"hidden_layer_sizes": (8,), "max_iter": 10, "random_state": 0,
                  "device": "cpu", **kw})


ESTIMATORS = {
    "classifier": lambda: _mlp(augment=SwapNoise(0.1), early_stopping=True),
    "classifier-bn-dropout": lambda: _mlp(hidden_layer_sizes=(8, 4), batch_norm=True,
                                          dropout=0.1, solver="sgd"),
    "classifier-lbfgs": lambda: _mlp(solver="lbfgs"),
    "regressor": lambda: _mlp(MLPRegressor, penalty="l1"),
    "distilled-classifier": lambda: DistilledClassifier(LogisticRegression(), _mlp()),
    "distilled-regressor": lambda: DistilledRegressor(Ridge(), _mlp(MLPRegressor)),
    "scaler": lambda: MinMaxScaler(quantile_range=(5, 95), clip=True),
    "pipeline": lambda: make_pipeline(MinMaxScaler(), StandardScaler(), _mlp()),
}


def _fit(est, data):
    X, y_cls, y_reg = data
    regression = "Regressor" in type(est).__name__
    return est.fit(X, y_reg if regression else y_cls)


def _outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    if hasattr(est, "predict"):
        return est.predict(X)
    return est.transform(X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_round_trip_gives_identical_predictions(name, data, tmp_path):
    est = _fit(ESTIMATORS[name](), data)
    path = tmp_path / "model.safetensors"
    save(est, path)
    loaded = load(path)
    assert type(loaded) is type(est)
    X = data[0]
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(est, X))
    if hasattr(est, "predict") and hasattr(est, "classes_"):
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.get_params().keys() == est.get_params().keys()


# ------------------------------------------------- every public estimator, derived
_rng = np.random.RandomState(0)
X_SMALL = _rng.normal(size=(60, 3))
Y_SMALL = np.r_[np.zeros(40, dtype=int), np.ones(20, dtype=int)]  # imbalanced: SMOTE


def _fitted_public(name):
    """The small instance of ``name``, fitted, as it is saved: a label-mixing augmenter
    inside the MLP it trains; a sampler (no fitted state) as it is."""
    est = make(name)
    y = X_SMALL[:, 0] if is_regressor(name) else Y_SMALL
    if trains_inside_a_network(est):
        est = small_mlp(augment=est)
    if hasattr(est, "fit"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X_SMALL, y)
    return est, y


def _all_outputs(est, y):
    outputs = {}
    for method in ("predict", "predict_proba", "transform"):
        if hasattr(est, method):
            outputs[method] = getattr(est, method)(X_SMALL)
    if hasattr(est, "fit_resample"):  # a seeded sampler: the same rows again
        outputs["fit_resample"] = est.fit_resample(X_SMALL, y)
    assert outputs, "no output to compare"
    return outputs


def _assert_equal_outputs(a, b):
    assert a.keys() == b.keys()
    for key in a:
        parts_a = a[key] if isinstance(a[key], tuple) else (a[key],)
        parts_b = b[key] if isinstance(b[key], tuple) else (b[key],)
        assert len(parts_a) == len(parts_b)
        for x, z in zip(parts_a, parts_b):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(z), err_msg=key)


# Public estimators that are not models: a search finds one (its best_estimator_ is
# what is saved).
SEARCHES = {"GridSearchCV", "RandomizedSearchCV"}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_a_search_is_refused_with_what_to_save_instead(name, tmp_path):
    est, _ = _fitted_public(name)
    with pytest.raises(TypeError, match="best_estimator_"):
        save(est, tmp_path / "search.safetensors")
    assert not (tmp_path / "search.safetensors").exists()
    save(est.best_estimator_, tmp_path / "best.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "best.safetensors").predict(X_SMALL),
                                  est.predict(X_SMALL))


@pytest.mark.parametrize("name", [n for n in PUBLIC_ESTIMATORS if n not in SEARCHES])
def test_every_public_estimator_round_trips(name, tmp_path):
    # The list is derived from the subpackages' __all__ (tests/public_api.py): a new
    # public estimator fails here until it is savable and its outputs survive.
    est, y = _fitted_public(name)
    path = tmp_path / "m.safetensors"
    save(est, path)
    loaded = load(path)
    assert type(loaded) is type(est)
    assert repr(loaded) == repr(est)
    _assert_equal_outputs(_all_outputs(loaded, y), _all_outputs(est, y))


def test_every_public_estimator_class_is_allow_listed():
    # Derived from the public API, not written by hand (sklopt/io/_allowed.py).
    for name, cls in public_estimator_classes().items():
        if name in SEARCHES:
            assert safe.public_path(cls) is None
            continue
        path = safe.public_path(cls)
        assert path is not None and path.endswith(f".{name}"), (name, path)
        assert path in ALLOWED_CLASSES
        assert path.count(".") == 2 and "._" not in path  # sklopt.<subpackage>.<Name>


def test_distiller_with_minority_interpolation_transfer_round_trips(tmp_path):
    # Bug 6: TypeError "cannot save ... without pickle" (a public class, documented as
    # a transfer option, missing from a hand-written allow-list).
    kd = DistilledClassifier(LogisticRegression(), small_mlp(),
                             transfer=MinorityInterpolation(k_neighbors=2, random_state=0),
                             cv=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kd.fit(X_SMALL, Y_SMALL)
    save(kd, tmp_path / "kd.safetensors")
    loaded = load(tmp_path / "kd.safetensors")
    assert isinstance(loaded.transfer, MinorityInterpolation)
    assert loaded.transfer.get_params() == kd.transfer.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X_SMALL), kd.predict_proba(X_SMALL))
    np.testing.assert_array_equal(loaded.predict(X_SMALL), kd.predict(X_SMALL))


@pytest.mark.parametrize("name", ["classifier-bn-dropout", "regressor"])
def test_partial_fit_after_load_continues_exactly(name, data, tmp_path):
    est = _fit(ESTIMATORS[name](), data)
    save(est, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    X, y_cls, y_reg = data
    y = y_reg if "Regressor" in type(est).__name__ else y_cls
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert loaded.loss_curve_ == est.loss_curve_
    for a, b in zip(loaded.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(loaded.history_, est.history_)


def test_unfitted_estimators_and_augmenters_round_trip(tmp_path):
    for cls in [*AUGMENTERS.values(), MLPClassifier]:
        est = cls()
        save(est, tmp_path / "u.safetensors")
        assert repr(load(tmp_path / "u.safetensors")) == repr(est)


def test_sklearn_pipeline_with_column_transformer(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0] * 5,
                          "c": ["a", "b", "a", None, "b", "a"] * 5})
    y = np.array([0, 1, 0, 1, 1, 0] * 5)
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), MinMaxScaler()), ["x"]),
        (make_pipeline(SimpleImputer(strategy="most_frequent"),
                       OneHotEncoder(handle_unknown="ignore")), ["c"]))
    pipe = make_pipeline(pre, _mlp()).fit(frame, y)
    save(pipe, tmp_path / "p.safetensors")
    loaded = load(tmp_path / "p.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipe.predict_proba(frame))
    assert list(loaded.feature_names_in_) == ["x", "c"]


def test_metadata_names_versions_and_classes(data, tmp_path):
    est = _fit(_mlp(), data)
    save(est, tmp_path / "m.safetensors")
    with safe_open(str(tmp_path / "m.safetensors"), framework="numpy") as f:
        doc = json.loads(f.metadata()["sklopt"])
    assert doc["format_version"] == safe.FORMAT_VERSION
    assert doc["sklopt"] and doc["torch"]
    assert doc["estimator"]["__estimator__"].endswith("MLPClassifier")
    assert "classes_" in doc["estimator"]["state"]


def test_no_pickle_is_used_when_loading(data, tmp_path, monkeypatch):
    est = _fit(ESTIMATORS["pipeline"](), data)
    save(est, tmp_path / "m.safetensors")

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    np.testing.assert_array_equal(load(tmp_path / "m.safetensors").predict(data[0]),
                                  est.predict(data[0]))


def test_gpu_trained_model_loads_on_a_cpu_only_machine(data, tmp_path, monkeypatch):
    est = _fit(_mlp(), data)
    est.set_params(device="cuda")  # as if trained on a GPU
    save(est, tmp_path / "m.safetensors")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        loaded = load(tmp_path / "m.safetensors")
    assert str(loaded.net_.device) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(data[0]),
                                  est.predict_proba(data[0]))


def test_truncated_file_gets_a_clear_error(data, tmp_path):
    est = _fit(_mlp(), data)
    path = tmp_path / "m.safetensors"
    save(est, path)
    blob = path.read_bytes()
    for cut in (5, len(blob) // 2, len(blob) - 3):
        path.write_bytes(blob[:cut])
        with pytest.raises(UnsafeFileError, match="not a readable sklopt model file"):
            load(path)


def test_tampered_file_gets_a_clear_error(data, tmp_path):
    est = _fit(_mlp(), data)
    path = tmp_path / "m.safetensors"
    save(est, path)
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF  # a weight byte
    path.write_bytes(bytes(blob))
    with pytest.raises(UnsafeFileError, match="checksum"):
        load(path)


def _write_raw(path, doc, arrays=None):
    description = json.dumps(doc)
    arrays = arrays or {"__empty__": np.zeros(1, dtype=np.uint8)}
    digest = safe._digest(description, {k: v for k, v in arrays.items()
                                        if k != "__empty__"})
    save_file(arrays, str(path), metadata={"sklopt": description, "sha256": digest})


def test_newer_format_version_says_so(tmp_path):
    path = tmp_path / "new.safetensors"
    _write_raw(path, {"format": safe.FORMAT, "format_version": 99, "sklopt": "9.0",
                      "estimator": None})
    with pytest.raises(UnsafeFileError, match="format version 99.*Upgrade sklopt"):
        load(path)


@pytest.mark.parametrize("target", [
    "os.system", "builtins.eval", "numpy.ndarray",  # third-party and builtins
    "sklearn.utils.deprecated", "sklopt.io._safe.load",  # functions
    "sklopt.__main__.main", "sklopt._cli.main",  # sklopt modules that run the CLI
    "sklopt.neural_network._base.BaseMLP",  # a real sklopt class, not allow-listed
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
    "HistGradientBoostingClassifier",  # an allowed class by a non-public path
])
def test_file_naming_anything_off_the_allow_list_is_refused_before_import(
        tmp_path, monkeypatch, target):
    import importlib
    import sys

    path = tmp_path / "evil.safetensors"
    _write_raw(path, {"format": safe.FORMAT, "format_version": safe.FORMAT_VERSION,
                      "estimator": {"__estimator__": target, "params": {}, "state": {}}})
    imported = []
    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: imported.append(name) or real_import(name, *a))
    sys.modules.pop("sklopt.__main__", None)
    with pytest.raises(UnsafeFileError, match="not among the estimator classes"):
        load(path)
    assert imported == []
    assert "sklopt.__main__" not in sys.modules


def test_a_nested_estimator_off_the_allow_list_is_refused(data, tmp_path):
    est = _fit(make_pipeline(StandardScaler(), _mlp()), data)
    path = tmp_path / "m.safetensors"
    save(est, path)
    with safe_open(str(path), framework="numpy") as f:
        doc = json.loads(f.metadata()["sklopt"])
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    text = json.dumps(doc).replace('"sklearn.preprocessing.StandardScaler"',
                                   '"sklopt.__main__.StandardScaler"')
    _write_raw(path, json.loads(text), arrays)  # a valid checksum: crafted, not damaged
    with pytest.raises(UnsafeFileError, match="sklopt.__main__"):
        load(path)


def test_an_altered_tensor_fails_the_checksum(data, tmp_path):
    est = _fit(_mlp(), data)
    path = tmp_path / "m.safetensors"
    save(est, path)
    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata()
        arrays = {k: f.get_tensor(k).copy() for k in f.keys()}
    key = next(iter(arrays))
    arrays[key] = arrays[key] + 1  # same shape and dtype, other values
    save_file(arrays, str(path), metadata=metadata)
    with pytest.raises(UnsafeFileError, match="checksum"):
        load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "x.safetensors"
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(path))
    with pytest.raises(UnsafeFileError, match="not a sklopt model file"):
        load(path)
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(UnsafeFileError):
        load(tmp_path / "text.safetensors")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors")


def test_unsavable_parts_are_named(data, tmp_path):
    X, y, _ = data
    hgb = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    with pytest.raises(TypeError, match="without pickle"):
        save(hgb, tmp_path / "h.safetensors")
    # A distiller keeps its student and warns that the teacher was left out.
    kd = DistilledClassifier(HistGradientBoostingClassifier(max_iter=3), _mlp()).fit(X, y)
    with pytest.warns(UserWarning, match="teacher_ is not saved"):
        save(kd, tmp_path / "kd.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(tmp_path / "kd.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), kd.predict(X))
    assert not hasattr(loaded, "teacher_")
    assert hasattr(kd, "teacher_")  # the original is untouched


def test_pickle_and_joblib_still_work(data, tmp_path):
    import joblib

    est = _fit(_mlp(), data)
    joblib.dump(est, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(data[0]),
                                  est.predict(data[0]))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(data[0]),
                                  est.predict(data[0]))


def test_a_model_file_takes_the_users_file_permissions(tmp_path):
    import stat

    X, y = load_iris(return_X_y=True)
    model = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.safetensors"
    save(model, path)
    text = tmp_path / "report.txt"
    text.write_text("a file written as the user writes files")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(text.stat().st_mode)
    np.testing.assert_array_equal(load(path).predict(X), model.predict(X))
