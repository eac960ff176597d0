"""How the study measures: its outer folds and the paired comparison that decides
whether a difference is larger than the noise."""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import (accuracy_score, get_scorer, get_scorer_names, log_loss,
                             r2_score, root_mean_squared_error)
from sklearn.model_selection import (GroupKFold, KFold, StratifiedGroupKFold,
                                     StratifiedKFold, TimeSeriesSplit)

#: The outer folds the study can use (``--cv``): name -> description for the report.
CV_KINDS = {
    "shuffled": "shuffled {stratified}K-fold",
    "time": "time-ordered (each fold trains on the rows before it, in file order)",
}

#: What the paired comparison is, in words, for the report.
PAIRED_TEST = (
    "Nadeau & Bengio's corrected resampled t-test: the per-fold differences are paired "
    "(same rows, same outer fold), their variance is inflated by n_test/n_train to "
    "account for the overlapping training sets, and the 95% interval uses Student's t "
    "with K-1 degrees of freedom"
)

#: The same with repeated outer folds (Bouckaert & Frank's corrected repeated k-fold
#: test, 2004): every repeat's folds are differences of the same kind.
PAIRED_TEST_REPEATED = (
    "the corrected repeated k-fold t-test (Bouckaert & Frank, 2004): the R x K per-fold "
    "differences are paired (same rows, same outer fold), their variance is multiplied "
    "by 1/(R K) + n_test/n_train (the overlapping training sets), and the 95% interval "
    "uses Student's t with R K - 1 degrees of freedom"
)


def outer_cv(kind, n_splits, classification, random_state, groups=None):
    """The outer splitter: shuffled (stratified for classification, group-aware when
    ``groups`` is given) or time-ordered folds."""
    if kind == "time":
        if groups is not None:
            raise ValueError("--cv time and --groups cannot be combined.")
        return TimeSeriesSplit(n_splits=n_splits)
    if kind != "shuffled":
        raise ValueError(f"cv must be one of {sorted(CV_KINDS)}; got {kind!r}.")
    if groups is not None:
        if classification:
            return StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
        return GroupKFold(n_splits, shuffle=True, random_state=random_state)
    if classification:
        return StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    return KFold(n_splits, shuffle=True, random_state=random_state)


def inner_validation(kind, train, y, groups, classification, random_state,
                     fraction=0.2):
    """The networks' early-stopping rows within an outer fold's training rows
    ``train`` (a boolean mask over them), honouring the outer folds' rule: the last
    ``fraction`` of the rows for time-ordered folds; whole groups (about ``fraction``
    of the rows, stratified for classification) with ``groups``; else a random
    ``fraction`` (stratified for classification). A class whose rows would all be
    held out trains instead (the network could not learn it). None when fewer than
    two rows would be held out (the network's own split then)."""
    n = len(train)
    labels = np.asarray(y)[train]
    mask = np.zeros(n, dtype=bool)
    if kind == "time":
        mask[n - max(2, int(round(fraction * n))):] = True
    else:
        k = max(2, int(round(1 / fraction)))
        inner = None if groups is None else np.asarray(groups)[train]
        if inner is not None and len(np.unique(inner)) >= 2:
            splitter = (StratifiedGroupKFold if classification else GroupKFold)(
                min(k, len(np.unique(inner))), shuffle=True, random_state=random_state)
        else:
            _, counts = np.unique(labels, return_counts=True)
            stratify = classification and counts.min() >= k
            splitter = (StratifiedKFold if stratify else KFold)(
                k, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class with fewer rows than k
            _, held = next(splitter.split(np.zeros(n), labels, inner))
        mask[held] = True
    if classification:
        for label in np.unique(labels[mask]):
            rows = labels == label
            if mask[rows].all():
                mask[rows] = False
    return mask if mask.sum() >= 2 and not mask.all() else None


TIME_REPEATS = ("time-ordered folds have one order of the rows: repeats must be 1 with "
                "cv='time'.")


def outer_splits(kind, n_splits, classification, random_state, X, y, groups=None,
                 repeats=1):
    """The outer folds as ``[(train, test)]``: :func:`outer_cv`'s, ``repeats`` times
    with another shuffle each (seeds ``random_state``, ``random_state + 1``, ...)."""
    if repeats > 1 and kind == "time":
        raise ValueError(TIME_REPEATS)
    splits = []
    for r in range(repeats):
        splitter = outer_cv(kind, n_splits, classification, random_state + r, groups)
        splits += list(splitter.split(X, y, groups))
    return splits


def describe_cv(kind, n_splits, classification, groups_name=None, repeats=1):
    """The outer folds in words."""
    if kind == "time":
        return f"{n_splits} {CV_KINDS['time']}"
    text = f"{n_splits}-fold, shuffled" + (", stratified by class" if classification
                                          else "")
    if groups_name is not None:
        text += f", rows of one {groups_name!r} value never split across folds"
    if repeats > 1:
        text += f"; repeated {repeats} times with another shuffle each"
    return text


@dataclass(frozen=True)
class Paired:
    """A paired difference over the outer folds (``a - b``)."""

    mean: float
    low: float
    high: float
    p_value: float

    @property
    def above_noise(self):
        """The whole 95% interval is above 0."""
        return bool(self.low > 0)

    @property
    def half_width(self):
        """Half the 95% interval's width: with this spread, the smallest mean gain
        whose interval lies above 0."""
        return (self.high - self.low) / 2.0

    @property
    def below_noise(self):
        """The whole 95% interval is below 0."""
        return bool(self.high < 0)

    def __str__(self):
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_difference(a, b, test_train_ratio, resolution=0.0):
    """The mean of ``a - b`` over folds with its 95% interval, by the corrected
    resampled t-test (Nadeau & Bengio, 2003); over R repeats of K folds (all R K
    scores in ``a`` and ``b``), the same formula is the corrected repeated k-fold test
    (Bouckaert & Frank, 2004).

    scipy's ``ttest_rel`` is the uncorrected test, which treats folds as independent
    samples and finds differences that are not there; the correction (variance times
    ``1/K + n_test/n_train``) is three lines, so it is written here.

    Parameters
    ----------
    a, b : array-like of shape (n_folds,)
        Scores of two models on the same outer folds.
    test_train_ratio : float
        Mean of n_test / n_train over the folds.
    resolution : float, default=0.0
        The smallest step a fold's score can take (``1 / n_test`` for accuracy): the
        variance of the differences is at least its square, so that folds agreeing by
        the luck of a row or two (a spread of exactly 0) do not make a zero-width
        interval.

    Returns
    -------
    Paired
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    k = len(d)
    mean = float(d.mean())
    if k < 2 or not np.any(d):
        # Identical scores on every fold: no difference, which is not a gain.
        return Paired(mean, mean, mean, 0.0 if mean != 0 else 1.0)
    var = max(float(d.var(ddof=1)), resolution ** 2)
    se = np.sqrt(var * (1.0 / k + test_train_ratio))
    t = stats.t.ppf(0.975, k - 1)
    p = 2 * stats.t.sf(abs(mean) / se, k - 1)
    return Paired(mean, mean - t * se, mean + t * se, float(p))


#: The pair of metrics every row of the study shows, by task: name -> function of
#: ``(model, X, y)`` (which way is better: :data:`SCORER_PAIRS`). Log loss reads the
#: model's classes, so a test fold without some class still scores.
PAIRS = {
    "classification": {
        "accuracy": lambda m, X, y: accuracy_score(y, m.predict(X)),
        "log loss": lambda m, X, y: log_loss(y, m.predict_proba(X), labels=m.classes_),
    },
    "regression": {
        "R^2": lambda m, X, y: r2_score(y, m.predict(X)),
        "RMSE": lambda m, X, y: root_mean_squared_error(y, m.predict(X)),
    },
}

#: scikit-learn scorer names that are a pair metric: scorer -> (pair metric, sign).
SCORER_PAIRS = {"accuracy": ("accuracy", 1.0), "neg_log_loss": ("log loss", -1.0),
                "r2": ("R^2", 1.0), "neg_root_mean_squared_error": ("RMSE", -1.0)}


def check_scoring(scoring, task):
    """The study's decision scorer: ``scoring`` (a scikit-learn scorer name) or the
    task's default (accuracy, R^2), checked against the task."""
    if scoring is None:
        return "accuracy" if task == "classification" else "r2"
    if not isinstance(scoring, str) or scoring not in get_scorer_names():
        raise ValueError(f"scoring must be a scikit-learn scorer name (see "
                         f"sklearn.metrics.get_scorer_names()); got {scoring!r}.")
    regression = scoring in {"r2", "explained_variance", "max_error"} or (any(
        word in scoring for word in ("error", "deviance", "d2_"))
        and scoring not in {"d2_log_loss_score", "d2_brier_score"})
    if regression != (task == "regression"):
        raise ValueError(f"scoring={scoring!r} is a "
                         f"{'regression' if regression else 'classification'} metric "
                         f"but the task is {task}.")
    return scoring


def check_scorer_fits(scoring, task, y):
    """Refuse, before any fit, a scorer that cannot score this target (``roc_auc``
    or ``f1`` on a multiclass target, a ``pos_label`` the labels lack, ...): it
    scores a prior-predicting model on the target itself."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    y = np.asarray(y)
    X = np.zeros((len(y), 1))
    dummy = (DummyClassifier(strategy="prior") if task == "classification"
             else DummyRegressor()).fit(X, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            get_scorer(scoring)(dummy, X, y)
    except Exception as exc:  # noqa: BLE001 - whatever the scorer raises, said plainly
        raise ValueError(f"scoring={scoring!r} cannot score this target: "
                         f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Measure:
    """How one fit is measured: on the outer test rows, the decision scorer (greater
    is better) and the task's pair of metrics; inside, the networks' early-stopping
    validation value that selects among candidates."""

    task: str
    scoring: str

    def score(self, model, X, y):
        """The decision scorer's value of ``model`` on ``(X, y)``."""
        if self.scoring in SCORER_PAIRS:
            name, sign = SCORER_PAIRS[self.scoring]
            return sign * float(PAIRS[self.task][name](model, X, y))
        return float(get_scorer(self.scoring)(model, X, y))

    def outer(self, model, X, y):
        """``(decision score, {pair metric: value})``; a metric that raises is NaN."""
        metrics = {}
        for name, func in PAIRS[self.task].items():
            try:
                metrics[name] = float(func(model, X, y))
            except Exception:  # noqa: BLE001 - a model without predict_proba, ...
                metrics[name] = float("nan")
        if self.scoring in SCORER_PAIRS:
            name, sign = SCORER_PAIRS[self.scoring]
            return sign * metrics[name], metrics
        return self.score(model, X, y), metrics

    def inner(self, network):
        """A fitted network's own best validation score (accuracy or R^2), for a fit
        whose early-stopping rows the study did not choose; NaN without early
        stopping."""
        score = network.best_validation_score_
        return float("nan") if score is None else float(score)

    @property
    def name(self):
        """The decision scorer as the report writes it (``R^2`` for ``r2``)."""
        return "R^2" if self.scoring == "r2" else self.scoring

    @property
    def selection(self):
        """The selection value, in words."""
        return "validation " + self.name
