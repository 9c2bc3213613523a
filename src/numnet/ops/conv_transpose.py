"""Transposed convolution over NCHW batches: ``ConvTranspose2d``, ``conv_transpose2d`` and
``conv_transpose1d`` (also called fractionally-strided convolution or "deconvolution").

A convolution with K filters of size F, stride S and padding P maps a size N to
``(N - F + 2P) / S + 1``; its transpose runs the other way. Every input pixel scatters a
copy of its F x F filters, weighted by its value, into the output, the copies S apart; the
outer P rows and columns are then cut off. Along each spatial axis of size N (PyTorch:
``H_in``) the output has

    ``(N - 1) S - 2P + D (F - 1) + output_padding + 1``

positions, with dilation D (taps D apart) and ``output_padding`` extra positions on the
bottom / right (only the bias reaches them), which picks one of the S input sizes that a
stride-S convolution maps to N. It is the gradient of ``conv2d`` with respect to its input,
and it is computed that way:

- **forward**: ``X_col = W_mat^T X``, ONE matrix product per batch chunk (per group, as a
  batched product over the groups) of the filters ``W_mat`` ``(C_in, C_out F_h F_w)`` with
  the input as ``(C_in, m H W)``, then col2im adds every column back to the output pixels
  it belongs to: ``F_h F_w`` strided adds, one per kernel tap, no loop over pixels.
- **backward**: ``gx`` is the plain (strided, dilated, grouped) convolution of ``gy`` with
  the same filters, ``gx = W_mat gY_col`` over the im2col columns ``gY_col`` of ``gy``;
  ``gW = X gY_col^T`` (a GEMM over the same columns); ``gb`` the sum of ``gy``.
"""

from __future__ import annotations

import numbers

import numpy

from numnet.autograd import Function
from numnet.backend import parallel_map, ranges
from numnet.ops import dual
from numnet.ops._grid import _dilated_windows, _pad_into, _workspace
from numnet.ops._util import as_tensor
from numnet.ops.conv import ConvWeightGrad, _convolve
from numnet.ops.conv_kernels import _CHUNK_ELEMENTS, _PARALLEL_MIN_MACS, sum_in_order
from numnet.ops.shape import squeeze, unsqueeze

_AXES = ("height", "width")


def conv_tuple(value, size: int, op: str, name: str) -> tuple:
    """``value`` (an int, or a sequence of 1 or ``size`` ints) as a ``size``-tuple, with
    PyTorch's errors: a TypeError for a non-integer, a RuntimeError for a wrong length.

    Example:
        >>> conv_tuple(2, 2, "conv_transpose2d", "stride"), conv_tuple([3], 2, "f", "padding")
        ((2, 2), (3, 3))
    """
    values = (value,) if isinstance(value, numbers.Integral) else value
    try:
        values = tuple(values)
    except TypeError:
        values = (value,)
    for v in values:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not "
                            f"{type(v).__name__}")
    if len(values) == 1:
        values = values * size
    if len(values) != size:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {size} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return tuple(int(v) for v in values)


def _per_axis(name: str, values: tuple, separator: str = " ") -> str:
    """PyTorch's words for a pair in its messages: ``stride_height: 2 stride_width: 1``."""
    return separator.join(f"{name}_{axis}: {v}" for axis, v in zip(_AXES, values))


class ConvTranspose2d(Function):
    """2-D transposed convolution of ``x`` with ``weight`` ``(C_in, C_out / groups, F_h,
    F_w)``: each input pixel adds its value times the filters to the output, S apart.

    ``y_full[n, g C_og + o, h S_h + i D_h, w S_w + j D_w] += x[n, g C_ig + c, h, w]
    W[g C_ig + c, o, i, j]`` (summed over c, h, w, i, j), ``y = y_full`` without its first
    ``P`` rows and columns, cut to ``OH x OW``, plus ``b``; ``C_ig = C_in / groups`` and
    ``C_og = C_out / groups`` are the channels of one group.

    As matrices, per group: ``X_col = W_mat^T X`` with ``W_mat`` ``(C_ig, C_og F_h F_w)`` and
    ``X`` ``(C_ig, m H W)``, then col2im (``_col2im``). Backward: the im2col columns
    ``gY_col`` ``(C_og F_h F_w, m H W)`` of ``gy`` (padded by P) give ``gx = W_mat gY_col``
    and ``gW = X gY_col^T``; ``gb`` is the sum of ``gy`` over N, OH, OW.

    Shapes: x (N, C_in, H, W), W (C_in, C_out / groups, F_h, F_w), b (C_out,),
    y (N, C_out, OH, OW) with ``OH = (H - 1) S_h - 2 P_h + D_h (F_h - 1) + output_padding_h
    + 1`` (same for OW).
    """

    saved_inputs = ("x", "weight", None)

    def __init__(self, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        op = "conv_transpose2d"
        self.stride = conv_tuple(stride, 2, op, "stride")
        self.padding = conv_tuple(padding, 2, op, "padding")
        self.output_padding = conv_tuple(output_padding, 2, op, "output_padding")
        self.dilation = conv_tuple(dilation, 2, op, "dilation")
        if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
            raise TypeError(f"{op}(): argument 'groups' must be int, not "
                            f"{type(groups).__name__}")
        self.groups = int(groups)
        if min(self.stride) < 1:
            raise RuntimeError("non-positive stride is not supported")
        if min(self.padding) < 0:
            raise RuntimeError("negative padding is not supported")
        if min(self.output_padding) < 0:
            raise RuntimeError("negative output_padding is not supported")
        if min(self.dilation) < 1:
            raise RuntimeError(f"dilation should be greater than zero, but got "
                               f"{_per_axis('dilation', self.dilation, ', ')}")
        if self.groups < 1:
            raise RuntimeError("non-positive groups is not supported")
        if any(p >= s and p >= d for p, s, d in
               zip(self.output_padding, self.stride, self.dilation)):
            raise RuntimeError(
                f"output padding must be smaller than either stride or dilation, but got "
                f"{_per_axis('output_padding', self.output_padding)} "
                f"{_per_axis('stride', self.stride)} {_per_axis('dilation', self.dilation)}")

    def forward(self, x, weight, bias=None):
        """``X_col = W_mat^T X`` per group, then col2im, the crop and the bias, by chunks."""
        self._check(x, weight, bias)
        self.unbatched = x.ndim == 3
        self.x = x if self.needs_input_grad[1] else None
        self.weight = weight if self.needs_input_grad[0] else None
        if self.unbatched:
            x = x[None]
        n, c_in, h, w = x.shape
        g = self.groups
        c_out = weight.shape[1] * g
        oh, ow = self.out_size = self._output_size(x.shape, weight.shape)
        ph, pw = self.padding
        # (g, C_og F_h F_w, C_ig): the transposed filters of each group (contiguous: NumPy's
        # stacked matmul is faster so)
        w_t = numpy.ascontiguousarray(weight.reshape(g, c_in // g, -1).transpose(0, 2, 1))
        # NOTE: with one channel per group (depthwise) the product is an outer product;
        # NumPy's matmul takes 7x longer for it than the broadcast multiplication
        product = numpy.multiply if c_in == g else numpy.matmul
        out = numpy.empty((n, c_out, oh, ow), dtype=x.dtype)

        def run(start, stop):
            x_groups = self._by_group(x[start:stop])
            cols = _workspace.take((g, w_t.shape[1], x_groups.shape[2]), x.dtype)
            product(w_t, x_groups, out=cols)  # one (batched) GEMM per chunk
            canvas = self._col2im(cols, stop - start, weight.shape)
            _workspace.give(cols)
            y = canvas[:, :, ph:ph + oh, pw:pw + ow].transpose(1, 0, 2, 3)
            if bias is None:
                numpy.copyto(out[start:stop], y)
            else:
                numpy.add(y, bias[:, None, None], out=out[start:stop])
            _workspace.give(canvas)

        self._map_chunks(run, x.shape, weight.shape)
        return out[0] if self.unbatched else out

    def backward(self, gy):
        """``gY_col`` = im2col of ``gy``; ``gx = W_mat gY_col``, ``gW = X gY_col^T``,
        ``gb`` = the sum of ``gy``; by chunks, only the gradients needed.

        With ``create_graph=True`` they are recorded (``_backward_graph``)."""
        if dual.is_graph(gy):
            return self._backward_graph(gy)
        x = self.x
        if self.unbatched:
            gy = gy[None]
            x = None if x is None else x[None]
        needs_gx, needs_gW = self.needs_input_grad[:2]
        needs_gb = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        x_shape, weight_shape = self.x_shape, self.weight_shape
        n, c_in, h, w = x_shape
        g = self.groups
        gx = numpy.empty(x_shape, dtype=gy.dtype) if needs_gx else None

        def run(start, stop):
            m = stop - start
            gy_cols = self._im2col(gy[start:stop], weight_shape, (h, w))
            gW_part = gb_part = None
            if needs_gx:
                w_mat = self.weight.reshape(g, c_in // g, -1)
                gx_groups = numpy.matmul(w_mat, gy_cols)  # (g, C_ig, m H W)
                gx_chunk = gx_groups.reshape(c_in, m, h, w).transpose(1, 0, 2, 3)
                numpy.copyto(gx[start:stop], gx_chunk)
            if needs_gW:
                x_groups = self._by_group(x[start:stop])
                gW_part = numpy.matmul(x_groups, gy_cols.transpose(0, 2, 1))
            if needs_gb:
                gb_part = gy[start:stop].sum(axis=(0, 2, 3))
            _workspace.give(gy_cols)
            return gW_part, gb_part

        # the partial sums of each chunk are added in chunk order: the same result for
        # any number of threads
        parts = self._map_chunks(run, x_shape, weight_shape)
        gW = gb = None
        if needs_gW:
            gW = sum_in_order([part for part, _ in parts]).reshape(weight_shape)
        if needs_gb:
            gb = sum_in_order([part for _, part in parts])
        if needs_gx and self.unbatched:
            gx = gx[0]
        return gx, gW, gb

    def _backward_graph(self, gy):
        """``backward`` recorded (``create_graph=True``): ``conv_transpose2d(x, W)`` is
        ``ConvInputGrad(x, W)`` of the convolution with the same weight, stride, padding,
        dilation and groups (of an input sized like ``y``), so its gradients are the other
        two of that closed set: ``gx = conv2d(gy, W)`` (cut to x's size where the output
        padding reaches the stride), ``gW = ConvWeightGrad(gy, x)``, and ``gb`` the sum of
        ``gy``."""
        needs = self.needs_input_grad
        x, weight = self.x, self.weight
        if self.unbatched:
            gy = gy.reshape((1,) + gy.shape)
            x = None if x is None else x.reshape((1,) + x.shape)
        options = (self.stride, self.padding, self.dilation, self.groups)
        gx = gW = gb = None
        if needs[0]:
            gx = _convolve(options, gy, weight, self.x_shape[2:])
            if self.unbatched:
                gx = gx.reshape(gx.shape[1:])
        if needs[1]:
            gW = dual.apply(ConvWeightGrad(options, self.weight_shape), gy, x)
        if len(needs) > 2 and needs[2]:
            gb = dual.sum(gy, axis=(0, 2, 3))
        return gx, gW, gb

    def _by_group(self, x):
        """Samples ``(m, C_in, H, W)`` as ``(groups, C_ig, m H W)`` (a copy)."""
        m, c_in, h, w = x.shape
        return x.transpose(1, 0, 2, 3).reshape(self.groups, c_in // self.groups, m * h * w)

    def _full_size(self, x_shape, weight_shape) -> tuple:
        """The size ``(N - 1) S + D (F - 1) + 1`` that the copies of the filters cover, per
        axis, before the crop by P."""
        kernel = weight_shape[2:]
        return tuple((n - 1) * s + d * (f - 1) + 1 for n, s, d, f in
                     zip(x_shape[2:], self.stride, self.dilation, kernel))

    def _col2im(self, cols, m: int, weight_shape):
        """Add the columns ``(g, C_og F_h F_w, m H W)`` to the output pixels they belong to:
        one strided add per kernel tap (i, j) into the uncropped output ``(C_out, m, H_full,
        W_full)`` (with room for the output padding). From the workspace: give it back."""
        c_out = weight_shape[1] * self.groups
        kh, kw = weight_shape[2:]
        h, w = self.x_shape[2:]
        full_h, full_w = self._full_size(self.x_shape, weight_shape)
        canvas_h = max(full_h, self.padding[0] + self.out_size[0])
        canvas_w = max(full_w, self.padding[1] + self.out_size[1])
        canvas = _workspace.take((c_out, m, canvas_h, canvas_w), cols.dtype)
        canvas[...] = 0
        taps = cols.reshape(c_out, kh, kw, m, h, w)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for i in range(kh):
            for j in range(kw):
                top, left = i * dh, j * dw
                hit = canvas[:, :, top:top + sh * (h - 1) + 1:sh, left:left + sw * (w - 1) + 1:sw]
                hit += taps[:, i, j]
        return canvas

    def _im2col(self, gy, weight_shape, in_size):
        """The columns ``(g, C_og F_h F_w, m H W)`` of ``gy`` (m, C_out, OH, OW) placed at
        (P_h, P_w) in the uncropped output: what the taps of each input pixel saw. From
        the workspace: give it back."""
        m, c_out = gy.shape[:2]
        kh, kw = weight_shape[2:]
        h, w = in_size
        full_h, full_w = self._full_size(self.x_shape, weight_shape)
        gy_full = _pad_into(gy.transpose(1, 0, 2, 3), (c_out, m, full_h, full_w),
                            self.padding[0], self.padding[1], scratch=True)
        windows = _dilated_windows(gy_full, (kh, kw), self.stride, (h, w), self.dilation)
        cols = _workspace.take((c_out, kh, kw, m, h, w), gy.dtype)
        numpy.copyto(cols, windows.transpose(0, 2, 3, 1, 4, 5))
        _workspace.give(gy_full)
        return cols.reshape(self.groups, -1, m * h * w)

    def _map_chunks(self, run, x_shape, weight_shape) -> list:
        """``run(start, stop)`` over batch chunks whose columns stay in cache (the sizes and
        thresholds of ``conv_kernels``), threaded for a large convolution."""
        n, c_in, h, w = x_shape
        c_og, kh, kw = weight_shape[1:]
        per_sample = c_og * self.groups * kh * kw * h * w
        size = max(1, min(n, _CHUNK_ELEMENTS // max(per_sample, 1)))
        chunks = ranges(n, -(-n // size)) if n else [(0, 0)]
        multiply_adds = n * h * w * c_in * c_og * kh * kw
        threads = 1 if multiply_adds < _PARALLEL_MIN_MACS else None
        return parallel_map(run, chunks, threads)

    def _output_size(self, x_shape, weight_shape) -> tuple:
        full = self._full_size(x_shape, weight_shape)
        size = tuple(f - 2 * p + op for f, p, op in
                     zip(full, self.padding, self.output_padding))
        if min(size) < 1:
            raise RuntimeError(f"Given input size per channel: ({x_shape[2]} x {x_shape[3]}). "
                               f"Calculated output size per channel: ({size[0]} x {size[1]}). "
                               "Output size is too small")
        return size

    def _check(self, x, weight, bias) -> None:
        """PyTorch's checks, with its messages."""
        if x.ndim not in (3, 4):
            raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to "
                               f"conv_transpose2d, but got input of size: {list(x.shape)}")
        if x.dtype.kind != "f":
            raise TypeError(f"conv_transpose2d: expected a floating-point input, got {x.dtype}")
        if weight.ndim != 4:
            raise RuntimeError(f"conv_transpose2d: expected a 4-D weight (C_in, C_out / groups, "
                               f"F_h, F_w), got shape {list(weight.shape)}")
        if weight.shape[0] % self.groups:
            raise RuntimeError(f"Given groups={self.groups}, expected weight to be divisible by "
                               f"{self.groups} at dimension 0, but got weight of size "
                               f"{list(weight.shape)} instead")
        if x.shape[-3] != weight.shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, "
                               f"expected input{list(x.shape)} to have {weight.shape[0]} "
                               f"channels, but got {x.shape[-3]} channels instead")
        c_out = weight.shape[1] * self.groups
        if bias is not None and bias.shape != (c_out,):
            raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, "
                               f"expected bias to be 1-dimensional with {c_out} elements, but "
                               f"got bias of size {list(bias.shape)} instead")
        for name, other in (("weight", weight), ("bias", bias)):
            if other is not None and other.dtype != x.dtype:
                raise RuntimeError(f"conv_transpose2d: expected scalar type {x.dtype} but "
                                   f"found {other.dtype} ({name}); convert one of them")
        if min(x.shape[-2:]) == 0:
            raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got "
                               f"input shape: {list(x.shape)}")
        batched = x if x.ndim == 4 else x[None]
        self.x_shape = batched.shape
        self.weight_shape = weight.shape
        self._output_size(batched.shape, weight.shape)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution ("deconvolution"): the gradient of ``conv2d`` with
    respect to its input, used to upsample in decoders and GANs.

    Output size per spatial axis of size N, for filter size F (``kernel_size``), stride S,
    padding P and dilation D: ``(N - 1) S - 2P + D (F - 1) + output_padding + 1``, the
    inverse of the convolution's ``(N - F + 2P) / S + 1``.

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) for a single sample.
        weight: the filters, (C_in, C_out / groups, F_h, F_w).
        bias: optional (C_out,).
        stride: S, an int or a pair (S_h, S_w): how far apart the copies of the filters lie.
        padding: P, an int or a pair: rows / columns cut off each side of the output.
        output_padding: an int or a pair: positions added to the bottom / right of the
            output; smaller than the stride or the dilation.
        groups: channels split into this many groups, each convolved on its own.
        dilation: D, an int or a pair: spacing between the filter taps.

    Returns:
        Tensor (N, C_out, OH, OW) (or (C_out, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.ones(1, 2, 4, 4)
        >>> F.conv_transpose2d(x, numnet.ones(2, 3, 3, 3), stride=2, padding=1,
        ...                    output_padding=1).shape
        (1, 3, 8, 8)
        >>> F.conv_transpose2d(numnet.ones(1, 1, 2, 2), numnet.ones(1, 1, 2, 2))[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    function = ConvTranspose2d(stride, padding, output_padding, groups, dilation)
    inputs = [as_tensor(input), as_tensor(weight)]
    if bias is not None:
        inputs.append(as_tensor(bias))
    return function(*inputs)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution: ``conv_transpose2d`` on a height of 1 (same formulas).

    Output length for input length L: ``(L - 1) S - 2P + D (F - 1) + output_padding + 1``.

    Args:
        input: (N, C_in, L), or (C_in, L) for a single sample.
        weight: (C_in, C_out / groups, F).
        bias: optional (C_out,).
        stride, padding, output_padding, dilation: ints (or 1-tuples); groups: an int.

    Returns:
        Tensor (N, C_out, L_out) (or (C_out, L_out)).

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.conv_transpose1d(numnet.ones(1, 1, 3), numnet.ones(1, 1, 2), stride=2)
        tensor([[[1., 1., 1., 1., 1., 1.]]])
    """
    input, weight = as_tensor(input), as_tensor(weight)  # noqa: A001
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, "
                           f"but got input of size: {list(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected a 3-D weight (C_in, C_out / groups, F), "
                           f"got shape {list(weight.shape)}")
    op = "conv_transpose1d"
    stride = conv_tuple(stride, 1, op, "stride")[0]
    padding = conv_tuple(padding, 1, op, "padding")[0]
    output_padding = conv_tuple(output_padding, 1, op, "output_padding")[0]
    dilation = conv_tuple(dilation, 1, op, "dilation")[0]
    y = conv_transpose2d(unsqueeze(input, -2), unsqueeze(weight, -2), bias, (1, stride),
                         (0, padding), (0, output_padding), groups, (1, dilation))
    return squeeze(y, -2)


__all__ = ["ConvTranspose2d", "conv_transpose2d", "conv_transpose1d", "conv_tuple"]
