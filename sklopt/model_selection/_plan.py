"""What the study runs: its budgets, the levers and their candidates, the baseline,
the references, and how many fits that makes. Each table is the one place to change."""

from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..neural_network import (MLPClassifier, MLPRegressor, TabularMLPClassifier,
                              TabularMLPRegressor)
from ..neural_network._tabular import DEFAULTS as TABULAR_DEFAULTS
from ..preprocessing import (GaussianNoise, MinMaxScaler, SmoothClipScaler, SwapNoise,
                             TabularPreprocessor)
from ._data import make_preprocessor

#: Cost settings of the study: outer folds and their repeats (each with another
#: shuffle: more paired differences, a sharper keep rule, as many times the fits), the
#: networks' epoch cap, which candidate lists of :data:`LEVERS` to walk, and the
#: TabularMLP reference's epoch cap (None: its own default).
BUDGETS = {
    "smoke": {"folds": 3, "repeats": 1, "max_iter": 15, "levers": "smoke",
              "tabular_max_iter": 15, "ablation": False},
    "quick": {"folds": 5, "repeats": 1, "max_iter": 200, "levers": "quick",
              "tabular_max_iter": None, "ablation": False},
    "full": {"folds": 5, "repeats": 2, "max_iter": 300, "levers": "full",
             "tabular_max_iter": None, "ablation": True},
}

#: The ablation of the strong default: each of TabularMLP's levers switched off on
#: its own (lever -> TabularMLP parameters), on the same outer folds, to read what
#: each buys on the table (the ``full`` budget, or ``ablation=True``).
ABLATIONS = {
    "numerical embeddings": {"num_embedding": "none"},
    "the ensemble": {"n_ensemble": 1},
    # (its first hidden layer alone)
    "the second layer": {"hidden_layer_sizes": TABULAR_DEFAULTS["hidden_layer_sizes"][:1]},
    "dropout": {"dropout": 0.0},
    "weight decay": {"alpha": 0.0},
    "early stopping": {"early_stopping": False},
}

#: The levers, in the order the study walks them: lever -> budget -> candidates, each a
#: dict of parameters of the pipeline ``prep`` (TabularPreprocessor) -> ``mlp``, set
#: over the running best. The running best itself is always a candidate too.
LEVERS = {
    "structure": {
        "smoke": [{"mlp__hidden_layer_sizes": (16,)}],
        "quick": [{"mlp__hidden_layer_sizes": h} for h in [(32,), (128,), (128, 64)]],
        "full": [{"mlp__hidden_layer_sizes": h}
                 for h in [(32,), (128,), (256,), (64, 64), (128, 64), (128, 128, 64)]],
    },
    "activation & init": {
        "smoke": [{"mlp__activation": "tanh"}],
        "quick": [{"mlp__activation": "tanh"}, {"mlp__activation": "gelu"},
                  {"mlp__init": "orthogonal"}],
        "full": [{"mlp__activation": a} for a in ["tanh", "gelu", "selu", "silu"]]
        + [{"mlp__init": i} for i in ["xavier_uniform", "orthogonal", "he_normal"]],
    },
    "optimizer & learning rate": {
        "smoke": [{"mlp__learning_rate_init": 3e-3}],
        "quick": [{"mlp__learning_rate_init": 3e-3},
                  {"mlp__solver": "adamw", "mlp__learning_rate": "cosine"},
                  {"mlp__solver": "sgd", "mlp__learning_rate_init": 0.05}],
        "full": [{"mlp__learning_rate_init": lr} for lr in [3e-4, 3e-3]]
        + [{"mlp__solver": s, "mlp__learning_rate": "cosine"} for s in ["adam", "adamw"]]
        + [{"mlp__solver": "rmsprop"},
           {"mlp__solver": "sgd", "mlp__learning_rate_init": 0.05},
           {"mlp__solver": "sgd", "mlp__learning_rate_init": 0.05,
            "mlp__learning_rate": "cosine"}],
    },
    "preprocessing & augmentation": {
        "smoke": [{"prep__scaler": SmoothClipScaler()}],
        "quick": [{"prep__scaler": SmoothClipScaler()},
                  {"prep__scaler": StandardScaler()},
                  {"mlp__augment": GaussianNoise(0.05)},
                  {"mlp__augment": SwapNoise(0.1)}],
        "full": [{"prep__scaler": s} for s in [
            SmoothClipScaler(), StandardScaler(),
            MinMaxScaler(quantile_range=(1.0, 99.0), clip=True)]]
        + [{"mlp__augment": a} for a in [GaussianNoise(0.05), GaussianNoise(0.1),
                                         SwapNoise(0.1), SwapNoise(0.2)]],
    },
    "regularization": {
        "smoke": [{"mlp__alpha": 1e-2}],
        "quick": [{"mlp__alpha": 1e-2}, {"mlp__penalty": "l1", "mlp__alpha": 1e-4},
                  {"mlp__dropout": 0.2}],
        "full": [{"mlp__alpha": a} for a in [1e-5, 1e-3, 1e-2, 1e-1]]
        + [{"mlp__penalty": "l1", "mlp__alpha": a} for a in [1e-5, 1e-4]]
        + [{"mlp__dropout": d} for d in [0.1, 0.2, 0.4]]
        + [{"mlp__label_smoothing": 0.1}],
    },
    "embeddings & ensembling": {
        "smoke": [{"mlp__n_ensemble": 2}],
        "quick": [{"mlp__num_embedding": "piecewise_linear"}, {"mlp__n_ensemble": 8}],
        "full": [{"mlp__num_embedding": e} for e in ["piecewise_linear", "periodic"]]
        + [{"mlp__n_ensemble": k} for k in [4, 8]]
        + [{"mlp__num_embedding": "piecewise_linear", "mlp__n_ensemble": 8}],
    },
}

#: The baseline the walk starts from (besides ``max_iter``, ``random_state`` and
#: ``device``): early stopping on the validation loss of a fifth of each training
#: part, best epoch restored; the candidates of a step are compared by their score on
#: those validation rows. It trains in float32 (the preprocessing hands over float64,
#: which would train in float64 at about twice the time of the study's networks).
BASELINE = {"hidden_layer_sizes": (64,), "early_stopping": True,
            "early_stopping_on": "loss", "validation_fraction": 0.2,
            "n_iter_no_change": 20, "precision": "float32"}
BASELINE_TEXT = "MLP (64,), relu, adam, float32, numeric columns scaled to [0, 1]"

# Width divisor of the distilled student, and the distillers' settings: 3 folds of
# out-of-fold teacher outputs and a transfer set 4x the rows (half the cost of the
# distillers' defaults, which the study runs six times).
_STUDENT_SHRINK = 4
_DISTILL = {"cv": 3, "n_transfer": 4}


def _references(classification, random_state, device, tabular_max_iter):
    """The references: name -> estimator (trivial and linear first in the table, the
    strong ones last)."""
    tab = (TabularMLPClassifier if classification else TabularMLPRegressor)(
        max_iter=tabular_max_iter, random_state=random_state, device=device)
    if classification:
        return {
            "trivial (class prior)": DummyClassifier(strategy="prior"),
            "logistic regression": Pipeline([("prep", TabularPreprocessor()), (
                "model", LogisticRegression(max_iter=1000))]),
            "hist gradient boosting": Pipeline([("prep", TabularPreprocessor()), (
                "model", HistGradientBoostingClassifier(random_state=random_state))]),
            "TabularMLPClassifier": tab,
        }
    return {
        "trivial (mean)": DummyRegressor(),
        "ridge": Pipeline([("prep", TabularPreprocessor()), ("model", Ridge())]),
        "hist gradient boosting": Pipeline([("prep", TabularPreprocessor()), (
            "model", HistGradientBoostingRegressor(random_state=random_state))]),
        "TabularMLPRegressor": tab,
    }


def _pipeline(task, settings=None, random_state=0, device="auto"):
    """The baseline pipeline ``prep`` -> ``mlp`` of the study."""
    settings = settings or BUDGETS["smoke"]
    mlp = (MLPClassifier if task == "classification" else MLPRegressor)(
        **BASELINE, max_iter=settings["max_iter"], random_state=random_state,
        device=device)
    return Pipeline([("prep", make_preprocessor()), ("mlp", mlp)])


def _lever_candidates(budget, levers, task="classification"):
    """``[(lever, candidates)]`` the study walks: :data:`LEVERS` for ``budget`` (the
    options the task's network has: label smoothing is for classifiers), or the
    user's ``levers`` (lever name -> list of parameter dicts), checked."""
    known = set(_pipeline(task).get_params())
    if levers is None:
        return [(name, [c for c in table[BUDGETS[budget]["levers"]] if set(c) <= known])
                for name, table in LEVERS.items()]
    if not isinstance(levers, dict) or not all(
            isinstance(c, (list, tuple)) and all(isinstance(p, dict) for p in c)
            for c in levers.values()):
        raise ValueError("levers must be a dict of lever name -> list of parameter "
                         "dicts (e.g. {'width': [{'mlp__hidden_layer_sizes': (128,)}]}).")
    unknown = sorted({k for c in levers.values() for p in c for k in p} - known)
    if unknown:
        raise ValueError(f"levers name parameters the study's pipeline lacks: {unknown}; "
                         "its parameters are 'prep__*' and 'mlp__*' (for instance "
                         "'mlp__hidden_layer_sizes').")
    return [(str(name), list(c)) for name, c in levers.items()]


#: Network fits of one distillation: its out-of-fold teachers, the student, and the
#: same student on the labels alone (the distiller's scratch comparison).
DISTILL_FITS = _DISTILL["cv"] + 2


def planned_fits(budget, n_folds=None, levers=None, task="classification",
                 ablation=None, repeats=None):
    """How many fits :func:`run_study` runs with ``budget`` (``n_folds``: outer folds
    times repeats): four references, the baseline and every lever's candidates on
    each outer fold (a candidate equal to the running best is not refitted, so a few
    may be skipped), the chosen MLP on all rows, the distillation
    (:data:`DISTILL_FITS` network fits) on each outer fold and on all rows, and with
    ``ablation`` (None: the budget's) each of :data:`ABLATIONS` on each outer fold.
    ``repeats`` (None: the budget's) counts when ``n_folds`` is None."""
    settings = BUDGETS[budget]
    repeats = settings["repeats"] if repeats is None else repeats
    n_folds = settings["folds"] * repeats if n_folds is None else n_folds
    candidates = sum(len(c) for _, c in _lever_candidates(budget, levers, task))
    ablation = settings["ablation"] if ablation is None else ablation
    return (n_folds * (4 + 1 + candidates + (len(ABLATIONS) if ablation else 0)) + 1
            + (n_folds + 1) * DISTILL_FITS)
