"""Batch normalization as one fused ``Function`` (Ioffe & Szegedy, 2015).

NOTE: fused rather than composed from mean/var/sub/div ops: one pass saves only ``xhat``
and ``1/sqrt(var + eps)``, the backward is three reductions instead of a dozen ops, and the
running-statistics update uses the batch statistics forward already computed.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops._util import as_tensor
from numnet.tensor import Tensor


class BatchNorm(Function):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` per channel (axis 1).

    Statistics are taken over every axis but the channel axis: (N) for (N, C) input,
    (N, L) for (N, C, L), (N, H, W) for (N, C, H, W); ``m`` is the number of values each
    channel's statistics are taken over.

    Training (``training=True``): ``mean`` and the *biased* ``var = sum (x - mean)**2 / m``
    of the batch normalise the input, and, when running statistics are given, they are
    updated in place with the *unbiased* variance, as PyTorch does::

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var m / (m - 1)

    Backward, with ``xhat = (x - mean) / sqrt(var + eps)`` and sums over the same axes::

        gbeta  = sum gy
        ggamma = sum gy xhat
        gx     = gamma / (m sqrt(var + eps)) * (m gy - gbeta - xhat ggamma)

    (the last two terms are the gradient flowing through ``mean`` and ``var``).

    Evaluation (``training=False``): ``mean`` and ``var`` are the running statistics,
    constants, so ``gx = gy gamma / sqrt(var + eps)``; ``ggamma`` and ``gbeta`` as above.

    Inputs are ``(x,)`` or ``(x, gamma, beta)`` (gamma, beta of shape (C,)).
    """

    def __init__(self, running_mean=None, running_var=None, training: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5):
        self.running_mean = running_mean
        self.running_var = running_var
        self.training = training
        self.momentum = momentum
        self.eps = eps

    def forward(self, x, *affine):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        m = x.size // x.shape[1]
        eps = x.dtype.type(self.eps)
        if self.training:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = numpy.mean(centered * centered, axis=axes, keepdims=True)
            if self.running_mean is not None:
                self._update_running(mean.reshape(-1), var.reshape(-1), m)
        else:
            mean = self.running_mean.reshape(shape).astype(x.dtype, copy=False)
            var = self.running_var.reshape(shape).astype(x.dtype, copy=False)
            centered = x - mean
        invstd = 1 / numpy.sqrt(var + eps)
        xhat = centered * invstd
        self.axes, self.m, self.invstd, self.xhat = axes, m, invstd, xhat
        if not affine:
            self.gamma = None
            return xhat
        gamma, beta = affine
        self.gamma = gamma.reshape(shape)
        return xhat * self.gamma + beta.reshape(shape)

    def _update_running(self, mean, var, m) -> None:
        momentum = self.momentum
        unbiased = var * (var.dtype.type(m) / var.dtype.type(max(m - 1, 1)))
        rm, rv = self.running_mean, self.running_var
        rm *= rm.dtype.type(1 - momentum)
        rm += (mean * mean.dtype.type(momentum)).astype(rm.dtype, copy=False)
        rv *= rv.dtype.type(1 - momentum)
        rv += (unbiased * unbiased.dtype.type(momentum)).astype(rv.dtype, copy=False)

    def backward(self, gy):
        axes, invstd = self.axes, self.invstd
        scale = invstd if self.gamma is None else invstd * self.gamma
        needs = self.needs_input_grad
        gbeta = ggamma = None
        if self.training or (len(needs) > 1 and any(needs[1:])):
            gbeta = gy.sum(axis=axes, keepdims=True)
            ggamma = (gy * self.xhat).sum(axis=axes, keepdims=True)
        gx = None
        if needs[0]:
            if self.training:
                m = gy.dtype.type(self.m)
                gx = (scale / m) * (gy * m - gbeta - self.xhat * ggamma)
            else:
                gx = gy * scale
        if self.gamma is None:
            return gx
        return (gx,
                ggamma.reshape(-1) if needs[1] else None,
                gbeta.reshape(-1) if needs[2] else None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over axis 1 (formulas in ``numnet.ops.normalization.BatchNorm``).

    ``training=True`` normalises with the batch's statistics and updates ``running_mean``
    / ``running_var`` in place (when given); ``training=False`` uses the running ones.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects input of shape (N, C, ...), got {input.shape}")
    if training and input.data.size // input.shape[1] <= 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {tuple(input.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm in eval mode (training=False) needs running_mean and "
                         "running_var")
    stats = (None if running_mean is None else running_mean.data,
             None if running_var is None else running_var.data)
    function = BatchNorm(stats[0], stats[1], training, momentum, eps)
    if weight is None and bias is None:
        return function(as_tensor(input))
    if weight is None or bias is None:
        raise ValueError("batch_norm: give both weight and bias, or neither")
    return function(as_tensor(input), as_tensor(weight), as_tensor(bias))
