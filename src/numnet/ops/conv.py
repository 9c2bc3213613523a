"""Convolution over NCHW batches: ``conv2d`` and the fused ``conv2d_relu``.

The lecture's CNN: K filters of size F, applied with stride S over an input zero-padded by
P on every side. Along each spatial axis of size N the output has

    ``(N - F + 2P) / S + 1``   (rounded down)

positions; PyTorch writes the same formula with ``H_in, kernel_size, stride, padding``.
Every op accepts ``F``, ``S`` and ``P`` as an int or as a pair ``(for H, for W)``.

How it is fast (no Python loop over samples or pixels anywhere):

- **im2col as a strided view.** ``as_strided`` looks at the padded input as windows
  ``(N, C, F_h, F_w, OH, OW)`` without copying; one copy lays them out as the column
  matrix ``X_col`` of shape ``(C F_h F_w, N OH OW)`` of a chunk of the batch, and ONE GEMM
  multiplies it by the weights ``(K, C F_h F_w)`` for the whole chunk.
- **Wide rows for stride 1.** With stride 1 the columns span the full padded width ``Wp``
  instead of ``OW``: every row of ``X_col`` is then made of long contiguous runs, so the
  copy is fast, at the price of ``Wp - OW`` extra output columns per row, dropped at once.
- **Cache-sized batch chunks, on every core.** The batch is cut into chunks whose column
  matrix stays in cache (``_CHUNK_ELEMENTS``); im2col, GEMM and the output copy of a chunk
  run back to back, and the chunks are spread over ``numnet.get_num_threads()`` threads
  (``numnet.backend.parallel_map``; NumPy releases the GIL in BLAS and large copies). The
  chunks depend only on the shapes, so any number of threads gives the same bits.
- **Backward** is GEMMs too, per chunk: ``gW = gY X_col^T`` with the columns rebuilt from
  the saved input (as PyTorch saves the input, not its columns: 25x smaller for 5x5
  kernels, and rebuilding a chunk in cache costs less than reading it back from memory);
  ``gx`` either by col2im (``W^T gY``, scattered back by ``F_h F_w`` strided adds, one per
  kernel offset; for stride 1 by ``F_h`` adds, the column shifts done inside the GEMM) or,
  for stride 1, as the "full" convolution of the padded ``gy`` with the flipped weights,
  whichever moves less memory (``_full_is_cheaper``); gradients nobody
  needs are not computed. Partial ``gW``, ``gb`` of the chunks are added in chunk order.
- **No fresh pages.** The scratch matrices come from a small per-thread workspace and go
  back to it when done, so the kernel does not fault and zero pages on every call.
- **Fused with what follows.** ``conv2d_relu`` (``Conv2dReLU``) applies the ReLU, and
  a max pooling whose windows tile the output, to each chunk while it is in cache; the
  full-size output is never stored. ``nn.Sequential`` runs ``Conv2d, ReLU(, MaxPool2d)``
  this way when no hook could see the tensors in between.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.backend import parallel_map
from numnet.ops._grid import _check_input, _output_size, _pad_into, _pair, _windows, _workspace
from numnet.ops.pool import _index_dtype, _max_pool_chunk, _max_pool_grad_chunk


class Conv2d(Function):
    """2-D convolution (cross-correlation, like every framework) of ``x`` with K filters
    of size F, stride S and zero padding P (each an int or a pair, ``(F_h, F_w)`` etc.).

    ``y[n, k, oh, ow] = b[k] + sum_{c, i, j} x_pad[n, c, oh S_h + i, ow S_w + j] W[k, c, i, j]``

    As matrices, with ``X_col`` the im2col columns ``(C F_h F_w, N OH OW)`` (one column per
    output pixel of every sample) and ``W_mat = W.reshape(K, C F_h F_w)``:
    ``Y = W_mat X_col + b``, so ``gW = gY X_col^T``, ``gb = sum of gY over N, OH, OW``, and
    ``gX_col = W_mat^T gY``, which col2im adds back to the pixels each column came from.
    Shapes: x (N, C, H, W), W (K, C, F_h, F_w), b (K,), y (N, K, OH, OW) with
    ``OH = floor((H - F_h + 2 P_h) / S_h) + 1`` (same for OW).
    """

    def __init__(self, stride=1, padding=0):
        self.stride = _pair(stride, "stride", "conv2d", 1)
        self.padding = _pair(padding, "padding", "conv2d", 0)

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
        self._check(x, weight, bias)
        self.unbatched = x.ndim == 3
        if self.unbatched:
            x = x[None]
        n, c, h, w = x.shape
        k, _, kh, kw = weight.shape
        ph, pw = self.padding
        oh, ow = _output_size("conv2d", x.shape, (kh, kw), self.stride, self.padding)
        # NOTE: with stride 1 the windows of a row run over the whole padded width (wide
        # rows, see the module docstring); an extra zero row at the bottom holds what the
        # last row of windows reads past its end.
        wide = self.stride == (1, 1)
        hq, wq = h + 2 * ph + wide, w + 2 * pw
        owc = wq if wide else ow
        self.geometry = (x.shape, weight.shape, (oh, ow), (hq, wq), owc)
        out = self._output_arrays(n, k, oh, ow, x.dtype)
        w_mat = weight.reshape(k, -1)

        def run(start, stop):
            cols = self._chunk_columns(x[start:stop])
            y_mat = _gemm(w_mat, cols, stop - start, oh * owc)  # one GEMM per chunk
            _workspace.give(cols)
            if bias is not None:
                y_mat += bias[:, None]
            self._store(y_mat.reshape(stop - start, k, oh, owc)[..., :ow], out, start, stop)
            _workspace.give(y_mat)

        self._map_chunks(run)
        # Like PyTorch, backward keeps the input (not its columns: they are rebuilt per
        # chunk, which is cheaper than storing them and far smaller).
        self.x = x if self.needs_input_grad[1] else None
        self.weight = weight if self.needs_input_grad[0] else None
        return out[0] if self.unbatched else out

    def _map_chunks(self, run) -> list:
        """``run(start, stop)`` for every chunk: over the worker threads for a large
        convolution, in this thread for a small one (same chunks, same results)."""
        x_shape, w_shape, (oh, ow), _, _ = self.geometry
        macs = x_shape[0] * oh * ow * w_shape[0] * w_shape[1] * w_shape[2] * w_shape[3]
        threads = 1 if macs < _PARALLEL_MIN_MACS else None
        return parallel_map(run, self._chunks(), threads)

    def _chunks(self):
        """Batch chunks ``(start, stop)`` whose columns fit in cache, for ``parallel_map``.

        The chunking depends only on the shapes, never on the number of threads, so results
        are the same whether the chunks run on one thread or several.
        """
        x_shape, w_shape, (oh, _), _, owc = self.geometry
        n = x_shape[0]
        per_sample = w_shape[1] * w_shape[2] * w_shape[3] * oh * owc
        if n == 0:
            return [(0, 0)]
        size = max(1, min(n, _CHUNK_ELEMENTS // per_sample))
        count = -(-n // size)
        if count % 2 and count < n:
            count += 1  # an even count splits evenly over 2 (or 4, 6, ...) threads
        bounds = [n * i // count for i in range(count + 1)]
        return list(zip(bounds, bounds[1:]))

    def _chunk_columns(self, x):
        """im2col of a chunk of the (unpadded) input: ``(C F_h F_w, m OH OWc)``."""
        x_shape, (_, c, kh, kw), (oh, _), (hq, wq), owc = self.geometry
        ph, pw = self.padding
        if hq != x_shape[2] or wq != x_shape[3]:
            xp = _pad_into(x, (x.shape[0], c, hq, wq), ph, pw, scratch=True)
            cols = _columns(xp, (kh, kw), self.stride, (oh, owc))
            _workspace.give(xp)
            return cols
        return _columns(x, (kh, kw), self.stride, (oh, owc))

    def backward(self, gy):
        x_shape, w_shape, (oh, ow), _, owc = self.geometry
        k = w_shape[0]
        if self.unbatched:
            gy = gy[None]
        needs = self.needs_input_grad
        gx = gW = gb = None
        needs_bias = len(needs) > 2 and needs[2]
        if needs[0]:
            gx = numpy.empty(x_shape, dtype=gy.dtype)
        full = (needs[0] and self.stride == (1, 1)
                and _full_is_cheaper(x_shape, w_shape, oh, owc))

        def run(start, stop):
            m = stop - start
            g, scratch = self._output_grad(gy, start, stop)
            if full:
                parts = self._input_grad_full(g, self.x[start:stop] if needs[1] else None,
                                              gx[start:stop], needs_bias)
                _workspace.give(scratch)
                return parts
            # gY as a (K, m OH OWc) matrix; zeros in the columns the wide rows dropped
            gy_mat = _pad_into(g.transpose(1, 0, 2, 3), (k, m, oh, owc), 0, 0, scratch=True)
            gy_mat = gy_mat.reshape(k, -1)
            part_w = part_b = None
            if needs_bias:
                part_b = gy_mat.sum(axis=1)
            if needs[1]:
                cols = self._chunk_columns(self.x[start:stop])
                part_w = _weight_grad(gy_mat, cols, m, oh * owc)
                _workspace.give(cols)
            if needs[0]:
                self._input_grad_col2im(gy_mat, gx[start:stop])
            _workspace.give(gy_mat)
            _workspace.give(scratch)
            return part_w, part_b

        # the partial sums of each chunk are added in chunk order: the same result for
        # any number of threads
        parts = self._map_chunks(run)
        if needs[1]:
            gW = _sum_in_order([p[0] for p in parts]).reshape(w_shape)
        if needs_bias:
            gb = _sum_in_order([p[1] for p in parts])
        if needs[0] and self.unbatched:
            gx = gx[0]
        return gx, gW, gb

    def _input_grad_col2im(self, gy_mat, gx):
        """``gX_col = W_mat^T gY`` (one GEMM), then col2im: one strided add per (i, j)
        (stride 1 takes ``_input_grad_col2im_rows``: one add per kernel row)."""
        if self.stride == (1, 1):
            return self._input_grad_col2im_rows(gy_mat, gx)
        x_shape, (k, c, kh, kw), (oh, _), (hq, wq), owc = self.geometry
        n = gx.shape[0]
        h, w = x_shape[2:]
        ph, pw = self.padding
        g_mat = _gemm(self.weight.reshape(k, -1).T, gy_mat, n, oh * owc)
        g_cols = g_mat.reshape(n, c, kh, kw, oh, owc)
        gxp = _workspace.take((n, c, hq, wq), g_cols.dtype)
        gxp[...] = 0
        windows = _windows(gxp, (kh, kw), self.stride, (oh, owc), writeable=True)
        for i in range(kh):
            for j in range(kw):
                windows[:, :, i, j] += g_cols[:, :, i, j]
        _workspace.give(g_mat)
        numpy.copyto(gx, gxp[:, :, ph:ph + h, pw:pw + w])
        _workspace.give(gxp)

    def _input_grad_col2im_rows(self, gy_mat, gx):
        """Stride 1: col2im with ``F_h`` adds instead of ``F_h F_w``.

        In the wide rows (length ``Wq``) a kernel column ``j`` only shifts a pixel's flat
        position by ``j``; the shift moves into the product instead:
        ``h_i[c, p] = sum_{k, j} W[k, c, i, j] gy[k, p - j]`` is ONE GEMM of the weights as
        ``(C F_h, K F_w)`` with ``F_w`` shifted copies of ``gy`` (``K F_w`` rows; what a
        shift moves across a row end are the ``F_w - 1`` zero columns of the wide rows),
        and col2im adds each ``h_i`` to the padded ``gx`` ``i`` rows down. Measured against
        ``F_h F_w`` adds: LeNet-5's second layer 605 -> 361 us per chunk, a 3x3 layer with
        C=32, K=64 on 16x16 1859 -> 1647 us.
        """
        x_shape, (k, c, kh, kw), (oh, _), (hq, wq), owc = self.geometry
        n = gx.shape[0]
        h, w = x_shape[2:]
        ph, pw = self.padding
        length = oh * owc
        gy3 = gy_mat.reshape(k, n, length)
        shifted = _workspace.take((k, kw, n, length), gy_mat.dtype)
        for j in range(kw):
            shifted[:, j, :, :j] = 0
            shifted[:, j, :, j:] = gy3[:, :, :length - j]
        weights = self.weight.transpose(1, 2, 0, 3).reshape(c * kh, k * kw)
        h_mat = _gemm(weights, shifted.reshape(k * kw, n * length), n, length)
        _workspace.give(shifted)
        rows = h_mat.reshape(n, c, kh, length)
        gxp = _workspace.take((n, c, hq * wq), gy_mat.dtype)
        gxp[...] = 0
        for i in range(kh):
            gxp[:, :, i * wq:i * wq + length] += rows[:, :, i]
        _workspace.give(h_mat)
        numpy.copyto(gx, gxp.reshape(n, c, hq, wq)[:, :, ph:ph + h, pw:pw + w])
        _workspace.give(gxp)

    def _input_grad_full(self, gy, x, gx, needs_bias: bool):
        """Stride 1, one chunk: ``gx`` as the "full" convolution of ``gy`` with the flipped
        weights, and ``gW`` from the same columns of ``gy``.

        ``gx[n, c, y, x] = sum_{k, i, j} gy_pad[n, k, y + i, x + j] W[k, c, F_h-1-i, F_w-1-j]``
        where ``gy_pad`` is ``gy`` padded by ``F - 1 - P`` (cropped where that is < 0), and
        ``gW[k, c, p, q] = sum_{n, y, x} x[n, c, y, x] gy_pad[n, k, y + F_h-1-p, x + F_w-1-q]``:
        both are products with the columns of ``gy_pad`` (rows ``(k, i, j)``, one column
        per input pixel), so ``gW`` needs only ``x`` laid out as ``(C, m H W)``, not its
        ``F_h F_w`` times larger columns.

        Returns:
            ``(gW part or None, gb part or None)`` of this chunk; ``gx`` is written in place.
        """
        x_shape, (k, c, kh, kw), _, _, _ = self.geometry
        n = gx.shape[0]
        h, w = x_shape[2:]
        ph, pw = self.padding
        wg = w + kw - 1
        gz = _pad_into(gy, (n, k, h + kh, wg), kh - 1 - ph, kw - 1 - pw, scratch=True)
        cols = _columns(gz, (kh, kw), (1, 1), (h, wg))
        _workspace.give(gz)
        part_w = part_b = None
        if needs_bias:
            part_b = gy.sum(axis=(0, 2, 3))
        if x is not None:
            # x as (C, m H Wg), zeros in the columns past W (the wide rows of the columns)
            xw = _pad_into(x.transpose(1, 0, 2, 3), (c, n, h, wg), 0, 0, scratch=True)
            # NOTE: as (K F_h F_w, m H Wg) by (m H Wg, C): 10% faster than the transpose
            g = numpy.matmul(cols, xw.reshape(c, -1).T).T
            _workspace.give(xw)
            part_w = g.reshape(c, k, kh, kw)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        flipped = self.weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(c, -1)
        gx_mat = _gemm(flipped, cols, n, h * wg)
        _workspace.give(cols)
        numpy.copyto(gx, gx_mat.reshape(n, c, h, wg)[..., :w])
        _workspace.give(gx_mat)
        return part_w, part_b

    @staticmethod
    def _check(x, weight, bias) -> None:
        extra = f" (weight {tuple(weight.shape)})"
        _check_input("conv2d", x, extra)
        if weight.ndim != 4:
            raise RuntimeError(f"conv2d: expected a 4-D weight (K, C, F_h, F_w), got shape "
                               f"{tuple(weight.shape)} (input {tuple(x.shape)})")
        if x.shape[-3] != weight.shape[1]:
            raise RuntimeError(f"conv2d: input of shape {tuple(x.shape)} has {x.shape[-3]} "
                               f"channels, but weight of shape {tuple(weight.shape)} expects "
                               f"{weight.shape[1]} (weight is (K, C, F_h, F_w))")
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


def _sum_in_order(arrays):
    """``arrays[0] + arrays[1] + ...``, added left to right into the first one."""
    total = arrays[0]
    for array in arrays[1:]:
        total += array
    return total


def _columns(xp, kernel, stride, out_size):
    """im2col: the ``(C F_h F_w, N OH OW)`` column matrix of ``xp`` (N, C, H, W).

    One copy of the strided window view, channel-major so that every row of the matrix is
    made of long contiguous runs (whole output rows, or ``OH OWc`` runs for wide rows).
    """
    n, c = xp.shape[:2]
    windows = _windows(xp, kernel, stride, out_size).transpose(1, 2, 3, 0, 4, 5)
    cols = _workspace.take(windows.shape, xp.dtype)
    numpy.copyto(cols, windows)
    return cols.reshape(c * kernel[0] * kernel[1], n * out_size[0] * out_size[1])


# NOTE: OpenBLAS multiplies a small matrix (the first layer of LeNet: 6 x 25) by the long,
# thin columns (C F_h F_w, N OH OW) 2-5x slower than N products of one sample's columns,
# and slower still when another process shares the cores (its threads wait on each other).
# Up to this many entries in the small matrix, the GEMM is a batched matmul over samples
# (still one call; each product is small enough for OpenBLAS to run it on one thread).
_PER_SAMPLE_MAX = 1024

# NOTE: OpenBLAS multiplies matrices with M N K up to about 1e6 without packing them (its
# small-matrix kernels): LeNet-5's second layer (16 x 150 by 150 x 140 per sample) ran 20%
# faster as per-sample products than as one product over the chunk. (``_PER_SAMPLE_MAX = 0``
# turns per-sample products off altogether.)
_SMALL_GEMM = 10 ** 6

# Column-matrix entries per batch chunk (see ``Conv2d._chunks``): small enough to stay in
# cache between the im2col copy and the GEMM, large enough to keep the GEMM efficient.
_CHUNK_ELEMENTS = 2 ** 20

# NOTE: below this many multiply-adds the thread hand-off (50-150 us on a 2-core VM) costs
# more than the second core gives. LeNet-5's layers (7-15 million at batch 64) gain 1.04-
# 1.34x on 2 threads since numnet's products keep OpenBLAS's threads asleep (with them
# spinning, its step took 14.1 ms on 2 threads against 12.0 ms on 1); the CIFAR CNN's
# layers (0.15-1.2 billion) gain 1.6-2.0x.
_PARALLEL_MIN_MACS = 2 ** 22


def _gemm(a, cols, n: int, pixels: int):
    """``a @ cols`` for ``a`` (M, R) and columns (R, N L), as an (N, M, L) array.

    L = ``pixels`` per sample. The result comes from the workspace: give it back.
    """
    m, r = a.shape
    if m * r <= _PER_SAMPLE_MAX or (_PER_SAMPLE_MAX and m * r * pixels <= _SMALL_GEMM):
        out = _workspace.take((n, m, pixels), a.dtype)
        numpy.matmul(a, cols.reshape(r, n, pixels).transpose(1, 0, 2), out=out)
        return out
    out = _workspace.take((m, n, pixels), a.dtype)
    numpy.matmul(a, cols, out=out.reshape(m, n * pixels))
    return out.transpose(1, 0, 2)


def _weight_grad(gy_mat, cols, n: int, pixels: int):
    """``gW = gY X_col^T``: (K, N L) times (N L, C F_h F_w), L = ``pixels`` per sample."""
    k, ckk = gy_mat.shape[0], cols.shape[0]
    if k * ckk > _PER_SAMPLE_MAX:
        return numpy.matmul(cols, gy_mat.T).T
    per_sample = numpy.matmul(gy_mat.reshape(k, n, pixels).transpose(1, 0, 2),
                              cols.reshape(ckk, n, pixels).transpose(1, 2, 0))
    return per_sample.sum(axis=0)


_INPUT_GRAD = "auto"  # "col2im" or "full" forces one method (tests check both)


def _full_is_cheaper(x_shape, w_shape, oh: int, owc: int) -> bool:
    """Choose the stride-1 input gradient: the "full" convolution or col2im.

    Both do the same GEMM work; they differ in the column matrix they write and read:
    ``K F_h F_w H (W + F_w - 1)`` numbers per sample for the full convolution,
    ``C F_h F_w OH OWc`` for col2im, which then also adds ``F_h F_w`` times over the padded
    input. Measured on a 2-core AMD EPYC (OpenBLAS) over 14 layer shapes: col2im wins
    while its columns stay in cache or the full ones are more numerous (LeNet-5's second
    layer, K=16, C=6: 3.7x faster); the full convolution wins when its columns are at most
    as many and col2im's spill out of cache (16 MiB and more: 5x5, K=C=32 on 32x32: 1.5x
    faster), and whenever they are at most half as many (K=16, C=64: 3x faster). These
    measurements predate col2im's ``F_h``-add form for stride 1 (``_input_grad_col2im_rows``,
    1.1-1.7x faster on LeNet-5 and CIFAR shapes), which may move the break-even towards
    col2im.
    """
    if _INPUT_GRAD != "auto":
        return _INPUT_GRAD == "full"
    n, c, h, w = x_shape
    k, _, kh, kw = w_shape
    full = k * h * (w + kw - 1)
    col2im = c * oh * owc
    return full <= col2im // 2 or (full <= col2im and n * kh * kw * col2im * 4 >= 2 ** 24)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution of ``x`` with K filters of size F (the lecture's CNN layer).

    Output size per spatial axis: ``floor((N - F + 2P) / S) + 1`` for input size N,
    filter size F, stride S and padding P (zeros on every side).

    Args:
        x: input (N, C, H, W), or (C, H, W) for a single sample.
        weight: the K filters, (K, C, F_h, F_w) (``(K, C, F, F)`` for square ones).
        bias: optional (K,).
        stride: S, an int or a pair (S_h, S_w).
        padding: P, an int or a pair (P_h, P_w).

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
    """
    function = Conv2d(stride, padding)
    return function(x, weight) if bias is None else function(x, weight, bias)


class Conv2dReLU(Conv2d):
    """``y = max(0, conv2d(x, W, b))``, optionally max-pooled: ``maxpool_F(max(0, conv))``,
    as one op (a convolution, the ReLU after it, and the non-overlapping max pooling after
    that).

    The same numbers as the separate ops, bit for bit: each batch chunk goes through the
    ReLU (with pooling: the pooling, then the ReLU on the window maxima, which is the same)
    while it is still in cache; the pre-activation (and, with pooling, the full-size
    activation) is never stored. Backward: without pooling,
    ``g = gy * (y > 0)``; with pooling, ``gy`` goes to the maximum of each window (as
    ``max_pool2d``'s backward) where ``y > 0`` (the ReLU's mask at that element: it holds the
    window's maximum), chunk by chunk, then into the convolution's backward.
    """

    def __init__(self, stride=1, padding=0, pool=None):
        super().__init__(stride, padding)
        self.pool = None if pool is None else _pair(pool, "pool", "conv2d_relu", 1)

    def _output_arrays(self, n, k, oh, ow, dtype):
        keep = any(self.needs_input_grad)
        if self.pool is None:
            self.mask = numpy.empty((n, k, oh, ow), bool) if keep else None
            return numpy.empty((n, k, oh, ow), dtype=dtype)
        poh, pow_ = _output_size("max_pool2d", (oh, ow), self.pool, self.pool, (0, 0))
        out = numpy.empty((n, k, poh, pow_), dtype=dtype)
        self.index = numpy.empty(out.shape, _index_dtype(self.pool))
        self.y = out if keep else None
        return out

    def _store(self, y_chunk, out, start, stop):
        if self.pool is None:
            numpy.maximum(y_chunk, 0, out=out[start:stop])
            if self.mask is not None:
                numpy.greater(out[start:stop], 0, out=self.mask[start:stop])
            return
        # NOTE: pooling first and the ReLU after, on 4x fewer numbers, gives the same
        # output (max and max(0, .) commute). The winners may differ where a window is <= 0
        # (the ReLU makes it all ties at 0), but there the mask y > 0 stops the gradient.
        pooled = out[start:stop]
        _max_pool_chunk(y_chunk, self.pool, self.pool, pooled, self.index[start:stop])
        numpy.maximum(pooled, 0, out=pooled)

    def _output_grad(self, gy, start, stop):
        if self.pool is None:
            return gy[start:stop] * self.mask[start:stop], None
        g_pooled = gy[start:stop] * (self.y[start:stop] > 0)
        _, (k, _, _, _), (oh, ow), _, _ = self.geometry
        g = _workspace.take((stop - start, k, oh, ow), gy.dtype)
        covered = oh % self.pool[0] == 0 and ow % self.pool[1] == 0
        _max_pool_grad_chunk(g_pooled, self.index[start:stop], self.pool, self.pool, g,
                             zero=not covered)
        return g, g


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, pool=None):
    """``relu(conv2d(x, weight, bias, stride, padding))`` in one pass, followed by a max
    pooling of window and stride ``pool`` when it is given (see ``Conv2dReLU``).

    ``nn.Sequential`` uses it for a ``Conv2d`` followed by a ``ReLU`` (and a ``MaxPool2d``
    with stride = kernel and no padding) when none of them has hooks: the result and the
    gradients are those of the separate ops, without the tensors between them and their
    passes over memory.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[[1.0, -2.0], [3.0, -4.0]]]])
        >>> F.conv2d_relu(x, numnet.ones(1, 1, 1, 1))
        tensor([[[[1., 0.],
                  [3., 0.]]]])
        >>> F.conv2d_relu(x, numnet.ones(1, 1, 1, 1), pool=2)
        tensor([[[[3.]]]])
    """
    function = Conv2dReLU(stride, padding, pool)
    return function(x, weight) if bias is None else function(x, weight, bias)
