"""Structure: numerical feature embeddings (Gorishniy et al., 2022), one record each.

Each embedding maps every input column to a ``embedding_dim`` vector, through a
per-column non-linear map, before the MLP; the MLP then sees
``n_features * embedding_dim`` inputs. Written here because torch has no tabular
embedding layers; the forms follow the paper ("PLR" and "PLE-LR").
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._registry import Registry


class _PerFeatureLinear(nn.Module):
    """``n_features`` independent linear maps ``(n, F, k) -> (n, F, d)``, then ReLU."""

    def __init__(self, n_features, k, d, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_features, k, d, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(n_features, d, dtype=dtype))

    def reset_parameters(self, generator):
        bound = 1.0 / math.sqrt(self.weight.shape[1])  # nn.Linear's default bound
        with torch.no_grad():
            for p in (self.weight, self.bias):
                p.copy_(torch.rand(p.shape, generator=generator, dtype=torch.float64)
                        * 2 * bound - bound)

    def forward(self, v):
        return torch.relu(torch.einsum("nfk,fkd->nfd", v, self.weight) + self.bias)


class PeriodicEmbedding(nn.Module):
    """PLR: ``[cos(2 pi c x), sin(2 pi c x)]`` with ``n_frequencies`` learned
    frequencies ``c`` per column (initialised from N(0, frequency_scale)), then a
    per-column linear map to ``embedding_dim`` and ReLU."""

    def __init__(self, n_features, spec, dtype):
        super().__init__()
        self.scale = spec.frequency_scale
        self.frequencies = nn.Parameter(
            torch.empty(n_features, spec.n_frequencies, dtype=dtype))
        self.linear = _PerFeatureLinear(n_features, 2 * spec.n_frequencies,
                                        spec.embedding_dim, dtype)

    def reset_parameters(self, generator):
        with torch.no_grad():
            self.frequencies.copy_(torch.randn(self.frequencies.shape, generator=generator,
                                               dtype=torch.float64) * self.scale)
        self.linear.reset_parameters(generator)

    def fit(self, X):
        return self

    def forward(self, x):
        v = 2 * math.pi * self.frequencies * x[..., None]
        return self.linear(torch.cat([torch.cos(v), torch.sin(v)], dim=-1)).flatten(1)


class PiecewiseLinearEmbedding(nn.Module):
    """PLE-LR: each column's piecewise-linear encoding over ``n_bins`` bins whose edges
    are quantiles of the training rows (:meth:`fit`), then a per-column linear map to
    ``embedding_dim`` and ReLU. Bin ``t`` encodes ``clip((x - left_t) / width_t, 0, 1)``;
    columns with fewer distinct values get fewer bins (the rest encode 0)."""

    def __init__(self, n_features, spec, dtype):
        super().__init__()
        n_bins = spec.n_bins
        self.register_buffer("left", torch.zeros(n_features, n_bins, dtype=dtype))
        self.register_buffer("width", torch.full((n_features, n_bins), math.inf,
                                                 dtype=dtype))
        self.linear = _PerFeatureLinear(n_features, n_bins, spec.embedding_dim, dtype)

    def reset_parameters(self, generator):
        self.linear.reset_parameters(generator)

    def fit(self, X):
        """Bin edges from the training rows ``X`` (numpy, n_samples x n_features)."""
        n_bins = self.left.shape[1]
        left = np.zeros(self.left.shape)
        width = np.full(self.width.shape, np.inf)
        for j in range(X.shape[1]):
            edges = np.unique(np.quantile(X[:, j], np.linspace(0, 1, n_bins + 1)))
            if len(edges) < 2:  # a constant column: one bin of width 1
                edges = np.array([edges[0], edges[0] + 1.0])
            left[j, :len(edges) - 1] = edges[:-1]
            width[j, :len(edges) - 1] = np.diff(edges)
        with torch.no_grad():
            self.left.copy_(torch.from_numpy(left))
            self.width.copy_(torch.from_numpy(width))
        return self

    def forward(self, x):
        v = ((x[..., None] - self.left) / self.width).clamp(0.0, 1.0)
        return self.linear(v).flatten(1)


@dataclass(frozen=True)
class Embedding:
    """One numerical embedding: ``module(n_features, spec, dtype)``."""

    module: object
    doc: str


EMBEDDINGS = Registry("num_embedding", {
    "periodic": Embedding(PeriodicEmbedding, "PLR: learned periodic features (``n_frequencies`` "
                          "per column, initial scale ``frequency_scale``), linear, ReLU"),
    "piecewise_linear": Embedding(PiecewiseLinearEmbedding, "PLE-LR: piecewise-linear "
                                  "encoding over ``n_bins`` training-quantile bins, linear, "
                                  "ReLU"),
})
