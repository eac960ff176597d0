"""The optimization study: each lever a cross-validated search, from a baseline MLP to a
distilled student (``sklopt study`` on the command line)."""

from ._data import DATASETS, load_builtin, load_csv
from ._optuna import optuna_search
from ._report import write_report
from ._study import BUDGETS, StudyResult, StudyStep, run_study

__all__ = ["BUDGETS", "DATASETS", "StudyResult", "StudyStep", "load_builtin", "load_csv",
           "optuna_search", "run_study", "write_report"]
