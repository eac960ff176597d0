"""The optimization study: from a baseline MLP, each lever kept only when its gain on
outer folds beats the noise, then a distilled student, all against trivial and strong
references (``sklopt study`` on the command line); and scikit-learn's searches and
cross-validation with the networks of all candidates and folds trained in one pass."""

from ._data import DATASETS, load_builtin, load_csv
from ._optuna import optuna_search
from ._report import write_report
from ._search import GridSearchCV, RandomizedSearchCV, cross_validate
from ._plan import ABLATIONS, BUDGETS, LEVERS, planned_fits
from ._study import StudyResult, StudyStep, run_study

__all__ = ["ABLATIONS", "BUDGETS", "DATASETS", "GridSearchCV", "LEVERS", "RandomizedSearchCV",
           "StudyResult", "StudyStep", "cross_validate", "load_builtin", "load_csv",
           "optuna_search", "planned_fits", "run_study", "write_report"]
