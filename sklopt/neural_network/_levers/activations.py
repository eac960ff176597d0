"""Structure: the hidden-layer activations."""

from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit
from torch import nn

from ._registry import Registry


@dataclass(frozen=True)
class Activation:
    """One activation.

    Attributes
    ----------
    module : callable
        ``module() -> nn.Module`` applying it.
    gain : str
        Its name for :func:`torch.nn.init.calculate_gain` (the init gain of the
        Xavier and orthogonal schemes).
    auto_init : str
        The scheme of ``init="auto"`` (a key of ``INITIALIZERS``).
    doc : str
    numpy : callable
        The same function on a numpy array (torch's constants), for the numpy
        forward pass of small predictions (``_numpy_forward.py``).
    """

    module: object
    gain: str
    auto_init: str
    doc: str
    numpy: object


_SQRT_HALF = 0.7071067811865476  # a Python float: float32 stays float32
# torch's SELU constants (torch.nn.SELU).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _elu(h, alpha=1.0):
    return np.where(h > 0, h, alpha * np.expm1(np.minimum(h, 0)))


# sklearn's four activations start where sklearn's MLPs start (its Glorot-uniform
# scheme); the others get the scheme their own literature recommends. gelu, silu and
# elu behave like ReLU for positive inputs and take its He init and gain.
ACTIVATIONS = Registry("activation", {
    "identity": Activation(nn.Identity, "linear", "sklearn", "no-op, ``f(x) = x``",
                           lambda h: h),
    "logistic": Activation(nn.Sigmoid, "sigmoid", "sklearn", "``1 / (1 + exp(-x))``",
                           expit),
    "tanh": Activation(nn.Tanh, "tanh", "sklearn", "hyperbolic tangent", np.tanh),
    "relu": Activation(nn.ReLU, "relu", "sklearn", "``max(0, x)``",
                       lambda h: np.maximum(h, 0)),
    "sigmoid": Activation(nn.Sigmoid, "sigmoid", "sklearn", "alias of ``'logistic'``",
                          expit),
    "leaky_relu": Activation(nn.LeakyReLU, "leaky_relu", "he_uniform",
                             "``max(0.01 x, x)`` (He init)",
                             lambda h: np.where(h > 0, h, 0.01 * h)),
    "elu": Activation(nn.ELU, "relu", "he_uniform", "exponential linear unit (He init)",
                      _elu),
    "selu": Activation(nn.SELU, "selu", "lecun_normal",
                       "self-normalising ELU (LeCun normal init)",
                       lambda h: _SELU_SCALE * _elu(h, _SELU_ALPHA)),
    "gelu": Activation(nn.GELU, "relu", "he_uniform", "Gaussian error linear unit (He init)",
                       lambda h: 0.5 * h * (1.0 + erf(h * _SQRT_HALF))),
    "silu": Activation(nn.SiLU, "relu", "he_uniform", "``x * sigmoid(x)``, swish (He init)",
                       lambda h: h * expit(h)),
})
