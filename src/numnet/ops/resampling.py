"""Where each output pixel of a resize reads the input, per spatial axis: the taps and
weights of ``interpolate``'s modes (``ops/interpolate.py``), computed as PyTorch's CPU kernels
compute them, so that the same pixels are picked.

Along an axis of input size ``n_in`` and output size ``n_out``, output pixel ``o`` is a
weighted sum of a few input pixels, ``y[o] = sum_t w[o, t] x[index[o, t]]`` (a
``Resampling``): 1 tap for nearest (weight 1), 2 for linear, 4 for cubic. With
``ratio = n_in / n_out`` (or ``1 / scale_factor`` when a scale factor was given), the source
position of output pixel ``o`` is:

- ``nearest``: ``floor(o * ratio)`` (OpenCV's INTER_NEAREST; for 2-D input ``o`` itself
  when ``n_out = n_in`` and ``o // 2`` when ``n_out = 2 n_in``, as PyTorch);
- ``nearest-exact``: ``floor((o + 0.5) * ratio)`` (Pillow, scikit-image), the nearest
  pixel centre;
- ``linear``: ``x = (o + 0.5) * ratio - 0.5`` clamped at 0 (pixel centres line up), or
  with ``align_corners=True`` ``x = o * (n_in - 1) / (n_out - 1)`` (corner pixels line
  up); taps ``i0 = floor(x)`` and ``min(i0 + 1, n_in - 1)``, weights ``1 - t`` and ``t``
  for ``t = x - i0``;
- ``cubic``: the same ``x`` (not clamped), taps ``i0 - 1 .. i0 + 2`` (clamped to the
  image), weights of Keys' cubic convolution with ``a = -0.75`` at distances ``1 + t, t,
  1 - t, 2 - t``: ``(a + 2)|s|^3 - (a + 3)|s|^2 + 1`` for ``|s| <= 1``, ``a|s|^3 - 5a|s|^2
  + 8a|s| - 4a`` for ``1 < |s| < 2``;
- ``antialias=True`` (bilinear, bicubic): Pillow's resize, the filter stretched by the
  ratio when downscaling so that every input pixel under it counts.

The ratios are computed in float32 (nearest) or the input's dtype, as PyTorch does.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy

_CUBIC_A = -0.75


class Resampling(NamedTuple):
    """One spatial axis of a resize: ``y[o] = sum_t weight[o, t] x[index[o, t]]``.

    ``index`` is (n_out, taps); ``weight`` the same shape, or None for nearest (one tap of
    weight 1: a copy).
    """

    in_size: int
    index: numpy.ndarray
    weight: numpy.ndarray | None = None

    def matrix(self, dtype) -> numpy.ndarray:
        """``A`` (n_out, n_in): ``y = A x`` along this axis."""
        rows = numpy.arange(len(self.index))
        a = numpy.zeros((len(self.index), self.in_size), dtype)
        for t in range(self.index.shape[1]):  # taps that fall on one pixel add up
            a[rows, self.index[:, t]] += 1 if self.weight is None else self.weight[:, t]
        return a


def nearest_axis(in_size: int, out_size: int, scale, exact: bool, dtype,
                 image: bool) -> Resampling:
    """PyTorch's source pixels for ``nearest`` (``floor(o * ratio)``) and ``nearest-exact``
    (``floor((o + 0.5) * ratio)``), computed as its kernels do.

    ``image`` (2-D input): PyTorch's ``nearest_idx`` / ``nearest_exact_idx``, the ratio in
    float32, and for ``nearest`` ``o`` itself when ``n_out = n_in``, ``o // 2`` when
    ``n_out = 2 n_in`` (these differ from the formula for a scale factor just above 1 or 2).
    1-D and 3-D input: its generic kernel, the ratio in ``dtype``, no shortcuts, and
    ``nearest-exact`` as ``floor(x + 0.5)`` of the linear modes' position ``x``.

    Example:
        >>> nearest_axis(3, 5, None, False, numpy.float32, True).index[:, 0]
        array([0, 0, 1, 1, 2])
        >>> nearest_axis(3, 5, None, True, numpy.float32, True).index[:, 0]
        array([0, 0, 1, 2, 2])
    """
    out = numpy.arange(out_size)
    if image and not exact and out_size == in_size:
        return Resampling(in_size, out[:, None])
    if image and not exact and out_size == 2 * in_size:
        return Resampling(in_size, (out >> 1)[:, None])
    ratio = _ratio(in_size, out_size, scale, numpy.float32 if image else dtype)
    if image and exact:  # (o + 0.5) * ratio in double, rounded to float by floorf
        position = (out + 0.5) * numpy.float64(ratio)
    elif exact:
        position = _centre_position(ratio, out_size, dtype).astype(numpy.float64) + 0.5
    else:
        position = out.astype(ratio.dtype) * ratio
    return Resampling(in_size, _floorf(position, in_size)[:, None])


def linear_axis(in_size: int, out_size: int, scale, align_corners: bool, dtype) -> Resampling:
    """PyTorch's ``compute_source_index_and_lambda``, in ``dtype``: the two neighbours
    ``i0 = floor(x)`` and ``min(i0 + 1, n_in - 1)``, weights ``1 - t`` and ``t = x - i0``.

    At the last pixel both taps are the same pixel (and both weights fall on it).

    Example:
        >>> axis = linear_axis(2, 4, None, False, numpy.float64)
        >>> axis.index.T, axis.weight[:, 1]
        (array([[0, 0, 0, 1],
               [1, 1, 1, 1]]), array([0.  , 0.25, 0.75, 0.25]))
    """
    dtype = numpy.dtype(dtype)
    if out_size == in_size:  # a copy (PyTorch's shortcut, whatever the scale factor)
        out = numpy.arange(out_size)
        weight = numpy.zeros((out_size, 2), dtype)
        weight[:, 0] = 1
        return Resampling(in_size, numpy.stack([out, out], axis=1), weight)
    position = _position(in_size, out_size, scale, align_corners, dtype, clamp=True)
    i0, t = _guard(position, in_size, dtype)
    index = numpy.stack([i0, i0 + (i0 < in_size - 1)], axis=1)
    return Resampling(in_size, index, numpy.stack([(1 - t).astype(dtype), t], axis=1))


def cubic_axis(in_size: int, out_size: int, scale, align_corners: bool, dtype) -> Resampling:
    """PyTorch's bicubic taps and weights, in ``dtype``: pixels ``i0 - 1 .. i0 + 2``
    (clamped to ``0 .. n_in - 1``) for ``i0 = floor(x)``, weighted by Keys' cubic
    convolution (``a = -0.75``) at distances ``1 + t, t, 1 - t, 2 - t``, ``t = x - i0``.

    Example:
        >>> axis = cubic_axis(4, 8, None, False, numpy.float64)
        >>> axis.index[2], axis.weight[2]
        (array([0, 0, 1, 2]), array([-0.03515625,  0.26171875,  0.87890625, -0.10546875]))
    """
    dtype = numpy.dtype(dtype)
    position = _position(in_size, out_size, scale, align_corners, dtype, clamp=False)
    i0, t = _guard(position, in_size, dtype)
    index = numpy.clip(i0[:, None] + numpy.arange(-1, 3), 0, in_size - 1)
    one = dtype.type(1)
    distance = numpy.stack([one + t, t, one - t, 2 * one - t], axis=1)
    return Resampling(in_size, index, _keys_cubic(distance, dtype.type(_CUBIC_A)).astype(dtype))


def antialias_axis(in_size: int, out_size: int, scale, align_corners: bool, dtype,
                   cubic: bool) -> Resampling:
    """PyTorch's (and Pillow's) ``antialias=True`` taps and weights, in ``dtype``.

    Output pixel ``o`` is centred at ``c = ratio (o + 0.5)``; the filter (the triangle
    ``1 - |s|`` for bilinear, Keys' cubic with ``a = -0.5`` for bicubic) is stretched by
    the ratio when downscaling (support ``ratio`` or ``2 ratio`` pixels each side), so
    every input pixel under it counts: ``w[j] = filter((j - c + 0.5) / max(ratio, 1))``
    over ``j = trunc(c - support + 0.5) .. trunc(c + support + 0.5) - 1`` (within the
    image), normalised to sum to 1.

    PyTorch 2.13's CPU kernel gives every output row the first row's values when the output
    is one pixel wide and more than one high; numnet computes each row.

    Example:
        >>> axis = antialias_axis(4, 2, None, False, numpy.float64, cubic=False)
        >>> axis.index[0], axis.weight[0].round(4)
        (array([0, 1, 2, 3, 3]), array([0.4286, 0.4286, 0.1429, 0.    , 0.    ]))
    """
    dtype = numpy.dtype(dtype)
    if align_corners:
        ratio = dtype.type(in_size - 1) / (out_size - 1) if out_size > 1 else dtype.type(0)
    else:
        ratio = _ratio(in_size, out_size, scale, dtype)
    half_width = 2.0 if cubic else 1.0
    stretch = float(ratio) if ratio >= 1 else 1.0
    support = dtype.type(half_width * stretch)
    taps = 2 * math.ceil(support) + 1
    centre = (float(ratio) * (numpy.arange(out_size) + 0.5)).astype(dtype).astype(numpy.float64)
    first = numpy.maximum(numpy.trunc(centre - float(support) + 0.5).astype(numpy.int64), 0)
    count = numpy.minimum(numpy.trunc(centre + float(support) + 0.5).astype(numpy.int64),
                          in_size) - first
    j = numpy.arange(taps)
    distance = numpy.abs((first[:, None] + j - centre[:, None] + 0.5) / stretch).astype(dtype)
    if cubic:
        weight = _keys_cubic(distance, dtype.type(-0.5))
    else:
        weight = numpy.maximum(1 - distance, 0)
    weight = numpy.where(j < count[:, None], weight, 0).astype(dtype)
    total = weight.sum(axis=1, keepdims=True)
    weight = (weight / numpy.where(total != 0, total, 1)).astype(dtype)
    return Resampling(in_size, numpy.minimum(first[:, None] + j, in_size - 1), weight)


def _keys_cubic(distance, a):
    """Keys' cubic convolution kernel at ``|s|`` = ``distance``: ``(a + 2)|s|^3 - (a + 3)
    |s|^2 + 1`` up to 1, ``a|s|^3 - 5a|s|^2 + 8a|s| - 4a`` up to 2, 0 beyond."""
    inner = ((a + 2) * distance - (a + 3)) * distance * distance + 1
    outer = ((a * distance - 5 * a) * distance + 8 * a) * distance - 4 * a
    return numpy.where(distance < 1, inner, numpy.where(distance < 2, outer, 0))


def _position(in_size: int, out_size: int, scale, align_corners: bool, dtype, clamp: bool):
    """PyTorch's ``area_pixel_compute_source_index``: the source position ``x`` of every
    output pixel, in ``dtype`` (``clamp``: at least 0, as for the linear modes)."""
    if align_corners:
        ratio = dtype.type(in_size - 1) / (out_size - 1) if out_size > 1 else dtype.type(0)
        return ratio * numpy.arange(out_size).astype(dtype)
    ratio = _ratio(in_size, out_size, scale, dtype)
    return _centre_position(ratio, out_size, dtype, clamp)


def _centre_position(ratio, out_size: int, dtype, clamp: bool = True):
    """``x = (o + 0.5) * ratio - 0.5``, pixel centres lined up (``clamp``: at least 0).

    NOTE: PyTorch's CPU kernels compute this with a fused multiply-add (one rounding); in
    float64 and rounded once to float32 it is the same number (the float32 product is
    exact in float64), and float32 picks PyTorch's pixels in cases where two roundings
    do not (e.g. 2 -> 41 pixels, nearest-exact, o = 20).
    """
    position = numpy.float64(ratio) * (numpy.arange(out_size) + 0.5) - 0.5
    return (numpy.maximum(position, 0) if clamp else position).astype(dtype)


def _guard(position, in_size: int, dtype) -> tuple:
    """PyTorch's ``guard_index_and_lambda``: ``i0 = min(floorf(x), n_in - 1)`` and the
    fraction ``t = x - i0`` clipped to [0, 1]."""
    i0 = _floorf(position, in_size)
    return i0, numpy.clip(position - i0, 0, 1).astype(dtype)


def _floorf(position, in_size: int):
    """PyTorch's ``min(floorf(x), n_in - 1)``: ``x`` rounded to float32, for every dtype."""
    index = numpy.floor(position.astype(numpy.float32)).astype(numpy.int64)
    return numpy.minimum(index, in_size - 1)


def _ratio(in_size: int, out_size: int, scale, dtype):
    """PyTorch's ``compute_scales_value``: ``1 / scale`` when a scale factor was given,
    else ``n_in / n_out``, in ``dtype``."""
    if scale is not None and scale > 0:
        return numpy.dtype(dtype).type(1.0 / scale)
    return numpy.dtype(dtype).type(in_size) / numpy.dtype(dtype).type(out_size)


__all__ = ["Resampling", "antialias_axis", "cubic_axis", "linear_axis", "nearest_axis"]
