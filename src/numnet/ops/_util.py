"""Helpers shared by every op: turning numbers and arrays into Tensors, undoing broadcasting
and normalising ``dim`` arguments."""

from __future__ import annotations

import numbers

import numpy

from numnet import backend
from numnet.tensor import Tensor


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; numbers take ``like``'s floating dtype (as PyTorch scalars do).

    Anything else becomes ``Tensor(x)`` (a copy, with the dtype rules of ``numnet.tensor``).
    """
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, numbers.Number) and like.dtype.kind == "f":
        return Tensor(numpy.asarray(x, dtype=like.dtype), _raw=True)
    if like is not None and isinstance(x, numbers.Number) and isinstance(x, float):
        return Tensor(numpy.asarray(x, dtype=backend.get_default_dtype()), _raw=True)
    return Tensor(x)


def as_operands(a, b) -> tuple:
    """Both operands of a binary op as Tensors, a number adopting the other operand's dtype."""
    if isinstance(a, Tensor):
        return a, as_tensor(b, a)
    b = as_tensor(b)
    return as_tensor(a, b), b


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
