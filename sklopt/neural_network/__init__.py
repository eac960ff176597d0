"""Multi-layer perceptrons trained by PyTorch through skorch, sklearn's API."""

from ._classes import MLPClassifier, MLPRegressor
from ._tabular import TabularMLPClassifier, TabularMLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "TabularMLPClassifier", "TabularMLPRegressor"]
