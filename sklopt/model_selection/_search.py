"""Searches and cross-validation whose network fits train together, in one pass.

:class:`GridSearchCV`, :class:`RandomizedSearchCV` and :func:`cross_validate` are
scikit-learn's, with one step added before scikit-learn's own code runs: when the
estimator is an sklopt MLP, or a Pipeline ending in one, every candidate x fold network
is trained ahead with the batched trainer
(:func:`sklopt.neural_network._batched.fit_batched`; a Pipeline's earlier steps are
fitted first, as its own fit fits them, and their output is the network's data), and
scikit-learn's fits then take those results
(:func:`~sklopt.neural_network._batched.serving`). Its cloning, parameters, scoring,
``cv_results_``, ``best_*``, ``error_score`` and refit are untouched. Anything else --
another estimator, fit parameters other than ``sample_weight`` (of a bare network), a
network the batch cannot take -- follows scikit-learn's path, fit by fit.
"""

import time

import numpy as np
from joblib import effective_n_jobs
from sklearn import model_selection as sk
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed  # the caller's warning filters
from sklearn.utils.validation import indexable

from ..neural_network._base import BaseMLP
from ..neural_network._batched import batchable, fit_batched, fit_key, serving


def fit_ahead(fits, n_jobs=None):
    """Train the sklopt networks of ``fits`` in batches, ahead of the fits themselves.

    Parameters
    ----------
    fits : list of tuple
        ``(estimator, X_train, y_train, sample_weight[, fit_params])``, as each fit
        will be called: ``clone(estimator).fit(X_train, y_train[, sample_weight=...],
        **fit_params)``; ``fit_params`` may hold the network's ``validation_mask``
        (``step__validation_mask`` in a Pipeline), nothing else. An sklopt MLP,
        or a Pipeline ending in one (its earlier steps are fitted here as its own fit
        fits them: their output is the network's data), joins a batch; anything else
        is left to its own fit.
    n_jobs : int, default=None
        With more than one, the networks are dealt into that many batches, trained in
        joblib's workers (each on its share of the cores).

    Returns
    -------
    fitted : dict
        ``{fit_key: fitted network}`` for :func:`~sklopt.neural_network._batched.serving`
        (empty when nothing could join a batch).
    """
    jobs = []
    for estimator, X_train, y_train, sample_weight, *rest in fits:
        model = clone(estimator)
        params = dict(rest[0] or {}) if rest else {}
        if isinstance(model, Pipeline) and isinstance(model.steps[-1][1], BaseMLP):
            mask = params.pop(f"{model.steps[-1][0]}__validation_mask", None)
            if sample_weight is not None or params:
                continue  # routed by name in a Pipeline: its own fit
            try:
                X_train = model[:-1].fit_transform(X_train, y_train)
            except Exception:  # noqa: BLE001 - its own fit reports it
                continue
            model = model.steps[-1][1]
        elif not isinstance(model, BaseMLP):
            continue
        else:
            mask = params.pop("validation_mask", None)
            if params:
                continue
        try:
            model._validate_params()
        except Exception:  # noqa: BLE001 - its own fit reports it (error_score)
            continue
        if batchable(model) is None:
            jobs.append((model, X_train, y_train, sample_weight, mask))
    if len(jobs) < 2:
        return {}
    keys = [fit_key(*job) for job in jobs]
    # A fit refused before training stays out of the batch; its own fit then runs
    # and reports it (a search's error_score).
    workers = min(effective_n_jobs(n_jobs), len(jobs))
    if workers == 1:
        fitted = fit_batched(jobs, on_error="skip")
    else:
        # Dealt round-robin: each worker's batch holds every shape there is.
        parts = Parallel(n_jobs=workers)(
            delayed(fit_batched)(jobs[i::workers], on_error="skip")
            for i in range(workers))
        fitted = [None] * len(jobs)
        for i, part in enumerate(parts):
            fitted[i::workers] = part
    return {key: est for key, est in zip(keys, fitted) if est is not None}


def _fit_ahead(estimator, candidates, X, y, splits, fit_params, n_jobs=None):
    """:func:`fit_ahead` of every candidate x split of a search; None when the search
    takes scikit-learn's path (fit parameters other than ``sample_weight``, or
    nothing could join a batch)."""
    if set(fit_params) - {"sample_weight"}:
        return None
    sample_weight = fit_params.get("sample_weight")
    fits = []
    for params in candidates:
        model = clone(estimator).set_params(**params)
        for train, _ in splits:
            sw = None if sample_weight is None else _safe_indexing(
                np.asarray(sample_weight), train)
            fits.append((model, _safe_indexing(X, train), _safe_indexing(y, train), sw))
    return fit_ahead(fits, n_jobs) or None


class _BatchedSearchMixin:
    def _candidates(self):
        raise NotImplementedError

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(self._candidates_)

    def fit(self, X, y=None, **params):
        self._validate_params()  # scikit-learn's errors before anything is drawn
        X, y = indexable(X, y)
        self._candidates_ = list(self._candidates())
        groups = params.get("groups")
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        fit_params = {k: v for k, v in params.items() if k != "groups"}
        start = time.perf_counter()
        fitted = _fit_ahead(self.estimator, self._candidates_, X, y, splits,
                            fit_params, self.n_jobs)
        if fitted is None:
            return super().fit(X, y, **params)
        # Each fit's time: its share of the batches (when every fit was batched).
        n_fits = len(self._candidates_) * len(splits)
        share = (time.perf_counter() - start) / n_fits if len(fitted) == n_fits else 0
        # The fits are ready: scikit-learn's evaluation runs in this process, where
        # they are served; the splits are the ones they were trained on.
        n_jobs, cv_param = self.n_jobs, self.cv
        self.n_jobs, self.cv = None, splits
        try:
            with serving(fitted):
                super().fit(X, y, **params)
        finally:
            self.n_jobs, self.cv = n_jobs, cv_param
        if hasattr(self, "_checked_cv_orig"):
            self._checked_cv_orig = cv  # the user's splitter, as scikit-learn keeps it
        self.cv_results_["mean_fit_time"] = self.cv_results_["mean_fit_time"] + share
        return self


class GridSearchCV(_BatchedSearchMixin, sk.GridSearchCV):
    """scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`, whose sklopt
    network fits (candidates x folds) train together in batches.

    Same parameters, attributes and results as scikit-learn's class. When
    ``estimator`` is an sklopt ``MLPClassifier`` / ``MLPRegressor``, or a Pipeline
    ending in one, every network of the search is trained ahead by the batched
    trainer -- one forward and backward pass
    per step for all of them, each with its own rows, shuffling, initial weights,
    early stopping and hyper-parameters -- and scikit-learn's search then scores those
    fits. Candidates that change the network's shape (``hidden_layer_sizes``,
    ``activation``, ``batch_size``, ...) train in separate batches; settings the batch
    cannot take (L-BFGS, embeddings, ensembles, batch norm, augmenters) and every
    other estimator follow scikit-learn's path, fit by fit. With deterministic
    settings (an int ``random_state``) the results are those of scikit-learn's
    ``GridSearchCV(n_jobs=1)`` up to rounding.

    The parameters are scikit-learn's; see :class:`sklearn.model_selection.GridSearchCV`.
    ``n_jobs`` > 1 deals the networks into that many batches, trained in joblib's
    workers, each on its share of the cores (and applies as in scikit-learn to the
    fits that follow scikit-learn's path).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.model_selection import GridSearchCV
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(MLPClassifier((16,), max_iter=50, random_state=0),
    ...                       {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 1e-2]},
    ...                       cv=3).fit(X, y)
    >>> sorted(search.best_params_)
    ['alpha', 'learning_rate_init']
    """

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class RandomizedSearchCV(_BatchedSearchMixin, sk.RandomizedSearchCV):
    """scikit-learn's :class:`~sklearn.model_selection.RandomizedSearchCV`, whose
    sklopt network fits (candidates x folds) train together in batches.

    As :class:`GridSearchCV`, with ``n_iter`` candidates drawn as scikit-learn draws
    them (``ParameterSampler`` with ``random_state``).

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.model_selection import RandomizedSearchCV
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(MLPClassifier((16,), max_iter=50, random_state=0),
    ...                             {"alpha": loguniform(1e-5, 1e-1)}, n_iter=4, cv=3,
    ...                             random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"])
    4
    """

    def _candidates(self):
        return ParameterSampler(self.param_distributions, self.n_iter,
                                random_state=self.random_state)


def cross_validate(estimator, X, y=None, *, groups=None, scoring=None, cv=None,
                   n_jobs=None, verbose=0, params=None, pre_dispatch="2*n_jobs",
                   return_train_score=False, return_estimator=False,
                   return_indices=False, error_score=np.nan):
    """scikit-learn's :func:`~sklearn.model_selection.cross_validate`, with the folds'
    sklopt network fits trained together in one pass.

    Same parameters and result as scikit-learn's function. When ``estimator`` is an
    sklopt MLP (or a Pipeline ending in one), the network of every fold is trained
    ahead by the batched trainer and scikit-learn's cross-validation scores those
    fits; otherwise it is scikit-learn's function as it is.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.model_selection import cross_validate
    >>> from sklopt.neural_network import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> result = cross_validate(MLPClassifier((16,), max_iter=50, random_state=0), X, y,
    ...                         cv=5)
    >>> len(result["test_score"])
    5
    """
    X, y = indexable(X, y)
    cv_checked = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(cv_checked.split(X, y, groups))
    start = time.perf_counter()
    fitted = _fit_ahead(estimator, [{}], X, y, splits, dict(params or {}), n_jobs)
    kwargs = dict(groups=groups, scoring=scoring, verbose=verbose, params=params,
                  pre_dispatch=pre_dispatch, return_train_score=return_train_score,
                  return_estimator=return_estimator, return_indices=return_indices,
                  error_score=error_score)
    if fitted is None:
        return sk.cross_validate(estimator, X, y, cv=cv, n_jobs=n_jobs, **kwargs)
    share = (time.perf_counter() - start) / len(splits) if len(fitted) == len(
        splits) else 0.0
    with serving(fitted):
        result = sk.cross_validate(estimator, X, y, cv=splits, n_jobs=None, **kwargs)
    result["fit_time"] = result["fit_time"] + share  # each fit's share of the batch
    return result
