"""Optimization algorithm: the solvers.

A record builds the torch optimizer from the parameter groups ``[weights, others]``
and the estimator's sklearn-named hyper-parameters, and says how the ``"l2"`` penalty
reaches the update:

* ``"coupled"``: the optimizer's ``weight_decay`` is the L2 gradient ``alpha / n_b * W``
  itself, so it runs inside the (fused) optimizer kernel instead of as extra autograd
  work; the net sets it per batch;
* ``"decoupled"``: AdamW's decoupled decay ``W <- W - lr * alpha * W``, set once;
* ``"loss"``: added to the loss (L-BFGS).
"""

from dataclasses import dataclass

import torch

from ._registry import Registry


@dataclass(frozen=True)
class Solver:
    """One solver.

    Attributes
    ----------
    build : callable
        ``build(param_groups, hyper, fused) -> torch.optim.Optimizer``; ``hyper`` is a
        mapping of the estimator's hyper-parameters named in ``hyper_params``.
    hyper_params : tuple of str
        The estimator parameters it reads.
    fused : bool
        Whether torch has a fused kernel for it (one kernel per step instead of one per
        parameter: measurably faster for small nets, see docs/performance.md).
    l2 : {"coupled", "decoupled", "loss"}
        How the ``"l2"`` penalty is applied (module docstring).
    full_batch : bool
        Trains on the whole data per step with a closure (no epochs, no partial_fit).
    doc : str
    capturable : bool
        Can step inside a CUDA graph (``build`` takes ``capturable=True``).
    """

    build: object
    hyper_params: tuple
    fused: bool
    l2: str
    full_batch: bool
    doc: str
    capturable: bool = False


def _sgd(groups, h, fused):
    return torch.optim.SGD(groups, lr=h["learning_rate_init"], momentum=h["momentum"],
                           nesterov=bool(h["nesterovs_momentum"] and h["momentum"] > 0),
                           fused=fused)


def _lr(h, groups, capturable):
    # Inside a CUDA graph the learning rate must be a device tensor, so that the
    # schedule can change it between replays.
    if not capturable:
        return h["learning_rate_init"]
    device = groups[0]["params"][0].device
    return torch.tensor(h["learning_rate_init"], device=device)


def _adam(groups, h, fused, capturable=False):
    return torch.optim.Adam(groups, lr=_lr(h, groups, capturable),
                            betas=(h["beta_1"], h["beta_2"]), eps=h["epsilon"], fused=fused,
                            capturable=capturable)


def _adamw(groups, h, fused, capturable=False):
    return torch.optim.AdamW(groups, lr=_lr(h, groups, capturable),
                             betas=(h["beta_1"], h["beta_2"]), eps=h["epsilon"],
                             weight_decay=0.0, fused=fused, capturable=capturable)


def _rmsprop(groups, h, fused):
    return torch.optim.RMSprop(groups, lr=h["learning_rate_init"], eps=h["epsilon"])


def _adagrad(groups, h, fused):
    return torch.optim.Adagrad(groups, lr=h["learning_rate_init"], eps=h["epsilon"],
                               fused=fused)


class ScipyLBFGS(torch.optim.Optimizer):
    """scipy's L-BFGS-B -- the optimizer sklearn's ``solver='lbfgs'`` runs, with the same
    options (``maxiter``, ``maxfun``, ``gtol``) and so the same stopping rules and
    ``ConvergenceWarning`` -- over the parameters, with gradients from autograd.

    torch's own ``LBFGS`` stops on other criteria (an absolute loss-change tolerance)
    and has no ``max_fun`` warning; a drop-in needs scipy's. ``step(closure)`` runs one
    whole minimisation and keeps scipy's ``OptimizeResult`` in ``result_``.
    """

    def __init__(self, params, max_iter, max_fun, tol, verbose=False):
        super().__init__(params, {"max_iter": max_iter, "max_fun": max_fun, "tol": tol})
        self.verbose = verbose
        self.result_ = None

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def step(self, closure):
        import scipy.optimize
        from torch.nn.utils import parameters_to_vector, vector_to_parameters

        params = self._params()
        group = self.param_groups[0]
        like = parameters_to_vector(params).detach()

        def fun(x):
            with torch.no_grad():
                vector_to_parameters(torch.from_numpy(x).to(like), params)
            loss = closure()
            grad = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p))
                              .reshape(-1) for p in params])
            return float(loss.detach()), grad.detach().cpu().double().numpy()

        x0 = like.cpu().double().numpy()
        self.result_ = scipy.optimize.minimize(
            fun, x0, method="L-BFGS-B", jac=True,
            options={"maxfun": group["max_fun"], "maxiter": group["max_iter"],
                     "gtol": group["tol"]})
        with torch.no_grad():
            vector_to_parameters(torch.from_numpy(self.result_.x).to(like), params)
        return torch.tensor(self.result_.fun)


def _lbfgs(groups, h, fused):
    return ScipyLBFGS([p for g in groups for p in g["params"]], h["max_iter"],
                      h["max_fun"], h["tol"])


_LR = ("learning_rate_init",)
_ADAM = ("learning_rate_init", "beta_1", "beta_2", "epsilon")

SOLVERS = Registry("solver", {
    "sgd": Solver(_sgd, (*_LR, "momentum", "nesterovs_momentum"), True, "coupled", False,
                  "stochastic gradient descent with ``momentum`` and "
                  "``nesterovs_momentum``"),
    "adam": Solver(_adam, _ADAM, True, "coupled", False,
                   "Adam (``beta_1``, ``beta_2``, ``epsilon``)", capturable=True),
    "adamw": Solver(_adamw, _ADAM, True, "decoupled", False,
                    "AdamW: with ``penalty='l2'``, ``alpha`` is its decoupled weight "
                    "decay ``W <- W - lr * alpha * W`` (not divided by the batch size, "
                    "not added to the loss)", capturable=True),
    "rmsprop": Solver(_rmsprop, (*_LR, "epsilon"), False, "coupled", False,
                      "RMSprop (``epsilon``)"),
    "adagrad": Solver(_adagrad, (*_LR, "epsilon"), True, "coupled", False,
                      "Adagrad (``epsilon``)"),
    "lbfgs": Solver(_lbfgs, ("max_iter", "max_fun", "tol"), False, "loss", True,
                    "full-batch L-BFGS: scipy's L-BFGS-B as in sklearn (``max_iter`` "
                    "iterations, at most ``max_fun`` loss evaluations, gradient "
                    "tolerance ``tol``), gradients by autograd; no ``partial_fit``"),
})

STOCHASTIC_SOLVERS = frozenset(k for k, v in SOLVERS.items() if not v.full_batch)
