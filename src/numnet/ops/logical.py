"""Tests and logic: ``isnan isinf isfinite isposinf isneginf isclose allclose equal``,
``logical_and logical_or logical_xor logical_not``, the bitwise ops on integer and bool tensors
(``& | ^ ~ << >>``), and ``nan_to_num``.

Every result here is a bool or integer tensor without a gradient, except ``nan_to_num``
(``gx = gy`` where x is finite, else 0). The logical ops treat nonzero as True and give bool.

Example:
    >>> import numnet
    >>> x = numnet.tensor([1.0, float("nan"), float("inf")])
    >>> numnet.isfinite(x), numnet.nan_to_num(x, posinf=9.0)
    (tensor([ True, False, False]), tensor([1., 0., 9.]))
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops._util import as_operands, as_tensor
from numnet.tensor import Tensor


def _bool_result(array) -> Tensor:
    return Tensor(numpy.asarray(array, dtype=bool), _raw=True)


# ---------------------------------------------------------------------- classification
def _classify(name: str, test, doc: str):
    def op(input) -> Tensor:  # noqa: A002 - PyTorch's name
        x = as_tensor(input).data
        if x.dtype.kind != "f":
            return _bool_result(numpy.full(x.shape, name == "isfinite"))
        return _bool_result(test(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Whether each element {doc} (a bool tensor; ``torch.{name}``)."
    return op


isnan = _classify("isnan", numpy.isnan, "is NaN")
isinf = _classify("isinf", numpy.isinf, "is +inf or -inf")
isfinite = _classify("isfinite", numpy.isfinite, "is neither inf nor NaN")
isposinf = _classify("isposinf", numpy.isposinf, "is +inf")
isneginf = _classify("isneginf", numpy.isneginf, "is -inf")


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
            equal_nan: bool = False) -> Tensor:
    """``|a - b| <= atol + rtol |b|`` element-wise (equal infinities are close; NaN only
    with ``equal_nan``). Both tensors must have one dtype, as in PyTorch."""
    a, b = as_tensor(input), as_tensor(other)
    if a.data.dtype != b.data.dtype:
        raise RuntimeError(f"isclose: both tensors must have one dtype, got {a.data.dtype} "
                           f"and {b.data.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be >= 0, got rtol={rtol}, "
                           f"atol={atol}")
    x, y = a.data, b.data
    if x.dtype.kind == "b":
        return _bool_result(numpy.broadcast_to(x == y, numpy.broadcast_shapes(x.shape, y.shape)))
    return _bool_result(numpy.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
             equal_nan: bool = False) -> bool:
    """``isclose(...).all()`` as a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input, other) -> bool:  # noqa: A002 - PyTorch's name
    """True when both have the same shape and equal elements (NaN is never equal)."""
    a, b = as_tensor(input), as_tensor(other)
    return a.shape == b.shape and bool(numpy.array_equal(a.data, b.data))


# ---------------------------------------------------------------------- logical
def _logical(name: str, kernel):
    def op(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
        a, b = as_tensor(input), as_tensor(other)
        return _bool_result(kernel(a.data.astype(bool), b.data.astype(bool)))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Element-wise ``{kernel.__name__}`` of ``input != 0`` and ``other != 0`` "
                  f"(a bool tensor; ``torch.{name}``).")
    return op


logical_and = _logical("logical_and", numpy.logical_and)
logical_or = _logical("logical_or", numpy.logical_or)
logical_xor = _logical("logical_xor", numpy.logical_xor)


def logical_not(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input == 0`` (a bool tensor)."""
    return _bool_result(numpy.logical_not(as_tensor(input).data))


# ---------------------------------------------------------------------- bitwise
def _integer_operands(name: str, *operands) -> tuple:
    if len(operands) == 2:
        a, b = as_operands(*operands)
    else:
        a = b = as_tensor(operands[0])
    for t in (a, b):
        if t.data.dtype.kind not in "biu":
            raise NotImplementedError(f"{name} is only for integer and bool tensors, not "
                                      f"{t.data.dtype}")
    return a.data, b.data


def _bitwise(name: str, kernel, symbol: str):
    def op(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
        a, b = _integer_operands(name, input, other)
        return Tensor(numpy.asarray(kernel(a, b)), _raw=True)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``a {symbol} b`` bit by bit, for integer and bool tensors (``torch.{name}``)."
    return op


bitwise_and = _bitwise("bitwise_and", numpy.bitwise_and, "&")
bitwise_or = _bitwise("bitwise_or", numpy.bitwise_or, "|")
bitwise_xor = _bitwise("bitwise_xor", numpy.bitwise_xor, "^")


def bitwise_not(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``~x``: every bit flipped (``~5 = -6``); for bool, logical not."""
    x, _ = _integer_operands("bitwise_not", input)
    return Tensor(numpy.asarray(numpy.invert(x)), _raw=True)


def _shift_operands(name: str, input, other) -> tuple:
    a, b = _integer_operands(name, input, other)
    if a.dtype.kind == "b":
        raise NotImplementedError(f"{name} is not implemented for bool tensors")
    return a, b, (b < 0) | (b >= 8 * a.dtype.itemsize)


def bitwise_left_shift(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``a << b``, wrapping in the dtype; a shift < 0 or >= the bit width gives 0 (PyTorch).

    Example:
        >>> import numnet
        >>> numnet.tensor([1, 3]) << 2
        tensor([ 4, 12])
    """
    a, b, outside = _shift_operands("bitwise_left_shift", input, other)
    y = numpy.left_shift(a, numpy.where(outside, 0, b).astype(a.dtype, copy=False))
    return Tensor(numpy.asarray(numpy.where(outside, 0, y).astype(a.dtype, copy=False)),
                  _raw=True)


def bitwise_right_shift(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``a >> b``, arithmetic (sign-filling); a shift < 0 or >= the bit width gives 0, or -1
    for negative ``a`` (PyTorch)."""
    a, b, outside = _shift_operands("bitwise_right_shift", input, other)
    y = numpy.right_shift(a, numpy.where(outside, 0, b).astype(a.dtype, copy=False))
    sign_fill = numpy.where(a < 0, -1, 0).astype(a.dtype) if a.dtype.kind == "i" else 0
    return Tensor(numpy.asarray(numpy.where(outside, sign_fill, y).astype(a.dtype, copy=False)),
                  _raw=True)


# ---------------------------------------------------------------------- nan_to_num
class NanToNum(Function):
    """``y = x`` with NaN, +inf and -inf replaced;  ``gx = gy`` where x is finite, else 0
    (the mask a constant, also with ``create_graph=True``)."""

    saved_inputs = (None,)

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        if self.needs_input_grad[0]:
            self.finite = numpy.isfinite(x)
        return numpy.asarray(numpy.nan_to_num(x, nan=self.nan, posinf=self.posinf,
                                              neginf=self.neginf))

    def backward(self, gy):
        return gy * self.finite


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,  # noqa: A002
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (default: the dtype's largest
    and smallest finite values); integer input comes back as a copy."""
    x = as_tensor(input)
    if x.data.dtype.kind != "f":
        return Tensor(x.data.copy(), _raw=True)
    return NanToNum(nan, posinf, neginf)(x)
