"""Callbacks for sklopt estimators, in scikit-learn's callback API
(``estimator.set_callbacks(...)``, scikit-learn >= 1.9)."""

from ._progressbar import ProgressBar

__all__ = ["ProgressBar"]
