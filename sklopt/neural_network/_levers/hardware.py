"""Hardware levers: training precision and compilation.

``precision`` picks the dtype of the master weights and, for the half-precision
options, an autocast dtype for the forward pass (weights stay float32; float16 adds a
gradient scaler). ``compile`` wraps the module in :func:`torch.compile`.
"""

from dataclasses import dataclass

import torch

from ._registry import Registry


@dataclass(frozen=True)
class Precision:
    """One training precision.

    Attributes
    ----------
    dtype : torch.dtype or None
        Master weights' dtype; None follows the input (float64 or float32) on the CPU
        and is float32 on a GPU.
    autocast : torch.dtype or None
        Autocast dtype around the forward pass and loss.
    tf32 : bool
        Let float32 matrix products use TensorFloat-32 (CUDA only).
    devices : frozenset
        Device types ("cpu", "cuda") that can run it.
    doc : str
    """

    dtype: object
    autocast: object
    tf32: bool
    devices: frozenset
    doc: str


_ALL = frozenset({"cpu", "cuda"})
_CUDA = frozenset({"cuda"})

PRECISIONS = Registry("precision", {
    "auto": Precision(None, None, False, _ALL,
                      "the input's dtype on the CPU, as sklearn (float64 input trains in "
                      "float64, float32 in float32); float32 on a GPU"),
    "float64": Precision(torch.float64, None, False, _ALL, "float64 throughout"),
    "float32": Precision(torch.float32, None, False, _ALL,
                         "float32 throughout (the fast CPU path)"),
    "tf32": Precision(torch.float32, None, True, _CUDA,
                      "float32 weights, TensorFloat-32 matrix products (CUDA, Ampere+)"),
    "bfloat16": Precision(torch.float32, torch.bfloat16, False, _ALL,
                          "float32 master weights, bfloat16 autocast forward pass"),
    "float16": Precision(torch.float32, torch.float16, False, _CUDA,
                         "float32 master weights, float16 autocast forward pass with a "
                         "gradient scaler (CUDA)"),
})


@dataclass(frozen=True)
class Compile:
    """One compilation mode: ``mode`` for :func:`torch.compile` (None: not compiled);
    ``graph``: the whole training step is captured as a CUDA graph instead."""

    mode: object
    doc: str
    graph: bool = False


COMPILE_MODES = Registry("compile", {
    "none": Compile(None, "eager PyTorch (``False`` is accepted too)"),
    "default": Compile("default", "``torch.compile`` (``True`` is accepted too)"),
    "reduce-overhead": Compile("reduce-overhead",
                               "``torch.compile`` with CUDA graphs (CUDA only)"),
    "max-autotune": Compile("max-autotune", "``torch.compile`` with autotuned kernels"),
    "cuda-graph": Compile(None, "the whole training step (forward, backward, optimizer) "
                          "captured once as a CUDA graph and replayed per full batch; "
                          "eager kernels, CUDA only, solver 'adam' or 'adamw'", graph=True),
})


def compile_key(value):
    """The COMPILE_MODES key of the ``compile`` parameter (True/False or a name)."""
    if value is True:
        return "default"
    if value is False or value is None:
        return "none"
    return value


def check_precision(precision, device):
    """Raise a ValueError naming the problem where ``device`` cannot train at
    ``precision``."""
    rec = PRECISIONS[precision]
    kind = torch.device(device).type
    if kind not in rec.devices:
        raise ValueError(
            f"precision={precision!r} needs a CUDA device; this model trains on "
            f"{device!r}. Use precision='float32' or 'bfloat16' on the CPU.")
    if rec.autocast is torch.bfloat16 and kind == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"precision='bfloat16' is not supported by the GPU {device!r}.")
