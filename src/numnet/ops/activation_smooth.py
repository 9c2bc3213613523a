"""Smooth activations: ``silu elu celu selu softplus mish logsigmoid softsign tanhshrink
softmin glu`` (and the in-place ``silu_ elu_ celu_ selu_ mish_``), with PyTorch's
arguments.

Each is stable for any input: sigmoids go through ``scipy.special.expit`` (no ``e**-x``
overflow), ``softplus(z)`` is ``max(z, 0) + log(1 + e**-|z|)``.
Where a formula has a kink (ELU at 0 with ``alpha != 1``) the gradient there is PyTorch's.
``inplace=True`` goes through ``numnet.ops.inplace`` (PyTorch's three in-place cases).

Every backward also runs recorded (``create_graph=True``): the sigmoids, ``tanh`` and
``e**x`` it uses are then recomputed from the input as numnet ops, so the gradient is
differentiable again, to any order.
"""

from __future__ import annotations

import warnings

import numpy
from scipy import special

from numnet.autograd import Function, zeros_stand_in
from numnet.ops import dual
from numnet.ops._util import as_float, check_dim
from numnet.ops.activation import _floating_input, sigmoid, softmax
from numnet.ops.arithmetic import neg
from numnet.ops.elementwise import abs
from numnet.ops.inplace import inplace as inplace_method
from numnet.ops.shape import Cat
from numnet.ops.unary import Expm1
from numnet.tensor import Tensor

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def softplus_array(z: numpy.ndarray) -> numpy.ndarray:
    """``log(1 + e**z)`` computed as ``max(z, 0) + log1p(e**-|z|)``: finite for any ``z``."""
    return numpy.maximum(z, 0) + numpy.log1p(numpy.exp(-numpy.abs(z)))


# ---------------------------------------------------------------------- SiLU
class SiLU(Function):
    """``y = x sigmoid(x)`` (the swish);  ``gx = gy s (1 + x (1 - s))``, ``s = sigmoid(x)``."""

    saved_inputs = ("x",)

    def forward(self, x):
        self.x = x
        self.s = special.expit(x)
        return x * self.s

    def backward(self, gy):
        x = self.x
        s = sigmoid(x) if dual.is_graph(x) else self.s
        return gy * s * (1 + x * (1 - s))


def silu(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x * sigmoid(x)`` (Elfwing et al., 2017); see ``SiLU``.

    Example:
        >>> import numnet
        >>> silu(numnet.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.2689,  0.0000,  1.7616])
    """
    if inplace:
        return silu_(input)
    return SiLU()(_floating_input(input, "silu"))


# ---------------------------------------------------------------------- the ELU family
class KeptExpm1(dual.Kept, Expm1):
    """``Expm1`` returning the kept ``y``;  ``gx = gy (y + 1)``."""


class ELU(Function):
    """``y = scale x`` for x > 0, else ``scale alpha (e**(input_scale x) - 1)``;
    ``gx = gy scale`` for x > 0, else ``gy scale alpha input_scale e**(input_scale x)``.

    ELU is ``scale = input_scale = 1``; SELU ``alpha = 1.6733, scale = 1.0507``; CELU
    ``input_scale = 1 / alpha``. At x = 0 the gradient is the left one,
    ``scale alpha input_scale`` (PyTorch's: ELU(alpha=2) has slope 2 there).

    Recorded (``create_graph=True``), ``e**(input_scale x) - 1`` where ``x < 0`` is a node of
    the graph holding the value forward kept (``KeptExpm1``: its derivative reads only its
    output), the constant 0 elsewhere: the second derivative at x = 0 is 0, PyTorch's. So
    forward keeps no more than it did for the first derivative.
    """

    saved_inputs = (None,)

    def __init__(self, alpha: float, scale: float = 1.0, input_scale: float = 1.0):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    def forward(self, x):
        dtype = x.dtype.type
        self.positive = x > 0
        self.em1 = numpy.expm1(numpy.minimum(x, 0) * dtype(self.input_scale))
        negative = self.em1 * dtype(self.scale * self.alpha)
        return numpy.where(self.positive, x * dtype(self.scale), negative)

    def backward(self, gy):
        dtype = gy.dtype.type
        em1 = self.em1
        if dual.is_graph(gy):
            x = self.saved_input(0, zeros_stand_in(em1.shape, em1.dtype))
            negative = dual.where(em1 < 0, x, dtype(0))  # e**z - 1 < 0 exactly where z < 0
            em1 = KeptExpm1(em1)(negative * dtype(self.input_scale))
        slope = dual.where(self.positive, dtype(self.scale),
                           (em1 + 1) * dtype(self.scale * self.alpha * self.input_scale))
        return gy * slope


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` for x > 0, else ``alpha (e**x - 1)`` (Clevert et al., 2015); see ``ELU``.

    Example:
        >>> import numnet
        >>> elu(numnet.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.6321,  0.0000,  2.0000])
    """
    if inplace:
        return elu_(input, alpha)
    return ELU(alpha)(_floating_input(input, "elu"))


def selu(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``scale (max(0, x) + min(0, alpha (e**x - 1)))`` with ``alpha = 1.6733`` and
    ``scale = 1.0507`` (Klambauer et al., 2017: self-normalizing); see ``ELU``.

    Example:
        >>> import numnet
        >>> selu(numnet.tensor([-1.0, 0.0, 2.0]))
        tensor([-1.1113,  0.0000,  2.1014])
    """
    if inplace:
        return selu_(input)
    return ELU(SELU_ALPHA, SELU_SCALE)(_floating_input(input, "selu"))


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``max(0, x) + min(0, alpha (e**(x / alpha) - 1))`` (Barron, 2017); see ``ELU``.

    Example:
        >>> import numnet
        >>> celu(numnet.tensor([-1.0, 0.0, 2.0]), alpha=2.0)
        tensor([-0.7869,  0.0000,  2.0000])
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return celu_(input, alpha)
    return ELU(alpha, 1.0, 1.0 / alpha)(_floating_input(input, "celu"))


# ---------------------------------------------------------------------- softplus family
class Softplus(Function):
    """``y = log(1 + e**(beta x)) / beta``, and ``y = x`` where ``beta x > threshold``;
    ``gx = gy sigmoid(beta x)``, and ``gx = gy`` where ``beta x > threshold`` (PyTorch's
    rule; at ``beta x == threshold`` the smooth form is used)."""

    saved_inputs = ("x",)

    def __init__(self, beta: float, threshold: float):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        self.x = x
        z = self.scaled(x)
        self.linear = z > self.threshold
        smooth = softplus_array(z) / x.dtype.type(self.beta)
        return numpy.where(self.linear, x, smooth)

    def scaled(self, x):
        """``z = beta x`` (``x`` itself for ``beta = 1``: the same values, no copy)."""
        return x if self.beta == 1 else x * x.dtype.type(self.beta)

    def backward(self, gy):
        z = self.scaled(self.x)
        if dual.is_graph(z):
            return gy * dual.where(self.linear, 1, sigmoid(z))
        return gy * numpy.where(self.linear, 1, special.expit(z)).astype(gy.dtype)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """``log(1 + e**(beta x)) / beta``, linear where ``beta x > threshold``; see ``Softplus``.

    Example:
        >>> import numnet
        >>> softplus(numnet.tensor([-1000.0, 0.0, 1000.0]))
        tensor([   0.0000,    0.6931, 1000.0000])
    """
    return Softplus(beta, threshold)(_floating_input(input, "softplus"))


class Mish(Function):
    """``y = x tanh(softplus(x))``;  ``gx = gy (t + x sigmoid(x) (1 - t**2))``,
    ``t = tanh(softplus(x))``."""

    saved_inputs = ("x",)

    def forward(self, x):
        self.x = x
        self.t = numpy.tanh(softplus_array(x))
        return x * self.t

    def backward(self, gy):
        x = self.x
        if dual.is_graph(x):
            t, s = Softplus(1.0, 20.0)(x).tanh(), sigmoid(x)
        else:
            t, s = self.t, special.expit(x)
        return gy * (t + x * s * (1 - t * t))


def mish(input, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x tanh(softplus(x))`` (Misra, 2019); see ``Mish``.

    Example:
        >>> import numnet
        >>> mish(numnet.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.3034,  0.0000,  1.9440])
    """
    if inplace:
        return mish_(input)
    return Mish()(_floating_input(input, "mish"))


class LogSigmoid(Function):
    """``y = log sigmoid(x) = min(x, 0) - log(1 + e**-|x|)``;  ``gx = gy sigmoid(-x)``."""

    saved_inputs = ("x",)

    def forward(self, x):
        self.x = x
        return numpy.minimum(x, 0) - numpy.log1p(numpy.exp(-numpy.abs(x)))

    def backward(self, gy):
        if dual.is_graph(self.x):
            return gy * sigmoid(-self.x)
        return gy * special.expit(-self.x)


def logsigmoid(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``log(1 / (1 + e**-x))``, finite for any x; see ``LogSigmoid``.

    Example:
        >>> import numnet
        >>> logsigmoid(numnet.tensor([-1000.0, 0.0, 1000.0]))
        tensor([-1000.0000,    -0.6931,     0.0000])
    """
    return LogSigmoid()(_floating_input(input, "log_sigmoid"))


# ---------------------------------------------------------------------- compositions
def softsign(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x / (1 + |x|)``; ``dy/dx = 1 / (1 + |x|)**2`` (PyTorch composes it the same way).

    Example:
        >>> import numnet
        >>> softsign(numnet.tensor([-3.0, 0.0, 1.0]))
        tensor([-0.7500,  0.0000,  0.5000])
    """
    x = as_float(input)
    return x / (abs(x) + 1)


def tanhshrink(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``x - tanh(x)``; ``dy/dx = tanh(x)**2``.

    Example:
        >>> import numnet
        >>> tanhshrink(numnet.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.2384,  0.0000,  1.0360])
    """
    x = as_float(input)
    return x - x.tanh()


def implicit_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's deprecated choice of ``dim`` when it is None (0 for 0-, 1- and 3-d input,
    else 1), with its warning (``stacklevel`` counted from this function)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype=None) -> Tensor:
    """``e**-x_i / sum_j e**-x_j`` along ``dim``: ``softmax(-x)``.

    ``dim=None`` is PyTorch's deprecated implicit choice (with its warning, attributed to the
    frame ``_stacklevel`` levels up); ``dtype`` casts the input first.

    Example:
        >>> import numnet
        >>> softmin(numnet.tensor([0.0, 1.0]), dim=0)
        tensor([0.7311, 0.2689])
    """
    x = input if isinstance(input, Tensor) else Tensor(input)
    if dim is None:
        dim = implicit_softmax_dim("softmin", x.ndim, _stacklevel)
    if dtype is not None:
        x = _floating_input(x, "softmin", dtype)
    return softmax(neg(x), dim)


class GLU(Function):
    """``y = a sigmoid(b)``, ``a, b`` the two halves of ``x`` along ``axis``;
    ``ga = gy sigmoid(b)``, ``gb = gy a s (1 - s)`` with ``s = sigmoid(b)``."""

    saved_inputs = ("x",)

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        self.x = x  # NOTE: the memory the view ``a`` of it kept before, no more
        a, b = self.halves(x)
        self.s = special.expit(b)
        return a * self.s

    def halves(self, x) -> tuple:
        """``(a, b)``: views of the two halves of ``x`` along ``axis`` (Tensors: indexing)."""
        half = x.shape[self.axis] // 2
        lead = (slice(None),) * self.axis
        return x[lead + (slice(None, half),)], x[lead + (slice(half, None),)]

    def backward(self, gy):
        a, b = self.halves(self.x)
        s = sigmoid(b) if dual.is_graph(b) else self.s
        ga = gy * s
        gb = ga * a * (1 - s)
        return dual.apply(Cat(self.axis), ga, gb)


def glu(input, dim: int = -1) -> Tensor:  # noqa: A002 - PyTorch's name
    """The gated linear unit (Dauphin et al., 2016): ``a * sigmoid(b)``, ``a`` and ``b`` the
    halves of the input along ``dim`` (its size must be even); see ``GLU``.

    Shape:
        - Input: ``(*1, 2M, *2)``; output ``(*1, M, *2)``.

    Example:
        >>> import numnet
        >>> glu(numnet.tensor([[1.0, 2.0, 0.0, 100.0]]))
        tensor([[0.5000, 2.0000]])
    """
    x = _floating_input(input, "glu")
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = check_dim(dim, x.ndim)
    if x.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size "
                           f"{x.shape[axis]}")
    return GLU(axis)(x)


# ---------------------------------------------------------------------- in place
silu_ = inplace_method(silu, "silu_")
elu_ = inplace_method(elu, "elu_")
selu_ = inplace_method(selu, "selu_")
celu_ = inplace_method(celu, "celu_")
mish_ = inplace_method(mish, "mish_")
