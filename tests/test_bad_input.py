"""Bad input, everywhere: every public estimator, transformer and sampler gives a correct
result or a ValueError / TypeError naming the problem -- never a raw torch or skorch
error. Bad parameters get scikit-learn's InvalidParameterError naming the parameter.

"Every public estimator" is derived from the subpackages' ``__all__``
(tests/public_api.py): a new one fails here until FACTORIES can build it."""

import re
import traceback
import warnings
from numbers import Integral, Real

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from public_api import (
    FACTORIES,
    PUBLIC_ESTIMATORS,
    is_regressor,
    make,
    small_mlp,
    trains_inside_a_network,
)
from sklearn.base import clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)

rng = np.random.RandomState(0)
X_GOOD = rng.normal(size=(30, 3))
Y_CLS = np.array([0, 1] * 15)
Y_REG = X_GOOD[:, 0]


def _y(name):
    return Y_REG if is_regressor(name) else Y_CLS


def _is_transformer(est):
    return hasattr(est, "transform") and not hasattr(est, "predict")


def _fit(est, name, X, y):
    """fit, fit_resample or fit_transform (a label-mixing augmenter: training an MLP
    with it); returns outputs that must be finite."""
    if trains_inside_a_network(est):
        est = small_mlp(augment=est)
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
# Input that some estimators take as valid, by their tags: NaN is "missing" where
# allow_nan is set (a result is required); strings are categories where the string tag
# is set -- in a DataFrame's columns: an array of strings may still be refused, with a
# clear error.
VALID_WHEN_TAGGED = {
    "nan": ("allow_nan", False),
    "strings": ("string", True),
    "object column of strings": ("string", True),
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


def _check_finite_output(out, nan_in=False):
    """Finite outputs; with ``nan_in``, NaN ("missing", passed through by sklearn's
    scalers and the samplers) is allowed, infinity is not."""
    out = out.toarray() if sp.issparse(out) else np.asarray(out)
    if out.dtype.kind in "fc":
        assert not np.isinf(out).any()
        if not nan_in:
            assert np.isfinite(out).all()


def test_every_public_estimator_has_a_factory():
    missing = sorted(set(PUBLIC_ESTIMATORS) - set(FACTORIES))
    assert not missing, (
        f"public estimators with no factory in tests/public_api.py: {missing}; the "
        "bad-input, bad-parameter and save/load tests cannot cover them.")
    # And the derived list is not empty by accident (a broken __all__ walk).
    for name in ("MLPClassifier", "TabularMLPRegressor", "TabularPreprocessor",
                 "SmoothClipScaler", "Mixup", "CutMix", "Munge", "DistilledClassifier"):
        assert name in PUBLIC_ESTIMATORS


@pytest.mark.parametrize("case", FIT_CASES)
@pytest.mark.parametrize("name", PUBLIC_ESTIMATORS)
def test_bad_fit_input_gets_a_clear_error(name, case):
    make_X, make_y, pattern = FIT_CASES[case]
    est = make(name)
    if _is_transformer(est) and case == "y of the wrong length":
        pytest.skip("a transformer ignores y")
    tag, may_refuse = VALID_WHEN_TAGGED.get(case, (None, False))
    if tag is not None and getattr(get_tags(est).input_tags, tag):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = _fit(est, name, make_X(), make_y(name))
            except (ValueError, TypeError) as exc:
                if not may_refuse:
                    raise
                _check_clean_error(exc, pattern)
                return
        _check_finite_output(out, nan_in=case == "nan")
        return
    with pytest.raises((ValueError, TypeError)) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _fit(est, name, make_X(), make_y(name))
    _check_clean_error(info.value, pattern)


@pytest.mark.parametrize("case", OK_CASES)
@pytest.mark.parametrize("name", PUBLIC_ESTIMATORS)
def test_odd_but_valid_input_gives_a_finite_result(name, case):
    make_X, make_y = OK_CASES[case]
    est = make(name)
    X = make_X()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = _fit(est, name, X, make_y(name))
        except (ValueError, TypeError) as exc:  # allowed only with a clear message
            _check_clean_error(exc, r"(?i)large|non-finite|overflow|sparse|float")
            return
    _check_finite_output(out)


PREDICTORS = [n for n in PUBLIC_ESTIMATORS
              if hasattr(FACTORIES[n](), "predict") or hasattr(FACTORIES[n](), "transform")]


@pytest.mark.parametrize("name", PREDICTORS)
def test_wrong_number_of_features_at_predict(name):
    est = make(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_GOOD, _y(name))
    method = est.transform if _is_transformer(est) else est.predict
    with pytest.raises(ValueError, match="features|columns"):
        method(X_GOOD[:, :2])


@pytest.mark.parametrize("name", PUBLIC_ESTIMATORS)
def test_one_row(name):
    est = make(name)
    y = _y(name)[:1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _fit(est, name, X_GOOD[:1], y)
    except (ValueError, TypeError) as exc:
        _check_clean_error(exc, r"class|sample|rows|neighbors|n_samples|at least")
        return
    assert np.isfinite(np.asarray(out, dtype=float)).all()


def test_one_class_fits_and_predicts_it_as_sklearn_does():
    clf = make("MLPClassifier").fit(X_GOOD, np.full(30, 3))
    assert (clf.predict(X_GOOD) == 3).all()


def test_one_class_is_refused_by_the_distiller():
    with pytest.raises(ValueError, match="class"):
        make("DistilledClassifier").fit(X_GOOD, np.zeros(30))


def test_unseen_labels_in_partial_fit():
    clf = small_mlp().partial_fit(X_GOOD, Y_CLS, classes=[0, 1])
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_GOOD, np.full(30, 7))


# ---------------------------------------------------------------- bad parameters
# sklearn's check_param_validation (sklearn/utils/estimator_checks.py) is not among
# the checks parametrize_with_checks runs (tests/test_estimator_checks.py), and it
# calls only fit, partial_fit, fit_transform and fit_predict. This does what it does
# with sklearn's own machinery (make_constraint, generate_invalid_param_val), over every
# public estimator, and also through fit_resample, partial_fit with its classes, and
# an augmenter's use inside training.

# Invalid values sklearn's generate_invalid_param_val cannot derive (type constraints,
# sklopt's own constraint objects), per parameter name.
EXTRA_INVALID = {
    "hidden_layer_sizes": [(0,), (4, -1), (4, 2.5)],
    "device": ["gpu", "cuda:x", ""],
    "precision": ["fp8"],
    "quantile_range": [(50, 10), (0, 101), (5,), ("a", "b")],
}

_FIT_METHODS = ("fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample")


def _training_calls(est, name):
    """``(label, call)`` for every way ``est`` takes training data."""
    X, y = X_GOOD, _y(name)
    calls = []
    for method in _FIT_METHODS:
        if not hasattr(est, method):
            continue  # (partial_fit is available only with some parameters)
        kwargs = {}
        if method == "partial_fit" and hasattr(est, "predict_proba"):
            kwargs = {"classes": np.unique(y)}  # a classifier's first call
        calls.append((method, lambda m=method, kw=kwargs: getattr(est, m)(X, y, **kw)))
    if hasattr(est, "bind"):  # an augmenter: inside an MLP's training
        calls.append(("MLPClassifier(augment=...).fit",
                      lambda: small_mlp(augment=est).fit(X, Y_CLS)))
    return calls


def _invalid_values(constraints, param):
    """``(description, value)`` pairs, each satisfying none of ``constraints``."""
    values = [("a value of no valid type", type("BadType", (), {})())]
    for constraint in constraints:
        try:
            values.append((f"outside {make_constraint(constraint)}",
                           generate_invalid_param_val(make_constraint(constraint))))
        except NotImplementedError:
            continue
    values += [(f"{v!r}", v) for v in EXTRA_INVALID.get(param, [])]
    return values


def _param_cases():
    for name in PUBLIC_ESTIMATORS:
        if name not in FACTORIES:
            yield pytest.param(name, None, id=name)  # fails in the test, naming it
            continue
        for param in sorted(FACTORIES[name]()._parameter_constraints):
            yield pytest.param(name, param, id=f"{name}-{param}")


@pytest.mark.parametrize("name", PUBLIC_ESTIMATORS)
def test_parameter_constraints_name_every_parameter(name):
    est = make(name)
    constraints = getattr(est, "_parameter_constraints", None)
    assert constraints is not None, f"{name} has no _parameter_constraints"
    assert set(constraints) == set(est.get_params(deep=False)), (
        set(constraints) ^ set(est.get_params(deep=False)))


@pytest.mark.parametrize(("name", "param"), list(_param_cases()))
def test_invalid_parameter_gets_invalid_parameter_error(name, param):
    proto = make(name)
    constraints = proto._parameter_constraints[param]
    if constraints == "no_validation":
        pytest.skip("not validated")
    # Mixing an interval of reals and an interval of integers must be avoided
    # (sklearn's rule: use RealNotInt).
    types = {c.type for c in map(make_constraint, constraints) if hasattr(c, "closed")}
    assert not {Integral, Real} <= types, f"{name}.{param}: use RealNotInt, not Real"
    match = rf"The '{param}' parameter of \w+ must be .* Got .* instead\."
    wrong = []
    for description, value in _invalid_values(constraints, param):
        est = clone(proto).set_params(**{param: value})
        for label, call in _training_calls(est, name):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    call()
                except InvalidParameterError as exc:
                    if not re.search(match, str(exc)):
                        wrong.append((description, label, f"message: {exc}"))
                    continue
                except Exception as exc:  # noqa: BLE001 - what we report
                    wrong.append((description, label,
                                  f"{type(exc).__name__}: {str(exc)[:200]}"))
                    continue
            wrong.append((description, label, "no error"))
    assert not wrong, f"{name}({param}=...) without an InvalidParameterError: {wrong}"


def test_tabular_mlp_precision_fp8_is_an_invalid_parameter():
    # Bug 5: a raw KeyError: 'fp8' from deep in fit.
    for name in ("TabularMLPClassifier", "TabularMLPRegressor"):
        est = make(name).set_params(precision="fp8")
        with pytest.raises(InvalidParameterError,
                           match=rf"'precision' parameter of {name} must be"):
            est.fit(X_GOOD, _y(name))


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
    est = make(kind)
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
