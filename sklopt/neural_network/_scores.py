"""The early-stopping validation scores: scikit-learn's ``accuracy_score`` and
``r2_score``, without their input checks.

Early stopping scores the held-out rows after every epoch of every fit (and of every
member of a batch). scikit-learn's metrics check and classify their inputs first
(``check_array``, ``type_of_target``): about 1 ms a call on this project's 2-core
machine, a quarter of a batched study step's time. Here the inputs are known (the
estimator's own decoded predictions and its validated targets), so the arithmetic is
written out; ``tests/test_core_semantics.py`` holds both to scikit-learn's values.
"""

import numpy as np


def accuracy(y, pred, sample_weight=None):
    """``accuracy_score(y, pred, sample_weight=sample_weight)``: the (weighted) share
    of rows predicted exactly (every label of a row, for a label matrix)."""
    correct = pred == y
    if correct.ndim > 1:
        correct = correct.all(axis=1)
    return float(np.average(correct, weights=sample_weight))


def r2(y, pred, sample_weight=None):
    """``r2_score(y, pred, sample_weight=sample_weight)``: the coefficient of
    determination averaged over outputs, 1.0 for a perfectly predicted constant output
    and 0.0 for an imperfectly predicted one (scikit-learn's ``force_finite``)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y), -1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight,
                                                                  dtype=np.float64)
    residual = (w[:, None] * (y - pred) ** 2).sum(axis=0)
    spread = (w[:, None] * (y - np.average(y, axis=0, weights=w)) ** 2).sum(axis=0)
    scores = np.ones(y.shape[1])
    defined = (spread != 0) & (residual != 0)
    scores[defined] = 1.0 - residual[defined] / spread[defined]
    scores[(residual != 0) & (spread == 0)] = 0.0
    return float(scores.mean())
