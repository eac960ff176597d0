"""Structure: the hidden-layer activations."""

from dataclasses import dataclass

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
    """

    module: object
    gain: str
    auto_init: str
    doc: str


# sklearn's four activations start where sklearn's MLPs start (its Glorot-uniform
# scheme); the others get the scheme their own literature recommends. gelu, silu and
# elu behave like ReLU for positive inputs and take its He init and gain.
ACTIVATIONS = Registry("activation", {
    "identity": Activation(nn.Identity, "linear", "sklearn", "no-op, ``f(x) = x``"),
    "logistic": Activation(nn.Sigmoid, "sigmoid", "sklearn", "``1 / (1 + exp(-x))``"),
    "tanh": Activation(nn.Tanh, "tanh", "sklearn", "hyperbolic tangent"),
    "relu": Activation(nn.ReLU, "relu", "sklearn", "``max(0, x)``"),
    "sigmoid": Activation(nn.Sigmoid, "sigmoid", "sklearn", "alias of ``'logistic'``"),
    "leaky_relu": Activation(nn.LeakyReLU, "leaky_relu", "he_uniform",
                             "``max(0.01 x, x)`` (He init)"),
    "elu": Activation(nn.ELU, "relu", "he_uniform", "exponential linear unit (He init)"),
    "selu": Activation(nn.SELU, "selu", "lecun_normal",
                       "self-normalising ELU (LeCun normal init)"),
    "gelu": Activation(nn.GELU, "relu", "he_uniform", "Gaussian error linear unit (He init)"),
    "silu": Activation(nn.SiLU, "relu", "he_uniform", "``x * sigmoid(x)``, swish (He init)"),
})
