"""Convolution over NCHW batches: ``Conv2d`` and ``conv2d``, the lecture's CNN layer
(``conv1d``, in ``ops/conv1d.py``, runs on it).

The lecture's CNN: K filters of size F, applied with stride S over an input zero-padded by
P on every side. Along each spatial axis of size N the output has

    ``(N - F + 2P) / S + 1``   (rounded down)

positions; PyTorch writes the same formula with ``H_in, kernel_size, stride, padding``.
With dilation D (a filter's taps D apart, so it spans ``D (F - 1) + 1`` pixels) it is

    ``OH = floor((H + 2P - D (F - 1) - 1) / S) + 1``.

Every op accepts ``F``, ``S``, ``P`` and ``D`` as an int or as a pair ``(for H, for W)``;
``padding`` may also be ``'valid'`` (P = 0) or ``'same'`` (stride 1, output size = input
size; ``resolve_padding``). ``groups`` = G splits the C channels into G groups, each
convolved with its own K / G filters (G = C: depthwise).

The algorithm is the lecture's (``ops/reference.py`` writes it out in plain NumPy):

- **forward**: im2col lays the windows of the padded input out as the columns ``X_col``
  ``(C F_h F_w, N OH OW)``, one column per output pixel of every sample; ONE matrix product
  with the filters ``W_mat`` ``(K, C F_h F_w)`` gives ``Y = W_mat X_col + b`` (with groups,
  one batched matmul of G products, ``conv_kernels.gemm_grouped``).
- **backward**: ``gW = gY X_col^T``, ``gb`` = the sum of ``gY``, and ``gX_col = W_mat^T gY``,
  which col2im adds back to the pixels each column came from: ``F_h F_w`` strided adds, one
  per kernel offset (for stride 1, ``F_h`` adds with the column shifts done inside the
  product). For stride 1 ``gx`` is also the "full" convolution of the padded ``gy`` with
  the flipped filters; whichever of the two moves less memory is used (with groups or
  dilation at stride 1, always the full convolution). Gradients nobody needs are not
  computed.

``Conv2d`` runs these products chunk by chunk over the batch, on every core, with the
machinery (the column layout, wide rows for stride 1, chunk sizes, GEMM shapes, threads and
the thresholds measured for them) in ``ops/conv_kernels.py``. ``ops/conv_relu.py`` fuses the
ReLU and max pooling that follow a convolution into it.
"""

from __future__ import annotations

import numbers

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._grid import (
    _check_input,
    _dilated_windows,
    _output_size,
    _pad_into,
    _workspace,
    int_pair,
)
from numnet.ops._util import as_tensor
from numnet.ops.conv_kernels import (
    ConvGeometry,
    chunk_columns,
    columns,
    full_is_cheaper,
    gemm,
    map_chunks,
    sum_in_order,
    weight_grad,
)
from numnet.ops.padding import pad


class Conv2d(Function):
    """2-D convolution (cross-correlation, like every framework) of ``x`` with K filters
    of size F, stride S, zero padding P and dilation D (each an int or a pair,
    ``(F_h, F_w)`` etc.), the channels split into G groups (``groups``).

    ``y[n, k, oh, ow] = b[k] + sum_{c, i, j} x_pad[n, g C/G + c, oh S_h + i D_h,
    ow S_w + j D_w] W[k, c, i, j]`` where ``g = k // (K/G)`` is filter k's group: each group
    of C/G input channels has its own K/G filters (G = C: depthwise).

    As matrices, with ``X_col`` the im2col columns ``(C F_h F_w, N OH OW)`` (one column per
    output pixel of every sample) and ``W_mat = W.reshape(K, C F_h F_w)``:
    ``Y = W_mat X_col + b``, so ``gW = gY X_col^T``, ``gb = sum of gY over N, OH, OW``, and
    ``gX_col = W_mat^T gY``, which col2im adds back to the pixels each column came from;
    with groups, each product is G products in one batched matmul, group g's rows of
    ``X_col`` by its ``W_mat[g]`` (K/G, C/G F_h F_w).
    Shapes: x (N, C, H, W), W (K, C/G, F_h, F_w), b (K,), y (N, K, OH, OW) with
    ``OH = floor((H + 2 P_h - D_h (F_h - 1) - 1) / S_h) + 1`` (same for OW; for D = 1 the
    lecture's ``(H - F + 2P) / S + 1``).

    The products run per batch chunk (``conv_kernels.map_chunks``); in a chunk of m
    samples the columns are ``(C F_h F_w, m OH row_width)``, where ``row_width`` is OW, or
    the padded width for stride 1 (wide rows, see ``conv_kernels.ConvGeometry``).
    """

    saved_inputs = ("x", "weight", None)

    def __init__(self, stride=1, padding=0, dilation=1, groups=1):
        self.stride = int_pair(stride, "conv2d: stride", 1, TypeError, RuntimeError)
        self.padding = int_pair(padding, "conv2d: padding", 0, TypeError, RuntimeError)
        self.dilation = int_pair(dilation, "conv2d: dilation", None, TypeError)
        if min(self.dilation) < 1:
            raise RuntimeError(f"conv2d: non-positive dilation is not supported, got "
                               f"dilation={dilation!r}")
        if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
            raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
        if groups < 1:
            raise RuntimeError(f"conv2d: non-positive groups is not supported, got "
                               f"groups={groups}")
        self.groups = int(groups)

    def _output_arrays(self, n: int, k: int, oh: int, ow: int, dtype):
        """The output array (and whatever backward needs besides the input and weight)."""
        return numpy.empty((n, k, oh, ow), dtype=dtype)

    def _store(self, y_chunk, out, start: int, stop: int) -> None:
        """Write the convolution of samples ``start:stop`` (from the workspace) to ``out``."""
        numpy.copyto(out[start:stop], y_chunk)

    def _output_grad(self, gy, start: int, stop: int):
        """The gradient of the convolution's own output for samples ``start:stop`` and a
        workspace array to give back when done with it (or None)."""
        return gy[start:stop], None

    def forward(self, x, weight, bias=None):
        """``Y = W_mat X_col + b``, chunk by chunk: im2col, one GEMM, the bias, ``_store``."""
        self._check(x, weight, bias)
        self.unbatched = x.ndim == 3
        # Like PyTorch, backward keeps the input (not its columns: they are rebuilt per
        # chunk, which is cheaper than storing them and far smaller).
        self.x = x if self.needs_input_grad[1] else None
        self.weight = weight if self.needs_input_grad[0] else None
        if self.unbatched:
            x = x[None]
        n = x.shape[0]
        k, _, kh, kw = weight.shape
        reach = _reach((kh, kw), self.dilation)
        oh, ow = _output_size("conv2d", x.shape, reach, self.stride, self.padding)
        geometry = ConvGeometry.of(x.shape, weight.shape, self.stride, self.padding, (oh, ow),
                                   self.dilation, self.groups)
        self.geometry = geometry
        row_width = geometry.row_width
        out = self._output_arrays(n, k, oh, ow, x.dtype)
        w_mat = self._weight_matrix(weight)
        if geometry.sample_major or geometry.pointwise:
            self._sample_forward(x, w_mat, bias, out)
            return out[0] if self.unbatched else out

        def run(start, stop):
            m = stop - start  # samples in this chunk
            cols = chunk_columns(x[start:stop], geometry)
            y_mat = gemm(w_mat, cols, m, oh * row_width)  # one GEMM per chunk
            _workspace.give(cols)
            if bias is not None:
                y_mat += bias[:, None]
            y_chunk = y_mat.reshape(m, k, oh, row_width)[..., :ow]  # drop the wide rows' end
            self._store(y_chunk, out, start, stop)
            _workspace.give(y_mat)

        map_chunks(run, geometry)
        return out[0] if self.unbatched else out

    def backward(self, gy):
        """``gW = gY X_col^T`` (the columns rebuilt from the saved input), ``gb`` = the sum
        of ``gY`` over N, OH, OW, and ``gx`` by col2im of ``W_mat^T gY``
        (``_input_grad_col2im``) or, for stride 1 when it moves less memory, as the full
        convolution (``_input_grad_full``); chunk by chunk, only the gradients needed.

        With ``create_graph=True`` the same gradients are recorded (``_backward_graph``):
        ``gx = ConvInputGrad(gY, W)``, ``gW = ConvWeightGrad(x, gY)``.
        """
        if dual.is_graph(gy):
            return self._backward_graph(gy)
        needs_gx, needs_gW = self.needs_input_grad[:2]
        self.geometry = geometry = self.geometry.for_backward(needs_gx)
        k = geometry.weight_shape[0]
        oh = geometry.out_size[0]
        row_width = geometry.row_width
        x = self.x
        if self.unbatched:
            gy = gy[None]
            x = None if x is None else x[None]
        needs_gb = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = None
        if needs_gx:
            gx = numpy.empty(geometry.x_shape, dtype=gy.dtype)
        if geometry.sample_major or geometry.pointwise:
            gW, gb = self._sample_backward(gy, x, gx, needs_gW, needs_gb)
            return (gx[0] if needs_gx and self.unbatched else gx), gW, gb
        use_full = (needs_gx and self.stride == (1, 1) and geometry.plain
                    and full_is_cheaper(geometry))
        transposed = None
        if needs_gx and self.stride == (1, 1) and not geometry.plain:
            transposed = self._transposed_convolution()

        def run(start, stop):
            m = stop - start  # samples in this chunk
            gy_chunk, scratch = self._output_grad(gy, start, stop)
            if transposed is not None:
                padding, flipped = transposed
                function = Conv2d(1, padding, self.dilation, self.groups)  # one per thread
                function.needs_input_grad = (False, False)
                numpy.copyto(gx[start:stop], function.forward(gy_chunk, flipped))
            if use_full:
                x_chunk = x[start:stop] if needs_gW else None
                parts = self._input_grad_full(gy_chunk, x_chunk, gx[start:stop], needs_gb)
                _workspace.give(scratch)
                return parts
            # gY as a (K, m OH row_width) matrix; zeros in the columns the wide rows dropped
            gy_mat = _pad_into(gy_chunk.transpose(1, 0, 2, 3), (k, m, oh, row_width), 0, 0,
                               scratch=True)
            gy_mat = gy_mat.reshape(k, -1)
            gW_part = gb_part = None
            if needs_gb:
                gb_part = gy_mat.sum(axis=1)
            if needs_gW:
                cols = chunk_columns(x[start:stop], geometry)
                gW_part = weight_grad(gy_mat, cols, m, oh * row_width, self.groups)
                _workspace.give(cols)
            if needs_gx and transposed is None:
                self._input_grad_col2im(gy_mat, gx[start:stop])
            _workspace.give(gy_mat)
            _workspace.give(scratch)
            return gW_part, gb_part

        gW, gb = self._chunk_sums(map_chunks(run, geometry), needs_gW, needs_gb)
        if needs_gx and self.unbatched:
            gx = gx[0]
        return gx, gW, gb

    def _chunk_sums(self, parts, needs_gW: bool, needs_gb: bool) -> tuple:
        """``(gW, gb)`` from the chunks' ``(gW_part, gb_part)``, added in chunk order: the
        same result for any number of threads."""
        gW = gb = None
        if needs_gW:
            gW = sum_in_order([gW_part for gW_part, _ in parts])
            gW = gW.reshape(self.geometry.weight_shape)
        if needs_gb:
            gb = sum_in_order([gb_part for _, gb_part in parts])
        return gW, gb

    def _sample_columns(self, x_chunk):
        """A chunk's sample-major columns ``(m, C F_h F_w, OH OW)`` and the workspace array
        to give back: for a ``pointwise`` convolution the input sampled at the stride, no
        im2col (``None`` to give back)."""
        if self.geometry.pointwise:
            m, c = x_chunk.shape[:2]
            return _sampled(x_chunk, self.stride).reshape(m, c, -1), None
        cols = chunk_columns(x_chunk, self.geometry)
        return cols, cols

    def _sample_forward(self, x, w_mat, bias, out) -> None:
        """``Y[n] = W_mat X_col[n] + b`` with sample-major columns (``sample_major``, or
        a ``pointwise`` convolution: the input is its own columns): one batched GEMM per
        chunk, each product a sample's output in NCHW order, which a plain ``Conv2d``
        writes straight into its output."""
        geometry = self.geometry
        k = geometry.weight_shape[0]
        oh, ow = geometry.out_size
        direct = type(self)._store is Conv2d._store

        def run(start, stop):
            m = stop - start
            cols, scratch = self._sample_columns(x[start:stop])
            if direct:
                y = out[start:stop].reshape(m, k, oh * ow)
            else:
                y = _workspace.take((m, k, oh * ow), x.dtype)
            numpy.matmul(w_mat, cols, out=y)
            _workspace.give(scratch)
            if bias is not None:
                y += bias[:, None]
            if not direct:
                self._store(y.reshape(m, k, oh, ow), out, start, stop)
                _workspace.give(y)

        map_chunks(run, geometry)

    def _sample_backward(self, gy, x, gx, needs_gW: bool, needs_gb: bool):
        """``backward`` with sample-major columns, per chunk: ``gW = sum_n gY[n]
        X_col[n]^T``, ``gX_col[n] = W_mat^T gY[n]`` added back to its pixels by col2im (for
        a ``pointwise`` convolution ``gX_col[n]`` is the gradient of the sampled input
        itself, scattered to the strided positions of a zero ``gx`` for stride > 1), ``gb``
        the sum of ``gY``; returns ``(gW, gb)``."""
        geometry = self.geometry
        k = geometry.weight_shape[0]
        oh, ow = geometry.out_size
        w_t = self._weight_matrix(self.weight).T if gx is not None else None

        def run(start, stop):
            m = stop - start
            gy_chunk, scratch = self._output_grad(gy, start, stop)
            g = gy_chunk.reshape(m, k, oh * ow)
            gW_part = gb_part = None
            if needs_gb:
                gb_part = g.sum(axis=(0, 2))
            if needs_gW:
                cols, cols_scratch = self._sample_columns(x[start:stop])
                gW_part = numpy.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0)
                _workspace.give(cols_scratch)
            if gx is not None:
                self._sample_input_grad(w_t, g, gx[start:stop])
            _workspace.give(scratch)
            return gW_part, gb_part

        return self._chunk_sums(map_chunks(run, geometry), needs_gW, needs_gb)

    def _sample_input_grad(self, w_t, g, gx) -> None:
        """``gx`` (m, C, H, W) of one chunk from ``g`` = its ``gY`` as (m, K, OH OW):
        ``W_mat^T gY[n]`` per sample, then col2im (``_col2im``), or for a ``pointwise``
        convolution written (stride 1) or scattered (stride > 1) to the pixels it read."""
        geometry = self.geometry
        m, c = gx.shape[:2]
        if not geometry.pointwise:
            gx_cols = _workspace.take((m, w_t.shape[0], g.shape[2]), g.dtype)
            numpy.matmul(w_t, g, out=gx_cols)
            self._col2im(gx_cols, gx)
            _workspace.give(gx_cols)
        elif self.stride == (1, 1):
            numpy.matmul(w_t, g, out=gx.reshape(m, c, -1))
        else:
            gx[...] = 0
            _sampled(gx, self.stride)[...] = numpy.matmul(w_t, g).reshape(
                (m, c) + tuple(geometry.out_size))

    def _output_grad_graph(self, gy):
        """The gradient of the convolution's own output, recorded (``create_graph=True``):
        ``gy`` itself here; ``Conv2dReLU`` takes it back through its ReLU and pooling."""
        return gy

    def _backward_graph(self, gy):
        """``backward`` recorded (``create_graph=True``, ``gy`` and the saved ``x``, ``W`` are
        Tensors): ``gx = ConvInputGrad(gY, W)``, ``gW = ConvWeightGrad(x, gY)``, ``gb`` the
        sum of ``gY``, as ops of their own (whose gradients are again ``conv2d`` and these
        two), run by the same kernels as the array path."""
        needs = self.needs_input_grad
        x, weight = self.x, self.weight
        if self.unbatched:
            gy = gy.reshape((1,) + gy.shape)
            x = None if x is None else x.reshape((1,) + x.shape)
        gy = self._output_grad_graph(gy)
        options = self.options
        gx = gW = gb = None
        if needs[0]:
            gx = dual.apply(ConvInputGrad(options, self.geometry.x_shape), gy, weight)
            if self.unbatched:
                gx = gx.reshape(gx.shape[1:])
        if needs[1]:
            gW = dual.apply(ConvWeightGrad(options, self.geometry.weight_shape), x, gy)
        if len(needs) > 2 and needs[2]:
            gb = dual.sum(gy, axis=(0, 2, 3))
        return gx, gW, gb

    @property
    def options(self) -> tuple:
        """``(stride, padding, dilation, groups)``, as ``Conv2d`` takes them."""
        return self.stride, self.padding, self.dilation, self.groups

    def _weight_matrix(self, weight):
        """``W_mat``: (K, C F_h F_w), or (G, K/G, C/G F_h F_w) with groups."""
        k = weight.shape[0]
        if self.groups == 1:
            return weight.reshape(k, -1)
        return weight.reshape(self.groups, k // self.groups, -1)

    def _transposed_convolution(self):
        """Stride 1 with groups or dilation: ``gx`` as a convolution of ``gy``, the "full"
        one, with the filters flipped and regrouped (the col2im's ``F_h F_w`` strided adds
        cost 3-4x more for a depthwise layer):

        ``gx[n, g C/G + c] = sum_{k, i, j} gy_pad[n, g K/G + k, y + i D_h, x + j D_w]
        W[g K/G + k, c, F_h-1-i, F_w-1-j]``, ``gy`` zero-padded by ``D (F - 1) - P``: a
        convolution with dilation D, G groups and the filters ``W'`` (C, K/G, F_h, F_w).

        Returns:
            ``(padding, W')`` of the convolution to run on each chunk's ``gy``, or None
            where ``P > D (F - 1)`` (col2im then).
        """
        k, c_group, kh, kw = self.geometry.weight_shape
        groups = self.groups
        padding = [d * (f - 1) - p for f, d, p in zip((kh, kw), self.dilation, self.padding)]
        if min(padding) < 0:
            return None
        flipped = self.weight.reshape(groups, k // groups, c_group, kh, kw)
        flipped = flipped.transpose(0, 2, 1, 3, 4).reshape(groups * c_group, k // groups, kh, kw)
        return padding, numpy.ascontiguousarray(flipped[:, :, ::-1, ::-1])

    def _input_grad_col2im(self, gy_mat, gx):
        """``gX_col = W_mat^T gY`` (one GEMM; with groups, one batched matmul over them),
        then col2im: one strided add per (i, j) (stride 1 without groups or dilation takes
        ``_input_grad_col2im_rows``: one add per kernel row).

        ``gy_mat`` is the chunk's ``gY`` as ``(K, m OH row_width)``; ``gx`` (m, C, H, W)
        is written in place.
        """
        geometry = self.geometry
        if self.stride == (1, 1) and geometry.plain:
            return self._input_grad_col2im_rows(gy_mat, gx)
        pixels = geometry.out_size[0] * geometry.row_width
        w_mat = self._weight_matrix(self.weight)
        w_mat_t = w_mat.T if self.groups == 1 else w_mat.transpose(0, 2, 1)
        gx_cols = gemm(w_mat_t, gy_mat, gx.shape[0], pixels)
        self._col2im(gx_cols, gx)
        _workspace.give(gx_cols)

    def _col2im(self, gx_cols, gx) -> None:
        """col2im: add ``gX_col`` of a chunk, as (m, C F_h F_w, OH row_width), back to the
        pixels each column came from, one strided add per (i, j), into ``gx`` (m, C, H, W)
        (in place; through a zero-padded scratch copy where there is padding)."""
        geometry = self.geometry
        kh, kw = geometry.weight_shape[2:]
        c, h, w = geometry.x_shape[1:]
        oh = geometry.out_size[0]
        padded_h, padded_w = geometry.padded_size
        pad_h, pad_w = geometry.padding
        m = gx.shape[0]  # samples in this chunk
        gx_cols = gx_cols.reshape(m, c, kh, kw, oh, geometry.row_width)
        direct = (padded_h, padded_w) == (h, w)
        if direct:
            gx_padded = gx
        else:
            gx_padded = _workspace.take((m, c, padded_h, padded_w), gx_cols.dtype)
        gx_padded[...] = 0
        windows = _dilated_windows(gx_padded, (kh, kw), self.stride, gx_cols.shape[-2:],
                                   geometry.dilation, writeable=True)
        for i in range(kh):
            for j in range(kw):
                windows[:, :, i, j] += gx_cols[:, :, i, j]
        if not direct:
            numpy.copyto(gx, gx_padded[:, :, pad_h:pad_h + h, pad_w:pad_w + w])
            _workspace.give(gx_padded)

    def _input_grad_col2im_rows(self, gy_mat, gx):
        """Stride 1: col2im with ``F_h`` adds instead of ``F_h F_w``.

        In the wide rows (length ``Wp``) a kernel column ``j`` only shifts a pixel's flat
        position by ``j``; the shift moves into the product instead:
        ``h_i[c, p] = sum_{k, j} W[k, c, i, j] gy[k, p - j]`` is ONE GEMM of the weights as
        ``(C F_h, K F_w)`` with ``F_w`` shifted copies of ``gy`` (``K F_w`` rows; what a
        shift moves across a row end are the ``F_w - 1`` zero columns of the wide rows),
        and col2im adds each ``h_i`` to the padded ``gx`` ``i`` rows down. Measured against
        ``F_h F_w`` adds: LeNet-5's second layer 605 -> 361 us per chunk, a 3x3 layer with
        C=32, K=64 on 16x16 1859 -> 1647 us.
        """
        geometry = self.geometry
        k, c, kh, kw = geometry.weight_shape
        padded_h, padded_w = geometry.padded_size
        pad_h, pad_w = geometry.padding
        m = gx.shape[0]  # samples in this chunk
        h, w = geometry.x_shape[2:]
        length = geometry.out_size[0] * geometry.row_width  # output pixels per sample
        gy_per_sample = gy_mat.reshape(k, m, length)
        shifted = _workspace.take((k, kw, m, length), gy_mat.dtype)
        for j in range(kw):
            shifted[:, j, :, :j] = 0
            shifted[:, j, :, j:] = gy_per_sample[:, :, :length - j]
        weights = self.weight.transpose(1, 2, 0, 3).reshape(c * kh, k * kw)
        h_mat = gemm(weights, shifted.reshape(k * kw, m * length), m, length)
        _workspace.give(shifted)
        h_rows = h_mat.reshape(m, c, kh, length)  # h_rows[:, :, i] is h_i
        gx_padded = _workspace.take((m, c, padded_h * padded_w), gy_mat.dtype)
        gx_padded[...] = 0
        for i in range(kh):
            gx_padded[:, :, i * padded_w:i * padded_w + length] += h_rows[:, :, i]
        _workspace.give(h_mat)
        gx_padded_4d = gx_padded.reshape(m, c, padded_h, padded_w)
        numpy.copyto(gx, gx_padded_4d[:, :, pad_h:pad_h + h, pad_w:pad_w + w])
        _workspace.give(gx_padded)

    def _input_grad_full(self, gy, x, gx, needs_gb: bool):
        """Stride 1, one chunk: ``gx`` as the "full" convolution of ``gy`` with the flipped
        weights, and ``gW`` from the same columns of ``gy``.

        ``gx[n, c, y, x] = sum_{k, i, j} gy_pad[n, k, y + i, x + j] W[k, c, F_h-1-i, F_w-1-j]``
        where ``gy_pad`` is ``gy`` padded by ``F - 1 - P`` (cropped where that is < 0), and
        ``gW[k, c, p, q] = sum_{n, y, x} x[n, c, y, x] gy_pad[n, k, y + F_h-1-p, x + F_w-1-q]``:
        both are products with the columns of ``gy_pad`` (rows ``(k, i, j)``, one column
        per input pixel), so ``gW`` needs only ``x`` laid out as ``(C, m H W)``, not its
        ``F_h F_w`` times larger columns. The columns have wide rows too: ``W + F_w - 1``
        per input row, the last ``F_w - 1`` dropped.

        Returns:
            ``(gW part or None, gb part or None)`` of this chunk; ``gx`` is written in place.
        """
        geometry = self.geometry
        k, c, kh, kw = geometry.weight_shape
        pad_h, pad_w = geometry.padding
        m = gx.shape[0]  # samples in this chunk
        h, w = geometry.x_shape[2:]
        full_width = w + kw - 1  # the row width of the full convolution's columns
        gy_padded = _pad_into(gy, (m, k, h + kh, full_width), kh - 1 - pad_h, kw - 1 - pad_w,
                              scratch=True)
        cols = columns(gy_padded, (kh, kw), (1, 1), (h, full_width))
        _workspace.give(gy_padded)
        gW_part = gb_part = None
        if needs_gb:
            gb_part = gy.sum(axis=(0, 2, 3))
        if x is not None:
            # x as (C, m H full_width), zeros in the columns past W (the wide rows)
            x_mat = _pad_into(x.transpose(1, 0, 2, 3), (c, m, h, full_width), 0, 0,
                              scratch=True)
            # NOTE: as (K F_h F_w, m H full_width) by (m H full_width, C): 10% faster than
            # the transpose
            g_flipped = numpy.matmul(cols, x_mat.reshape(c, -1).T).T
            _workspace.give(x_mat)
            g_flipped = g_flipped.reshape(c, k, kh, kw)
            gW_part = g_flipped[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        flipped = self.weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(c, -1)
        gx_mat = gemm(flipped, cols, m, h * full_width)
        _workspace.give(cols)
        numpy.copyto(gx, gx_mat.reshape(m, c, h, full_width)[..., :w])
        _workspace.give(gx_mat)
        return gW_part, gb_part

    def _check(self, x, weight, bias) -> None:
        extra = f" (weight {tuple(weight.shape)})"
        _check_input("conv2d", x, extra)
        if weight.ndim != 4:
            raise RuntimeError(f"conv2d: expected a 4-D weight (K, C, F_h, F_w), got shape "
                               f"{tuple(weight.shape)} (input {tuple(x.shape)})")
        groups = self.groups
        if weight.shape[0] % groups:
            raise RuntimeError(f"conv2d: given groups={groups}, expected weight to be "
                               f"divisible by {groups} at dimension 0, but got weight of "
                               f"shape {tuple(weight.shape)} instead")
        if x.shape[-3] != weight.shape[1] * groups:
            raise RuntimeError(f"conv2d: given groups={groups}, weight of shape "
                               f"{tuple(weight.shape)} expects input {tuple(x.shape)} to have "
                               f"{weight.shape[1] * groups} channels, but got {x.shape[-3]} "
                               f"channels instead (weight is (K, C/groups, F_h, F_w))")
        if weight.dtype != x.dtype:
            raise RuntimeError(f"conv2d: input dtype {x.dtype} and weight dtype "
                               f"{weight.dtype} differ; convert one of them")
        if bias is not None:
            if bias.shape != weight.shape[:1]:
                raise RuntimeError(f"conv2d: bias of shape {tuple(bias.shape)} does not fit "
                                   f"weight of shape {tuple(weight.shape)}: expected "
                                   f"({weight.shape[0]},)")
            if bias.dtype != x.dtype:
                raise RuntimeError(f"conv2d: input dtype {x.dtype} and bias dtype "
                                   f"{bias.dtype} differ; convert one of them")


class ConvInputGrad(Function):
    """``gx = ConvInputGrad(gY, W)``: the gradient of ``y = conv2d(x, W)`` with respect to
    ``x`` (shape ``x_shape``) for the upstream gradient ``gY`` (a transposed convolution):

    ``gx[n, g C/G + c, oh S_h + i D_h - P_h, ow S_w + j D_w - P_w] += gY[n, k, oh, ow]
    W[k, c, i, j]`` over ``k`` in group g and ``i, j, oh, ow`` (what lands in the padding is
    dropped).

    It is bilinear in ``(gY, W)``: ``<v, ConvInputGrad(gY, W)> = <conv2d(v, W), gY>``, so for
    the gradient ``v`` of ``gx`` (shaped like ``x``) ``g_gY = conv2d(v, W)`` and
    ``g_W = ConvWeightGrad(v, gY)``: with ``Conv2d`` and ``ConvWeightGrad`` a closed set,
    differentiable to any order (PyTorch's ``_convolution_double_backward``). Forward: the
    input-gradient kernels of ``Conv2d.backward``. A ``gY`` smaller than the convolution's
    output (``conv_transpose2d`` with an output padding of at least the stride) is the
    gradient of that output cut to its size: zero-padded first.
    """

    saved_inputs = ("gy", "weight")

    def __init__(self, options, x_shape):
        self.options = tuple(options)
        self.x_shape = tuple(x_shape)

    def forward(self, gy, weight):
        self.gy = gy if self.needs_input_grad[1] else None
        self.weight = weight if self.needs_input_grad[0] else None
        self.out_size, self.weight_shape = gy.shape[2:], weight.shape
        kernel = _backward_kernel(self.options, self.x_shape, weight.shape)
        kernel.weight = weight
        kernel.needs_input_grad = (True, False)
        return kernel.backward(_pad_output(gy, kernel.geometry))[0]

    def backward(self, g):
        needs = self.needs_input_grad
        g_gy = g_W = None
        if needs[0]:
            g_gy = _convolve(self.options, g, self.weight, self.out_size)
        if needs[1]:
            g_W = dual.apply(ConvWeightGrad(self.options, self.weight_shape), g, self.gy)
        return g_gy, g_W


class ConvWeightGrad(Function):
    """``gW = ConvWeightGrad(x, gY)``: the gradient of ``y = conv2d(x, W)`` with respect to
    ``W`` (shape ``weight_shape``) for the upstream gradient ``gY``:

    ``gW[k, c, i, j] = sum_{n, oh, ow} x_pad[n, g C/G + c, oh S_h + i D_h, ow S_w + j D_w]
    gY[n, k, oh, ow]`` (``g`` is filter k's group), ``gW = gY X_col^T`` as matrices.

    Bilinear in ``(x, gY)``: ``<V, ConvWeightGrad(x, gY)> = <conv2d(x, V), gY>``, so for the
    gradient ``V`` of ``gW`` ``g_x = ConvInputGrad(gY, V)`` and ``g_gY = conv2d(x, V)``
    (see ``ConvInputGrad``). Forward: the weight-gradient kernels of ``Conv2d.backward``.
    """

    saved_inputs = ("x", "gy")

    def __init__(self, options, weight_shape):
        self.options = tuple(options)
        self.weight_shape = tuple(weight_shape)

    def forward(self, x, gy):
        self.x = x if self.needs_input_grad[1] else None
        self.gy = gy if self.needs_input_grad[0] else None
        self.x_shape, self.out_size = x.shape, gy.shape[2:]
        kernel = _backward_kernel(self.options, x.shape, self.weight_shape)
        kernel.x = x
        kernel.needs_input_grad = (False, True)
        return kernel.backward(_pad_output(gy, kernel.geometry))[1]

    def backward(self, g):
        needs = self.needs_input_grad
        g_x = g_gy = None
        if needs[0]:
            g_x = dual.apply(ConvInputGrad(self.options, self.x_shape), self.gy, g)
        if needs[1]:
            g_gy = _convolve(self.options, self.x, g, self.out_size)
        return g_x, g_gy


def _backward_kernel(options, x_shape, weight_shape) -> Conv2d:
    """A ``Conv2d`` as its forward on ``x_shape`` and ``weight_shape`` leaves it, nothing
    saved yet: its ``backward`` runs the gradient kernels on arrays."""
    kernel = Conv2d(*options)
    reach = _reach(weight_shape[2:], kernel.dilation)
    out_size = _output_size("conv2d", x_shape, reach, kernel.stride, kernel.padding)
    kernel.geometry = ConvGeometry.of(x_shape, weight_shape, kernel.stride, kernel.padding,
                                      out_size, kernel.dilation, kernel.groups)
    kernel.unbatched = False
    kernel.x = kernel.weight = None
    return kernel


def _pad_output(gy, geometry: ConvGeometry):
    """``gy`` zero-padded at the bottom / right to the convolution's output size."""
    if tuple(gy.shape[2:]) == tuple(geometry.out_size):
        return gy
    full = numpy.zeros(gy.shape[:2] + tuple(geometry.out_size), dtype=gy.dtype)
    full[:, :, :gy.shape[2], :gy.shape[3]] = gy
    return full


def _convolve(options, x, weight, out_size):
    """``conv2d(x, W)`` (arrays or Tensors), cut to ``out_size`` when that is smaller."""
    y = dual.apply(Conv2d(*options), x, weight)
    if tuple(y.shape[2:]) != tuple(out_size):
        y = y[:, :, :out_size[0], :out_size[1]]
    return y


def _sampled(x, stride):
    """``x[:, :, ::S_h, ::S_w]``: the pixels a 1x1 filter with stride S reads (a view)."""
    return x[:, :, ::stride[0], ::stride[1]]


def _reach(kernel, dilation) -> tuple:
    """The span ``D (F - 1) + 1`` of a dilated filter along each axis (F for D = 1)."""
    return tuple(d * (f - 1) + 1 for f, d in zip(kernel, dilation))


def same_padding(kernel, dilation) -> tuple:
    """PyTorch's ``padding='same'``: ``((top, bottom), (left, right))`` adding up to
    ``D (F - 1)`` per axis, the odd one of an even total at the bottom / right."""
    totals = [d * (f - 1) for f, d in zip(kernel, dilation)]
    return tuple((total // 2, total - total // 2) for total in totals)


def resolve_padding(x, weight, stride, padding, dilation) -> tuple:
    """``(x, padding)`` for ``Conv2d``: a string ``padding`` as numbers, PyTorch's way.

    ``'valid'`` is 0; ``'same'`` (stride 1 only) keeps the output size: the padding of
    ``same_padding``; where ``D (F - 1)`` is odd (an even filter, D odd), the extra row /
    column goes onto a zero-padded copy of ``x`` (``pad``, as PyTorch), the rest to
    ``Conv2d``.
    Numbers pass through as they are.
    """
    if not isinstance(padding, str):
        return x, padding
    if padding == "valid":
        return x, 0
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: {padding!r}")
    if int_pair(stride, "conv2d: stride", 1, TypeError, RuntimeError) != (1, 1):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    kernel = tuple(weight.shape[-2:]) if weight.ndim >= 2 else (1, 1)
    dilation = int_pair(dilation, "conv2d: dilation", 1, TypeError, RuntimeError)
    (top, bottom), (left, right) = same_padding(kernel, dilation)
    if (top, left) != (bottom, right):
        x = pad(x, (0, right - left, 0, bottom - top))
    return x, (top, left)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1,  # noqa: A002
           groups=1):
    """2-D convolution of ``input`` with K filters of size F (the lecture's CNN layer).

    Output size per spatial axis: ``floor((N + 2P - D (F - 1) - 1) / S) + 1`` for input
    size N, filter size F, stride S, padding P (zeros on every side) and dilation D; for
    D = 1 the lecture's ``(N - F + 2P) / S + 1``.

    Args:
        input: (N, C, H, W), or (C, H, W) for a single sample.
        weight: the K filters, (K, C / groups, F_h, F_w) (``(K, C, F, F)`` for square ones
            without groups).
        bias: optional (K,).
        stride: S, an int or a pair (S_h, S_w).
        padding: P, an int or a pair (P_h, P_w), or ``'valid'`` (0) or ``'same'`` (the
            output as large as the input; stride 1 only; an uneven ``D (F - 1)`` puts the
            extra row / column at the bottom / right, as PyTorch).
        dilation: D, the spacing of a filter's taps, an int or a pair.
        groups: G: the input channels in G groups, each convolved with K / G of the
            filters (C and K divisible by G; G = C is a depthwise convolution).

    Returns:
        Tensor (N, K, OH, OW) (or (K, OH, OW) for a single sample), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.ones(2, 1, 28, 28)
        >>> w = numnet.ones(6, 1, 5, 5)
        >>> F.conv2d(x, w, padding=2).shape
        (2, 6, 28, 28)
        >>> float(F.conv2d(x, w, stride=2)[0, 0, 0, 0])
        25.0
        >>> F.conv2d(x, w, padding="same", dilation=2).shape
        (2, 6, 28, 28)
        >>> F.conv2d(numnet.ones(2, 4, 8, 8), numnet.ones(4, 1, 3, 3), groups=4).shape
        (2, 4, 6, 6)
    """
    x, weight = as_tensor(input), as_tensor(weight)
    x, padding = resolve_padding(x, weight, stride, padding, dilation)
    function = Conv2d(stride, padding, dilation, groups)
    return function(x, weight) if bias is None else function(x, weight, as_tensor(bias))
