"""Devices and torch threads."""

import os
import re
from contextlib import contextmanager

import torch

_CUDA_RE = re.compile(r"^cuda(:\d+)?$")


def resolve_device(device):
    """Return the torch device string that ``device`` asks for.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``"auto"`` is CUDA when available, else the CPU.

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    ValueError
        If ``device`` is not one of the accepted strings, or names a CUDA device that
        this machine does not have.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if not isinstance(device, str) or not _CUDA_RE.match(device):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
        )
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine;"
            " use device='auto' or device='cpu'."
        )
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s)."
        )
    return device


# Largest (rows x weight-matrix entries) product for which one torch thread trains
# faster than several on a CPU: below it the per-op dispatch cost dominates and extra
# threads only add synchronisation. Measured on a 2-core machine
# (benchmarks/bench_fit.py --threads): (100,) at batch 200 or 2000 is faster on 1
# thread, (256, 256) at batch 200 faster on 2.
_SINGLE_THREAD_WORK = 12_000_000


def _runnable_tasks():
    """Tasks runnable on this machine now (Linux's ``/proc/loadavg``, which counts
    this process's running threads too), or None where it is not available."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def busy_cores():
    """How many cores other processes keep busy now: the runnable tasks (Linux) less
    this process's own torch threads; elsewhere the 1-minute load average less them,
    0 where that is unknown (Windows). What is running now, not a one-minute average:
    an average still counts work that ended a minute ago (a fit right after a
    benchmark measured 1.55x sklearn's time per epoch against 1.19x once it decayed)."""
    running = _runnable_tasks()
    if running is None:
        try:
            running = os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0
    return max(0.0, running - torch.get_num_threads())


def cpu_threads_for(layer_units, batch_size):
    """Number of torch threads to train a net of ``layer_units`` on the CPU.

    One thread for small nets (below ``_SINGLE_THREAD_WORK``, where per-op dispatch
    dominates), and one thread whenever other processes keep the cores busy now
    (``busy_cores()`` leaves fewer than two cores free): a multi-threaded op then
    waits at its barrier for threads the scheduler has parked, which costs more than
    the second thread gains (benchmarks/bench_test_load.py). Otherwise torch's current setting,
    which joblib / loky workers already limit to their share of the cores.

    Parameters
    ----------
    layer_units : sequence of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    batch_size : int
        Rows per mini-batch.

    Returns
    -------
    int
    """
    widest = max(a * b for a, b in zip(layer_units[:-1], layer_units[1:]))
    current = torch.get_num_threads()
    if current == 1 or widest * batch_size <= _SINGLE_THREAD_WORK:
        return 1
    free = (os.cpu_count() or 1) - busy_cores()
    if free < 2:
        return 1
    return min(current, int(free))


@contextmanager
def torch_threads(n):
    """Run the body with ``n`` torch intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
