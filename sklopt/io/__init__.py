"""Safe model files: JSON and safetensors, no pickle (``save`` / ``load``)."""

from ._allowed import ALLOWED_CLASSES
from ._safe import FORMAT_VERSION, UnsafeFileError, load, save

__all__ = ["ALLOWED_CLASSES", "FORMAT_VERSION", "UnsafeFileError", "load", "save"]
