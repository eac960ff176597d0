"""The torch module: a plain multi-layer perceptron. It computes, nothing else."""

import torch
from torch import nn

from ._options import ACTIVATIONS, AUTO_INIT, INITIALIZERS


class MLPModule(nn.Module):
    """Feed-forward network ``Linear -> [BatchNorm] -> activation -> [Dropout]`` per hidden
    layer, then a linear output layer returning raw scores (logits).

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    activation : str
        Key of :data:`~sklopt.neural_network._options.ACTIVATIONS`.
    init : str
        ``"auto"`` or a key of ``INITIALIZERS``.
    dropout : float
        Dropout probability after each hidden activation.
    batch_norm : bool
        Whether to put a BatchNorm1d layer before each hidden activation.
    generator : torch.Generator or None
        Random source of the initial weights (created on the CPU, so that a seed gives
        the same initial network on every device).
    """

    def __init__(self, layer_units, activation="relu", init="auto", dropout=0.0,
                 batch_norm=False, generator=None):
        super().__init__()
        # nn.Linear draws its default init from torch's global generator; the fork keeps
        # the caller's random state untouched (our init below replaces those values).
        with torch.random.fork_rng(devices=[]):
            linears = [
                nn.Linear(n_in, n_out)
                for n_in, n_out in zip(layer_units[:-1], layer_units[1:])
            ]
        blocks = []
        for linear in linears[:-1]:
            parts = [linear]
            if batch_norm:
                parts.append(nn.BatchNorm1d(linear.out_features))
            parts.append(ACTIVATIONS[activation]())
            if dropout > 0:
                parts.append(nn.Dropout(dropout))
            blocks.extend(parts)
        blocks.append(linears[-1])
        self.layers = nn.Sequential(*blocks)

        init_fn = INITIALIZERS[AUTO_INIT[activation] if init == "auto" else init]
        with torch.no_grad():
            for i, linear in enumerate(linears):
                # The output layer feeds the loss's link function, not ``activation``.
                act = activation if i < len(linears) - 1 else "identity"
                init_fn(linear.weight, act, generator)
                linear.bias.zero_()

    def forward(self, X):
        return self.layers(X)

    def linears(self):
        """The linear layers, input to output."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    def weights(self):
        """The weight matrices of the linear layers (what the penalty acts on)."""
        return [linear.weight for linear in self.linears()]
