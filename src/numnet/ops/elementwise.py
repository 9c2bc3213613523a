"""Element-wise math: ``exp log sqrt abs clamp maximum minimum where``, and the comparisons
``eq ne lt le gt ge`` (bool tensors, no gradient)."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.tensor import Tensor


class Exp(Function):
    """``y = e**x``;  ``gx = gy * y``."""

    def forward(self, x):
        self.y = numpy.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


def exp(x) -> Tensor:
    """``e ** x``."""
    return Exp()(as_tensor(x))


class Log(Function):
    """``y = ln x``;  ``gx = gy / x``."""

    def forward(self, x):
        self.x = x
        return numpy.log(x)

    def backward(self, gy):
        return gy / self.x


def log(x) -> Tensor:
    """Natural logarithm."""
    return Log()(as_tensor(x))


class Sqrt(Function):
    """``y = sqrt(x)``;  ``gx = gy / (2 y)``."""

    def forward(self, x):
        self.y = numpy.sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


def sqrt(x) -> Tensor:
    """Square root."""
    return Sqrt()(as_tensor(x))


class Abs(Function):
    """``y = |x|``;  ``gx = gy * sign(x)`` (0 at x = 0, like PyTorch)."""

    def forward(self, x):
        self.x = x
        return numpy.abs(x)

    def backward(self, gy):
        return gy * numpy.sign(self.x)


def abs(x) -> Tensor:  # noqa: A001 - PyTorch's name
    """``|x|``."""
    return Abs()(as_tensor(x))


class Clamp(Function):
    """``y = min(max(x, low), high)``;  ``gx = gy`` where ``low <= x <= high``, else 0.

    Either bound may be ``None``. At a bound the gradient passes (PyTorch's convention).
    """

    def __init__(self, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clamp: at least one of min and max must not be None")
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return numpy.clip(x, self.low, self.high).astype(x.dtype, copy=False)

    def backward(self, gy):
        mask = numpy.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            mask &= self.x >= self.low
        if self.high is not None:
            mask &= self.x <= self.high
        return gy * mask


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit every element to ``[min, max]`` (either may be None)."""
    return Clamp(min, max)(as_tensor(x))


clip = clamp


class Maximum(Function):
    """``y = max(a, b)`` element-wise; the gradient goes to the larger input, split in half
    between both where they are equal (PyTorch's convention)."""

    pick_first = staticmethod(numpy.greater)

    def forward(self, a, b):
        self.a, self.b = a, b
        return numpy.maximum(a, b) if self.pick_first is numpy.greater else numpy.minimum(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        share_a = numpy.where(a == b, 0.5, self.pick_first(a, b)).astype(gy.dtype)
        ga = sum_to(gy * share_a, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(gy * (1 - share_a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Minimum(Maximum):
    """``y = min(a, b)`` element-wise; gradient to the smaller input, halved on ties."""

    pick_first = staticmethod(numpy.less)


def maximum(a, b) -> Tensor:
    """Element-wise maximum of two tensors."""
    return Maximum()(*as_operands(a, b))


def minimum(a, b) -> Tensor:
    """Element-wise minimum of two tensors."""
    return Minimum()(*as_operands(a, b))


class Where(Function):
    """``y = a if condition else b``;  ``ga = gy * condition``, ``gb = gy * ~condition``."""

    def __init__(self, condition):
        self.condition = numpy.asarray(condition, dtype=bool)

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return numpy.where(self.condition, a, b)

    def backward(self, gy):
        zero = numpy.zeros((), dtype=gy.dtype)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(numpy.where(self.condition, gy, zero), self.shapes[0])
        if self.needs_input_grad[1]:
            gb = sum_to(numpy.where(self.condition, zero, gy), self.shapes[1])
        return ga, gb


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcast)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where(condition)(*as_operands(a, b))


# ---------------------------------------------------------------------- comparisons
def _compare(op):
    def compare(a, b) -> Tensor:
        a, b = as_operands(a, b)
        return Tensor(op(a.data, b.data), _raw=True)
    compare.__doc__ = f"Element-wise ``numpy.{op.__name__}`` (a bool tensor, no gradient)."
    return compare


eq = _compare(numpy.equal)
ne = _compare(numpy.not_equal)
lt = _compare(numpy.less)
le = _compare(numpy.less_equal)
gt = _compare(numpy.greater)
ge = _compare(numpy.greater_equal)
