"""Tensor creation: ``tensor zeros ones full *_like randn rand arange eye``.

Each takes PyTorch's ``device=``: ``None``, ``"cpu"`` or ``numnet.device("cpu")``; any other
device raises ``numnet.devices.DeviceUnavailableError`` (numnet runs on the CPU only).
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet import random as nn_random
from numnet.tensor import Tensor


def _dtype(dtype):
    return backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(n) for n in size[0])
    return tuple(int(n) for n in size)


def _new(array, requires_grad, device=None) -> Tensor:
    devices.check(device)
    return Tensor(array, _raw=True).requires_grad_(requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    dtype rules (PyTorch's): Python floats get the default dtype (float32), NumPy arrays keep
    theirs, Python ints become int64, bools stay bool.

    Example:
        >>> tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        tensor([[1., 2.],
                [3., 4.]], requires_grad=True)
    """
    devices.check(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (no copy), like ``torch.from_numpy``."""
    return Tensor(numpy.asarray(array), _raw=True)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _new(numpy.zeros(_size(size), _dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _new(numpy.ones(_size(size), _dtype(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    if dtype is None and isinstance(fill_value, bool):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = numpy.int64
    return _new(numpy.full(_size((size,)), fill_value, _dtype(dtype)), requires_grad, device)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _new(numpy.zeros(t.shape, dtype or t.dtype), requires_grad, device)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _new(numpy.ones(t.shape, dtype or t.dtype), requires_grad, device)


def full_like(t: Tensor, fill_value, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    return _new(numpy.full(t.shape, fill_value, dtype or t.dtype), requires_grad, device)


def _draw(method: str, size, dtype, device, requires_grad, generator) -> Tensor:
    """Draw with ``numpy.random.Generator.<method>`` in float32/float64 directly."""
    dtype = _dtype(dtype)
    draw = getattr(nn_random.numpy_generator(generator), method)
    draw_dtype = dtype if dtype in (numpy.float32, numpy.float64) else numpy.float64
    array = draw(_size(size), dtype=draw_dtype).astype(dtype, copy=False)
    return _new(array, requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad: bool = False,
          generator=None) -> Tensor:
    """Samples of the standard normal N(0, 1) from numnet's generator."""
    return _draw("standard_normal", size, dtype, device, requires_grad, generator)


def rand(*size, dtype=None, device=None, requires_grad: bool = False,
         generator=None) -> Tensor:
    """Samples of the uniform distribution on [0, 1) from numnet's generator."""
    return _draw("random", size, dtype, device, requires_grad, generator)


def randint(low, high=None, size=(), dtype=numpy.int64, generator=None,
            device=None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size=...)`` starts at 0)."""
    devices.check(device)
    if high is None:
        low, high = 0, low
    rng = nn_random.numpy_generator(generator)
    return Tensor(rng.integers(low, high, size=_size((size,)), dtype=dtype), _raw=True)


def randperm(n: int, generator=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    devices.check(device)
    rng = nn_random.numpy_generator(generator)
    return Tensor(rng.permutation(n).astype(numpy.int64), _raw=True)


def arange(start, end=None, step=1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (int64 for integer arguments)."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = numpy.int64 if integral else backend.get_default_dtype()
    return _new(numpy.arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(start, end, steps: int, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    An integer ``dtype`` truncates toward zero, as PyTorch does (NumPy floors): ``start`` and
    ``end`` first, then each value of PyTorch's formula (float64 ``step``; the first half
    counted from ``start``, the second from ``end``), so the same rounding gives the same
    integers.
    """
    dtype = _dtype(dtype)
    if dtype.kind in "iu":
        return _new(_integer_linspace(start, end, steps, dtype), requires_grad, device)
    return _new(numpy.linspace(start, end, steps, dtype=dtype), requires_grad, device)


def _integer_linspace(start, end, steps: int, dtype) -> numpy.ndarray:
    """PyTorch's CPU linspace for an integer dtype: ``start + step * i`` below ``steps // 2``,
    ``end - step * (steps - 1 - i)`` from there, each rounded once (PyTorch's kernel is
    compiled to fused multiply-adds) and truncated toward zero."""
    start, end = int(start), int(end)
    if steps == 1:
        return numpy.array([start], dtype)
    i = numpy.arange(steps, dtype=numpy.float64)
    step = (float(end) - float(start)) / max(steps - 1, 1)
    first = i < steps // 2
    values = _fma(numpy.where(first, step, -step), numpy.where(first, i, steps - 1 - i),
                  numpy.where(first, float(start), float(end)))
    return numpy.trunc(values).astype(dtype)


def _fma(a, b, c) -> numpy.ndarray:
    """``a * b + c`` with a single rounding (error-free product and sum, float64 arrays)."""
    # NOTE: Dekker's split and Knuth's two-sum; exact unless a product overflows
    split = 134217729.0  # 2 ** 27 + 1
    product = a * b
    a_high = a * split - (a * split - a)
    b_high = b * split - (b * split - b)
    a_low, b_low = a - a_high, b - b_high
    product_error = (((a_high * b_high - product) + a_high * b_low + a_low * b_high)
                     + a_low * b_low)
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (product_error + sum_error)


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    return _new(numpy.eye(n, m, dtype=_dtype(dtype)), requires_grad, device)
