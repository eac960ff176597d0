"""Seed stability: how much a model's score and predictions depend on its random seed."""

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv, cross_validate
from sklearn.utils import Bunch, _safe_indexing
from sklearn.utils.validation import _num_samples

from ..utils._progress import progress_bar


def with_seed(estimator, seed):
    """A clone of ``estimator`` with every ``random_state`` parameter (nested ones too)
    set to ``seed``."""
    estimator = clone(estimator)
    keys = [k for k in estimator.get_params(deep=True)
            if k.split("__")[-1] == "random_state"]
    if not keys:
        raise ValueError(
            f"{type(estimator).__name__} has no random_state parameter: its fits do not "
            "depend on a seed sklopt can set."
        )
    return estimator.set_params(**dict.fromkeys(keys, seed))


def seed_stability(estimator, X, y, *, seeds=5, cv=5, scoring=None, n_jobs=None,
                   verbose=False):
    """Score and predictions of ``estimator`` over several random seeds.

    For each seed, every ``random_state`` of the estimator (nested ones too) is set to
    it and the estimator is cross-validated on the **same** folds, so that only the
    seed changes between runs. For an sklopt MLP (or a Pipeline ending in one), the
    networks of all seeds and folds train together in one batched pass
    (:class:`sklopt.model_selection.GridSearchCV` explains how); the results are those
    of separate fits.

    Parameters
    ----------
    estimator : estimator
        The model (a Pipeline or meta-estimator works: nested seeds are set).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    seeds : int or list of int, default=5
        The seeds, or how many (0, 1, ...).
    cv : int, cross-validation generator or iterable, default=5
        The folds, fixed across seeds (an int means (Stratified)KFold without shuffle).
    scoring : str or callable, default=None
        Scorer; the estimator's ``score`` by default.
    n_jobs : int, default=None
        Parallel fits within one seed's cross-validation.
    verbose : bool, default=False
        A progress bar over seeds.

    Returns
    -------
    result : Bunch
        - ``scores``: DataFrame, one row per seed: ``seed``, ``score`` (mean over folds),
          ``score_std`` (over folds);
        - ``mean``, ``std``: mean and standard deviation of the per-seed score;
        - ``disagreement``: classifiers: fraction of rows (each predicted by the
          fold that held it out) on which the seeds do not all predict the same class;
          regressors: mean over rows of the standard deviation of the predictions across
          seeds, divided by the standard deviation of ``y``;
        - ``predictions``: ndarray (n_seeds, n_samples) of held-out predictions.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklopt.inspection import seed_stability
    >>> X, y = load_iris(return_X_y=True)
    >>> result = seed_stability(LogisticRegression(max_iter=500), X, y, seeds=3)
    >>> result.disagreement, round(result.std, 12)
    (0.0, 0.0)
    """
    seeds = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"seed_stability needs at least 2 seeds; got {seeds}.")
    from ..model_selection._search import _fit_ahead
    from ..neural_network._batched import serving

    classifier = is_classifier(estimator)
    splits = list(check_cv(cv, y, classifier=classifier).split(X, y))
    y_arr = np.asarray(y)
    rows, predictions = [], []
    # The networks of every seed x fold train together, in one pass, when the estimator
    # is an sklopt MLP (or a Pipeline ending in one whose other steps have no seed);
    # the cross-validations below then take those fits.
    keys = [k for k in with_seed(estimator, 0).get_params(deep=True)
            if k.split("__")[-1] == "random_state"]
    fitted = _fit_ahead(estimator, [dict.fromkeys(keys, seed) for seed in seeds], X, y,
                        splits, {}, n_jobs)
    if fitted:
        n_jobs = None  # the fits are ready, in this process
    for seed in progress_bar(seeds, desc="seeds", disable=not verbose):
        with serving(fitted or {}):
            result = cross_validate(with_seed(estimator, seed), X, y, cv=splits,
                                    scoring=scoring, n_jobs=n_jobs,
                                    return_estimator=True, return_indices=True)
        pred = np.empty(_num_samples(X), dtype=object if classifier else float)
        for est, test in zip(result["estimator"], result["indices"]["test"]):
            pred[test] = est.predict(_safe_indexing(X, test))
        rows.append({"seed": seed, "score": result["test_score"].mean(),
                     "score_std": result["test_score"].std()})
        predictions.append(pred)
    predictions = np.vstack(predictions)
    if classifier:
        disagreement = float(np.mean([len(set(col)) > 1 for col in predictions.T]))
    else:
        spread = predictions.astype(float).std(axis=0).mean()
        disagreement = float(spread / y_arr.std()) if y_arr.std() > 0 else float(spread)
    scores = pd.DataFrame(rows)
    return Bunch(scores=scores, mean=float(scores["score"].mean()),
                 std=float(scores["score"].std(ddof=0)), disagreement=disagreement,
                 predictions=predictions)
