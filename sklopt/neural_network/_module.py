"""The torch module: a multi-layer perceptron, with optional numerical embeddings and a
parameter-efficient ensemble. It computes, nothing else."""

import math

import torch
from torch import nn
from torch.nn.utils import skip_init

from ._levers import ACTIVATIONS, INITIALIZERS
from ._levers.embeddings import EMBEDDINGS


class EnsembleLinear(nn.Linear):
    """A linear layer shared by ``k`` ensemble members, each with its own rank-1
    adapters (BatchEnsemble, as in TabM): member ``i`` computes
    ``((x * r_i) @ W.T) * s_i + b`` on its own slice of a ``(n, k, in)`` input."""

    def __init__(self, in_features, out_features, k, dtype, device=None):
        super().__init__(in_features, out_features, dtype=dtype, device=device)
        self.r = nn.Parameter(torch.ones(k, in_features, dtype=dtype, device=device))
        self.s = nn.Parameter(torch.ones(k, out_features, dtype=dtype, device=device))

    def forward(self, x):
        return torch.nn.functional.linear(x * self.r, self.weight) * self.s + self.bias


#: Resolution of a CPU dropout mask's uniform draw: 15 random bits per element.
_MASK_LEVELS = 2 ** 15


def dropout_mask(shape, p, generator, dtype, device):
    """A dropout mask of ``shape``: 0 with probability ``p``, else ``1 / keep``, drawn
    from ``generator`` (None: torch's global one).

    On the CPU each element compares 15 random bits with ``keep`` rounded to 1/32768
    (the scale is that rounded keep's inverse, so the mask's mean is exactly 1): the
    bits come four to a ``random_()`` int64, which measured about twice as fast as
    ``torch.rand`` (one Mersenne-Twister draw and a float conversion per element) on
    a (89, 8, 128) mask. On a GPU, ``rand < keep`` (Philox is cheap there, and it
    replays inside a CUDA graph)."""
    keep = 1.0 - p
    if torch.device(device).type != "cpu":
        mask = torch.rand(shape, generator=generator, dtype=dtype, device=device) < keep
        return mask.to(dtype).div_(keep)
    threshold = max(1, round(keep * _MASK_LEVELS))
    if threshold >= _MASK_LEVELS:  # p < 1 / 65536: nothing dropped (and an int16
        # comparison with 32768 would wrap round)
        return torch.ones(shape, dtype=dtype)
    n = math.prod(shape)
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(generator=generator)
    bits = bits.view(torch.int16)[:n].view(shape).bitwise_and_(_MASK_LEVELS - 1)
    return (bits < threshold).to(dtype).mul_(_MASK_LEVELS / threshold)


class SeededDropout(nn.Module):
    """Dropout drawing its masks from the fit's own ``torch.Generator``.

    ``nn.Dropout`` draws from torch's global generator, which every thread shares: two
    fits running in threads (joblib's threading backend, Dask threads) would draw each
    other's masks, and ``random_state`` would not reproduce a fit. The trainer sets
    :attr:`generator` for the length of a training call (``None``: the global one,
    as inside a CUDA graph, whose captured kernels replay torch's graph-safe generator).
    """

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.generator = None

    def forward(self, X):
        if not self.training or self.p == 0:
            return X
        return X * dropout_mask(X.shape, self.p, self.generator, X.dtype, X.device)

    def extra_repr(self):
        return f"p={self.p}"


class MLPModule(nn.Module):
    """``[embedding] -> (Linear -> [BatchNorm] -> activation -> [Dropout]) per hidden layer
    -> Linear``, returning raw scores (logits): ``(n, n_outputs)``, or
    ``(n, n_ensemble, n_outputs)`` for an ensemble.

    Parameters
    ----------
    spec : ModuleSpec
        Layer sizes, activation, init scheme, dropout, batch norm, embedding, ensemble.
    dtype : torch.dtype
        Dtype of the parameters.
    """

    def __init__(self, spec, dtype=torch.float32):
        super().__init__()
        units = list(spec.layer_units)
        n_features = units[0]
        self.embedding = None
        embedded = [True] * n_features if spec.embedded is None else list(spec.embedded)
        index = [j for j, e in enumerate(embedded) if e]
        if spec.num_embedding is not None and index:
            self.embedding = EMBEDDINGS[spec.num_embedding].module(len(index), spec, dtype)
            units[0] = spec.first_width()
        # The embedded columns and the others, when some are not embedded (not saved:
        # the spec rebuilds them).
        split = self.embedding is not None and len(index) < n_features
        self.register_buffer("embedded_index", torch.tensor(index) if split else None,
                             persistent=False)
        self.register_buffer("passed_index", torch.tensor(
            [j for j, e in enumerate(embedded) if not e]) if split else None,
            persistent=False)
        k = spec.n_ensemble
        # skip_init: no draw from torch's global generator (shared by threads);
        # reset_parameters fills the weights from the fit's own generators.
        linears = [skip_init(nn.Linear, a, b, dtype=dtype) if k == 1 else
                   skip_init(EnsembleLinear, a, b, k, dtype)
                   for a, b in zip(units[:-1], units[1:])]
        with torch.no_grad():
            for linear in linears:  # the adapters start at 1 (skip_init left them empty)
                if k > 1:
                    linear.r.fill_(1.0)
                    linear.s.fill_(1.0)
        blocks = []
        for linear in linears[:-1]:
            blocks.append(linear)
            if spec.batch_norm:
                blocks.append(nn.BatchNorm1d(linear.out_features, dtype=dtype))
            blocks.append(ACTIVATIONS[spec.activation].module())
            if spec.dropout > 0:
                blocks.append(SeededDropout(spec.dropout))
        blocks.append(linears[-1])
        self.layers = nn.Sequential(*blocks)
        self.spec = spec

    def reset_parameters(self, rng):
        """Draw initial weights with the spec's scheme (``init="auto"``: the
        activation's) from the fit's numpy ``rng``: sklearn's scheme draws from it
        directly (sklearn's own order, so a seed gives sklearn's starting network), the
        torch schemes, embeddings and ensemble adapters from a CPU generator seeded
        from it (the same network on every device)."""
        spec = self.spec
        name = ACTIVATIONS[spec.activation].auto_init if spec.init == "auto" else spec.init
        scheme = INITIALIZERS[name]
        generator = None
        if name != "sklearn" or self.embedding is not None or spec.n_ensemble > 1:
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
            if spec.n_ensemble > 1:
                # TabM's initialisation: random signs on the first layer's input
                # adapters make the members differ; every other adapter starts at 1.
                r = linears[0].r
                r.copy_(torch.randint(0, 2, r.shape, generator=generator) * 2.0 - 1.0)
        if self.embedding is not None:
            self.embedding.reset_parameters(generator)
        return self

    def fit_embedding(self, X):
        """Fit data-dependent embedding parameters (bin edges) on the training rows."""
        if self.embedding is not None:
            self.embedding.fit(X if self.embedded_index is None
                               else X[:, self.embedded_index.cpu().numpy()])
        return self

    def embed(self, X, embedding=None):
        """The first layer's input: the embedded columns of ``X`` (its last axis)
        through ``embedding`` (this module's by default), then the other columns as
        they are."""
        embedding = self.embedding if embedding is None else embedding
        if self.embedded_index is None:
            return embedding(X)
        return torch.cat([embedding(X.index_select(-1, self.embedded_index)),
                          X.index_select(-1, self.passed_index)], dim=-1)

    def forward(self, X):
        if self.embedding is not None:
            X = self.embed(X)
        if self.spec.n_ensemble > 1:
            X = X.unsqueeze(1).expand(-1, self.spec.n_ensemble, -1)
        # The layers' own forward, without nn.Module.__call__'s hook handling: on
        # small tabular batches the per-call overhead is a visible share of a step.
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def set_generator(self, generator):
        """Draw dropout masks from ``generator`` (None: torch's global one)."""
        for layer in self.layers:
            if isinstance(layer, SeededDropout):
                layer.generator = generator
        return self

    def linears(self):
        """The linear layers (shared weights, for an ensemble), input to output."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]

    def weights(self):
        """The weight matrices of the linear layers (what the penalty acts on)."""
        return [linear.weight for linear in self.linears()]
