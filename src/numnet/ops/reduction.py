"""Reductions: ``sum mean prod logsumexp nansum nanmean amax amin var`` over ``dim`` with
``keepdim`` (``std``, ``var_mean``, ``std_mean`` compose var and mean), ``max min`` over all
dims or along one (with indices), ``aminmax``, and the ones without a gradient: ``argmax
argmin`` (int64 indices), ``any all`` (bool) and ``count_nonzero`` (int64).

Every one accepts NumPy's ``axis=``/``keepdims=`` for ``dim``/``keepdim``, as PyTorch does.
The wrappers ``sum``, ``max``, ``min``, ``any`` and ``all`` have PyTorch's names, so the
functions here call Python's own as ``builtins.max``.
"""

from __future__ import annotations

import builtins

import numpy

from numnet.autograd import Function
from numnet.ops import dual, return_types
from numnet.ops._aliases import dim_aliases
from numnet.ops._util import as_float, as_tensor, check_dim, normalize_dims, reduced_axes, unreduce
from numnet.ops.elementwise import sqrt
from numnet.ops.promotion import cast
from numnet.ops.shape import cat
from numnet.tensor import Tensor

# PyTorch's names of the dtypes, for error messages ("... Got: Long")
_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def torch_dtype_name(dtype) -> str:
    """``Long`` for int64, ``Float`` for float32, ...: how PyTorch's messages name a dtype."""
    return _TORCH_NAMES.get(numpy.dtype(dtype).name, numpy.dtype(dtype).name)


def _every_dim(dim) -> bool:
    """``dim`` None or an empty sequence: reduce over every dim, as PyTorch's ``sum`` does."""
    return dim is None or not isinstance(dim, (int, numpy.integer)) and len(dim) == 0


def _sum_input(x, dtype) -> Tensor:
    """``x`` as the tensor a sum adds up: cast to ``dtype`` if given, else integers and bools
    as int64 (PyTorch's ``sum``, ``prod`` and ``cumsum`` never overflow a small int type)."""
    x = as_tensor(x)
    if dtype is not None:
        return cast(x, numpy.dtype(dtype))
    if x.data.dtype.kind in "biu":
        return Tensor(x.data.astype(numpy.int64), _raw=True)
    return x


class Sum(Function):
    """``y = sum of x over dims``;  ``gx = gy`` broadcast back to x's shape."""

    saved_inputs = (None,)

    def __init__(self, dim=None, keepdim: bool = False):
        self.dim, self.keepdim = (None if _every_dim(dim) else dim), keepdim

    def forward(self, x):
        self.shape = x.shape
        self.axes = reduced_axes(self.dim, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, len(self.shape))
        return dual.broadcast_to(g, self.shape)


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


@dim_aliases
def sum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001, A002
    """Sum over ``dim`` (an int or a tuple; all dims when None or empty), like ``torch.sum``.

    ``dtype`` casts the input first; without it integer and bool inputs sum as int64.

    Example:
        >>> import numnet
        >>> numnet.sum(numnet.tensor([[True, True], [False, True]]), axis=1)
        tensor([2, 1])
    """
    return Sum(dim, keepdim)(_sum_input(input, dtype))


@dim_aliases
def mean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """Mean over ``dim`` (all dims when None or empty); ``dtype`` casts the input first.

    An integer or bool input without a floating ``dtype`` is a RuntimeError, as in PyTorch.
    """
    x = as_tensor(input)
    if dtype is not None:
        x = cast(x, numpy.dtype(dtype))
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: "
                           f"{torch_dtype_name(x.data.dtype)}")
    return Mean(dim, keepdim)(x)


class NanSum(Sum):
    """``y = sum of x over dims, NaN counted as 0``;  ``gx = gy`` where x is not NaN, else 0
    (the NaN mask is a constant: recorded, the gradient is linear in ``gy``)."""

    def forward(self, x):
        self.keep = ~numpy.isnan(x)
        return super().forward(numpy.where(self.keep, x, x.dtype.type(0)))

    def backward(self, gy):
        return super().backward(gy) * self.keep


class NanMean(NanSum):
    """``y = mean of the non-NaN x over dims``;  ``gx = gy / n`` where x is not NaN (n = the
    non-NaN count of x's slice), else 0."""

    def forward(self, x):
        total = super().forward(x)
        self.count = self.keep.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        count = self.count if self.keepdim else numpy.squeeze(self.count, axis=self.axes)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return total / count

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, len(self.shape))
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return dual.broadcast_to(g / self.count, self.shape) * self.keep


@dim_aliases
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``sum`` treating NaN as 0, like ``torch.nansum``."""
    x = _sum_input(input, dtype)
    if x.data.dtype.kind != "f":
        return Sum(dim, keepdim)(x)
    return NanSum(dim, keepdim)(x)


@dim_aliases
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """``mean`` of the elements that are not NaN (NaN where a slice has none), like
    ``torch.nanmean``."""
    x = as_tensor(input)
    if dtype is not None:
        x = cast(x, numpy.dtype(dtype))
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {torch_dtype_name(x.data.dtype)}")
    return NanMean(dim, keepdim)(x)


def _exclusive_cumprod(x):
    """``out[..., i] = prod(x[..., :i])`` along the last axis (1 for i = 0), no division;
    on a Tensor recorded (``cat`` and ``cumprod``, whose own gradient is exact with zeros)."""
    if x.shape[-1] == 0:
        return x if dual.is_graph(x) else x.copy()
    ones = numpy.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    if dual.is_graph(x):
        return cat([ones, x[..., :-1].cumprod(-1)], -1)
    return numpy.concatenate([ones, numpy.cumprod(x[..., :-1], axis=-1)], axis=-1)


class Prod(Function):
    """``y = prod of x over dims``;  ``gx_i = gy * prod_{j != i} x_j``.

    The product of the others is the exclusive product from the left times the one from
    the right, never ``y / x_i``: exact with one zero (its position gets the product of the
    rest, the others 0) and with several (all 0), as PyTorch's ``prod`` backward is.
    Recorded, the same formula is ``cumprod`` and ``cat`` ops, so the second derivative
    ``prod_{j != i, k} x_j`` is exact with zeros too.
    """

    saved_inputs = ("x",)

    def __init__(self, axes: tuple, keepdim: bool = False):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.x = x
        return numpy.prod(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        x, k = self.x, len(self.axes)
        last = tuple(range(x.ndim - k, x.ndim))
        moved = dual.moveaxis(x, self.axes, last)
        n = int(numpy.prod(moved.shape[x.ndim - k:]))
        rows = moved.reshape(moved.shape[:x.ndim - k] + (n,))
        left = _exclusive_cumprod(rows)
        right = _exclusive_cumprod(rows[..., ::-1])[..., ::-1]
        others = dual.moveaxis((left * right).reshape(moved.shape), last, self.axes)
        return unreduce(gy, self.axes, self.keepdim, x.ndim) * others


@dim_aliases
def prod(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """Product over one ``dim`` (all elements when None), like ``torch.prod``; integer and
    bool inputs multiply as int64. The gradient is exact where inputs are zero.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([2.0, 0.0, 3.0], requires_grad=True)
        >>> x.prod().backward()
        >>> x.grad
        tensor([0., 6., 0.])
    """
    x = _sum_input(input, dtype)
    if dim is None:
        axes = tuple(range(x.ndim))
    elif isinstance(dim, (int, numpy.integer)):
        axes = reduced_axes(dim, x.ndim)
    else:
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    return Prod(axes, keepdim)(x)


class LogSumExp(Function):
    """``y = m + log sum exp(x - m)`` over dims (m = the max, so nothing overflows);
    ``gx = gy * exp(x - y)`` (the softmax of x along the dims), recorded with ``y`` this
    op's output."""

    saved_inputs = ("x",)
    saved_outputs = ("y",)

    def __init__(self, axes: tuple, keepdim: bool = False):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        m = numpy.max(x, axis=self.axes, keepdims=True, initial=-numpy.inf)
        m = numpy.where(numpy.isfinite(m), m, 0).astype(x.dtype)
        with numpy.errstate(divide="ignore"):
            y = numpy.log(numpy.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        self.x = x
        self.y = y if self.keepdim else numpy.squeeze(y, axis=self.axes)
        return self.y

    def backward(self, gy):
        g = unreduce(gy, self.axes, self.keepdim, self.x.ndim)
        y = unreduce(self.y, self.axes, self.keepdim, self.x.ndim)
        with numpy.errstate(invalid="ignore"):
            return g * dual.exp(self.x - y)


@dim_aliases
def logsumexp(input, dim, keepdim: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``log(sum(exp(x)))`` over ``dim`` (an int or a tuple), computed stably as
    ``torch.logsumexp``; integer inputs give the default dtype.

    Example:
        >>> import numnet
        >>> round(numnet.logsumexp(numnet.tensor([1000.0, 1000.0]), 0).item(), 3)  # 1000 + ln 2
        1000.693
    """
    x = as_float(input)
    return LogSumExp(reduced_axes(dim, x.ndim), keepdim)(x)


def _logical(name: str, function, input, dim, keepdim: bool) -> Tensor:
    data = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    axes = None if _every_dim(dim) else reduced_axes(dim, data.ndim)
    out = numpy.asarray(function(data, axis=axes, keepdims=keepdim))
    # NOTE: PyTorch keeps uint8 for uint8 inputs (its pre-bool convention), bool otherwise
    return Tensor(out.astype(numpy.uint8 if data.dtype == numpy.uint8 else numpy.bool_),
                  _raw=True)


@dim_aliases
def any(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Whether any element over ``dim`` (int, tuple, or all when None) is nonzero: bool
    (uint8 for a uint8 input, as PyTorch)."""
    return _logical("any", numpy.any, input, dim, keepdim)


@dim_aliases
def all(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """Whether every element over ``dim`` (int, tuple, or all when None) is nonzero: bool
    (uint8 for a uint8 input, as PyTorch)."""
    return _logical("all", numpy.all, input, dim, keepdim)


@dim_aliases
def count_nonzero(input, dim=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """The number of nonzero elements over ``dim`` (int, tuple, or all when None): int64."""
    data = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    axes = None if _every_dim(dim) else reduced_axes(dim, data.ndim)
    return Tensor(numpy.asarray(numpy.count_nonzero(data, axis=axes), dtype=numpy.int64),
                  _raw=True)


class Var(Function):
    """``y = sum((x - mean)**2) / (n - correction)``;  ``gx = gy * 2 (x - mean) / (n - c)``.

    ``correction=1`` (Bessel, the default as in PyTorch) gives the unbiased estimate.

    NOTE: ``saved_inputs`` names ``centered``, not x: the variance does not change when a
    constant is added to x, so none of its derivatives does, and the centered x stands for
    x. Recorded, ``backward`` centers the Tensor it is given again (``c - mean(c)``: the
    same values, and the centering's Jacobian ``I - 1/n`` on the way back), so the second
    derivative is ``2 (I - 1/n) / (n - c)`` times ``gy``.
    """

    saved_inputs = ("centered",)

    def __init__(self, dim=None, correction: int = 1, keepdim: bool = False):
        self.dim, self.correction = (None if _every_dim(dim) else dim), correction
        self.keepdim = keepdim

    def forward(self, x):
        self.axes = reduced_axes(self.dim, x.ndim)
        n = int(numpy.prod([x.shape[a] for a in self.axes]))
        self.denominator = x.dtype.type(builtins.max(n - self.correction, 0))
        self.centered = x - x.mean(axis=self.axes, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            y = (self.centered ** 2).sum(axis=self.axes, keepdims=self.keepdim)
            return (y / self.denominator).astype(x.dtype, copy=False)

    def backward(self, gy):
        centered = self.centered
        g = unreduce(gy, self.axes, self.keepdim, centered.ndim)
        if dual.is_graph(centered):
            centered = centered - centered.mean(dim=self.axes, keepdim=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return g * (2 / self.denominator) * centered


def _var_arguments(dim, unbiased, correction):
    """``(dim, correction)`` from PyTorch's overloads: ``var(x, True)`` passes ``unbiased``
    where ``dim`` stands; ``unbiased=False`` is ``correction=0``; the default is 1."""
    if isinstance(dim, (bool, numpy.bool_)):
        dim, unbiased = None, builtins.bool(dim)
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


@dim_aliases
def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
        correction: int | None = None) -> Tensor:
    """Variance ``sum (x - mean)**2 / (n - correction)``; unbiased (correction 1) by default."""
    dim, correction = _var_arguments(dim, unbiased, correction)
    return Var(dim, correction, keepdim)(as_tensor(input))


@dim_aliases
def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
        correction: int | None = None) -> Tensor:
    """Standard deviation: ``sqrt(var)``."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


@dim_aliases
def var_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction: int | None = None) -> tuple:
    """``(var(input, dim, ...), mean(input, dim))`` as a plain tuple, like ``torch.var_mean``.

    Example:
        >>> import numnet
        >>> numnet.var_mean(numnet.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
        (tensor(1.2500), tensor(2.5000))
    """
    dim, correction = _var_arguments(dim, unbiased, correction)
    x = as_tensor(input)
    return var(x, dim, keepdim=keepdim, correction=correction), mean(x, dim, keepdim)


@dim_aliases
def std_mean(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction: int | None = None) -> tuple:
    """``(std(input, dim, ...), mean(input, dim))`` as a plain tuple, like ``torch.std_mean``."""
    variance, average = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return sqrt(variance), average


class Amax(Function):
    """``y = max of x over dims``;  ``gx = gy / k`` at the ``k`` maximal elements of each
    reduced slice, 0 elsewhere (ties share the gradient evenly, as PyTorch's ``amax`` and
    ``max()`` do). The mask is a constant: recorded, the gradient is linear in ``gy``."""

    saved_inputs = (None,)
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
    slice (the one ``argmax`` returns), 0 elsewhere, as PyTorch's ``max(dim)``; recorded,
    ``where(position == index, gy, 0)`` (linear in ``gy``; the index is a constant)."""

    saved_inputs = (None,)
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
        if dual.is_graph(g):
            position = numpy.arange(self.shape[self.axis]).reshape(
                (-1,) + (1,) * (len(self.shape) - 1 - self.axis))
            return dual.where(position == self.index, dual.broadcast_to(g, self.shape), 0)
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        numpy.put_along_axis(gx, self.index, g, axis=self.axis)
        return gx


class Min(Max):
    """``y = min of x along one dim``; gradient to the first minimal element (see ``Max``)."""

    reduce = staticmethod(numpy.min)
    arg = staticmethod(numpy.argmin)


MaxResult = return_types.max  # the name numnet used before ``return_types``


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
    if x.ndim == 0:  # PyTorch's dims 0 and -1 of a 0-d tensor: the value, at index 0
        check_dim(dim, 0)
        values = (Amax if name == "max" else Amin)(())(x)
        return (return_types.max if name == "max" else return_types.min)(
            values, Tensor(numpy.zeros((), numpy.int64), _raw=True))
    axis = normalize_dims(dim, x.ndim)[0]
    _check_nonempty(name, x.data, (axis,), every_dim=False)
    function = function_class(axis, keepdim)
    values = function(x)
    index = function.index if keepdim else numpy.squeeze(function.index, axis=axis)
    result_type = return_types.max if name == "max" else return_types.min
    return result_type(values, Tensor(index.astype(numpy.int64), _raw=True))


@dim_aliases
def max(input, dim=None, keepdim: bool = False):  # noqa: A001, A002 - PyTorch's name
    """Maximum of all elements, or the named tuple ``(values, indices)`` along one ``dim``
    (like PyTorch; several dims are ``amax``'s)."""
    return _extremum("max", Max, input, dim, keepdim)


@dim_aliases
def min(input, dim=None, keepdim: bool = False):  # noqa: A001, A002 - PyTorch's name
    """Minimum of all elements, or the named tuple ``(values, indices)`` along one ``dim``
    (like PyTorch; several dims are ``amin``'s)."""
    return _extremum("min", Min, input, dim, keepdim)


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


@dim_aliases
def amax(input, dim=(), keepdim: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """Maximum over ``dim`` (an int or a tuple; all dims when empty); the gradient is
    split evenly among tied maxima."""
    return _amax_amin("amax", Amax, input, dim, keepdim)


@dim_aliases
def amin(input, dim=(), keepdim: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """Minimum over ``dim`` (an int or a tuple; all dims when empty); the gradient is
    split evenly among tied minima."""
    return _amax_amin("amin", Amin, input, dim, keepdim)


def aminmax(input, *, dim=None, keepdim: bool = False):  # noqa: A002 - PyTorch's name
    """The named tuple ``(min, max)`` over one ``dim`` (all elements when None), like
    ``torch.aminmax``; each gradient is split evenly among tied extrema.

    Example:
        >>> import numnet
        >>> numnet.aminmax(numnet.tensor([[1.0, 5.0], [3.0, -2.0]]), dim=1)
        aminmax(min=tensor([ 1., -2.]), max=tensor([5., 3.]))
    """
    x = as_tensor(input)
    if dim is None:
        if x.data.size == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as "
                               "the operation has no identity.")
        axes = tuple(range(x.ndim))
    else:
        axes = normalize_dims(dim, x.ndim)
        if x.ndim and x.shape[axes[0]] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {axes[0]} to have non-zero "
                             f"size.")
    return return_types.aminmax(Amin(axes, keepdim)(x), Amax(axes, keepdim)(x))


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


@dim_aliases
def argmax(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """Index of the (first) maximum, of the flattened tensor when ``dim`` is None."""
    return _arg("argmax", numpy.argmax, input, dim, keepdim)


@dim_aliases
def argmin(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """Index of the (first) minimum, of the flattened tensor when ``dim`` is None.

    NOTE: computed directly, not as ``argmax(-x)``, which overflows at an integer type's
    minimum and is wrong for unsigned types.
    """
    return _arg("argmin", numpy.argmin, input, dim, keepdim)
