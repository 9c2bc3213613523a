"""``conv1d``: the 1-D convolution of (N, C, L) input, run as ``conv2d`` of height 1.

K filters of size F, stride S, padding P, dilation D and G groups along one axis:
``y[n, k, l] = b[k] + sum_{c, j} x_pad[n, g C/G + c, l S + j D] W[k, c, j]``, with output
length ``OL = floor((L + 2P - D (F - 1) - 1) / S) + 1``.
"""

from __future__ import annotations

from numnet.ops._util import as_tensor
from numnet.ops.conv import conv2d
from numnet.ops.shape import squeeze, unsqueeze


def _single(value, name: str) -> int:
    """A conv1d argument, an int or a sequence of one int, as the int."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"conv1d: {name} must be an int or a sequence of one int, got "
                        f"{value!r}")
    return value


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1,  # noqa: A002
           groups=1):
    """1-D convolution of ``input`` (N, C, L) with K filters of size F: ``conv2d`` on the
    input seen as (N, C, 1, L), with filters (K, C / groups, 1, F).

    Output length: ``floor((L + 2P - D (F - 1) - 1) / S) + 1``.

    Args:
        input: (N, C, L), or (C, L) for a single sample.
        weight: (K, C / groups, F).
        bias: optional (K,).
        stride, padding, dilation: S, P, D as ints (or one-element sequences); ``padding``
            may also be ``'valid'`` or ``'same'`` (as in ``conv2d``).
        groups: G (as in ``conv2d``).

    Returns:
        Tensor (N, K, OL) (or (K, OL)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.conv1d(numnet.ones(2, 3, 10), numnet.ones(4, 3, 3), padding=1).shape
        (2, 4, 10)
    """
    x, weight = as_tensor(input), as_tensor(weight)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"conv1d: expected a 3-D input (N, C, L) or a 2-D one (C, L), got "
                           f"shape {tuple(x.shape)} (weight {tuple(weight.shape)})")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D weight (K, C / groups, F), got shape "
                           f"{tuple(weight.shape)} (input {tuple(x.shape)})")
    if not isinstance(padding, str):
        padding = (0, _single(padding, "padding"))
    stride = (1, _single(stride, "stride"))
    dilation = (1, _single(dilation, "dilation"))
    y = conv2d(unsqueeze(x, -2), unsqueeze(weight, 2), bias, stride, padding, dilation, groups)
    return squeeze(y, -2)
