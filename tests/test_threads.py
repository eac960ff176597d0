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


@pytest.mark.parametrize("load, expected", [(0.5, 2), (2.0, 2), (3.0, 1), (6.0, 1)])
def test_big_nets_use_one_thread_when_other_jobs_keep_the_cores_busy(
        two_threads, monkeypatch, load, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    # The load average counts this process's own threads (2): 3.0 means one other
    # busy process, which leaves one core free.
    assert cpu_threads_for(BIG, 200) == expected


def test_without_a_load_average_the_policy_uses_torch_setting(two_threads, monkeypatch):
    def unavailable():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", unavailable)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert _device.busy_cores() == 0.0
    assert cpu_threads_for(BIG, 200) == 2


def test_one_thread_set_by_the_user_is_kept():
    with torch_threads(1):
        assert cpu_threads_for(BIG, 200) == 1
