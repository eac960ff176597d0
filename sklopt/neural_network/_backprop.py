"""Hand-written backpropagation for the plain network: the fast path of small nets.

For a stack of ``Linear -> activation`` layers with one of sklearn's activations and
one of the standard losses, the gradients are a few matrix products (what sklearn's
own numpy MLP computes). Writing them out skips autograd's graph building and engine,
which on the small tabular batches of a CPU is a visible share of each step (see
docs/user_guide/performance.md). Anything else (batch norm, dropout, embeddings,
ensembles, custom or smoothed losses, mixed precision, compilation) trains through
autograd; ``tests/test_backprop.py`` checks that both give the same gradients.
"""

import torch
import torch.nn.functional as F

from ._levers import PENALTIES


def _relu_grad(z, a):
    return z > 0


# activation name -> d activation / d z, from the pre-activation z and the output a.
DERIVATIVES = {
    "relu": _relu_grad,
    "tanh": lambda z, a: 1.0 - a * a,
    "logistic": lambda z, a: a * (1.0 - a),
    "sigmoid": lambda z, a: a * (1.0 - a),
    "identity": None,
}
_ACT = {"relu": torch.relu, "tanh": torch.tanh, "logistic": torch.sigmoid,
        "sigmoid": torch.sigmoid, "identity": None}


def _output_grad(z, y, w, out_activation):
    """The loss (as the autograd path computes it) and its gradient w.r.t. ``z``."""
    n = z.shape[0]
    scale = (w / w.sum())[:, None] if w is not None else 1.0 / n
    if out_activation == "softmax":
        log_p = F.log_softmax(z, dim=1)
        picked = -log_p.gather(1, y[:, None])[:, 0]
        loss = picked.mean() if w is None else (picked * w).sum() / w.sum()
        g = log_p.exp()
        g[torch.arange(n, device=z.device), y] -= 1.0
        return loss, g * scale
    if out_activation == "logistic":
        per = F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=1)
        loss = per.mean() if w is None else (per * w).sum() / w.sum()
        return loss, (torch.sigmoid(z) - y) * scale
    if out_activation == "identity":
        d = z - y
        per = 0.5 * (d * d).mean(dim=1)
        loss = per.mean() if w is None else (per * w).sum() / w.sum()
        return loss, d * (scale / z.shape[1])
    e = torch.exp(z)  # "exp": half Poisson deviance
    per = (e - y * z + torch.xlogy(y, y) - y).sum(dim=1)
    loss = per.mean() if w is None else (per * w).sum() / w.sum()
    return loss, (e - y) * scale


def supported(spec, custom_loss):
    """Whether ``spec`` trains on the hand-written path (class-index targets: soft
    labels come only with augmenters or a custom loss, which are excluded)."""
    m = spec.module
    return (not custom_loss and m.activation in DERIVATIVES and not m.batch_norm
            and m.dropout == 0 and m.num_embedding is None and m.n_ensemble == 1
            and spec.label_smoothing == 0 and spec.precision in ("auto", "float32",
                                                                 "float64")
            and spec.compile == "none" and not spec.augment)


def loss_and_gradients(module, spec, X, y, w, denom, explicit_penalty):
    """Forward, loss and backward of one batch by hand; fills each parameter's
    ``.grad`` and returns the loss (with the explicit penalty, as autograd's)."""
    linears = module.linears()
    act = _ACT[spec.module.activation]
    derivative = DERIVATIVES[spec.module.activation]
    inputs, pre = [X], []
    a = X
    for lin in linears[:-1]:
        z = torch.addmm(lin.bias, a, lin.weight.t())
        a = z if act is None else act(z)
        pre.append(z)
        inputs.append(a)
    z = torch.addmm(linears[-1].bias, a, linears[-1].weight.t())
    loss, g = _output_grad(z, y, w, spec.out_activation)
    for i in range(len(linears) - 1, -1, -1):
        lin = linears[i]
        if lin.weight.grad is None:
            lin.weight.grad = torch.empty_like(lin.weight)
            lin.bias.grad = torch.empty_like(lin.bias)
        torch.mm(g.t(), inputs[i], out=lin.weight.grad)
        torch.sum(g, dim=0, out=lin.bias.grad)
        if i > 0:
            g = g @ lin.weight
            if derivative is not None:
                g = g * derivative(pre[i - 1], inputs[i])
    if explicit_penalty:
        weights = module.weights()
        coef = spec.alpha / denom
        with torch.enable_grad():  # the penalty's gradient by autograd: tiny
            ws = [wt.detach().requires_grad_() for wt in weights]
            value = PENALTIES[spec.penalty].value(ws, spec.l1_ratio)
            grads = torch.autograd.grad(value, ws)
        for wt, gr in zip(weights, grads):
            wt.grad.add_(gr, alpha=coef)
        loss = loss + coef * value.detach()
    return loss
