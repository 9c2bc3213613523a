"""1-D pooling: ``max_pool1d avg_pool1d``, the 2-D ops of ``ops/pool.py`` over an
(N, C, 1, L) view of an (N, C, L) input, with kernel (1, F), stride (1, S), padding (0, P)
and dilation (1, D); output size ``floor((L + 2P - D (F - 1) - 1) / S) + 1`` (ceil with
``ceil_mode``, as there). ``single`` and ``as_2d`` serve the other 1-D ops too.
"""

from __future__ import annotations

import numbers

from numnet.ops._util import as_tensor
from numnet.ops.pool import AvgPool2d, MaxPool2d
from numnet.ops.shape import squeeze, unsqueeze
from numnet.tensor import Tensor


class MaxPool1d(MaxPool2d):
    """``MaxPool2d`` over an (N, C, 1, L) input (names itself ``max_pool1d``)."""

    op = "max_pool1d"


class AvgPool1d(AvgPool2d):
    """``AvgPool2d`` over an (N, C, 1, L) input (names itself ``avg_pool1d``)."""

    op = "avg_pool1d"


def single(value, op: str, name: str) -> int:
    """``value``, an int or a sequence of one int (PyTorch's 1-D argument rules)."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(f"{op}() argument '{name}' should contain one int "
                               f"(got {len(value)})")
        if isinstance(value[0], numbers.Integral):
            return int(value[0])
    raise TypeError(f"{op}(): argument '{name}' must be an int or a tuple of one int, got "
                    f"{value!r}")


def as_2d(op: str, x) -> Tensor:
    """An (N, C, L) or (C, L) input as (N, C, 1, L) or (C, 1, L) (differentiably)."""
    x = as_tensor(x)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(x.shape)}")
    return unsqueeze(x, -2)


def _pairs_1d(op: str, kernel_size, stride, padding, dilation=1) -> tuple:
    """The 1-D F, S, P, D as the 2-D op's pairs ``(1, F), (1, S), (0, P), (1, D)``."""
    k = single(kernel_size, op, "kernel_size")
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if no_stride else single(stride, op, "stride")
    return ((1, k), (1, s), (0, single(padding, op, "padding")),
            (1, single(dilation, op, "dilation")))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """1-D max pooling: ``max_pool2d`` over the length L (output size as there).

    Args:
        input: (N, C, L) or (C, L).
        kernel_size, stride, padding, dilation: F, S (default F), P, D as ints.
        ceil_mode: round the output size up.
        return_indices: also return the int64 position in L of each maximum.

    Returns:
        Tensor (N, C, OL) (or (C, OL)); with ``return_indices`` ``(output, indices)``.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.max_pool1d(numnet.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2, ceil_mode=True)
        tensor([[3., 5., 4.]])
    """
    x = as_2d("max_pool1d", input)
    kernel, stride, padding, dilation = _pairs_1d("max_pool1d", kernel_size, stride, padding,
                                                  dilation)
    function = MaxPool1d(kernel, stride, padding, dilation, ceil_mode)
    y = squeeze(function(x), -2)
    if not return_indices:
        return y
    return y, Tensor(function.flat_indices()[..., 0, :], _raw=True)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    """1-D average pooling: ``avg_pool2d`` over the length L (output size as there).

    Args:
        input: (N, C, L) or (C, L).
        kernel_size, stride, padding: F, S (default F), P as ints.
        ceil_mode: round the output size up.
        count_include_pad: count the padding zeros in the divisor.

    Returns:
        Tensor (N, C, OL) (or (C, OL)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.avg_pool1d(numnet.tensor([[1.0, 3.0, 2.0, 5.0]]), 2)
        tensor([[2.0000, 3.5000]])
    """
    x = as_2d("avg_pool1d", input)
    kernel, stride, padding, _ = _pairs_1d("avg_pool1d", kernel_size, stride, padding)
    function = AvgPool1d(kernel, stride, padding, ceil_mode, count_include_pad)
    return squeeze(function(x), -2)
