"""Data preprocessing: scaling, table preprocessing and tabular augmentation."""

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
from ._tabular import SmoothClipScaler, TabularPreprocessor

__all__ = [
    "AUGMENTERS",
    "BaseAugmenter",
    "CutMix",
    "FeatureMask",
    "GaussianNoise",
    "MinMaxScaler",
    "MinorityInterpolation",
    "Mixup",
    "SmoothClipScaler",
    "SwapNoise",
    "TabularPreprocessor",
]
