"""Find the sklopt network inside an estimator: the one lookup that the Displays,
:func:`~sklopt.inspection.feature_attributions` and the study use.

The walk goes from the outside in, through any nesting of:

* a sklopt network (``MLPClassifier`` / ``MLPRegressor``, any ``BaseMLP``): the end;
* ``TabularMLPClassifier`` / ``TabularMLPRegressor``: their ``pipeline_``
  (``TabularPreprocessor`` then the network; the regressor's network learns the
  standardised target);
* a :class:`~sklearn.pipeline.Pipeline`: its steps before the last are the
  preprocessing, the last is walked on;
* a fitted search (``GridSearchCV``, ``RandomizedSearchCV``, ``OptunaSearchCV``, ...):
  its ``best_estimator_``;
* ``DistilledClassifier`` / ``DistilledRegressor``: their ``student_`` (itself a
  network or a Pipeline ending in one), which trained on the distillation loss;
* :class:`~sklearn.compose.TransformedTargetRegressor`: its ``regressor_``, which
  learns the transformed target;
* :class:`~sklearn.frozen.FrozenEstimator`: the estimator it freezes.
"""

from typing import NamedTuple

from sklearn.base import is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..distillation import DistilledClassifier, DistilledRegressor
from ..neural_network import TabularMLPClassifier, TabularMLPRegressor
from ..neural_network._base import BaseMLP

ACCEPTED = (
    "a fitted sklopt MLPClassifier / MLPRegressor or TabularMLPClassifier / "
    "TabularMLPRegressor, or one inside a Pipeline (as its last step), a "
    "DistilledClassifier / DistilledRegressor (its student), a "
    "TransformedTargetRegressor, a FrozenEstimator or a fitted search (its best "
    "estimator), nested to any depth"
)


class FoundNetwork(NamedTuple):
    """What :func:`find_network` found.

    Attributes
    ----------
    steps : list of (str, transformer)
        The preprocessing between the user's ``X`` and the network, in order
        (``None`` and ``"passthrough"`` steps left out): ``X`` goes through each
        step's ``transform``, then into the network.
    network : BaseMLP
        The sklopt network (``MLPClassifier`` / ``MLPRegressor``).
    distilled : bool
        Reached through a distiller's student: it trained on the distillation loss
        (the teacher's blend), not on the plain loss of ``y``.
    transformed_target : bool
        Reached through a ``TransformedTargetRegressor`` or a ``TabularMLPRegressor``:
        the network's outputs (and its training loss) are on the transformed
        (standardised) target's scale, not on the scale of ``y``.
    """

    steps: list
    network: BaseMLP
    distilled: bool = False
    transformed_target: bool = False


def _is_search(estimator):
    return (isinstance(estimator, BaseSearchCV) or hasattr(estimator, "best_estimator_")
            or (hasattr(estimator, "estimator") and (hasattr(estimator, "param_grid") or
                                                     hasattr(estimator, "param_distributions"))))


def _not_fitted(seen, what):
    return NotFittedError(
        f"This {type(seen).__name__} instance is not fitted yet ({what}); fit it before "
        "looking at its network."
    )


def _is_passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def find_network(estimator, *, fitted=True):
    """The sklopt network inside ``estimator``, and the preprocessing before it.

    Parameters
    ----------
    estimator : estimator
        A sklopt network, or an estimator that holds one (see the module docstring
        for the wrappers walked through).
    fitted : bool, default=True
        True: walk the fitted attributes (``best_estimator_``, ``student_``,
        ``regressor_``) and check that the network and every preprocessing step are
        fitted. False: walk the parameters instead (``estimator``, ``student``,
        ``regressor``), for an estimator not fitted yet; a distiller with
        ``student=None`` gives a new default student, and a TabularMLP* has no network
        before its fit.

    Returns
    -------
    found : FoundNetwork
        ``(steps, network, distilled, transformed_target)``.

    Raises
    ------
    NotFittedError
        ``fitted=True`` and a wrapper, a preprocessing step or the network is not
        fitted (or a TabularMLP* is not fitted, whatever ``fitted``).
    TypeError
        No sklopt network inside ``estimator``; the message names what is accepted.
    """
    steps, seen, distilled, transformed = [], estimator, False, False
    while not isinstance(seen, BaseMLP):
        if isinstance(seen, (TabularMLPClassifier, TabularMLPRegressor)):
            if not hasattr(seen, "pipeline_"):
                raise _not_fitted(seen, "it builds its network in fit")
            transformed = transformed or is_regressor(seen)  # a standardised target
            seen = seen.pipeline_
        elif isinstance(seen, Pipeline):
            steps += [(name, step) for name, step in seen.steps[:-1]
                      if not _is_passthrough(step)]
            seen = seen.steps[-1][1]
        elif isinstance(seen, (DistilledClassifier, DistilledRegressor)):
            if fitted:
                if not hasattr(seen, "student_"):
                    raise _not_fitted(seen, "no student_")
                seen = seen.student_
            else:
                seen = seen._default_student() if seen.student is None else seen.student
            distilled = True
        elif isinstance(seen, TransformedTargetRegressor):
            if fitted and not hasattr(seen, "regressor_"):
                raise _not_fitted(seen, "no regressor_")
            seen = seen.regressor_ if fitted else seen.regressor
            transformed = True
        elif isinstance(seen, FrozenEstimator):
            seen = seen.estimator
        elif _is_search(seen):
            if fitted:
                if not hasattr(seen, "best_estimator_"):
                    raise _not_fitted(seen, "no best_estimator_: fit it, with refit=True")
                seen = seen.best_estimator_
            else:
                seen = seen.estimator
        else:
            inner = "" if seen is estimator else f" (it ends in {type(seen).__name__})"
            raise TypeError(
                f"{type(estimator).__name__} holds no sklopt network{inner}: no training "
                f"history to plot, no network to explain. Pass {ACCEPTED}."
            )
    if fitted:
        check_is_fitted(seen)
        for name, step in steps:
            if hasattr(step, "fit"):
                check_is_fitted(step, msg=(
                    f"Pipeline step {name!r} ({type(step).__name__}) is not fitted yet; "
                    "fit the pipeline first."))
    return FoundNetwork(steps, seen, distilled, transformed)
