"""The output layer: link function and loss, one record per ``out_activation_``.

Each loss is the batch mean (or sample-weighted mean) of the per-sample loss and
matches sklearn's loss value: log-loss summed over outputs, half squared error averaged
over outputs, half Poisson deviance summed over outputs. The unweighted case calls
torch's fused mean reductions: the loss runs once per batch, so its op count shows.
A criterion ``loss(raw, target, sample_weight)`` of the same form can replace it
(the hook :mod:`sklopt.distillation` uses).
"""

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import expit, softmax

from ._registry import Registry


@dataclass(frozen=True)
class Output:
    """One output layer.

    Attributes
    ----------
    loss : callable
        ``loss(raw, target, sample_weight=None) -> scalar tensor``.
    link : callable
        Raw scores -> predictions (probabilities for classifiers).
    doc : str
    numpy_link : callable
        ``link`` on a numpy array (the numpy forward pass of small predictions).
    rows : callable
        ``rows(raw, target, label_smoothing) -> (n,)``: the per-row loss that ``loss``
        averages (the batched trainer's per-member losses).
    """

    loss: object
    link: object
    doc: str
    numpy_link: object
    rows: object


def weighted_mean(per_sample, sample_weight):
    """Mean of ``per_sample``, weighted by ``sample_weight`` when it is not None."""
    if sample_weight is None:
        return per_sample.mean()
    return (per_sample * sample_weight).sum() / sample_weight.sum()


# Per-row losses ``rows(raw, target, label_smoothing) -> (n,)``: the weighted losses
# below and the batched trainer's per-member losses (``_batched.py``) are built on them.
# ``label_smoothing`` is a float, or a per-row tensor (members of a batch may differ).
def _softmax_ce_rows(z, y, label_smoothing=0.0):
    # torch's (smoothed) cross-entropy per row, (1 - e) * nll + e * mean_c(-log p_c),
    # written as lse(z) - (1 - e) z_y - e mean(z): about 2.5x faster than
    # F.cross_entropy on the batched trainer's (members x rows, few classes) logits.
    if y.dim() > 1:  # soft labels (rows of probabilities)
        return F.cross_entropy(z, y, reduction="none", label_smoothing=label_smoothing)
    lse = torch.logsumexp(z, dim=1)
    picked = z.gather(1, y.unsqueeze(1)).squeeze(1)
    if not torch.is_tensor(label_smoothing) and not label_smoothing:
        return lse - picked
    return lse - (1.0 - label_smoothing) * picked - label_smoothing * z.mean(dim=1)


def _smoothed(y, label_smoothing):
    """Binary targets pulled towards 1/2 by ``label_smoothing``."""
    if torch.is_tensor(label_smoothing):
        label_smoothing = label_smoothing.reshape(-1, 1)
    elif not label_smoothing:
        return y
    return y * (1.0 - label_smoothing) + 0.5 * label_smoothing


def _sigmoid_ce_rows(z, y, label_smoothing=0.0):
    return F.binary_cross_entropy_with_logits(z, _smoothed(y, label_smoothing),
                                              reduction="none").sum(dim=1)


def _half_squared_rows(z, y, label_smoothing=0.0):
    return 0.5 * (z - y).pow(2).mean(dim=1)


def _half_poisson_rows(z, y, label_smoothing=0.0):
    # exp(z) - y z + (y log y - y): the deviance with sklearn's constant term.
    return (torch.exp(z) - y * z + torch.xlogy(y, y) - y).sum(dim=1)


def _softmax_ce(z, y, sample_weight=None, label_smoothing=0.0):
    # y: class indices (int64) or, for soft labels (Mixup), rows of probabilities.
    if sample_weight is None:
        return F.cross_entropy(z, y, label_smoothing=label_smoothing)
    return weighted_mean(_softmax_ce_rows(z, y, label_smoothing), sample_weight)


def _sigmoid_ce(z, y, sample_weight=None, label_smoothing=0.0):
    if sample_weight is None:
        return F.binary_cross_entropy_with_logits(z, _smoothed(y, label_smoothing)) * \
            z.shape[1]
    return weighted_mean(_sigmoid_ce_rows(z, y, label_smoothing), sample_weight)


def _half_squared(z, y, sample_weight=None):
    if sample_weight is None:
        return 0.5 * F.mse_loss(z, y)
    return weighted_mean(_half_squared_rows(z, y), sample_weight)


def _half_poisson(z, y, sample_weight=None):
    return weighted_mean(_half_poisson_rows(z, y), sample_weight)


OUTPUTS = Registry("out_activation_", {
    "softmax": Output(_softmax_ce, partial(torch.softmax, dim=1),
                      "softmax cross-entropy (multiclass)", partial(softmax, axis=-1),
                      _softmax_ce_rows),
    "logistic": Output(_sigmoid_ce, torch.sigmoid,
                       "logistic loss per output (binary, multi-label)", expit,
                       _sigmoid_ce_rows),
    "identity": Output(_half_squared, lambda z: z, "half squared error", lambda z: z,
                       _half_squared_rows),
    "exp": Output(_half_poisson, torch.exp, "half Poisson deviance", np.exp,
                  _half_poisson_rows),
})


def member_loss(criterion, raw, y, sample_weight=None):
    """``criterion`` on raw outputs, for an ensemble's ``(n, k, out)`` too: the mean
    of the members' losses (TabM's training rule)."""
    if raw.dim() == 3:
        n, k, out = raw.shape
        raw = raw.reshape(n * k, out)
        y = y.repeat_interleave(k, dim=0)
        if sample_weight is not None:
            sample_weight = sample_weight.repeat_interleave(k)
    return criterion(raw, y, sample_weight)


def predict_outputs(raw, out_activation, temperature=1.0):
    """Output activations of raw scores divided by ``temperature``; an ensemble's
    ``(n, k, out)`` gives the mean of its members' outputs (probabilities)."""
    link = OUTPUTS[out_activation].link
    if temperature != 1.0:
        raw = raw / temperature
    if raw.dim() == 3:
        n, k, out = raw.shape
        return link(raw.reshape(n * k, out)).reshape(n, k, out).mean(dim=1)
    return link(raw)


def numpy_outputs(raw, out_activation, temperature=1.0):
    """:func:`predict_outputs` of a numpy array: the same arithmetic, in numpy."""
    link = OUTPUTS[out_activation].numpy_link
    if temperature != 1.0:
        raw = raw / temperature
    out = link(raw)
    return out.mean(axis=1) if out.ndim == 3 else out
