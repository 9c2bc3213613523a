"""Reductions: ``sum mean amax amin var`` over ``dim`` with ``keepdim`` (``std`` composes
var), ``max min`` over all dims or along one (with indices), and ``argmax argmin`` (int64
indices, no gradient).

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
        self.count = int(numpy.prod([x.shape[a] for a in self.axes]))
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (y / y.dtype.type(self.count)).astype(x.dtype, copy=False)

    def backward(self, gy):
        with numpy.errstate(divide="ignore", invalid="ignore"):
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


class Amax(Function):
    """``y = max of x over dims``;  ``gx = gy / k`` at the ``k`` maximal elements of each
    reduced slice, 0 elsewhere (ties share the gradient evenly, as PyTorch's ``amax`` and
    ``max()`` do)."""

    reduce = staticmethod(numpy.max)

    def __init__(self, axes: tuple, keepdim: bool = False):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.x = x
        self.y = self.reduce(x, axis=self.axes, keepdims=True)
        return self.y if self.keepdim else numpy.squeeze(self.y, axis=self.axes)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, self.x.ndim)
        mask = (self.x == self.y).astype(gy.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        return g * mask


class Amin(Amax):
    """``y = min of x over dims``; gradient split evenly among the minimal elements."""

    reduce = staticmethod(numpy.min)


class Max(Function):
    """``y = max of x along one dim``;  ``gx = gy`` at the first maximal element of each
    slice (the one ``argmax`` returns), 0 elsewhere, as PyTorch's ``max(dim)``."""

    reduce = staticmethod(numpy.max)
    arg = staticmethod(numpy.argmax)

    def __init__(self, axis: int, keepdim: bool = False):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        self.shape = x.shape
        self.index = numpy.expand_dims(self.arg(x, axis=self.axis), self.axis)
        y = numpy.take_along_axis(x, self.index, axis=self.axis)
        return y if self.keepdim else numpy.squeeze(y, axis=self.axis)

    def backward(self, gy):
        g = unreduce(gy, (self.axis,), self.keepdim, len(self.shape))
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        numpy.put_along_axis(gx, self.index, g, axis=self.axis)
        return gx


class Min(Max):
    """``y = min of x along one dim``; gradient to the first minimal element (see ``Max``)."""

    reduce = staticmethod(numpy.min)
    arg = staticmethod(numpy.argmin)


MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _check_nonempty(name: str, x, axes, every_dim: bool) -> None:
    """PyTorch's errors for a max/min over no elements (NumPy's would be a ValueError)."""
    if x.size:
        return
    if every_dim:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                           f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                           f"argument.")
    for axis in axes:
        if x.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def _extremum(name, function_class, x, dim, keepdim):
    x = as_tensor(x)
    if dim is None:
        _check_nonempty(name, x.data, (), every_dim=True)
        return (Amax if name == "max" else Amin)(tuple(range(x.ndim)))(x)
    if not isinstance(dim, (int, numpy.integer)):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"(dim={type(dim).__name__}), but expected (int dim, bool keepdim); "
                        f"use a{name}() to reduce over several dims")
    axis = normalize_dims(dim, x.ndim)[0]
    _check_nonempty(name, x.data, (axis,), every_dim=False)
    function = function_class(axis, keepdim)
    values = function(x)
    index = function.index if keepdim else numpy.squeeze(function.index, axis=axis)
    return MaxResult(values, Tensor(index.astype(numpy.int64), _raw=True))


def max(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Maximum of all elements, or ``(values, indices)`` along one ``dim`` (like PyTorch;
    several dims are ``amax``'s)."""
    return _extremum("max", Max, x, dim, keepdim)


def min(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Minimum of all elements, or ``(values, indices)`` along one ``dim`` (like PyTorch;
    several dims are ``amin``'s)."""
    return _extremum("min", Min, x, dim, keepdim)


def _reduce_dims(dim, ndim: int) -> tuple:
    """``dim`` of ``amax``/``amin`` (an int or a non-empty sequence) as sorted axes."""
    dims = (dim,) if isinstance(dim, (int, numpy.integer)) else tuple(dim)
    axes = normalize_dims(dims, ndim)
    if ndim == 0:
        return ()
    if len(axes) != len(dims):
        wrapped = [d % builtins.max(ndim, 1) for d in dims]
        repeated = next(d for d in wrapped if wrapped.count(d) > 1)
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return axes


def _amax_amin(name: str, function_class, x, dim, keepdim: bool) -> Tensor:
    x = as_tensor(x)
    every_dim = dim is None or not isinstance(dim, (int, numpy.integer)) and len(dim) == 0
    axes = tuple(range(x.ndim)) if every_dim else _reduce_dims(dim, x.ndim)
    _check_nonempty(name, x.data, axes, every_dim)
    return function_class(axes, keepdim)(x)


def amax(x, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (an int or a tuple; all dims when empty); the gradient is
    split evenly among tied maxima."""
    return _amax_amin("amax", Amax, x, dim, keepdim)


def amin(x, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (an int or a tuple; all dims when empty); the gradient is
    split evenly among tied minima."""
    return _amax_amin("amin", Amin, x, dim, keepdim)


def _arg(name: str, function, x, dim, keepdim: bool) -> Tensor:
    data = x.data if isinstance(x, Tensor) else numpy.asarray(x)
    if data.dtype == numpy.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        return Tensor(numpy.asarray(function(data), dtype=numpy.int64), _raw=True)
    out = function(data, axis=dim)
    if keepdim:
        out = numpy.expand_dims(out, dim)
    return Tensor(out.astype(numpy.int64), _raw=True)


def argmax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, of the flattened tensor when ``dim`` is None."""
    return _arg("argmax", numpy.argmax, x, dim, keepdim)


def argmin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, of the flattened tensor when ``dim`` is None.

    NOTE: computed directly, not as ``argmax(-x)``, which overflows at an integer type's
    minimum and is wrong for unsigned types.
    """
    return _arg("argmin", numpy.argmin, x, dim, keepdim)
