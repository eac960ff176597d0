"""Knowledge distillation: a large teacher's knowledge in a small, fast MLP student.

One ``fit``:

1. the teacher (one estimator, or a list whose predictions are averaged) is fitted on
   all rows, and its out-of-fold predictions of every row are computed (``cv``);
2. a share of the real rows is held out (``validation_fraction``): the student never
   trains on them; they drive its early stopping (on the distillation loss), its
   calibration and the reported scores;
3. a transfer set is made from the remaining real rows (MUNGE by default) and labelled
   by the teacher;
4. the student trains on the real rows (a blend of the teacher's soft targets and the
   labels) and the transfer rows (soft targets alone) through the MLPs' fit hook
   (``FitHook``: the losses are in ``_loss.py``); the same student trained on the labels alone
   on the same rows is the reference the teacher is judged against;
5. a single temperature is fitted on the held-out rows to calibrate the student's
   probabilities (the MLPs' own temperature scaling) and becomes the student
   network's ``temperature_``.

Small batches are predicted by the student network's own numpy forward pass.
Modules: ``_common.py`` (defaults and helpers), ``_base.py`` (the shared ``fit``),
``_classifier.py`` and ``_regressor.py`` (the two distillers) and ``_loss.py``.
"""

from ._classifier import DistilledClassifier
from ._common import TeacherNotBetterWarning
from ._regressor import DistilledRegressor

__all__ = ["DistilledClassifier", "DistilledRegressor", "TeacherNotBetterWarning"]
