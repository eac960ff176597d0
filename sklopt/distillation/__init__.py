"""Knowledge distillation: a large teacher's knowledge in a small, fast MLP student."""

from ._distilled import DistilledClassifier, DistilledRegressor, TeacherNotBetterWarning

__all__ = ["DistilledClassifier", "DistilledRegressor", "TeacherNotBetterWarning"]
