"""Floating functions of one tensor: trigonometric ``sin cos tan asin acos atan``, hyperbolic
``sinh cosh asinh acosh atanh``, ``exp2 expm1 log2 log10 log1p rsqrt reciprocal erf erfc
erfinv``, and ``square sign sgn positive``.

The floating functions take integer and bool input as the default dtype (``as_float``:
``sin(arange(3))`` is float32, as in PyTorch); ``square``, ``sign``, ``sgn`` and ``positive``
keep an integer dtype. Each op is ``y = f(x)``, ``gx = gy * f'(x)``; the derivative is
written in terms of the saved input ``x`` or output ``y``, whichever is cheaper, on arrays or
(``create_graph=True``) on Tensors alike, so every op here has derivatives of any order.

Example:
    >>> import numnet
    >>> numnet.sin(numnet.tensor([0, 1])).dtype
    dtype('float32')
"""

from __future__ import annotations

import math

import numpy
import scipy.special

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_float, as_tensor
from numnet.tensor import Tensor


class _Pointwise(Function):
    """``y = compute(x)``;  ``gx = gy * derivative(x, y)``. Subclasses give both.

    ``derivative`` is written with operators and ``dual`` functions, so with
    ``create_graph=True`` it runs on ``x`` and ``y`` as Tensors of the graph and ``gx`` is
    differentiable again (a derivative in terms of ``y`` goes back through this op).
    """

    saved_inputs = ("x",)
    saved_outputs = ("y",)

    def forward(self, x):
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = self.compute(x)
        if type(y) is not numpy.ndarray or y.dtype != x.dtype:
            y = numpy.asarray(y).astype(x.dtype, copy=False)  # scipy gives float16 as float64
        if self.needs_input_grad[0]:
            self.x, self.y = x, y
        return y

    def backward(self, gy):
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return gy * self.derivative(self.x, self.y)

    def compute(self, x):
        raise NotImplementedError

    def derivative(self, x, y):
        raise NotImplementedError


# ---------------------------------------------------------------------- trigonometric
class Sin(_Pointwise):
    """``y = sin x``;  ``gx = gy cos x``."""

    def compute(self, x):
        return numpy.sin(x)

    def derivative(self, x, y):
        return dual.cos(x)


class Cos(_Pointwise):
    """``y = cos x``;  ``gx = -gy sin x``."""

    def compute(self, x):
        return numpy.cos(x)

    def derivative(self, x, y):
        return -dual.sin(x)


class Tan(_Pointwise):
    """``y = tan x``;  ``gx = gy (1 + y**2)``."""

    def compute(self, x):
        return numpy.tan(x)

    def derivative(self, x, y):
        return 1 + y * y


class Asin(_Pointwise):
    """``y = asin x``;  ``gx = gy / sqrt(1 - x**2)``."""

    def compute(self, x):
        return numpy.arcsin(x)

    def derivative(self, x, y):
        return 1 / dual.sqrt(1 - x * x)


class Acos(_Pointwise):
    """``y = acos x``;  ``gx = -gy / sqrt(1 - x**2)``."""

    def compute(self, x):
        return numpy.arccos(x)

    def derivative(self, x, y):
        return -1 / dual.sqrt(1 - x * x)


class Atan(_Pointwise):
    """``y = atan x``;  ``gx = gy / (1 + x**2)``."""

    def compute(self, x):
        return numpy.arctan(x)

    def derivative(self, x, y):
        return 1 / (1 + x * x)


# ---------------------------------------------------------------------- hyperbolic
class Sinh(_Pointwise):
    """``y = sinh x``;  ``gx = gy cosh x``."""

    def compute(self, x):
        return numpy.sinh(x)

    def derivative(self, x, y):
        return dual.cosh(x)


class Cosh(_Pointwise):
    """``y = cosh x``;  ``gx = gy sinh x``."""

    def compute(self, x):
        return numpy.cosh(x)

    def derivative(self, x, y):
        return dual.sinh(x)


class Asinh(_Pointwise):
    """``y = asinh x``;  ``gx = gy / sqrt(x**2 + 1)``."""

    def compute(self, x):
        return numpy.arcsinh(x)

    def derivative(self, x, y):
        return 1 / dual.sqrt(x * x + 1)


class Acosh(_Pointwise):
    """``y = acosh x`` (x >= 1);  ``gx = gy / sqrt(x**2 - 1)``."""

    def compute(self, x):
        return numpy.arccosh(x)

    def derivative(self, x, y):
        return 1 / dual.sqrt(x * x - 1)


class Atanh(_Pointwise):
    """``y = atanh x`` (|x| < 1);  ``gx = gy / (1 - x**2)``."""

    def compute(self, x):
        return numpy.arctanh(x)

    def derivative(self, x, y):
        return 1 / (1 - x * x)


# ---------------------------------------------------------------------- exponentials, logs
class Exp2(_Pointwise):
    """``y = 2**x``;  ``gx = gy y ln 2``."""

    def compute(self, x):
        return numpy.exp2(x)

    def derivative(self, x, y):
        return y * x.dtype.type(math.log(2.0))


class Expm1(_Pointwise):
    """``y = e**x - 1`` (accurate for small x);  ``gx = gy (y + 1)``."""

    def compute(self, x):
        return numpy.expm1(x)

    def derivative(self, x, y):
        return y + 1


class Log2(_Pointwise):
    """``y = log2 x``;  ``gx = gy / (x ln 2)``."""

    def compute(self, x):
        return numpy.log2(x)

    def derivative(self, x, y):
        return 1 / (x * x.dtype.type(math.log(2.0)))


class Log10(_Pointwise):
    """``y = log10 x``;  ``gx = gy / (x ln 10)``."""

    def compute(self, x):
        return numpy.log10(x)

    def derivative(self, x, y):
        return 1 / (x * x.dtype.type(math.log(10.0)))


class Log1p(_Pointwise):
    """``y = ln(1 + x)`` (accurate for small x);  ``gx = gy / (1 + x)``."""

    def compute(self, x):
        return numpy.log1p(x)

    def derivative(self, x, y):
        return 1 / (1 + x)


class Rsqrt(_Pointwise):
    """``y = 1 / sqrt x``;  ``gx = -gy y**3 / 2``."""

    def compute(self, x):
        return 1 / numpy.sqrt(x)

    def derivative(self, x, y):
        return -0.5 * y * y * y


class Reciprocal(_Pointwise):
    """``y = 1 / x``;  ``gx = -gy y**2``."""

    def compute(self, x):
        return 1 / x

    def derivative(self, x, y):
        return -y * y


class Erf(_Pointwise):
    """``y = erf x = 2/sqrt(pi) int_0^x e**-t**2 dt``;  ``gx = gy 2/sqrt(pi) e**-x**2``."""

    def compute(self, x):
        return scipy.special.erf(x)

    def derivative(self, x, y):
        return x.dtype.type(2 / math.sqrt(math.pi)) * dual.exp(-x * x)


class Erfc(_Pointwise):
    """``y = 1 - erf x``;  ``gx = -gy 2/sqrt(pi) e**-x**2``."""

    def compute(self, x):
        return scipy.special.erfc(x)

    def derivative(self, x, y):
        return x.dtype.type(-2 / math.sqrt(math.pi)) * dual.exp(-x * x)


class Erfinv(_Pointwise):
    """``y = erf^-1 x`` (|x| <= 1);  ``gx = gy sqrt(pi)/2 e**(y**2)``."""

    def compute(self, x):
        return scipy.special.erfinv(x)

    def derivative(self, x, y):
        return x.dtype.type(math.sqrt(math.pi) / 2) * dual.exp(y * y)


# ---------------------------------------------------------------------- integer-keeping
class Square(_Pointwise):
    """``y = x**2``;  ``gx = 2 gy x``."""

    def compute(self, x):
        return x * x

    def derivative(self, x, y):
        return 2 * x


class Sign(_Pointwise):
    """``y = sign x`` (-1, 0 or 1; 0 at NaN, as PyTorch);  ``gx = 0``."""

    def compute(self, x):
        if x.dtype.kind == "b":
            return x.copy()
        y = numpy.asarray(numpy.sign(x))
        if x.dtype.kind == "f":
            numpy.copyto(y, 0, where=numpy.isnan(y))
        return y

    def derivative(self, x, y):
        return numpy.zeros((), dtype=x.dtype)


def _floating(name: str, function_class, doc: str):
    def op(input) -> Tensor:  # noqa: A002 - PyTorch's name
        return function_class()(as_float(input))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{doc} (``torch.{name}``; integer input gives the default dtype)."
    return op


sin = _floating("sin", Sin, "``sin x``")
cos = _floating("cos", Cos, "``cos x``")
tan = _floating("tan", Tan, "``tan x``")
asin = _floating("asin", Asin, "``asin x``, in [-pi/2, pi/2]")
acos = _floating("acos", Acos, "``acos x``, in [0, pi]")
atan = _floating("atan", Atan, "``atan x``, in (-pi/2, pi/2)")
sinh = _floating("sinh", Sinh, "``sinh x``")
cosh = _floating("cosh", Cosh, "``cosh x``")
asinh = _floating("asinh", Asinh, "``asinh x``")
acosh = _floating("acosh", Acosh, "``acosh x``")
atanh = _floating("atanh", Atanh, "``atanh x``")
exp2 = _floating("exp2", Exp2, "``2 ** x``")
expm1 = _floating("expm1", Expm1, "``e**x - 1``")
log2 = _floating("log2", Log2, "``log2 x``")
log10 = _floating("log10", Log10, "``log10 x``")
log1p = _floating("log1p", Log1p, "``ln(1 + x)``")
rsqrt = _floating("rsqrt", Rsqrt, "``1 / sqrt(x)``")
reciprocal = _floating("reciprocal", Reciprocal, "``1 / x``")
erf = _floating("erf", Erf, "The error function ``erf x``")
erfc = _floating("erfc", Erfc, "``1 - erf x``")
erfinv = _floating("erfinv", Erfinv, "The inverse error function")

# PyTorch's NumPy-style aliases
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def square(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x * x`` (integer input stays integer; bool gives int64, as PyTorch)."""
    x = as_tensor(input)
    if x.data.dtype.kind == "b":
        x = Tensor(x.data.astype(numpy.int64), _raw=True)
    return Square()(x)


def sign(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """-1, 0 or 1 by the sign of each element, in the input's dtype; gradient 0.

    Example:
        >>> import numnet
        >>> numnet.sign(numnet.tensor([-2.5, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    return Sign()(as_tensor(input))


def sgn(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``sign`` (for complex numbers PyTorch gives ``x / |x|``; numnet is real)."""
    return sign(input)


def positive(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``+x``: the input itself (a bool tensor is a RuntimeError, as in PyTorch)."""
    x = as_tensor(input)
    if x.data.dtype.kind == "b":
        raise RuntimeError("positive: the `+` operator on a bool tensor is not supported")
    return x
