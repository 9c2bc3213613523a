"""Reductions: ``sum mean max min var`` over ``dim`` with ``keepdim`` (``std`` composes var)."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops._util import normalize_dims, unreduce


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
        self.count = max(1, int(numpy.prod([x.shape[a] for a in self.axes])))
        return (y / self.count).astype(x.dtype, copy=False)

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.count))


class Var(Function):
    """``y = sum((x - mean)**2) / (n - correction)``;  ``gx = gy * 2 (x - mean) / (n - c)``.

    ``correction=1`` (Bessel, the default as in PyTorch) gives the unbiased estimate.
    """

    def __init__(self, dim=None, correction: int = 1, keepdim: bool = False):
        self.dim, self.correction, self.keepdim = dim, correction, keepdim

    def forward(self, x):
        self.axes = normalize_dims(self.dim, x.ndim)
        n = int(numpy.prod([x.shape[a] for a in self.axes]))
        self.denominator = x.dtype.type(max(n - self.correction, 0))
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            y = (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdim)
            return (y / self.denominator).astype(x.dtype, copy=False)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, self.centered.ndim)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return g * (2 / self.denominator) * self.centered


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
