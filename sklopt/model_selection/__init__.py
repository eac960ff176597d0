"""The optimization study: from a baseline MLP, each lever kept only when its gain on
outer folds beats the noise, then a distilled student, all against trivial and strong
references (``sklopt study`` on the command line)."""

from ._data import DATASETS, load_builtin, load_csv
from ._optuna import optuna_search
from ._report import write_report
from ._plan import BUDGETS, LEVERS, planned_fits
from ._study import StudyResult, StudyStep, run_study

__all__ = ["BUDGETS", "DATASETS", "LEVERS", "StudyResult", "StudyStep", "load_builtin",
           "load_csv", "optuna_search", "planned_fits", "run_study", "write_report"]
