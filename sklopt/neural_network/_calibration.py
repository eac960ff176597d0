"""Temperature scaling (Guo et al., 2017), the one implementation in sklopt.

``MLPClassifier(calibrate=True)`` fits its ``temperature_`` here on its early-stopping
rows, and the distillers fit their student's here on their held-out rows. The
temperature divides the network's raw outputs before the output link
(:func:`~sklopt.neural_network._levers.losses.predict_outputs`), for every member of an
ensemble alike, so a calibrated model predicts through the same path as any other.
"""

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from ._levers.losses import predict_outputs

#: Temperatures searched by default: e^-3 to e^3, sharpening or softening.
BOUNDS = (float(np.exp(-3.0)), float(np.exp(3.0)))
#: 95% quantile of chi-square with 1 degree of freedom (the likelihood-ratio test).
CHI2_1_95 = 3.841


def _per_row_nll(raw, target, out_activation, temperature):
    p = predict_outputs(raw, out_activation, temperature).clamp(1e-15, 1 - 1e-15)
    if out_activation == "softmax":
        return -torch.log(p.gather(1, target.long().reshape(-1, 1)))[:, 0]
    t = target.to(p.dtype)
    return -(t * torch.log(p) + (1 - t) * torch.log1p(-p)).sum(dim=1)


def fit_temperature(raw, target, out_activation, sample_weight=None, *, bounds=BOUNDS,
                    test=False):
    """The temperature ``T`` that minimises the (weighted) log loss of
    ``predict_outputs(raw / T)`` against ``target``.

    Parameters
    ----------
    raw : torch.Tensor of shape (n, n_outputs) or (n, n_ensemble, n_outputs)
        The network's raw outputs (logits) on held-out rows.
    target : torch.Tensor
        Class indices (``out_activation="softmax"``) or 0/1 columns (``"logistic"``).
    out_activation : {'softmax', 'logistic'}
    sample_weight : ndarray of shape (n,), default=None
    bounds : (float, float), default=BOUNDS
        The temperatures searched.
    test : bool, default=False
        Keep ``T`` only when it is significantly better than 1: a likelihood-ratio test
        at the 5% level (twice the log-loss gain over Kish's effective number of rows
        above the chi-square(1) quantile). The network was early stopped on the same
        rows, so on a few dozen of them a temperature would mostly fit their noise.

    Returns
    -------
    temperature : float
    """
    raw = raw.detach().double()
    target = target.to(raw.device)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    def nll(log_t):
        per_row = _per_row_nll(raw, target, out_activation, float(np.exp(log_t)))
        return float(np.average(per_row.cpu().numpy(), weights=w))

    lo, hi = np.log(bounds)
    result = minimize_scalar(nll, bounds=(lo, hi), method="bounded",
                             options={"xatol": 1e-4})
    temperature = float(np.exp(result.x))
    if not test:
        return temperature
    weights = np.ones(len(raw)) if w is None else w
    n_eff = weights.sum() ** 2 / (weights ** 2).sum()  # Kish's effective number of rows
    if result.success and 2.0 * n_eff * (nll(0.0) - result.fun) > CHI2_1_95:
        return temperature
    return 1.0
