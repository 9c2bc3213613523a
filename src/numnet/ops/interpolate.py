"""Resizing images and signals: ``interpolate`` (PyTorch's ``F.interpolate``) with modes
``nearest``, ``nearest-exact``, ``linear`` (N, C, L), ``bilinear`` and ``bicubic``
(N, C, H, W), ``trilinear`` (N, C, D, H, W) and ``area``, and the deprecated ``upsample*``
functions.

Every mode but ``area`` (adaptive average pooling, ``ops/adaptive_pool.py``) is separable:
along each spatial axis, output pixel ``o`` is a weighted sum of a few input pixels of that
axis, ``y[o] = sum_t w[o, t] x[index[o, t]]``, with the taps and weights PyTorch computes
(``ops/resampling.py`` has their formulas). The forward gathers, one axis after the other
(the last first, as PyTorch nests them). As a matrix, one axis is ``y = A x`` with ``A``
(n_out, n_in) holding ``w[o, t]`` at ``(o, index[o, t])``; the backward applies ``A^T``
along every axis: ``gx = A_h^T gy A_w`` for an image, one matrix product per axis.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.ops.adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from numnet.ops.resampling import antialias_axis, cubic_axis, linear_axis, nearest_axis

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_INTERPOLATING = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_AXIS_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


class Interpolate(Function):
    """Separable resize over the trailing spatial axes (``Resampling`` per axis).

    ``y = A_1 (A_2 ( ... (A_d x)))`` along axes ``2 .. d + 1``, each ``A_k x`` computed as
    the gather ``sum_t w[:, t] x[index[:, t]]`` (nearest: ``x[index[:, 0]]``); ``gx``
    applies every ``A_k^T`` to ``gy``, a matrix product per axis (``InterpolateTranspose``,
    whose gradient is this op again). Shapes: x (N, C, *in_sizes), y (N, C, *out_sizes).
    """

    saved_inputs = (None,)

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, x):
        first = x.ndim - len(self.axes)
        y = x
        # NOTE: one numpy.take per axis: 5-9x faster than one fancy index over all of them
        for k in reversed(range(len(self.axes))):
            axis, dim = self.axes[k], first + k
            if axis.weight is None:
                y = numpy.take(y, axis.index[:, 0], dim)
                continue
            shape = (-1,) + (1,) * (x.ndim - dim - 1)
            total = numpy.take(y, axis.index[:, 0], dim) * axis.weight[:, 0].reshape(shape)
            for t in range(1, axis.index.shape[1]):
                total += numpy.take(y, axis.index[:, t], dim) * axis.weight[:, t].reshape(shape)
            y = total
        return y

    def backward(self, gy):
        return dual.apply(InterpolateTranspose(self.axes), gy)


class InterpolateTranspose(Function):
    """``gx = A_1^T (A_2^T ( ... (A_d^T gy)))``: the gradient of ``y = Interpolate(axes)(x)``
    with respect to ``x``, a matrix product per axis, as its own op. Linear, the resize's
    transpose, so its gradient is ``Interpolate(axes)(g)`` (PyTorch's ``upsample_*_backward``
    formulas): differentiable to any order."""

    saved_inputs = (None,)

    def __init__(self, axes):
        self.axes = tuple(axes)

    def forward(self, gy):
        first = gy.ndim - len(self.axes)
        gx = gy
        for k, axis in enumerate(self.axes):
            gx = _matmul_along(gx, axis.matrix(gy.dtype), first + k)
        return gx

    def backward(self, g):
        return dual.apply(Interpolate(self.axes), g)


def _matmul_along(g, a, dim: int):
    """``A^T`` applied along axis ``dim`` of ``g``: the gradient of ``y = A x`` there."""
    shape = g.shape
    n_in = a.shape[1]
    if dim == g.ndim - 1:
        return (g.reshape(-1, shape[-1]) @ a).reshape(shape[:-1] + (n_in,))
    rows = g.reshape(math.prod(shape[:dim]), shape[dim], -1)
    return numpy.matmul(a.T, rows).reshape(shape[:dim] + (n_in,) + shape[dim + 1:])


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _sizes(input, size, scale_factor, recompute_scale_factor):  # noqa: A002
    """PyTorch's argument rules: ``(output sizes, scale factors or None)`` per axis."""
    dims = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != dims:
                raise ValueError(
                    f"Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and output "
                    f"size of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(s) for s in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or "
                                f"Tuple[int, int] or Tuple[int, int, int], but got size with "
                                f"types {[type(s) for s in size]}")
            sizes = [int(s) for s in size]
        elif _is_int(size):
            sizes = [int(size)] * dims
        else:
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got "
                            f"{type(size).__name__}")
        scales = [None] * dims
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dims:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {list(input.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, "
                    "C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = list(scale_factor)
        else:
            scales = [scale_factor] * dims
        if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales):
            raise TypeError(f"interpolate: scale_factor must be a float or a tuple of floats, "
                            f"got {scale_factor!r}")
        scales = [float(s) for s in scales]
        sizes = [math.floor(n * s) for n, s in zip(input.shape[2:], scales)]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if recompute_scale_factor:
        sizes = [int(n * s) for n, s in zip(input.shape[2:], scales)]
        scales = [None] * dims
    return sizes, scales


def _check_sizes(in_sizes, out_sizes) -> None:
    if min(in_sizes) > 0 and min(out_sizes) > 0:
        return
    names = _AXIS_NAMES[len(in_sizes)]
    given = ", ".join(f"{name}: {n}" for name, n in zip(names, in_sizes))
    wanted = ", ".join(f"{name}: {n}" for name, n in zip(names, out_sizes))
    joint = " and output" if len(in_sizes) == 1 else " output"
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                       f"({given}){joint} ({wanted})")


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """Resize ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor``, like PyTorch.

    Along each spatial axis of size ``n_in``, ``n_out = size`` or ``floor(n_in *
    scale_factor)``; output pixel ``o`` samples the input at ``(o + 0.5) n_in / n_out -
    0.5`` (``align_corners=False``; ``1 / scale_factor`` in place of ``n_in / n_out`` when a
    scale factor is given, unless ``recompute_scale_factor=True``) or at
    ``o (n_in - 1) / (n_out - 1)`` (``align_corners=True``): ``nearest`` takes
    ``floor(o n_in / n_out)``, ``nearest-exact`` the nearest pixel, ``linear`` / ``bilinear``
    / ``trilinear`` interpolate between the two neighbours along each axis, ``bicubic``
    between four (Keys' cubic convolution, ``a = -0.75``); ``area`` is
    ``adaptive_avg_pool1d`` / ``adaptive_avg_pool2d``. The module docstring has the
    formulas.

    Args:
        input: (N, C, L) for ``linear``, (N, C, H, W) for ``bilinear`` and ``bicubic``,
            (N, C, D, H, W) for ``trilinear``; (N, C, L) or (N, C, H, W) for ``area``; any
            of the three for ``nearest`` and ``nearest-exact``.
        size: the output's spatial size, an int or one int per spatial axis.
        scale_factor: a float, or one per spatial axis (not with ``size``).
        mode: 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear'
            | 'area' ('lanczos' raises NotImplementedError).
        align_corners: for the interpolating modes only (default False).
        recompute_scale_factor: compute the sampling ratio from the output size even when a
            scale factor is given (always for ``area``).
        antialias: for bilinear and bicubic: when downscaling, average every input pixel
            under the stretched filter (Pillow's resize) instead of only the nearest 2 / 4.

    Returns:
        Tensor (N, C, *out_sizes), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[1.0, 2.0]]])
        >>> F.interpolate(x, scale_factor=2)
        tensor([[[1., 1., 2., 2.]]])
        >>> F.interpolate(x, size=4, mode='linear')
        tensor([[[1.0000, 1.2500, 1.7500, 2.0000]]])
        >>> F.interpolate(x, size=4, mode='linear', align_corners=True)
        tensor([[[1.0000, 1.3333, 1.6667, 2.0000]]])
    """
    input = as_tensor(input)  # noqa: A001
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _sizes(input, size, scale_factor, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if mode == "lanczos":
        raise NotImplementedError("interpolate: mode 'lanczos' is not implemented in numnet")
    if mode == "area" and input.ndim in (3, 4):
        pool = adaptive_avg_pool1d if input.ndim == 3 else adaptive_avg_pool2d
        return pool(input, sizes[0] if input.ndim == 3 else tuple(sizes))
    if mode == "area" and input.ndim == 5:
        raise NotImplementedError("interpolate: mode 'area' for 5-D input "
                                  "(adaptive_avg_pool3d) is not implemented in numnet")
    wanted = _INTERPOLATING.get(mode)  # the input's ndim for the interpolating modes
    separable = wanted is not None or mode in ("nearest", "nearest-exact")
    if separable and 3 <= input.ndim <= 5 and wanted in (None, input.ndim):
        return _resize(input, sizes, scales, mode, align_corners, antialias)
    if wanted is not None and mode != "bicubic" and 3 <= input.ndim <= 5:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wanted}D "
                                  "input")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                              f"(got {input.ndim}D) for the modes: {_MODES} (got {mode})")


def _resize(x, sizes, scales, mode: str, align_corners, antialias: bool):
    """The separable modes: one ``Resampling`` per spatial axis, then ``Interpolate``."""
    if x.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: {mode} is not implemented for {x.dtype} "
                                  "input (floating-point only)")
    in_sizes = x.shape[2:]
    _check_sizes(in_sizes, sizes)
    axes = []
    for n, m, s in zip(in_sizes, sizes, scales):
        if mode in ("nearest", "nearest-exact"):
            axes.append(nearest_axis(n, m, s, mode == "nearest-exact", x.dtype, x.ndim == 4))
        elif antialias:
            axes.append(antialias_axis(n, m, s, align_corners, x.dtype, mode == "bicubic"))
        elif mode == "bicubic":
            axes.append(cubic_axis(n, m, s, align_corners, x.dtype))
        else:
            axes.append(linear_axis(n, m, s, align_corners, x.dtype))
    return Interpolate(axes)(x)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest",  # noqa: A002
             align_corners=None):
    """Deprecated (as in PyTorch): ``interpolate`` with these arguments, and a warning."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated (as in PyTorch): ``interpolate(..., mode='nearest')``, and a warning."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated (as in PyTorch): ``interpolate(..., mode='bilinear', align_corners=True)``,
    and a warning."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["Interpolate", "interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]
