"""Pooling over NCHW batches: ``max_pool2d avg_pool2d`` (the lecture's subsampling) with
PyTorch's options (the 1-D forms, on top of these, are in ``ops/pool1d.py``).

Output size per spatial axis, for an input of size N, kernel F, stride S, padding P and
dilation D (the gap between a window's taps; 1 for average pooling)::

    O = floor((N + 2P - D (F - 1) - 1) / S) + 1     (ceil_mode=False: the lecture's
                                                    (N - F + 2P) / S + 1 when D = 1)
    O = ceil((N + 2P - D (F - 1) - 1) / S) + 1      (ceil_mode=True)

and with ``ceil_mode`` one less when the last window would start past the input and its
left padding (``(O - 1) S >= N + P``), as PyTorch does. Padding may be at most half the
kernel. Each op takes one vectorised pass per kernel tap, over cache-sized pieces of the
batch spread over the threads (``numnet.backend.map_batch``); max pooling keeps the tap of
each window's maximum (first one on ties, like PyTorch) for backward. ``_max_pool_chunk``
and ``_max_pool_grad_chunk`` also serve the fused ``conv2d_relu`` (``ops/conv_relu.py``).

Double backward (``create_graph=True``): each gradient is an op of its own whose gradient is
its partner op, so the chain is differentiable to any order. Max pooling's ``gx`` is
``PoolScatter`` (``gy`` added at each window's maximum), whose gradient is ``PoolGather``
(the values at the same places), and back; both serve every max-type op (``conv2d_relu``'s
pooling, ``adaptive_max_pool2d``, ``max_unpool2d``). Average pooling is linear: its ``gx``
is ``AvgPool2dTranspose``, whose gradient is the average pooling again.
"""

from __future__ import annotations

import math
import numbers

import numpy

from numnet.autograd import Function
from numnet.backend import map_batch
from numnet.ops import dual
from numnet.ops._grid import _check_input, _dilated_windows, _pad_into, int_pair
from numnet.ops._util import as_tensor
from numnet.tensor import Tensor


def pool_output_size(n: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """The output size of a pooling along one axis (PyTorch's ``pooling_output_shape``).

    Example:
        >>> pool_output_size(5, 2, 2, 0), pool_output_size(5, 2, 2, 0, ceil_mode=True)
        (2, 3)
    """
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


def _check_padding(op: str, shape, kernel, padding, dilation) -> None:
    """PyTorch's two rules: P at most half the effective kernel D (F - 1) + 1, and at most
    half the kernel F."""
    where = f" (padding {padding}, input {tuple(shape)})"
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, "
                               f"but got pad={p}, kernel_size={k} and dilation={d}{where}")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"{op}: pad should be smaller than or equal to half of kernel "
                           f"size, but got padW = {padding[1]}, padH = {padding[0]}, "
                           f"kW = {kernel[1]}, kH = {kernel[0]}{where}")


class _Pool2d(Function):
    """Shared set-up of the pooling ops: F, S (default F), P and D as pairs, ceil_mode, 3-D
    (unbatched) inputs, and the padded input the windows are views of."""

    op = "pool2d"
    fill = 0.0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        self.kernel = int_pair(kernel_size, f"{self.op}: kernel_size", 1, TypeError,
                               RuntimeError)
        no_stride = stride is None or (not isinstance(stride, numbers.Integral)
                                       and len(stride) == 0)
        if no_stride:
            self.stride = self.kernel
        else:
            self.stride = int_pair(stride, f"{self.op}: stride", None, TypeError)
        self.padding = int_pair(padding, f"{self.op}: padding", None, TypeError)
        self.dilation = int_pair(dilation, f"{self.op}: dilation", None, TypeError)
        self.ceil_mode = bool(ceil_mode)
        if 0 in self.stride:
            raise RuntimeError(f"{self.op}: stride should not be zero")
        if min(self.stride) < 0:
            raise RuntimeError(f"{self.op}: stride should be greater than zero, but got "
                               f"dH: {self.stride[0]} dW: {self.stride[1]}")
        if min(self.padding) < 0:
            raise RuntimeError(f"{self.op}: pad must be non-negative, but got pad: "
                               f"{min(self.padding)}")
        if min(self.dilation) <= 0:
            raise RuntimeError(f"{self.op}: dilation should be greater than zero, but got "
                               f"dilationH: {self.dilation[0]} dilationW: {self.dilation[1]}")

    def output_size(self, x_shape) -> tuple:
        """Check an input's shape and the padding; return ``(OH, OW)`` (see the module)."""
        _check_padding(self.op, x_shape, self.kernel, self.padding, self.dilation)
        h, w = x_shape[-2:]
        oh, ow = (pool_output_size(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in
                  zip((h, w), self.kernel, self.stride, self.padding, self.dilation))
        if oh <= 0 or ow <= 0:
            c = x_shape[-3]
            raise RuntimeError(
                f"{self.op}: Given input size: ({c}x{h}x{w}). Calculated output size: "
                f"({c}x{oh}x{ow}). Output size is too small (input {tuple(x_shape)}, "
                f"kernel_size {self.kernel}, stride {self.stride}, padding {self.padding}, "
                f"dilation {self.dilation}, ceil_mode={self.ceil_mode})")
        return oh, ow

    def _padded(self, x):
        """``x`` as 4-D and padded with ``fill`` (P on each side, more at the bottom and
        right where ceil_mode's last window runs past), and the output size ``(OH, OW)``."""
        _check_input(self.op, x)
        oh, ow = self.output_size(x.shape)
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        (ph, pw), (kh, kw), (dh, dw) = self.padding, self.kernel, self.dilation
        n, c, h, w = x.shape
        hp = max(h + 2 * ph, (oh - 1) * self.stride[0] + dh * (kh - 1) + 1)
        wp = max(w + 2 * pw, (ow - 1) * self.stride[1] + dw * (kw - 1) + 1)
        if (hp, wp) != (h, w):
            x = _pad_into(x, (n, c, hp, wp), ph, pw, fill=self.fill)
        self.shapes = ((n, c, h, w), x.shape)
        return x, (oh, ow)

    def _view(self, xp, out_size, writeable: bool = False):
        """The windows ``(N, C, F_h, F_w, OH, OW)`` of the padded ``xp`` (a view)."""
        return _dilated_windows(xp, self.kernel, self.stride, out_size, self.dilation,
                                writeable)

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
        return (self.stride == self.kernel and self.dilation == (1, 1)
                and oh * self.kernel[0] == hp and ow * self.kernel[1] == wp)

    def _gradient_windows(self, dtype):
        """A zero gradient of the padded input and its windows."""
        gxp = numpy.zeros(self.shapes[1], dtype=dtype)
        return gxp, self._view(gxp, self.y_shape[-2:], writeable=True)


class MaxPool2d(_Pool2d):
    """``y[n, c, oh, ow] = max_{i, j} x_pad[n, c, oh S_h + i D_h, ow S_w + j D_w]`` (pad:
    -inf).

    ``gx`` routes each ``gy`` to the element that was the maximum of its window (the first
    one in row-major order on ties, like PyTorch; a NaN counts as the maximum and makes the
    output NaN); where windows overlap an element collects the sum over every window it won.
    ``flat_indices()`` gives PyTorch's ``return_indices``. Recorded (``create_graph=True``),
    ``gx = PoolScatter(gy)`` at those places: a function of ``gy`` alone (the winners are
    constants), so the second derivative with respect to ``x`` is 0, as in PyTorch.
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)
    op = "max_pool2d"
    fill = -numpy.inf

    def forward(self, x):
        xp, (oh, ow) = self._padded(x)
        y = numpy.empty(xp.shape[:2] + (oh, ow), x.dtype)
        index = numpy.empty(y.shape, _index_dtype(self.kernel))

        def run(start, stop):
            _max_pool_chunk(xp[start:stop], self.kernel, self.stride, y[start:stop],
                            index[start:stop], self.dilation)

        map_batch(run, xp.shape[0], math.prod(xp.shape[1:]))
        self.y_shape = y.shape
        if self.shapes[0] != self.shapes[1]:
            self._first_inside(y, index)
        self.index = index
        return y[0] if self.unbatched else y

    def _taps(self, axis: int) -> tuple:
        """Per output position along ``axis`` (0: H, 1: W): where its window starts in the
        input (negative in the padding), and which of its taps is the first inside."""
        k, s = self.kernel[axis], self.stride[axis]
        p, d = self.padding[axis], self.dilation[axis]
        start = numpy.arange(self.y_shape[2 + axis]) * s - p
        first = (numpy.maximum(-start, 0) + d - 1) // d
        return start, numpy.minimum(first, k - 1)

    def _first_inside(self, y, index) -> None:
        """Where a window holds only -inf, name its first tap inside the input, as PyTorch
        does (the padding's -inf would tie with it and win as the earlier tap)."""
        lost = numpy.isneginf(y)
        if not lost.any():
            return
        _, first_i = self._taps(0)
        _, first_j = self._taps(1)
        first = first_i[:, None] * self.kernel[1] + first_j[None, :]
        numpy.copyto(index, numpy.broadcast_to(first.astype(index.dtype), index.shape),
                     where=lost)

    def flat_indices(self) -> numpy.ndarray:
        """int64 ``ih W + iw``: where in its (unpadded) input plane each maximum lies."""
        flat = window_flat_indices(self.index, self.kernel, self.stride, self.shapes[0][3],
                                   self.padding, self.dilation)
        return flat[0] if self.unbatched else flat

    def backward(self, gy):
        if dual.is_graph(gy):  # recorded: PoolScatter, differentiable again
            x_shape = self.shapes[0][1:] if self.unbatched else self.shapes[0]
            return dual.apply(PoolScatter(self.flat_indices(), x_shape), gy)
        if self.unbatched:
            gy = gy[None]
        zero = _overlap(self.kernel, self.stride, self.dilation) or not self._covers()
        gxp = numpy.empty(self.shapes[1], dtype=gy.dtype)

        def run(start, stop):
            _max_pool_grad_chunk(gy[start:stop], self.index[start:stop], self.kernel,
                                 self.stride, gxp[start:stop], zero, self.dilation)

        map_batch(run, gy.shape[0], math.prod(gxp.shape[1:]))
        return self._unpad(gxp)


class ReLUMaxPool2d(MaxPool2d):
    """``y = max_pool2d(relu(x))`` for windows side by side (stride = kernel, no padding),
    as one op: the pooling first and the ReLU on the window maxima after (max and
    ``max(0, .)`` commute), so the ReLU's full-size output is never made or stored.

    Backward: ``gy`` where ``y > 0`` (the ReLU's mask at each window's maximum), routed to
    that maximum as ``max_pool2d``'s backward does; where a window is <= 0 the winner may
    differ from the separate ops' (the ReLU makes it all ties at 0), but the mask stops the
    gradient there. ``nn.Sequential`` runs ``ReLU, MaxPool2d`` this way (``nn/fusion.py``).
    """

    def forward(self, x):
        y = super().forward(x)
        numpy.maximum(y, 0, out=y)
        self.y = y
        return y

    def backward(self, gy):
        if dual.is_graph(gy):  # the mask is a constant: the ReLU's second derivative is 0
            return super().backward(dual.where(self.y > 0, gy, 0))
        return super().backward(gy * (self.y > 0))


def relu_max_pool2d(input, kernel_size):  # noqa: A002
    """``max_pool2d(relu(input), kernel_size)`` (stride = kernel, no padding) in one pass
    (``ReLUMaxPool2d``): the result and gradients of the separate ops, without the ReLU's
    output.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.relu_max_pool2d(numnet.tensor([[[[-1.0, -2.0], [-3.0, -4.0]]]]), 2)
        tensor([[[[0.]]]])
    """
    return ReLUMaxPool2d(kernel_size)(as_tensor(input))


def window_flat_indices(index, kernel, stride, width: int, padding=(0, 0),
                        dilation=(1, 1)) -> numpy.ndarray:
    """int64 ``ih W + iw`` of each window's maximum, from its offset ``index = i F_w + j``
    (..., OH, OW) in the window: ``ih = oh S_h - P_h + i D_h``, ``iw = ow S_w - P_w + j D_w``
    for an input plane of ``width`` W.

    Example:
        >>> window_flat_indices(numpy.array([[[[3, 0]]]]), (2, 2), (2, 2), 4).tolist()
        [[[[5, 2]]]]
    """
    oh, ow = index.shape[-2:]
    start_h = numpy.arange(oh) * stride[0] - padding[0]
    start_w = numpy.arange(ow) * stride[1] - padding[1]
    i, j = numpy.divmod(index.astype(numpy.int64), kernel[1])
    ih = start_h[:, None] + i * dilation[0]
    iw = start_w[None, :] + j * dilation[1]
    return ih * width + iw


class PoolScatter(Function):
    """``y = zeros(shape)`` with each ``x[..., oh, ow]`` added at ``flat[..., oh, ow] = h W +
    w`` of its plane (``y`` is (..., H, W), ``x`` and ``flat`` (..., OH, OW)): the gradient
    of a max-type pooling (``gy`` to each window's maximum, summed where windows share it)
    as its own op. Linear, with ``gx = PoolGather(gy)``: the values at the same places."""

    saved_inputs = (None,)

    def __init__(self, flat, shape):
        self.flat, self.shape = flat, tuple(shape)

    def forward(self, x):
        plane = self.shape[-2] * self.shape[-1]
        planes = math.prod(self.shape[:-2])
        offsets = (numpy.arange(planes) * plane).reshape(self.flat.shape[:-2] + (1, 1))
        y = numpy.bincount((self.flat + offsets).ravel(), weights=x.ravel(),
                           minlength=planes * plane)
        return y.astype(x.dtype, copy=False).reshape(self.shape)

    def backward(self, gy):
        return dual.apply(PoolGather(self.flat, self.shape), gy)


class PoolGather(Function):
    """``y[..., oh, ow] = x[..., h, w]`` for ``flat[..., oh, ow] = h W + w`` (``x`` has
    ``shape`` (..., H, W), ``y`` ``flat``'s shape): the gradient of ``max_unpool2d``, and of
    ``PoolScatter``. Linear, with ``gx = PoolScatter(gy)``."""

    saved_inputs = (None,)

    def __init__(self, flat, shape):
        self.flat, self.shape = flat, tuple(shape)

    def forward(self, x):
        lead = self.flat.shape[:-2]
        planes = x.reshape(lead + (-1,))
        y = numpy.take_along_axis(planes, self.flat.reshape(lead + (-1,)), axis=-1)
        return y.reshape(self.flat.shape)

    def backward(self, gy):
        return dual.apply(PoolScatter(self.flat, self.shape), gy)


def _index_dtype(kernel):
    """The smallest dtype for a window offset ``i F_w + j`` of a max pooling."""
    return numpy.uint8 if kernel[0] * kernel[1] <= 256 else numpy.int32


def _overlap(kernel, stride, dilation=(1, 1)) -> bool:
    """Whether windows may share elements: a stride below the effective kernel D (F-1) + 1."""
    return any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _max_pool_chunk(xp, kernel, stride, y, index, dilation=(1, 1)) -> None:
    """Max-pool ``xp`` (m, C, H, W; already padded) into ``y`` and the winners' offsets
    ``index`` (both (m, C, OH, OW)); a second, NaN-aware pass only if a NaN came out."""
    windows = _dilated_windows(xp, kernel, stride, y.shape[-2:], dilation)
    _window_max(windows, y, index, nan_aware=False)
    if numpy.isnan(y).any():
        _window_max(windows, y, index, nan_aware=True)


def _max_pool_grad_chunk(gy, index, kernel, stride, gx, zero: bool,
                         dilation=(1, 1)) -> None:
    """Write to ``gx`` (m, C, H, W) the gradient of a max pooling: each ``gy`` goes to the
    element its window's ``index`` names; where windows overlap the shares add up.

    ``zero=False`` is for windows that tile ``gx`` exactly (every element written once).
    """
    kh, kw = kernel
    overlap = _overlap(kernel, stride, dilation)
    if zero:
        gx[...] = 0
    windows = _dilated_windows(gx, kernel, stride, gy.shape[-2:], dilation, writeable=True)
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
    """``y[n, c, oh, ow] = 1/d[oh, ow] sum_{i, j} x_pad[n, c, oh S_h + i, ow S_w + j]``.

    The divisor ``d`` is ``divisor_override`` when given; else the window's size clipped to
    the padded input (PyTorch's ``count_include_pad=True``, the default: ``F_h F_w`` unless
    ceil_mode's last window runs past the padding), or only the input elements it holds
    (``count_include_pad=False``). ``gx = AvgPool2dTranspose(gy)`` spreads ``gy / d``
    evenly over each window, summing where they overlap (recorded with ``create_graph=True``:
    its gradient is this pooling again).
    """

    saved_inputs = (None,)
    masks_from = (("input", 0),)  # PyTorch keeps this edge (zero derivative)
    op = "avg_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        if divisor_override is not None:
            if not isinstance(divisor_override, numbers.Integral):
                raise TypeError(f"{self.op}: divisor_override must be an int, got "
                                f"{divisor_override!r}")
            if divisor_override == 0:
                raise RuntimeError(f"{self.op}: divisor must be not zero")
            divisor_override = int(divisor_override)
        self.divisor_override = divisor_override

    def forward(self, x):
        xp, out_size = self._padded(x)
        windows = self._view(xp, out_size)
        kh, kw = self.kernel
        y = windows[:, :, 0, 0].copy()
        for offset in range(1, kh * kw):
            y += windows[:, :, offset // kw, offset % kw]
        self.y_shape = y.shape
        self.divisor = self._divisor(y.dtype)
        y /= self.divisor
        return y[0] if self.unbatched else y

    def _divisor(self, dtype):
        """``F_h F_w`` (an int) when every window counts fully, else ``d`` as (OH, OW)."""
        if self.divisor_override is not None:
            return self.divisor_override
        (_, _, h, w), _ = self.shapes
        counts = [_window_counts(n, k, s, p, o, self.count_include_pad) for n, k, s, p, o in
                  zip((h, w), self.kernel, self.stride, self.padding, self.y_shape[-2:])]
        if all((c == k).all() for c, k in zip(counts, self.kernel)):
            return self.kernel[0] * self.kernel[1]
        return numpy.multiply.outer(counts[0], counts[1]).astype(dtype)

    def backward(self, gy):
        return dual.apply(AvgPool2dTranspose(self), gy)


class AvgPool2dTranspose(_Pool2d):
    """``gx = AvgPool2dTranspose(pool)(gy)``: the gradient of ``y = avg_pool2d(x)`` (the
    ``AvgPool2d`` ``pool``, after its forward) with respect to ``x``:
    ``gx_pad[n, c, oh S_h + i, ow S_w + j] += gy[n, c, oh, ow] / d[oh, ow]``, the padding
    cropped off.

    Linear, the pooling's transpose: ``<v, AvgPool2dTranspose(gy)> = <avg_pool2d(v), gy>``,
    so its gradient is ``avg_pool2d(g)`` with the same options, whose gradient is this op
    again: differentiable to any order (PyTorch's ``avg_pool2d_backward`` formula).
    """

    saved_inputs = (None,)
    _copied = ("kernel", "stride", "padding", "dilation", "ceil_mode", "count_include_pad",
               "divisor_override", "shapes", "y_shape", "unbatched", "divisor")

    def __init__(self, pool: AvgPool2d):
        for name in self._copied:  # copies: the pool's release() after backward clears them
            setattr(self, name, getattr(pool, name))

    def forward(self, gy):
        if self.unbatched:
            gy = gy[None]
        kh, kw = self.kernel
        g = gy / self.divisor
        gxp, windows = self._gradient_windows(gy.dtype)
        for offset in range(kh * kw):
            windows[:, :, offset // kw, offset % kw] += g
        return self._unpad(gxp)

    def backward(self, g):
        pool = AvgPool2d(self.kernel, self.stride, self.padding, self.ceil_mode,
                         self.count_include_pad, self.divisor_override)
        return dual.apply(pool, g)


def _window_counts(n, k, s, p, out, include_pad: bool):
    """Per window along one axis, how many elements it averages: PyTorch's
    ``min(start + F, N + P) - start`` (padding counted), or the input elements only."""
    start = numpy.arange(out) * s - p
    end = numpy.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return numpy.minimum(end, n) - numpy.maximum(start, 0)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """Max pooling: the largest value of each F x F window (the lecture's subsampling).

    Output size per spatial axis: ``floor((N + 2P - D (F - 1) - 1) / S) + 1`` (ceil with
    ``ceil_mode``; see the module); padding adds -inf, so it is never the maximum, and may
    be at most half the kernel (as in PyTorch).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: F, an int or a pair (F_h, F_w).
        stride: S, an int or a pair; defaults to ``kernel_size`` (windows side by side).
        padding: P, an int or a pair.
        dilation: D, the step between a window's taps, an int or a pair.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return where each maximum is.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype; with ``return_indices``
        the pair ``(output, indices)``, indices int64 ``ih * W + iw`` into each input plane
        (what ``max_unpool2d`` takes).

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.arange(16.0).reshape(1, 1, 4, 4)
        >>> F.max_pool2d(x, 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
        >>> F.max_pool2d(x, 3, 2, ceil_mode=True, return_indices=True)[1]
        tensor([[[[10, 11],
                  [14, 15]]]])
    """
    function = MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode)
    y = function(as_tensor(input))
    if not return_indices:
        return y
    return y, Tensor(function.flat_indices(), _raw=True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """Average pooling: the mean of each F x F window, padding zeros included by default.

    Output size per spatial axis: ``floor((N + 2P - F) / S) + 1`` (ceil with ``ceil_mode``;
    see the module); padding may be at most half the kernel (as in PyTorch).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: F, an int or a pair (F_h, F_w).
        stride: S, an int or a pair; defaults to ``kernel_size``.
        padding: P, an int or a pair.
        ceil_mode: round the output size up (a last, partial window).
        count_include_pad: count the padding zeros in the divisor.
        divisor_override: divide every window's sum by this instead.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.arange(16.0).reshape(1, 1, 4, 4)
        >>> F.avg_pool2d(x, 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
        >>> F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)
        tensor([[[[ 2.5000,  4.0000],
                  [ 8.5000, 10.0000]]]])
    """
    function = AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override)
    return function(as_tensor(input))
