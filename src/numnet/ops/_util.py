"""Helpers shared by every op: undoing broadcasting and normalising ``dim`` arguments."""

from __future__ import annotations

import numpy


def sum_to(g: numpy.ndarray, shape: tuple) -> numpy.ndarray:
    """Sum ``g`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``g.shape``.

    If ``y = broadcast(x)``, then ``dL/dx = sum of dL/dy over every broadcast axis``: the
    leading axes that broadcasting added, and the axes where ``x`` had length 1.

    Example:
        >>> sum_to(numpy.ones((2, 3)), (1, 3))
        array([[2., 2., 2.]])
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    out = g.sum(axis=axes, keepdims=True) if axes else g
    if lead:
        out = out.reshape(shape)
    return out


def normalize_dims(dim, ndim: int):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, numpy.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-max(ndim, 1)}, {max(ndim, 1) - 1}], but got {d})")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def unreduce(g: numpy.ndarray, axes: tuple, keepdim: bool, ndim: int) -> numpy.ndarray:
    """Re-insert the reduced ``axes`` (as length 1) so ``g`` broadcasts against the input."""
    if keepdim or g.ndim == ndim:
        return g
    return numpy.expand_dims(g, axes) if axes else g
