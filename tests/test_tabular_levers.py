"""The tabular levers of the MLPs: numerical embeddings, parameter-efficient ensembles,
label smoothing, validation-loss early stopping and temperature scaling. Contracts
only: shapes, equivalences, which rows each part sees; never a quality number."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from sklopt.io import load, save
from sklopt.neural_network import MLPClassifier, MLPRegressor
from sklopt.neural_network._levers.embeddings import PiecewiseLinearEmbedding


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


def mlp(cls=MLPClassifier, **kw):
    return cls(**{"hidden_layer_sizes": (16,), "random_state": 0, "device": "cpu",
                  "max_iter": 5, "learning_rate_init": 0.01, **kw})


@pytest.mark.parametrize("embedding", ["periodic", "piecewise_linear"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_shapes_with_embeddings_and_ensembles(digits, embedding, k, cls):
    X, y = digits
    est = mlp(cls, num_embedding=embedding, embedding_dim=4, n_bins=5, n_frequencies=3,
              n_ensemble=k).fit(X, y if cls is MLPClassifier else y / 9.0)
    # The MLP sees the embeddings of the columns with more than two values, and the
    # others (digits' constant and two-valued pixels) as they are.
    many = np.array([len(np.unique(X[:, j])) > 2 for j in range(X.shape[1])])
    np.testing.assert_array_equal(est.embedded_columns_, many)
    assert 0 < many.sum() < 64
    assert est.coefs_[0].shape == (many.sum() * 4 + (64 - many.sum()), 16)
    raw = est.net_.forward_raw(est.net_.module_.linears()[0].weight.new_tensor(X[:7]))
    assert raw.shape == ((7, 10) if k == 1 else (7, k, 10)) if cls is MLPClassifier \
        else ((7, 1) if k == 1 else (7, k, 1))
    if cls is MLPClassifier:
        proba = est.predict_proba(X[:7])
        assert proba.shape == (7, 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    else:
        assert est.predict(X[:7]).shape == (7,)


def test_one_member_is_the_plain_network(digits):
    X, y = digits
    a = mlp(n_ensemble=1).fit(X, y)
    b = mlp().fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)


def test_ensemble_trains_on_the_mean_of_member_losses_and_predicts_their_mean(digits):
    import torch

    X, y = digits
    est = mlp(n_ensemble=4).fit(X, y)
    Xt = torch.as_tensor(X[:9])
    raw = est.net_.forward_raw(Xt)  # (9, 4, 10)
    members = torch.softmax(raw, dim=2).numpy()
    assert not np.allclose(members[:, 0], members[:, 1])  # the members differ
    np.testing.assert_allclose(est.predict_proba(X[:9]), members.mean(axis=1), rtol=1e-10)
    # The loss is the mean of the members' losses.
    net = est.net_
    target = torch.as_tensor(est._label_binarizer.transform(y[:9]).argmax(1))
    from sklopt.neural_network._levers.losses import OUTPUTS, member_loss

    per_member = [float(OUTPUTS["softmax"].loss(raw[:, i], target)) for i in range(4)]
    got = float(member_loss(OUTPUTS["softmax"].loss, raw, target))
    assert got == pytest.approx(np.mean(per_member), rel=1e-12)
    assert net is est.net_


def test_piecewise_linear_bins_come_from_the_training_rows_only(digits, monkeypatch):
    X, y = digits
    seen = []
    real_fit = PiecewiseLinearEmbedding.fit
    monkeypatch.setattr(PiecewiseLinearEmbedding, "fit",
                        lambda self, Z: seen.append(Z.copy()) or real_fit(self, Z))
    est = mlp(num_embedding="piecewise_linear", early_stopping=True,
              validation_fraction=0.25).fit(X, y)
    (rows,) = seen
    assert len(rows) == len(X) - 100  # the 25% held out were not used
    embedded = X[:, est.embedded_columns_]  # the columns it maps
    assert {r.tobytes() for r in rows} <= {r.tobytes() for r in embedded}
    # The edges are the training rows' quantiles.
    emb = est.net_.module_.embedding
    j = 10
    edges = np.unique(np.quantile(rows[:, j], np.linspace(0, 1, 17)))
    np.testing.assert_allclose(emb.left[j, :len(edges) - 1].numpy(), edges[:-1])


def test_warm_start_keeps_embeddings_and_adapters(digits):
    X, y = digits
    est = mlp(num_embedding="periodic", n_ensemble=3, warm_start=True).fit(X, y)
    freq = est.net_.module_.embedding.frequencies.detach().clone()
    est.set_params(dropout=0.1, max_iter=1).fit(X, y)  # structure change: rebuilt
    assert not np.allclose(freq.numpy(), 0)
    assert est.net_.module_.linears()[0].r.abs().min() > 0
    with pytest.raises(ValueError, match="n_ensemble"):
        est.set_params(n_ensemble=2).fit(X, y)


def test_batch_norm_with_an_ensemble_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="batch_norm"):
        mlp(n_ensemble=2, batch_norm=True).fit(X, y)


@pytest.mark.parametrize("kw", [{"num_embedding": "piecewise_linear", "n_ensemble": 3},
                                {"num_embedding": "periodic", "calibrate": True,
                                 "early_stopping": True}])
def test_save_and_load_keep_the_new_levers(digits, tmp_path, kw):
    X, y = digits
    est = mlp(**kw).fit(X, y)
    save(est, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "m.safetensors").predict_proba(X),
                                  est.predict_proba(X))


def test_label_smoothing_keeps_probabilities_away_from_zero_and_one(digits):
    X, y = digits
    plain = mlp(max_iter=60).fit(X, y)
    smooth = mlp(max_iter=60, label_smoothing=0.3).fit(X, y)
    # The smoothed optimum puts 1 - 0.3 + 0.03 = 0.73 on the true class.
    assert smooth.predict_proba(X).max(axis=1).mean() < 0.8
    assert plain.predict_proba(X).max(axis=1).mean() > 0.9


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_lowers_held_out_log_loss_of_an_over_confident_net(seed):
    # Noisy labels, few informative columns, a wide net trained with a high rate on
    # small batches: it memorises, and its probabilities are over-confident even at
    # the best validation epoch.
    X, y = make_classification(1600, 40, n_informative=3, flip_y=0.2, random_state=seed)
    train, test = slice(0, 600), slice(600, None)
    kw = dict(hidden_layer_sizes=(512, 512), learning_rate_init=0.02, batch_size=32,
              max_iter=40, early_stopping=True, validation_fraction=0.3,
              n_iter_no_change=100, random_state=0, device="cpu", precision="float32")
    raw = MLPClassifier(**kw).fit(X[train], y[train])
    cal = MLPClassifier(calibrate=True, **kw).fit(X[train], y[train])
    assert cal.temperature_ > 1.0  # it softens an over-confident net
    assert log_loss(y[test], cal.predict_proba(X[test])) < log_loss(
        y[test], raw.predict_proba(X[test]))
    np.testing.assert_array_equal(cal.predict(X[test]), raw.predict(X[test]))


def test_calibrate_needs_held_out_rows(digits):
    X, y = digits
    with pytest.raises(ValueError, match="early_stopping=True"):
        mlp(calibrate=True).fit(X, y)


def test_regression_ensemble_predicts_the_members_mean():
    import torch

    X, y = make_regression(200, 5, random_state=0)
    est = mlp(MLPRegressor, n_ensemble=3).fit(X, y / y.std())
    raw = est.net_.forward_raw(torch.as_tensor(X[:4]))
    np.testing.assert_allclose(est.predict(X[:4]), raw.mean(dim=1)[:, 0].numpy())


def test_partial_fit_embeds_every_column():
    # Its first batch may be two rows, where every column looks two-valued.
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    est = MLPRegressor(num_embedding="piecewise_linear", embedding_dim=4, device="cpu")
    for start in range(0, 40, 2):
        est.partial_fit(X[start:start + 2], y[start:start + 2])
    assert est.embedded_columns_ is None
    assert est.net_.module_.embedding is not None
    assert est.coefs_[0].shape[0] == 3 * 4
