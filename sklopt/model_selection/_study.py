"""The optimization study: from a baseline MLP, walk the levers one at a time, each a
cross-validated grid search built from scikit-learn's own tools, keeping each winner;
finally distil the best model into a smaller student."""

import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..distillation import DistilledClassifier, DistilledRegressor
from ..neural_network import MLPClassifier, MLPRegressor
from ..preprocessing import GaussianNoise, MinMaxScaler, SwapNoise
from ..utils._progress import progress_bar
from ._data import make_preprocessor

#: Cost settings of the study (budget name -> folds, epochs, grid size, halving
#: search). "smoke" is for tests and first tries.
BUDGETS = {
    "smoke": {"cv": 2, "max_iter": 15, "grids": "quick", "halving": False},
    "quick": {"cv": 5, "max_iter": 200, "grids": "quick", "halving": False},
    "full": {"cv": 5, "max_iter": 300, "grids": "full", "halving": True},
}


def _lever_grids(kind):
    """The levers, in the order the study walks them (lever -> param grid of the
    pipeline ``prep`` -> ``mlp``); ``kind`` is 'quick' or 'full'. Every grid holds the
    baseline's own setting, so a step can only keep or improve the score."""
    quick = kind == "quick"
    return {
        "structure": {"mlp__hidden_layer_sizes": (
            [(32,), (64,), (128,), (256,), (64, 64), (128, 64)] if quick
            else [(32,), (64,), (128,), (256,), (64, 64), (128, 64), (128, 128, 64)])},
        "activation & init": (
            {"mlp__activation": ["relu", "tanh", "gelu"], "mlp__init": ["auto", "orthogonal"]}
            if quick
            else {"mlp__activation": ["relu", "tanh", "gelu", "selu", "silu"],
                  "mlp__init": ["auto", "xavier_uniform", "orthogonal"]}),
        "optimizer & learning rate": (
            [{"mlp__solver": ["adam"], "mlp__learning_rate_init": [1e-3, 3e-3]},
             {"mlp__solver": ["sgd"], "mlp__learning_rate_init": [0.05]}] if quick
            else [{"mlp__solver": ["adam", "adamw", "rmsprop"],
                   "mlp__learning_rate_init": [3e-4, 1e-3, 3e-3],
                   "mlp__learning_rate": ["constant", "cosine"]},
                  {"mlp__solver": ["sgd"], "mlp__learning_rate_init": [0.01, 0.05, 0.1],
                   "mlp__learning_rate": ["constant", "cosine"]}]),
        "preprocessing & augmentation": [
            {"prep__num__scale": [MinMaxScaler(), "passthrough",
                                  MinMaxScaler(quantile_range=(1.0, 99.0), clip=True)]
             + ([] if quick else [StandardScaler()])},
            {"mlp__augment": [GaussianNoise(0.05), SwapNoise(0.1)]
             + ([] if quick else [GaussianNoise(0.1), SwapNoise(0.2)])},
        ],
        "regularization": [
            {"mlp__alpha": [1e-4, 1e-2] if quick else [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]},
            {"mlp__penalty": ["l1"], "mlp__alpha": [1e-4] if quick else [1e-5, 1e-4]},
            {"mlp__dropout": [0.2] if quick else [0.1, 0.2, 0.4]},
        ],
    }


def _distill_grid(kind, classification):
    if classification:
        return ({"temperature": [3.0], "soft_weight": [0.7]} if kind == "quick"
                else {"temperature": [2.0, 4.0], "soft_weight": [0.5, 0.9]})
    return {"soft_weight": [0.7]} if kind == "quick" else {"soft_weight": [0.5, 0.9]}


@dataclass
class StudyStep:
    """One row of the study's table."""

    lever: str
    setting: str
    mean: float
    std: float
    change: float
    fit_time: float
    kept: bool = True
    cv_results: pd.DataFrame = field(default=None, repr=False)
    estimator: object = field(default=None, repr=False)


@dataclass
class StudyResult:
    """What :func:`run_study` found."""

    task: str
    steps: list
    best_estimator: object
    student: object
    scoring: str

    def table(self):
        """The study's table as a DataFrame."""
        return pd.DataFrame([{
            "lever": s.lever, "best setting": s.setting,
            "CV score": f"{s.mean:.4f} +/- {s.std:.4f}", "vs baseline": f"{s.change:+.4f}",
            "fit time (s)": f"{s.fit_time:.1f}",
        } for s in self.steps])


def _format(value):
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "get_params"):
        return re.sub(r"\s+", "", repr(value))
    return str(value)


def _describe(params):
    return ", ".join(f"{k.split('__', 1)[-1]}={_format(v)}" for k, v in params.items())


def _n_params(pipeline):
    mlp = pipeline[-1]
    return sum(c.size for c in mlp.coefs_) + sum(b.size for b in mlp.intercepts_)


def _search(estimator, grid, cv, n_jobs, halving, scoring):
    if halving:
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV

        return HalvingGridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs, refit=True,
                                   scoring=scoring, random_state=0)
    return GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs, refit=True,
                        scoring=scoring, error_score="raise")


def run_study(X, y, *, task="classification", budget="quick", n_jobs=None,
              random_state=0, device="auto", verbose=True):
    """Run the optimization study on ``(X, y)``.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Features; non-numeric columns are one-hot encoded, missing values imputed.
    y : array-like of shape (n_samples,)
        Target.
    task : {'classification', 'regression'}, default='classification'
    budget : {'smoke', 'quick', 'full'}, default='quick'
        Cost: folds, epochs and grid sizes (see ``BUDGETS``); 'full' uses
        ``HalvingGridSearchCV``.
    n_jobs : int, default=None
        Parallel fits of each search (joblib; under a Dask backend they run on the
        cluster).
    random_state : int, default=0
        Seed of every network, so that the study is repeatable.
    device : str, default='auto'
        Training device of the networks.
    verbose : bool, default=True
        A progress bar over the steps, and each step's row as it finishes.

    Returns
    -------
    result : StudyResult
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {sorted(BUDGETS)}; got {budget!r}.")
    settings = BUDGETS[budget]
    classification = task == "classification"
    X = pd.DataFrame(X)
    X.columns = [str(c) for c in X.columns]
    y = pd.Series(np.asarray(y))
    net = (MLPClassifier if classification else MLPRegressor)(
        hidden_layer_sizes=(64,), max_iter=settings["max_iter"], random_state=random_state,
        device=device)
    pipeline = Pipeline([("prep", make_preprocessor(X)), ("mlp", net)])
    cv = check_cv(settings["cv"], y, classifier=classification)
    scoring = "accuracy" if classification else "r2"

    steps = []
    grids = _lever_grids(settings["grids"])
    bar = progress_bar(total=len(grids) + 2, desc="sklopt study", unit="step",
                       disable=not verbose)

    def report(step):
        steps.append(step)
        if verbose:
            bar.write(f"{step.lever:30s} {step.mean:.4f} +/- {step.std:.4f} "
                      f"({step.change:+.4f})  {step.setting}")
        bar.update(1)

    with warnings.catch_warnings():
        # The epoch budget is fixed by the budget; not converging within it is expected.
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        search = _search(pipeline, {"mlp__hidden_layer_sizes": [(64,)]}, cv, n_jobs,
                         False, scoring).fit(X, y)
        base = search.cv_results_
        baseline = float(base["mean_test_score"][0])
        best_score = baseline
        report(StudyStep("baseline", "MLP (64,), relu, adam, MinMaxScaler", baseline,
                         float(base["std_test_score"][0]), 0.0,
                         time.perf_counter() - t0, True, pd.DataFrame(base),
                         search.best_estimator_))

        for lever, grid in grids.items():
            t0 = time.perf_counter()
            search = _search(pipeline, grid, cv, n_jobs, settings["halving"],
                             scoring).fit(X, y)
            res = search.cv_results_
            i = search.best_index_
            score, std = float(res["mean_test_score"][i]), float(res["std_test_score"][i])
            kept = score > best_score
            if kept:
                pipeline = clone(pipeline).set_params(**search.best_params_)
                best_score = score
                setting = _describe(search.best_params_)
                estimator = search.best_estimator_
            else:
                setting = "no change (best: " + _describe(search.best_params_) + ")"
                score, std = best_score, steps[-1].std
                estimator = steps[-1].estimator
            report(StudyStep(lever, setting, score, std, score - baseline,
                             time.perf_counter() - t0, kept, pd.DataFrame(res), estimator))
        best_estimator = steps[-1].estimator

        # Distillation: the best model teaches a student of a quarter of its width.
        t0 = time.perf_counter()
        sizes = best_estimator[-1].hidden_layer_sizes
        small = tuple(max(4, s // 4) for s in (sizes if hasattr(sizes, "__iter__")
                                               else [sizes]))
        student = clone(pipeline).set_params(mlp__hidden_layer_sizes=small)
        distiller = (DistilledClassifier if classification else DistilledRegressor)(
            teacher=clone(pipeline), student=student, random_state=random_state)
        search = _search(distiller, _distill_grid(settings["grids"], classification),
                         cv, n_jobs, False, scoring).fit(X, y)
        res = search.cv_results_
        i = search.best_index_
        score = float(res["mean_test_score"][i])
        fitted_student = search.best_estimator_.student_
        setting = (f"student {small} ({_n_params(fitted_student)} parameters vs "
                   f"{_n_params(best_estimator)}), " + _describe(search.best_params_))
        report(StudyStep("distillation", setting, score, float(res["std_test_score"][i]),
                         score - baseline, time.perf_counter() - t0, True,
                         pd.DataFrame(res), search.best_estimator_))
    bar.close()
    return StudyResult(task, steps, best_estimator, search.best_estimator_, scoring)
