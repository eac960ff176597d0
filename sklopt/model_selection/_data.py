"""Data for the study: built-in data sets by name, CSV files, what the report says
about them, and the preprocessing that makes any table trainable."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

from ..preprocessing import MinMaxScaler, TabularPreprocessor

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


def make_preprocessor():
    """The study's preprocessing: :class:`~sklopt.preprocessing.TabularPreprocessor`
    with numeric columns scaled to [0, 1] (its ``scaler``, which the study tunes).
    It drops columns that name each row or are constant, imputes (numeric: median
    plus a missing-indicator column; categorical: a "missing" level), one-hot encodes
    with rare levels grouped (at most 32 columns per categorical), and accepts the
    training table's columns or a numpy array in the same column order."""
    return TabularPreprocessor(scaler=MinMaxScaler())


def describe_data(X, y, task):
    """What the report says about the data: rows, columns by kind, the columns the
    preprocessing drops (with why), missing values and the target."""
    X = pd.DataFrame(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        prep = TabularPreprocessor().fit(X)
    y = pd.Series(np.asarray(y))
    info = {
        "rows": len(X),
        "columns": X.shape[1],
        "numeric": len(prep.numeric_columns_),
        "categorical": len(prep.categorical_columns_),
        "dropped": list(prep.dropped_columns_),
        "missing values": int(X.isna().sum().sum()),
        "inputs after encoding": int(prep.transform(X.iloc[:1]).shape[1]),
    }
    if task == "classification":
        counts = y.value_counts()
        label = counts.index[0]
        label = label.item() if hasattr(label, "item") else label  # 3, not np.int64(3)
        info["target"] = (f"{len(counts)} classes; the most frequent, {label!r}, is "
                          f"{counts.iloc[0] / len(y):.1%} of the rows")
    else:
        info["target"] = (f"mean {y.mean():.4g}, std {y.std():.4g} (standardised for "
                          "the networks)")
    return info
