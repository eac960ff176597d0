"""Regularization: weight penalties (weights only, never biases).

``value(weights, l1_ratio)`` is the unscaled penalty ``P(W)``; the loss adds
``alpha / n_b * P(W)`` with ``n_b`` the batch size (or its sum of sample weights), as
scikit-learn does for L2.
"""

from dataclasses import dataclass

from ._registry import Registry


@dataclass(frozen=True)
class Penalty:
    """One penalty: ``value(weights, l1_ratio) -> tensor``."""

    value: object
    doc: str


def _sq(weights):
    return 0.5 * sum(w.pow(2).sum() for w in weights)


def _abs(weights):
    return sum(w.abs().sum() for w in weights)


PENALTIES = Registry("penalty", {
    "l2": Penalty(lambda ws, r: _sq(ws), "``0.5 * sum ||W||^2`` (sklearn's)"),
    "l1": Penalty(lambda ws, r: _abs(ws), "``sum |W|``"),
    "elasticnet": Penalty(lambda ws, r: r * _abs(ws) + (1.0 - r) * _sq(ws),
                          "``l1_ratio * sum |W| + (1 - l1_ratio) * 0.5 * sum ||W||^2``"),
})
