"""_BaseDistilled: the one ``fit`` of both distillers (see ``__init__``'s steps)."""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import check_cv
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import (
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ..preprocessing import Munge
from ..utils._doc_link import DocLinkMixin
from ._common import (_SEED_MAX, MIN_HOLDOUT, TeacherNotBetterWarning, _seed_unset,
                      _concat_rows, _is_2d, _fit_params, _take)


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
        # Imported here: sklopt.model_selection imports the distillers.
        from ..model_selection._search import fit_ahead
        from ..neural_network._batched import serving

        cv = check_cv(cv, y, classifier=is_classifier(self))
        splits = list(cv.split(X, y))
        # An sklopt network (or a Pipeline ending in one) trains its folds together,
        # in one batched pass; the fits below then take those results.
        fitted = fit_ahead([(base, _safe_indexing(X, train), y[train],
                             _take(sample_weight, train)) for train, _ in splits])
        out, seen = None, np.zeros(len(y), dtype=int)
        with serving(fitted):
            for train, test in splits:
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
        """The student's outputs of a small float array by the network's numpy
        forward pass (the student's own small-batch path, without a second input
        check), or None when the input or the student needs the full path."""
        state = self.__dict__
        student = state.get("student_")
        if (student is None or type(X) is not np.ndarray or X.ndim != 2
                or X.dtype.kind != "f" or "feature_names_in_" in state
                or X.shape[1] != state.get("n_features_in_")
                or type(student) is not self._mlp_class or not np.isfinite(X).all()):
            return None
        return student._small_batch_output(X)

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
