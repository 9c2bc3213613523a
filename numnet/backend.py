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

import os

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
