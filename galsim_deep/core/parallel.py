"""Process settings for running many galaxy samplers side by side.

A sampling process spends its time in two thread pools: the network's (TensorFlow's
or ONNX Runtime's) and GalSim's OpenMP one (a few C++ loops).  By default each sizes
itself to every core of the machine, so ``nproc`` processes on ``nproc`` cores
start ``nproc**2`` busy threads that fight for the cores.  Worker processes
(GalSim's ``nproc`` workers, the Dask workers of ``galsim-deep field render``)
call :func:`configure_worker` once, before their first network evaluation, to
share the cores out instead.

TensorFlow's thread pools cannot be resized once it has run an operation, and
they do not survive ``fork``: a process forked after TensorFlow ran hangs at
its first TensorFlow call (ONNX Runtime's neither: the callers that fork ask
:func:`galsim_deep.engine.runtimes.network_ran`, which also asks
:func:`tensorflow_started`).

Measurements that fan galaxies out to other processes (the validation measures, the
diagnostics) use :func:`worker_pool`: ``spawn`` workers, safe after TensorFlow is loaded,
each with one BLAS thread.
"""
import multiprocessing
import os
import sys
from .errors import InputError

__all__ = ["cpu_count", "tensorflow_started", "set_tensorflow_threads", "configure_worker",
           "worker_threads", "worker_pool"]

# The network's threads in this process, set by configure_worker (None: the runtime's
# default, every core).
_WORKER = {"threads": None}


def worker_threads():
    """The threads :func:`configure_worker` gave this process's network (None: not called).

    The network's runtime applies them when it loads (:mod:`galsim_deep.engine.runtimes`),
    so a worker that samples with ONNX Runtime never imports TensorFlow."""
    return _WORKER["threads"]


def cpu_count():
    """Number of cores this process may run on (its CPU affinity, else ``os.cpu_count()``).

    Returns
    -------
    int
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def tensorflow_started():
    """Whether TensorFlow's runtime has started in this process (it has run an operation).

    Returns
    -------
    bool
        False if TensorFlow is not imported, or imported but idle: forking
        and setting its thread counts are still safe.
    """
    if "tensorflow" not in sys.modules:
        return False
    from tensorflow.python.eager import context

    # (TensorFlow has no public test for this: its eager context gets a handle when it
    # first runs an operation)
    return getattr(context.context(), "_context_handle", None) is not None


def set_tensorflow_threads(intra_op, inter_op=None):
    """Set TensorFlow's thread counts for this process, if it has not started yet.

    Parameters
    ----------
    intra_op : int
        Threads one operation (a convolution, a matrix product) may use.
    inter_op : int, optional
        Operations run concurrently (default: ``intra_op``).

    Returns
    -------
    bool
        True if the counts were set; False if TensorFlow had already run (the
        counts are then fixed for the life of the process).
    """
    if intra_op < 1 or (inter_op is not None and inter_op < 1):
        raise InputError(f"thread counts must be >= 1, got intra_op={intra_op}, "
                         f"inter_op={inter_op}")
    if tensorflow_started():
        return False
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(intra_op))
    tf.config.threading.set_inter_op_parallelism_threads(int(inter_op or intra_op))
    return True


def configure_worker(nproc, threads=None, galsim_threads=True):
    """Share this machine's cores among ``nproc`` worker processes, from inside one of them.

    Gives the network ``threads`` (TensorFlow's thread counts, if it has not run yet in
    this process, or ONNX Runtime's, as the network loads: :func:`worker_threads`)
    and, with ``galsim_threads``, GalSim's OpenMP threads.

    Parameters
    ----------
    nproc : int
        Worker processes running side by side on this machine.
    threads : int, optional
        Threads per worker (default: ``cpu_count() // nproc``, at least 1).
    galsim_threads : bool
        Also set GalSim's OpenMP threads (GalSim's own ``nproc`` workers
        already run single-threaded and pass False).

    Returns
    -------
    int
        The threads per worker used.
    """
    import galsim

    if threads is None:
        threads = max(1, cpu_count() // max(1, int(nproc)))
    _WORKER["threads"] = int(threads)
    if "tensorflow" in sys.modules:
        set_tensorflow_threads(threads)
    if galsim_threads:
        galsim.set_omp_threads(threads)
    return threads


def worker_pool(processes=None):
    """A pool of worker processes, one BLAS thread each (``spawn`` start method).

    The validation measures (:func:`galsim_deep.tools.validation.validate`) and the
    diagnostics measure their galaxies in it.

    Workers are started with ``spawn`` (safe after TensorFlow is loaded), so a
    script that calls this must guard its main code with
    ``if __name__ == "__main__":``.  A worker that dies raises
    ``concurrent.futures.process.BrokenProcessPool`` instead of hanging.

    Parameters
    ----------
    processes : int, optional
        Number of workers (default: :func:`cpu_count`).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Use as a context manager; pass it as ``pool=`` to reuse the workers
        across calls.
    """
    from concurrent.futures import ProcessPoolExecutor

    processes = cpu_count() if processes is None else int(processes)
    if processes < 1:
        raise InputError(f"processes must be >= 1, got {processes}")
    return ProcessPoolExecutor(max_workers=processes,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)


def _init_worker():
    """One BLAS thread per worker: the workers already use every core, and BLAS threads
    competing for them make the many small linear-algebra calls several times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return
    threadpool_limits(limits=1)
