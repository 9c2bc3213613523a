"""Reductions: ``sum mean max min var`` over ``dim`` with ``keepdim`` (``std`` composes var),
and ``argmax argmin`` (int64 indices, no gradient).

The wrappers ``sum``, ``max`` and ``min`` have PyTorch's names, so the functions here call
Python's own as ``builtins.max``.
"""

from __future__ import annotations

import builtins
import collections

import numpy

from numnet.autograd import Function
from numnet.ops._util import as_tensor, normalize_dims, unreduce
from numnet.ops.elementwise import sqrt
from numnet.tensor import Tensor


class Sum(Function):
    """``y = sum of x over dims``;  ``gx = gy`` broadcast back to x's shape."""

    def __init__(self, dim=None, keepdim: bool = False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_dims(self.dim, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, len(self.shape))
        return numpy.broadcast_to(g, self.shape)


class Mean(Sum):
    """``y = mean of x over dims``;  ``gx = gy / n`` broadcast back (n = reduced count)."""

    def forward(self, x):
        y = super().forward(x)
        self.count = builtins.max(1, int(numpy.prod([x.shape[a] for a in self.axes])))
        return (y / self.count).astype(x.dtype, copy=False)

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.count))


def sum(x, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all dims when None)."""
    return Sum(dim, keepdim)(as_tensor(x))


def mean(x, dim=None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dims when None)."""
    return Mean(dim, keepdim)(as_tensor(x))


class Var(Function):
    """``y = sum((x - mean)**2) / (n - correction)``;  ``gx = gy * 2 (x - mean) / (n - c)``.

    ``correction=1`` (Bessel, the default as in PyTorch) gives the unbiased estimate.
    """

    def __init__(self, dim=None, correction: int = 1, keepdim: bool = False):
        self.dim, self.correction, self.keepdim = dim, correction, keepdim

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        n = int(numpy.prod([x.shape[a] for a in self.axes]))
        self.denominator = x.dtype.type(builtins.max(n - self.correction, 0))
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            y = (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdim)
            return (y / self.denominator).astype(x.dtype, copy=False)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, self.centered.ndim)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return g * (2 / self.denominator) * self.centered


def var(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance ``sum (x - mean)**2 / (n - correction)``; unbiased (correction 1) by default."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var(dim, correction, keepdim)(as_tensor(x))


def std(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Standard deviation: ``sqrt(var)``."""
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


class Max(Function):
    """``y = max of x over dims``; the gradient goes to the maximal elements.

    Over a whole tensor (``dim=None``) ties share the gradient equally (PyTorch's ``max()``);
    along one ``dim`` it goes to the first maximal element, the one ``argmax`` returns
    (PyTorch's ``max(dim)``).
    """

    reduce = staticmethod(numpy.max)
    arg = staticmethod(numpy.argmax)

    def __init__(self, dim=None, keepdim: bool = False):
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        self.x = x
        self.axes = normalize_dims(self.dim, x.ndim)
        self.y = self.reduce(x, axis=self.axes, keepdims=True)
        return self.y if self.keepdim else numpy.squeeze(self.y, axis=self.axes)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, self.x.ndim)
        if self.dim is None:
            mask = (self.x == self.y).astype(gy.dtype)
            mask /= mask.sum(axis=self.axes, keepdims=True)
            return g * mask
        axis = self.axes[0]
        index = numpy.expand_dims(self.arg(self.x, axis=axis), axis)
        gx = numpy.zeros(self.x.shape, dtype=gy.dtype)
        numpy.put_along_axis(gx, index, g, axis=axis)
        return gx


class Min(Max):
    """``y = min of x over dims``; gradient to the minimal elements (see ``Max``)."""

    reduce = staticmethod(numpy.min)
    arg = staticmethod(numpy.argmin)


MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _extremum(function_class, arg, x, dim, keepdim):
    if dim is None:
        return function_class(None, False)(as_tensor(x))
    values = function_class(dim, keepdim)(as_tensor(x))
    axis = normalize_dims(dim, x.ndim)[0]
    indices = arg(x.data, axis=axis)
    if keepdim:
        indices = numpy.expand_dims(indices, axis)
    return MaxResult(values, Tensor(indices.astype(numpy.int64), _raw=True))


def max(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Maximum of all elements, or ``(values, indices)`` along ``dim`` (like PyTorch)."""
    return _extremum(Max, numpy.argmax, x, dim, keepdim)


def min(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Minimum of all elements, or ``(values, indices)`` along ``dim`` (like PyTorch)."""
    return _extremum(Min, numpy.argmin, x, dim, keepdim)


def argmax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, of the flattened tensor when ``dim`` is None."""
    data = x.data if isinstance(x, Tensor) else numpy.asarray(x)
    if dim is None:
        return Tensor(numpy.asarray(numpy.argmax(data), dtype=numpy.int64), _raw=True)
    out = numpy.argmax(data, axis=dim)
    if keepdim:
        out = numpy.expand_dims(out, dim)
    return Tensor(out.astype(numpy.int64), _raw=True)


def argmin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, of the flattened tensor when ``dim`` is None."""
    return argmax(-(x.data if isinstance(x, Tensor) else numpy.asarray(x)), dim, keepdim)
