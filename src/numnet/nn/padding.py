"""Padding layers, thin modules over ``F.pad`` (formulas and rules in ``ops/padding.py``):
``ZeroPad ConstantPad ReflectionPad ReplicationPad CircularPad``, each 1d, 2d and 3d, with
PyTorch's arguments.

``padding`` is an int (the same amount on every side of the padded dims) or a tuple
``(left, right)`` (1d), ``(left, right, top, bottom)`` (2d), ``(left, right, top, bottom,
front, back)`` (3d); a 1d layer pads the last dim, a 2d layer the last two, a 3d one the
last three, of a batched or unbatched input.
"""

from __future__ import annotations

from numnet.nn import functional as F
from numnet.nn.module import Module


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        if isinstance(padding, int):
            self.padding = (padding,) * (2 * self._dims)
        else:
            self.padding = tuple(padding)

    def forward(self, x):
        return F.pad(x, self.padding, mode=self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.padding, mode="constant", value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: (N, C, W) -> (N, C, W + left + right).

    Example:
        >>> import numnet
        >>> ConstantPad1d((1, 2), 3.5)(numnet.zeros(1, 2))
        tensor([[3.5000, 0.0000, 0.0000, 3.5000, 3.5000]])
    """

    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: (N, C, H, W) -> (N, C, H + top + bottom,
    W + left + right).

    Example:
        >>> import numnet
        >>> ConstantPad2d((1, 0, 0, 1), 2.0)(numnet.zeros(1, 1, 1)).tolist()
        [[[2.0, 0.0], [2.0, 2.0]]]
    """

    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value`` (N, C, D, H, W).

    Example:
        >>> import numnet
        >>> ConstantPad3d(1, 0.5)(numnet.zeros(1, 1, 1, 1)).shape
        (1, 3, 3, 3)
    """

    _dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros.

    Example:
        >>> import numnet
        >>> ZeroPad1d(1)(numnet.ones(1, 2))
        tensor([[0., 1., 1., 0.]])
    """

    _dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last two dims with zeros (the lecture's zero padding P on every side for an
    int ``padding``).

    Example:
        >>> import numnet
        >>> ZeroPad2d((1, 1, 2, 0))(numnet.ones(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    _dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last three dims with zeros.

    Example:
        >>> import numnet
        >>> ZeroPad3d(1)(numnet.ones(1, 1, 1, 1)).shape
        (1, 3, 3, 3)
    """

    _dims = 3


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image (``x[-p]`` before, ``x[2(n-1) - p]`` after;
    each amount < the dim's size).

    Example:
        >>> import numnet
        >>> ReflectionPad1d(2)(numnet.tensor([[0.0, 1.0, 2.0]]))
        tensor([[2., 1., 0., 1., 2., 1., 0.]])
    """

    _dims = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dims with their mirror image (see ``ReflectionPad1d``).

    Example:
        >>> import numnet
        >>> ReflectionPad2d(1)(numnet.zeros(1, 1, 3, 3)).shape
        (1, 1, 5, 5)
    """

    _dims = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last three dims with their mirror image (see ``ReflectionPad1d``).

    Example:
        >>> import numnet
        >>> ReflectionPad3d(1)(numnet.zeros(1, 2, 2, 2)).shape
        (1, 4, 4, 4)
    """

    _dims = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values (``x[clip(p, 0, n-1)]``).

    Example:
        >>> import numnet
        >>> ReplicationPad1d((1, 2))(numnet.tensor([[0.0, 1.0]]))
        tensor([[0., 0., 1., 1., 1.]])
    """

    _dims = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating their edge values.

    Example:
        >>> import numnet
        >>> ReplicationPad2d(1)(numnet.zeros(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    _dims = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last three dims by repeating their edge values.

    Example:
        >>> import numnet
        >>> ReplicationPad3d(1)(numnet.zeros(1, 1, 1, 1)).shape
        (1, 3, 3, 3)
    """

    _dims = 3
    _mode = "replicate"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def forward(self, x):
        if x.ndim not in (self._dims + 1, self._dims + 2):
            raise ValueError(f"expected {self._dims + 1}D or {self._dims + 2}D input (got "
                             f"{x.ndim}D input)")
        return super().forward(x)


class CircularPad1d(_CircularPadNd):
    """Pad the last dim with the dim wrapped around (``x[p mod n]``; amounts <= n).

    Example:
        >>> import numnet
        >>> CircularPad1d(1)(numnet.tensor([[0.0, 1.0, 2.0]]))
        tensor([[2., 0., 1., 2., 0.]])
    """

    _dims = 1


class CircularPad2d(_CircularPadNd):
    """Pad the last two dims with the dims wrapped around (a torus).

    Example:
        >>> import numnet
        >>> CircularPad2d(1)(numnet.zeros(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last three dims with the dims wrapped around.

    Example:
        >>> import numnet
        >>> CircularPad3d(1)(numnet.zeros(1, 1, 1, 1, 1)).shape
        (1, 1, 3, 3, 3)
    """

    _dims = 3


__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]
