"""DistilledRegressor: the teacher's predictions as targets."""


import numpy as np
from sklearn.base import (
    RegressorMixin,
    is_regressor,
)
from sklearn.ensemble import VotingRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.utils.validation import (
    _num_samples,
    column_or_1d,
)

from ..neural_network import MLPRegressor
from ._common import (DEFAULT_STUDENT, _concat_rows, _fit_params, _cat, _split_student,
                      _prefix_transform, _fit_mlp_student)
from ._base import _BaseDistilled


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
        Xt = _prefix_transform(prefix, X, target[:n], X_all)
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
