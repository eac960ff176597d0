"""Model files without pickle: parameters and metadata as JSON, arrays with safetensors.

Loading a pickle runs code chosen by whoever wrote the file. A sklopt model file holds
only data: a JSON description (estimator class names, parameters, fitted attributes)
in the safetensors header's metadata, and every numeric array -- network weights,
optimizer state, scaler statistics -- as a safetensors tensor. Loading builds only the
estimator classes of an explicit allow-list (``_allowed.py``; any other name is refused
before anything is imported) and sets their attributes to plain data; nothing in the
file is executed. A SHA-256 digest over the description and the tensors detects
truncated or accidentally damaged files; it is stored in the file itself, so it is no
proof of origin: whoever can write the file can recompute it.

Written by hand because neither safetensors (tensors only) nor skops (which restores
more types but through its own trust list of callables) covers sklopt's networks and
skorch nets; the format is small enough to read here.
"""

import hashlib
import importlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as save_bytes
from sklearn.base import BaseEstimator
from sklearn.model_selection._search import BaseSearchCV

from .. import __version__
from ..neural_network._base import BaseMLP
from ..utils._device import resolve_device
from ._allowed import ALLOWED_CLASSES, public_path

FORMAT = "sklopt-safe"
FORMAT_VERSION = 2


class UnsafeFileError(ValueError):
    """A model file that is not a valid, intact sklopt file, or asks for code outside
    scikit-learn and sklopt."""


class _Encoder:
    """JSON-able description of an object; arrays go to ``self.arrays``."""

    def __init__(self):
        self.arrays = {}

    def array(self, value):
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(value)
        return {"__array__": key}

    def __call__(self, obj, where="estimator"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            return float(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "biuf" and obj.dtype.itemsize <= 8:
                return self.array(obj)
            if obj.dtype.kind in "OU":
                return {"__strings__": [self(v, where) for v in obj.ravel().tolist()],
                        "shape": list(obj.shape), "dtype": obj.dtype.str}
        if isinstance(obj, torch.Tensor):
            return {"__tensor__": self.array(obj.detach().cpu().numpy())["__array__"]}
        if isinstance(obj, tuple):
            return {"__tuple__": [self(v, where) for v in obj]}
        if isinstance(obj, list):
            return [self(v, where) for v in obj]
        if isinstance(obj, dict):
            return {"__dict__": [[self(k, where), self(v, where)] for k, v in obj.items()]}
        if isinstance(obj, slice):
            return {"__slice__": [obj.start, obj.stop, obj.step]}
        if isinstance(obj, np.dtype):
            return {"__dtype__": obj.str}
        if isinstance(obj, type) and issubclass(obj, np.generic):
            return {"__numpy_type__": obj.__name__}
        if isinstance(obj, pd.DataFrame):
            return {"__dataframe__": {str(c): self(obj[c].to_numpy(), where)
                                      for c in obj.columns}}
        if isinstance(obj, torch.Generator):
            return {"__generator__": self.array(obj.get_state().numpy())["__array__"]}
        if isinstance(obj, BaseEstimator):
            return self.estimator(obj)
        raise TypeError(
            f"{where}: cannot save an object of type {type(obj).__name__} without pickle."
            " sklopt.io saves sklopt and scikit-learn estimators whose state is made of "
            "arrays, numbers and strings; use joblib/pickle for others."
        )

    def estimator(self, est):
        cls = type(est)
        if isinstance(est, BaseSearchCV):
            # A search finds a model; its cv_results_ (masked arrays), scorers and
            # splitters are no model state. What is deployed is its best estimator.
            raise TypeError(
                f"sklopt.io saves models, not searches: save {cls.__name__}'s "
                "best_estimator_ (sklopt.io.save(search.best_estimator_, path)); keep "
                "cv_results_ with pandas (pd.DataFrame(search.cv_results_).to_csv(...)).")
        path = public_path(cls)
        if path is None:
            raise TypeError(
                f"cannot save {cls.__module__}.{cls.__qualname__} without pickle: "
                "sklopt.io saves the estimator classes of its allow-list "
                "(sklopt.io.ALLOWED_CLASSES); use joblib/pickle for others.")
        params = est.get_params(deep=False)
        desc = {"__estimator__": path,
                "params": {k: self(v, f"{cls.__name__}.{k}") for k, v in params.items()}}
        if isinstance(est, BaseMLP):
            attrs, tensors, history = est._save_state()
            desc["state"] = {k: self(v, f"{cls.__name__}.{k}") for k, v in attrs.items()}
            if tensors is not None:
                desc["mlp"] = {
                    "module": {k: self.array(v.detach().cpu().numpy())["__array__"]
                               for k, v in tensors["module"].items()},
                    "optimizer": self(tensors["optimizer"], "optimizer"),
                    "history": self(history, "history"),
                }
        else:
            state = {k: v for k, v in vars(est).items() if k not in params}
            desc["state"] = {k: self(v, f"{cls.__name__}.{k}") for k, v in state.items()}
        return desc


class _Decoder:
    def __init__(self, arrays, device):
        self.arrays = arrays
        self.device = device

    def __call__(self, obj):
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__array__" in obj:
            return self.arrays[obj["__array__"]].copy()
        if "__tensor__" in obj:
            return torch.from_numpy(self.arrays[obj["__tensor__"]].copy())
        if "__strings__" in obj:
            values = [self(v) for v in obj["__strings__"]]
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out.astype(np.dtype(obj["dtype"])).reshape(obj["shape"])
        if "__tuple__" in obj:
            return tuple(self(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {_hashable(self(k)): self(v) for k, v in obj["__dict__"]}
        if "__slice__" in obj:
            return slice(*obj["__slice__"])
        if "__dtype__" in obj:
            return np.dtype(obj["__dtype__"])
        if "__numpy_type__" in obj:
            kind = getattr(np, obj["__numpy_type__"], None)
            if not (isinstance(kind, type) and issubclass(kind, np.generic)):
                raise UnsafeFileError(f"unknown numpy type {obj['__numpy_type__']!r}")
            return kind
        if "__dataframe__" in obj:
            return pd.DataFrame({k: self(v) for k, v in obj["__dataframe__"].items()})
        if "__generator__" in obj:
            state = torch.from_numpy(self.arrays[obj["__generator__"]].copy())
            generator = torch.Generator()
            generator.set_state(state)
            return generator
        if "__estimator__" in obj:
            return self.estimator(obj)
        raise UnsafeFileError(f"unknown entry in the model description: {list(obj)[:3]}")

    def estimator(self, desc):
        cls = _trusted_class(desc["__estimator__"])
        est = cls(**{k: self(v) for k, v in desc["params"].items()})
        state = {k: self(v) for k, v in desc["state"].items()}
        if not issubclass(cls, BaseMLP):
            vars(est).update(state)
            return est
        if "mlp" not in desc:
            return est._load_state(state, None, None)
        mlp = desc["mlp"]
        module = {k: torch.from_numpy(self.arrays[v].copy()) for k, v in mlp["module"].items()}
        device = self.device or _loadable_device(est.device)
        return est._load_state(state, {"module": module, "optimizer": self(mlp["optimizer"])},
                               self(mlp["history"]), device=device)


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _trusted_class(path):
    """The allow-listed class ``path`` names; anything else is refused before any
    import."""
    if not isinstance(path, str) or path not in ALLOWED_CLASSES:
        raise UnsafeFileError(
            f"the file asks for {path!r}, which is not among the estimator classes "
            "sklopt.io loads (sklopt.io.ALLOWED_CLASSES); refusing to load it.")
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _loadable_device(saved):
    """The saved device if this machine has it, else the CPU (with a warning)."""
    try:
        return resolve_device(saved)
    except ValueError:
        warnings.warn(
            f"The model was trained on {saved!r}, which this machine does not have; it "
            "is loaded on the CPU.", UserWarning, stacklevel=4)
        return "cpu"


def _digest(description, arrays):
    h = hashlib.sha256(description.encode())
    for key in sorted(arrays):
        a = arrays[key]
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def save(estimator, path):
    """Save a fitted (or unfitted) estimator to a file that loads without pickle.

    Parameters
    ----------
    estimator : estimator
        An sklopt estimator, or an sklearn estimator or Pipeline made of sklopt and
        sklearn parts whose state is arrays, numbers and strings (scalers, encoders,
        imputers, ColumnTransformer, linear models, ...).
    path : str or path-like
        Destination (conventionally ``*.safetensors``); overwritten.

    Raises
    ------
    TypeError
        When some part cannot be saved without pickle (the message names it).

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.io import load, save
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((8,), max_iter=5, random_state=0, device="cpu").fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.safetensors")
    >>> save(clf, path)
    >>> (load(path).predict(X) == clf.predict(X)).all()
    np.True_
    """
    encoder = _Encoder()
    if getattr(estimator, "teacher_", None) is not None and hasattr(estimator, "student_"):
        estimator = _without_unsavable_teacher(estimator, encoder)
    root = encoder(estimator)
    description = json.dumps({
        "format": FORMAT, "format_version": FORMAT_VERSION, "sklopt": __version__,
        "torch": torch.__version__, "estimator": root,
    })
    metadata = {"sklopt": description, "sha256": _digest(description, encoder.arrays)}
    # safetensors refuses an empty file; a one-byte marker keeps the format uniform.
    arrays = encoder.arrays or {"__empty__": np.zeros(1, dtype=np.uint8)}
    # Written by open(), not safetensors' save_file: its temporary file leaves the
    # model readable by its owner only (-rw-------), unlike every other file the user
    # writes; open() takes the user's umask.
    with open(path, "wb") as f:
        f.write(save_bytes(arrays, metadata=metadata))


def _without_unsavable_teacher(distiller, encoder):
    """A distiller whose fitted teacher cannot be saved keeps its student (which makes
    every prediction); the teacher_ is dropped with a warning."""
    try:
        _Encoder()(distiller.teacher_)
    except TypeError as exc:
        warnings.warn(
            f"teacher_ is not saved ({exc}); the loaded model predicts with its student "
            "exactly as before, but has no fitted teacher_.", UserWarning, stacklevel=3)
        import copy

        distiller = copy.copy(distiller)
        del distiller.teacher_
    return distiller


def load(path, *, device=None):
    """Load an estimator saved by :func:`save`. Runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str, default=None
        Where sklopt networks go: None means the device they were saved from when this
        machine has it, else the CPU (with a warning).

    Returns
    -------
    estimator : estimator

    Raises
    ------
    UnsafeFileError
        (a ValueError) when the file is not a sklopt model file, is truncated or was
        altered, comes from a newer format version, or names classes outside sklearn and
        sklopt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise UnsafeFileError(
            f"{path} is not a readable sklopt model file (truncated or corrupted?): {exc}"
        ) from None
    arrays.pop("__empty__", None)
    description = metadata.get("sklopt")
    if description is None:
        raise UnsafeFileError(f"{path} is a safetensors file but not a sklopt model file.")
    if _digest(description, arrays) != metadata.get("sha256"):
        raise UnsafeFileError(
            f"{path} does not match its checksum: the file was altered or damaged."
        )
    doc = json.loads(description)
    if doc.get("format") != FORMAT:
        raise UnsafeFileError(f"{path} is not a sklopt model file.")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise UnsafeFileError(
            f"{path} was written in sklopt model format version {doc['format_version']} "
            f"(by sklopt {doc.get('sklopt')}); this sklopt ({__version__}) reads versions "
            f"up to {FORMAT_VERSION}. Upgrade sklopt to load it."
        )
    return _Decoder(arrays, device)(doc["estimator"])
