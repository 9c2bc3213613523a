"""Rounding and rounded division: ``floor ceil round trunc frac``, ``remainder`` (Python's
``%``: the sign of the divisor), ``fmod`` (C's: the sign of the dividend), ``floor_divide``
(``//``) and the kernels of ``div(a, b, rounding_mode="trunc" | "floor")``.

Rounding keeps an integer input's dtype (``floor(arange(3))`` is int64, as in PyTorch); its
gradient is 0 everywhere (the function is flat between the jumps, PyTorch's convention).
Integer division or modulo by zero is a RuntimeError, as in PyTorch; float division by zero
gives inf or nan.

Example:
    >>> import numnet
    >>> numnet.tensor([-7, 7]) % 3, numnet.fmod(numnet.tensor([-7, 7]), 3)
    (tensor([2, 1]), tensor([-1,  1]))
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.tensor import Tensor

ROUNDING_MODES = (None, "trunc", "floor")


def check_divisor(a: numpy.ndarray, b: numpy.ndarray, name: str) -> None:
    """PyTorch's checks before an integer division: no bool operands, no zero divisor."""
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise NotImplementedError(f"{name} is not implemented for bool tensors")
    if b.dtype.kind in "iu" and not numpy.all(b):
        raise RuntimeError(f"ZeroDivisionError: integer {name} by zero")


def rounded_divide(a: numpy.ndarray, b: numpy.ndarray, mode: str) -> numpy.ndarray:
    """``a / b`` rounded toward zero (``"trunc"``) or down (``"floor"``), in the operands'
    dtype. Integers: ``q = a // b`` (floor), plus 1 where ``a % b != 0`` and the signs of a
    and b differ (trunc)."""
    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind == "f":
            return numpy.floor_divide(a, b) if mode == "floor" else numpy.trunc(a / b)
        q = numpy.floor_divide(a, b)
        if mode == "floor":
            return q
        inexact = (a - q * b) != 0
        return q + (inexact & ((a < 0) != (b < 0))).astype(q.dtype)


def _remainder(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """``a - b floor(a / b)``, PyTorch's way for floats: ``r = fmod(a, b)``, plus ``b`` where
    r is nonzero and its sign differs from b's (so ``-0.0 % 2`` stays -0.0)."""
    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.dtype.kind != "f":
            return numpy.remainder(a, b)
        r = numpy.fmod(a, b)
        return numpy.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)


# ---------------------------------------------------------------------- rounding
class _Round(Function):
    """``y = round(x)`` (one of floor, ceil, rint, trunc);  ``gx = 0`` (a constant, also with
    ``create_graph=True``)."""

    saved_inputs = (None,)

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, x):
        return numpy.asarray(self.kernel(x))

    def backward(self, gy):
        return dual.zeros_like(gy)


def _rounding(name: str, kernel, doc: str):
    def op(input) -> Tensor:  # noqa: A002 - PyTorch's name
        x = as_tensor(input)
        if x.data.dtype.kind == "b":
            raise NotImplementedError(f"{name} is not implemented for bool tensors")
        if x.data.dtype.kind != "f":
            return Tensor(x.data.copy(), _raw=True)
        return _Round(kernel)(x)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{doc}; integer input is returned as a copy; gradient 0 (``torch.{name}``)."
    return op


floor = _rounding("floor", numpy.floor, "The largest integer <= x")
ceil = _rounding("ceil", numpy.ceil, "The smallest integer >= x")
trunc = _rounding("trunc", numpy.trunc, "x rounded toward zero")
fix = trunc


def _round_decimals(decimals: int):
    """PyTorch's kernel: ``rint(x * 10**d) / 10**d``, or ``rint(x / 10**-d) * 10**-d`` for
    d < 0 (so that 10**d is never a fraction that float cannot hold)."""
    def kernel(x):
        scale = x.dtype.type(10.0 ** abs(decimals))
        if decimals > 0:
            return numpy.rint(x * scale) / scale
        return numpy.rint(x / scale) * scale
    return kernel


def round(input, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002 - PyTorch's names
    """Round to ``decimals`` decimal places, halves to even (``round(2.5) = 2``, like PyTorch
    and NumPy); gradient 0.

    Example:
        >>> import numnet
        >>> numnet.round(numnet.tensor([0.5, 1.5, 2.5, 1.2345]))
        tensor([0., 2., 2., 1.])
        >>> numnet.round(numnet.tensor([1234.5]), decimals=-2)
        tensor([1200.])
    """
    x = as_tensor(input)
    if x.data.dtype.kind == "b" or (x.data.dtype.kind != "f" and decimals != 0):
        raise NotImplementedError(f"round(decimals={decimals}) is not implemented for "
                                  f"{x.data.dtype} tensors")
    if x.data.dtype.kind != "f":
        return Tensor(x.data.copy(), _raw=True)
    return _Round(numpy.rint if decimals == 0 else _round_decimals(decimals))(x)


class Frac(Function):
    """``y = x - trunc(x)`` (the sign of x);  ``gx = gy``."""

    saved_inputs = (None,)

    def forward(self, x):
        return x - numpy.trunc(x)

    def backward(self, gy):
        return gy


def frac(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """The fractional part ``x - trunc(x)``: ``frac(-1.5) = -0.5`` (floating input only)."""
    x = as_tensor(input)
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"frac is not implemented for {x.data.dtype} tensors")
    return Frac()(x)


# ---------------------------------------------------------------------- rounded division
class Remainder(Function):
    """``y = a - b floor(a / b)`` (sign of b);  ``ga = gy``, ``gb = -gy floor(a / b)`` (the
    quotient a constant: the second derivatives are 0)."""

    saved_inputs = (None, None)

    def forward(self, a, b):
        self.a, self.b = a, b
        return _remainder(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy, a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = sum_to(-gy * rounded_divide(a, b, "floor"), b.shape)
        return ga, gb


def remainder(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """Python's modulo ``a % b``: the result has the sign of ``b`` (``-7 % 3 = 2``)."""
    a, b = as_operands(input, other)
    check_divisor(a.data, b.data, "remainder")
    return Remainder()(a, b)


class Fmod(Function):
    """``y = a - b trunc(a / b)`` (sign of a);  ``ga = gy``, ``gb = -gy trunc(a / b)`` (the
    quotient a constant: the second derivatives are 0)."""

    saved_inputs = (None, None)

    def forward(self, a, b):
        self.a, self.b = a, b
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return numpy.fmod(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy, a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = sum_to(-gy * rounded_divide(a, b, "trunc"), b.shape)
        return ga, gb


def fmod(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """C's modulo: the result has the sign of ``a`` (``fmod(-7, 3) = -1``)."""
    a, b = as_operands(input, other)
    check_divisor(a.data, b.data, "fmod")
    return Fmod()(a, b)


class DivRounded(Function):
    """``y = trunc(a / b)`` or ``floor(a / b)``;  ``ga = gb = 0`` (PyTorch's gradient of
    ``div(..., rounding_mode=...)``), constants also with ``create_graph=True``."""

    saved_inputs = (None, None)

    def __init__(self, mode: str):
        self.mode = mode

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return rounded_divide(a, b, self.mode)

    def backward(self, gy):
        return (numpy.zeros(self.shapes[0], gy.dtype), numpy.zeros(self.shapes[1], gy.dtype))


class FloorDivide(Function):
    """``y = floor(a / b)``; no gradient: backward is a RuntimeError, as in PyTorch (use
    ``div(a, b, rounding_mode="floor")`` for a zero gradient), also with
    ``create_graph=True``."""

    saved_inputs = (None, None)  # so that a recorded backward raises the same error

    def forward(self, a, b):
        return rounded_divide(a, b, "floor")

    def backward(self, gy):
        raise RuntimeError("the derivative of floor_divide is not implemented; use "
                           "div(a, b, rounding_mode='floor'), whose gradient is 0")


def floor_divide(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``a // b`` rounded down, in the promoted dtype (``-7 // 2 = -4``, ``7.5 // 2 = 3.``).

    Example:
        >>> import numnet
        >>> numnet.tensor([-7, 7]) // 2
        tensor([-4,  3])
    """
    a, b = as_operands(input, other)
    check_divisor(a.data, b.data, "floor_divide")
    return FloorDivide()(a, b)
