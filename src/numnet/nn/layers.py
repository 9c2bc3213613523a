"""Layers: ``Linear Conv2d MaxPool2d AvgPool2d Flatten Dropout BatchNorm1d BatchNorm2d
Identity``, with PyTorch's arguments, parameter names and default initialization.

Every layer checks its input and names itself and both shapes when they do not fit.
"""

from __future__ import annotations

import numpy

from numnet import backend
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.ops._grid import int_pair
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


def _reset_weight_and_bias(weight, bias, init) -> None:
    if init is None:
        nn_init.default_weight_(weight)
        if bias is not None:
            nn_init.default_bias_(bias, weight)
        return
    nn_init.initialize(weight, init)
    if bias is not None:
        nn_init.zeros_(bias)


class Conv2d(Module):
    """2-D convolution (cross-correlation, as in every framework) over (N, C, H, W) input.

    In the lecture's words: K filters (``out_channels``), each of size F x F
    (``kernel_size``) over all C input channels, moved with stride S (``stride``) over the
    input zero-padded by P (``padding``) on each side. Each filter shares its weights over
    every position (weight sharing) and sees a local F x F window (local receptive field).
    An N x N input gives a K x M x M output with::

        M = (N - F + 2P) / S + 1        (rounded down)

    ``y[n, k] = b[k] + sum_c weight[k, c] * x_padded[n, c]`` (cross-correlation with stride S).

    Default initialization (PyTorch's): ``weight ~ kaiming_uniform_(a=sqrt(5))``, i.e.
    U(-1/sqrt(C F F), 1/sqrt(C F F)), and ``bias`` from the same range; with ``init='he'``
    etc. the weight uses that scheme (fans: ``fan_in = C F F``, ``fan_out = K F F``) and the
    bias starts at zero.

    Args:
        in_channels: C.
        out_channels: K, the number of filters.
        kernel_size: F (an int, or a pair (FH, FW)).
        stride: S (int or pair).
        padding: P (int or pair), zeros on each side.
        bias: learn one bias per filter.
        init: optional initialization scheme by name (or callable) for the weight.
        dtype: parameter dtype (default: numnet's default dtype).

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Weight: (K, C, FH, FW)
        - Output: (N, K, OH, OW), ``OH = (H - FH + 2 PH) // SH + 1``, likewise OW.

    Example:
        >>> import numnet
        >>> conv = Conv2d(1, 6, kernel_size=5, padding=2)
        >>> conv(numnet.zeros(2, 1, 28, 28)).shape
        (2, 6, 28, 28)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, bias: bool = True, init=None, *, dtype=None) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.stride = int_pair(stride, "stride")
        self.padding = int_pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"Conv2d: kernel_size and stride must be positive and padding "
                             f"non-negative, got kernel_size={self.kernel_size}, "
                             f"stride={self.stride}, padding={self.padding}")
        self.init = init
        dtype = _dtype(dtype)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(numpy.empty(shape, dtype))
        if bias:
            self.bias = Parameter(numpy.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight_and_bias(self.weight, self.bias, self.init)

    def output_size(self, height: int, width: int) -> tuple:
        """``((H - F + 2P) // S + 1, (W - F + 2P) // S + 1)``."""
        return tuple((n - f + 2 * p) // s + 1 for n, f, p, s in
                     zip((height, width), self.kernel_size, self.padding, self.stride))

    def forward(self, x):
        return self._convolve(x, F.conv2d)

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

        def conv_relu_pool(x4, weight, bias, stride, padding):
            out_shape = batch_shape + (self.out_channels,) + self.output_size(*x4.shape[-2:])
            pool._check_shape(out_shape)
            return F.conv2d_relu(x4, weight, bias, stride=stride, padding=padding, pool=window)

        return self._convolve(x, conv_relu_pool)

    def _convolve(self, x, conv):
        if x.ndim not in (3, 4):
            raise RuntimeError(f"{self!r}: expected 4-D input (N, C, H, W) or 3-D (C, H, W), "
                               f"got shape {tuple(x.shape)}")
        channels = x.shape[-3]
        if channels != self.in_channels:
            raise RuntimeError(f"{self!r}: expected input with {self.in_channels} channels "
                               f"(dim {x.ndim - 3}), got shape {tuple(x.shape)}")
        height, width = x.shape[-2:]
        for n, f, p in zip((height, width), self.kernel_size, self.padding):
            if n + 2 * p < f:
                raise RuntimeError(
                    f"{self!r}: input of shape {tuple(x.shape)} padded to "
                    f"{(height + 2 * self.padding[0], width + 2 * self.padding[1])} is smaller "
                    f"than the kernel {self.kernel_size}")
        _check_dtype(self, x, self.weight)
        unbatched = x.ndim == 3
        if unbatched:
            x = F.unsqueeze(x, 0)
        y = conv(x, self.weight, self.bias, stride=self.stride, padding=self.padding)
        return F.squeeze(y, 0) if unbatched else y

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        if self.init is not None:
            text += f", init={self.init!r}"
        return text

    def summary_details(self) -> str:
        return (f"K={self.out_channels} F={_side(self.kernel_size)} S={_side(self.stride)} "
                f"P={_side(self.padding)}")


def _side(pair: tuple) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        kernel = int_pair(kernel_size, "kernel_size")
        pad = int_pair(padding, "padding")
        if any(p > f // 2 for p, f in zip(pad, kernel)):
            raise RuntimeError(f"{self._get_name()}: pad should be at most half of effective "
                               f"kernel size, but got pad={padding} and "
                               f"kernel_size={kernel_size}")

    def _check_shape(self, shape: tuple) -> None:
        if len(shape) not in (3, 4):
            raise RuntimeError(f"{self!r}: expected 4-D input (N, C, H, W) or 3-D (C, H, W), "
                               f"got shape {shape}")
        kernel = int_pair(self.kernel_size, "kernel_size")
        pad = int_pair(self.padding, "padding")
        if any(n + 2 * p < f for n, f, p in zip(shape[-2:], kernel, pad)):
            raise RuntimeError(f"{self!r}: input of shape {shape} is smaller than the "
                               f"pooling window {kernel}")

    def tiles(self):
        """The window ``(F_h, F_w)`` when the windows lie side by side (stride = kernel, no
        padding), else None."""
        kernel = int_pair(self.kernel_size, "kernel_size")
        stride_ok = int_pair(self.stride, "stride") == kernel
        return kernel if stride_ok and int_pair(self.padding, "padding") == (0, 0) else None

    def _pool(self, name: str, x):
        self._check_shape(tuple(x.shape))
        fn = getattr(F, name)
        unbatched = x.ndim == 3
        if unbatched:
            x = F.unsqueeze(x, 0)
        y = fn(x, self.kernel_size, stride=self.stride, padding=self.padding)
        return F.squeeze(y, 0) if unbatched else y

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def summary_details(self) -> str:
        kernel = _side(int_pair(self.kernel_size, "kernel_size"))
        text = f"F={kernel} S={_side(int_pair(self.stride, 'stride'))}"
        padding = int_pair(self.padding, "padding")
        return text if padding == (0, 0) else text + f" P={_side(padding)}"


class MaxPool2d(_Pool2d):
    """Max pooling (subsampling): the maximum of each F x F window, moved with stride S.

    Output size per spatial dim: ``(N - F + 2P) // S + 1``; ``stride`` defaults to
    ``kernel_size`` (non-overlapping windows). Padding counts as -inf.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW)

    Example:
        >>> import numnet
        >>> MaxPool2d(2)(numnet.zeros(1, 6, 28, 28)).shape
        (1, 6, 14, 14)
    """

    def forward(self, x):
        return self._pool("max_pool2d", x)


class AvgPool2d(_Pool2d):
    """Average pooling: the mean of each F x F window, moved with stride S.

    Output size per spatial dim: ``(N - F + 2P) // S + 1``; ``stride`` defaults to
    ``kernel_size``.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: (N, C, OH, OW)
    """

    def forward(self, x):
        return self._pool("avg_pool2d", x)


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


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale survivors by 1/(1-p).

    The scaling keeps the expected value, so in eval mode the layer is the identity. Masks
    are drawn from numnet's default generator (``numnet.manual_seed``) or ``generator``.

    Args:
        p: probability of zeroing an element.
        generator: optional numnet Generator.
    """

    def __init__(self, p: float = 0.5, generator=None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


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


__all__ = ["Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout",
           "BatchNorm1d", "BatchNorm2d"]
