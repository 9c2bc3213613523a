"""Pooling over NCHW batches: ``max_pool2d avg_pool2d`` (the lecture's subsampling).

Each takes one vectorised pass per kernel offset, over cache-sized pieces of the batch
spread over the threads (``numnet.backend.map_batch``); max pooling keeps the offset of
each window's maximum (first one on ties, like PyTorch) for backward. ``_max_pool_chunk``
and ``_max_pool_grad_chunk`` also serve the fused ``conv2d_relu`` (``ops/conv_relu.py``).
"""

from __future__ import annotations

import math
import numbers

import numpy

from numnet.autograd import Function
from numnet.backend import map_batch
from numnet.ops._grid import _check_input, _output_size, _pad_into, _windows, int_pair
from numnet.ops._util import as_tensor


def _pool_geometry(op: str, x, kernel, stride, padding) -> tuple:
    """Check a pooling input and return ``(OH, OW)``; padding is at most half the kernel."""
    _check_input(op, x)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"{op}: padding {padding} should be at most half of kernel_size "
                           f"{kernel} (input {tuple(x.shape)})")
    return _output_size(op, x.shape, kernel, stride, padding)


class _Pool2d(Function):
    """Shared set-up of the pooling ops: F, S (default F) and P as pairs, 3-D inputs."""

    op = "pool2d"
    fill = 0.0

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel = int_pair(kernel_size, f"{self.op}: kernel_size", 1, TypeError)
        no_stride = stride is None or (not isinstance(stride, numbers.Integral)
                                       and len(stride) == 0)
        if no_stride:
            self.stride = self.kernel
        else:
            self.stride = int_pair(stride, f"{self.op}: stride", 1, TypeError)
        self.padding = int_pair(padding, f"{self.op}: padding", 0, TypeError)

    def _padded(self, x):
        """``x`` as 4-D and padded with ``fill``, and the output size ``(OH, OW)``."""
        out_size = _pool_geometry(self.op, x, self.kernel, self.stride, self.padding)
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        (ph, pw) = self.padding
        n, c, h, w = x.shape
        if ph or pw:
            x = _pad_into(x, (n, c, h + 2 * ph, w + 2 * pw), ph, pw, fill=self.fill)
        self.shapes = ((n, c, h, w), x.shape)
        return x, out_size

    def _padded_windows(self, x):
        """``x`` as 4-D, padded with ``fill``, and its windows ``(N, C, F_h, F_w, OH, OW)``."""
        xp, out_size = self._padded(x)
        return _windows(xp, self.kernel, self.stride, out_size)

    def _unpad(self, gxp):
        """Crop the padding off a gradient of the padded input; drop the added batch axis."""
        (n, c, h, w), _ = self.shapes
        ph, pw = self.padding
        gx = gxp[:, :, ph:ph + h, pw:pw + w]
        return gx[0] if self.unbatched else gx

    def _covers(self) -> bool:
        """True when the windows tile the (padded) input exactly: every element in one."""
        _, (_, _, hp, wp) = self.shapes
        oh, ow = self.y_shape[-2:]
        return (self.stride == self.kernel and oh * self.kernel[0] == hp
                and ow * self.kernel[1] == wp)

    def _gradient_windows(self, dtype):
        """A zero gradient of the padded input and its windows."""
        gxp = numpy.zeros(self.shapes[1], dtype=dtype)
        out_size = self.y_shape[-2:]
        return gxp, _windows(gxp, self.kernel, self.stride, out_size, writeable=True)


class MaxPool2d(_Pool2d):
    """``y[n, c, oh, ow] = max_{i, j} x_pad[n, c, oh S_h + i, ow S_w + j]`` (pad: -inf).

    ``gx`` routes each ``gy`` to the element that was the maximum of its window (the first
    one in row-major order on ties, like PyTorch; a NaN counts as the maximum and makes the
    output NaN); where windows overlap (stride < kernel) an element collects the sum over
    every window it won.
    """

    op = "max_pool2d"
    fill = -numpy.inf

    def forward(self, x):
        xp, (oh, ow) = self._padded(x)
        y = numpy.empty(xp.shape[:2] + (oh, ow), x.dtype)
        index = numpy.empty(y.shape, _index_dtype(self.kernel))

        def run(start, stop):
            _max_pool_chunk(xp[start:stop], self.kernel, self.stride, y[start:stop],
                            index[start:stop])

        map_batch(run, xp.shape[0], math.prod(xp.shape[1:]))
        self.index = index
        self.y_shape = y.shape
        return y[0] if self.unbatched else y

    def backward(self, gy):
        if self.unbatched:
            gy = gy[None]
        kh, kw = self.kernel
        overlap = self.stride[0] < kh or self.stride[1] < kw
        zero = overlap or not self._covers()
        gxp = numpy.empty(self.shapes[1], dtype=gy.dtype)

        def run(start, stop):
            _max_pool_grad_chunk(gy[start:stop], self.index[start:stop], self.kernel,
                                 self.stride, gxp[start:stop], zero)

        map_batch(run, gy.shape[0], math.prod(gxp.shape[1:]))
        return self._unpad(gxp)


def _index_dtype(kernel):
    """The smallest dtype for a window offset ``i F_w + j`` of a max pooling."""
    return numpy.uint8 if kernel[0] * kernel[1] <= 256 else numpy.int32


def _max_pool_chunk(xp, kernel, stride, y, index) -> None:
    """Max-pool ``xp`` (m, C, H, W; already padded) into ``y`` and the winners' offsets
    ``index`` (both (m, C, OH, OW)); a second, NaN-aware pass only if a NaN came out."""
    windows = _windows(xp, kernel, stride, y.shape[-2:])
    _window_max(windows, y, index, nan_aware=False)
    if numpy.isnan(y).any():
        _window_max(windows, y, index, nan_aware=True)


def _max_pool_grad_chunk(gy, index, kernel, stride, gx, zero: bool) -> None:
    """Write to ``gx`` (m, C, H, W) the gradient of a max pooling: each ``gy`` goes to the
    element its window's ``index`` names; where windows overlap the shares add up.

    ``zero=False`` is for windows that tile ``gx`` exactly (every element written once).
    """
    kh, kw = kernel
    overlap = stride[0] < kh or stride[1] < kw
    if zero:
        gx[...] = 0
    windows = _windows(gx, kernel, stride, gy.shape[-2:], writeable=True)
    hit = numpy.empty(index.shape, bool)
    for offset in range(kh * kw):
        target = windows[:, :, offset // kw, offset % kw]
        numpy.equal(index, offset, out=hit)
        if overlap:
            target += gy * hit
        else:  # each element lies in one window at most
            numpy.multiply(gy, hit, out=target)


def _window_max(windows, y, index, nan_aware: bool) -> None:
    """Write the maximum of each window to ``y`` and its offset ``i F_w + j`` (the first
    one on ties) to ``index``.

    One pass per kernel offset, in row-major order: an offset takes over only where it is
    strictly greater, so ties keep the first maximum. Offsets grow, so the index update is
    ``index = max(index, offset * better)``. ``nan_aware`` also lets a NaN take over, as
    PyTorch does (a second pass, run only when the output holds a NaN).
    """
    kh, kw = windows.shape[2:4]
    numpy.copyto(y, windows[:, :, 0, 0])
    index[...] = 0
    better = numpy.empty(y.shape, bool)
    # NOTE: bool times uint8 runs a slow casting loop; the same bytes seen as uint8 run
    # NumPy's vector loop (3x faster)
    flags = better.view(numpy.uint8) if index.dtype == numpy.uint8 else better
    step = numpy.empty(y.shape, index.dtype)
    for offset in range(1, kh * kw):
        v = windows[:, :, offset // kw, offset % kw]
        numpy.greater(v, y, out=better)
        if nan_aware:
            better |= numpy.isnan(v)
            numpy.copyto(y, v, where=better)
        else:
            numpy.maximum(y, v, out=y)
        numpy.multiply(flags, index.dtype.type(offset), out=step)
        numpy.maximum(index, step, out=index)


class AvgPool2d(_Pool2d):
    """``y[n, c, oh, ow] = 1/(F_h F_w) sum_{i, j} x_pad[n, c, oh S_h + i, ow S_w + j]``.

    The padding zeros count in the average (PyTorch's default ``count_include_pad=True``).
    ``gx`` spreads ``gy / (F_h F_w)`` evenly over each window, summing where they overlap.
    """

    op = "avg_pool2d"

    def forward(self, x):
        windows = self._padded_windows(x)
        kh, kw = self.kernel
        y = windows[:, :, 0, 0].copy()
        for offset in range(1, kh * kw):
            y += windows[:, :, offset // kw, offset % kw]
        y /= kh * kw
        self.y_shape = y.shape
        return y[0] if self.unbatched else y

    def backward(self, gy):
        if self.unbatched:
            gy = gy[None]
        kh, kw = self.kernel
        g = gy / (kh * kw)
        gxp, windows = self._gradient_windows(gy.dtype)
        for offset in range(kh * kw):
            windows[:, :, offset // kw, offset % kw] += g
        return self._unpad(gxp)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling: the largest value of each F x F window (the lecture's subsampling).

    Output size per spatial axis: ``floor((N - F + 2P) / S) + 1``; padding adds -inf, so it
    is never the maximum, and may be at most half the kernel (as in PyTorch).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        kernel_size: F, an int or a pair (F_h, F_w).
        stride: S, an int or a pair; defaults to ``kernel_size`` (windows side by side).
        padding: P, an int or a pair.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.arange(16.0).reshape(1, 1, 4, 4)
        >>> F.max_pool2d(x, 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return MaxPool2d(kernel_size, stride, padding)(as_tensor(x))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling: the mean of each F x F window, padding zeros included.

    Output size per spatial axis: ``floor((N - F + 2P) / S) + 1``; padding may be at most
    half the kernel (as in PyTorch).

    Args:
        x: input (N, C, H, W) or (C, H, W).
        kernel_size: F, an int or a pair (F_h, F_w).
        stride: S, an int or a pair; defaults to ``kernel_size``.
        padding: P, an int or a pair.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.arange(16.0).reshape(1, 1, 4, 4)
        >>> F.avg_pool2d(x, 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    return AvgPool2d(kernel_size, stride, padding)(as_tensor(x))
