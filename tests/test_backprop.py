"""The hand-written backpropagation of the plain network gives autograd's loss and
gradients, for every loss, activation, penalty and sample weighting it serves."""

import numpy as np
import pytest
import torch

from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network import _backprop as backprop
from sklopt.neural_network._levers.losses import OUTPUTS
from sklopt.neural_network._module import MLPModule
from sklopt.neural_network._spec import ModuleSpec, TrainSpec


def _spec(out_activation, activation, penalty, dtype):
    module = ModuleSpec((6, 7, 5, 3), activation, "auto", 0.0, False)
    return TrainSpec(module=module, out_activation=out_activation, device="cpu",
                     dtype=dtype, precision="auto", compile="none", solver="adam",
                     hyper=(), learning_rate="constant", penalty=penalty, alpha=0.3,
                     l1_ratio=0.4, batch_size=11, shuffle=True, max_epochs=1,
                     incremental=False, tol=1e-4, n_iter_no_change=10,
                     early_stopping=False, stop_on="score", verbose=0)


@pytest.mark.parametrize("out_activation", ["softmax", "logistic", "identity", "exp"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("penalty", [None, "l1", "elasticnet"])
@pytest.mark.parametrize("weighted", [False, True])
def test_hand_written_gradients_are_autograds(out_activation, activation, penalty,
                                              weighted):
    dtype = torch.float64
    spec = _spec(out_activation, activation, penalty, dtype)
    module = MLPModule(spec.module, dtype).reset_parameters(np.random.RandomState(0))
    g = torch.Generator().manual_seed(1)
    X = torch.randn(11, 6, generator=g, dtype=dtype)
    if out_activation == "softmax":
        y = torch.randint(0, 3, (11,), generator=g)
    elif out_activation == "logistic":
        y = torch.randint(0, 2, (11, 3), generator=g).to(dtype)
    else:
        y = torch.rand(11, 3, generator=g, dtype=dtype) * 3
    w = torch.rand(11, generator=g, dtype=dtype) + 0.5 if weighted else None
    denom = float(w.sum()) if weighted else 11.0
    explicit = penalty is not None

    module.zero_grad()
    loss = OUTPUTS[out_activation].loss(module(X), y, w)
    if explicit:
        from sklopt.neural_network._levers import PENALTIES

        loss = loss + 0.3 / denom * PENALTIES[penalty].value(module.weights(), 0.4)
    loss.backward()
    expected = [p.grad.clone() for p in module.parameters()]

    for p in module.parameters():
        p.grad = None
    with torch.no_grad():
        got_loss = backprop.loss_and_gradients(module, spec, X, y, w, denom, explicit)
    assert float(got_loss) == pytest.approx(float(loss), rel=1e-12)
    for p, e in zip(module.parameters(), expected):
        torch.testing.assert_close(p.grad, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw, manual", [
    ({}, True),
    ({"activation": "gelu"}, False),
    ({"dropout": 0.1}, False),
    ({"n_ensemble": 2}, False),
])
def test_the_fast_path_serves_only_what_it_can(kw, manual, monkeypatch):
    calls = []
    real = backprop.loss_and_gradients
    monkeypatch.setattr(backprop, "loss_and_gradients",
                        lambda *a: calls.append(1) or real(*a))
    X, y = np.random.RandomState(0).normal(size=(40, 4)), np.arange(40) % 3
    MLPClassifier((5,), max_iter=2, device="cpu", **kw).fit(X, y)
    assert bool(calls) == manual


@pytest.mark.parametrize("cls, kw", [(MLPClassifier, {"alpha": 0.01}),
                                     (MLPRegressor, {"penalty": "l1", "alpha": 0.01}),
                                     (MLPClassifier, {"solver": "sgd",
                                                      "class_weight": "balanced"})])
def test_fast_and_autograd_paths_train_the_same_network(cls, kw, monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = (X @ np.arange(5.0) > 1).astype(int) if cls is MLPClassifier else X @ np.arange(5.0)
    params = dict(hidden_layer_sizes=(8, 6), max_iter=5, random_state=0, device="cpu", **kw)
    fast = cls(**params).fit(X, y)
    monkeypatch.setattr(backprop, "supported", lambda *a: False)
    slow = cls(**params).fit(X, y)
    np.testing.assert_allclose(fast.loss_curve_, slow.loss_curve_, rtol=1e-10)
    for a, b in zip(fast.coefs_, slow.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
