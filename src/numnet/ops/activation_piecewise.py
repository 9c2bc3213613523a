"""Piecewise-linear activations: ``hardtanh relu6 hardsigmoid hardswish prelu rrelu
threshold hardshrink softshrink``, and ``relu leaky_relu`` with PyTorch's ``inplace=``
argument.

At every kink the gradient is PyTorch's: 0 at the bounds of ``hardtanh`` and ``relu6``
(``x <= min_val or x >= max_val``), at ``x = +-3`` of ``hardsigmoid``, at
``x <= threshold`` of ``threshold`` and at ``|x| <= lambd`` of the shrinks; ``hardswish``
has slope 0 at -3 and 1 at 3; ``prelu`` takes the ``weight`` slope at 0. ``inplace=True``
goes through ``numnet.ops.inplace`` (PyTorch's three in-place cases).

Every backward but ``hardsigmoid``'s (PyTorch has none either) also runs recorded
(``create_graph=True``): the masks and ``rrelu``'s slopes are constants, so the gradient's
derivative with respect to ``x`` is 0 except for ``hardswish`` (``gy / 3`` on
``-3 < x < 3``) and ``prelu`` (through ``x`` and ``weight``).
"""

from __future__ import annotations

import numpy

from numnet import random as nn_random
from numnet.autograd import Function
from numnet.ops import activation, dual
from numnet.ops import inplace as inplace_ops
from numnet.ops._util import as_tensor, sum_to
from numnet.ops.activation import _floating_input
from numnet.tensor import Tensor


class Hardtanh(Function):
    """``y = min(max(x, min_val), max_val)``;  ``gx = gy`` where ``min_val < x < max_val``,
    else 0 (0 at both bounds, as PyTorch)."""

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, min_val: float, max_val: float):
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        self.inside = (x > self.min_val) & (x < self.max_val)
        return numpy.clip(x, self.min_val, self.max_val).astype(x.dtype, copy=False)

    def backward(self, gy):
        return gy * self.inside


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``; see ``Hardtanh``.

    Example:
        >>> import numnet
        >>> hardtanh(numnet.tensor([-2.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return hardtanh_(input, min_val, max_val)
    return Hardtanh(min_val, max_val)(as_tensor(input))


def relu6(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``min(max(0, x), 6)``: ``hardtanh(x, 0, 6)`` (gradient 0 at 0 and at 6, as PyTorch).

    Example:
        >>> import numnet
        >>> relu6(numnet.tensor([-1.0, 3.0, 7.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


class Hardsigmoid(Function):
    """``y = min(max(x + 3, 0), 6) / 6``;  ``gx = gy / 6`` where ``-3 < x < 3``, else 0.

    No double backward (``create_graph=True`` raises), as in PyTorch.
    """

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return numpy.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)

    def backward(self, gy):
        return gy * (self.inside / gy.dtype.type(6)).astype(gy.dtype)


def hardsigmoid(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``relu6(x + 3) / 6``, the piecewise-linear sigmoid; see ``Hardsigmoid``.

    Example:
        >>> import numnet
        >>> hardsigmoid(numnet.tensor([-4.0, 0.0, 1.5]))
        tensor([0.0000, 0.5000, 0.7500])
    """
    if inplace:
        return hardsigmoid_(input)
    return Hardsigmoid()(_floating_input(input, "hardsigmoid"))


class Hardswish(Function):
    """``y = x min(max(x + 3, 0), 6) / 6``;  ``gx = 0`` for ``x <= -3``,
    ``gy (x / 3 + 1/2)`` for ``-3 < x < 3``, ``gy`` for ``x >= 3`` (PyTorch's slopes at the
    kinks: 0 at -3, 1 at 3)."""

    saved_inputs = ("x",)

    def forward(self, x):
        self.x = x
        y = x * numpy.clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)
        y += 0  # NOTE: turns the -0.0 of x < -3 into PyTorch's 0.0
        return y

    def backward(self, gy):
        x = self.x
        dtype = x.dtype.type
        slope = dual.where(x <= -3, dtype(0),
                           dual.where(x < 3, x / dtype(3) + dtype(0.5), dtype(1)))
        return gy * slope


def hardswish(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x relu6(x + 3) / 6`` (Howard et al., 2019, MobileNetV3); see ``Hardswish``.

    Example:
        >>> import numnet
        >>> hardswish(numnet.tensor([-4.0, 0.0, 1.5, 4.0]))
        tensor([0.0000, 0.0000, 1.1250, 4.0000])
    """
    if inplace:
        return hardswish_(input)
    return Hardswish()(_floating_input(input, "hardswish"))


class PReLU(Function):
    """``y = x`` for x > 0, else ``w x``, ``w`` one slope per channel (dim 1) or one for all;
    ``gx = gy`` for x > 0, else ``gy w``;  ``gw = sum of gy x`` over the ``x <= 0``
    elements of its channel."""

    saved_inputs = ("x", "w")
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def forward(self, x, w):
        self.x, self.w = x, w
        self.positive = x > 0
        return numpy.where(self.positive, x, x * self.broadcast_slope(w, x.ndim))

    @staticmethod
    def broadcast_slope(w, ndim: int):
        """``w`` shaped to broadcast against the input: ``()`` or ``(1, C, 1, ..., 1)``."""
        if w.ndim == 0 or w.shape[0] == 1:
            return w.reshape(())
        return w.reshape((1, -1) + (1,) * (ndim - 2))

    def backward(self, gy):
        x, w = self.x, self.w
        slope = self.broadcast_slope(w, x.ndim)
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = dual.where(self.positive, gy, gy * slope)
        if self.needs_input_grad[1]:
            gw = sum_to(dual.where(self.positive, 0, gy * x), slope.shape).reshape(w.shape)
        return gx, gw


def prelu(input, weight) -> Tensor:  # noqa: A002 - PyTorch's name
    """``max(0, x) + weight * min(0, x)`` with a learnt ``weight`` (He et al., 2015): one
    value, or one per channel (``input.size(1)``); see ``PReLU``.

    Args:
        input: any shape; the channels are dim 1 when ``input.dim() >= 2``.
        weight: a scalar or 1-D tensor of 1 or ``C`` slopes.

    Example:
        >>> import numnet
        >>> prelu(numnet.tensor([[-2.0, 3.0]]), numnet.tensor([0.25]))
        tensor([[-0.5000,  3.0000]])
    """
    x = _floating_input(input, "prelu")
    weight = as_tensor(weight)
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if weight.numel() != 1:
        channels = x.shape[1] if x.ndim > 1 else 1
        if channels != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
    return PReLU()(x, weight)


class RReLU(Function):
    """``y = x noise``, ``noise = 1`` for x > 0, else ``r``;  ``gx = gy noise``.

    Randomized leaky ReLU (Xu et al., 2015): in training ``r ~ U(lower, upper)``, drawn per
    element from numnet's generator; in evaluation ``r = (lower + upper) / 2``. The slopes
    drawn are constants of the gradient (``create_graph=True`` as well).
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, lower: float, upper: float, training: bool, generator=None):
        self.lower, self.upper, self.training = lower, upper, training
        self.generator = generator

    def forward(self, x):
        if self.training:
            rng = nn_random.numpy_generator(self.generator)
            slope = rng.uniform(self.lower, self.upper, x.shape).astype(x.dtype)
        else:
            slope = x.dtype.type((self.lower + self.upper) / 2)
        self.noise = numpy.where(x > 0, x.dtype.type(1), slope)
        return x * self.noise

    def backward(self, gy):
        return gy * self.noise


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3,  # noqa: A002
          training: bool = False, inplace: bool = False, *, generator=None) -> Tensor:
    """Randomized leaky ReLU: slope ``r ~ U(lower, upper)`` for x <= 0 in training, the
    mean slope otherwise; see ``RReLU``. ``generator`` (numnet's addition) draws the slopes.

    Example:
        >>> import numnet
        >>> rrelu(numnet.tensor([-3.0, 2.0]), 0.1, 0.3)
        tensor([-0.6000,  2.0000])
    """
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if inplace:
        return rrelu_(input, lower, upper, training, generator=generator)
    return RReLU(lower, upper, training, generator)(_floating_input(input, "rrelu"))


class Threshold(Function):
    """``y = x`` where ``x > threshold``, else ``value``;  ``gx = gy`` where
    ``x > threshold``, else 0."""

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, threshold: float, value: float):
        self.threshold, self.value = threshold, value

    def forward(self, x):
        self.above = x > self.threshold
        return numpy.where(self.above, x, self.value).astype(x.dtype, copy=False)

    def backward(self, gy):
        return gy * self.above


def threshold(input, threshold: float, value: float,  # noqa: A002 - PyTorch's names
              inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``; see ``Threshold``.

    Example:
        >>> import numnet
        >>> threshold(numnet.tensor([-1.0, 0.5, 2.0]), 0.5, 9.0)
        tensor([9., 9., 2.])
    """
    if inplace:
        return threshold_(input, threshold, value)
    return Threshold(threshold, value)(as_tensor(input))


class Shrink(Function):
    """Hard shrink ``y = x``, soft shrink ``y = x - sign(x) lambd``, where ``|x| > lambd``;
    ``y = 0`` elsewhere. ``gx = gy`` where ``|x| > lambd``, else 0 (0 at ``|x| = lambd``)."""

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, lambd: float, soft: bool):
        self.lambd, self.soft = lambd, soft

    def forward(self, x):
        lambd = x.dtype.type(self.lambd)
        self.outside = (x < -lambd) | (x > lambd)
        if self.soft:
            x = x - numpy.sign(x) * lambd
        return numpy.where(self.outside, x, x.dtype.type(0))

    def backward(self, gy):
        return gy * self.outside


def hardshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x`` where ``|x| > lambd``, else 0; see ``Shrink``.

    Example:
        >>> import numnet
        >>> hardshrink(numnet.tensor([-1.0, 0.5, 0.7]))
        tensor([-1.0000,  0.0000,  0.7000])
    """
    return Shrink(lambd, soft=False)(_floating_input(input, "hardshrink"))


def softshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x - lambd`` for x > lambd, ``x + lambd`` for x < -lambd, else 0; see ``Shrink``.

    Example:
        >>> import numnet
        >>> softshrink(numnet.tensor([-1.0, 0.5, 0.75]))
        tensor([-0.5000,  0.0000,  0.2500])
    """
    x = _floating_input(input, "softshrink")
    if lambd < 0:
        largest = numpy.finfo(x.dtype).max
        raise RuntimeError(f"lambda must be in range [0, {largest:g}] for input dtype "
                           f"{inplace_ops._torch_name(x.dtype)}, but found {lambd:g}")
    return Shrink(lambd, soft=True)(x)


def relu(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``max(0, x)`` (``numnet.ops.activation.ReLU``), in place with ``inplace=True``.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([-1.0, 2.0])
        >>> _ = relu(x, inplace=True)
        >>> x
        tensor([0., 2.])
    """
    if inplace:
        return inplace_ops.relu_(input)
    return activation.relu(input)


def leaky_relu(input, negative_slope: float = 0.01,  # noqa: A002 - PyTorch's name
               inplace: bool = False) -> Tensor:
    """``x`` for x > 0, else ``negative_slope * x`` (``numnet.ops.activation.LeakyReLU``), in
    place with ``inplace=True``."""
    if inplace:
        return leaky_relu_(input, negative_slope)
    return activation.leaky_relu(input, negative_slope)


hardtanh_ = inplace_ops.inplace(hardtanh, "hardtanh_")
hardsigmoid_ = inplace_ops.inplace(hardsigmoid, "hardsigmoid_")
hardswish_ = inplace_ops.inplace(hardswish, "hardswish_")
threshold_ = inplace_ops.inplace(threshold, "threshold_")
rrelu_ = inplace_ops.inplace(rrelu, "rrelu_")
leaky_relu_ = inplace_ops.inplace(leaky_relu, "leaky_relu_")
relu_ = inplace_ops.relu_
