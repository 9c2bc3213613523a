"""Pooling layers: ``MaxPool2d AvgPool2d MaxPool1d AvgPool1d MaxUnpool2d MaxUnpool1d
AdaptiveAvgPool2d AdaptiveMaxPool2d AdaptiveAvgPool1d AdaptiveMaxPool1d``, with PyTorch's
arguments, attributes and reprs, over the ops of ``numnet.ops.pool``, ``ops.unpool`` and
``ops.adaptive_pool`` (the output-size formulas are there).
"""

from __future__ import annotations

from numnet.nn import functional as F
from numnet.nn.module import Module
from numnet.ops._grid import int_pair
from numnet.ops.pool import pool_output_size


def _side(sizes: tuple) -> str:
    """``(3, 3)`` as ``3``, ``(3, 2)`` as ``3x2``, ``(3,)`` as ``3``."""
    return str(sizes[0]) if len(set(sizes)) == 1 else "x".join(map(str, sizes))


def _details(kernel, stride, padding, dilation) -> str:
    """``summary``'s ``F=2 S=2`` (and ``P=``, ``D=`` when they are not 0 and 1)."""
    text = f"F={_side(kernel)} S={_side(stride)}"
    if any(padding):
        text += f" P={_side(padding)}"
    return text if set(dilation) == {1} else text + f" D={_side(dilation)}"


def _single(value):
    """PyTorch's ``_single``: an int as ``(int,)``, a sequence as a tuple."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _Pool2d(Module):
    """What ``MaxPool2d`` and ``AvgPool2d`` share: F, S (default F) and P as given (and D,
    when the subclass has one)."""

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def _check_shape(self, shape: tuple) -> None:
        if len(shape) not in (3, 4):
            raise RuntimeError(f"{self!r}: expected 4-D input (N, C, H, W) or 3-D (C, H, W), "
                               f"got shape {shape}")
        kernel = int_pair(self.kernel_size, "kernel_size")
        stride = int_pair(self.stride, "stride") if self.stride else kernel
        padding = int_pair(self.padding, "padding")
        dilation = int_pair(getattr(self, "dilation", 1), "dilation")
        if min(stride) < 1:
            return  # the op names the bad stride
        out = [pool_output_size(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in
               zip(shape[-2:], kernel, stride, padding, dilation)]
        if min(out) <= 0:
            raise RuntimeError(f"{self!r}: input of shape {shape} is smaller than the "
                               f"pooling window {kernel}")

    def summary_details(self) -> str:
        return _details(*(int_pair(v, name) for v, name in (
            (self.kernel_size, "kernel_size"), (self.stride, "stride"),
            (self.padding, "padding"), (getattr(self, "dilation", 1), "dilation"))))


class MaxPool2d(_Pool2d):
    """Max pooling (subsampling): the maximum of each F x F window, moved with stride S.

    Output size per spatial dim: ``floor((N + 2P - D (F - 1) - 1) / S) + 1`` (ceil with
    ``ceil_mode``, see ``numnet.ops.pool``); ``stride`` defaults to ``kernel_size``
    (non-overlapping windows). Padding counts as -inf.

    Args:
        kernel_size, stride, padding, dilation: F, S, P, D (ints or pairs).
        return_indices: also return the int64 positions (``h * W + w``) of the maxima, for
            ``MaxUnpool2d``.
        ceil_mode: round the output size up (a last, partial window).

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW) or (C, OH, OW)

    Example:
        >>> import numnet
        >>> MaxPool2d(2)(numnet.zeros(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def tiles(self):
        """The window ``(F_h, F_w)`` when the windows lie side by side (stride = kernel, no
        padding, dilation or ceil_mode) and no indices are asked for, else None."""
        kernel = int_pair(self.kernel_size, "kernel_size")
        plain = (int_pair(self.stride, "stride") == kernel
                 and int_pair(self.padding, "padding") == (0, 0)
                 and int_pair(self.dilation, "dilation") == (1, 1)
                 and not self.ceil_mode and not self.return_indices)
        return kernel if plain else None

    def forward(self, x):
        self._check_shape(tuple(x.shape))
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """Average pooling: the mean of each F x F window, moved with stride S.

    Output size per spatial dim: ``floor((N + 2P - F) / S) + 1`` (ceil with ``ceil_mode``);
    ``stride`` defaults to ``kernel_size``. The divisor is ``divisor_override`` when given,
    else the window's size (``count_include_pad=True``: padding counted, the part past the
    padding that ceil_mode adds not) or its input elements only (see ``numnet.ops.pool``).

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW) or (C, OH, OW)

    Example:
        >>> import numnet
        >>> AvgPool2d(3, 2, 1, count_include_pad=False)(numnet.ones(1, 2, 5, 5)).shape
        (1, 2, 3, 3)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        self._check_shape(tuple(x.shape))
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(MaxPool2d):
    """1-D max pooling over the length L (``F.max_pool1d``; arguments as ``MaxPool2d``).

    Shape:
        - Input: (N, C, L) or (C, L)
        - Output: (N, C, OL) or (C, OL), ``OL = floor((L + 2P - D (F - 1) - 1) / S) + 1``

    Example:
        >>> import numnet
        >>> MaxPool1d(3, stride=2)(numnet.zeros(4, 2, 9)).shape
        (4, 2, 4)
    """

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def summary_details(self) -> str:
        return _details(*map(_single, (self.kernel_size, self.stride, self.padding,
                                       self.dilation)))


class AvgPool1d(AvgPool2d):
    """1-D average pooling over the length L (``F.avg_pool1d``; arguments as ``AvgPool2d``
    without ``divisor_override``).

    Shape:
        - Input: (N, C, L) or (C, L)
        - Output: (N, C, OL) or (C, OL), ``OL = floor((L + 2P - F) / S) + 1``

    Example:
        >>> import numnet
        >>> AvgPool1d(2)(numnet.zeros(4, 2, 9)).shape
        (4, 2, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True) -> None:
        stride = _single(stride if stride is not None else kernel_size)
        super().__init__(_single(kernel_size), stride, _single(padding), ceil_mode,
                         count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def summary_details(self) -> str:
        return _details(self.kernel_size, self.stride, self.padding, (1,))


class MaxUnpool2d(Module):
    """The partial inverse of ``MaxPool2d``: each value back at its index, zeros elsewhere.

    Shape:
        - Input and indices: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW), ``OH = (H - 1) S - 2P + F`` unless ``output_size`` is
          given to ``forward``

    Example:
        >>> import numnet
        >>> pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
        >>> x = numnet.randn(1, 1, 5, 5)
        >>> unpool(*pool(x), output_size=x.shape).shape
        (1, 1, 5, 5)
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.stride = int_pair(stride if stride is not None else kernel_size, "stride")
        self.padding = int_pair(padding, "padding")

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    """The partial inverse of ``MaxPool1d``: (N, C, L) or (C, L) with its indices to
    (..., OL), ``OL = (L - 1) S - 2P + F`` unless ``output_size`` is given.

    Example:
        >>> import numnet
        >>> MaxUnpool1d(2)(numnet.ones(1, 2), numnet.tensor([[1, 2]])).tolist()
        [[0.0, 1.0, 1.0, 0.0]]
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        Module.__init__(self)
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class _Adaptive(Module):
    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_Adaptive):
    """Average pooling to a fixed output size (``F.adaptive_avg_pool2d``: window i along an
    axis of N is ``floor(i N / O) <= n < ceil((i + 1) N / O)``).

    Args:
        output_size: (OH, OW) or one int; a None entry keeps the input's size.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW) or (C, OH, OW)

    Example:
        >>> import numnet
        >>> AdaptiveAvgPool2d((None, 1))(numnet.zeros(2, 8, 5, 7)).shape
        (2, 8, 5, 1)
    """

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max pooling to a fixed output size (``F.adaptive_max_pool2d``; windows as in
    ``AdaptiveAvgPool2d``); ``return_indices`` also returns the maxima's positions.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW) or (C, OH, OW)

    Example:
        >>> import numnet
        >>> AdaptiveMaxPool2d(3)(numnet.zeros(2, 8, 5, 7)).shape
        (2, 8, 3, 3)
    """

    def __init__(self, output_size, return_indices=False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_Adaptive):
    """1-D ``AdaptiveAvgPool2d``: (N, C, L) or (C, L) to (..., OL).

    Example:
        >>> import numnet
        >>> AdaptiveAvgPool1d(4)(numnet.zeros(2, 8, 10)).shape
        (2, 8, 4)
    """

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """1-D ``AdaptiveMaxPool2d``: (N, C, L) or (C, L) to (..., OL).

    Example:
        >>> import numnet
        >>> AdaptiveMaxPool1d(4)(numnet.zeros(2, 8, 10)).shape
        (2, 8, 4)
    """

    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)


__all__ = ["MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d", "MaxUnpool2d", "MaxUnpool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d"]
