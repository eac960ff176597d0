"""Model files without pickle: parameters and metadata as JSON, arrays with safetensors.

Loading a pickle runs code chosen by whoever wrote the file. A sklopt model file holds
only data: a JSON description (estimator class names, parameters, fitted attributes)
in the safetensors header's metadata, and every numeric array -- network weights,
optimizer state, scaler statistics -- as a safetensors tensor. Loading imports classes
only from ``sklearn`` and ``sklopt``, only estimator classes, and sets attributes to
plain data; nothing in the file is executed. A SHA-256 digest over the description and
the tensors detects truncated or altered files.

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
from safetensors.numpy import save_file
from sklearn.base import BaseEstimator

from .. import __version__
from ..neural_network._callbacks import ConvergenceMonitor
from ..neural_network._multilayer_perceptron import BaseMLP
from ..utils._device import resolve_device

FORMAT = "sklopt-safe"
FORMAT_VERSION = 1
_TRUSTED_PACKAGES = ("sklearn.", "sklopt.")
# Non-estimator objects a fitted sklopt estimator holds, restored from their __dict__.
_PLAIN_STATE_CLASSES = {"ConvergenceMonitor": ConvergenceMonitor}


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
        if type(obj).__name__ in _PLAIN_STATE_CLASSES:
            state = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
            return {"__plain__": type(obj).__name__, "state": self(state, where)}
        if isinstance(obj, BaseEstimator):
            return self.estimator(obj)
        raise TypeError(
            f"{where}: cannot save an object of type {type(obj).__name__} without pickle."
            " sklopt.io saves sklopt and scikit-learn estimators whose state is made of "
            "arrays, numbers and strings; use joblib/pickle for others."
        )

    def estimator(self, est):
        cls = type(est)
        if not cls.__module__.startswith(_TRUSTED_PACKAGES):
            raise TypeError(
                f"cannot save {cls.__name__} from {cls.__module__}: sklopt.io only saves "
                "sklearn and sklopt estimators."
            )
        params = est.get_params(deep=False)
        state = {k: v for k, v in vars(est).items() if k not in params}
        net = state.pop("net_", None)
        desc = {
            "__estimator__": f"{cls.__module__}.{cls.__qualname__}",
            "params": {k: self(v, f"{cls.__name__}.{k}") for k, v in params.items()},
            "state": {k: self(v, f"{cls.__name__}.{k}") for k, v in state.items()},
        }
        if net is not None:
            desc["net"] = self.net(net)
        return desc

    def net(self, net):
        """A SkloptNet: module weights and buffers, and the optimizer's state."""
        module = {k: self.array(v.detach().cpu().numpy())["__array__"]
                  for k, v in net.module_.state_dict().items()}
        optimizer = net.optimizer_.state_dict()
        return {
            "module": module,
            "optimizer": self(optimizer, "optimizer"),
            "history": self(list(net.history), "history"),
        }


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
        if "__plain__" in obj:
            cls = _PLAIN_STATE_CLASSES.get(obj["__plain__"])
            if cls is None:
                raise UnsafeFileError(f"unknown object type {obj['__plain__']!r}")
            instance = cls.__new__(cls)
            vars(instance).update(self(obj["state"]))
            return instance
        if "__estimator__" in obj:
            return self.estimator(obj)
        raise UnsafeFileError(f"unknown entry in the model description: {list(obj)[:3]}")

    def estimator(self, desc):
        cls = _trusted_class(desc["__estimator__"])
        est = cls(**{k: self(v) for k, v in desc["params"].items()})
        vars(est).update({k: self(v) for k, v in desc["state"].items()})
        if "net" in desc:
            self.net(est, desc["net"])
        return est

    def net(self, est, desc):
        """Rebuild ``est.net_`` (an sklopt MLP's) and load its weights."""
        if not isinstance(est, BaseMLP):
            raise UnsafeFileError(f"{type(est).__name__} does not hold a network.")
        saved = est.device
        device = self.device or _loadable_device(saved)
        # Building a module draws initial weights from the estimator's generator:
        # keep the saved generator state, so that training continues as it would have.
        rng_state = est._generator.get_state()
        net = est._build_net(device)
        est._generator.set_state(rng_state)
        vars(net).update(optimizer=est._optimizer_factory(), **est._penalty_settings())
        net.initialize()
        state = {k: torch.from_numpy(self.arrays[v].copy())
                 for k, v in desc["module"].items()}
        net.module_.load_state_dict(state)
        optimizer = self(desc["optimizer"])
        optimizer["state"] = {k: {n: (t.to(device) if isinstance(t, torch.Tensor)
                                      and t.ndim else t)
                                  for n, t in v.items()}
                              for k, v in optimizer["state"].items()}
        net.load_optimizer_state(optimizer)
        for row in self(desc["history"]):
            net.history.new_epoch()
            for key, value in row.items():
                if key != "batches":
                    net.history.record(key, value)
        est.net_ = net


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _trusted_class(path):
    module, _, name = path.rpartition(".")
    if not path.startswith(_TRUSTED_PACKAGES) or not module:
        raise UnsafeFileError(
            f"the file asks for {path!r}; sklopt.io loads only sklearn and sklopt "
            "estimators."
        )
    try:
        cls = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        raise UnsafeFileError(f"the file names {path!r}, which does not exist.") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise UnsafeFileError(f"{path!r} is not an estimator class.")
    return cls


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
    save_file(arrays, str(path), metadata=metadata)


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
