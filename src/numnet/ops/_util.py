"""Helpers shared by every op: turning numbers and arrays into Tensors, undoing broadcasting
and normalising ``dim`` arguments."""

from __future__ import annotations

import numbers

import numpy

from numnet import backend
from numnet.ops import dual, promotion
from numnet.tensor import Tensor


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; a number next to ``like`` takes the dtype PyTorch gives the pair
    (``promotion.result_type``: a float next to a float tensor takes its dtype, next to an
    integer tensor the default dtype; an int next to an int tensor takes its dtype).

    Anything else becomes ``Tensor(x)`` (a copy, with the dtype rules of ``numnet.tensor``).
    """
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, numbers.Number):
        return Tensor(numpy.asarray(x, dtype=promotion.result_type(like, x)), _raw=True)
    return Tensor(x)


def as_operands(a, b) -> tuple:
    """Both operands of a binary op as Tensors of one dtype, PyTorch's promoted one.

    A number takes the pair's dtype directly; a Tensor of another dtype is cast
    (differentiably, ``promotion.cast``), so ``int32 tensor + float tensor`` is float32 as
    in PyTorch (NumPy would say float64).
    """
    if isinstance(a, Tensor):
        b = as_tensor(b, a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, b)
    if a.data.dtype is b.data.dtype or a.data.dtype == b.data.dtype:
        return a, b
    dtype = promotion.result_type(a, b)
    return promotion.cast(a, dtype), promotion.cast(b, dtype)


def as_float(x) -> Tensor:
    """``x`` as a Tensor of a floating dtype: an integer or bool one becomes the default
    dtype, as PyTorch's floating functions (``exp``, ``sin``, ``sqrt``, ...) do."""
    x = as_tensor(x)
    if x.data.dtype.kind == "f":
        return x
    return Tensor(x.data.astype(backend.get_default_dtype()), _raw=True)


def sum_to(g, shape: tuple):
    """Sum ``g`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``g.shape``
    (an array, or a Tensor in a recorded backward).

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
    out = dual.sum(g, axis=axes, keepdims=True) if axes else g
    if lead:
        out = out.reshape(shape)
    return out


def check_dim(dim: int, ndim: int) -> int:
    """``dim`` (negatives count from the end) as an axis of an ``ndim``-dim tensor; an
    IndexError with PyTorch's message when it is out of range (a 0-d tensor takes 0 and -1).

    Example:
        >>> check_dim(-1, 3)
        2
    """
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return dim % ndim if ndim else 0


def normalize_dims(dim, ndim: int):
    """``dim`` (None, int or sequence, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, numpy.integer)) else tuple(dim)
    return tuple(sorted({check_dim(d, ndim) for d in dims}))


def reduced_axes(dim, ndim: int) -> tuple:
    """The axes a reduction over ``dim`` runs on (``normalize_dims``); none for a 0-d
    tensor, whose dims 0 and -1 PyTorch accepts: the reduction is the value itself.

    Example:
        >>> reduced_axes(-1, 3), reduced_axes(0, 0)
        ((2,), ())
    """
    axes = normalize_dims(dim, ndim)
    return axes if ndim else ()


def unreduce(g: numpy.ndarray, axes: tuple, keepdim: bool, ndim: int) -> numpy.ndarray:
    """Re-insert the reduced ``axes`` (as length 1) so ``g`` broadcasts against the input."""
    if keepdim or g.ndim == ndim:
        return g
    return dual.expand_dims(g, axes) if axes else g
