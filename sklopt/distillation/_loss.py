"""Knowledge-distillation losses (Hinton et al., 2015), one per student output layer:

    soft_weight * T^2 * KL(teacher_T || student_T) + (1 - soft_weight) * CE(y, student)

The student trains on them through the MLPs' custom-loss hook: the target holds the
teacher's tempered probabilities in its first ``n_outputs`` columns and the true labels
after them (one column of class indices, or one-hot / soft rows after Mixup, for
softmax; 0/1 indicators for logistic outputs). The KL term (not the cross-entropy of
the soft targets) is used so that a student that matches its teacher has zero soft
loss; both have the same gradient.
"""

from functools import partial

import torch
import torch.nn.functional as F

from ..neural_network._levers import OUTPUTS
from ..neural_network._levers.losses import weighted_mean


def _blend(soft_loss, hard_loss, temperature, soft_weight):
    # Terms with a zero weight are not computed, so that soft_weight=0 is exactly the
    # plain loss and soft_weight=1 ignores the labels.
    loss = 0.0
    if soft_weight > 0:
        loss = soft_weight * temperature**2 * soft_loss()
    if soft_weight < 1:
        loss = loss + (1.0 - soft_weight) * hard_loss()
    return loss


def _softmax_kd(z, y, sample_weight, temperature, soft_weight):
    k = z.shape[1]
    soft, hard = y[:, :k], y[:, k:]
    hard = hard[:, 0].long() if hard.shape[1] == 1 else hard

    def kl():
        log_q = F.log_softmax(z / temperature, dim=1)
        return weighted_mean((torch.xlogy(soft, soft) - soft * log_q).sum(dim=1),
                             sample_weight)

    return _blend(kl, lambda: OUTPUTS["softmax"].loss(z, hard, sample_weight),
                  temperature, soft_weight)


def _sigmoid_kd(z, y, sample_weight, temperature, soft_weight):
    k = z.shape[1]
    soft, hard = y[:, :k], y[:, k:]

    def kl():
        # Bernoulli KL = BCE(student_T, teacher_T) - H(teacher_T), summed over outputs.
        bce = F.binary_cross_entropy_with_logits(z / temperature, soft, reduction="none")
        entropy = -torch.xlogy(soft, soft) - torch.xlogy(1 - soft, 1 - soft)
        return weighted_mean((bce - entropy).sum(dim=1), sample_weight)

    return _blend(kl, lambda: OUTPUTS["logistic"].loss(z, hard, sample_weight),
                  temperature, soft_weight)


DISTILL_LOSSES = {"softmax": _softmax_kd, "logistic": _sigmoid_kd}


def distillation_loss(temperature, soft_weight):
    """``loss(out_activation) -> criterion(raw, target, sample_weight)`` for the MLPs'
    custom-loss hook."""
    def make(out_activation):
        return partial(DISTILL_LOSSES[out_activation], temperature=float(temperature),
                       soft_weight=float(soft_weight))

    return make
