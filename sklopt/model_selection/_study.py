"""The optimization study: from a baseline MLP, walk the levers one at a time and keep
a lever only when its gain on held-out data is larger than the noise; distil the result
into a smaller student; compare everything with trivial and strong references.

How it measures (the report says the same):

* **Outer folds** (shuffled, stratified for classification; group-aware or
  time-ordered on request) hold the rows every number in the table is measured on.
* **Selection is inner.** On each outer fold every candidate of a lever is fitted on
  that fold's training rows with early stopping on validation rows the study chooses
  (part of the outer training rows: random, whole groups or the last rows); the
  candidate with the best score on them wins that fold. Its score on the outer test
  rows is then measured; the selection never saw them. The saved model takes, for
  each kept lever, the candidate with the best mean validation score over the folds,
  fitted on all rows.
* **Keeping is paired.** A lever is kept when its winners beat the running best on the
  same outer folds by more than the noise: the 95% interval of the corrected resampled
  t-test (:func:`~sklopt.model_selection._evaluation.paired_difference`) lies above 0.
  This keep/drop decision is the one use of the outer test rows beyond reporting (as
  the study's specification asks); the report says it can make the chosen MLP's row
  slightly optimistic.
"""

import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ._data import describe_data
from ._evaluation import (PAIRED_TEST, PAIRED_TEST_REPEATED, PAIRS, SCORER_PAIRS,
                          TIME_REPEATS, Measure, check_scorer_fits, check_scoring,
                          describe_cv, inner_validation, outer_splits)
from ._evaluation import paired_difference as _paired
from ._fits import (_distill, _Failed, _fit_score, _Fold, _n_params, _Runner,
                    _unwrap)
from ._plan import (_STUDENT_SHRINK, ABLATIONS, BASELINE, BASELINE_TEXT, BUDGETS,
                    DISTILL_FITS, LEVERS, _lever_candidates, _pipeline, _references,
                    planned_fits)

__all__ = ["ABLATIONS", "BASELINE", "BUDGETS", "LEVERS", "StudyResult", "StudyStep", "planned_fits",
           "run_study"]


@dataclass
class StudyStep:
    """One row of the study's table.

    ``scores`` are the row's model's scores on the outer test folds; ``paired`` its
    paired difference against ``against`` on those folds (None: no comparison).
    """

    name: str
    setting: str
    scores: np.ndarray
    paired: object = None
    against: str = ""
    decision: str = ""
    fit_time: float = float("nan")
    # "reference", "baseline", "lever", "distillation" or "ablation"
    kind: str = "lever"
    estimator: object = field(default=None, repr=False)
    details: dict = field(default_factory=dict, repr=False)
    metrics: dict = field(default_factory=dict, repr=False)

    @property
    def mean(self):
        """Mean outer score."""
        return float(np.mean(self.scores))

    @property
    def std(self):
        """Standard deviation of the outer score over the folds."""
        return float(np.std(self.scores))


@dataclass
class StudyResult:
    """What :func:`run_study` found: the table's rows, the saved models and how they
    were measured.

    ``recommended`` names the row the verdict recommends (the cheapest to fit among
    the rows within noise of the best) and ``recommended_model`` is that model fitted
    on all rows."""

    task: str
    steps: list
    best_estimator: object
    student: object
    scoring: str
    data: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    summary: list = field(default_factory=list)
    recommended: str = ""
    recommended_model: object = field(default=None, repr=False)

    def table(self):
        """The study's table as a DataFrame, one row per reference and step: the
        decision score and the task's pair of metrics (accuracy and log loss, or R^2
        and RMSE) on the outer folds, the paired difference and the decision."""
        same = {self.scoring, SCORER_PAIRS.get(self.scoring, ("",))[0]}
        pair = [name for name in PAIRS[self.task] if name not in same]
        return pd.DataFrame([{
            "step": s.name, "setting": s.setting,
            f"outer {self.scoring}": f"{s.mean:.4f} +/- {s.std:.4f}",
            **{name: (f"{np.mean(s.metrics[name]):.4f}" if name in s.metrics else "")
               for name in pair},
            "paired difference [95% CI]": "" if s.paired is None else str(s.paired),
            "vs": s.against, "decision": s.decision,
            "s / fit": f"{s.fit_time:.1f}",
        } for s in self.steps])


def _format(value):
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "get_params"):
        return re.sub(r"\s+", "", repr(value))
    return str(value)


def _describe(params):
    return ", ".join(f"{k.split('__', 1)[-1]}={_format(v)}" for k, v in params.items())


def _same(config, candidate):
    return all(k in config and _format(config[k]) == _format(v)
               for k, v in candidate.items())


def run_study(X, y, *, task="classification", budget="quick", levers=None,
              cv="shuffled", groups=None, repeats=None, scoring=None, ablation=None,
              n_jobs=None, time_limit=None, random_state=0, device="auto",
              verbose=True):
    """Run the optimization study on ``(X, y)``.

    Every score in the result is measured on outer folds the selection never saw;
    a lever is kept only when its paired gain over the running best is larger than
    the noise (see the module's description and the report).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Features. Columns that name each row (IDs, names) and constant columns are
        dropped (the report names them); non-numeric columns are one-hot encoded with
        rare levels grouped; missing values are imputed.
    y : array-like of shape (n_samples,)
        Target. A regression target is standardised for the networks
        (:class:`~sklearn.compose.TransformedTargetRegressor`).
    task : {'classification', 'regression'}, default='classification'
    budget : {'smoke', 'quick', 'full'}, default='quick'
        Cost (see :data:`BUDGETS`): outer folds, epoch cap and candidate lists.
    levers : dict, default=None
        The levers to walk, in order: lever name -> list of candidates, each a dict
        of parameters of the pipeline ``prep`` -> ``mlp`` (for instance
        ``{"width": [{"mlp__hidden_layer_sizes": (128,)}]}``). None walks
        :data:`LEVERS` with the budget's candidate lists.
    cv : {'shuffled', 'time'}, default='shuffled'
        Outer folds: shuffled (stratified for classification, seeded by
        ``random_state``) or time-ordered (rows in the given order).
    groups : array-like of shape (n_samples,), default=None
        Group labels: rows of one group never land in both sides of an outer split.
    repeats : int, default=None
        Repeats of the outer folds, each with another shuffle: R x K paired
        differences for every comparison, judged by the corrected repeated k-fold
        t-test, so that a smaller real gain clears the keep rule, for R times the fits.
        None: the budget's (1 for smoke and quick, 2 for full).
    scoring : str, default=None
        The metric the decisions use: a scikit-learn scorer name (greater is better,
        as ``'neg_log_loss'``); None: ``'accuracy'`` for classification, ``'r2'``
        for regression. Every row also shows the task's pair of metrics (accuracy
        and log loss, or R^2 and RMSE). Candidates are selected by the networks'
        validation loss for ``'neg_log_loss'`` and the squared-error scorers, by
        their validation accuracy or R^2 otherwise.
    ablation : bool, default=None
        The second reading of the levers: the strong default (TabularMLP) with each
        of its levers (:data:`ABLATIONS`) switched off in turn, on the same outer
        folds, so that each row says what that lever buys on this table. None: the
        budget's (only ``full`` runs it; it costs six TabularMLP fits per fold).
    n_jobs : int, default=None
        Parallel fits (joblib; under a Dask backend they run on the cluster).
    time_limit : float, default=None
        Seconds; when they are spent, no new step starts and the result holds the
        steps finished so far (the saved model is still fitted on all rows).
    random_state : int, default=0
        Seed of the folds and of every model, so that the study is repeatable.
    device : str, default='auto'
        Training device of the networks.
    verbose : bool, default=True
        A progress bar over the fits.

    Returns
    -------
    result : StudyResult
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}; got {budget!r}.")
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got {task!r}.")
    if time_limit is not None and not (np.isfinite(time_limit) and time_limit > 0):
        raise ValueError(f"time_limit must be a positive number of seconds; got "
                         f"{time_limit!r}.")
    if n_jobs == 0:
        raise ValueError("n_jobs must not be 0: None or 1 runs one fit at a time, N > 1 "
                         "runs N, -1 one per core.")
    measure = Measure(task, check_scoring(scoring, task))
    settings = BUDGETS[budget]
    ablation = settings["ablation"] if ablation is None else bool(ablation)
    repeats = settings["repeats"] if repeats is None else repeats
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or \
            repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}.")
    repeats = int(repeats)
    classification = task == "classification"
    started = time.perf_counter()
    X = pd.DataFrame(X).reset_index(drop=True)
    X.columns = [str(c) for c in X.columns]
    y = pd.Series(np.asarray(y))
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    check_scorer_fits(measure.scoring, task, y)
    if classification:
        counts = y.value_counts()
        if counts.min() < settings["folds"]:
            rare = ", ".join(f"{c!r} ({n})" for c, n in counts.items()
                             if n < settings["folds"])
            raise ValueError(
                f"the classes {rare} have fewer rows than the {settings['folds']} outer "
                "folds: each fold's training rows and the networks' validation rows "
                "need every class. Merge the rare classes or drop their rows.")
    groups_name = None
    if groups is not None:
        groups_name = str(getattr(groups, "name", None) or "group")
        groups = np.asarray(groups)
        if len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} values but y has {len(y)}.")
    if repeats > 1 and cv == "time":
        raise ValueError(TIME_REPEATS)
    try:
        splits = outer_splits(cv, settings["folds"], classification, random_state, X, y,
                              groups, repeats)
    except ValueError as exc:
        raise ValueError(f"cannot make {settings['folds']} outer folds: {exc}") from None
    folds = [_Fold(train, test) for train, test in splits]
    everything = _Fold(np.arange(len(X)), None)
    for fold in folds + [everything]:
        # The networks' early-stopping rows keep the groups apart, and the time order.
        fold.validation_mask = inner_validation(cv, fold.train, y, groups,
                                                classification, random_state)
    ratio = float(np.mean([len(f.test) / len(f.train) for f in folds]))
    # Accuracy moves in steps of one test row: the smallest spread the test allows.
    step = (1.0 / np.mean([len(f.test) for f in folds])
            if measure.scoring == "accuracy" else 0.0)

    def paired_difference(a, b):
        return _paired(a, b, ratio, step)

    pipeline = _pipeline(task, settings, random_state, device)

    def build(config):
        model = clone(pipeline).set_params(**config)
        if classification:
            return model
        return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())

    levers = _lever_candidates(budget, levers, task)
    references = _references(classification, random_state, device,
                             settings["tabular_max_iter"])
    taken = {"baseline", "distillation", *references}
    clash = [name for name, _ in levers if name in taken]
    if clash:
        raise ValueError(f"lever names {clash} are taken by other rows of the table; "
                         "name the levers otherwise.")
    n_fits = planned_fits(budget, len(folds), dict(levers), task, ablation)
    data = describe_data(X, y, task)
    if data["dropped"]:  # before the progress bar starts drawing
        warnings.warn("The study drops " + ", ".join(data["dropped"]) + ".", UserWarning,
                      stacklevel=2)
    runner = _Runner(n_fits, n_jobs, time_limit, verbose)
    scoring = measure.name
    evaluation = {
        "outer folds": describe_cv(cv, settings["folds"], classification, groups_name,
                                   repeats),
        "seed": random_state, "budget": budget, "planned fits": n_fits,
        "decisions": f"by the outer {scoring}"
                     + ("" if scoring == measure.scoring else
                        f" (scikit-learn's {measure.scoring!r})"),
        "selection": f"on each outer fold, the candidate with the best "
                     f"{measure.selection} on the network's early-stopping rows ("
                     + ("the last fifth of that fold's training rows, in time order"
                        if cv == "time" else
                        f"whole {groups_name!r} groups, about a fifth of that fold's "
                        "training rows" if groups is not None else
                        "a random fifth of that fold's training rows"
                        + (", stratified" if classification else ""))
                     + "); the saved model: the candidate with the best mean of that "
                     "value over the outer folds, fitted on all rows",
        "paired test": PAIRED_TEST if repeats == 1 else PAIRED_TEST_REPEATED,
        "keep rule": "a lever is kept when the 95% interval of its paired gain over "
                     "the running best lies above 0",
    }
    steps = []

    def fits(estimators, where, force=False, networks=True):
        """Fit and score ``estimators`` on the folds ``where``; ``networks`` (one bool,
        or one per estimator): they are the study's MLP pipelines (early-stopping
        rows given by the fold)."""
        if isinstance(networks, bool):
            networks = [networks] * len(estimators)
        params = [{"mlp__validation_mask": fold.validation_mask}
                  if net and fold.validation_mask is not None else None
                  for fold, net in zip(where, networks)]
        calls = [(_fit_score, (est, X, y, fold, measure, p))
                 for est, fold, p in zip(estimators, where, params)]
        ahead = [(est, X.iloc[fold.train], y.iloc[fold.train], None, p)
                 for est, fold, p in zip(estimators, where, params)]
        return runner.run(calls, ahead=ahead, force=force)

    # References first (the comparison every other row is read against) and the
    # baseline, in one call: the costliest fits first, so that the workers' last
    # round is short.
    order = sorted(references, key=lambda n: (not n.startswith("TabularMLP"),
                                              n != "hist gradient boosting"))
    out = fits([references[n] for n in order for _ in folds] + [build({})] * len(folds),
               [fold for _ in order for fold in folds] + folds,
               networks=[False] * (len(order) * len(folds)) + [True] * len(folds))
    ref_rows = {}
    for i, name in enumerate(order if out is not None else []):
        part = out[i * len(folds):(i + 1) * len(folds)]
        failed = [o[0] for o in part if isinstance(o[0], _Failed)]
        ref_rows[name] = StudyStep(name, "defaults", np.array([o[2] for o in part]),
                                   fit_time=float(np.mean([o[3] for o in part])),
                                   kind="reference",
                                   details={"failed": [f.message for f in failed]},
                                   metrics=_metrics([o[4] for o in part]))
    ref_rows = {n: ref_rows[n] for n in references if n in ref_rows}  # table order
    trivial = next(iter(ref_rows.values()), None)

    # The baseline on every fold.
    saved_config = {}
    out = None if out is None else out[len(order) * len(folds):]
    failed = [o[0] for o in (out or []) if isinstance(o[0], _Failed)]
    if failed:
        runner.close()
        raise ValueError(f"the baseline MLP failed to fit: {failed[0].message}")
    if out is not None:
        for fold, (model, val, outer, seconds, metrics) in zip(folds, out):
            fold.config, fold.model, fold.val, fold.outer = {}, model, val, outer
            fold.seconds, fold.metrics = seconds, metrics
        scores = np.array([f.outer for f in folds])
        paired = (None if trivial is None
                  else paired_difference(scores, trivial.scores))
        steps.append(StudyStep("baseline", BASELINE_TEXT, scores, paired,
                               "trivial" if paired else "",
                               _verdict(paired, "better than trivial",
                                        "worse than trivial"),
                               float(np.mean([f.seconds for f in folds])), "baseline",
                               metrics=_metrics([f.metrics for f in folds])))

        for lever, candidates in levers:
            if runner.out_of_time():
                break
            row = _lever_step(lever, candidates, folds, build, fits, paired_difference,
                              measure)
            if row is None:
                break
            steps.append(row)
            runner.bar.update(row.details["skipped fits"])
            if row.decision == "kept":
                saved_config.update(candidates[row.details["saved choice"]])

    if out is not None and not runner.interrupted:
        # The saved model: the kept settings, fitted on all rows (even past the time
        # limit: one fit, and the result's models come from it).
        final = fits([build(saved_config)], [everything], force=True)
        if final is not None:
            if isinstance(final[0][0], _Failed):
                runner.close()
                raise ValueError("the chosen MLP failed to fit on all rows: "
                                 f"{final[0][0].message}")
            everything.config, everything.model = saved_config, final[0][0]
            everything.seconds = final[0][3]
    if everything.model is not None and not runner.out_of_time():
        student_row = _distillation_step(folds, everything, X, y,
                                         classification, random_state,
                                         paired_difference, runner, measure)
        if student_row is not None:
            steps.append(student_row)
    strong = next((n for n in references if n.startswith("TabularMLP")), None)
    ablated = {}
    if ablation and strong in ref_rows and everything.model is not None:
        for lever, params in ABLATIONS.items():
            if runner.out_of_time():
                break
            estimator = clone(references[strong]).set_params(**params)
            out = fits([estimator] * len(folds), folds, networks=False)
            if out is None:
                break
            scores = np.array([o[2] for o in out])
            # What switching the lever off does: below the noise, the lever helps.
            paired = paired_difference(scores, ref_rows[strong].scores)
            name = f"{strong} without {lever}"
            references[name] = estimator
            ablated[name] = StudyStep(
                name, _describe(params), scores, paired, strong,
                _verdict(paired, f"{lever} hurts here", f"{lever} helps here"),
                float(np.mean([o[3] for o in out])), "ablation",
                metrics=_metrics([o[4] for o in out]))

    chosen = next((s for s in reversed(steps) if s.kind in ("lever", "baseline")), None)
    best_scores = None if chosen is None else np.array([f.outer for f in folds])
    for row in ref_rows.values():
        if best_scores is not None:
            row.paired = paired_difference(row.scores, best_scores)
            row.against = "chosen MLP"
            row.decision = _verdict(row.paired, "better than the MLP",
                                    "worse than the MLP")
        if row.details.get("failed"):
            row.decision = f"failed: {row.details['failed'][0][:120]}"
    names = list(ref_rows)
    table = ([ref_rows[n] for n in names[:2]] + steps + [ref_rows[n] for n in names[2:]]
             + list(ablated.values()))
    student = next((s.estimator for s in steps if s.kind == "distillation"), None)
    recommendation = None
    if chosen is not None and everything.model is not None and not runner.stopped:
        mlp_seconds = float(np.mean([f.seconds for f in folds]))
        name, why = _recommend(mlp_seconds, best_scores, {**ref_rows, **ablated},
                               trivial, paired_difference, scoring)
        model = everything.model
        if name in references:  # a reference: fitted on all rows, as the MLP was
            runner.bar.total += 1  # a fit the plan could not foresee
            out = fits([references[name]], [everything], force=True, networks=False)
            fitted = _Failed("interrupted (Ctrl-C)") if out is None else out[0][0]
            if isinstance(fitted, _Failed):
                why = (f"{name} would be, but its fit on all rows failed "
                       f"({fitted.message[:120]})")
                name = "chosen MLP"
            else:
                model = fitted
        recommendation = (name, why, model)
    runner.close()
    # Levers whose winners never differed from the running best say nothing of it.
    widths = [s.paired.half_width for s in steps if s.kind == "lever"
              and s.paired is not None and s.paired.high > s.paired.low]
    detectable = float(np.median(widths)) if widths else None
    if detectable is not None:
        evaluation["smallest detectable gain"] = (
            f"{detectable:.4f} {scoring} (the median half-width of the "
            "levers' 95% intervals: a steady gain that large clears the keep rule)")
    evaluation["time (s)"] = round(time.perf_counter() - started, 1)
    evaluation["stopped by the time limit"] = runner.stopped and not runner.interrupted
    if runner.abandoned is not None:
        done, total = runner.abandoned
        evaluation["step left unfinished"] = (
            f"{done} of its {total} fits had finished; a step's fits are judged "
            "together, so they are not used")
    if runner.interrupted:
        evaluation["interrupted (Ctrl-C)"] = True
    result = StudyResult(task, table, everything.model, student, scoring, data,
                         evaluation)
    if recommendation is not None:
        result.recommended, result.recommended_model = recommendation[0], recommendation[2]
    result.summary = _summary(result, ref_rows, best_scores, runner.stopped,
                              runner.interrupted, recommendation, detectable)
    return result


def _metrics(per_fold):
    """``{pair metric: per-fold array}`` from the folds' metric dicts."""
    names = list(dict.fromkeys(n for m in per_fold for n in m))  # a failed fold: {}
    return {n: np.array([m.get(n, np.nan) for m in per_fold]) for n in names}


def _lever_step(lever, candidates, folds, build, fits, paired_difference, measure):
    """Fit ``candidates`` over each fold's running best on every outer fold, select
    each fold's winner by its validation value, judge the winners against the running
    best (paired), and update the folds' running best when the lever is kept. The
    saved model's choice is the candidate with the best mean validation value over
    the folds (when kept, among the candidates). None when the time limit stopped
    the fits."""
    jobs, where, index = [], [], []
    for f, fold in enumerate(folds):
        for c, candidate in enumerate(candidates):
            if not _same(fold.config, candidate):
                jobs.append(build({**fold.config, **candidate}))
                where.append(fold)
                index.append((f, c))
    out = fits(jobs, where)
    if out is None:
        return None
    skipped = len(candidates) * len(folds) - len(jobs)
    by_fold = {f: {} for f in range(len(folds))}
    for (f, c), result in zip(index, out):
        by_fold[f][c] = result
    winners, values = [], np.full((len(folds), len(candidates) + 1), np.nan)
    for f, fold in enumerate(folds):
        best = (None, (fold.model, fold.val, fold.outer, fold.seconds, fold.metrics))
        values[f, -1] = fold.val
        for c in range(len(candidates)):
            result = by_fold[f].get(c)
            if result is None:  # equal to the running best: its value
                values[f, c] = fold.val
                continue
            values[f, c] = result[1]
            if result[1] > best[1][1]:  # ties keep the running best
                best = (c, result)
        winners.append(best)
    scores = np.array([w[1][2] for w in winners])
    before = np.array([f.outer for f in folds])
    paired = paired_difference(scores, before)
    kept = paired.above_noise
    with warnings.catch_warnings():  # a candidate failed on every fold: -inf, or NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(np.where(np.isfinite(values), values, -np.inf), axis=0)
    options = list(range(len(candidates))) + ([] if kept else [None])
    # Ties: the running best first, then the earlier candidate.
    choice = max(options, key=lambda c: (means[-1 if c is None else c], c is None,
                                         -(c or 0)))
    n_same = sum(w[0] == choice for w in winners)
    K = len(folds)
    if choice is None:
        setting = (f"no change (the running best has the best mean {measure.selection} "
                   f"over the folds; it won on {n_same}/{K} folds)")
    else:
        setting = (_describe(candidates[choice])
                   + f" (best mean {measure.selection} over the folds; chosen on "
                   f"{n_same}/{K} folds)")
        if not kept:
            setting = "not applied; best candidate: " + setting
    failed = [r[0] for f in by_fold.values() for r in f.values()
              if isinstance(r[0], _Failed)]
    if failed:
        setting += (f"; {len(failed)} of {len(jobs)} fits failed, never chosen "
                    f"({failed[0].message[:120]})")
    seconds = [r[3] for f in by_fold.values() for r in f.values()] or [0.0]
    if kept:
        for fold, (c, (model, val, outer, sec, metrics)) in zip(folds, winners):
            if c is not None:
                fold.config = {**fold.config, **candidates[c]}
                fold.model, fold.val, fold.outer, fold.seconds = model, val, outer, sec
                fold.metrics = metrics
    decision = ("kept" if kept else "not kept: " + (
        "worse" if paired.below_noise else
        "no difference" if paired.low == paired.high == 0 else "within noise"))
    return StudyStep(lever, setting, scores, paired, "running best", decision,
                     float(np.mean(seconds)), "lever",
                     details={"per-fold choices": [w[0] for w in winners],
                              "saved choice": choice, "skipped fits": skipped},
                     metrics=_metrics([w[1][4] for w in winners]))


def _recommend(mlp_seconds, best_scores, ref_rows, trivial, paired_difference, scoring):
    """``(name, why)``: among the chosen MLP and the references (the trivial one
    apart) whose scores are within noise of the best row's, the cheapest to fit (its
    seconds per fit): a tie is a tie, and the cheaper model then wins it."""
    rows = {"chosen MLP": (best_scores, mlp_seconds)}
    rows.update({n: (r.scores, r.fit_time) for n, r in ref_rows.items()
                 if r is not trivial and np.all(np.isfinite(r.scores))})
    best = max(rows, key=lambda n: np.mean(rows[n][0]))
    tied = {n: paired_difference(rows[n][0], rows[best][0]) for n in rows if n != best}
    tied = {n: p for n, p in tied.items() if not p.below_noise}
    seconds = {n: rows[n][1] for n in [best, *tied]}
    name = min(seconds, key=lambda n: (seconds[n], n != best))
    if name == best:
        why = (f"{best} has the best mean outer {scoring}"
               + ("" if not tied else " and fits fastest of the rows within noise of it"))
    else:
        ratio = seconds[best] / max(seconds[name], 1e-9)
        why = (f"{name} is within noise of the best row, {best} ({name} - {best} = "
               f"{tied[name]}), and fits "
               + (f"{ratio:.0f}x faster" if ratio >= 1.5 else "a little faster"))
    return name, why


def _verdict(paired, better, worse):
    if paired is None:
        return ""
    if paired.low == paired.high == 0:
        return "no difference"
    if paired.above_noise:
        return better
    if paired.below_noise:
        return worse
    return "within noise"


def _distillation_step(folds, everything, X, y, classification,
                       random_state, paired_difference, runner, measure):
    """Distil each fold's running best into a student a quarter of its width (plain:
    no embedding, one member) and judge it against that teacher on the outer rows."""
    def smaller(model):
        sizes = _unwrap(model).hidden_layer_sizes
        sizes = tuple(sizes) if hasattr(sizes, "__iter__") else (sizes,)
        return tuple(max(4, s // _STUDENT_SHRINK) for s in sizes)

    small = smaller(everything.model)
    calls = []
    for fold in folds + [everything]:
        # The student reads the teacher's fitted preprocessing (frozen): the same
        # inputs, and the columns dropped as IDs stay dropped on the transfer rows,
        # where copied names are no longer unique. Each fold's teacher has its own
        # structure, and its student a quarter of it.
        teacher = fold.model if classification else fold.model.regressor_
        student = Pipeline([
            ("prep", FrozenEstimator(teacher["prep"])),
            ("mlp", clone(teacher["mlp"]).set_params(
                hidden_layer_sizes=smaller(fold.model), num_embedding=None,
                n_ensemble=1))])
        calls.append((_distill, (fold.model, student, X, y, fold, classification,
                                 random_state, measure)))
    out = runner.run(calls, fits_per_call=DISTILL_FITS)
    if out is None:
        return None
    details = [o[2] for o in out[:-1]]
    scores = np.array([d["outer"] for d in details])
    teacher = np.array([f.outer for f in folds])
    paired = paired_difference(scores, teacher)
    student = out[-1][0]
    n_student, n_teacher = _n_params(student), _n_params(everything.model)
    fidelity = float(np.mean([d["fidelity"] for d in details]))
    predict = float(np.median([d["predict ratio"] for d in details]))
    setting = (f"student {small}: {n_student:,} parameters, {n_student / n_teacher:.2f}x "
               f"the teacher's {n_teacher:,}; predict time {predict:.2f}x the teacher's; "
               f"teacher {teacher.mean():.4f}, fidelity {fidelity:.3f}")
    decision = ("LOSS: worse than its teacher" if paired.below_noise
                else "better than its teacher" if paired.above_noise
                else "within noise of its teacher")
    return StudyStep("distillation", setting, scores, paired, "teacher", decision,
                     float(np.mean([o[1] for o in out])), "distillation", student,
                     {"teacher scores": teacher, "fidelity": fidelity,
                      "parameter ratio": n_student / n_teacher, "predict ratio": predict},
                     _metrics([d["metrics"] for d in details]))


def _summary(result, ref_rows, best_scores, stopped, interrupted=False,
             recommendation=None, detectable=None):
    """The report's first lines: the verdict a user reads before the table."""
    lines = []
    if stopped:
        lines.append(("Interrupted (Ctrl-C)" if interrupted else "The time limit stopped "
                      "the study") + "; the table holds the steps that finished.")
    if best_scores is None:
        lines.append("No MLP was evaluated.")
        return lines
    if result.best_estimator is None:
        lines.append("No model was saved: the study was interrupted before the chosen "
                     "MLP's fit on all rows.")
    mlp = float(np.mean(best_scores))
    scored = {n: r for n, r in ref_rows.items() if np.isfinite(r.mean)}
    if scored:
        name, best = max(scored.items(), key=lambda kv: kv[1].mean)
        gap = (f"{name} - MLP = {best.paired}, "
               + ("above the noise" if best.paired.above_noise else
                  "below the noise" if best.paired.below_noise else "within noise"))
        if best.mean >= mlp:
            lines.append(f"The chosen MLP ({mlp:.4f}) does not beat the best reference, "
                         f"{name} ({best.mean:.4f}; {gap}).")
        else:
            lines.append(f"The chosen MLP ({mlp:.4f}) is ahead of the best reference, "
                         f"{name} ({best.mean:.4f}; {gap}).")
    if recommendation is not None:
        name, why = recommendation[:2]
        lines.append(f"Recommended: {name}, fitted on all rows and saved with the "
                     f"report: {why}.")
    network = (None if result.best_estimator is None
               else _unwrap(result.best_estimator))
    if network is not None and network.n_iter_ >= network.max_iter:
        lines.append(
            f"The saved MLP trained for all max_iter={network.max_iter} epochs: its "
            f"validation loss was still improving within the last "
            f"{network.n_iter_no_change} epochs, so it may not have converged (the "
            "'full' budget allows more epochs).")
    kept = [s.name for s in result.steps if s.kind == "lever" and s.decision == "kept"]
    lines.append("Levers kept: " + (", ".join(kept) if kept else "none") + "."
                 + ("" if detectable is None else
                    f" On these folds a lever had to gain about {detectable:.4f} "
                    f"{result.scoring}, steadily, to be kept (the median half-width of "
                    "the levers' 95% intervals): smaller real gains read as noise."))
    student = next((s for s in result.steps if s.kind == "distillation"), None)
    if student is not None:
        lines.append(f"Distillation: {student.decision} ({student.paired}).")
    ablated = [s for s in result.steps if s.kind == "ablation"]
    if ablated:
        lines.append(f"Switched off one at a time in {ablated[0].against}: " + "; ".join(
            f"{s.name.split(' without ', 1)[1]}: {s.decision} (off - on = {s.paired})"
            for s in ablated) + ".")
    return lines
