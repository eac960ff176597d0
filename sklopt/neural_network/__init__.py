"""Multi-layer perceptrons trained by PyTorch through skorch, sklearn's API."""

from ._classes import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
