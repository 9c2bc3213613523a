"""Normalization layers: ``LayerNorm GroupNorm InstanceNorm1d InstanceNorm2d
LocalResponseNorm``, with PyTorch's arguments, parameter names and initialization
(BatchNorm is in ``nn.layers``).

Each normalises with ``(x - mean) / sqrt(var + eps)`` (biased variance) over different axes
of its input, then applies a learned per-element (LayerNorm) or per-channel affine map:

- ``LayerNorm``: each sample over its last ``len(normalized_shape)`` axes;
- ``GroupNorm``: each sample over a group of ``C / G`` channels and all positions;
- ``InstanceNorm``: each sample and channel over its positions (GroupNorm with G = C).
"""

from __future__ import annotations

import numpy

from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.layers import _BatchNorm, _check_dtype, _dtype
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter


class LayerNorm(Module):
    """``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias`` over the last
    ``len(normalized_shape)`` axes (Ba, Kiros & Hinton, 2016); formulas and backward in
    ``numnet.ops.normalization.LayerNorm``.

    Default initialization (PyTorch's): ``weight`` = 1, ``bias`` = 0, both of shape
    ``normalized_shape``.

    Args:
        normalized_shape: the trailing shape to normalise over (an int: the last axis).
        eps: added to the variance for stability.
        elementwise_affine: learn ``weight`` (and ``bias``).
        bias: learn ``bias`` (with ``elementwise_affine``).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: same shape as the input

    Example:
        >>> import numnet
        >>> LayerNorm(4)(numnet.ones(2, 4)).shape
        (2, 4)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, numpy.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = _dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(numpy.empty(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(numpy.empty(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        if self.weight is not None:
            nn_init.ones_(self.weight)
        if self.bias is not None:
            nn_init.zeros_(self.bias)

    def forward(self, x):
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim < k:
            raise RuntimeError(f"{self!r}: expected input ending in shape "
                               f"{self.normalized_shape}, got shape {tuple(x.shape)}")
        if self.weight is not None:
            _check_dtype(self, x, self.weight)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalization (Wu & He, 2018): the C channels split into ``num_groups`` groups,
    each sample's group normalised over its channels and positions, then a per-channel
    ``weight`` and ``bias``; formulas in ``numnet.ops.normalization.GroupNorm``.

    Default initialization (PyTorch's): ``weight`` = 1, ``bias`` = 0, shape (C,).

    Args:
        num_groups: G, which must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance for stability.
        affine: learn ``weight`` and ``bias``.

    Shape:
        - Input: (N, C, *)
        - Output: same shape as the input
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, dtype=None) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        dtype = _dtype(dtype)
        if affine:
            self.weight = Parameter(numpy.ones(self.num_channels, dtype))
            self.bias = Parameter(numpy.zeros(self.num_channels, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight = 1, bias = 0."""
        if self.affine:
            nn_init.ones_(self.weight)
            nn_init.zeros_(self.bias)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise RuntimeError(f"{self!r}: expected input of shape (N, {self.num_channels}, "
                               f"*), got shape {tuple(x.shape)}")
        if self.affine:
            _check_dtype(self, x, self.weight)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    _unbatched = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *,
                 dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         dtype=dtype)

    def forward(self, x):
        if x.ndim not in (self._unbatched, self._unbatched + 1):
            raise ValueError(f"{self!r}: expected {self._expected} input, got shape "
                             f"{tuple(x.shape)}")
        unbatched = x.ndim == self._unbatched
        if unbatched:
            x = x.unsqueeze(0)
        if x.shape[1] != self.num_features and self.affine:
            raise ValueError(f"{self!r}: expected input's size at dim=1 to match "
                             f"num_features ({self.num_features}), got shape "
                             f"{tuple(x.shape)}")
        if self.affine:
            _check_dtype(self, x, self.weight)
        momentum = 0.0 if self.momentum is None else self.momentum
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, momentum, self.eps)
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or unbatched (C, L) input: each sample's each
    channel normalised over L (Ulyanov et al., 2016), then per-channel ``weight``/``bias``
    when ``affine``.

    With ``track_running_stats`` the running statistics (the per-instance statistics
    averaged over the batch, unbiased variance, ``momentum`` as BatchNorm's; None counts as
    0 like PyTorch) normalise in eval mode; by default the input's own statistics are used
    in both modes.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: weight of the new batch in the running statistics.
        affine: learn ``weight`` (= 1 at first) and ``bias`` (= 0).
        track_running_stats: keep running statistics for eval mode.

    Shape:
        - Input: (N, C, L) or (C, L)
        - Output: same shape as the input
    """

    _unbatched = 2
    _expected = "2-D (C, L) or 3-D (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or unbatched (C, H, W) input: each sample's
    each channel normalised over (H, W); otherwise as ``InstanceNorm1d``.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: same shape as the input
    """

    _unbatched = 3
    _expected = "3-D (C, H, W) or 4-D (N, C, H, W)"




class LocalResponseNorm(Module):
    """``y_c = x_c / (k + alpha / n * sum_{c' near c} x_c'**2)**beta`` over ``n = size``
    neighbouring channels (Krizhevsky et al., 2012; formulas in
    ``numnet.ops.normalization.LocalResponseNorm``). No parameters.

    Shape:
        - Input: (N, C, *)
        - Output: same shape as the input
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "LocalResponseNorm"]
