"""Transposed convolution layers: ``ConvTranspose2d`` and ``ConvTranspose1d``, with
PyTorch's arguments, weight layout, initialization and ``forward(input, output_size)``.

The functions, their formulas and the algorithm are in ``numnet.ops.conv_transpose``.
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet.nn import init as nn_init
from numnet.nn.layers import _ConvNd
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.ops.conv_transpose import conv_transpose1d, conv_transpose2d


def _ntuple(value, n: int) -> tuple:
    """PyTorch's ``_pair`` / ``_single``: a sequence as a tuple, anything else n times."""
    try:
        return tuple(value)
    except TypeError:
        return (value,) * n


class _ConvTransposeNd(Module):
    """What ``ConvTranspose1d`` and ``ConvTranspose2d`` share: arguments, parameters, the
    default initialization, ``output_size=`` and ``extra_repr``."""

    _dims = 2
    _function = staticmethod(conv_transpose2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        devices.check(device)
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if isinstance(padding, str):
            raise TypeError(f"{name}: padding must be an int or a tuple of ints, got "
                            f"{padding!r} (padding strings are for Conv layers only)")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _ntuple(kernel_size, self._dims)
        self.stride = _ntuple(stride, self._dims)
        self.padding = _ntuple(padding, self._dims)
        self.dilation = _ntuple(dilation, self._dims)
        self.transposed = True
        self.output_padding = _ntuple(output_padding, self._dims)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        dtype = backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)
        shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        self.weight = Parameter(numpy.empty(shape, dtype))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's: ``weight ~ kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in),
        1/sqrt(fan_in)) with ``fan_in = C_out / groups * F_h * F_w`` (the weight's dim 1
        times its receptive field), and ``bias`` from the same range."""
        nn_init.default_weight_(self.weight)
        if self.bias is not None:
            nn_init.default_bias_(self.bias, self.weight)

    def _output_padding(self, input, output_size) -> tuple:  # noqa: A002
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        dims = self._dims
        leading = 2 if input.ndim == dims + 2 else 1
        output_size = list(output_size)
        if len(output_size) == leading + dims:
            output_size = output_size[leading:]
        if len(output_size) != dims:
            raise ValueError(f"ConvTranspose{dims}D: for {input.ndim}D input, output_size must "
                             f"have {dims} or {leading + dims} elements (got "
                             f"{len(output_size)})")
        spatial = input.shape[leading:]
        min_sizes = [(n - 1) * s - 2 * p + d * (f - 1) + 1 for n, s, p, d, f in
                     zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        max_sizes = [low + s - 1 for low, s in zip(min_sizes, self.stride)]
        for size, low, high in zip(output_size, min_sizes, max_sizes):
            if size < low or size > high:
                raise ValueError(f"requested an output size of {output_size}, but valid sizes "
                                 f"range from {min_sizes} to {max_sizes} (for an input of "
                                 f"{tuple(input.shape[2:])})")
        return tuple(int(size) - low for size, low in zip(output_size, min_sizes))

    def forward(self, input, output_size=None):  # noqa: A002
        output_padding = self._output_padding(input, output_size)
        return self._function(input, self.weight, self.bias, self.stride, self.padding,
                              output_padding, self.groups, self.dilation)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text

    # the lecture's words for ``summary``: ``K=8 F=3 S=2 P=1`` (and D, G when set)
    summary_details = _ConvNd.summary_details


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) input: the gradient of ``Conv2d``
    with respect to its input, mapping the convolution's output size back to its input
    size (decoders, GANs, segmentation heads).

    In the lecture's words, for K = ``out_channels`` filters of size F (``kernel_size``),
    stride S and padding P, an N x N input gives a K x M x M output with::

        M = (N - 1) S - 2P + D (F - 1) + output_padding + 1

    (dilation D): each input pixel adds its F x F filters, weighted by its value, to the
    output, S pixels apart; P rows and columns are cut off each side. ``output_padding``
    (smaller than S or D) adds rows / columns at the bottom / right, to pick which of the S
    sizes a stride-S ``Conv2d`` maps to N is meant; ``forward(x, output_size=...)`` chooses
    it from the wanted size instead.

    Default initialization (PyTorch's): ``weight ~ kaiming_uniform_(a=sqrt(5))``, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = (C_out / groups) F_h F_w``, and
    ``bias`` from the same range.

    Args:
        in_channels: C_in.
        out_channels: C_out (K).
        kernel_size: F, an int or a pair (F_h, F_w).
        stride: S (int or pair).
        padding: P (int or pair), cut off each side of the output.
        output_padding: added to the bottom / right of the output (int or pair).
        groups: in and out channels split into this many groups, each on its own.
        bias: learn one bias per output channel.
        dilation: D (int or pair), the spacing of the filter taps.
        padding_mode: only ``'zeros'`` (as in PyTorch).
        device: only the CPU.
        dtype: parameter dtype (default: numnet's default dtype, float32).

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W)
        - Weight: (C_in, C_out / groups, F_h, F_w)
        - Output: (N, C_out, OH, OW), ``OH = (H - 1) S_h - 2 P_h + D_h (F_h - 1) +
          output_padding_h + 1``, likewise OW.

    Example:
        >>> import numnet
        >>> up = ConvTranspose2d(16, 8, kernel_size=3, stride=2, padding=1)
        >>> up(numnet.zeros(2, 16, 7, 7)).shape
        (2, 8, 13, 13)
        >>> up(numnet.zeros(2, 16, 7, 7), output_size=(14, 14)).shape
        (2, 8, 14, 14)
    """


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) input (``ConvTranspose2d`` on a height
    of 1): output length ``(L - 1) S - 2P + D (F - 1) + output_padding + 1``.

    Same arguments, initialization and ``output_size=`` as ``ConvTranspose2d``, each an int
    (or a 1-tuple).

    Shape:
        - Input: (N, C_in, L) or (C_in, L)
        - Weight: (C_in, C_out / groups, F)
        - Output: (N, C_out, L_out)

    Example:
        >>> import numnet
        >>> ConvTranspose1d(4, 2, kernel_size=4, stride=2, padding=1)(numnet.zeros(3, 4, 10)).shape
        (3, 2, 20)
    """

    _dims = 1
    _function = staticmethod(conv_transpose1d)


__all__ = ["ConvTranspose1d", "ConvTranspose2d"]
