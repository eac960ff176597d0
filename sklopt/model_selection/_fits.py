"""The study's units of work: one fit (or one distillation) on one outer fold, with
its scores, and the runner that runs them in parallel under one progress bar and a
time limit."""

import contextlib
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils.parallel import Parallel, delayed

from ..distillation import DistilledClassifier, DistilledRegressor
from ..inspection._lookup import find_network
from ..neural_network._batched import serving
from ..utils._progress import progress_bar
from ._plan import _DISTILL
from ._search import fit_ahead


def _unwrap(model):
    """The fitted network at the end of a (target-transformed, frozen) pipeline: the
    inspection package's lookup, so that the study and the plots read models the same
    way."""
    return find_network(model).network


def _n_params(model):
    net = _unwrap(model)
    return int(sum(p.numel() for p in net.net_.module_.parameters()))


def _validation_score(model, measure):
    """The network's selection value on its early-stopping rows (``measure.inner``);
    NaN without early stopping or for a reference model (never selected)."""
    try:
        network = _unwrap(model)
    except TypeError:  # not a network (a reference model)
        return float("nan")
    return measure.inner(network)


@dataclass
class _Fold:
    """One outer fold (``test`` None: all rows, for the saved model) and the running
    best on it."""

    train: np.ndarray
    test: object
    config: dict = None
    model: object = None
    val: float = float("nan")
    outer: float = float("nan")
    seconds: float = float("nan")
    metrics: dict = None
    validation_mask: object = None  # the networks' early-stopping rows, or None


class _Runner:
    """Runs fits in parallel with one progress bar over all of them, and stops cleanly
    at the time limit or at Ctrl-C: nothing new starts, and ``abandoned`` says how
    many fits of the step under way had finished (a step's fits are used together,
    so an unfinished step is dropped, and the report says so)."""

    def __init__(self, n_fits, n_jobs, time_limit, verbose):
        self.n_jobs = n_jobs
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        self.bar = progress_bar(total=n_fits, desc="sklopt study", unit="fit",
                                disable=not verbose)
        self.stopped = self.interrupted = False
        self.abandoned = None  # (fits finished, fits) of the call that was stopped

    def out_of_time(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stopped = True
        return self.stopped

    def run(self, calls, ahead=None, fits_per_call=1, force=False):
        """Run ``calls`` (``(function, args)`` pairs); their results in order, or None
        when the time limit (or Ctrl-C, recorded in ``interrupted``) stopped them.
        In one process the fit under way finishes; with ``n_jobs`` > 1 the fits under
        way are abandoned. ``ahead``: the fits of ``_fit_score`` calls as
        :func:`~sklopt.model_selection._search.fit_ahead` takes them: their sklopt
        networks train first, together in batches, the calls then take them, and each
        call's seconds include its share of the batches' time. ``fits_per_call``: the
        network fits one call makes (the progress bar counts fits). ``force``: run
        them even past the time limit (the saved model's one fit)."""
        if self.out_of_time() and not force:
            return None
        try:
            start = time.perf_counter()
            # In one process only: with workers, each fit made on its own in parallel
            # measured faster (benchmarks/bench_study.py --compare-batching: Titanic
            # quick, 2 workers 59 s one at a time against 72 s batched; one process
            # 120 s against 113 s), since the served fits' preprocessing and scoring
            # then run in this process alone.
            batch = ahead and self.n_jobs in (None, 1)
            with _quiet_fit():  # as quiet as the fits they stand for
                fitted = fit_ahead(ahead, 1) if batch else {}
            if not fitted:
                return self._run(calls, fits_per_call=fits_per_call, force=force)
            share = (time.perf_counter() - start) / len(fitted)
            batched = {id(m.net_) for m in fitted.values()}
            with serving(fitted):  # the calls run here, where the fits are served
                # (the batches' training is done: the calls finish past the limit)
                results = self._run(calls, n_jobs=1, force=True)
            return None if results is None else [
                (*r[:3], r[3] + share, *r[4:]) if _network_id(r[0]) in batched
                else r
                for r in results]
        except KeyboardInterrupt:
            # Ctrl-C ends the study like the time limit: what finished is reported.
            self.stopped = self.interrupted = True
            return None

    def _run(self, calls, n_jobs=None, fits_per_call=1, force=False):
        results = [None] * len(calls)
        n_jobs = self.n_jobs if n_jobs is None else n_jobs

        def stop(done):
            if force or not self.out_of_time():
                return False
            self.abandoned = (done * fits_per_call, len(calls) * fits_per_call)
            return True

        if n_jobs in (None, 1):
            for i, (func, args) in enumerate(calls):
                if stop(i):
                    return None
                results[i] = func(*args)
                self.bar.update(fits_per_call)
            return results
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        indexed = [delayed(_indexed)(i, func, args)
                   for i, (func, args) in enumerate(calls)]
        done = 0
        for i, result in parallel(indexed):
            results[i] = result
            done += 1
            self.bar.update(fits_per_call)
            # Past the limit, the workers' fits under way are abandoned (joblib
            # cannot stop them) and counted in ``abandoned``.
            if done < len(calls) and stop(done):
                return None
        return results

    def close(self):
        self.bar.close()


def _network_id(model):
    """``id`` of the trained network of a fitted model, or None."""
    try:
        return id(_unwrap(model).net_)
    except (TypeError, AttributeError, ValueError):
        return None


def _indexed(i, func, args):
    return i, func(*args)


class _Failed:
    """A fit that raised: its message, in place of the model."""

    def __init__(self, message):
        self.message = message

    def __repr__(self):
        return f"failed: {self.message}"


@contextlib.contextmanager
def _quiet_fit():
    """Silence a fit's warnings (each fit's epoch cap is the budget's, so stopping
    there is expected; the dropped columns are reported once, up front), but pass on
    Ctrl-C: a network's training catches it and only warns."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if any("interrupted by user" in str(w.message) for w in caught):
        raise KeyboardInterrupt


def _fit_score(estimator, X, y, fold, measure, fit_params=None):
    """Fit a clone on the fold's training rows (with ``fit_params``): ``(model,
    selection value, outer score, seconds, {pair metric: outer value})``
    (:class:`Measure`). A fit (or its scoring) that raises returns a :class:`_Failed`
    with selection value -inf, so that it is never selected, and NaN outer scores."""
    t0 = time.perf_counter()
    with _quiet_fit():
        try:
            model = clone(estimator).fit(X.iloc[fold.train], y.iloc[fold.train],
                                         **(fit_params or {}))
            seconds = time.perf_counter() - t0
            mask = (fit_params or {}).get("mlp__validation_mask")
            if mask is None:
                val = _validation_score(model, measure)
            else:  # the decision scorer on the network's early-stopping rows
                rows = fold.train[mask]
                val = measure.score(model, X.iloc[rows], y.iloc[rows])
            outer, metrics = ((float("nan"), {}) if fold.test is None else
                              measure.outer(model, X.iloc[fold.test], y.iloc[fold.test]))
        except Exception as exc:  # noqa: BLE001 - one failed candidate must not end
            # a study of hundreds of fits; the row reports it.
            return _Failed(f"{type(exc).__name__}: {exc}"), -np.inf, np.nan, (
                time.perf_counter() - t0), {}
    return model, val, outer, seconds, metrics


def _distill(teacher, student, X, y, fold, classification, random_state, measure):
    """Distil the fold's running best into ``student``; the student alone (a pipeline,
    target-transformed for regression) and its outer score."""
    Xtr, ytr = X.iloc[fold.train], y.iloc[fold.train]
    with _quiet_fit():
        t0 = time.perf_counter()
        if classification:
            distiller = DistilledClassifier(teacher, student, fit_teacher=False,
                                            **_DISTILL, random_state=random_state
                                            ).fit(Xtr, ytr)
            model = distiller.student_
        else:
            # The teacher learnt the standardised target; so does the student, and
            # the same standardisation (fitted again on the same rows) wraps it.
            scaled = teacher.transformer_.transform(ytr.to_numpy().reshape(-1, 1)).ravel()
            distiller = DistilledRegressor(teacher.regressor_, student, fit_teacher=False,
                                           **_DISTILL, random_state=random_state
                                           ).fit(Xtr, scaled)
            model = TransformedTargetRegressor(
                regressor=FrozenEstimator(distiller.student_),
                transformer=StandardScaler()).fit(Xtr, ytr)
        seconds = time.perf_counter() - t0
        details = {}
        if fold.test is not None:
            Xte, yte = X.iloc[fold.test], y.iloc[fold.test]
            details["outer"], details["metrics"] = measure.outer(model, Xte, yte)
            t_student = _predict_seconds(model, Xte)
            t_teacher = _predict_seconds(teacher, Xte)
            details["predict ratio"] = t_student / t_teacher
            a, b = model.predict(Xte), teacher.predict(Xte)
            if classification:
                details["fidelity"] = float(np.mean(a == b))
            else:
                b = np.asarray(b, dtype=float)
                denom = float(np.sum((b - b.mean()) ** 2)) or 1.0
                details["fidelity"] = 1.0 - float(np.sum((a - b) ** 2)) / denom
    return model, seconds, details


def _predict_seconds(model, X, repeats=3):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.predict(X)
        best = min(best, time.perf_counter() - t0)
    return best
