"""Optimization algorithm: learning-rate schedules, set at the start of every epoch.

A schedule is a closed-form rule ``lr(state, hyper)``; ``state`` holds ``fresh`` (first
epoch of a new optimizer: each ``fit``, and the first ``partial_fit``), ``lr`` (the rate
of the previous epoch, which the ``'adaptive'`` stopping rule may have divided by 5),
``epoch`` (epochs trained since the network was created) and ``t`` (samples seen,
sklearn's ``t_``). Written as formulas rather than torch's LR schedulers because
those are step counters that can neither restart per ``fit`` call as sklearn's
``'invscaling'`` does nor go on past their horizon under ``partial_fit``
(``OneCycleLR`` raises).
"""

import math
from dataclasses import dataclass

from ._registry import Registry


@dataclass(frozen=True)
class Schedule:
    """One schedule.

    Attributes
    ----------
    lr : callable
        ``lr(state, hyper) -> float``: the learning rate of the coming epoch.
    solvers : frozenset or None
        The solvers it acts on (None: every stochastic solver); the others train at
        a constant rate, as sklearn's Adam ignores ``'invscaling'``.
    doc : str
    """

    lr: object
    solvers: object
    doc: str


def _constant(state, h):
    return h["learning_rate_init"]


def _invscaling(state, h):
    if state.fresh:
        return h["learning_rate_init"]
    return h["learning_rate_init"] / math.pow(state.t + 1, h["power_t"])


def _adaptive(state, h):
    return h["learning_rate_init"] if state.fresh else state.lr


def _phase(state, h):
    # Position in the current cycle of max_iter epochs (cycles repeat under
    # partial_fit and warm starts).
    return (state.epoch % h["max_iter"]) / h["max_iter"]


def _cosine(state, h):
    return h["learning_rate_init"] * 0.5 * (1.0 + math.cos(math.pi * _phase(state, h)))


def _onecycle(state, h):
    # Smith's one-cycle policy with torch's OneCycleLR defaults: a cosine warm-up from
    # lr/25 to lr over the first 30% of the cycle, then a cosine decay to lr/25e4.
    lr, x = h["learning_rate_init"], _phase(state, h)
    start, end = lr / 25.0, lr / 25e4
    if x < 0.3:
        return lr + (start - lr) * 0.5 * (1 + math.cos(math.pi * x / 0.3))
    return end + (lr - end) * 0.5 * (1 + math.cos(math.pi * (x - 0.3) / 0.7))


_SGD = frozenset({"sgd"})

SCHEDULES = Registry("learning_rate", {
    "constant": Schedule(_constant, None, "``learning_rate_init`` throughout"),
    "invscaling": Schedule(_invscaling, _SGD, "sklearn's ``learning_rate_init / (t_ + 1) "
                           "** power_t`` after each epoch, ``solver='sgd'`` only"),
    "adaptive": Schedule(_adaptive, _SGD, "sklearn's: divide by 5 whenever "
                         "``n_iter_no_change`` epochs pass without improvement, stop "
                         "below 1e-6; ``solver='sgd'`` only"),
    "cosine": Schedule(_cosine, None, "cosine annealing from ``learning_rate_init`` to 0 "
                       "over ``max_iter`` epochs, restarting every ``max_iter`` epochs "
                       "(``partial_fit`` and warm starts go on along the cycle)"),
    "onecycle": Schedule(_onecycle, None, "one-cycle policy: warm-up to "
                         "``learning_rate_init`` over 30% of ``max_iter`` epochs, then "
                         "cosine decay; repeats every ``max_iter`` epochs"),
})


def schedule_for(learning_rate, solver):
    """The schedule that acts on ``solver`` (``'constant'`` where ``learning_rate``
    does not apply to it, as in sklearn)."""
    solvers = SCHEDULES[learning_rate].solvers
    return learning_rate if solvers is None or solver in solvers else "constant"
