"""Floating functions of two or three tensors: ``atan2 hypot copysign xlogy lerp
float_power``.

The operands broadcast and promote as in PyTorch (``as_operands``); an integer result dtype
becomes the default float dtype (``atan2(int, int)`` is float32), except ``float_power``,
which always computes in float64 (PyTorch's rule). Backward undoes broadcasting with
``sum_to``.

Example:
    >>> import numnet
    >>> numnet.atan2(numnet.tensor([1.0, -1.0]), numnet.tensor([-1.0, -1.0]))
    tensor([ 2.3562, -2.3562])
"""

from __future__ import annotations

import numpy
import scipy.special

from numnet.autograd import Function
from numnet.ops import dual, promotion
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.ops.arithmetic import pow
from numnet.tensor import Tensor


def _float_operands(input, other) -> tuple:
    """Both operands in their promoted dtype, made floating (the default dtype for ints)."""
    a, b = as_operands(input, other)
    dtype = promotion.floating(a.data.dtype)
    return promotion.cast(a, dtype), promotion.cast(b, dtype)


class Atan2(Function):
    """``y = atan2(a, b)``, the angle of the point (b, a) in (-pi, pi];
    ``ga = gy b / (a**2 + b**2)``,  ``gb = -gy a / (a**2 + b**2)`` (on Tensors too, for
    ``create_graph=True``)."""

    saved_inputs = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return numpy.arctan2(a, b)

    def backward(self, gy):
        a, b = self.a, self.b
        with numpy.errstate(divide="ignore", invalid="ignore"):
            scale = gy / (a * a + b * b)
        ga = sum_to(scale * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-scale * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def atan2(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``atan(input / other)`` with the quadrant of (other, input) (``torch.atan2``)."""
    return Atan2()(*_float_operands(input, other))


arctan2 = atan2


class Hypot(Function):
    """``y = sqrt(a**2 + b**2)`` (without overflow);  ``ga = gy a / y``, ``gb = gy b / y``
    (on Tensors too, for ``create_graph=True``)."""

    saved_inputs = ("a", "b")
    saved_outputs = ("y",)

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = numpy.hypot(a, b)
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        with numpy.errstate(divide="ignore", invalid="ignore"):
            scale = gy / self.y
        ga = sum_to(scale * a, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(scale * b, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def hypot(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """The hypotenuse ``sqrt(a**2 + b**2)``; floating tensors only, as in PyTorch."""
    a, b = as_operands(input, other)
    if a.data.dtype.kind != "f":
        raise NotImplementedError(f"hypot is not implemented for {a.data.dtype} tensors")
    return Hypot()(a, b)


class Copysign(Function):
    """``y = |a|`` with the sign of ``b`` (also of -0.0);  ``ga = gy y / a`` (0 where
    a = 0),  ``gb = 0``. The ratio ``y / a = sign(a) sign(b)`` is a constant, so the second
    derivatives are 0 and the recorded backward is ``gy`` times it."""

    saved_inputs = (None, None)

    def forward(self, a, b):
        self.a, self.shape_b = a, b.shape
        self.y = numpy.copysign(a, b)
        return self.y

    def backward(self, gy):
        a = self.a
        ga = gb = None
        if self.needs_input_grad[0]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                ratio = numpy.where(a == 0, 0, self.y / a).astype(gy.dtype, copy=False)
            ga = sum_to(gy * ratio, a.shape)
        if self.needs_input_grad[1]:
            gb = numpy.zeros(self.shape_b, gy.dtype)
        return ga, gb


def copysign(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``|input|`` with the sign of ``other``, element-wise (``torch.copysign``)."""
    return Copysign()(*_float_operands(input, other))


class Xlogy(Function):
    """``y = a ln b``, 0 where a = 0 (unless b is NaN);  ``ga = gy ln b`` (0 where a = 0 and
    b <= 0),  ``gb = gy a / b`` (on Tensors too, for ``create_graph=True``)."""

    saved_inputs = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return numpy.asarray(scipy.special.xlogy(a, b)).astype(a.dtype, copy=False)

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gb = None
        with numpy.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                zero = (dual.constant(a) == 0) & (dual.constant(b) <= 0)
                log_b = dual.astype(dual.where(zero, 0, dual.log(b)), gy.dtype)
                ga = sum_to(gy * log_b, a.shape)
            if self.needs_input_grad[1]:
                gb = sum_to(gy * a / b, b.shape)
        return ga, gb


def xlogy(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input * log(other)``, with ``0 * log(0) = 0`` (entropy terms; ``torch.xlogy``)."""
    return Xlogy()(*_float_operands(input, other))


class Lerp(Function):
    """``y = start + w (end - start)``;  ``gstart = gy (1 - w)``, ``gend = gy w``,
    ``gw = gy (end - start)``.

    Computed as PyTorch does, ``end - (end - start)(1 - w)`` where ``w >= 0.5``, so that
    ``w = 1`` gives ``end`` exactly. ``weight`` is a number (``__init__``) or a third input.
    With ``create_graph=True`` the same formulas run on Tensors, ``end - start`` recomputed
    from the inputs, which forward keeps (references, no copies) only when ``gw`` is needed.
    """

    saved_inputs = ("start", "end", "w")

    def __init__(self, weight=None):
        self.scalar = weight
        if weight is not None:
            self.saved_inputs = (None, None)  # two inputs; gradients independent of them

    def forward(self, start, end, *weight):
        w = numpy.asarray(self.scalar, start.dtype) if not weight else weight[0]
        diff = end - start
        self.w, self.diff, self.shapes = w, diff, (start.shape, end.shape, w.shape)
        if weight and self.needs_input_grad[2]:
            self.start, self.end = start, end
        return numpy.where(numpy.abs(w) < 0.5, start + w * diff, end - diff * (1 - w))

    def backward(self, gy):
        needs = self.needs_input_grad
        w = self.w
        grads = [sum_to(gy * (1 - w), self.shapes[0]) if needs[0] else None,
                 sum_to(gy * w, self.shapes[1]) if needs[1] else None]
        if len(needs) > 2:
            gw = None
            if needs[2]:
                diff = self.end - self.start if dual.is_graph(gy) else self.diff
                gw = sum_to(gy * diff, self.shapes[2])
            grads.append(gw)
        return tuple(grads)


def lerp(input, end, weight) -> Tensor:  # noqa: A002 - PyTorch's name
    """Linear interpolation ``input + weight * (end - input)``; ``weight`` a number or a
    tensor (broadcast). ``input`` and ``end`` must be floating tensors of one dtype, and a
    weight tensor with dimensions too, as in PyTorch (a 0-d one is converted).

    Example:
        >>> import numnet
        >>> numnet.lerp(numnet.tensor([0.0, 10.0]), numnet.tensor([1.0, 20.0]), 0.25)
        tensor([ 0.2500, 12.5000])
    """
    start = as_tensor(input)
    end = as_tensor(end, like=start)
    dtype = start.data.dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"lerp is not implemented for {dtype} tensors")
    if end.data.dtype != dtype:
        raise RuntimeError(f"lerp: expected dtype {dtype} for `end`, got {end.data.dtype}")
    if not isinstance(weight, (Tensor, numpy.ndarray)):
        return Lerp(weight)(start, end)
    weight = as_tensor(weight)
    if weight.data.dtype != dtype:
        if weight.ndim:
            raise RuntimeError(f"lerp: expected dtype {dtype} for `weight`, got "
                               f"{weight.data.dtype}")
        weight = promotion.cast(weight, dtype)
    return Lerp()(start, end, weight)


def float_power(input, exponent) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input ** exponent`` computed in float64 whatever the inputs' dtypes (PyTorch)."""
    a, b = as_tensor(input), as_tensor(exponent)
    return pow(promotion.cast(a, numpy.dtype(numpy.float64)),
               promotion.cast(b, numpy.dtype(numpy.float64)))
