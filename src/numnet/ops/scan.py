"""Cumulative ops along one ``dim``: ``cumsum cumprod logcumsumexp`` and ``cummax cummin``
(named tuples ``(values, indices)``, int64 indices).

Every ``y_j`` here depends on ``x_0 .. x_j`` of its slice, so every backward is a reverse
scan: the gradient of ``x_k`` collects ``gy_j`` of every ``j >= k``. With ``create_graph``
each backward is recorded (reverse scans are ``flip`` around a scan op), so
every op here is differentiable to any order.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual, return_types
from numnet.ops._aliases import dim_aliases
from numnet.ops._util import as_tensor, normalize_dims
from numnet.ops.indexing import _grid
from numnet.ops.layout import flip
from numnet.ops.reduction import _sum_input, torch_dtype_name
from numnet.ops.shape import IndexIntoZeros, stack, unbind
from numnet.tensor import Tensor


def _reverse_cumsum(g, axis: int):
    """``out_k = sum_{j >= k} g_j`` along ``axis`` (recorded on a Tensor)."""
    if dual.is_graph(g):
        return flip(CumSum(axis)(flip(g, [axis])), [axis])
    return numpy.flip(numpy.cumsum(numpy.flip(g, axis), axis=axis), axis)


class Scan(Function):
    """Base of the scans: a 0-d input is scanned as one element (``dim`` 0 or -1)."""

    saved_inputs = (None,)

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        self.axis = normalize_dims(self.dim, x.ndim)[0]
        rows = x.reshape(1) if x.ndim == 0 else x
        return self.scan(rows, self.axis).reshape(x.shape)

    def backward(self, gy):
        rows = gy.reshape(1) if gy.ndim == 0 else gy
        return self.scan_backward(rows, self.axis).reshape(gy.shape)


class CumSum(Scan):
    """``y_j = sum_{i <= j} x_i``;  ``gx_k = sum_{j >= k} gy_j`` (a reverse cumsum)."""

    def scan(self, x, axis):
        return numpy.cumsum(x, axis=axis, dtype=x.dtype)

    def scan_backward(self, gy, axis):
        return _reverse_cumsum(gy, axis)


@dim_aliases
def cumsum(input, dim: int, *, dtype=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """Running sum along ``dim``, like ``torch.cumsum``; ``dtype`` casts the input first,
    and integer or bool inputs sum as int64.

    Example:
        >>> import numnet
        >>> numnet.cumsum(numnet.tensor([1, 2, 3]), 0)
        tensor([1, 3, 6])
    """
    return CumSum(dim)(_sum_input(input, dtype))


class CumProd(Scan):
    """``y_j = prod_{i <= j} x_i``;  ``gx_k = sum_{j >= k} gy_j prod_{i <= j, i != k} x_i``.

    Before a slice's first zero ``z`` that is ``revcumsum(gy * y)_k / x_k``; after it every
    term holds the factor ``x_z = 0``; at ``z`` itself it is
    ``y_{z-1} * sum_{j >= z} gy_j prod_{z < i <= j} x_i``, a cumprod that skips ``x_z``.
    No division by zero anywhere, so the gradient is exact with zeros, as PyTorch's is.

    Recorded (PyTorch's two cases): without zeros ``revcumsum(gy * y) / x``; with zeros
    ``gx_k = E_k R_k``, ``E_k = prod_{i < k} x_i`` and ``R_k = sum_{j >= k} gy_j
    prod_{k < i <= j} x_i`` by the recurrences ``E_{k+1} = E_k x_k`` and
    ``R_k = gy_k + x_{k+1} R_{k+1}``: products only, so every derivative is exact at zeros.
    """

    saved_inputs = ("x",)
    saved_outputs = ("y",)

    def scan(self, x, axis):
        self.x = x
        self.y = numpy.cumprod(x, axis=axis, dtype=x.dtype)
        return self.y

    def scan_backward(self, gy, axis):
        if dual.is_graph(gy):
            return self._scan_backward_graph(gy, axis)
        x, y = self.x, self.y
        if x.shape[axis] == 0:
            return numpy.zeros_like(gy)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        position = numpy.arange(x.shape[axis]).reshape(shape)
        zero = x == 0
        first_zero = numpy.where(zero.any(axis=axis, keepdims=True),
                                 numpy.argmax(zero, axis=axis, keepdims=True), x.shape[axis])
        before = position < first_zero
        safe_x = numpy.where(before, x, 1)
        gx = numpy.where(before, _reverse_cumsum(gy * y, axis) / safe_x, 0).astype(gy.dtype)
        # the first zero: y_{z-1} times the cumprod of the x after it, against gy
        if zero.any():
            after = numpy.where(position > first_zero, x, 1)
            tail = numpy.where(position >= first_zero, gy * numpy.cumprod(after, axis=axis), 0)
            exclusive = numpy.where(first_zero > 0, numpy.take_along_axis(
                y, numpy.maximum(first_zero - 1, 0), axis=axis), 1)
            at_zero = exclusive * tail.sum(axis=axis, keepdims=True)
            gx = numpy.where(position == first_zero, at_zero, gx).astype(gy.dtype)
        return gx

    def _scan_backward_graph(self, gy, axis):
        if gy.shape[axis] <= 1:  # y = x: the gradient does not depend on x
            return gy
        x = self.x
        if not (dual.constant(x) == 0).any():
            return _reverse_cumsum(gy * self.y, axis) / x
        xs, gys = unbind(x, axis), unbind(gy, axis)
        n = len(xs)
        rest = [gys[-1]]
        for k in range(n - 2, -1, -1):
            rest.append(gys[k] + xs[k + 1] * rest[-1])
        rest.reverse()
        gxs, before = [rest[0]], xs[0]
        for k in range(1, n):
            gxs.append(before * rest[k])
            if k < n - 1:
                before = before * xs[k]
        return stack(gxs, axis)


@dim_aliases
def cumprod(input, dim: int, *, dtype=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """Running product along ``dim``, like ``torch.cumprod`` (integer or bool inputs as
    int64); the gradient is exact where inputs are zero.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([2.0, 0.0, 3.0], requires_grad=True)
        >>> numnet.cumprod(x, 0).sum().backward()
        >>> x.grad
        tensor([1., 8., 0.])
    """
    return CumProd(dim)(_sum_input(input, dtype))


class LogCumSumExp(Scan):
    """``y_j = log sum_{i <= j} exp(x_i)`` (``logaddexp.accumulate``, stable);
    ``gx_k = sum_{j >= k} gy_j exp(x_k - y_j)``.

    NOTE: the backward sums in log space too, the positive and negative parts of ``gy``
    apart (``exp(x_k + log revcumsum exp(log|gy_j| - y_j))``), as PyTorch does, so a large
    ``y`` never overflows ``exp``. Recorded, the same sums are ``logcumsumexp`` ops, with
    the lowest finite number for ``log 0`` (so that ``y - y`` stays 0, as in PyTorch) and
    ``log |gy|`` taken only where ``gy != 0`` (so no NaN comes back from ``log 0``: PyTorch's
    third derivative has NaN there).
    """

    saved_inputs = ("x",)
    saved_outputs = ("y",)

    def scan(self, x, axis):
        self.x = x
        self.y = numpy.logaddexp.accumulate(x, axis=axis)
        return self.y

    def scan_backward(self, gy, axis):
        if dual.is_graph(gy):
            return self._scan_backward_graph(gy, axis)

        def part(g):
            with numpy.errstate(divide="ignore"):
                logs = numpy.log(g) - self.y
            reverse = numpy.flip(numpy.logaddexp.accumulate(numpy.flip(logs, axis), axis=axis),
                                 axis)
            return numpy.exp(self.x + reverse)

        return (part(numpy.maximum(gy, 0)) - part(numpy.maximum(-gy, 0))).astype(gy.dtype)

    def _scan_backward_graph(self, gy, axis):
        if gy.shape[axis] <= 1:  # y = x: gx = gy exp(x - y) = gy
            return gy
        signs = dual.sign(gy)
        magnitude = dual.log(dual.where(signs != 0, dual.abs(gy), 1))
        lowest = numpy.finfo(gy.dtype).min

        def part(mask):
            logs = dual.where(mask, magnitude, lowest) - self.y
            with dual.errstate(over="ignore"):  # x + (about lowest) is -inf: exp gives 0
                return dual.exp(self.x + flip(LogCumSumExp(axis)(flip(logs, [axis])), [axis]))

        return part(signs > 0) - part(signs < 0)


@dim_aliases
def logcumsumexp(input, dim: int) -> Tensor:  # noqa: A002 - PyTorch's name
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably, like ``torch.logcumsumexp``
    (floating inputs only, as there)."""
    x = as_tensor(input)
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"\"logcumsumexp\" not implemented for "
                                  f"'{torch_dtype_name(x.data.dtype)}'")
    return LogCumSumExp(dim)(x)


class CumMax(Function):
    """``y_j = max_{i <= j} x_i`` with ``index_j`` the last ``i <= j`` where it is attained
    (NaN propagates and is its own index, as in PyTorch);  ``gx_k = sum of gy_j over the j
    with index_j = k`` (``IndexIntoZeros``, whose gradient is the gather ``gy[index]``)."""

    saved_inputs = (None,)
    accumulate = numpy.maximum

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        self.axis = axis = normalize_dims(self.dim, x.ndim)[0]
        rows = x.reshape(1) if x.ndim == 0 else x
        y = self.accumulate.accumulate(rows, axis=axis)
        shape = [1] * rows.ndim
        shape[axis] = rows.shape[axis]
        position = numpy.arange(rows.shape[axis]).reshape(shape)
        attained = rows == y
        if rows.dtype.kind == "f":
            attained |= numpy.isnan(rows)
        self.index = numpy.maximum.accumulate(numpy.where(attained, position, 0), axis=axis)
        self.shape = x.shape
        return y.reshape(x.shape)

    def backward(self, gy):
        rows = gy.reshape(1) if gy.ndim == 0 else gy
        gx = dual.apply(IndexIntoZeros(_grid(self.index, self.axis), rows.shape), rows)
        return gx.reshape(self.shape)


class CumMin(CumMax):
    """``y_j = min_{i <= j} x_i`` with the last index attaining it; gradient as ``CumMax``."""

    accumulate = numpy.minimum


def _cumulative_extremum(result_type, function_class, input, dim):
    x = as_tensor(input)
    function = function_class(dim)
    values = function(x)
    index = function.index.reshape(x.shape).astype(numpy.int64)
    return result_type(values, Tensor(index, _raw=True))


@dim_aliases
def cummax(input, dim: int):  # noqa: A002 - PyTorch's name
    """The named tuple ``(values, indices)`` of the running maximum along ``dim``, like
    ``torch.cummax`` (ties: the latest index).

    Example:
        >>> import numnet
        >>> numnet.cummax(numnet.tensor([1, 3, 2, 3]), 0).indices
        tensor([0, 1, 1, 3])
    """
    return _cumulative_extremum(return_types.cummax, CumMax, input, dim)


@dim_aliases
def cummin(input, dim: int):  # noqa: A002 - PyTorch's name
    """The named tuple ``(values, indices)`` of the running minimum along ``dim``, like
    ``torch.cummin`` (ties: the latest index)."""
    return _cumulative_extremum(return_types.cummin, CumMin, input, dim)
