"""Utilities: devices, threads and seeding."""

from ._device import cpu_threads_for, resolve_device, torch_threads

__all__ = ["cpu_threads_for", "resolve_device", "torch_threads"]
