"""DistilledClassifier: soft targets, temperature and calibration."""

from numbers import Real

import numpy as np
import torch
from sklearn.base import (
    ClassifierMixin,
    is_classifier,
)
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _num_samples,
    column_or_1d,
)

from ..neural_network import MLPClassifier
from ..neural_network._calibration import fit_temperature
from ._loss import distillation_loss
from ._common import (DEFAULT_STUDENT, CALIBRATION_BOUNDS, _concat_rows, _cat,
                      _split_student, _prefix_transform, _fit_mlp_student)
from ._base import _BaseDistilled


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
        (e.g. a scaler) are fitted on the real training rows (not the transfer rows)
        and then transform both. None means
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
        loss significantly (a likelihood-ratio test at 5%), and set it as the student
        network's ``temperature_`` (the one temperature scaling of sklopt, that of
        ``MLPClassifier(calibrate=True)``), so that ``student_`` (and
        ``predict_proba``) are calibrated by themselves.
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
        The temperature the student's logits are divided by (its network's
        ``temperature_``; 1.0: none).
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
        Xt = _prefix_transform(prefix, X, y, X_all)
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
        prefix, mlp = _split_student(self.student_, MLPClassifier)
        Xt = X_val if prefix is None else prefix.transform(X_val)
        raw, _ = mlp._raw(Xt)
        # Class indices, or the binary network's one 0/1 column.
        index = np.searchsorted(self.classes_, y_val)
        target = torch.from_numpy(index if mlp.out_activation_ == "softmax"
                                  else index[:, None].astype(np.float64))
        # The one temperature scaling of sklopt, here softening only and kept only
        # when the likelihood-ratio test says it is better than none.
        T = fit_temperature(raw, target, mlp.out_activation_, sw_val,
                            bounds=CALIBRATION_BOUNDS, test=True)
        mlp.temperature_ = T
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
