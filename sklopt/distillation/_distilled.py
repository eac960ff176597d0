"""DistilledClassifier and DistilledRegressor: a teacher's knowledge in a small MLP.

One ``fit``:

1. the teacher (one estimator, or a list whose predictions are averaged) is fitted on
   all rows, and its out-of-fold predictions of every row are computed (``cv``);
2. a share of the real rows is held out (``validation_fraction``): the student never
   trains on them; they drive its early stopping (on the distillation loss), its
   calibration and the reported scores;
3. a transfer set is made from the remaining real rows (MUNGE by default) and labelled
   by the teacher;
4. the student trains on the real rows (a blend of the teacher's soft targets and the
   labels) and the transfer rows (soft targets alone) through the MLPs' custom-loss
   hook (the losses are in ``_loss.py``); the same student trained on the labels alone
   on the same rows is the reference the teacher is judged against;
5. a single temperature is fitted on the held-out rows to calibrate the student's
   probabilities and folded into its output layer.

Small batches are predicted by a numpy forward pass of the student (``_fast.py``).
"""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..neural_network import MLPClassifier, MLPRegressor
from ..preprocessing import Munge
from ..utils._doc_link import DocLinkMixin
from . import _fast
from ._loss import distillation_loss

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
CHI2_1_95 = 3.841  # 95% quantile of chi-square with 1 degree of freedom


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
    mlp._fit_with_loss(Xt, y, loss, extra, sample_weight=sample_weight,
                       validation=validation, stop_on=stop_on)


class _BaseDistilled(DocLinkMixin, MetaEstimatorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared fitting of :class:`DistilledClassifier` and :class:`DistilledRegressor`.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "teacher": [HasMethods(["fit"]), list],
        "student": [HasMethods(["fit", "predict"]), None],
        "soft_weight": [Interval(Real, 0, 1, closed="both")],
        "fit_teacher": ["boolean"],
        "cv": ["cv_object"],
        "transfer": [StrOptions({"munge"}), HasMethods(["fit_resample"]), None],
        "n_transfer": [Interval(Integral, 1, None, closed="left")],
        "max_transfer": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ subclass hooks
    _mlp_class = None  # the sklopt MLP a student trains through
    _voting_class = None  # how a list of teachers is averaged
    _teacher_method = None  # the teacher's method giving its output

    @abstractmethod
    def _check_target(self, y):
        """Validate ``y``, set target attributes, return it as an array."""

    @abstractmethod
    def _check_teacher(self, teacher, fitted=False):
        """Raise a clear error when ``teacher`` (a member of a list: unfitted, or
        fitted) cannot teach this task."""

    @abstractmethod
    def _check_fitted_teacher(self, teacher):
        """Raise a clear error when the fitted ``teacher`` does not fit ``y``."""

    @abstractmethod
    def _encode(self, prediction):
        """What the student learns from (log-probabilities, or predictions) given the
        teacher's ``predict_proba`` or ``predict``."""

    @abstractmethod
    def _decode_teacher(self, teacher_out):
        """Inverse of :meth:`_encode`: what :meth:`_score` takes."""

    def _teacher_output(self, teacher, X):
        return self._encode(getattr(teacher, self._teacher_method)(X))

    @abstractmethod
    def _fold_output(self, teacher, X):
        """:meth:`_teacher_output` of a teacher fitted on a fold."""

    @abstractmethod
    def _folds(self, y, n_splits, seed):
        """The splitter of ``cv=<int>``, or None when ``y`` is too small for folds."""

    @abstractmethod
    def _stratify(self, y):
        """Labels to stratify the held-out split on (None: no stratification), or
        False when ``y`` cannot be split."""

    @abstractmethod
    def _fit_student(self, student, X, y, teacher_out, sample_weight, transfer,
                     validation, soft_weight):
        """Fit and return ``student``; ``transfer`` is ``(X, teacher_out, weights)`` or
        None, ``validation`` is ``(X, y, teacher_out, weights)`` or None."""

    @abstractmethod
    def _score(self, y, output, sample_weight):
        """Score (greater is better) of a teacher output or student prediction."""

    @abstractmethod
    def _student_output(self, student, X):
        """The student's output scored by :meth:`_score`."""

    @abstractmethod
    def _agreement(self, y_teacher, y_student):
        """Fidelity of the student's predictions to the teacher's."""

    @abstractmethod
    def _default_student(self):
        """The student used when ``student=None``."""

    def _after_student(self, validation):
        """Post-process the fitted student on the held-out rows (calibration); called
        with None when nothing was held out."""

    # ------------------------------------------------------------------ teacher
    def _teachers(self):
        return list(self.teacher) if isinstance(self.teacher, list) else [self.teacher]

    def _voting(self, members):
        kwargs = {"voting": "soft"} if self._voting_class is VotingClassifier else {}
        return self._voting_class(
            [(f"teacher{i}", t) for i, t in enumerate(members)], **kwargs)

    def _fit_the_teacher(self, X, y, sample_weight, rng):
        """Set ``teacher_``; return the unfitted estimator that out-of-fold
        predictions refit per fold."""
        teachers = self._teachers()
        if not teachers:
            raise ValueError("teacher is an empty list; pass at least one estimator.")
        unfrozen = [t.estimator if isinstance(t, FrozenEstimator) else t for t in teachers]
        for t in unfrozen:
            self._check_teacher(t)
        base = unfrozen[0] if len(unfrozen) == 1 else self._voting(unfrozen)
        if self.fit_teacher:
            single = teachers[0] if len(teachers) == 1 else self._voting(teachers)
            teacher = _seed_unset(clone(single), rng)
            self.teacher_ = teacher.fit(X, y, **_fit_params(sample_weight, teacher))
        else:
            for t in teachers:
                try:
                    check_is_fitted(t)
                except NotFittedError as exc:
                    raise ValueError(
                        f"fit_teacher=False, but the teacher {type(t).__name__} is not "
                        "fitted. Fit it first, or pass fit_teacher=True."
                    ) from exc
            if len(teachers) == 1:
                self.teacher_ = teachers[0]
            else:
                # The fitted teachers, averaged; FrozenEstimator keeps them unrefitted.
                self.teacher_ = self._voting(
                    [t if isinstance(t, FrozenEstimator) else FrozenEstimator(t)
                     for t in teachers]).fit(X, y)
        self._check_fitted_teacher(self.teacher_)
        return base

    def _resolve_cv(self, y, seed):
        if self.cv is None:
            return None
        if isinstance(self.cv, Integral):
            return self._folds(y, int(self.cv), seed)
        return self.cv

    def _out_of_fold(self, base, X, y, sample_weight, cv):
        """The teacher's output of every row by a clone of ``base`` fitted on the other
        folds (as :func:`~sklearn.model_selection.cross_val_predict`, which refuses
        some unfitted meta-estimators, e.g. a ``StackingClassifier`` whose
        ``predict_proba`` only exists once fitted)."""
        cv = check_cv(cv, y, classifier=is_classifier(self))
        out, seen = None, np.zeros(len(y), dtype=int)
        for train, test in cv.split(X, y):
            teacher = clone(base).fit(_safe_indexing(X, train), y[train],
                                      **_fit_params(_take(sample_weight, train), base))
            fold = self._fold_output(teacher, _safe_indexing(X, test))
            if out is None:
                out = np.empty((len(y), *fold.shape[1:]))
            out[test] = fold
            seen[test] += 1
        if out is None or not np.all(seen == 1):
            raise ValueError("cv must put every row in exactly one test fold (a "
                             "partition, as KFold does) for out-of-fold targets.")
        return out

    # ------------------------------------------------------------------ splits
    def _holdout(self, y, sample_weight, seed):
        """``(train, validation)`` row indices; validation is None when nothing is
        held out (``validation_fraction=None`` or too few rows)."""
        n = len(y)
        everything = (np.arange(n), None)
        if self.validation_fraction is None:
            return everything
        n_val = int(np.floor(self.validation_fraction * n))
        stratify = self._stratify(y)
        n_groups = 1 if stratify is None or stratify is False else len(np.unique(stratify))
        if stratify is False or n_val < max(MIN_HOLDOUT, n_groups) or n - n_val < n_groups:
            return everything
        train, val = train_test_split(np.arange(n), test_size=n_val, stratify=stratify,
                                      random_state=seed)
        if sample_weight is not None and not (sample_weight[val].sum() > 0
                                              and sample_weight[train].sum() > 0):
            return everything
        return np.sort(train), np.sort(val)

    def _transfer_set(self, X, y, sample_weight, seed):
        """``(X_synthetic, weights)`` made from the real training rows, or None."""
        if self.transfer is None or self.soft_weight == 0:
            return None
        augmenter = Munge() if isinstance(self.transfer, str) else clone(self.transfer)
        params = augmenter.get_params()
        if "n_copies" in params:
            augmenter.set_params(n_copies=self.n_transfer)
        augmenter = _seed_unset(augmenter, np.random.RandomState(seed))
        n = _num_samples(X)
        if isinstance(augmenter, Munge):
            X_syn, _, w_syn = augmenter._synthesize(X, sample_weight)
        else:
            X_res, _ = augmenter.fit_resample(X, y)
            X_syn = _safe_indexing(X_res, np.arange(n, _num_samples(X_res)))
            w_syn = np.ones(_num_samples(X_syn))
        m = _num_samples(X_syn)
        if m == 0:
            return None
        if m > self.max_transfer:
            keep = np.sort(np.random.RandomState(seed).choice(m, self.max_transfer,
                                                              replace=False))
            X_syn, w_syn = _safe_indexing(X_syn, keep), w_syn[keep]
        if hasattr(X, "iloc") and not hasattr(X_syn, "iloc"):
            X_syn = _concat_rows(X.iloc[:0], X_syn)
        return X_syn, w_syn

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit (or take) the teacher, then train the student on its knowledge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, in the form the teacher and the student accept (a DataFrame
            works when both are pipelines that take one).
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to the teachers' and the student's ``fit`` and used
            in the held-out scores; a transfer row carries the weight of the row it
            was made from (MUNGE) or 1 (other augmenters).

        Returns
        -------
        self : object
            The fitted distiller.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        validate_data(self, X, skip_check_array=True, reset=True)
        # Rows are taken out of X (folds, held-out rows): a form that can be indexed.
        if sp.issparse(X):
            X = X.tocsr()
        elif not (hasattr(X, "iloc") or isinstance(X, (np.ndarray, list))
                  ) and hasattr(X, "__array__"):
            X = np.asarray(X)
        if _num_samples(X) == 0:
            raise ValueError("Found array with 0 sample(s); a minimum of 1 is required.")
        y = self._check_target(y)
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            check_consistent_length(X, sample_weight)
        rng = check_random_state(self.random_state)
        seeds = rng.randint(_SEED_MAX, size=3)

        # 1. The teacher, and what it says of every row, out of fold when it can.
        base = self._fit_the_teacher(X, y, sample_weight, rng)
        cv = self._resolve_cv(y, seeds[0])
        if cv is None:
            teacher_out = self._teacher_output(self.teacher_, X)
        else:
            teacher_out = self._out_of_fold(_seed_unset(clone(base), rng), X, y,
                                            sample_weight, cv)

        # 2. Held-out real rows.
        train, val = self._holdout(y, sample_weight, seeds[1])
        X_tr = _safe_indexing(X, train) if val is not None else X
        y_tr, out_tr, sw_tr = y[train], teacher_out[train], _take(sample_weight, train)
        validation = None
        if val is not None:
            validation = (_safe_indexing(X, val), y[val], teacher_out[val],
                          _take(sample_weight, val))

        # 3. The transfer set, from the training rows only, labelled by the teacher.
        transfer = self._transfer_set(X_tr, y_tr, sw_tr, seeds[2])
        self.transfer_size_ = 0
        if transfer is not None:
            X_syn, w_syn = transfer
            self.transfer_size_ = _num_samples(X_syn)
            transfer = (X_syn, self._teacher_output(self.teacher_, X_syn), w_syn)

        # 4. The student, and the same student on the labels alone.
        student = self._default_student() if self.student is None else self.student
        student = _seed_unset(clone(student), rng)
        alone = clone(student)
        self.student_ = self._fit_student(student, X_tr, y_tr, out_tr, sw_tr, transfer,
                                          validation, self.soft_weight)
        self.teacher_score_ = self.student_score_ = self.scratch_score_ = np.nan
        if validation is None:
            self._after_student(None)
        else:
            X_val, y_val, out_val, sw_val = validation
            alone = self._fit_student(alone, X_tr, y_tr, out_tr, sw_tr, None, validation,
                                      0.0)
            self.scratch_score_ = self._score(y_val, self._student_output(alone, X_val),
                                              sw_val)
            # 5. Calibration, then the scores.
            self._after_student(validation)
            self.teacher_score_ = self._score(y_val, self._decode_teacher(out_val),
                                              sw_val)
            self.student_score_ = self._score(
                y_val, self._student_output(self.student_, X_val), sw_val)
            if not self.teacher_score_ > self.scratch_score_:
                warnings.warn(
                    f"The teacher is not better than the student trained on the labels "
                    f"alone: on the {len(y_val)} held-out rows the teacher scores "
                    f"{self.teacher_score_:.4f} and the student alone "
                    f"{self.scratch_score_:.4f} ({self._score_name}, greater is better). "
                    "Distillation is unlikely to pay off; use a stronger teacher, or "
                    "the student alone.", TeacherNotBetterWarning, stacklevel=3)
        self.fidelity_ = float(self._agreement(self.teacher_.predict(X),
                                               self.student_.predict(X)))
        return self

    # ------------------------------------------------------------------ predicting
    def _check_X(self, X):
        check_is_fitted(self)
        if _is_2d(X):
            # Feature count and names; other shapes are refused by the student.
            validate_data(self, X, skip_check_array=True, reset=False)
        return X

    def _fast_output(self, X):
        """The student's outputs of a small float array by the numpy forward pass, or
        None when the input or the student needs the full path."""
        state = self.__dict__
        student = state.get("student_")
        if (student is None or type(X) is not np.ndarray or X.ndim != 2
                or not 0 < X.shape[0] <= _fast.FAST_ROWS or X.dtype.kind != "f"
                or "feature_names_in_" in state
                or X.shape[1] != state.get("n_features_in_")
                or type(student) is not self._mlp_class or not _fast.supports(student)
                or not np.isfinite(X).all()):
            return None
        return _fast.output(student, X)

    def predict(self, X):
        """Predict with the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The student's predictions.
        """
        out = self._fast_output(X)
        if out is not None:
            return self._decode(out)
        X = self._check_X(X)
        return self.student_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        student = self._default_student() if self.student is None else self.student
        student_tags = get_tags(student)
        tags.input_tags.sparse = student_tags.input_tags.sparse
        tags.input_tags.allow_nan = student_tags.input_tags.allow_nan and all(
            get_tags(t).input_tags.allow_nan for t in self._teachers())
        return tags


def _tempered(log_proba, temperature):
    """``softmax(log_proba / T)``: the tempered distribution. Log-probabilities are the
    logits up to a per-row constant, which softmax ignores; -inf (a probability of 0)
    stays 0."""
    z = np.asarray(log_proba, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_temperature(log_proba, y_index, sample_weight):
    """The temperature ``T >= 1`` minimising the (weighted) log loss of
    ``softmax(log_proba / T)`` against class indices ``y_index``; 1 unless the fit is
    significantly better: a likelihood-ratio test at the 5% level (twice the log-loss
    gain over the rows above the chi-square(1) quantile 3.84). The student was early
    stopped on the same rows, so on a few dozen rows a temperature would mostly fit
    their noise."""
    log_proba = np.maximum(log_proba, np.log(np.finfo(np.float64).tiny))
    rows = np.arange(len(y_index))
    w = np.ones(len(rows)) if sample_weight is None else np.asarray(sample_weight)
    n_eff = w.sum() ** 2 / (w**2).sum()  # Kish's effective number of rows

    def nll(log_t):
        z = log_proba / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        return float(np.average(lse - z[rows, y_index], weights=sample_weight))

    lo, hi = np.log(CALIBRATION_BOUNDS)
    result = minimize_scalar(nll, bounds=(lo, hi), method="bounded",
                             options={"xatol": 1e-4})
    if result.success and 2.0 * n_eff * (nll(0.0) - result.fun) > CHI2_1_95:
        return float(np.exp(result.x))
    return 1.0


class DistilledClassifier(ClassifierMixin, _BaseDistilled):
    r"""A small sklopt MLP trained to imitate a (large) teacher classifier.

    The teacher -- any classifier with ``predict_proba`` (gradient boosting, a random
    forest, a ``StackingClassifier``, CatBoost, a large sklopt MLP, a ``Pipeline``), or
    a list of them whose probabilities are averaged -- is fitted, and the student, an
    sklopt :class:`~sklopt.neural_network.MLPClassifier`, minimises the
    knowledge-distillation loss of Hinton et al. (2015), per row:

    .. math::

        L = w \, T^2 \, \mathrm{KL}(p_T \,\|\, q_T) + (1 - w) \, \mathrm{CE}(y, q)

    where :math:`p_T = \mathrm{softmax}(z_t / T)` are the teacher's probabilities at
    temperature :math:`T`, :math:`q_T` the student's, :math:`q = q_1` its ordinary
    probabilities, :math:`T` is ``temperature`` and :math:`w` is ``soft_weight`` on the
    real rows and 1 on the transfer rows (which have no true label). The teacher's
    logits :math:`z_t` are the logs of its ``predict_proba``.

    By default (see ``docs/distillation.md`` for the measurements behind them):

    * the student learns from the teacher's out-of-fold probabilities (``cv=5``), not
      from those of a teacher that has seen the row;
    * ``validation_fraction`` of the real rows are held out. The student never trains
      on them; its early stopping (when on) monitors the distillation loss on them and
      restores its best epoch; its probabilities are calibrated on them; and
      ``teacher_score_``, ``student_score_`` and ``scratch_score_`` are measured on
      them. Transfer rows never enter this set;
    * a transfer set of ``n_transfer`` MUNGE rows per training row
      (:class:`~sklopt.preprocessing.Munge`, Bucila et al. 2006) labelled by the
      teacher shows the student the teacher's function between the training rows;
    * a warning (:class:`TeacherNotBetterWarning`) says when the teacher scores no
      better on the held-out rows than the same student trained on the labels alone on
      the same rows (same initial weights, same early stopping), which is trained for
      that comparison -- a fraction of the distilled student's cost, since it sees no
      transfer rows.

    With fewer than 20 rows to hold out (200 rows at the default fraction) nothing is
    held out: the student trains on every row without early stopping and is not
    calibrated, and the scores are NaN. With ``cv=<int>`` the folds are stratified,
    shuffled and capped at the smallest class's count; below 2 the teacher's in-sample
    probabilities are used.

    Parameters
    ----------
    teacher : classifier with ``predict_proba``, or list of them
        The model whose knowledge is distilled. Cloned and fitted on ``(X, y)`` unless
        ``fit_teacher=False``. A list is averaged (a soft
        :class:`~sklearn.ensemble.VotingClassifier`).
    student : MLPClassifier or Pipeline ending in one, default=None
        The student, cloned before fitting; the steps before the MLP of a pipeline
        (e.g. a scaler) are fitted on the training rows as usual. None means
        ``MLPClassifier(hidden_layer_sizes=(32,), batch_size=512,
        learning_rate_init=0.003, early_stopping=True, early_stopping_on="loss",
        n_iter_no_change=20, max_iter=300)``. An integer ``batch_size`` larger than
        the rows a student trains on is clipped to them.
    temperature : float, default=1.0
        :math:`T`. Higher values soften the teacher's probabilities, so that the
        student learns more of how the teacher ranks the classes (1 measured best on
        tabular benchmarks, mostly binary).
    soft_weight : float, default=0.5
        :math:`w` on the real rows: the weight of the teacher's soft targets against
        the true labels. 0 ignores the teacher (no transfer set: the student trains on
        the labels alone, exactly as by itself); 1 learns the teacher alone.
    fit_teacher : bool, default=True
        Clone and fit the teacher(s). With False, the teacher(s) must already be fitted
        and are used as they are (not refitted); out-of-fold probabilities still refit
        clones per fold unless ``cv=None``. To keep a prefit teacher through ``clone``
        (e.g. in ``GridSearchCV``), wrap it in :class:`sklearn.frozen.FrozenEstimator`.
    cv : int, cross-validation generator, iterable or None, default=5
        The student learns from out-of-fold teacher probabilities
        (:func:`~sklearn.model_selection.cross_val_predict`), so that a teacher that
        memorised its training rows does not just hand their labels back. ``teacher_``
        is still fitted on all the rows and labels the transfer set. None uses
        ``teacher_``'s own probabilities of the training rows.
    transfer : "munge", augmenter with ``fit_resample``, or None, default="munge"
        Makes the transfer set from the training rows (not the held-out ones):
        ``"munge"`` is ``Munge()``; any augmenter of :mod:`sklopt.preprocessing` with
        ``fit_resample`` works (``SwapNoise(0.2)``, ``GaussianNoise(0.1)``). Its rows
        are labelled by ``teacher_``. None trains on the real rows only.
    n_transfer : int, default=8
        Size of the transfer set in multiples of the training rows (the augmenter's
        ``n_copies``).
    max_transfer : int, default=20000
        At most this many transfer rows (a random subset of them beyond it).
    validation_fraction : float or None, default=0.1
        Share of the real rows held out (stratified). None holds out nothing: no early
        stopping, calibration or scores.
    calibrate : bool, default=True
        Fit a single temperature ``T >= 1`` on the held-out rows that minimises the
        student's log loss there (temperature scaling), keep it when it lowers that log
        loss significantly (a likelihood-ratio test at 5%), and divide the student's
        output layer by it, so that ``student_`` (and ``predict_proba``) are calibrated
        by themselves.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds, the held-out split, the transfer set and every
        ``random_state`` of the teacher, student and augmenter that is None, so that
        an int makes the whole fit repeatable.

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher (a soft ``VotingClassifier`` of the fitted teachers for a
        list).
    student_ : MLPClassifier or Pipeline
        The fitted (and calibrated) student; it makes the predictions and can be saved
        and used alone (:func:`sklopt.io.save`).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    teacher_score_ : float
        Negative log loss (greater is better) of the teacher's probabilities of the
        held-out rows: out of fold with ``cv`` (an honest estimate), else in sample.
        NaN when nothing was held out.
    student_score_ : float
        Negative log loss of the (calibrated) student on the held-out rows. Its early
        stopping and calibration were chosen on these rows, so it is slightly
        optimistic.
    scratch_score_ : float
        Negative log loss on the held-out rows of the same student trained on the
        labels alone (same rows, initial weights and early stopping, not calibrated).
    calibration_temperature_ : float
        The temperature the student's output layer was divided by (1.0: none).
    transfer_size_ : int
        Number of transfer rows the student trained on.
    fidelity_ : float
        Fraction of training rows on which student and teacher predict the same class.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    DistilledRegressor : The regressor twin.
    sklopt.preprocessing.Munge : The transfer-set generator.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the knowledge in a neural network, 2015.
    C. Bucila, R. Caruana, A. Niculescu-Mizil. Model compression. KDD 2006.
    C. Guo, G. Pleiss, Y. Sun, K. Weinberger. On calibration of modern neural
    networks. ICML 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklopt.distillation import DistilledClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = DistilledClassifier(HistGradientBoostingClassifier(max_iter=50),
    ...                           random_state=0).fit(X, y)
    >>> clf.fidelity_ > 0.9
    True
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """

    _parameter_constraints: dict = {
        **_BaseDistilled._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "calibrate": ["boolean"],
    }
    _mlp_class = MLPClassifier
    _voting_class = VotingClassifier
    _teacher_method = "predict_proba"
    _score_name = "negative log loss"

    def __init__(self, teacher, student=None, *, temperature=1.0, soft_weight=0.5,
                 fit_teacher=True, cv=5, transfer="munge", n_transfer=8,
                 max_transfer=20000, validation_fraction=0.1, calibrate=True,
                 random_state=None):
        self.teacher = teacher
        self.student = student
        self.temperature = temperature
        self.soft_weight = soft_weight
        self.fit_teacher = fit_teacher
        self.cv = cv
        self.transfer = transfer
        self.n_transfer = n_transfer
        self.max_transfer = max_transfer
        self.validation_fraction = validation_fraction
        self.calibrate = calibrate
        self.random_state = random_state

    def _default_student(self):
        return MLPClassifier(**DEFAULT_STUDENT)

    def _check_target(self, y):
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(
                "DistilledClassifier supports binary and multiclass targets; got "
                f"{type_of_target(y)!r}."
            )
        y = column_or_1d(y, warn=True)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                "DistilledClassifier needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {self.classes_[0]!r}."
            )
        return y

    def _check_teacher(self, teacher, fitted=False):
        # Unfitted meta-estimators (a StackingClassifier) may only expose predict_proba
        # once fitted: before fitting, the class having it is enough.
        if not (hasattr(teacher, "predict_proba")
                or not fitted and hasattr(type(teacher), "predict_proba")):
            raise TypeError(
                f"The teacher {type(teacher).__name__} has no predict_proba; distillation "
                "needs the teacher's probabilities (for SVC, pass probability=True)."
            )
        if not is_classifier(teacher):
            raise TypeError(f"The teacher must be a classifier; got {teacher!r}.")

    def _check_fitted_teacher(self, teacher):
        members = [teacher]
        if isinstance(teacher, VotingClassifier):
            members = [m.estimator if isinstance(m, FrozenEstimator) else m
                       for m in teacher.estimators_]
        for member in members:
            self._check_teacher(member, fitted=True)
        if not np.array_equal(np.asarray(teacher.classes_), self.classes_):
            raise ValueError(
                f"The teacher was fitted on the classes {list(teacher.classes_)}, but y "
                f"has the classes {list(self.classes_)}; they must be the same."
            )

    def _encode(self, proba):
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(proba, dtype=np.float64))

    def _decode_teacher(self, log_proba):
        return np.exp(log_proba)

    def _fold_output(self, teacher, X):
        # A fold's teacher may have seen fewer classes: its columns go where they
        # belong, the classes it never saw get probability 0.
        proba = np.zeros((_num_samples(X), len(self.classes_)))
        proba[:, np.searchsorted(self.classes_, teacher.classes_)] = teacher.predict_proba(X)
        return self._encode(proba)

    def _folds(self, y, n_splits, seed):
        n_splits = min(n_splits, int(np.bincount(np.unique(y, return_inverse=True)[1]
                                                 .ravel()).min()))
        if n_splits < 2:
            return None
        return StratifiedKFold(n_splits, shuffle=True, random_state=seed)

    def _stratify(self, y):
        counts = np.unique(y, return_counts=True)[1]
        return y if counts.min() >= 2 else False

    def _fit_student(self, student, X, y, teacher_out, sample_weight, transfer,
                     validation, soft_weight):
        prefix, mlp = _split_student(student, MLPClassifier)
        if mlp is None:
            raise TypeError(
                "The student must be an sklopt MLPClassifier, or a Pipeline ending in "
                "one (it trains on the distillation loss); got "
                f"{type(student).__name__}.")
        n = _num_samples(X)
        loss = extra = extra_val = None
        y_all, sw_all, X_all = y, sample_weight, X
        if soft_weight > 0:
            T = self.temperature
            soft, row_w = teacher_out, np.full(n, float(soft_weight))
            if transfer is not None:
                X_syn, out_syn, w_syn = transfer
                X_all = _concat_rows(X, X_syn)
                # A transfer row's hard label is the teacher's class; its soft weight
                # is 1, so the label never counts.
                y_all = np.concatenate([y, self.classes_[np.argmax(out_syn, axis=1)]])
                soft = np.concatenate([teacher_out, out_syn])
                row_w = np.concatenate([row_w, np.ones(len(out_syn))])
                sw_all = _cat(sample_weight, n, w_syn, len(out_syn))
            extra = self._soft_columns(soft, row_w)
            if validation is not None:
                out_val = validation[2]
                extra_val = self._soft_columns(out_val, np.full(len(out_val),
                                                                float(soft_weight)))
            loss = distillation_loss(T)
        Xt = prefix.fit_transform(X_all, y_all) if prefix is not None else X_all
        held_out = None if validation is None else (
            validation[0], validation[1], extra_val, validation[3])
        _fit_mlp_student(mlp, prefix, Xt, y_all, loss, extra, sw_all, held_out)
        return student

    def _soft_columns(self, log_proba, row_weight):
        soft = _tempered(log_proba, self.temperature)
        if soft.shape[1] == 2:
            soft = soft[:, 1:]  # a binary MLP has one logistic output
        return np.hstack([soft, row_weight[:, None]])

    def _after_student(self, validation):
        self.calibration_temperature_ = 1.0
        if validation is None or not self.calibrate:
            return
        X_val, y_val, _, sw_val = validation
        proba = self.student_.predict_proba(X_val)
        with np.errstate(divide="ignore"):
            log_proba = np.log(proba)
        T = _fit_temperature(log_proba, np.searchsorted(self.classes_, y_val), sw_val)
        if T != 1.0:
            mlp = _split_student(self.student_, MLPClassifier)[1]
            # softmax(z / T) = the output layer's weights and bias divided by T.
            mlp.coefs_ = [*mlp.coefs_[:-1], mlp.coefs_[-1] / T]
            mlp.intercepts_ = [*mlp.intercepts_[:-1], mlp.intercepts_[-1] / T]
        self.calibration_temperature_ = T

    def _score(self, y, proba, sample_weight):
        return -log_loss(y, proba, labels=self.classes_, sample_weight=sample_weight)

    def _student_output(self, student, X):
        return student.predict_proba(X)

    def _agreement(self, y_teacher, y_student):
        return np.mean(np.asarray(y_teacher) == np.asarray(y_student))

    def _decode(self, out):
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] > 0.5).astype(np.intp)]
        return self.classes_[np.argmax(out, axis=1)]

    def predict_proba(self, X):
        """Class probabilities of the (calibrated) student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        out = self._fast_output(X)
        if out is not None:
            return np.hstack([1.0 - out, out]) if out.shape[1] == 1 else out
        X = self._check_X(X)
        return self.student_.predict_proba(X)

    def predict_log_proba(self, X):
        """Log class probabilities of the (calibrated) student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))


class DistilledRegressor(RegressorMixin, _BaseDistilled):
    r"""A small (MLP) regressor trained to imitate a (large) teacher regressor.

    The student fits, on the real rows, the blend

    .. math::

        t = w \, \hat y_{\mathrm{teacher}} + (1 - w) \, y

    (the same minimiser as :math:`w (f - \hat y_{\mathrm{teacher}})^2 + (1 - w)
    (f - y)^2`: the squared-error form of distillation) and, on the transfer rows, the
    teacher's prediction. There is no temperature in regression. The defaults follow
    :class:`DistilledClassifier`: out-of-fold teacher predictions, held-out real rows
    (for an sklopt MLP student's early stopping, on the squared error to the blend, and
    for the scores), a MUNGE transfer set, and a warning when the teacher is not better
    than the student trained alone.

    Parameters
    ----------
    teacher : regressor, or list of regressors
        The model whose knowledge is distilled. Cloned and fitted on ``(X, y)`` unless
        ``fit_teacher=False``. A list is averaged (a
        :class:`~sklearn.ensemble.VotingRegressor`).
    student : regressor, default=None
        The student (any regressor; an sklopt
        :class:`~sklopt.neural_network.MLPRegressor`, or a Pipeline ending in one, gets
        early stopping on the held-out rows). None means
        ``MLPRegressor(hidden_layer_sizes=(32,), batch_size=512,
        learning_rate_init=0.003, early_stopping=True, early_stopping_on="loss",
        n_iter_no_change=20, max_iter=300)``.
    soft_weight : float, default=0.5
        :math:`w`: the weight of the teacher's predictions in the student's target on
        the real rows. 0 ignores the teacher (no transfer set).
    fit_teacher : bool, default=True
        Clone and fit the teacher(s); with False they must already be fitted and are
        used as they are.
    cv : int, cross-validation generator, iterable or None, default=5
        Use out-of-fold teacher predictions (shuffled folds, at most one per row).
    transfer : "munge", augmenter with ``fit_resample``, or None, default="munge"
        Makes a transfer set from the training rows, whose targets are the teacher's
        predictions alone.
    n_transfer : int, default=8
        Size of the transfer set in multiples of the training rows.
    max_transfer : int, default=20000
        At most this many transfer rows.
    validation_fraction : float or None, default=0.1
        Share of the real rows held out (at least 20 rows, else none). None holds out
        nothing.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds, split, transfer set and every unset ``random_state``.

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher (a ``VotingRegressor`` for a list).
    student_ : estimator
        The fitted student; it makes the predictions.
    teacher_score_ : float
        :math:`R^2` of the teacher's predictions of the held-out rows (out of fold
        with ``cv``); NaN when nothing was held out.
    student_score_ : float
        :math:`R^2` of the student on the held-out rows.
    scratch_score_ : float
        :math:`R^2` on the held-out rows of the same student trained on the targets
        alone.
    transfer_size_ : int
        Number of transfer rows the student trained on.
    fidelity_ : float
        :math:`R^2` of the student's predictions against the teacher's on the training
        rows.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    DistilledClassifier : The classifier twin, with a temperature.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklopt.distillation import DistilledRegressor
    >>> from sklopt.neural_network import MLPRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=5, random_state=0)
    >>> reg = DistilledRegressor(
    ...     RandomForestRegressor(n_estimators=50, random_state=0),
    ...     MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
    ...                  device="cpu"),
    ...     random_state=0,
    ... ).fit(X, y / 100)
    >>> reg.fidelity_ > 0.8
    True
    """

    _mlp_class = MLPRegressor
    _voting_class = VotingRegressor
    _teacher_method = "predict"
    _score_name = "R^2"

    def __init__(self, teacher, student=None, *, soft_weight=0.5, fit_teacher=True,
                 cv=5, transfer="munge", n_transfer=8, max_transfer=20000,
                 validation_fraction=0.1, random_state=None):
        self.teacher = teacher
        self.student = student
        self.soft_weight = soft_weight
        self.fit_teacher = fit_teacher
        self.cv = cv
        self.transfer = transfer
        self.n_transfer = n_transfer
        self.max_transfer = max_transfer
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _default_student(self):
        return MLPRegressor(**DEFAULT_STUDENT)

    def _check_target(self, y):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.dtype.kind not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"DistilledRegressor needs a numeric target; got dtype {y.dtype}."
                ) from exc
        return y

    def _check_teacher(self, teacher, fitted=False):
        if not is_regressor(teacher):
            raise TypeError(f"The teacher must be a regressor; got {teacher!r}.")

    def _check_fitted_teacher(self, teacher):
        self._check_teacher(teacher)

    def _encode(self, prediction):
        return np.asarray(prediction, dtype=np.float64)

    def _decode_teacher(self, prediction):
        return prediction

    def _fold_output(self, teacher, X):
        return self._teacher_output(teacher, X)

    def _folds(self, y, n_splits, seed):
        n_splits = min(n_splits, len(y))
        if n_splits < 2:
            return None
        return KFold(n_splits, shuffle=True, random_state=seed)

    def _stratify(self, y):
        return None

    def _fit_student(self, student, X, y, teacher_out, sample_weight, transfer,
                     validation, soft_weight):
        w = float(soft_weight)
        n = _num_samples(X)
        target = w * teacher_out + (1.0 - w) * np.asarray(y, dtype=np.float64)
        X_all, sw_all = X, sample_weight
        if transfer is not None and w > 0:
            X_syn, out_syn, w_syn = transfer
            X_all = _concat_rows(X, X_syn)
            target = np.concatenate([target, out_syn])
            sw_all = _cat(sample_weight, n, w_syn, len(out_syn))
        prefix, mlp = _split_student(student, MLPRegressor)
        if mlp is None:
            return student.fit(X_all, target, **_fit_params(sw_all, student))
        Xt = prefix.fit_transform(X_all, target) if prefix is not None else X_all
        held_out = None
        if validation is not None:
            X_val, y_val, out_val, sw_val = validation
            target_val = w * out_val + (1.0 - w) * np.asarray(y_val, dtype=np.float64)
            held_out = (X_val, target_val, None, sw_val)
        _fit_mlp_student(mlp, prefix, Xt, target, None, None, sw_all, held_out)
        return student

    def _score(self, y, prediction, sample_weight):
        return r2_score(y, prediction, sample_weight=sample_weight)

    def _student_output(self, student, X):
        return student.predict(X)

    def _agreement(self, y_teacher, y_student):
        return r2_score(y_teacher, y_student)

    def _decode(self, out):
        return out.ravel() if out.shape[1] == 1 else out
