"""How the study measures: its outer folds and the paired comparison that decides
whether a difference is larger than the noise."""

from dataclasses import dataclass

import numpy as np
from scipy import stats
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
