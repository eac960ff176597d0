"""The torch module: a plain multi-layer perceptron. It computes, nothing else."""

import torch
from torch import nn

from ._levers import ACTIVATIONS, INITIALIZERS


class MLPModule(nn.Module):
    """Feed-forward network ``Linear -> [BatchNorm] -> activation -> [Dropout]`` per hidden
    layer, then a linear output layer returning raw scores (logits).

    Parameters
    ----------
    spec : ModuleSpec
        Layer sizes, activation, init scheme, dropout and batch norm.
    dtype : torch.dtype
        Dtype of the parameters.
    """

    def __init__(self, spec, dtype=torch.float32):
        super().__init__()
        units = spec.layer_units
        # nn.Linear draws a default init from torch's global generator; the fork keeps
        # the caller's random state untouched (reset_parameters replaces those values).
        with torch.random.fork_rng(devices=[]):
            linears = [nn.Linear(a, b, dtype=dtype) for a, b in zip(units[:-1], units[1:])]
        blocks = []
        for linear in linears[:-1]:
            blocks.append(linear)
            if spec.batch_norm:
                blocks.append(nn.BatchNorm1d(linear.out_features, dtype=dtype))
            blocks.append(ACTIVATIONS[spec.activation].module())
            if spec.dropout > 0:
                blocks.append(nn.Dropout(spec.dropout))
        blocks.append(linears[-1])
        self.layers = nn.Sequential(*blocks)
        self.spec = spec

    def reset_parameters(self, rng):
        """Draw initial weights with the spec's scheme (``init="auto"``: the
        activation's) from the fit's numpy ``rng``: sklearn's scheme draws from it
        directly (sklearn's own order, so a seed gives sklearn's starting network), the
        torch schemes from a CPU generator seeded from it (the same network on every
        device)."""
        spec = self.spec
        name = ACTIVATIONS[spec.activation].auto_init if spec.init == "auto" else spec.init
        scheme = INITIALIZERS[name]
        generator = None
        if name != "sklearn":
            generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        linears = self.linears()
        with torch.no_grad():
            for i, linear in enumerate(linears):
                # The output layer feeds the loss's link function, not the activation.
                hidden = i < len(linears) - 1 or scheme.output_as_hidden
                act = spec.activation if hidden else "identity"
                weight = torch.empty(linear.weight.shape, dtype=torch.float64)
                bias = torch.empty(linear.bias.shape, dtype=torch.float64)
                scheme.fill(weight, bias, act, rng, generator)
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
        return self

    def forward(self, X):
        # The layers' own forward, without nn.Module.__call__'s hook handling: on
        # small tabular batches the per-call overhead is a visible share of a step.
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def linears(self):
        """The linear layers, input to output."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    def weights(self):
        """The weight matrices of the linear layers (what the penalty acts on)."""
        return [linear.weight for linear in self.linears()]
