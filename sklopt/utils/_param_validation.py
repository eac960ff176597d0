"""scikit-learn parameter constraints that sklearn's own objects cannot express.

They subclass sklearn's ``Options`` / ``StrOptions`` so that
``sklearn.utils._param_validation.make_constraint`` accepts them: a parameter that
satisfies none of its constraints gets sklearn's ``InvalidParameterError`` naming the
parameter, as every other parameter does.
"""

from numbers import Integral, Real

import numpy as np

from sklearn.utils._param_validation import Options, StrOptions

from ._device import _CUDA_RE


class DeviceOptions(StrOptions):
    """A device string: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Whether this machine has the device is checked when the device is resolved
    (:func:`sklopt.utils.resolve_device`, a ValueError), not here.
    """

    def __init__(self):
        super().__init__({"auto", "cpu", "cuda"})

    def is_satisfied_by(self, val):
        return isinstance(val, str) and (val in self.options
                                         or _CUDA_RE.match(val) is not None)

    def __str__(self):
        return "a str among {'auto', 'cpu', 'cuda', 'cuda:N'}"


class PositiveIntSequence(Options):
    """A tuple, list or 1-D array of positive ints (hidden layer widths); empty is
    allowed (no hidden layer)."""

    def __init__(self):
        super().__init__(type=(tuple, list, np.ndarray), options=set())

    def is_satisfied_by(self, val):
        if isinstance(val, np.ndarray):
            if val.ndim != 1:
                return False
            val = val.tolist()
        return isinstance(val, (tuple, list)) and all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in val)

    def __str__(self):
        return "a tuple, list or 1-D array of ints >= 1"


class PercentileRange(Options):
    """A tuple ``(q_low, q_high)`` of numbers with ``0 <= q_low < q_high <= 100``."""

    def __init__(self):
        super().__init__(type=tuple, options=set())

    def is_satisfied_by(self, val):
        return (isinstance(val, tuple) and len(val) == 2
                and all(isinstance(v, Real) and not isinstance(v, bool) for v in val)
                and 0 <= val[0] < val[1] <= 100)

    def __str__(self):
        return "a tuple (q_low, q_high) with 0 <= q_low < q_high <= 100"
