"""Bad input, everywhere: every public estimator, transformer and sampler gives a correct
result or a ValueError / TypeError naming the problem -- never a raw torch or skorch
error."""

import re
import traceback
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LinearRegression, LogisticRegression

from sklopt.distillation import DistilledClassifier, DistilledRegressor
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.preprocessing import (
    FeatureMask,
    GaussianNoise,
    MinMaxScaler,
    MinorityInterpolation,
    SwapNoise,
)


def _mlp(cls=MLPClassifier):
    return cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0, device="cpu")


FACTORIES = {
    "MLPClassifier": lambda: _mlp(),
    "MLPRegressor": lambda: _mlp(MLPRegressor),
    "DistilledClassifier": lambda: DistilledClassifier(LogisticRegression(), _mlp()),
    "DistilledRegressor": lambda: DistilledRegressor(LinearRegression(),
                                                     _mlp(MLPRegressor)),
    "MinMaxScaler": MinMaxScaler,
    "GaussianNoise": lambda: GaussianNoise(random_state=0),
    "SwapNoise": lambda: SwapNoise(random_state=0),
    "FeatureMask": lambda: FeatureMask(random_state=0),
    "MinorityInterpolation": lambda: MinorityInterpolation(k_neighbors=1, random_state=0),
}

rng = np.random.RandomState(0)
X_GOOD = rng.normal(size=(30, 3))
Y_CLS = np.array([0, 1] * 15)
Y_REG = X_GOOD[:, 0]


def _is_regressor(name):
    return name.endswith("Regressor")


def _y(name):
    return Y_REG if _is_regressor(name) else Y_CLS


def _fit(est, name, X, y):
    """fit, fit_resample or fit_transform; returns outputs that must be finite."""
    if hasattr(est, "fit_resample"):
        return est.fit_resample(X, y)[0]
    if hasattr(est, "transform"):
        return est.fit_transform(X)
    est.fit(X, y)
    return est.predict(X if not sp.issparse(X) else X.toarray())


def _with_nan():
    X = X_GOOD.copy()
    X[3, 1] = np.nan
    return X


def _with_inf():
    X = X_GOOD.copy()
    X[3, 1] = np.inf
    return X


def _object_strings():
    X = X_GOOD.astype(object)
    X[2, 0] = "abc"
    return X


# case -> (build X, build y (name -> y), regex of an acceptable message)
FIT_CASES = {
    "nan": (_with_nan, _y, r"NaN|nan"),
    "inf": (_with_inf, _y, r"inf"),
    "strings": (lambda: np.array([["a", "b", "c"]] * 30), _y,
                r"convert|string|dtype|numeric"),
    "object column of strings": (_object_strings, _y, r"convert|string|dtype|numeric"),
    "empty X": (lambda: np.empty((0, 3)), lambda n: _y(n)[:0], r"0 sample|empty"),
    "no features": (lambda: np.empty((30, 0)), _y, r"0 feature|features"),
    "y of the wrong length": (lambda: X_GOOD, lambda n: _y(n)[:-1],
                              r"inconsistent|length|number of samples"),
    "3-D X": (lambda: X_GOOD.reshape(30, 3, 1), _y, r"dim|2D|2-D|3"),
    "1-D X": (lambda: X_GOOD[:, 0], _y, r"2D|Reshape|1D|1-D|dim"),
}
OK_CASES = {  # must give a correct, finite result
    "one feature": (lambda: X_GOOD[:, :1], _y),
    "sparse": (lambda: sp.csr_matrix(X_GOOD), _y),
    "float16": (lambda: X_GOOD.astype(np.float16), _y),
    "object column of numbers": (lambda: X_GOOD.astype(object), _y),
    "huge values": (lambda: X_GOOD * 1e30, _y),
}


def _check_clean_error(exc, pattern):
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    tb = "".join(traceback.format_exception(exc))
    # Raised by sklopt / sklearn / numpy validation, not from inside torch or skorch.
    last = traceback.extract_tb(exc.__traceback__)[-1].filename
    assert "/torch/" not in last and "/skorch/" not in last, tb
    assert re.search(pattern, str(exc)), (pattern, str(exc))


@pytest.mark.parametrize("case", FIT_CASES)
@pytest.mark.parametrize("name", FACTORIES)
def test_bad_fit_input_gets_a_clear_error(name, case):
    make_X, make_y, pattern = FIT_CASES[case]
    est = FACTORIES[name]()
    if name == "MinMaxScaler" and case == "y of the wrong length":
        pytest.skip("a transformer ignores y")
    if name == "MinMaxScaler" and case == "nan":
        # sklearn's scalers treat NaN as missing and pass it through: correct result.
        out = est.fit_transform(make_X())
        np.testing.assert_array_equal(np.isnan(out), np.isnan(make_X()))
        return
    with pytest.raises((ValueError, TypeError)) as info:
        _fit(est, name, make_X(), make_y(name))
    _check_clean_error(info.value, pattern)


@pytest.mark.parametrize("case", OK_CASES)
@pytest.mark.parametrize("name", FACTORIES)
def test_odd_but_valid_input_gives_a_finite_result(name, case):
    make_X, make_y = OK_CASES[case]
    est = FACTORIES[name]()
    X = make_X()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = _fit(est, name, X, make_y(name))
        except (ValueError, TypeError) as exc:  # allowed only with a clear message
            _check_clean_error(exc, r"(?i)large|non-finite|overflow|sparse|float")
            return
    out = out.toarray() if sp.issparse(out) else np.asarray(out)
    if out.dtype.kind in "fc":
        assert np.isfinite(out).all()


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor", "DistilledClassifier",
                                  "DistilledRegressor", "MinMaxScaler"])
def test_wrong_number_of_features_at_predict(name):
    est = FACTORIES[name]()
    est.fit(X_GOOD, _y(name))
    method = est.transform if name == "MinMaxScaler" else est.predict
    with pytest.raises(ValueError, match="features"):
        method(X_GOOD[:, :2])


@pytest.mark.parametrize("name", FACTORIES)
def test_one_row(name):
    est = FACTORIES[name]()
    y = _y(name)[:1]
    try:
        out = _fit(est, name, X_GOOD[:1], y)
    except (ValueError, TypeError) as exc:
        _check_clean_error(exc, r"class|sample|rows|neighbors|n_samples|at least")
        return
    assert np.isfinite(np.asarray(out, dtype=float)).all()


def test_one_class_fits_and_predicts_it_as_sklearn_does():
    clf = FACTORIES["MLPClassifier"]().fit(X_GOOD, np.full(30, 3))
    assert (clf.predict(X_GOOD) == 3).all()


def test_one_class_is_refused_by_the_distiller():
    with pytest.raises(ValueError, match="class"):
        FACTORIES["DistilledClassifier"]().fit(X_GOOD, np.zeros(30))


def test_unseen_labels_in_partial_fit():
    clf = _mlp().partial_fit(X_GOOD, Y_CLS, classes=[0, 1])
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_GOOD, np.full(30, 7))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    X=st.integers(0, 6).flatmap(lambda n: st.integers(0, 3).flatmap(
        lambda d: arrays(np.float64, (n, d), elements=st.one_of(
            st.floats(-1e30, 1e30), st.sampled_from([np.nan, np.inf, -np.inf, 0.0]))))),
    dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int64]),
    kind=st.sampled_from(["MLPClassifier", "MLPRegressor", "MinMaxScaler"]),
)
def test_property_any_shape_dtype_and_value(X, dtype, kind):
    with np.errstate(all="ignore"):
        if dtype is np.int64:
            X = np.clip(np.nan_to_num(X), -1e9, 1e9)
        X = X.astype(dtype)
    y = (np.arange(len(X)) % 2) if kind == "MLPClassifier" else np.arange(len(X), dtype=float)
    est = FACTORIES[kind]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = _fit(est, kind, X, y)
        except (ValueError, TypeError) as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1].filename
            assert "/torch/" not in last and "/skorch/" not in last, repr(exc)
            assert str(exc)
            return
    out = np.asarray(out, dtype=float)
    if kind == "MinMaxScaler":  # NaN is "missing" for sklearn's scalers: kept as NaN
        out = out[~np.isnan(X.astype(float))]
    assert np.isfinite(out).all()
