"""Activations as modules: ``Sigmoid Tanh ReLU LeakyReLU Softmax LogSoftmax``.

The lecture's trade-offs, in short: sigmoid and tanh saturate (gradients vanish for large
|x|; sigmoid's outputs are not zero-centred), ReLU does not saturate for x > 0 and is cheap
but a unit can "die" (zero gradient for x < 0), leaky ReLU keeps a small slope there.

``get_activation(name)`` builds one by name (``ACTIVATIONS``), for model configs.
"""

from __future__ import annotations

from numnet.nn import functional as F
from numnet.nn.module import Module


class Sigmoid(Module):
    """``y = 1 / (1 + e**-x)``, range (0, 1); ``dy/dx = y (1 - y)`` (at most 1/4)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """``y = tanh x``, range (-1, 1), zero-centred; ``dy/dx = 1 - y**2``."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """``y = max(0, x)``; ``dy/dx = 1`` for x > 0, else 0 (0 at x = 0, as PyTorch)."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """``y = x`` for x > 0, else ``negative_slope * x``.

    Args:
        negative_slope: the slope for x < 0 (default 0.01).
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """``y_i = e**x_i / sum_j e**x_j`` along ``dim``: outputs in (0, 1) that sum to 1.

    Example:
        >>> import numnet
        >>> y = Softmax(dim=0)(numnet.tensor([-5.0, -1.0, 1.0, 5.0], dtype='float64'))
        >>> [round(v, 5) for v in y.tolist()]
        [4e-05, 0.00243, 0.01794, 0.97959]
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``y_i = x_i - log sum_j e**x_j`` along ``dim`` (stable; pair with ``nll_loss``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


ACTIVATIONS = {
    "relu": ReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyReLU,
}
"""Activations by name for ``get_activation`` (and model configs)."""


def get_activation(name: str) -> Module:
    """A new activation module by name: 'relu', 'tanh', 'sigmoid', 'leaky_relu'.

    ``'leaky_relu_<slope>'`` (e.g. ``'leaky_relu_0.1'``) sets the negative slope.

    Example:
        >>> get_activation('leaky_relu_0.2')
        LeakyReLU(negative_slope=0.2)
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
