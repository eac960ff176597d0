"""The numpy forward pass of a trained :class:`~sklopt.neural_network._module.MLPModule`,
for predictions of a few rows.

Predicting one row costs far more in torch's per-call overhead (dispatch, tensor
wrapping: ~0.15 ms for a small net) than in arithmetic (a few microseconds), so small
batches of a CPU model run here: the module's own parameters read as numpy views (no
copy, always current), each layer's arithmetic as its torch ``forward`` does it, in the
parameters' dtype. It covers every module the core builds -- embeddings, ensembles,
batch norm, every activation of the registry -- and is the only numpy forward pass in
sklopt: the MLPs' ``predict*`` and the distillers' small-batch path both call it, and
``tests/test_core_semantics.py`` checks it against the torch module for each kind.
Written by hand because torch has no overhead-free path for tiny batches and sklearn's
numpy MLP forward knows only plain layers and four activations.
"""

import numpy as np
import torch
from torch import nn

from ._levers import ACTIVATIONS
from ._levers.embeddings import PeriodicEmbedding, PiecewiseLinearEmbedding
from ._levers.losses import numpy_outputs
from ._module import EnsembleLinear, SeededDropout


def _array(tensor):
    return tensor.detach().numpy()


def _per_feature_linear(linear, v):
    """``_PerFeatureLinear``: ``relu(einsum('nfk,fkd->nfd') + bias)`` as a batched
    matmul over the features."""
    out = np.matmul(v.transpose(1, 0, 2), _array(linear.weight)).transpose(1, 0, 2)
    return np.maximum(out + _array(linear.bias), 0)


def _embedding_step(embedding):
    if isinstance(embedding, PeriodicEmbedding):
        frequencies = _array(embedding.frequencies)
        two_pi = 2 * np.pi

        def step(x):
            v = two_pi * frequencies * x[..., None]
            v = np.concatenate([np.cos(v), np.sin(v)], axis=-1)
            return _per_feature_linear(embedding.linear, v).reshape(len(x), -1)
        return step
    if isinstance(embedding, PiecewiseLinearEmbedding):
        left, width = _array(embedding.left), _array(embedding.width)

        def step(x):
            v = np.clip((x[..., None] - left) / width, 0.0, 1.0)
            return _per_feature_linear(embedding.linear, v).reshape(len(x), -1)
        return step
    raise TypeError(f"no numpy forward pass for the embedding {type(embedding).__name__}")


def _split_step(module):
    """The embedding step of ``module``: its embedded columns through the embedding,
    the others as they are (``MLPModule.embed``)."""
    step = _embedding_step(module.embedding)
    if module.embedded_index is None:
        return step
    embedded = module.embedded_index.cpu().numpy()
    passed = module.passed_index.cpu().numpy()
    return lambda x: np.concatenate([step(x[:, embedded]), x[:, passed]], axis=1)


def _layer_step(layer, activation):
    if isinstance(layer, EnsembleLinear):
        weight_t, bias = _array(layer.weight).T, _array(layer.bias)
        r, s = _array(layer.r), _array(layer.s)
        return lambda h: ((h * r) @ weight_t) * s + bias
    if isinstance(layer, nn.Linear):
        weight_t, bias = _array(layer.weight).T, _array(layer.bias)
        return lambda h: h @ weight_t + bias
    if isinstance(layer, nn.BatchNorm1d):
        # Eval mode: the running statistics.
        mean, var = _array(layer.running_mean), _array(layer.running_var)
        weight, bias = _array(layer.weight), _array(layer.bias)
        inv = 1.0 / np.sqrt(var + layer.eps)
        return lambda h: (h - mean) * inv * weight + bias
    if isinstance(layer, (nn.Dropout, SeededDropout)):
        return None  # the identity in eval mode
    return ACTIVATIONS[activation].numpy


def supports(module):
    """Whether :func:`build` can compute ``module``: a CPU module (its parameters can
    be read as numpy views) with floating-point parameters."""
    weight = module.linears()[0].weight
    return weight.device.type == "cpu" and weight.dtype in (torch.float32, torch.float64)


def build(module):
    """The numpy forward pass of a CPU ``module``: ``forward(X) -> raw outputs`` of a
    2-D float array, ``(n, n_outputs)`` or an ensemble's ``(n, k, n_outputs)``."""
    spec = module.spec
    steps = [] if module.embedding is None else [_split_step(module)]
    steps += [step for step in (_layer_step(layer, spec.activation)
                                for layer in module.layers) if step is not None]
    dtype = _array(module.linears()[0].weight).dtype
    k = spec.n_ensemble

    def forward(X):
        h = X.astype(dtype, copy=False)
        if k > 1 and module.embedding is None:
            h = h[:, None, :]
        for i, step in enumerate(steps):
            h = step(h)
            if i == 0 and k > 1 and module.embedding is not None:
                h = h[:, None, :]
        return h
    return forward


def outputs(forward, X, out_activation, temperature=1.0):
    """Output activations (probabilities, or predictions) of ``X`` through the numpy
    ``forward`` of :func:`build`, as ``predict_outputs`` computes them from the torch
    module's raw outputs; in the promoted dtype of ``X`` and the weights."""
    out = numpy_outputs(forward(X), out_activation, temperature)
    return out.astype(np.result_type(X.dtype, out.dtype), copy=False)
