"""GELU, the Gaussian error linear unit (Hendrycks & Gimpel, 2016), exact and tanh form.

NOTE: here rather than in ``ops/activation.py`` only because the transformer layers needed it
first; it belongs with the other activations.
"""

from __future__ import annotations

import math

import numpy
from scipy import special

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_float
from numnet.ops.unary import Erf
from numnet.tensor import Tensor

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def normal_pdf(x):
    """``phi(x) = e**(-x**2 / 2) / sqrt(2 pi)``, of an array or (recorded) a Tensor."""
    half = x.dtype.type(0.5)
    return dual.exp(-half * x * x) * x.dtype.type(1 / math.sqrt(2 * math.pi))


def tanh_argument(x):
    """``u = sqrt(2/pi) (x + 0.044715 x**3)``, the argument of the tanh form's ``tanh``."""
    return x.dtype.type(_SQRT_2_OVER_PI) * (x + x.dtype.type(0.044715) * x * x * x)


def normal_cdf(x):
    """``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` of an array or (recorded, ``Erf``) a Tensor."""
    scaled = x * x.dtype.type(1 / math.sqrt(2.0))
    erf = Erf()(scaled) if dual.is_graph(scaled) else special.erf(scaled)
    return x.dtype.type(0.5) * (x.dtype.type(1) + erf)


class GELU(Function):
    """``y = x Phi(x)``, ``Phi`` the standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``;
    ``gx = gy (Phi(x) + x phi(x))`` with ``phi(x) = e**(-x**2 / 2) / sqrt(2 pi)``.

    ``approximate='tanh'``: ``y = x (1 + tanh(u)) / 2`` with
    ``u = sqrt(2/pi) (x + 0.044715 x**3)``, and
    ``gx = gy ((1 + t) / 2 + x (1 - t**2) / 2 du/dx)``, ``t = tanh(u)``,
    ``du/dx = sqrt(2/pi) (1 + 3 0.044715 x**2)``.

    Recorded (``create_graph=True``), ``t`` and ``Phi(x)`` are recomputed from ``x`` as
    numnet ops (``tanh``, ``erf``), so the gradient is differentiable to any order.
    """

    saved_inputs = ("x",)

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        one = x.dtype.type(1)
        half = x.dtype.type(0.5)
        if self.approximate == "tanh":
            self.t = numpy.tanh(tanh_argument(x))
            return half * x * (one + self.t)
        self.cdf = normal_cdf(x)
        return x * self.cdf

    def backward(self, gy):
        x = self.x
        graph = dual.is_graph(x)
        one = x.dtype.type(1)
        half = x.dtype.type(0.5)
        if self.approximate == "tanh":
            c = x.dtype.type(_SQRT_2_OVER_PI)
            t = dual.tanh(tanh_argument(x)) if graph else self.t
            du = c * (one + x.dtype.type(3 * 0.044715) * x * x)
            return gy * (half * (one + t) + half * x * (one - t * t) * du)
        cdf = normal_cdf(x) if graph else self.cdf
        return gy * (cdf + x * normal_pdf(x))


def gelu(input, approximate: str = "none") -> Tensor:  # noqa: A002 - PyTorch's name
    """``x Phi(x)`` (``approximate='tanh'``: the tanh approximation); see ``GELU``.

    Example:
        >>> import numnet
        >>> gelu(numnet.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return GELU(approximate)(as_float(input))
