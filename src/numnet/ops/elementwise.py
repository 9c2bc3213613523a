"""Element-wise math: ``exp log sqrt abs clamp clamp_min clamp_max maximum minimum where``,
and the comparisons ``eq ne lt le gt ge`` (bool tensors, no gradient; also under PyTorch's long
names ``greater``, ``less_equal``, ...)."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual, promotion
from numnet.ops._util import as_float, as_operands, as_tensor, sum_to
from numnet.tensor import Tensor


class Exp(Function):
    """``y = e**x``;  ``gx = gy * y``."""

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def forward(self, x):
        self.y = numpy.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


def exp(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``e ** x`` (integer input gives the default dtype, as in PyTorch)."""
    return Exp()(as_float(input))


class Log(Function):
    """``y = ln x``;  ``gx = gy / x``."""

    saved_inputs = ("x",)

    def forward(self, x):
        self.x = x
        return numpy.log(x)

    def backward(self, gy):
        return gy / self.x


def log(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """Natural logarithm (integer input gives the default dtype)."""
    return Log()(as_float(input))


class Sqrt(Function):
    """``y = sqrt(x)``;  ``gx = gy / (2 y)``."""

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def forward(self, x):
        self.y = numpy.sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


def sqrt(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """Square root (integer input gives the default dtype)."""
    return Sqrt()(as_float(input))


class Abs(Function):
    """``y = |x|``;  ``gx = gy * sign(x)`` (0 at x = 0, like PyTorch)."""

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def forward(self, x):
        self.x = x
        return numpy.abs(x)

    def backward(self, gy):
        return gy * dual.sign(self.x)


def abs(input) -> Tensor:  # noqa: A001, A002 - PyTorch's names
    """``|x|``, in the input's dtype (bool input is a RuntimeError, as in PyTorch)."""
    x = as_tensor(input)
    if x.data.dtype.kind == "b":
        raise NotImplementedError("abs is not implemented for bool tensors")
    return Abs()(x)


absolute = abs


class Clamp(Function):
    """``y = min(max(x, low), high)``;  ``gx = gy`` where ``low <= x <= high``, else 0.

    Either number bound may be ``None``. At a bound the gradient passes (PyTorch's
    convention); where ``low > high`` every element is ``high`` and ``gx = 0``.
    """

    saved_inputs = (None,)

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def forward(self, x):
        self.x = x
        return numpy.asarray(numpy.clip(x, self.low, self.high)).astype(x.dtype, copy=False)

    def backward(self, gy):
        mask = numpy.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            mask &= self.x >= self.low
        if self.high is not None:
            mask &= self.x <= self.high
        return gy * mask


class ClampTensor(Function):
    """``clamp`` with tensor bounds (broadcast): ``y = min(max(x, low), high)``.

    ``gx = gy`` where ``low <= x <= high``; ``glow = gy`` where ``x < low`` (and
    ``low < high``); ``ghigh = gy`` where ``x > high`` (or ``high < low``: then y is high).
    """

    saved_inputs = (None, None, None)

    def __init__(self, has_low: bool, has_high: bool):
        self.has_low, self.has_high = has_low, has_high

    def forward(self, x, *bounds):
        low = bounds[0] if self.has_low else None
        high = bounds[-1] if self.has_high else None
        self.x, self.low, self.high = x, low, high
        y = x if low is None else numpy.maximum(x, low)
        return y if high is None else numpy.minimum(y, high)

    def backward(self, gy):
        x, low, high = self.x, self.low, self.high
        zero = numpy.zeros((), dtype=gy.dtype)
        inside = numpy.ones((), dtype=bool)
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        grads = [sum_to(dual.where(inside, gy, zero), x.shape)]
        if low is not None:
            below = x < low if high is None else (x < low) & (low < high)
            grads.append(sum_to(dual.where(below, gy, zero), low.shape))
        if high is not None:
            above = x > high if low is None else (x > high) | (high < low)
            grads.append(sum_to(dual.where(above, gy, zero), high.shape))
        return tuple(grads)


def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit every element to ``[min, max]``; either bound may be None, a number or a
    tensor (broadcast). The result has the promoted dtype of all three, as in PyTorch
    (``clamp(int tensor, 0.5)`` is float32); where ``min > max`` it is ``max``.

    Example:
        >>> import numnet
        >>> numnet.clamp(numnet.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
        tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' and 'max' must not be None")
    x = as_tensor(input)
    bounds = [b for b in (min, max) if b is not None]
    dtype = promotion.result_type(x, *bounds)
    x = promotion.cast(x, dtype)
    if not any(isinstance(b, (Tensor, numpy.ndarray)) for b in bounds):
        if dtype.kind == "b":
            raise NotImplementedError("clamp with number bounds is not implemented for bool "
                                      "tensors (as in PyTorch; tensor bounds are)")
        return Clamp(min, max)(x)
    tensors = [promotion.cast(as_tensor(b), dtype) for b in bounds]
    return ClampTensor(min is not None, max is not None)(x, *tensors)


def clamp_min(input, min) -> Tensor:  # noqa: A002 - PyTorch's names
    """``clamp(input, min=min)``."""
    return clamp(input, min=min)


def clamp_max(input, max) -> Tensor:  # noqa: A002 - PyTorch's names
    """``clamp(input, max=max)``."""
    return clamp(input, max=max)


clip = clamp


class Maximum(Function):
    """``y = max(a, b)`` element-wise; the gradient goes to the larger input, split in half
    between both where they are equal (PyTorch's convention)."""

    saved_inputs = ("a", "b")

    pick_first = staticmethod(numpy.greater)

    def forward(self, a, b):
        self.a, self.b = a, b
        return numpy.maximum(a, b) if self.pick_first is numpy.greater else numpy.minimum(a, b)

    def backward(self, gy):
        a, b = dual.constant(self.a), dual.constant(self.b)
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

    saved_inputs = (None, None)

    def __init__(self, condition):
        self.condition = numpy.asarray(condition, dtype=bool)

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return numpy.where(self.condition, a, b)

    def backward(self, gy):
        zero = numpy.zeros((), dtype=gy.dtype)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(dual.where(self.condition, gy, zero), self.shapes[0])
        if self.needs_input_grad[1]:
            gb = sum_to(dual.where(self.condition, zero, gy), self.shapes[1])
        return ga, gb


_NOT_GIVEN = object()


def where(condition, a=_NOT_GIVEN, b=_NOT_GIVEN):
    """``a`` where ``condition`` holds, else ``b`` (broadcast, in the promoted dtype).

    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``: one int64 tensor of
    indices per dim.
    """
    if a is _NOT_GIVEN and b is _NOT_GIVEN:
        array = condition.data if isinstance(condition, Tensor) else numpy.asarray(condition)
        return tuple(Tensor(i.astype(numpy.int64), _raw=True)
                     for i in numpy.nonzero(numpy.atleast_1d(array)))
    if a is _NOT_GIVEN or b is _NOT_GIVEN:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if isinstance(condition, Tensor):
        if condition.data.dtype.kind != "b":
            raise RuntimeError(f"where: condition must be a bool tensor, got dtype "
                               f"{condition.data.dtype}")
        condition = condition.data
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

# PyTorch's long names
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
