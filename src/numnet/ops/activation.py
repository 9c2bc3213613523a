"""Activations: ``sigmoid tanh relu leaky_relu softmax log_softmax``.

All are numerically stable for inputs of +-1000: sigmoid goes through tanh, softmax and
log-softmax subtract the maximum before exponentiating.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.backend import map_batch
from numnet.ops import dual, promotion
from numnet.ops._util import as_float, as_tensor, check_dim
from numnet.tensor import Tensor


class Sigmoid(Function):
    """``y = 1 / (1 + e**-x)``;  ``gx = gy * y (1 - y)``.

    NOTE: computed as ``(1 + tanh(x/2)) / 2``, the same function without ``e**-x``, which
    overflows for x << 0.
    """

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def forward(self, x):
        half = x.dtype.type(0.5)
        y = numpy.tanh(x * half)
        y += 1
        y *= half
        self.y = y
        return y

    def backward(self, gy):
        y = self.y
        return gy * y * (1 - y)


def sigmoid(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``1 / (1 + e**-x)`` (integer input gives the default dtype, as in PyTorch)."""
    return Sigmoid()(as_float(input))


class Tanh(Function):
    """``y = tanh x = (e**x - e**-x) / (e**x + e**-x)``;  ``gx = gy (1 - y**2)``."""

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def forward(self, x):
        self.y = numpy.tanh(x)
        return self.y

    def backward(self, gy):
        y = self.y
        return gy * (1 - y * y)


def tanh(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """Hyperbolic tangent (integer input gives the default dtype, as in PyTorch)."""
    return Tanh()(as_float(input))


class ReLU(Function):
    """``y = max(0, x)``;  ``gx = gy`` where x > 0, else 0.

    NOTE: the derivative at exactly 0 is taken as 0, as PyTorch does. Large arrays go in
    cache-sized pieces over the threads (``map_batch``): the mask is computed from a
    piece of ``y`` while it is still in cache.
    """

    saved_inputs = (None,)
    masks_from = (("output", 0),)  # PyTorch keeps this edge (zero derivative)

    def forward(self, x):
        if not x.flags.c_contiguous:
            x = numpy.ascontiguousarray(x)  # NOTE: not for 0-d x: it returns shape (1,)
        y = numpy.empty(x.shape, x.dtype)
        mask = numpy.empty(x.shape, bool)
        x_flat, y_flat, mask_flat = x.reshape(-1), y.reshape(-1), mask.reshape(-1)

        def run(start, stop):
            numpy.maximum(x_flat[start:stop], 0, out=y_flat[start:stop])
            numpy.greater(y_flat[start:stop], 0, out=mask_flat[start:stop])

        map_batch(run, x.size)
        self.mask = mask
        return y

    def backward(self, gy):
        if dual.is_graph(gy) or not gy.flags.c_contiguous:
            return gy * self.mask
        gx = numpy.empty(gy.shape, gy.dtype)
        gy_flat, gx_flat, mask_flat = gy.reshape(-1), gx.reshape(-1), self.mask.reshape(-1)

        def run(start, stop):
            numpy.multiply(gy_flat[start:stop], mask_flat[start:stop], out=gx_flat[start:stop])

        map_batch(run, gy.size)
        return gx


def relu(x) -> Tensor:
    """``max(0, x)``."""
    return ReLU()(as_tensor(x))


class LeakyReLU(Function):
    """``y = x`` if x > 0 else ``negative_slope * x``;  ``gx = gy`` or ``negative_slope gy``.

    NOTE: ``numpy.where`` on unpredictable signs ran 15x slower than ReLU; instead
    ``y = max(x, s x)`` (``min`` for slopes s > 1) and ``gx = gy f`` with the factor
    ``f = 1`` or ``s`` built by adding two arrays of which one is 0 (so it is exact).
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        slope = x.dtype.type(self.negative_slope)
        y = numpy.multiply(x, slope, out=numpy.empty(x.shape, x.dtype))
        if self.negative_slope <= 1:
            numpy.maximum(x, y, out=y)
        else:
            numpy.minimum(x, y, out=y)
        if self.needs_input_grad[0]:
            positive = numpy.greater(x, 0, out=numpy.empty(x.shape, bool))
            factor = numpy.multiply(~positive, slope, dtype=x.dtype)
            factor += positive
            self.factor = factor
        return y

    def backward(self, gy):
        if dual.is_graph(gy):
            return gy * self.factor
        return numpy.multiply(gy, self.factor, out=numpy.empty(gy.shape, gy.dtype))


def _floating_input(x, name: str, dtype=None) -> Tensor:
    """``x`` as a Tensor, cast to ``dtype`` if given; an integer one is a RuntimeError, as in
    PyTorch (``softmax(int tensor)`` is not implemented; pass ``dtype=``)."""
    x = as_tensor(x)
    if dtype is not None:
        x = promotion.cast(x, numpy.dtype(dtype))
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"{name} is not implemented for {x.data.dtype} tensors; "
                                  "convert to a floating dtype first")
    return x


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` for x > 0, else ``negative_slope * x`` (floating input only, as in PyTorch)."""
    return LeakyReLU(negative_slope)(_floating_input(x, "leaky_relu"))


class Softmax(Function):
    """``y_i = e**x_i / sum_j e**x_j`` along ``dim``;  ``gx = y (gy - sum_j gy_j y_j)``.

    The maximum along ``dim`` is subtracted first: same result, no overflow.
    """

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        e = numpy.exp(x - x.max(axis=self.dim, keepdims=True))
        e /= e.sum(axis=self.dim, keepdims=True)
        self.y = e
        return e

    def backward(self, gy):
        y = self.y
        gx = gy * y
        if dual.is_graph(gx):
            return gx - y * dual.sum(gx, axis=self.dim, keepdims=True)
        gx -= y * gx.sum(axis=self.dim, keepdims=True)
        return gx


def softmax(x, dim: int, *, dtype=None) -> Tensor:
    """``e**x_i / sum_j e**x_j`` along ``dim`` (``dtype``: cast the input first, as in
    PyTorch; integer input needs it)."""
    x = _floating_input(x, "softmax", dtype)
    return Softmax(check_dim(dim, x.ndim))(x)


class LogSoftmax(Function):
    """``y_i = x_i - log sum_j e**x_j`` along ``dim``;  ``gx = gy - softmax(x) sum_j gy_j``.

    Computed as ``x - max - log sum e**(x - max)``, stable for any input.
    """

    saved_inputs = (None,)
    saved_outputs = ("y",)

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        shifted = x - x.max(axis=self.dim, keepdims=True)
        y = shifted - numpy.log(numpy.exp(shifted).sum(axis=self.dim, keepdims=True))
        self.y = y
        return y

    def backward(self, gy):
        return gy - dual.exp(self.y) * dual.sum(gy, axis=self.dim, keepdims=True)


def log_softmax(x, dim: int, *, dtype=None) -> Tensor:
    """``log softmax(x)`` along ``dim``, computed stably (``dtype``: cast the input first)."""
    x = _floating_input(x, "log_softmax", dtype)
    return LogSoftmax(check_dim(dim, x.ndim))(x)
