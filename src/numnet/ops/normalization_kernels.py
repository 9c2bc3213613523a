"""The passes under ``BatchNorm`` (``ops/normalization.py``): per-channel sums and
per-channel affine maps over an ``(N, C, L)`` view of an array, cut into batch pieces.

Written as whole-array NumPy expressions, a batch norm's forward was about eight passes over
memory (mean, ``x - mean``, its square, the variance, ``xhat``, ``gamma xhat``, ``+ beta``)
and its backward as many, each with a temporary of the input's size, all on one core:
40 ms of the Fashion-MNIST recipe's 110 ms step on one core (Intel Xeon, 2026-12-03), as
much on two. Here every pass takes a cache-sized piece of samples through all its ufuncs
before the next piece is read, the pieces run on every core (``backend.parallel_map``), and
the arithmetic is regrouped so that forward reads the input three times and writes only the
output, and backward reads ``gy`` and the input twice and writes only ``gx``:

- ``channel_sums``: ``sum_{n, l} a[n, c, l]`` per channel;
- ``centered_square_sums``: ``sum_{n, l} (a - mean)**2`` per channel;
- ``centered_sums``: ``sum_{n, l} g`` and ``sum_{n, l} g (a - mean)`` per channel;
- ``channel_affine``: ``out = a s + t``, per-channel ``s``, ``t``;
- ``centered_combination``: ``out = g s + (a - mean) u + t``.

The pieces depend only on the shapes and the partial sums are added in piece order, in
float64, so the results are the same for any number of threads.

NOTE: a piece's sums are ``numpy.einsum`` (its SIMD loops, float32 accumulators): on a
(10, 32, 784) piece 19 us against 125 us for ``sum(axis=(0, 2), dtype=float64)`` and 60 us
in float32; ``einsum("ncl,ncl->c")`` sums a product without a temporary (57 us against
124 us for ``a * b`` alone). Pieces hold at most ``_PIECE_ELEMENTS / C`` values of a channel,
so its float32 rounding stays at that scale; the pieces are added in float64.
"""

from __future__ import annotations

import numpy

from numnet.backend import parallel_map, ranges
from numnet.ops._grid import _workspace

# NOTE: elements per piece: 256 KiB of float32, so the three or four arrays a piece's ufuncs
# touch are still in the core's cache (L2) when the next ufunc reads them. The passes are
# close to memory-bound, so the size matters little: ``centered_combination`` on
# (128, 32, 784) took 5.6 ms with 2^16, 6.3 with 2^14 and 2^15, 6.0-6.6 with 2^18 (one core).
_PIECE_ELEMENTS = 2 ** 16


def _pieces(a) -> list:
    """``(start, stop)`` sample ranges of about ``_PIECE_ELEMENTS`` elements each."""
    n = a.shape[0]
    per_sample = max(1, a.shape[1] * a.shape[2])
    return ranges(n, max(1, -(-n * per_sample // _PIECE_ELEMENTS)))


def _in_order(parts) -> numpy.ndarray:
    """The pieces' partial sums added in piece order, in float64."""
    total = numpy.zeros(parts[0].shape, numpy.float64)
    for part in parts:
        total += part
    return total


def _centered(a, mean):
    """``a - mean`` (a piece) in a scratch array from the workspace: give it back."""
    centered = _workspace.take(a.shape, a.dtype)
    numpy.subtract(a, mean, out=centered)
    return centered


def _per_channel(*values):
    """Per-channel values shaped to broadcast against an (m, C, L) piece."""
    return [None if v is None else numpy.asarray(v).reshape(1, -1, 1) for v in values]


def channel_sums(a) -> numpy.ndarray:
    """``sum_{n, l} a[n, c, l]`` per channel c of an ``(N, C, L)`` array, float64 (C,)."""
    return _in_order(parallel_map(lambda start, stop: numpy.einsum("ncl->c", a[start:stop]),
                                  _pieces(a)))


def centered_square_sums(a, mean) -> numpy.ndarray:
    """``sum_{n, l} (a[n, c, l] - mean[c])**2`` per channel, float64 (C,) (the differences
    live only in cache, a piece at a time)."""
    (mean,) = _per_channel(mean)

    def run(start, stop):
        centered = _centered(a[start:stop], mean)
        sums = numpy.einsum("ncl,ncl->c", centered, centered)
        _workspace.give(centered)
        return sums

    return _in_order(parallel_map(run, _pieces(a)))


def centered_sums(g, a, mean) -> tuple:
    """``(sum_{n, l} g, sum_{n, l} g (a - mean))`` per channel, float64 (C,) each, for
    ``g`` and ``a`` of the same (N, C, L) shape."""
    (mean,) = _per_channel(mean)

    def run(start, stop):
        piece = g[start:stop]
        centered = _centered(a[start:stop], mean)
        sums = numpy.stack([numpy.einsum("ncl->c", piece),
                            numpy.einsum("ncl,ncl->c", piece, centered)])
        _workspace.give(centered)
        return sums

    total = _in_order(parallel_map(run, _pieces(g)))
    return total[0], total[1]


def channel_affine(a, s, t, out) -> None:
    """``out = a s + t`` with ``s``, ``t`` one value per channel (``a``, ``out`` (N, C, L))."""
    s, t = _per_channel(s, t)

    def run(start, stop):
        piece = out[start:stop]
        numpy.multiply(a[start:stop], s, out=piece)
        piece += t

    parallel_map(run, _pieces(a))


def centered_combination(g, a, mean, s, u, t, out) -> None:
    """``out = g s + (a - mean) u + t`` with per-channel ``mean``, ``s``, ``u``, ``t``
    (``g``, ``a``, ``out`` (N, C, L))."""
    mean, s, u, t = _per_channel(mean, s, u, t)

    def run(start, stop):
        piece = out[start:stop]
        numpy.subtract(a[start:stop], mean, out=piece)
        piece *= u
        scaled = _workspace.take(piece.shape, piece.dtype)
        numpy.multiply(g[start:stop], s, out=scaled)
        piece += scaled
        _workspace.give(scaled)
        piece += t

    parallel_map(run, _pieces(g))
