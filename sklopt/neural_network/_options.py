"""The option tables of the network levers: one dict per lever, name -> torch object.

Adding an option is a one-line change here; the estimators' parameter constraints,
documentation tables and tests read the keys of these dicts.
"""

import math
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

# --------------------------------------------------------------------------------------
# Structure: hidden-layer activations (name -> nn.Module factory)
# --------------------------------------------------------------------------------------
ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "sigmoid": nn.Sigmoid,  # alias of "logistic"
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

# The gain that torch.nn.init.calculate_gain knows for each activation; activations it
# does not know (elu, gelu, silu) behave like ReLU for positive inputs and get its gain.
_GAIN_NAME = {
    "identity": "linear",
    "logistic": "sigmoid",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "elu": "relu",
    "selu": "selu",
    "gelu": "relu",
    "silu": "relu",
}


def activation_gain(activation):
    """Return the recommended init gain of ``activation`` (torch's calculate_gain)."""
    return nn.init.calculate_gain(_GAIN_NAME[activation])


# --------------------------------------------------------------------------------------
# Structure: weight initialisation (name -> function(weight, activation, generator))
# Biases start at zero for every scheme.
# --------------------------------------------------------------------------------------
def _he(fn, weight, activation, generator):
    nonlinearity = "leaky_relu" if activation == "leaky_relu" else "relu"
    return fn(weight, nonlinearity=nonlinearity, generator=generator)


def _xavier(fn, weight, activation, generator):
    return fn(weight, gain=activation_gain(activation), generator=generator)


def _lecun_normal(weight, activation, generator):
    # torch has no LeCun init; it is He's normal init with gain 1 (std = 1/sqrt(fan_in)).
    return nn.init.kaiming_normal_(weight, nonlinearity="linear", generator=generator)


def _orthogonal(weight, activation, generator):
    return nn.init.orthogonal_(weight, gain=activation_gain(activation), generator=generator)


INITIALIZERS = {
    "xavier_uniform": partial(_xavier, nn.init.xavier_uniform_),
    "xavier_normal": partial(_xavier, nn.init.xavier_normal_),
    "he_uniform": partial(_he, nn.init.kaiming_uniform_),
    "he_normal": partial(_he, nn.init.kaiming_normal_),
    "lecun_normal": _lecun_normal,
    "orthogonal": _orthogonal,
}

# What init="auto" picks for each activation: He for the ReLU family, LeCun for SELU
# (its self-normalising property assumes it), Xavier/Glorot for tanh, sigmoid, identity.
AUTO_INIT = {
    "identity": "xavier_uniform",
    "logistic": "xavier_uniform",
    "sigmoid": "xavier_uniform",
    "tanh": "xavier_uniform",
    "relu": "he_uniform",
    "leaky_relu": "he_uniform",
    "elu": "he_uniform",
    "selu": "lecun_normal",
    "gelu": "he_uniform",
    "silu": "he_uniform",
}


# --------------------------------------------------------------------------------------
# Optimization algorithm: solvers (name -> function(param_groups, estimator, fused))
# param_groups is [weights group, biases group]; the estimator supplies the
# sklearn-named hyper-parameters. "lbfgs" is full batch and handled by the net.
# --------------------------------------------------------------------------------------
def _sgd(groups, est, fused):
    return torch.optim.SGD(
        groups,
        lr=est.learning_rate_init,
        momentum=est.momentum,
        nesterov=bool(est.nesterovs_momentum and est.momentum > 0),
        fused=fused,
    )


def _adam(groups, est, fused):
    betas = (est.beta_1, est.beta_2)
    return torch.optim.Adam(
        groups, lr=est.learning_rate_init, betas=betas, eps=est.epsilon, fused=fused
    )


def _adamw(groups, est, fused):
    # AdamW's own decoupled weight decay (torch's default 0.01) acts on the weights
    # group only (groups[1], the biases, keeps 0); ``penalty`` is added to the loss.
    groups[0]["weight_decay"] = 0.01
    betas = (est.beta_1, est.beta_2)
    return torch.optim.AdamW(
        groups, lr=est.learning_rate_init, betas=betas, eps=est.epsilon, fused=fused
    )


def _rmsprop(groups, est, fused):
    return torch.optim.RMSprop(groups, lr=est.learning_rate_init, eps=est.epsilon)


def _adagrad(groups, est, fused):
    return torch.optim.Adagrad(
        groups, lr=est.learning_rate_init, eps=est.epsilon, fused=fused
    )


def _lbfgs(groups, est, fused):
    # L-BFGS with a strong-Wolfe line search, like scipy's L-BFGS-B that sklearn uses:
    # max_iter iterations, max_fun function evaluations, gradient tolerance tol.
    return torch.optim.LBFGS(
        [p for g in groups for p in g["params"]],
        lr=1.0,
        max_iter=est.max_iter,
        max_eval=est.max_fun,
        tolerance_grad=est.tol,
        tolerance_change=1e-9,
        history_size=10,
        line_search_fn="strong_wolfe",
    )


SOLVERS = {
    "sgd": _sgd,
    "adam": _adam,
    "adamw": _adamw,
    "rmsprop": _rmsprop,
    "adagrad": _adagrad,
    "lbfgs": _lbfgs,
}

# Solvers whose torch optimizer has a fused kernel (one kernel per step instead of one
# per parameter: measurably faster for small nets, see shared/PERF_NOTES.md).
FUSED_SOLVERS = {"sgd", "adam", "adamw", "adagrad"}

# Solvers whose torch ``weight_decay`` is the coupled L2 gradient alpha * w, i.e. exactly
# the gradient of the "l2" penalty; for them the L2 penalty runs inside the optimizer
# kernel instead of as extra autograd work (see _net.py).
L2_AS_WEIGHT_DECAY = {"sgd", "adam", "rmsprop", "adagrad"}

STOCHASTIC_SOLVERS = set(SOLVERS) - {"lbfgs"}


# --------------------------------------------------------------------------------------
# Optimization algorithm: learning-rate schedules, stepped once per epoch
# (name -> function(optimizer, estimator, n_samples) -> torch LR scheduler or None).
# "adaptive" is sklearn's: divide by 5 whenever ``n_iter_no_change`` epochs pass
# without improvement; it is applied by the convergence monitor (_callbacks.py).
# --------------------------------------------------------------------------------------
class _InvScalingFactor:
    """sklearn's invscaling: lr = learning_rate_init / (t + 1) ** power_t, t = samples
    seen so far. A class rather than a lambda so that a fitted model pickles."""

    def __init__(self, n_samples, power_t):
        self.n_samples = n_samples
        self.power_t = power_t

    def __call__(self, epoch):
        return 1.0 / math.pow(epoch * self.n_samples + 1, self.power_t)


def _invscaling(optimizer, est, n_samples):
    factor = _InvScalingFactor(n_samples, est.power_t)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _cosine(optimizer, est, n_samples):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=est.max_iter)


def _onecycle(optimizer, est, n_samples):
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=est.learning_rate_init,
        total_steps=est.max_iter + 1,
        cycle_momentum=False,
    )


SCHEDULES = {
    "constant": None,
    "invscaling": _invscaling,
    "adaptive": None,
    "cosine": _cosine,
    "onecycle": _onecycle,
}


# --------------------------------------------------------------------------------------
# Regularization: weight penalties (name -> function(weights, l1_ratio) -> tensor).
# The loss adds alpha * penalty / (batch size or batch weight sum); biases excluded.
# --------------------------------------------------------------------------------------
def _sq(weights):
    return 0.5 * sum(w.pow(2).sum() for w in weights)


def _abs(weights):
    return sum(w.abs().sum() for w in weights)


def _l2(weights, l1_ratio):
    return _sq(weights)


def _l1(weights, l1_ratio):
    return _abs(weights)


def _elasticnet(weights, l1_ratio):
    return l1_ratio * _abs(weights) + (1.0 - l1_ratio) * _sq(weights)


PENALTIES = {"l2": _l2, "l1": _l1, "elasticnet": _elasticnet}


# --------------------------------------------------------------------------------------
# Losses of the output layer (name -> function(raw_output, target, sample_weight) -> the
# batch mean, or sample-weighted mean, of the per-sample loss). Each matches sklearn's
# loss value: log-loss summed over outputs, half squared error averaged over outputs,
# half Poisson deviance summed over outputs. The unweighted case calls torch's fused
# mean reductions: the loss runs once per batch, so its op count shows in epoch times.
# --------------------------------------------------------------------------------------
def _weighted_mean(per_sample, sample_weight):
    return (per_sample * sample_weight).sum() / sample_weight.sum()


def _softmax_ce(z, y, sample_weight=None):
    # y: class indices (int64) or, for soft labels, rows of probabilities.
    if sample_weight is None:
        return F.cross_entropy(z, y)
    return _weighted_mean(F.cross_entropy(z, y, reduction="none"), sample_weight)


def _sigmoid_ce(z, y, sample_weight=None):
    if sample_weight is None:
        return F.binary_cross_entropy_with_logits(z, y) * z.shape[1]
    per_sample = F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=1)
    return _weighted_mean(per_sample, sample_weight)


def _half_squared(z, y, sample_weight=None):
    if sample_weight is None:
        return 0.5 * F.mse_loss(z, y)
    return _weighted_mean(0.5 * (z - y).pow(2).mean(dim=1), sample_weight)


def _half_poisson(z, y, sample_weight=None):
    # exp(z) - y z + (y log y - y): the deviance with sklearn's constant term.
    per_sample = (torch.exp(z) - y * z + torch.xlogy(y, y) - y).sum(dim=1)
    if sample_weight is None:
        return per_sample.mean()
    return _weighted_mean(per_sample, sample_weight)


LOSSES = {
    "softmax": _softmax_ce,
    "logistic": _sigmoid_ce,
    "identity": _half_squared,
    "exp": _half_poisson,
}

# --------------------------------------------------------------------------------------
# Knowledge-distillation losses (out_activation -> function(raw_output, target,
# sample_weight, temperature, soft_weight)), Hinton et al. (2015):
#     soft_weight * T^2 * KL(teacher_T || student_T) + (1 - soft_weight) * CE(y, student)
# ``target`` holds the teacher's tempered probabilities in its first n_outputs columns
# and the true labels after them: one column of class indices, or one-hot / soft rows
# (after Mixup), for softmax; 0/1 indicators for logistic outputs. The KL term (not the
# cross-entropy of the soft targets) is used so that a student that matches its teacher
# has zero soft loss; both have the same gradient.
# --------------------------------------------------------------------------------------
def _weighted(per_sample, sample_weight):
    return per_sample.mean() if sample_weight is None else _weighted_mean(
        per_sample, sample_weight)


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
        return _weighted((torch.xlogy(soft, soft) - soft * log_q).sum(dim=1), sample_weight)

    return _blend(kl, lambda: _softmax_ce(z, hard, sample_weight), temperature, soft_weight)


def _sigmoid_kd(z, y, sample_weight, temperature, soft_weight):
    k = z.shape[1]
    soft, hard = y[:, :k], y[:, k:]

    def kl():
        # Bernoulli KL = BCE(student_T, teacher_T) - H(teacher_T), summed over outputs.
        bce = F.binary_cross_entropy_with_logits(z / temperature, soft, reduction="none")
        entropy = -torch.xlogy(soft, soft) - torch.xlogy(1 - soft, 1 - soft)
        return _weighted((bce - entropy).sum(dim=1), sample_weight)

    return _blend(kl, lambda: _sigmoid_ce(z, hard, sample_weight), temperature, soft_weight)


DISTILL_LOSSES = {
    "softmax": _softmax_kd,
    "logistic": _sigmoid_kd,
}

# --------------------------------------------------------------------------------------
# Output activation applied at predict time (out_activation_ -> function).
OUTPUT_ACTIVATIONS = {
    "softmax": partial(torch.softmax, dim=1),
    "logistic": torch.sigmoid,
    "identity": lambda z: z,
    "exp": torch.exp,
}
