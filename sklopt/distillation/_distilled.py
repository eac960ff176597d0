"""DistilledClassifier and DistilledRegressor: a teacher's knowledge in a small MLP.

The classifier trains an sklopt MLP student on Hinton et al.'s (2015) loss through the
student's custom-loss hook (the losses are in ``_loss.py``); the
regressor fits any student to a blend of the teacher's predictions and the true targets.
Out-of-fold teacher targets come from :func:`sklearn.model_selection.cross_val_predict`
and the transfer set from an augmenter's ``fit_resample`` (Bucila et al. 2006).
"""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
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
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..neural_network import MLPClassifier, MLPRegressor
from ._loss import distillation_loss


def _seed_unset(estimator, rng):
    """Give every ``random_state`` parameter of ``estimator`` (nested ones too) that is
    None an integer drawn from ``rng``, so that the distiller's ``random_state`` makes
    the whole fit repeatable without overriding seeds the user chose."""
    if isinstance(estimator, FrozenEstimator):
        return estimator
    unset = {
        key: int(rng.randint(np.iinfo(np.int32).max))
        for key, value in sorted(estimator.get_params(deep=True).items())
        if key.split("__")[-1] == "random_state" and value is None
    }
    return estimator.set_params(**unset)


def _concat_rows(X, X_extra):
    """``X`` followed by the rows ``X_extra`` (a numpy array), keeping a DataFrame's
    columns so that the student sees the same feature names as at predict time."""
    if hasattr(X, "iloc"):
        import pandas as pd

        extra = pd.DataFrame(X_extra, columns=X.columns).astype(X.dtypes.to_dict())
        return pd.concat([X, extra], ignore_index=True)
    return np.concatenate([np.asarray(X), X_extra])


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


class _BaseDistilled(MetaEstimatorMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared fitting of :class:`DistilledClassifier` and :class:`DistilledRegressor`.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "teacher": [HasMethods(["fit", "predict"])],
        "student": [HasMethods(["fit", "predict"]), None],
        "soft_weight": [Interval(Real, 0, 1, closed="both")],
        "fit_teacher": ["boolean"],
        "cv": ["cv_object"],
        "transfer": [HasMethods(["fit_resample"]), None],
        "n_transfer": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _check_target(self, y):
        """Validate ``y``, set target attributes, return it as an array."""

    @abstractmethod
    def _check_teacher(self, teacher, fitted):
        """Raise a clear error when ``teacher`` cannot teach this task."""

    @abstractmethod
    def _teacher_output(self, teacher, X):
        """What the student learns from: log-probabilities or predictions."""

    @abstractmethod
    def _teacher_output_oof(self, teacher, X, y, sample_weight):
        """The same, out of fold (``cv``)."""

    @abstractmethod
    def _teacher_labels(self, teacher_out):
        """Hard labels of transfer rows from the teacher's output."""

    @abstractmethod
    def _fit_student(self, student, X, y, teacher_out, n_real, sample_weight):
        """Fit and return ``student`` on the teacher's output (first ``n_real`` rows
        are the real ones)."""

    @abstractmethod
    def _agreement(self, y_teacher, y_student):
        """Fidelity of the student's predictions to the teacher's."""

    @abstractmethod
    def _default_student(self):
        """The student used when ``student=None``."""

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
            Sample weights, passed to the teacher's and the student's ``fit``
            (transfer rows get weight 1).

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
        if _num_samples(X) == 0:
            raise ValueError("Found array with 0 sample(s); a minimum of 1 is required.")
        y = self._check_target(y)
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            check_consistent_length(X, sample_weight)
        rng = check_random_state(self.random_state)

        # The teacher.
        if self.fit_teacher:
            teacher = _seed_unset(clone(self.teacher), rng)
            self._check_teacher(teacher, fitted=False)
            self.teacher_ = teacher.fit(X, y, **_fit_params(sample_weight, teacher))
        else:
            try:
                check_is_fitted(self.teacher)
            except NotFittedError as exc:
                raise ValueError(
                    f"fit_teacher=False, but the teacher {type(self.teacher).__name__} is "
                    "not fitted. Fit it first, or pass fit_teacher=True."
                ) from exc
            self.teacher_ = self.teacher
        self._check_teacher(self.teacher_, fitted=True)

        # What the teacher says of the training rows: in fold, or out of fold.
        if self.cv is None:
            teacher_out = self._teacher_output(self.teacher_, X)
        else:
            base = self.teacher
            if isinstance(base, FrozenEstimator):
                base = base.estimator
            base = _seed_unset(clone(base), rng)
            teacher_out = self._teacher_output_oof(base, X, y, sample_weight)

        # The transfer set: augmented rows, labelled by the teacher only.
        n_real = _num_samples(X)
        X_all, y_all, sw_all = X, y, sample_weight
        if self.transfer is not None:
            augmenter = clone(self.transfer)
            if "n_copies" in augmenter.get_params():
                augmenter.set_params(n_copies=self.n_transfer)
            augmenter = _seed_unset(augmenter, rng)
            X_res, _ = augmenter.fit_resample(X, y)
            X_all = _concat_rows(X, np.asarray(X_res)[n_real:])
            X_extra = _safe_indexing(X_all, np.arange(n_real, _num_samples(X_all)))
            extra_out = self._teacher_output(self.teacher_, X_extra)
            teacher_out = np.concatenate([teacher_out, extra_out])
            y_all = np.concatenate([y, self._teacher_labels(extra_out)])
            if sample_weight is not None:
                sw_all = np.concatenate([sample_weight, np.ones(len(X_extra))])

        student = self._default_student() if self.student is None else self.student
        student = _seed_unset(clone(student), rng)
        self.student_ = self._fit_student(student, X_all, y_all, teacher_out, n_real,
                                          sw_all)
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
        X = self._check_X(X)
        return self.student_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        student = self._default_student() if self.student is None else self.student
        student_tags, teacher_tags = get_tags(student), get_tags(self.teacher)
        tags.input_tags.sparse = student_tags.input_tags.sparse
        tags.input_tags.allow_nan = (
            student_tags.input_tags.allow_nan and teacher_tags.input_tags.allow_nan
        )
        return tags


def _tempered(log_proba, temperature):
    """``softmax(log_proba / T)``: the tempered distribution. Log-probabilities are the
    logits up to a per-row constant, which softmax ignores; -inf (a probability of 0)
    stays 0."""
    z = np.asarray(log_proba, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class DistilledClassifier(ClassifierMixin, _BaseDistilled):
    r"""A small sklopt MLP trained to imitate a (large) teacher classifier.

    The teacher -- any classifier with ``predict_proba``: a large sklopt MLP, gradient
    boosting, a random forest, a ``Pipeline`` -- is fitted (or taken as fitted), and
    the student, an sklopt :class:`~sklopt.neural_network.MLPClassifier`, minimises
    the knowledge-distillation loss of Hinton et al. (2015):

    .. math::

        L = w \, T^2 \, \mathrm{KL}(p_T \,\|\, q_T) + (1 - w) \, \mathrm{CE}(y, q)

    where :math:`p_T = \mathrm{softmax}(z_t / T)` are the teacher's probabilities at
    temperature :math:`T`, :math:`q_T` the student's, :math:`q = q_1` its ordinary
    probabilities, :math:`w` is ``soft_weight`` and :math:`T` is ``temperature``. The
    :math:`T^2` factor keeps the soft term's gradients the same size as :math:`T`
    changes. The teacher's logits :math:`z_t` are the logs of its ``predict_proba``
    (logits up to a per-row constant that softmax ignores), so
    :math:`p_T \propto p^{1/T}` for any teacher.

    Parameters
    ----------
    teacher : classifier with ``predict_proba``
        The model whose knowledge is distilled. Cloned and fitted on ``(X, y)`` unless
        ``fit_teacher=False``.
    student : MLPClassifier or Pipeline ending in one, default=None
        The student, cloned before fitting; the steps before the MLP of a pipeline
        (e.g. a scaler) are fitted on the training rows as usual. None means
        ``MLPClassifier(hidden_layer_sizes=(32,))``.
    temperature : float, default=3.0
        :math:`T`. Higher values soften the teacher's probabilities, so that the
        student learns more of how the teacher ranks the wrong classes.
    soft_weight : float, default=0.7
        :math:`w`, the weight of the teacher's soft targets; ``1 - w`` weighs the true
        labels. 0 trains the student on the labels alone (plain cross-entropy); 1 on
        the teacher alone.
    fit_teacher : bool, default=True
        Clone and fit the teacher. With False, ``teacher`` must already be fitted and
        is used as it is (not refitted). To keep a prefit teacher through
        ``clone`` (e.g. in ``GridSearchCV``), wrap it in
        :class:`sklearn.frozen.FrozenEstimator`.
    cv : int, cross-validation generator, iterable or None, default=None
        When set, the student learns from out-of-fold teacher probabilities
        (:func:`~sklearn.model_selection.cross_val_predict`), so that a teacher that
        memorised its training rows does not just hand their labels back. ``teacher_``
        is still fitted on all the rows.
    transfer : augmenter with ``fit_resample`` or None, default=None
        Makes a transfer set (Bucila et al. 2006): ``n_transfer`` augmented copies of
        the training rows (e.g. ``SwapNoise(0.2)`` or ``GaussianNoise(0.1)`` of
        :mod:`sklopt.preprocessing`), labelled by ``teacher_`` (its probabilities, and
        its predicted class as the hard label), added to the student's training rows.
    n_transfer : int, default=1
        Size of the transfer set in multiples of the training set (the augmenter's
        ``n_copies``).
    random_state : int, RandomState instance or None, default=None
        Seeds every ``random_state`` of the teacher, student and transfer augmenter
        that is None, so that an int makes the whole fit repeatable.

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher.
    student_ : MLPClassifier or Pipeline
        The fitted student; it makes the predictions.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    fidelity_ : float
        Fraction of training rows on which student and teacher predict the same class.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    DistilledRegressor : The regressor twin.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the knowledge in a neural network, 2015.
    C. Bucila, R. Caruana, A. Niculescu-Mizil. Model compression. KDD 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklopt.distillation import DistilledClassifier
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DistilledClassifier(
    ...     RandomForestClassifier(n_estimators=50, random_state=0),
    ...     MLPClassifier((32,), max_iter=100, device="cpu"), random_state=0,
    ... ).fit(X / 16, y)
    >>> clf.fidelity_ > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_BaseDistilled._parameter_constraints,
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, teacher, student=None, *, temperature=3.0, soft_weight=0.7,
                 fit_teacher=True, cv=None, transfer=None, n_transfer=1,
                 random_state=None):
        self.teacher = teacher
        self.student = student
        self.temperature = temperature
        self.soft_weight = soft_weight
        self.fit_teacher = fit_teacher
        self.cv = cv
        self.transfer = transfer
        self.n_transfer = n_transfer
        self.random_state = random_state

    def _default_student(self):
        return MLPClassifier(hidden_layer_sizes=(32,))

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

    def _check_teacher(self, teacher, fitted):
        if not hasattr(teacher, "predict_proba"):
            raise TypeError(
                f"The teacher {type(teacher).__name__} has no predict_proba; distillation "
                "needs the teacher's probabilities (for SVC, pass probability=True)."
            )
        if not is_classifier(teacher):
            raise TypeError(f"The teacher must be a classifier; got {teacher!r}.")
        if fitted and not np.array_equal(np.asarray(teacher.classes_), self.classes_):
            raise ValueError(
                f"The teacher was fitted on the classes {list(teacher.classes_)}, but y "
                f"has the classes {list(self.classes_)}; they must be the same."
            )

    @staticmethod
    def _as_log_proba(proba):
        with np.errstate(divide="ignore"):
            return np.log(proba)

    def _teacher_output(self, teacher, X):
        return self._as_log_proba(teacher.predict_proba(X))

    def _teacher_output_oof(self, teacher, X, y, sample_weight):
        return self._as_log_proba(cross_val_predict(
            teacher, X, y, cv=self.cv, method="predict_proba",
            params=_fit_params(sample_weight, teacher)))

    def _teacher_labels(self, log_proba):
        return self.classes_[np.argmax(log_proba, axis=1)]

    def _fit_student(self, student, X, y, teacher_out, n_real, sample_weight):
        mlp, Xt = student, X
        if isinstance(student, Pipeline):
            mlp = student.steps[-1][1]
            Xt = student[:-1].fit_transform(X, y) if len(student) > 1 else X
        if not isinstance(mlp, MLPClassifier):
            raise TypeError(
                "The student must be an sklopt MLPClassifier, or a Pipeline ending in "
                f"one (it trains on the distillation loss); got {type(mlp).__name__}."
            )
        soft = _tempered(teacher_out, self.temperature)
        if soft.shape[1] == 2:
            soft = soft[:, 1:]  # a binary MLP has one logistic output
        mlp._fit_with_loss(Xt, y, distillation_loss(self.temperature, self.soft_weight),
                           soft, sample_weight=sample_weight)
        return student

    def _agreement(self, y_teacher, y_student):
        return np.mean(np.asarray(y_teacher) == np.asarray(y_student))

    def predict_proba(self, X):
        """Class probabilities of the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        X = self._check_X(X)
        return self.student_.predict_proba(X)

    def predict_log_proba(self, X):
        """Log class probabilities of the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        X = self._check_X(X)
        return self.student_.predict_log_proba(X)


class DistilledRegressor(RegressorMixin, _BaseDistilled):
    r"""A small (MLP) regressor trained to imitate a (large) teacher regressor.

    The student fits the blend

    .. math::

        t = w \, \hat y_{\mathrm{teacher}} + (1 - w) \, y

    which is the same as minimising
    :math:`w \, (f - \hat y_{\mathrm{teacher}})^2 + (1 - w) (f - y)^2`: the squared-error
    form of distillation, where the teacher's smooth predictions replace noisy labels in
    proportion ``w``. There is no temperature in regression.

    Parameters
    ----------
    teacher : regressor
        The model whose knowledge is distilled. Cloned and fitted on ``(X, y)`` unless
        ``fit_teacher=False``.
    student : regressor, default=None
        The student (any regressor; typically a small sklopt
        :class:`~sklopt.neural_network.MLPRegressor`, or a Pipeline ending in one).
        None means ``MLPRegressor(hidden_layer_sizes=(32,))``.
    soft_weight : float, default=0.7
        :math:`w`: the weight of the teacher's predictions in the student's target.
    fit_teacher : bool, default=True
        Clone and fit the teacher; with False it must already be fitted and is used as
        it is.
    cv : int, cross-validation generator, iterable or None, default=None
        Use out-of-fold teacher predictions as the student's targets.
    transfer : augmenter with ``fit_resample`` or None, default=None
        Makes a transfer set of ``n_transfer`` augmented copies of the training rows,
        whose targets are the teacher's predictions alone.
    n_transfer : int, default=1
        Size of the transfer set in multiples of the training set.
    random_state : int, RandomState instance or None, default=None
        Seeds every unset ``random_state`` of the teacher, student and augmenter.

    Attributes
    ----------
    teacher_ : estimator
        The fitted teacher.
    student_ : estimator
        The fitted student; it makes the predictions.
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

    def __init__(self, teacher, student=None, *, soft_weight=0.7, fit_teacher=True,
                 cv=None, transfer=None, n_transfer=1, random_state=None):
        self.teacher = teacher
        self.student = student
        self.soft_weight = soft_weight
        self.fit_teacher = fit_teacher
        self.cv = cv
        self.transfer = transfer
        self.n_transfer = n_transfer
        self.random_state = random_state

    def _default_student(self):
        return MLPRegressor(hidden_layer_sizes=(32,))

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

    def _check_teacher(self, teacher, fitted):
        if not is_regressor(teacher):
            raise TypeError(f"The teacher must be a regressor; got {teacher!r}.")

    def _teacher_output(self, teacher, X):
        return np.asarray(teacher.predict(X), dtype=np.float64)

    def _teacher_output_oof(self, teacher, X, y, sample_weight):
        return cross_val_predict(teacher, X, y, cv=self.cv,
                                 params=_fit_params(sample_weight, teacher)
                                 ).astype(np.float64)

    def _teacher_labels(self, prediction):
        return prediction

    def _fit_student(self, student, X, y, teacher_out, n_real, sample_weight):
        target = np.array(teacher_out, dtype=np.float64)  # transfer rows: teacher only
        target[:n_real] = (self.soft_weight * target[:n_real]
                           + (1.0 - self.soft_weight) * np.asarray(y[:n_real]))
        return student.fit(X, target, **_fit_params(sample_weight, student))

    def _agreement(self, y_teacher, y_student):
        return r2_score(y_teacher, y_student)
