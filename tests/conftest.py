"""Test-session settings.

Threads: the tests train small nets on small data, where more threads buy nothing,
and on a machine whose cores other jobs share (CI runners, a shared workstation) every
multi-threaded OpenMP / BLAS call waits for threads the scheduler has parked: measured
in benchmarks/bench_test_load.py and docs/user_guide/performance.md. So the session
runs torch, OpenMP and BLAS on one thread, and so do the processes it starts (joblib
workers, Dask workers, notebook kernels, sphinx-build), through the environment.
``SKLOPT_TEST_THREADS=N`` sets another count; ``SKLOPT_TEST_THREADS=default`` leaves
the libraries' defaults (one thread per core).
"""

import os

_THREADS = os.environ.get("SKLOPT_TEST_THREADS", "1")

if _THREADS != "default":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(int(_THREADS))
    # numpy's BLAS and sklearn's OpenMP are already loaded by now: limit them in place.
    _LIMITS = threadpool_limits(int(_THREADS))
