"""The array module, the default floating dtype, and how numnet uses the cores.

NumPy is the only backend. ``xp`` and ``get_array_module`` name the array module, but no
other file goes through them yet: the other files import ``numpy`` directly (and none
imports cupy), so a CuPy backend would start by routing those imports through here. What
the rest of numnet does take from this module: the default dtype (``get_default_dtype``,
``is_floating``), the worker threads (``set_num_threads``, ``map_batch``, ``parallel_map``)
and ``matmul``, threaded by size. At import it also lets glibc's malloc keep freed memory
(``_keep_freed_memory``).

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
import contextlib
import math
import os
import threading

import numpy

xp = numpy

_FLOAT_DTYPES = (numpy.dtype(numpy.float16), numpy.dtype(numpy.float32),
                 numpy.dtype(numpy.float64))
_default_dtype = numpy.dtype(numpy.float32)
_num_threads = max(1, min(2, os.cpu_count() or 1))


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> bool:
    """Let glibc's malloc keep freed memory for the next allocation (Linux, glibc only).

    NOTE: a training step allocates and frees the same large arrays (activations, masks,
    gradients: up to 16 MiB each for the CIFAR CNN at batch 128) every step. By default
    glibc serves arrays over its (adaptive) mmap threshold with fresh pages and gives the
    top of its heap back to the system once more than twice that is free; every step then
    faults in and zeroes its memory again: 3,600 page faults and 12-23 ms of system time per
    CIFAR CNN step, which was 5-9% of the step. Arrays up to 64 MiB now come from the heap,
    and up to 512 MiB of free heap stays with the process (the peak is unchanged: this is
    memory a step already needed). ``NUMNET_KEEP_FREED_MEMORY=0`` in the environment turns
    this off; ``ctypes.CDLL(None).malloc_trim(0)`` hands the free memory back at any time.
    """
    if os.environ.get("NUMNET_KEEP_FREED_MEMORY", "1") == "0":
        return False
    import ctypes
    import platform
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 64 * 2 ** 20)
                and mallopt(_M_TRIM_THRESHOLD, 512 * 2 ** 20))


keeps_freed_memory = _keep_freed_memory()


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


@contextlib.contextmanager
def single_threaded_blas():
    """Run the BLAS on one thread inside the block (then restore its thread count).

    NOTE: numnet splits large products over its own threads (``parallel_map``); OpenBLAS's
    own worker threads, once woken by a multi-threaded call, keep spinning for a while after
    it and steal the cores numnet's threads need (measured: the CIFAR CNN's step 289 ms
    against 254 ms with 2 threads). So the products in numnet's threads, and the small and
    large ones of ``matmul``, run the BLAS on one thread; NumPy code outside numnet keeps
    the BLAS's own setting.
    """
    global _blas_threads
    if _blas_threads is None:
        _blas_threads = _find_blas_threads() or False
    previous = None
    if _blas_threads:
        get, put = _blas_threads
        previous = get()
        if previous != 1:
            put(1)
    try:
        yield
    finally:
        if previous is not None and previous != 1:
            _blas_threads[1](previous)


_pool = None
_pool_lock = threading.Lock()
_in_worker = threading.local()
# True once numnet's worker threads have run work in this process (see ``matmul``)
_workers_used = False


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


def parallel_map(fn, items, threads: int | None = None) -> list:
    """``[fn(*item) for item in items]``, the items split over ``threads`` threads
    (default ``get_num_threads()``), with the BLAS on one thread in each.

    The items are cut into that many contiguous groups; the calling thread runs the first,
    pool threads the others (NumPy releases the GIL in BLAS calls, ufunc loops and large
    copies, so the groups overlap). The results come back in item order, so a caller that
    combines them in that order gets the same numbers for any thread count. Nested calls
    run sequentially.
    """
    global _workers_used
    items = list(items)
    threads = min(_num_threads if threads is None else threads, len(items))
    # NOTE: each group is one core's work; a multi-threaded BLAS inside would fight the
    # other groups for the cores (measured: 5x slower), so the BLAS runs on one thread here.
    with single_threaded_blas():
        if threads <= 1 or getattr(_in_worker, "active", False):
            return [fn(*item) for item in items]
        _workers_used = True
        bounds = [len(items) * i // threads for i in range(threads + 1)]
        groups = [items[bounds[i]:bounds[i + 1]] for i in range(threads)]
        pool = _executor(_num_threads - 1)
        futures = [pool.submit(_run_group, fn, group) for group in groups[1:]]
        results = _run_group(fn, groups[0])
        for future in futures:
            results += future.result()
    return results


def ranges(length: int, parts: int) -> list:
    """``range(length)`` cut into ``parts`` contiguous ``(start, stop)`` pairs of near-equal
    size (fewer when ``length`` is smaller)."""
    parts = max(1, min(parts, length))
    bounds = [length * i // parts for i in range(parts + 1)]
    return list(zip(bounds, bounds[1:]))


# Elements per piece of a pass over a large array (``map_batch``): 1 MiB of float32, so that
# a piece written by one ufunc is still in the core's cache (L2) when the next reads it.
_PIECE_ELEMENTS = 2 ** 18


def map_batch(fn, length: int, per_item: int = 1) -> None:
    """``fn(start, stop)`` over pieces of ``range(length)`` holding about ``_PIECE_ELEMENTS``
    elements each (``per_item`` elements per index), spread over the threads when there are
    several pieces.

    For passes over large arrays, by samples (``per_item`` = elements per sample) or by flat
    elements: several ufuncs run on one cache-sized piece before the next piece is read, and
    the pieces run on every core. The pieces depend only on the sizes, so the results are
    the same for any thread count.
    """
    pieces = min(length, -(-length * per_item // _PIECE_ELEMENTS))
    if pieces <= 1:
        fn(0, length)
        return
    parallel_map(fn, ranges(length, pieces))


# NOTE: where numnet's threads beat OpenBLAS's (2 cores, OpenBLAS 0.3.31, float32):
# - under about 4 million multiply-adds, one thread: a second one gains little, and
#   OpenBLAS's threads, once woken, spin for a while and steal the cores that the next
#   convolution's chunks need (the CIFAR CNN's step: 289 ms against 254 ms);
# - from 4 to 128 million (an MLP's layers), OpenBLAS's threads: (784 x 128) @ (128 x 256)
#   took 265 us on its 2 threads, 360 us cut in two on numnet's (two GEMMs side by side
#   slow each other down), 501 us on one thread -- but only while numnet's own threads
#   have nothing to do. Once they run work (convolution chunks, large element-wise
#   passes: ``_workers_used``), OpenBLAS's threads spinning after each such product take
#   the cores from them: PyTorch's MNIST example (two convolutions, then Linear layers of
#   75 and 0.08 million multiply-adds) took 69-71 ms per step on 2 threads with the
#   Linear layers on OpenBLAS's threads, 43-45 ms with them on one thread, where 1 thread
#   in all takes 70 ms; the transformer layer 30.4-31.1 against 25.6-26.0 ms (Intel Xeon,
#   SkylakeX kernel, 2026-12-03). So those products run on one thread from then on; a
#   pure MLP keeps OpenBLAS's threads (1.30-1.38 ms per step against 1.48-1.51);
# - above (the CIFAR CNN's first fully connected layer), numnet's threads: as fast, and
#   OpenBLAS's stay asleep for the convolutions around them.
_BLAS_THREADS_MACS = 2 ** 22
_SPLIT_MACS = 2 ** 27
# OpenBLAS itself keeps a product under 4 * 65536 multiply-adds on the calling thread
# (GEMM_MULTITHREAD_THRESHOLD), so these skip the switch to one thread.
_BLAS_ALONE_MACS = 4 * 65536


def matmul(a, b):
    """``numpy.matmul(a, b)``, threaded by size: one thread for a small product, OpenBLAS's
    threads for a medium one (one thread once numnet's own threads have run work in the
    process), numnet's (``parallel_map``) for a large one (see the note above);
    ``numnet.set_num_threads(1)`` keeps every product on one thread.

    numnet's threads get 2 or 4 parts of the product, cut along the rows of ``a`` or the
    columns of ``b`` (whichever is longer: cutting the shorter side leaves thin products
    that run slower), each multiplied with a one-thread BLAS. These parts depend only on
    the shapes, so they give the same bits for any thread count; OpenBLAS's own threads
    may change the last bits of a medium product when the thread count changes (as
    PyTorch's do).
    """
    if a.ndim < 2 or b.ndim < 2:
        with single_threaded_blas():
            return numpy.matmul(a, b)
    m, n = a.shape[-2], b.shape[-1]
    if a.ndim == b.ndim == 2:
        shape = (m, n)
    else:
        shape = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (m, n)
    macs = math.prod(shape) * a.shape[-1]
    if macs < _BLAS_ALONE_MACS:  # OpenBLAS runs these on one thread by itself
        return numpy.matmul(a, b)
    if _BLAS_THREADS_MACS <= macs < _SPLIT_MACS and _num_threads > 1 and not _workers_used:
        return numpy.matmul(a, b)
    if macs < _SPLIT_MACS or max(m, n) < 16:
        with single_threaded_blas():
            return numpy.matmul(a, b)
    out = numpy.empty(shape, numpy.result_type(a, b))

    def rows(start, stop):
        numpy.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :])

    def columns(start, stop):
        numpy.matmul(a, b[..., start:stop], out=out[..., start:stop])

    parts = 4 if macs >= 2 * _SPLIT_MACS else 2
    parallel_map(rows if m >= n else columns, ranges(max(m, n), parts))
    return out
