"""What both distillers share: defaults, the warning, row and student helpers."""


import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import _num_samples

from ..neural_network._fit import FitHook



_SEED_MAX = np.iinfo(np.int32).max
# Fewest held-out rows worth holding out (early stopping, calibration, scores).
MIN_HOLDOUT = 20
# The default student (either MLP): small, quick to train on a transfer set many times
# the size of the data, stopped on its held-out loss (docs/distillation.md).
DEFAULT_STUDENT = dict(hidden_layer_sizes=(32,), batch_size=512, learning_rate_init=0.003,
                       early_stopping=True, early_stopping_on="loss", n_iter_no_change=20,
                       max_iter=300)
# Temperatures the calibration searches: it only softens. The student was early
# stopped on the held-out rows it is calibrated on; a sharpening temperature fitted
# there mostly fits their noise (docs/distillation.md).
CALIBRATION_BOUNDS = (1.0, 20.0)


class TeacherNotBetterWarning(UserWarning):
    """Warning: the teacher scores no better on the held-out rows than the student
    trained on the labels alone, so distillation is unlikely to pay off."""


def _seed_unset(estimator, rng):
    """Give every ``random_state`` parameter of ``estimator`` (nested ones too) that is
    None an integer drawn from ``rng``, so that the distiller's ``random_state`` makes
    the whole fit repeatable without overriding seeds the user chose."""
    if isinstance(estimator, FrozenEstimator):
        return estimator
    unset = {
        key: int(rng.randint(_SEED_MAX))
        for key, value in sorted(estimator.get_params(deep=True).items())
        if key.split("__")[-1] == "random_state" and value is None
    }
    return estimator.set_params(**unset)


def _concat_rows(X, X_extra):
    """``X`` followed by the rows ``X_extra``, keeping a DataFrame's columns and dtypes
    (so that the student sees the same feature names as at predict time) and a sparse
    matrix sparse."""
    if hasattr(X, "iloc"):
        import pandas as pd

        if not hasattr(X_extra, "iloc"):
            X_extra = pd.DataFrame(np.asarray(X_extra), columns=X.columns).astype(
                X.dtypes.to_dict())
        return pd.concat([X, X_extra], ignore_index=True)
    if sp.issparse(X):
        return sp.vstack([X, sp.csr_matrix(X_extra)], format="csr")
    return np.concatenate([np.asarray(X), np.asarray(X_extra)])


def _is_2d(X):
    """Whether ``X`` is 2-D, without converting objects that refuse numpy's array
    functions (those are left for the student to validate)."""
    if hasattr(X, "shape"):
        return len(X.shape) == 2
    return np.ndim(X) == 2 if isinstance(X, (list, tuple)) else True


def _fit_params(sample_weight, estimator=None):
    """Fit parameters passing ``sample_weight`` to ``estimator``. A Pipeline takes it
    through metadata routing when that is enabled (the user's ``set_fit_request``
    decides), else as ``<last step>__sample_weight``, sklearn's Pipeline syntax, so
    that the final estimator is weighted."""
    if sample_weight is None:
        return {}
    final = estimator.estimator if isinstance(estimator, FrozenEstimator) else estimator
    if isinstance(final, Pipeline) and not get_config()["enable_metadata_routing"]:
        return {f"{final.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


def _take(values, index):
    return None if values is None else values[index]


def _cat(a, n_a, b, n_b):
    """Weights ``a`` (of ``n_a`` rows) followed by ``b`` (of ``n_b``); None means all
    ones, and is returned when both are."""
    if a is None and b is None:
        return None
    return np.concatenate([np.ones(n_a) if a is None else a,
                           np.ones(n_b) if b is None else b])


def _split_student(student, kind):
    """``(steps before the MLP or None, the MLP)`` of a student, or a TypeError."""
    mlp, prefix = student, None
    if isinstance(student, Pipeline):
        mlp = student.steps[-1][1]
        prefix = student[:-1] if len(student) > 1 else None
    if not isinstance(mlp, kind):
        return None, None
    return prefix, mlp


def _fit_batch(mlp, n_rows):
    """Clip an integer ``batch_size`` to the rows the student trains on, as the MLP
    would, without its warning: the distiller, not the user, decides how many rows
    that is (held-out rows, transfer set)."""
    if not isinstance(mlp.batch_size, str) and mlp.batch_size > n_rows:
        mlp.set_params(batch_size=n_rows)


def _prefix_transform(prefix, X, y, X_all):
    """The student's preprocessing fitted on the real rows ``X`` only, applied to the
    real and transfer rows ``X_all``: synthetic rows must not shift its statistics,
    and a column that names each real row (an ID it drops) is no longer unique once
    transfer rows copy its values."""
    if prefix is None:
        return X_all
    return prefix.fit(X, y).transform(X_all)


def _fit_mlp_student(mlp, prefix, Xt, y, loss, extra, sample_weight, held_out):
    """Fit the student's MLP (after its pipeline's ``prefix``) through the custom-loss
    hook. With early stopping it monitors the loss on the held-out real rows
    ``held_out=(X, y, extra_target, sample_weight)``; without held-out rows it trains
    without early stopping."""
    _fit_batch(mlp, _num_samples(Xt))
    validation = stop_on = None
    if mlp.early_stopping:
        if held_out is None:
            mlp.set_params(early_stopping=False)
        else:
            X_val = held_out[0] if prefix is None else prefix.transform(held_out[0])
            validation, stop_on = (X_val, *held_out[1:]), "loss"
    mlp._fit_hooked(Xt, y, FitHook(loss=loss, extra_target=extra, validation=validation,
                                   stop_on=stop_on), sample_weight=sample_weight)
