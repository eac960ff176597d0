"""See what each lever buys: training-curve Displays and seed stability."""

from ._plot import LossCurveDisplay, ParameterStabilityDisplay
from ._stability import seed_stability, with_seed

__all__ = ["LossCurveDisplay", "ParameterStabilityDisplay", "seed_stability", "with_seed"]
