"""Structure: weight initialisation schemes.

Each scheme fills one linear layer: ``fn(weight, bias, activation, rng, generator)``
with ``weight`` of shape (fan_out, fan_in) (torch's layout), ``activation`` the name of
the function the layer feeds (``"identity"`` for the output layer, which feeds the
loss's link function), ``rng`` the fit's numpy RandomState and ``generator`` a torch
CPU generator seeded from it.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._registry import Registry


@dataclass(frozen=True)
class Init:
    """One initialisation scheme: ``fill(weight, bias, activation, rng, generator)``.

    ``output_as_hidden``: the output layer is drawn as if it fed the hidden activation
    (scikit-learn's own rule) instead of the identity.
    """

    fill: object
    doc: str
    output_as_hidden: bool = False


def _gain(activation):
    # Imported here: activations.py is the one table of gains.
    from .activations import ACTIVATIONS

    return nn.init.calculate_gain(ACTIVATIONS[activation].gain)


def _sklearn(weight, bias, activation, rng, generator):
    # scikit-learn's scheme, drawn from the same numpy RandomState in the same order
    # (weights as (fan_in, fan_out), then biases), so that a seed gives sklearn's own
    # starting network. sklearn uses the hidden activation's factor for the output
    # layer too, which the estimator passes as ``activation`` for this scheme.
    fan_out, fan_in = weight.shape
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    coef = rng.uniform(-bound, bound, (fan_in, fan_out))
    intercept = rng.uniform(-bound, bound, fan_out)
    weight.copy_(torch.from_numpy(coef.T.copy()))
    bias.copy_(torch.from_numpy(intercept))


def _torch_scheme(fill_weight):
    def fill(weight, bias, activation, rng, generator):
        fill_weight(weight, activation, generator)
        bias.zero_()

    return fill


def _he(fn):
    def fill(weight, activation, generator):
        nonlinearity = "leaky_relu" if activation == "leaky_relu" else (
            "linear" if activation == "identity" else "relu")
        fn(weight, nonlinearity=nonlinearity, generator=generator)

    return _torch_scheme(fill)


def _xavier(fn):
    return _torch_scheme(lambda w, act, g: fn(w, gain=_gain(act), generator=g))


INITIALIZERS = Registry("init", {
    "sklearn": Init(_sklearn, "scikit-learn's Glorot-uniform scheme: weights and biases "
                    "uniform in ``+-sqrt(f / (fan_in + fan_out))``, ``f = 2`` for "
                    "logistic and 6 otherwise", output_as_hidden=True),
    "xavier_uniform": Init(_xavier(nn.init.xavier_uniform_),
                           "Glorot/Xavier uniform with the activation's gain"),
    "xavier_normal": Init(_xavier(nn.init.xavier_normal_),
                          "Glorot/Xavier normal with the activation's gain"),
    "he_uniform": Init(_he(nn.init.kaiming_uniform_), "He/Kaiming uniform (fan in)"),
    "he_normal": Init(_he(nn.init.kaiming_normal_), "He/Kaiming normal (fan in)"),
    # torch has no LeCun init: it is Kaiming normal with the linear gain,
    # std = 1 / sqrt(fan_in).
    "lecun_normal": Init(_torch_scheme(lambda w, act, g: nn.init.kaiming_normal_(
        w, nonlinearity="linear", generator=g)), "LeCun normal, ``std = 1/sqrt(fan_in)``"),
    "orthogonal": Init(_torch_scheme(lambda w, act, g: nn.init.orthogonal_(
        w, gain=_gain(act), generator=g)), "orthogonal matrix with the activation's gain"),
})
