"""The one place that chooses the array module and the default floating dtype.

Every other file gets its array module from here (``xp``, ``get_array_module``); no other
file imports cupy. NumPy is the only backend today; the seam is here so that a CuPy backend
can be added without touching the ops.

The default dtype is float32, like PyTorch. float64 is available per tensor (``dtype=``) and
globally::

    >>> import numpy, numnet
    >>> numnet.get_default_dtype()
    dtype('float32')
    >>> numnet.set_default_dtype(numpy.float64); numnet.get_default_dtype()
    dtype('float64')
    >>> numnet.set_default_dtype(numpy.float32)
"""

from __future__ import annotations

import concurrent.futures
import os
import threading

import numpy

xp = numpy

_FLOAT_DTYPES = (numpy.dtype(numpy.float16), numpy.dtype(numpy.float32),
                 numpy.dtype(numpy.float64))
_default_dtype = numpy.dtype(numpy.float32)
_num_threads = max(1, min(2, os.cpu_count() or 1))


def get_array_module(array=None):
    """Return the array module (``numpy``) that holds ``array``."""
    return numpy


def get_default_dtype() -> numpy.dtype:
    """The dtype that new floating tensors get when none is given (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype of new floating tensors: ``numpy.float32`` (default) or ``numpy.float64``.

    Raises:
        TypeError: if ``dtype`` is not a floating dtype.
    """
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype expects a floating dtype, got {dtype}")
    _default_dtype = dtype


def is_floating(dtype) -> bool:
    """True for float16, float32 and float64."""
    return numpy.dtype(dtype) in _FLOAT_DTYPES


def get_num_threads() -> int:
    """Worker threads numnet uses for batch-split work (default: cores, at most 2)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Set the number of worker threads for batch-split work; ``1`` turns threading off."""
    global _num_threads
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, got {n}")
    _num_threads = n


def _find_blas_threads():
    """``(get, set)`` of the loaded OpenBLAS's thread count, or None when there is none.

    Found through the libraries mapped into this process (``/proc/self/maps``, Linux) and
    ctypes, so numnet needs no extra package.
    """
    import ctypes
    names = ("scipy_openblas_{}_num_threads64_", "openblas_{}_num_threads64_",
             "openblas_{}_num_threads")
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            getter = getattr(library, name.format("get"), None)
            setter = getattr(library, name.format("set"), None)
            if getter is not None and setter is not None:
                setter.argtypes = [ctypes.c_int]
                getter.restype = ctypes.c_int
                return getter, setter
    return None


_blas_threads = None


def _blas_single():
    """Set the BLAS to one thread; return the count to restore (None: nothing to do)."""
    global _blas_threads
    if _blas_threads is None:
        _blas_threads = _find_blas_threads() or False
    if not _blas_threads:
        return None
    get, put = _blas_threads
    previous = get()
    if previous == 1:
        return None
    put(1)
    return previous


_pool = None
_pool_lock = threading.Lock()
_in_worker = threading.local()


def _executor(workers: int):
    """The shared thread pool, (re)made with ``workers`` threads."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(workers, "numnet")
        return _pool


def _run_group(fn, group) -> list:
    _in_worker.active = True
    try:
        return [fn(*item) for item in group]
    finally:
        _in_worker.active = False


def parallel_map(fn, items) -> list:
    """``[fn(*item) for item in items]``, the items split over ``get_num_threads()`` threads.

    The items are cut into that many contiguous groups; the calling thread runs the first,
    pool threads the others (NumPy releases the GIL in BLAS calls and large copies, so the
    groups overlap). The results come back in item order, so a caller that combines them in
    that order gets the same numbers for any thread count. Nested calls run sequentially.
    """
    items = list(items)
    threads = min(_num_threads, len(items))
    if threads <= 1 or getattr(_in_worker, "active", False):
        return [fn(*item) for item in items]
    bounds = [len(items) * i // threads for i in range(threads + 1)]
    groups = [items[bounds[i]:bounds[i + 1]] for i in range(threads)]
    pool = _executor(_num_threads - 1)
    # NOTE: each group is one core's work; a multi-threaded BLAS inside would fight the
    # other groups for the cores (measured: 5x slower), so the BLAS runs on one thread here.
    restore = _blas_single()
    try:
        futures = [pool.submit(_run_group, fn, group) for group in groups[1:]]
        results = _run_group(fn, groups[0])
        for future in futures:
            results += future.result()
    finally:
        if restore is not None:
            _blas_threads[1](restore)
    return results
