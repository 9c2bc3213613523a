"""Adaptive pooling: ``adaptive_avg_pool2d adaptive_max_pool2d`` and their 1-D forms, which
choose the windows from the output size asked for (PyTorch's rule).

Output position ``i`` of ``O`` along an axis of size ``N`` pools the input elements
``floor(i N / O) <= n < ceil((i + 1) N / O)``: windows side by side when ``O`` divides
``N`` (then it is the plain pooling with ``F = S = N / O``, which runs instead), else of
two sizes and overlapping by one. An output of 1 x 1 is a mean or max over the plane.
"""

from __future__ import annotations

import numbers

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.ops.pool import PoolScatter, avg_pool2d, max_pool2d
from numnet.ops.pool1d import as_2d, single
from numnet.ops.reduction import mean
from numnet.ops.shape import squeeze
from numnet.tensor import Tensor


def window_bounds(n: int, out: int) -> tuple:
    """``(start, end)`` arrays of the ``out`` windows over ``n``: ``floor(i n / out)`` and
    ``ceil((i + 1) n / out)``.

    Example:
        >>> [b.tolist() for b in window_bounds(5, 3)]
        [[0, 1, 3], [2, 4, 5]]
    """
    i = numpy.arange(out)
    return i * n // out, ((i + 1) * n + out - 1) // out


def _check(op: str, x, output_size) -> tuple:
    """Check an adaptive pooling's input (PyTorch's errors) and return ``(OH, OW)``."""
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}(): Expected 3D or 4D tensor, but got {list(x.shape)}")
    for dim in range(x.ndim - 3, x.ndim):
        if x.shape[dim] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(x.shape)} with "
                               f"dimension {dim} being empty")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {x.dtype}')
    if isinstance(output_size, numbers.Integral):
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)):
        raise TypeError(f"{op}(): output_size must be an int or a tuple of two ints (None "
                        f"for the input's size), got {output_size!r}")
    if len(output_size) != 2:
        raise RuntimeError(f"{op}: output_size must be 2")
    sizes = tuple(n if o is None else o for o, n in zip(output_size, x.shape[-2:]))
    if not all(isinstance(o, numbers.Integral) for o in sizes):
        raise TypeError(f"{op}(): output_size must hold ints or None, got {output_size!r}")
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to "
                           f"0 but received {{{sizes[0]}, {sizes[1]}}}")
    return int(sizes[0]), int(sizes[1])


def _tiles(x, out) -> tuple | None:
    """``(F_h, F_w)`` when the windows lie side by side (``O`` divides ``N``), else None."""
    h, w = x.shape[-2:]
    if 0 in out or h % out[0] or w % out[1]:
        return None
    return h // out[0], w // out[1]


def _averaging_matrix(n: int, out: int, dtype):
    """``A`` (out, n): row i holds ``1 / count`` over window i, 0 elsewhere."""
    start, end = window_bounds(n, out)
    cols = numpy.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


class AdaptiveAvgPool2d(Function):
    """``y[n, c, i, j] = mean(x[n, c, h0(i):h1(i), w0(j):w1(j)])`` for windows that do not
    tile the input (see the module).

    The mean over a rectangle is a mean over rows, then over columns: ``y = A_H x A_W^T``
    with ``A`` from ``_averaging_matrix``; ``gx = A_H^T gy A_W``
    (``AdaptiveAvgPool2dTranspose``, whose gradient is this op again).
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        h, w = x.shape[-2:]
        self.a_h = _averaging_matrix(h, self.output_size[0], x.dtype)
        self.a_w = _averaging_matrix(w, self.output_size[1], x.dtype)
        return numpy.matmul(numpy.matmul(self.a_h, x), self.a_w.T)

    def backward(self, gy):
        return dual.apply(AdaptiveAvgPool2dTranspose(self.a_h, self.a_w, self.output_size),
                          gy)


class AdaptiveAvgPool2dTranspose(Function):
    """``gx = A_H^T gy A_W``: the gradient of ``y = A_H x A_W^T`` (``AdaptiveAvgPool2d``)
    with respect to ``x``, as its own op. Linear, the pooling's transpose, so its gradient
    is ``AdaptiveAvgPool2d(g)`` (PyTorch's ``_adaptive_avg_pool2d_backward`` formula):
    differentiable to any order."""

    saved_inputs = (None,)

    def __init__(self, a_h, a_w, output_size):
        self.a_h, self.a_w, self.output_size = a_h, a_w, output_size

    def forward(self, gy):
        return numpy.matmul(numpy.matmul(self.a_h.T, gy), self.a_w)

    def backward(self, g):
        return dual.apply(AdaptiveAvgPool2d(self.output_size), g)


def _max_along(x, bounds):
    """The maximum over each window ``bounds`` along the first axis of ``x`` (where each
    tap reads whole contiguous blocks) and the position of the winner: the first on ties,
    as PyTorch; a second, NaN-aware pass, only if a NaN came out, takes the last NaN."""
    y, pos = _max_pass(x, bounds, nan_aware=False)
    if numpy.isnan(y).any():
        y, pos = _max_pass(x, bounds, nan_aware=True)
    return y, pos


def _max_pass(x, bounds, nan_aware: bool):
    """One pass per tap; positions only grow from tap to tap, so the winner's position is
    ``max(pos, p * better)``."""
    start, end = bounds
    line = (-1,) + (1,) * (x.ndim - 1)
    y = x[start]
    pos = numpy.broadcast_to(start.reshape(line), y.shape).copy()
    better = numpy.empty(y.shape, bool)
    step = numpy.empty(y.shape, pos.dtype)
    for tap in range(1, int((end - start).max())):
        p = numpy.minimum(start + tap, end - 1)  # short windows repeat their last element
        v = x[p]
        numpy.greater(v, y, out=better)
        if nan_aware:
            better |= numpy.isnan(v)
            numpy.copyto(y, v, where=better)
        else:
            numpy.maximum(y, v, out=y)
        numpy.multiply(better, p.reshape(line), out=step)
        numpy.maximum(pos, step, out=pos)
    return y, pos


def _front(a, axis: int):
    """``a`` with ``axis`` moved to the front, as a contiguous copy."""
    return numpy.ascontiguousarray(numpy.moveaxis(a, axis, 0))


class AdaptiveMaxPool2d(Function):
    """``y[n, c, i, j] = max(x[n, c, h0(i):h1(i), w0(j):w1(j)])`` (see the module); ``gx``
    gets each ``gy`` at its window's maximum, summed where windows share it.

    The maximum over a rectangle is a maximum over each row's piece, then over the rows;
    taking the first row-wise winner on ties (the last NaN) gives PyTorch's winner: the
    first maximum in row-major order, or the last NaN. ``self.flat`` holds the winners'
    ``h W + w`` (PyTorch's ``return_indices``); ``gx = PoolScatter(gy)`` there, whose
    gradient is ``PoolGather`` (recorded with ``create_graph=True``; the second derivative
    with respect to ``x`` is 0).
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, x):
        self.x_shape = x.shape
        h, w = x.shape[-2:]
        oh, ow = self.output_size
        if oh * ow == 0:
            self.flat = numpy.zeros(x.shape[:-2] + (oh, ow), numpy.int64)
            return numpy.empty(self.flat.shape, x.dtype)
        if (oh, ow) == (1, 1):
            plane = x.reshape(x.shape[:-2] + (h * w,))
            flat = numpy.argmax(plane, axis=-1)[..., None]
            y = numpy.take_along_axis(plane, flat, axis=-1)
            nan = numpy.isnan(y)
            if nan.any():  # the last NaN, as PyTorch
                last = h * w - 1 - numpy.argmax(numpy.isnan(plane[..., ::-1]), axis=-1)
                flat = numpy.where(nan, last[..., None], flat)
            self.flat = flat.reshape(x.shape[:-2] + (1, 1))
            return y.reshape(self.flat.shape)
        rows_y, cols = _max_along(_front(x, -1), window_bounds(w, ow))  # (OW, ..., H)
        y, rows = _max_along(_front(rows_y, -1), window_bounds(h, oh))  # (OH, OW, ...)
        cols = numpy.take_along_axis(_front(cols, -1), rows, axis=0)
        self.flat = numpy.ascontiguousarray(numpy.moveaxis(rows * w + cols, (0, 1), (-2, -1)))
        return numpy.ascontiguousarray(numpy.moveaxis(y, (0, 1), (-2, -1)))

    def backward(self, gy):
        return dual.apply(PoolScatter(self.flat, self.x_shape), gy)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average pooling to a chosen output size: window i along an axis of N is
    ``floor(i N / O) <= n < ceil((i + 1) N / O)`` (see the module).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (OH, OW), or one int for both; a None entry keeps the input's size.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.adaptive_avg_pool2d(numnet.arange(6.0).reshape(1, 1, 1, 6), (1, 4))
        tensor([[[[0.5000, 1.5000, 3.5000, 4.5000]]]])
    """
    x = as_tensor(input)
    out = _check("adaptive_avg_pool2d", x, output_size)
    if out == (1, 1):
        return mean(x, (-2, -1), keepdim=True)
    kernel = _tiles(x, out)
    if kernel is not None:
        return avg_pool2d(x, kernel)
    return AdaptiveAvgPool2d(out)(x)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Max pooling to a chosen output size: window i along an axis of N is
    ``floor(i N / O) <= n < ceil((i + 1) N / O)`` (see the module).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: (OH, OW), or one int for both; a None entry keeps the input's size.
        return_indices: also return where each maximum is (int64 ``h * W + w``).

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype; with ``return_indices``
        the pair ``(output, indices)``.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[[1.0, 5.0, 2.0, 4.0, 3.0]]]])
        >>> F.adaptive_max_pool2d(x, (1, 3), return_indices=True)
        (tensor([[[[5., 5., 4.]]]]), tensor([[[[1, 1, 3]]]]))
    """
    x = as_tensor(input)
    out = _check("adaptive_max_pool2d", x, output_size)
    kernel = _tiles(x, out)
    if kernel is not None and out != (1, 1):
        return max_pool2d(x, kernel, return_indices=return_indices)
    function = AdaptiveMaxPool2d(out)
    y = function(x)
    if not return_indices:
        return y
    return y, Tensor(function.flat, _raw=True)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """1-D ``adaptive_avg_pool2d`` over the length L: (N, C, L) or (C, L) to (..., OL).

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.adaptive_avg_pool1d(numnet.tensor([[1.0, 2.0, 4.0]]), 2)
        tensor([[1.5000, 3.0000]])
    """
    size = single(output_size, "adaptive_avg_pool1d", "output_size")
    x = as_2d("adaptive_avg_pool1d", input)
    return squeeze(adaptive_avg_pool2d(x, (1, size)), -2)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """1-D ``adaptive_max_pool2d`` over the length L: (N, C, L) or (C, L) to (..., OL);
    the indices are positions in L.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.adaptive_max_pool1d(numnet.tensor([[1.0, 2.0, 4.0]]), 2)
        tensor([[2., 4.]])
    """
    size = single(output_size, "adaptive_max_pool1d", "output_size")
    x = as_2d("adaptive_max_pool1d", input)
    result = adaptive_max_pool2d(x, (1, size), return_indices)
    if not return_indices:
        return squeeze(result, -2)
    y, indices = result
    return squeeze(y, -2), Tensor(indices.data[..., 0, :], _raw=True)
