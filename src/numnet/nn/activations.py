"""Activations as modules, with PyTorch's names, arguments and ``repr``: ``Sigmoid Tanh
ReLU LeakyReLU Softmax LogSoftmax Softmin Softmax2d GELU SiLU ELU CELU SELU Softplus
Softsign Hardtanh ReLU6 Hardsigmoid Hardswish Mish LogSigmoid PReLU RReLU Tanhshrink
Threshold Hardshrink Softshrink GLU``. Each calls its ``numnet.nn.functional`` form, whose
op carries the formula and the gradient (``numnet.ops.activation``, ``activation_smooth``,
``activation_piecewise``, ``gelu``); ``inplace=True`` modifies the input, as in PyTorch.
Shape: every one but ``GLU`` maps an input of any shape ``(*)`` to the same shape.

The lecture's trade-offs, in short: sigmoid and tanh saturate (gradients vanish for large
|x|; sigmoid's outputs are not zero-centred), ReLU does not saturate for x > 0 and is cheap
but a unit can "die" (zero gradient for x < 0), leaky ReLU keeps a small slope there.

``get_activation(name)`` builds one by name (``ACTIVATIONS``), for model configs.
"""

from __future__ import annotations

import warnings

import numpy

from numnet import devices
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.layers import _dtype
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.ops.activation_smooth import implicit_softmax_dim


class Sigmoid(Module):
    """``y = 1 / (1 + e**-x)``, range (0, 1); ``dy/dx = y (1 - y)`` (at most 1/4)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """``y = tanh x``, range (-1, 1), zero-centred; ``dy/dx = 1 - y**2``."""

    def forward(self, x):
        return F.tanh(x)


class _Inplace(Module):
    """An activation with PyTorch's ``inplace`` flag (``repr`` shows it only when set)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """``y = max(0, x)``; ``dy/dx = 1`` for x > 0, else 0 (0 at x = 0, as PyTorch).

    Args:
        inplace: overwrite the input (default False).

    Example:
        >>> import numnet
        >>> ReLU()(numnet.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, x):
        return F.relu(x, self.inplace)


class LeakyReLU(Module):
    """``y = x`` for x > 0, else ``negative_slope * x``.

    Args:
        negative_slope: the slope for x < 0 (default 0.01).
        inplace: overwrite the input (default False).
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class _SoftmaxLike(Module):
    """``Softmax LogSoftmax Softmin``: ``dim=None`` is PyTorch's deprecated implicit choice
    (dim 0 for 0-, 1- and 3-d input, else 1; with its warning)."""

    _name = ""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def _dim(self, x) -> int:
        if self.dim is None:
            return implicit_softmax_dim(self._name, x.ndim, stacklevel=5)
        return self.dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxLike):
    """``y_i = e**x_i / sum_j e**x_j`` along ``dim``: outputs in (0, 1) that sum to 1.

    Example:
        >>> import numnet
        >>> y = Softmax(dim=0)(numnet.tensor([-5.0, -1.0, 1.0, 5.0], dtype='float64'))
        >>> [round(v, 5) for v in y.tolist()]
        [4e-05, 0.00243, 0.01794, 0.97959]
    """

    _name = "softmax"

    def forward(self, x):
        return F.softmax(x, self._dim(x))


class LogSoftmax(_SoftmaxLike):
    """``y_i = x_i - log sum_j e**x_j`` along ``dim`` (stable; pair with ``nll_loss``)."""

    _name = "log_softmax"

    def forward(self, x):
        return F.log_softmax(x, self._dim(x))


class Softmin(_SoftmaxLike):
    """``y_i = e**-x_i / sum_j e**-x_j`` along ``dim``: ``softmax(-x)``.

    Example:
        >>> import numnet
        >>> Softmin(dim=0)(numnet.tensor([0.0, 1.0]))
        tensor([0.7311, 0.2689])
    """

    _name = "softmin"

    def forward(self, x):
        return F.softmin(x, self._dim(x))


class Softmax2d(Module):
    """Softmax over the channels at every location: ``softmax(x, dim=-3)``.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``; output the same.
    """

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, -3)


class GELU(Module):
    """``y = x Phi(x)`` (``Phi`` the standard normal CDF); ``approximate='tanh'`` uses
    ``x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))) / 2``. Formulas in
    ``numnet.ops.gelu.GELU``.

    Args:
        approximate: ``'none'`` (exact, default) or ``'tanh'``.

    Example:
        >>> import numnet
        >>> GELU()(numnet.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """``y = x sigmoid(x)`` (the swish); ``dy/dx = s (1 + x (1 - s))``, ``s = sigmoid(x)``."""

    def forward(self, x):
        return F.silu(x, self.inplace)


class Mish(_Inplace):
    """``y = x tanh(softplus(x))`` (Misra, 2019)."""

    def forward(self, x):
        return F.mish(x, self.inplace)


class Hardsigmoid(Module):
    """``y = relu6(x + 3) / 6``: 0 for x <= -3, 1 for x >= 3, linear between."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardsigmoid(x, self.inplace)


class Hardswish(Hardsigmoid):
    """``y = x relu6(x + 3) / 6`` (MobileNetV3): 0 for x <= -3, x for x >= 3."""

    def forward(self, x):
        return F.hardswish(x, self.inplace)


class SELU(_Inplace):
    """``y = scale (max(0, x) + min(0, alpha (e**x - 1)))``, ``alpha = 1.6733``,
    ``scale = 1.0507`` (Klambauer et al., 2017); pair with ``AlphaDropout`` and
    ``init.kaiming_normal_(nonlinearity='linear')``."""

    def forward(self, x):
        return F.selu(x, self.inplace)


class ELU(Module):
    """``y = x`` for x > 0, else ``alpha (e**x - 1)`` (Clevert et al., 2015).

    Args:
        alpha: the negative saturation value is ``-alpha`` (default 1.0).
        inplace: overwrite the input (default False).

    Example:
        >>> ELU(alpha=0.5)
        ELU(alpha=0.5)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """``y = max(0, x) + min(0, alpha (e**(x / alpha) - 1))`` (continuously differentiable
    ELU; Barron, 2017)."""

    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)


class Softplus(Module):
    """``y = log(1 + e**(beta x)) / beta``, the identity where ``beta x > threshold``.

    Args:
        beta: sharpness (default 1).
        threshold: above ``beta x > threshold`` the output is ``x`` (default 20).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """``y = x / (1 + |x|)``."""

    def forward(self, x):
        return F.softsign(x)


class LogSigmoid(Module):
    """``y = log(1 / (1 + e**-x))``, finite for any x."""

    def forward(self, x):
        return F.logsigmoid(x)


class Tanhshrink(Module):
    """``y = x - tanh(x)``."""

    def forward(self, x):
        return F.tanhshrink(x)


class Hardtanh(Module):
    """``y = min(max(x, min_val), max_val)``; gradient 0 outside and at the bounds.

    Args:
        min_val, max_val: the range (default -1, 1); ``max_val`` must exceed ``min_val``.
        inplace: overwrite the input (default False).
        min_value, max_value: PyTorch's deprecated names of ``min_val``, ``max_val``.

    Example:
        >>> Hardtanh(-2.0, 2.0)
        Hardtanh(min_val=-2.0, max_val=2.0)
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn("keyword argument `min_value` is deprecated and renamed to `min_val`",
                          FutureWarning, stacklevel=2)
            min_val = min_value
        if max_value is not None:
            warnings.warn("keyword argument `max_value` is deprecated and renamed to `max_val`",
                          FutureWarning, stacklevel=2)
            max_val = max_value
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val "
                                 f"({self.min_val})")

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        text = f"min_val={self.min_val}, max_val={self.max_val}"
        return text + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """``y = min(max(0, x), 6)``: ``Hardtanh(0, 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Threshold(Module):
    """``y = x`` where ``x > threshold``, else ``value``.

    Args:
        threshold: the value to compare with.
        value: what replaces the elements at or below it.
        inplace: overwrite the input (default False).
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        text = f"threshold={self.threshold}, value={self.value}"
        return text + (", inplace=True" if self.inplace else "")


class Hardshrink(Module):
    """``y = x`` where ``|x| > lambd``, else 0 (default ``lambd = 0.5``)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``y = x - lambd`` for x > lambd, ``x + lambd`` for x < -lambd, else 0."""

    def forward(self, x):
        return F.softshrink(x, self.lambd)


class GLU(Module):
    """``GLU(a, b) = a sigmoid(b)``, ``a`` and ``b`` the halves of the input along ``dim``.

    Shape:
        - Input: ``(*1, 2M, *2)``; output ``(*1, M, *2)`` (the halved ``dim``).
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class RReLU(Module):
    """Randomized leaky ReLU: ``y = x`` for x > 0, else ``r x`` with ``r ~ U(lower, upper)``
    per element in training and ``r = (lower + upper) / 2`` in evaluation.

    Args:
        lower, upper: the range of the random slope (default 1/8, 1/3).
        inplace: overwrite the input (default False).
        generator: a ``numnet.Generator`` for the slopes (keyword only; numnet's addition).
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False,
                 *, generator=None) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace
        self.generator = generator

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace,
                       generator=self.generator)

    def extra_repr(self) -> str:
        text = f"lower={self.lower}, upper={self.upper}"
        return text + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """``y = max(0, x) + a min(0, x)`` with a learnt slope ``a`` (He et al., 2015): one for
    every channel (``num_parameters = C``, the input's dim 1) or one shared (default).

    Args:
        num_parameters: 1 or the number of channels.
        init: the initial slope (default 0.25).
        device: only the CPU.
        dtype: the weight's dtype (default: numnet's default dtype).

    Attributes:
        weight: the slopes, shape ``(num_parameters,)``, initialised to ``init``.

    Example:
        >>> import numnet
        >>> PReLU()(numnet.tensor([-2.0, 2.0]))
        tensor([-0.5000,  2.0000], grad_fn=<PReLU>)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        devices.check(device)
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(numpy.empty(num_parameters, _dtype(dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn_init.constant_(self.weight, self.init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


ACTIVATIONS = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU(approximate="tanh"),
    "silu": SiLU,
    "mish": Mish,
    "elu": ELU,
    "celu": CELU,
    "selu": SELU,
    "softplus": Softplus,
    "softsign": Softsign,
    "logsigmoid": LogSigmoid,
    "tanhshrink": Tanhshrink,
    "hardtanh": Hardtanh,
    "relu6": ReLU6,
    "hardsigmoid": Hardsigmoid,
    "hardswish": Hardswish,
    "prelu": PReLU,
}
"""Activations by name for ``get_activation`` (and model configs): shape-preserving ones
whose every argument has a default (PyTorch's functional names, and ``'gelu_tanh'``)."""


def get_activation(name: str) -> Module:
    """A new activation module by name: a key of ``ACTIVATIONS`` ('relu', 'tanh',
    'sigmoid', 'leaky_relu', 'gelu', 'silu', 'elu', 'selu', 'mish', 'hardswish', ...).

    ``'leaky_relu_<slope>'`` (e.g. ``'leaky_relu_0.1'``) sets the negative slope.

    Example:
        >>> get_activation('leaky_relu_0.2')
        LeakyReLU(negative_slope=0.2)
        >>> get_activation('GELU_tanh')
        GELU(approximate='tanh')
    """
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name, got {type(name).__name__}")
    key = name.lower()
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]()
    if key.startswith("leaky_relu_"):
        try:
            return LeakyReLU(float(key[len("leaky_relu_"):]))
        except ValueError:
            pass
    raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}, "
                     "leaky_relu_<slope>")
