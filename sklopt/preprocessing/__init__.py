"""Data preprocessing: MinMax scaling and tabular augmentation."""

from ._augment import (
    AUGMENTERS,
    BaseAugmenter,
    CutMix,
    FeatureMask,
    GaussianNoise,
    MinorityInterpolation,
    Mixup,
    SwapNoise,
)
from ._data import MinMaxScaler

__all__ = [
    "AUGMENTERS",
    "BaseAugmenter",
    "CutMix",
    "FeatureMask",
    "GaussianNoise",
    "MinMaxScaler",
    "MinorityInterpolation",
    "Mixup",
    "SwapNoise",
]
