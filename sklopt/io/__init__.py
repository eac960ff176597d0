"""Safe model files: JSON and safetensors, no pickle (``save`` / ``load``)."""

from ._safe import FORMAT_VERSION, UnsafeFileError, load, save

__all__ = ["FORMAT_VERSION", "UnsafeFileError", "load", "save"]
