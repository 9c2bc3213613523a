"""PyTorch's type promotion: the dtype of ``a <op> b`` for tensors and Python numbers.

Dtypes fall into categories ``bool < integer < floating``. The operands of an op form three
groups, in priority order: tensors with at least one dimension, zero-dimensional tensors,
and Python numbers. Within a group the dtypes promote by ``promote_types`` (NumPy's rule
inside a category, ``int8, uint8 -> int16``; across categories the floating dtype,
``int64, float16 -> float16``); between groups a lower-priority group only matters if it is
of a *higher category*, and then only its category counts:

- ``int32 tensor + 5`` is int32 (5 is an integer like the tensor: the tensor's dtype wins);
- ``int32 tensor + 2.5`` is float32, the default dtype (a Python float is of a higher
  category; Python floats count as the default dtype);
- ``float16 tensor + 2.5`` is float16; ``float32 tensor * float64 0-d tensor`` is float32;
- ``int64 tensor * float64 0-d tensor`` is float64 (the 0-d tensor's own float dtype);
- ``bool tensor + 1`` is int64.

True division and the floating functions (``exp``, ``sin``, ...) then turn an integer or
bool result into the default dtype: ``arange(6) / 5`` is float32, never float64.

Example:
    >>> import numpy
    >>> from numnet.tensor import Tensor
    >>> result_type(Tensor(numpy.arange(3, dtype=numpy.int32)), 2.5)
    dtype('float32')
    >>> result_type(Tensor(numpy.arange(3, dtype=numpy.int32)), 5)
    dtype('int32')
"""

from __future__ import annotations

import numbers

import numpy

from numnet import backend
from numnet.autograd import Function
from numnet.ops import dual
from numnet.tensor import Tensor

_BOOL, _INTEGER, _FLOATING = 0, 1, 2


def category(dtype: numpy.dtype) -> int:
    """0 for bool, 1 for the integers, 2 for the floating dtypes."""
    kind = dtype.kind
    return _BOOL if kind == "b" else _INTEGER if kind in "iu" else _FLOATING


def scalar_dtype(value) -> numpy.dtype:
    """The dtype a Python number counts as: bool, int64, or the default float dtype."""
    if isinstance(value, (bool, numpy.bool_)):
        return numpy.dtype(bool)
    if isinstance(value, numbers.Integral):
        return numpy.dtype(numpy.int64)
    if isinstance(value, numbers.Real):
        return backend.get_default_dtype()
    raise TypeError(f"unsupported operand of type {type(value).__name__}: expected a Tensor, "
                    "an array or a real number")


def promote_types(a: numpy.dtype, b: numpy.dtype) -> numpy.dtype:
    """torch's ``promote_types``: NumPy's within a category (``int8, uint8 -> int16``);
    across categories the higher category's dtype (``int64, float16 -> float16``, where
    NumPy says float64)."""
    ca, cb = category(a), category(b)
    if ca == cb:
        return numpy.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher, lower):
    """torch's ``combine_categories``: a lower-priority group counts only when its category
    is higher (a floating group over an integer one), or when the higher group is bool."""
    if higher is None:
        return lower
    if lower is None or category(higher) == _FLOATING:
        return higher
    if category(higher) == _BOOL or category(lower) == _FLOATING:
        return promote_types(higher, lower)
    return higher


def _promote(group, dtype):
    return dtype if group is None else promote_types(group, dtype)


def result_type(*operands) -> numpy.dtype:
    """The dtype PyTorch gives an op on ``operands`` (Tensors, arrays, Python numbers)."""
    dimensioned = zero_dim = python = None
    for operand in operands:
        if isinstance(operand, Tensor):
            array = operand.data
        elif isinstance(operand, numpy.ndarray):
            array = operand
        else:
            python = _promote(python, scalar_dtype(operand))
            continue
        if array.ndim:
            dimensioned = _promote(dimensioned, array.dtype)
        else:
            zero_dim = _promote(zero_dim, array.dtype)
    return _combine(dimensioned, _combine(zero_dim, python))


def floating(dtype: numpy.dtype) -> numpy.dtype:
    """``dtype`` itself if floating, else the default dtype (true division, ``exp``, ...)."""
    return dtype if category(dtype) == _FLOATING else backend.get_default_dtype()


class Cast(Function):
    """``y = x`` converted to ``dtype``;  ``gx = gy`` converted back (with
    ``create_graph=True`` by a ``Cast`` again, so to any order)."""

    saved_inputs = (None,)

    def __init__(self, dtype):
        self.dtype = numpy.dtype(dtype)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return dual.astype(gy, self.in_dtype)


def cast(x: Tensor, dtype: numpy.dtype) -> Tensor:
    """``x`` as ``dtype``: ``x`` itself if it has it; the differentiable ``Cast`` to a
    floating dtype; a plain new Tensor to an integer or bool one (no gradient flows there)."""
    if x.data.dtype == dtype:
        return x
    if category(dtype) != _FLOATING:
        return Tensor(x.data.astype(dtype), _raw=True)
    return Cast(dtype)(x)
