"""sklopt's CPU thread policy (sklopt.utils.cpu_threads_for)."""

import os

import pytest

from sklopt.utils import _device, cpu_threads_for, torch_threads

BIG = [50, 512, 512, 2]  # 512 x 512 weights: above the single-thread size at batch 200


@pytest.fixture
def two_threads():
    with torch_threads(2):
        yield


def test_small_nets_train_on_one_thread(two_threads):
    assert cpu_threads_for([64, 100, 10], 200) == 1


@pytest.mark.parametrize("running, expected", [(1, 2), (2, 2), (3, 1), (6, 1)])
def test_big_nets_use_one_thread_when_other_jobs_keep_the_cores_busy_now(
        two_threads, monkeypatch, running, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_device, "_runnable_tasks", lambda: running)
    # A one-minute average that still remembers finished work is not read.
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    # The runnable tasks count this process's own threads (2): 3 means one other
    # busy process, which leaves one core free.
    assert cpu_threads_for(BIG, 200) == expected


def test_the_runnable_tasks_are_read_from_the_kernel():
    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg on this system (not Linux)")
    running = _device._runnable_tasks()
    assert isinstance(running, int) and running >= 1  # this test is running


@pytest.mark.parametrize("load, expected", [(0.5, 2), (3.0, 1)])
def test_without_runnable_tasks_the_load_average_decides(two_threads, monkeypatch,
                                                         load, expected):
    monkeypatch.setattr(_device, "_runnable_tasks", lambda: None)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert cpu_threads_for(BIG, 200) == expected


def test_without_a_load_average_the_policy_uses_torch_setting(two_threads, monkeypatch):
    def unavailable():
        raise OSError("no load average here")

    monkeypatch.setattr(_device, "_runnable_tasks", lambda: None)
    monkeypatch.setattr(os, "getloadavg", unavailable)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert _device.busy_cores() == 0.0
    assert cpu_threads_for(BIG, 200) == 2


def test_one_thread_set_by_the_user_is_kept():
    with torch_threads(1):
        assert cpu_threads_for(BIG, 200) == 1


def test_an_ensemble_with_embeddings_counts_as_the_work_it_does(two_threads,
                                                                monkeypatch):
    # TabularMLP's net: 55 inputs, (128, 128). Alone it is a small net (one thread);
    # with 8 members and 8-wide embeddings its products are 8x wider and 8x longer.
    from sklopt.neural_network._spec import ModuleSpec

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_device, "_runnable_tasks", lambda: 1)
    plain = ModuleSpec((55, 128, 128, 2), "relu", "auto", 0.0, False)
    tabular = ModuleSpec((55, 128, 128, 2), "relu", "auto", 0.0, False,
                         num_embedding="piecewise_linear", embedding_dim=8, n_ensemble=8)
    assert tabular.work(256) == ([440, 128, 128, 2], 2048)
    assert cpu_threads_for(*plain.work(256)) == 1
    assert cpu_threads_for(*tabular.work(256)) == 2
