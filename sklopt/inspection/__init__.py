"""See what each lever buys and what the net learned: training-curve Displays, seed
stability, and feature attributions on the user's columns."""

from ._attributions import feature_attributions, to_shap
from ._plot import AttributionDisplay, LossCurveDisplay, ParameterStabilityDisplay
from ._stability import seed_stability, with_seed

__all__ = [
    "AttributionDisplay",
    "LossCurveDisplay",
    "ParameterStabilityDisplay",
    "feature_attributions",
    "seed_stability",
    "to_shap",
    "with_seed",
]
