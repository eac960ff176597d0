"""Knowledge-distillation losses (Hinton et al., 2015), one per student output layer.

Per row ``i`` with soft weight ``w_i``::

    w_i * T^2 * KL(teacher_T || student_T) + (1 - w_i) * CE(y_i, student)

averaged over the rows (weighted by ``sample_weight``). The student trains on it
through the MLPs' custom-loss hook: the target holds the teacher's tempered
probabilities in its first ``n_outputs`` columns, then the row's soft weight ``w_i``
(``soft_weight`` for real rows, 1 for teacher-labelled transfer rows), then the true
labels (one column of class indices, or one-hot / soft rows after Mixup, for softmax;
0/1 indicators for logistic outputs). The KL term (not the cross-entropy of the soft
targets) is used so that a student that matches its teacher has zero soft loss; both
have the same gradient.
"""

from functools import partial

import torch
import torch.nn.functional as F

from ..neural_network._levers.losses import weighted_mean


def _split(z, y):
    k = z.shape[1]
    return y[:, :k], y[:, k], y[:, k + 1:]


def _softmax_kd(z, y, sample_weight, temperature):
    soft, w, hard = _split(z, y)
    log_q = F.log_softmax(z / temperature, dim=1)
    kl = (torch.xlogy(soft, soft) - soft * log_q).sum(dim=1)
    if hard.shape[1] == 1:
        ce = F.cross_entropy(z, hard[:, 0].long(), reduction="none")
    else:  # one-hot or mixed rows (Mixup)
        ce = F.cross_entropy(z, hard, reduction="none")
    return weighted_mean(w * (temperature**2 * kl) + (1.0 - w) * ce, sample_weight)


def _sigmoid_kd(z, y, sample_weight, temperature):
    soft, w, hard = _split(z, y)
    # Bernoulli KL = BCE(student_T, teacher_T) - H(teacher_T), summed over outputs.
    bce = F.binary_cross_entropy_with_logits(z / temperature, soft, reduction="none")
    entropy = -torch.xlogy(soft, soft) - torch.xlogy(1 - soft, 1 - soft)
    kl = (bce - entropy).sum(dim=1)
    ce = F.binary_cross_entropy_with_logits(z, hard, reduction="none").sum(dim=1)
    return weighted_mean(w * (temperature**2 * kl) + (1.0 - w) * ce, sample_weight)


DISTILL_LOSSES = {"softmax": _softmax_kd, "logistic": _sigmoid_kd}


def distillation_loss(temperature):
    """``loss(out_activation) -> criterion(raw, target, sample_weight)`` for the MLPs'
    custom-loss hook (target layout in the module docstring)."""
    def make(out_activation):
        return partial(DISTILL_LOSSES[out_activation], temperature=float(temperature))

    return make
