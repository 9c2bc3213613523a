"""The machinery under ``ops/conv.py``: im2col columns, batch chunks, threads, GEMMs, and
the measured thresholds that choose between them.

``Conv2d`` computes ``Y = W_mat X_col + b`` and its gradients (``ops/reference.py`` does the
same in plain NumPy); what makes it fast lives here (no Python loop over samples or pixels
anywhere):

- **im2col as a strided view.** ``as_strided`` looks at the padded input as windows
  ``(N, C, F_h, F_w, OH, OW)`` without copying; one copy lays them out as the column
  matrix ``X_col`` of shape ``(C F_h F_w, N OH OW)`` of a chunk of the batch, and ONE GEMM
  multiplies it by the weights ``(K, C F_h F_w)`` for the whole chunk.
- **Wide rows for stride 1.** With stride 1 the columns span the full padded width ``Wp``
  instead of ``OW``: every row of ``X_col`` is then made of long contiguous runs, so the
  copy is fast, at the price of ``Wp - OW`` extra output columns per row, dropped at once
  (``ConvGeometry.row_width``).
- **Cache-sized batch chunks, on every core.** The batch is cut into chunks whose column
  matrix stays in cache (``_CHUNK_ELEMENTS``); im2col, GEMM and the output copy of a chunk
  run back to back, and the chunks are spread over ``numnet.get_num_threads()`` threads
  (``numnet.backend.parallel_map``; NumPy releases the GIL in BLAS and large copies). The
  chunks depend only on the shapes, so any number of threads gives the same bits.
- **Backward** is GEMMs too, per chunk: ``gW = gY X_col^T`` with the columns rebuilt from
  the saved input (as PyTorch saves the input, not its columns: 25x smaller for 5x5
  kernels, and rebuilding a chunk in cache costs less than reading it back from memory);
  ``gx`` either by col2im or, for stride 1, as the "full" convolution of the padded ``gy``
  with the flipped weights, whichever moves less memory (``full_is_cheaper``). Partial
  ``gW``, ``gb`` of the chunks are added in chunk order (``sum_in_order``).
- **Groups and dilation.** Dilation only spreads the taps of the window view
  (``_dilated_windows``); with G groups the columns of a group are consecutive rows, so
  every product is ONE batched matmul over the groups (``gemm_grouped``, ``weight_grad``):
  a depthwise layer (G = C) costs one call per chunk, never a Python loop over channels.
- **Sample-major columns for large outputs.** Where a sample has ``_SAMPLE_MIN_PIXELS``
  output pixels or more, forward (and a backward that needs no ``gx``) lays the columns out
  per sample, ``(m, C F_h F_w, OH OW)``, and multiplies each sample's by the weights: the
  product is that sample's output in NCHW order, written where the output lies, with no
  store copy and no wide-row columns (``ConvGeometry.sample_major``). ``gx`` keeps the
  channel-major columns, whose col2im needs ``F_h`` adds instead of ``F_h F_w``.
- **No fresh pages.** The scratch matrices come from a small per-thread workspace
  (``ops/_grid.py``) and go back to it when done, so the kernel does not fault and zero
  pages on every call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy

from numnet.backend import parallel_map
from numnet.ops._grid import _dilated_windows, _pad_into, _workspace

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

# Column-matrix entries per batch chunk (see ``batch_chunks``): small enough to stay in
# cache between the im2col copy and the GEMM, large enough to keep the GEMM efficient.
_CHUNK_ELEMENTS = 2 ** 20

# NOTE: below this many multiply-adds the thread hand-off (50-150 us on a 2-core VM) costs
# more than the second core gives. LeNet-5's layers (7-15 million at batch 64) gain 1.04-
# 1.34x on 2 threads since numnet's products keep OpenBLAS's threads asleep (with them
# spinning, its step took 14.1 ms on 2 threads against 12.0 ms on 1); the CIFAR CNN's
# layers (0.15-1.2 billion) gain 1.6-2.0x.
_PARALLEL_MIN_MACS = 2 ** 22

_INPUT_GRAD = "auto"  # "col2im" or "full" forces one method (tests check both)

# NOTE: sample-major columns (``ConvGeometry.sample_major``) against channel-major ones,
# time ratio on one core (Intel Xeon, OpenBLAS SkylakeX, 2026-12-03, /tmp script timing
# ``F.conv2d`` of the benchmark models' layers): forward 0.62 (MNIST example conv1, 26x26
# outputs), 0.86 (its conv2, 24x24), 0.80-0.94 (CIFAR CNN, 32x32 and 16x16), 0.86-0.92
# (LeNet-5, 28x28 and 10x10), 0.98-1.02 (ResNet's 16x16 and 8x8 layers), 1.28 at 4x4; a
# backward without ``gx`` (first layers) 0.60-0.85; a backward with ``gx`` by sample-major
# col2im (``F_h F_w`` adds on the exact rows) 1.19 (MNIST conv2), 1.48 (CIFAR conv2), 1.64
# (LeNet-5 conv2). On 2 threads the same within 0.05 once chunks are large enough
# (``_SAMPLE_CHUNK_MACS``).
_SAMPLE_MIN_PIXELS = 100

# NOTE: multiply-adds per batch chunk of sample-major columns. A chunk this small keeps its
# columns in the core's own cache (L2) between the im2col copy and the GEMMs (one sample per
# chunk ran PyTorch's MNIST example's second layer forward 0.80x the time of channel-major
# on one core; 3 samples 0.94x, 6 samples 0.97x), but each chunk also costs ~40 us of Python
# holding the GIL, which on 2 threads made chunks of 1-6 samples of small layers 1.5-2x
# slower than channel-major; from about 10 million multiply-adds per chunk on, neither.
_SAMPLE_CHUNK_MACS = 2 ** 24

_LAYOUT = "auto"  # "sample" or "channel" forces one column layout (tests check both)


class ConvGeometry(NamedTuple):
    """The shapes of one convolution, fixed by its forward and read by every chunk.

    With stride 1 the columns are made of wide rows: the windows of an output row run over
    the whole padded width ``Wp``, so ``row_width = Wp`` output columns are computed per
    row (the last ``Wp - OW`` are dropped), and the padded input gets one extra zero row at
    the bottom for what the last row of windows reads past its end. Otherwise
    ``row_width = OW`` and the padded input is ``(H + 2 P_h, W + 2 P_w)``.
    """

    x_shape: tuple  # (N, C, H, W): the input, with its batch axis
    weight_shape: tuple  # (K, C / groups, F_h, F_w)
    stride: tuple  # (S_h, S_w)
    padding: tuple  # (P_h, P_w)
    out_size: tuple  # (OH, OW)
    padded_size: tuple  # (Hp, Wp): the zero-padded input the columns are taken from
    row_width: int  # output columns computed per output row: OW, or Wp for wide rows
    dilation: tuple = (1, 1)  # (D_h, D_w): the distance between a filter's taps
    groups: int = 1  # channel groups, each convolved with its own K / groups filters
    sample_major: bool = False  # columns (m, C F_h F_w, OH OW), one GEMM per sample

    @classmethod
    def of(cls, x_shape, weight_shape, stride, padding, out_size, dilation=(1, 1),
           groups: int = 1, input_grad: bool = False) -> ConvGeometry:
        """The geometry of a convolution whose output size ``(OH, OW)`` is known, laid
        out for its forward and weight gradient, or with ``input_grad`` for a backward
        that computes ``gx`` (``_is_sample_major``).

        (With dilation the windows of the wide rows still read at most one row past the
        padded input: ``D (F_w - 1) < Wp`` since ``OW >= 1``.)
        """
        sample_major = _is_sample_major(weight_shape, out_size, groups, input_grad)
        wide = stride == (1, 1) and not sample_major
        padded_h = x_shape[2] + 2 * padding[0] + wide
        padded_w = x_shape[3] + 2 * padding[1]
        row_width = padded_w if wide else out_size[1]
        return cls(tuple(x_shape), tuple(weight_shape), stride, padding, out_size,
                   (padded_h, padded_w), row_width, tuple(dilation), groups, sample_major)

    def for_backward(self, input_grad: bool) -> ConvGeometry:
        """The same convolution laid out for its backward (``of``'s ``input_grad``)."""
        return ConvGeometry.of(self.x_shape, self.weight_shape, self.stride, self.padding,
                               self.out_size, self.dilation, self.groups, input_grad)

    @property
    def pointwise(self) -> bool:
        """A 1x1 filter without padding or groups: each sample's input, sampled at the
        stride, is already its sample-major column matrix (C, OH OW), no im2col
        (``Conv2d._sample_columns``)."""
        return self.weight_shape[2:] == (1, 1) and self.padding == (0, 0) and self.groups == 1

    @property
    def plain(self) -> bool:
        """No groups and no dilation: the convolution the specialised kernels handle."""
        return self.groups == 1 and self.dilation == (1, 1)


def _is_sample_major(weight_shape, out_size, groups: int, input_grad: bool) -> bool:
    """Whether a convolution takes sample-major columns (``ConvGeometry.sample_major``).

    Channel-major columns ``(C F_h F_w, m OH row_width)`` make ONE GEMM per chunk, with
    wide rows for stride 1; sample-major ones ``(m, C F_h F_w, OH OW)`` make one GEMM per
    sample, ``W_mat (K, C F_h F_w)`` by the sample's ``(C F_h F_w, OH OW)``, whose product
    IS the sample's output in NCHW order: it is written where the output lies (no store
    copy, no wide-row columns computed and dropped, no transposes of ``gY`` in backward).
    That pays while a sample has enough output pixels for the per-sample GEMM to run at
    full speed (``_SAMPLE_MIN_PIXELS``), in forward and in a backward without ``gx``; the
    input gradient is faster channel-major (one GEMM over the chunk, col2im with ``F_h``
    adds on the wide rows instead of ``F_h F_w``). Groups stay channel-major.
    """
    if groups != 1:
        return False
    if _LAYOUT != "auto":
        return _LAYOUT == "sample"
    return not input_grad and out_size[0] * out_size[1] >= _SAMPLE_MIN_PIXELS


def batch_chunks(geometry: ConvGeometry) -> list:
    """Batch chunks ``(start, stop)`` whose columns fit in cache, for ``parallel_map``.

    The chunking depends only on the shapes, never on the number of threads, so results
    are the same whether the chunks run on one thread or several.
    """
    n, c = geometry.x_shape[:2]
    kh, kw = geometry.weight_shape[2:]
    per_sample = c * kh * kw * geometry.out_size[0] * geometry.row_width
    if n == 0:
        return [(0, 0)]
    size = max(1, min(n, _CHUNK_ELEMENTS // per_sample))
    if geometry.sample_major:
        k = geometry.weight_shape[0]
        multiply_adds = k * per_sample  # per sample (row_width is OW here)
        size = min(size, -(-_SAMPLE_CHUNK_MACS // multiply_adds))
    count = -(-n // size)
    if count % 2 and count < n:
        count += 1  # an even count splits evenly over 2 (or 4, 6, ...) threads
    bounds = [n * i // count for i in range(count + 1)]
    return list(zip(bounds, bounds[1:]))


def map_chunks(run, geometry: ConvGeometry) -> list:
    """``run(start, stop)`` for every batch chunk, the results in chunk order: over the
    worker threads for a large convolution, in this thread for a small one (same chunks,
    same results)."""
    n = geometry.x_shape[0]
    oh, ow = geometry.out_size
    k, c, kh, kw = geometry.weight_shape
    multiply_adds = n * oh * ow * k * c * kh * kw
    threads = 1 if multiply_adds < _PARALLEL_MIN_MACS else None
    return parallel_map(run, batch_chunks(geometry), threads)


def chunk_columns(x, geometry: ConvGeometry):
    """im2col of samples of the (unpadded) input: ``(C F_h F_w, m OH row_width)`` for m
    samples, or ``(m, C F_h F_w, OH OW)`` where the geometry is ``sample_major``. The
    result comes from the workspace: give it back."""
    c = geometry.x_shape[1]
    kh, kw = geometry.weight_shape[2:]
    padded_h, padded_w = geometry.padded_size
    out_size = (geometry.out_size[0], geometry.row_width)
    options = (kh, kw), geometry.stride, out_size, geometry.dilation, geometry.sample_major
    if padded_h == geometry.x_shape[2] and padded_w == geometry.x_shape[3]:
        return columns(x, *options)
    pad_h, pad_w = geometry.padding
    x_padded = _pad_into(x, (x.shape[0], c, padded_h, padded_w), pad_h, pad_w, scratch=True)
    cols = columns(x_padded, *options)
    _workspace.give(x_padded)
    return cols


def columns(x_padded, kernel, stride, out_size, dilation=(1, 1), sample_major=False):
    """im2col: the ``(C F_h F_w, N OH OW)`` column matrix of ``x_padded`` (N, C, H, W), or
    with ``sample_major`` one ``(C F_h F_w, OH OW)`` matrix per sample, ``(N, ., .)``.

    One copy of the strided window view, channel-major so that every row of the matrix is
    made of long contiguous runs (whole output rows, or ``OH row_width`` runs for wide
    rows), and the rows of a channel group are consecutive. The result comes from the
    workspace: give it back.
    """
    n, c = x_padded.shape[:2]
    windows = _dilated_windows(x_padded, kernel, stride, out_size, dilation)
    rows, pixels = c * kernel[0] * kernel[1], out_size[0] * out_size[1]
    if not sample_major:
        windows = windows.transpose(1, 2, 3, 0, 4, 5)
    cols = _workspace.take(windows.shape, x_padded.dtype)
    numpy.copyto(cols, windows)
    return cols.reshape((n, rows, pixels) if sample_major else (rows, n * pixels))


def gemm(a, cols, n: int, pixels: int):
    """``a @ cols`` for ``a`` (M, R) and columns (R, N L), as an (N, M, L) array.

    L = ``pixels`` per sample. A 3-D ``a`` (G, M / G, R) multiplies each of G groups of
    ``R`` rows of the columns by its own matrix (grouped convolution; ``gemm_grouped``).
    The result comes from the workspace: give it back.
    """
    if a.ndim == 3:
        return gemm_grouped(a, cols, n, pixels)
    m, r = a.shape
    if m * r <= _PER_SAMPLE_MAX or (_PER_SAMPLE_MAX and m * r * pixels <= _SMALL_GEMM):
        out = _workspace.take((n, m, pixels), a.dtype)
        numpy.matmul(a, cols.reshape(r, n, pixels).transpose(1, 0, 2), out=out)
        return out
    out = _workspace.take((m, n, pixels), a.dtype)
    numpy.matmul(a, cols, out=out.reshape(m, n * pixels))
    return out.transpose(1, 0, 2)


def gemm_grouped(a, cols, n: int, pixels: int):
    """``a[g] @ cols[g]`` for every group g: ``a`` (G, M_g, R), columns (G R, N L), as an
    (N, G M_g, L) array. ONE batched matmul over the groups, never a Python loop over them:
    a depthwise convolution (C groups of one channel) is C small products in one call.
    The result comes from the workspace: give it back."""
    groups, m_group, r = a.shape
    out = _workspace.take((groups, m_group, n * pixels), a.dtype)
    if r == 1:
        # NOTE: NumPy's matmul does a product with an inner size of 1 (a depthwise input
        # gradient: W^T (F_h F_w, 1) by gY (1, N L)) 10x slower than this broadcast multiply
        numpy.multiply(a, cols.reshape(groups, 1, n * pixels), out=out)
    else:
        numpy.matmul(a, cols.reshape(groups, r, n * pixels), out=out)
    return out.reshape(groups * m_group, n, pixels).transpose(1, 0, 2)


def weight_grad(gy_mat, cols, n: int, pixels: int, groups: int = 1):
    """``gW = gY X_col^T``: (K, N L) times (N L, C F_h F_w), L = ``pixels`` per sample;
    with groups, ``gW[g] = gY[g] X_col[g]^T`` per group, as (K, C / G F_h F_w)."""
    k, rows = gy_mat.shape[0], cols.shape[0]
    if groups > 1:
        gy_groups = gy_mat.reshape(groups, k // groups, -1)
        cols_groups = cols.reshape(groups, rows // groups, -1)
        return numpy.matmul(gy_groups, cols_groups.transpose(0, 2, 1)).reshape(k, -1)
    if k * rows > _PER_SAMPLE_MAX:
        return numpy.matmul(cols, gy_mat.T).T
    per_sample = numpy.matmul(gy_mat.reshape(k, n, pixels).transpose(1, 0, 2),
                              cols.reshape(rows, n, pixels).transpose(1, 2, 0))
    return per_sample.sum(axis=0)


def sum_in_order(arrays):
    """``arrays[0] + arrays[1] + ...``, added left to right into the first one: the partial
    sums of the chunks give the same result for any number of threads."""
    total = arrays[0]
    for array in arrays[1:]:
        total += array
    return total


def full_is_cheaper(geometry: ConvGeometry) -> bool:
    """Choose the stride-1 input gradient: the "full" convolution or col2im.

    Both do the same GEMM work; they differ in the column matrix they write and read:
    ``K F_h F_w H (W + F_w - 1)`` numbers per sample for the full convolution,
    ``C F_h F_w OH row_width`` for col2im, which then also adds ``F_h F_w`` times over the
    padded input. Measured on a 2-core AMD EPYC (OpenBLAS) over 14 layer shapes: col2im
    wins while its columns stay in cache or the full ones are more numerous (LeNet-5's
    second layer, K=16, C=6: 3.7x faster); the full convolution wins when its columns are
    at most as many and col2im's spill out of cache (16 MiB and more: 5x5, K=C=32 on 32x32:
    1.5x faster), and whenever they are at most half as many (K=16, C=64: 3x faster). These
    measurements predate col2im's ``F_h``-add form for stride 1
    (``Conv2d._input_grad_col2im_rows``, 1.1-1.7x faster on LeNet-5 and CIFAR shapes), which
    may move the break-even towards col2im.
    """
    if _INPUT_GRAD != "auto":
        return _INPUT_GRAD == "full"
    n, c, h, w = geometry.x_shape
    k, _, kh, kw = geometry.weight_shape
    full = k * h * (w + kw - 1)
    col2im = c * geometry.out_size[0] * geometry.row_width
    return full <= col2im // 2 or (full <= col2im and n * kh * kw * col2im * 4 >= 2 ** 24)
