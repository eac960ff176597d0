"""A numpy forward pass of a small sklopt MLP for a few rows at a time.

Predicting one row with an MLP costs far more in per-call overhead (input validation,
tensor conversion, torch dispatch: ~0.15 ms) than in arithmetic (~5 us for a student of
a few dozen units). A distilled student exists to predict fast, so the distillers
compute small batches of plain float arrays here: the student's own weights
(``coefs_``, ``intercepts_``, read at each call so that they are always current), the
same activations, in the weights' dtype. Anything else -- DataFrames, sparse input,
batch norm, activations without a numpy twin, large batches -- takes the student's own
``predict`` path.
"""

import numpy as np
from scipy.special import expit

# Rows up to which the numpy path is used; above it torch's batched kernels win.
FAST_ROWS = 64


def _relu(h):
    return np.maximum(h, 0.0, out=h)


def _leaky_relu(h):
    return np.where(h > 0, h, 0.01 * h)


ACTIVATIONS = {
    "identity": None,
    "relu": _relu,
    "tanh": lambda h: np.tanh(h, out=h),
    "logistic": lambda h: expit(h, out=h),
    "sigmoid": lambda h: expit(h, out=h),
    "leaky_relu": _leaky_relu,
}


def supports(mlp):
    """Whether :func:`output` can compute ``mlp``'s outputs."""
    return (not mlp.batch_norm and mlp.activation in ACTIVATIONS
            and mlp.out_activation_ in ("softmax", "logistic", "identity"))


def output(mlp, X):
    """Output-layer activations (probabilities, or predictions) of the fitted sklopt
    MLP ``mlp`` for the float array ``X``, as its ``_forward`` computes them: in the
    weights' dtype, returned in the promoted dtype of ``X`` and the weights."""
    coefs, intercepts = mlp.coefs_, mlp.intercepts_
    dtype = coefs[0].dtype
    h = X.astype(dtype, copy=False)
    act = ACTIVATIONS[mlp.activation]
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        h = h @ W
        h += b
        if i < last and act is not None:
            h = act(h)
    if mlp.out_activation_ == "softmax":
        h -= h.max(axis=1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=1, keepdims=True)
    elif mlp.out_activation_ == "logistic":
        expit(h, out=h)
    return h.astype(np.result_type(X.dtype, dtype), copy=False)
