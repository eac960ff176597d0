"""See what each lever buys and what the net learned: training-curve Displays, seed
stability, and feature attributions on the user's columns."""

from ._attribution_display import AttributionDisplay
from ._attribution_result import to_shap
from ._attributions import feature_attributions
from ._loss_curve import LossCurveDisplay
from ._parameter_stability import ParameterStabilityDisplay
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
