"""Beyond one process: Dask-distributed search, Optuna with pruning, thread shares."""

import os

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline

from sklopt.distillation import DistilledClassifier
from sklopt.neural_network import MLPClassifier
from sklopt.preprocessing import MinMaxScaler

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def _pipe():
    return make_pipeline(MinMaxScaler(), MLPClassifier((16,), max_iter=15, random_state=0,
                                                       device="cpu"))


def test_dask_distributed_search_matches_one_job(digits):
    distributed = pytest.importorskip("distributed")
    X, y = digits
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2],
            "mlpclassifier__hidden_layer_sizes": [(8,), (16,)]}
    local = GridSearchCV(_pipe(), grid, cv=2, n_jobs=1).fit(X, y)
    rand_kw = dict(param_distributions={"mlpclassifier__alpha": [1e-5, 1e-4, 1e-3]},
                   n_iter=2, cv=2, random_state=0)
    local_rand = RandomizedSearchCV(_pipe(), **rand_kw).fit(X, y)
    kd_grid = {"temperature": [1.0, 4.0]}
    kd = DistilledClassifier(_pipe(), _pipe(), random_state=0)
    local_kd = GridSearchCV(kd, kd_grid, cv=2).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with parallel_backend("dask"):
            remote = GridSearchCV(_pipe(), grid, cv=2, n_jobs=-1).fit(X, y)
            remote_rand = RandomizedSearchCV(_pipe(), n_jobs=-1, **rand_kw).fit(X, y)
            remote_kd = GridSearchCV(kd, kd_grid, cv=2, n_jobs=-1).fit(X, y)
    for a, b in [(local, remote), (local_rand, remote_rand), (local_kd, remote_kd)]:
        assert a.cv_results_["params"] == b.cv_results_["params"]
        for key in ("mean_test_score", "std_test_score", "rank_test_score"):
            np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_optuna_search_prunes_through_partial_fit_on_sqlite(digits, tmp_path,
                                                            monkeypatch):
    optuna = pytest.importorskip("optuna")
    pytest.importorskip("optuna_integration")
    from sklopt.model_selection import optuna_search

    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = digits
    X = X / 16.0
    space = {"alpha": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
             "learning_rate_init": optuna.distributions.FloatDistribution(1e-5, 1e-1,
                                                                          log=True)}
    search = optuna_search(MLPClassifier((16,), random_state=0, device="cpu"), space,
                           study_name="t", n_trials=8, max_iter=12, cv=2, random_state=0)
    search.fit(X, y)
    assert (tmp_path / "sklopt-optuna.db").is_file()  # the default SQLite storage
    states = [t.state for t in search.trials_]
    assert len(states) == 8
    assert optuna.trial.TrialState.PRUNED in states  # pruned between partial_fit epochs
    assert search.score(X, y) > 0.5
    # The study persists: a second search with the same name resumes it.
    again = optuna_search(MLPClassifier((16,), device="cpu"), space, study_name="t",
                          n_trials=1, max_iter=3, cv=2)
    assert len(again.study.trials) == 8


def _threads_scorer(estimator, X, y):
    # Runs in the worker after the fit: the thread count the fit left behind.
    return float(torch.get_num_threads())


def test_grid_search_workers_use_their_thread_share(digits):
    X, y = digits
    big = MLPClassifier((512, 512), max_iter=2, batch_size=400, random_state=0,
                        device="cpu")
    grid = GridSearchCV(big, {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2,
                        scoring=_threads_scorer).fit(X / 16.0, y)
    share = max(1, (os.cpu_count() or 1) // 2)
    assert np.all(grid.cv_results_["mean_test_score"] <= share)


def test_a_fit_leaves_the_process_thread_count_as_it_was(digits):
    X, y = digits
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(max(2, before))
        expected = torch.get_num_threads()
        MLPClassifier((8,), max_iter=2, device="cpu").fit(X, y)  # trains on 1 thread
        assert torch.get_num_threads() == expected
        MLPClassifier((1024,), max_iter=1, batch_size=400, device="cpu").fit(X, y)
        assert torch.get_num_threads() == expected
    finally:
        torch.set_num_threads(before)


def test_study_on_a_dask_cluster_matches_one_process(tmp_path, capsys):
    # `sklopt study --scheduler ADDRESS` runs the study's fits on the cluster (every
    # worker by default); every outer score is the same as in one process.
    distributed = pytest.importorskip("distributed")
    from sklopt._cli import main

    args = ["study", "--dataset", "iris", "--budget", "smoke", "--quiet", "--device",
            "cpu"]
    assert main(args + ["--out", str(tmp_path / "local"), "--n-jobs", "1"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert main(args + ["--out", str(tmp_path / "dask"), "--scheduler",
                            cluster.scheduler_address]) == 0
    capsys.readouterr()
    import pandas as pd

    local = pd.read_csv(tmp_path / "local" / "folds.csv", index_col=0)
    remote = pd.read_csv(tmp_path / "dask" / "folds.csv", index_col=0)
    assert list(local.columns) == list(remote.columns) and local.shape == (3, 12)
    pd.testing.assert_frame_equal(local, remote)
