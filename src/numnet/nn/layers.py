"""Layers: ``Linear Conv2d MaxPool2d AvgPool2d Flatten BatchNorm1d BatchNorm2d
Identity``, with PyTorch's arguments, parameter names and default initialization (dropout:
``numnet.nn.dropout``).

Every layer checks its input and names itself and both shapes when they do not fit.
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.nn.pooling import AvgPool2d, MaxPool2d  # re-exported: their old home
from numnet.ops._grid import int_pair
from numnet.ops.conv import same_padding
from numnet.tensor import Tensor


def _dtype(dtype) -> numpy.dtype:
    return backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)


def _check_dtype(layer: Module, x: Tensor, param: Tensor) -> None:
    if x.dtype != param.dtype:
        raise RuntimeError(f"{layer!r}: input dtype {x.dtype} does not match the layer's "
                           f"{param.dtype}; convert the input or the model (.float(), "
                           ".double())")


class Identity(Module):
    """``y = x`` (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """Fully connected layer: ``y = x W^T + b``.

    In the lecture's notation the weight ``w_ij^(l)`` links node i of layer l-1 to node j
    of layer l; here ``weight[j, i]``, and the bias ``w_0j`` (the weight of ``x_0 = 1``) is
    ``bias[j]``.

    Default initialization (PyTorch's): ``weight ~ kaiming_uniform_(a=sqrt(5))``, which is
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and ``bias`` from the same range. With
    ``init='xavier'`` (or any name in ``numnet.nn.init.INITIALIZERS``) the weight uses that
    scheme and the bias starts at zero.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        init: optional initialization scheme by name (or callable) for the weight.
        dtype: parameter dtype (default: numnet's default dtype, float32).

    Shape:
        - Input: (*, in_features)
        - Output: (*, out_features)

    Example:
        >>> import numnet
        >>> layer = Linear(784, 256)
        >>> layer(numnet.zeros(64, 784)).shape
        (64, 256)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init=None,
                 *, dtype=None) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        dtype = _dtype(dtype)
        self.weight = Parameter(numpy.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias, self.init)

    def forward(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise RuntimeError(f"{self!r}: expected input with last dimension "
                               f"{self.in_features}, got shape {tuple(x.shape)}")
        _check_dtype(self, x, self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}"
        if self.bias is None:
            text += ", bias=False"
        if self.init is not None:
            text += f", init={self.init!r}"
        return text


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _reset_weight_and_bias(weight, bias, init) -> None:
    if init is None:
        nn_init.default_weight_(weight)
        if bias is not None:
            nn_init.default_bias_(bias, weight)
        return
    nn_init.initialize(weight, init)
    if bias is not None:
        nn_init.zeros_(bias)


class _ConvNd(Module):
    """What ``Conv1d`` and ``Conv2d`` share (PyTorch's ``_ConvNd``): the arguments, their
    checks, the weight (K, C / groups, *F) and bias (K,), and the forward through
    ``padding_mode``."""

    _dims = 2
    _conv = "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None, *, init=None) -> None:
        super().__init__()
        devices.check(device)
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride = self._tuple(stride, "stride")
        self.dilation = self._tuple(dilation, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 "{'same', 'valid'}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = self._tuple(padding, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        sizes = self.kernel_size + self.stride + self.dilation
        if min(sizes) < 1 or min(min(pair) for pair in self._padding_pairs()) < 0:
            raise ValueError(f"{type(self).__name__}: kernel_size, stride and dilation must "
                             f"be positive and padding non-negative, got "
                             f"kernel_size={self.kernel_size}, stride={self.stride}, "
                             f"padding={self.padding}, dilation={self.dilation}")
        self.groups = groups
        self.padding_mode = padding_mode
        self.transposed = False
        self.output_padding = (0,) * self._dims
        # F.pad's amounts for padding_mode, the last dim first
        self._reversed_padding_repeated_twice = [
            amount for pair in reversed(self._padding_pairs()) for amount in pair]
        self.init = init
        dtype = _dtype(dtype)
        shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = Parameter(numpy.empty(shape, dtype))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _tuple(self, value, name: str) -> tuple:
        if self._dims == 2:
            return int_pair(value, name)
        if isinstance(value, (tuple, list)) and len(value) == 1:
            value = value[0]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an int or a sequence of one int, got {value!r}")
        return (value,)

    def _padding_pairs(self) -> list:
        """``(before, after)`` zeros per spatial dim (first dim first), strings resolved."""
        if self.padding == "valid":
            return [(0, 0)] * self._dims
        if self.padding == "same":
            return list(same_padding(self.kernel_size, self.dilation))
        return [(p, p) for p in self.padding]

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias, self.init)

    def output_size(self, *sizes: int) -> tuple:
        """``floor((N + 2P - D (F - 1) - 1) / S) + 1`` per spatial dim of size N (with
        ``'same'``, N; with ``'valid'``, P = 0)."""
        axes = zip(sizes, self._padding_pairs(), self.kernel_size, self.stride, self.dilation)
        return tuple((n + before + after - d * (f - 1) - 1) // s + 1
                     for n, (before, after), f, s, d in axes)

    def forward(self, x):
        return self._convolve(x, getattr(F, self._conv))

    def _convolve(self, x, conv):
        dims = self._dims
        if x.ndim not in (dims + 1, dims + 2):
            raise RuntimeError(f"{self!r}: expected {dims + 2}-D input (N, C, {self._sizes}) "
                               f"or {dims + 1}-D (C, {self._sizes}), got shape "
                               f"{tuple(x.shape)}")
        channels = x.shape[-dims - 1]
        if channels != self.in_channels:
            raise RuntimeError(f"{self!r}: expected input with {self.in_channels} channels "
                               f"(dim {x.ndim - dims - 1}), got shape {tuple(x.shape)}")
        sizes = tuple(x.shape[-dims:])
        padded = tuple(n + a + b for n, (a, b) in zip(sizes, self._padding_pairs()))
        reach = tuple(d * (f - 1) + 1 for f, d in zip(self.kernel_size, self.dilation))
        if any(n < f for n, f in zip(padded, reach)):
            dilated = "" if reach == self.kernel_size else " (dilated, D (F - 1) + 1)"
            raise RuntimeError(f"{self!r}: input of shape {tuple(x.shape)} padded to {padded} "
                               f"is smaller than the kernel {reach}{dilated}")
        _check_dtype(self, x, self.weight)
        padding = self.padding
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        unbatched = x.ndim == dims + 1
        if unbatched:
            x = F.unsqueeze(x, 0)
        y = conv(x, self.weight, self.bias, stride=self.stride, padding=padding,
                 dilation=self.dilation, groups=self.groups)
        return F.squeeze(y, 0) if unbatched else y

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        if self.init is not None:
            text += f", init={self.init!r}"
        return text

    def summary_details(self) -> str:
        def side(values):
            return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

        padding = self.padding if isinstance(self.padding, str) else side(self.padding)
        text = (f"K={self.out_channels} F={side(self.kernel_size)} S={side(self.stride)} "
                f"P={padding}")
        if self.dilation != (1,) * self._dims:
            text += f" D={side(self.dilation)}"
        if self.groups != 1:
            text += f" G={self.groups}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input: ``Conv2d``'s K filters of size F, stride S,
    padding P, dilation D and groups along one axis (``F.conv1d``, which runs it as a 2-D
    convolution of height 1).

    Output length ``OL = floor((L + 2P - D (F - 1) - 1) / S) + 1``. Arguments, weight
    (K, C / groups, F), initialization and ``padding_mode`` as ``Conv2d``.

    Shape:
        - Input: (N, C, L) or (C, L)
        - Output: (N, K, OL) or (K, OL)

    Example:
        >>> import numnet
        >>> Conv1d(16, 33, 3, stride=2)(numnet.zeros(20, 16, 50)).shape
        (20, 33, 24)
    """

    _dims = 1
    _conv = "conv1d"
    _sizes = "L"


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation, as in every framework) over (N, C, H, W) input.

    In the lecture's words: K filters (``out_channels``), each of size F x F
    (``kernel_size``) over all C input channels, moved with stride S (``stride``) over the
    input zero-padded by P (``padding``) on each side. Each filter shares its weights over
    every position (weight sharing) and sees a local F x F window (local receptive field).
    An N x N input gives a K x M x M output with::

        M = (N - F + 2P) / S + 1        (rounded down)

    and, with dilation D (the filter's taps D apart, a window spanning ``D (F - 1) + 1``)::

        OH = floor((H + 2P - D (F - 1) - 1) / S) + 1

    ``y[n, k] = b[k] + sum_c weight[k, c] * x_padded[n, c]`` (cross-correlation with stride S);
    with ``groups`` = G the C channels form G groups, each convolved with its own K / G
    filters of C / G channels (G = C: depthwise).

    Default initialization (PyTorch's): ``weight ~ kaiming_uniform_(a=sqrt(5))``, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = C / G F F``, and ``bias`` from the
    same range; with ``init='he'`` etc. the weight uses that scheme (``fan_out = K F F``) and
    the bias starts at zero.

    Args:
        in_channels: C.
        out_channels: K, the number of filters.
        kernel_size: F (an int, or a pair (FH, FW)).
        stride: S (int or pair).
        padding: P (int or pair) on each side, or ``'valid'`` (none) or ``'same'`` (the
            output as large as the input; stride 1 only; an odd ``D (F - 1)`` puts the
            extra row / column at the bottom / right, as PyTorch).
        dilation: D (int or pair), the spacing between the filter's taps.
        groups: G, dividing C and K.
        bias: learn one bias per filter.
        padding_mode: what the padding holds: ``'zeros'``, ``'reflect'``, ``'replicate'``
            or ``'circular'`` (the last three pad with ``F.pad``, then convolve unpadded).
        device: None or the CPU (numnet runs on the CPU only).
        dtype: parameter dtype (default: numnet's default dtype).
        init: optional initialization scheme by name (or callable) for the weight.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Weight: (K, C / G, FH, FW)
        - Output: (N, K, OH, OW), ``OH = (H + 2 PH - DH (FH - 1) - 1) // SH + 1``, likewise
          OW.

    Example:
        >>> import numnet
        >>> conv = Conv2d(1, 6, kernel_size=5, padding=2)
        >>> conv(numnet.zeros(2, 1, 28, 28)).shape
        (2, 6, 28, 28)
        >>> Conv2d(8, 8, 3, padding="same", groups=8, padding_mode="reflect").weight.shape
        (8, 1, 3, 3)
    """

    _sizes = "H, W"

    def forward_relu(self, x, pool=None):
        """``relu(self(x))``, or ``pool(relu(self(x)))`` for a ``MaxPool2d`` whose windows
        tile its input (``pool.tiles()``), as one op (``F.conv2d_relu``): the same numbers
        and errors, fewer passes over memory. ``nn.Sequential`` calls it for such groups."""
        if pool is None:
            return self._convolve(x, F.conv2d_relu)
        window = pool.tiles()
        if window is None:
            raise ValueError(f"{pool!r} cannot be fused: its windows overlap or are padded")
        batch_shape = tuple(x.shape[:-3])

        def conv_relu_pool(x4, weight, bias, stride, padding, dilation, groups):
            out_shape = batch_shape + (self.out_channels,) + self.output_size(*x.shape[-2:])
            pool._check_shape(out_shape)
            return F.conv2d_relu(x4, weight, bias, stride=stride, padding=padding, pool=window,
                                 dilation=dilation, groups=groups)

        return self._convolve(x, conv_relu_pool)


class Flatten(Module):
    """Merge dims ``start_dim..end_dim`` into one (default: all but the batch dim).

    Example:
        >>> import numnet
        >>> Flatten()(numnet.zeros(64, 16, 5, 5)).shape
        (64, 400)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _BatchNorm(Module):
    _expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 dtype=None) -> None:
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = _dtype(dtype)
        if affine:
            self.weight = Parameter(numpy.ones(self.num_features, dtype))
            self.bias = Parameter(numpy.zeros(self.num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean",
                                 Tensor(numpy.zeros(self.num_features, dtype), _raw=True))
            self.register_buffer("running_var",
                                 Tensor(numpy.ones(self.num_features, dtype), _raw=True))
            self.register_buffer("num_batches_tracked",
                                 Tensor(numpy.array(0, dtype=numpy.int64), _raw=True))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics; weight (gamma) = 1, bias (beta) = 0."""
        self.reset_running_stats()
        if self.affine:
            nn_init.ones_(self.weight)
            nn_init.zeros_(self.bias)

    def _check_input(self, x) -> None:
        if x.ndim not in self._ndims:
            raise ValueError(f"{self!r}: expected {self._expected} input, got shape "
                             f"{tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"{self!r}: expected {self.num_features} channels in dim 1 "
                               f"({self._expected}), got shape {tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        if self.affine:
            _check_dtype(self, x, self.weight)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        text = f"{self.num_features}"
        if self.eps != 1e-5:
            text += f", eps={self.eps}"
        if self.momentum != 0.1:
            text += f", momentum={self.momentum}"
        if not self.affine:
            text += ", affine=False"
        if not self.track_running_stats:
            text += ", track_running_stats=False"
        return text


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, per feature / channel C.

    ``y = gamma (x - mean) / sqrt(var + eps) + beta`` (Ioffe & Szegedy, 2015).

    In training mode the batch's mean and biased variance normalise, and the running
    statistics (buffers ``running_mean``, ``running_var``, ``num_batches_tracked``) are
    updated with the *unbiased* variance: ``running = (1 - momentum) running + momentum
    batch_stat`` (``momentum=None``: the cumulative average). In eval mode the running
    statistics normalise. With ``track_running_stats=False`` the batch statistics are used
    in both modes. Exactly PyTorch's behaviour; formulas in
    ``numnet.ops.normalization.BatchNorm``.

    Default initialization (PyTorch's): ``weight`` (gamma) = 1, ``bias`` (beta) = 0,
    ``running_mean`` = 0, ``running_var`` = 1.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: weight of the new batch in the running statistics (None: cumulative).
        affine: learn gamma and beta.
        track_running_stats: keep running statistics for eval mode.

    Shape:
        - Input: (N, C) or (N, C, L)
        - Output: same shape as the input
    """

    _ndims = (2, 3)
    _expected = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, per channel C (statistics over N, H, W).

    Same semantics as ``BatchNorm1d`` (and as PyTorch's ``BatchNorm2d``).

    Shape:
        - Input: (N, C, H, W)
        - Output: same shape as the input
    """

    _ndims = (4,)
    _expected = "4-D (N, C, H, W)"


__all__ = ["Identity", "Linear", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten",
           "BatchNorm1d", "BatchNorm2d"]
