"""The geometry shared by convolution and pooling: F, S, P as pairs, the output size
``(N - F + 2P) / S + 1``, windows as strided views, padded copies and a scratch workspace.
"""

from __future__ import annotations

import math
import numbers
import threading

import numpy
from numpy.lib.stride_tricks import as_strided


def int_pair(value, name: str, minimum: int | None = None, error: type = ValueError,
             bound_error: type = ValueError) -> tuple:
    """``value``, an int or a pair of ints, as ``(for H, for W)``: F, S, P or an image size.

    Args:
        value: an int (used for both axes) or a sequence of two ints.
        name: what ``value`` is, first words of the error messages (``"conv2d: stride"``).
        minimum: when given, both numbers must be ``>= minimum``.
        error: the exception raised when ``value`` is not an int or a pair of ints (the
            ops in ``ops/`` raise TypeError, the layers and transforms ValueError).
        bound_error: the exception raised for a number below ``minimum`` (the ops raise
            RuntimeError, as PyTorch's do; the layers and transforms ValueError).

    Raises:
        ``error``: ``"{name} must be an int or a pair of ints, got {value!r}"``.
        ``bound_error``: ``"{name} must be >= {minimum}, got {value!r}"``.
    """
    if isinstance(value, numbers.Integral):
        return _at_least((int(value), int(value)), value, name, minimum, bound_error)
    try:
        pair = tuple(value)
    except TypeError:  # neither an int nor a sequence, e.g. a float
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) for v in pair):
        raise error(f"{name} must be an int or a pair of ints, got {value!r}")
    return _at_least((int(pair[0]), int(pair[1])), value, name, minimum, bound_error)


def _at_least(pair: tuple, value, name: str, minimum: int | None, error: type) -> tuple:
    if minimum is not None and min(pair) < minimum:
        raise error(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def _output_size(op: str, x_shape, kernel, stride, padding) -> tuple:
    """``(OH, OW) = floor((N - F + 2P) / S) + 1`` per axis; an error when one is <= 0."""
    h, w = x_shape[-2:]
    oh = (h - kernel[0] + 2 * padding[0]) // stride[0] + 1
    ow = (w - kernel[1] + 2 * padding[1]) // stride[1] + 1
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"{op}: output size ({oh}, {ow}) is not positive: input {tuple(x_shape)} has "
            f"spatial size ({h}, {w}), kernel {kernel}, stride {stride}, padding {padding}; "
            "(N - F + 2P) / S + 1 must be >= 1 along each axis")
    return oh, ow


def _windows(xp, kernel, stride, out_size, writeable: bool = False):
    """The view ``v[n, c, i, j, oh, ow] = xp[n, c, oh S_h + i, ow S_w + j]`` (no copy).

    ``out_size`` may exceed the true output width (the wide rows of stride 1): positions
    past the end of a row then read the start of the next one, which ``xp`` must hold.
    """
    sn, sc, sy, sx = xp.strides
    shape = xp.shape[:2] + tuple(kernel) + tuple(out_size)
    strides = (sn, sc, sy, sx, stride[0] * sy, stride[1] * sx)
    return as_strided(xp, shape, strides, writeable=writeable)


def _dilated_windows(xp, kernel, stride, out_size, dilation, writeable: bool = False):
    """``v[n, c, i, j, oh, ow] = xp[n, c, oh S_h + i D_h, ow S_w + j D_w]`` (no copy): the
    windows of ``_windows`` with their taps ``D`` apart (dilation; D = 1 is ``_windows``)."""
    sn, sc, sy, sx = xp.strides
    shape = xp.shape[:2] + tuple(kernel) + tuple(out_size)
    strides = (sn, sc, dilation[0] * sy, dilation[1] * sx, stride[0] * sy, stride[1] * sx)
    return as_strided(xp, shape, strides, writeable=writeable)


def _pad_into(x, shape, top: int, left: int, fill=0, scratch: bool = False):
    """An array of ``shape`` filled with ``fill``, with ``x`` placed at ``(top, left)``.

    The part of ``x`` that falls outside (negative offsets, or past the end) is dropped.
    ``scratch=True`` takes the array from the workspace (give it back when done).
    """
    if scratch:
        out = _workspace.take(shape, x.dtype)
    else:
        out = numpy.empty(shape, x.dtype)
    h, w = x.shape[-2:]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = max(min(top + h, shape[-2]), y0), max(min(left + w, shape[-1]), x0)
    out[..., :y0, :] = fill
    out[..., y1:, :] = fill
    out[..., y0:y1, :x0] = fill
    out[..., y0:y1, x1:] = fill
    out[..., y0:y1, x0:x1] = x[..., y0 - top:y1 - top, x0 - left:x1 - left]
    return out


class _Workspace(threading.local):
    """Scratch matrices of 1 MiB and more, reused from one conv2d call to the next.

    NOTE: every page of a fresh large array costs a page fault, and the kernel zeroes it
    first: for the column matrices (tens of MB per layer) that was 10-15% of a forward +
    backward. Matrices conv2d is done with wait here (up to ``limit`` bytes, one set per
    thread); ``take`` hands out the smallest that fits, unless it is over 4x too large, and
    makes new ones in sizes of 2 ** k or 1.5 * 2 ** k bytes (``_size_class``), so that
    requests of near sizes (the columns of forward and backward, of neighbouring layers)
    share buffers instead of each keeping its own. Only arrays that never leave conv2d (the
    columns, the padded copies, the GEMM outputs) go through here, and each goes back
    exactly once, when nothing uses it any more.
    """

    minimum = 2 ** 20
    limit = 2 ** 28

    def __init__(self):
        self.free = []

    def take(self, shape, dtype):
        """An uninitialised C-contiguous array of ``shape`` and ``dtype``."""
        dtype = numpy.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        fits = [b for b in self.free if nbytes <= b.nbytes <= 4 * nbytes]
        if nbytes < self.minimum:
            fits = []
        if fits:
            buffer = min(fits, key=lambda b: b.nbytes)
            self.free = [b for b in self.free if b is not buffer]
        elif nbytes < self.minimum:
            buffer = numpy.empty(nbytes, numpy.uint8)
        else:
            buffer = numpy.empty(_size_class(nbytes), numpy.uint8)
        return buffer[:nbytes].view(dtype).reshape(shape)

    def give(self, array) -> None:
        """Return an array from ``take`` (nothing may use it afterwards); None is ignored."""
        if array is None:
            return
        root = array
        while isinstance(root.base, numpy.ndarray):
            root = root.base
        if root.dtype != numpy.uint8 or root.nbytes < self.minimum:
            return
        if any(b is root for b in self.free):
            return
        self.free.append(root)
        while sum(b.nbytes for b in self.free) > self.limit:
            self.free.pop(0)


_workspace = _Workspace()


def _size_class(nbytes: int) -> int:
    """The smallest ``2 ** k`` or ``1.5 * 2 ** k`` bytes holding ``nbytes`` (at most 50%
    more; ``_Workspace`` makes its buffers in these sizes).

    Example:
        >>> [_size_class(n) for n in (1024, 1025, 1536, 1537)]
        [1024, 1536, 1536, 2048]
    """
    power = 1 << (nbytes - 1).bit_length()  # the smallest power of two >= nbytes
    return power * 3 // 4 if power * 3 // 4 >= nbytes else power


def _check_input(op: str, x, extra: str = "") -> None:
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                           f"got shape {tuple(x.shape)}{extra}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}")
