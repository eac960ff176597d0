"""Data preprocessing: scaling, table preprocessing, tabular augmentation and transfer
sets."""

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
from ._munge import Munge
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
    "Munge",
    "SmoothClipScaler",
    "SwapNoise",
    "TabularPreprocessor",
]
