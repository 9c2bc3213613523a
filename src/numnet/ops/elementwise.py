"""Element-wise math: ``exp log sqrt abs clamp maximum minimum where``."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops._util import sum_to


class Exp(Function):
    """``y = e**x``;  ``gx = gy * y``."""

    def forward(self, x):
        self.y = numpy.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """``y = ln x``;  ``gx = gy / x``."""

    def forward(self, x):
        self.x = x
        return numpy.log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """``y = sqrt(x)``;  ``gx = gy / (2 y)``."""

    def forward(self, x):
        self.y = numpy.sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """``y = |x|``;  ``gx = gy * sign(x)`` (0 at x = 0, like PyTorch)."""

    def forward(self, x):
        self.x = x
        return numpy.abs(x)

    def backward(self, gy):
        return gy * numpy.sign(self.x)


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
