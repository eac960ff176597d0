"""Safe model files: sklopt.io.save / load (JSON + safetensors, no pickle)."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
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
from sklopt.io import UnsafeFileError, load, save
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import AUGMENTERS, MinMaxScaler, SwapNoise

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
