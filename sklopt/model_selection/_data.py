"""Data for the study: built-in data sets by name, CSV files, and the preprocessing
pipeline (imputation, one-hot encoding, scaling) that makes any table trainable."""

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ..preprocessing import MinMaxScaler

#: Built-in data sets of the study (name -> scikit-learn loader); all ship with
#: scikit-learn.
DATASETS = {
    "digits": datasets.load_digits,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
    "diabetes": datasets.load_diabetes,
}

# An integer target with more distinct values than this is treated as regression.
_MAX_CLASSES = 30


class DataError(ValueError):
    """A data set the study cannot use; the message says why."""


def load_builtin(name):
    """``(X, y, task)`` of a built-in data set as a DataFrame and a Series."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}.")
    bunch = DATASETS[name](as_frame=True)
    task = "regression" if name == "diabetes" else "classification"
    return bunch.data, bunch.target, task


def load_csv(path, target, task="auto"):
    """``(X, y, task)`` from a CSV file with a header row; rows without a target value
    are dropped. Raises :class:`DataError` with a clear message for an unusable file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from None
    if frame.empty:
        raise DataError(f"{path} has a header but no data rows.")
    if target not in frame.columns:
        raise DataError(
            f"{path} has no column {target!r}; its columns are: "
            f"{', '.join(map(str, frame.columns))}."
        )
    frame = frame.dropna(subset=[target])
    X, y = frame.drop(columns=[target]), frame[target]
    if X.shape[1] == 0:
        raise DataError(f"{path} has no feature columns besides the target {target!r}.")
    return X, y, check_target(y, task)


def check_target(y, task="auto"):
    """The task (``'classification'`` or ``'regression'``) of target ``y``; refuses
    targets the study cannot learn."""
    y = pd.Series(y)
    if len(y) == 0:
        raise DataError("the target has no values.")
    if task == "auto":
        numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
        integral = numeric and np.all(np.mod(y.to_numpy(dtype=float), 1) == 0)
        many = y.nunique() > _MAX_CLASSES
        task = "regression" if numeric and (not integral or many) else "classification"
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise DataError(
                f"the target has one class only ({counts.index[0]!r}); a classifier "
                "needs at least two."
            )
    elif y.nunique() < 2:
        raise DataError("the target is constant; there is nothing to learn.")
    return task


def make_preprocessor(X):
    """ColumnTransformer: numeric columns imputed (median) and scaled to [0, 1]
    (step ``num__scale``, tuned by the study); other columns imputed (most frequent)
    and one-hot encoded. Returns dense output."""
    X = pd.DataFrame(X)
    numeric = X.select_dtypes(include="number").columns.tolist()
    other = [c for c in X.columns if c not in numeric]
    parts = []
    if numeric:
        parts.append(("num", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", MinMaxScaler()),
        ]), numeric))
    if other:
        parts.append(("cat", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]), other))
    return ColumnTransformer(parts, sparse_threshold=0.0)
