"""Normalization ops: ``batch_norm layer_norm group_norm instance_norm normalize``, each one
fused ``Function``.

NOTE: fused rather than composed from mean/var/sub/div ops: forward keeps one array of the
input's size (batch norm: the input itself, as PyTorch; layer and group norm: ``xhat`` in
its place) and ``1/sqrt(var + eps)``, the backward is three reductions instead of a dozen
ops, and batch norm's running-statistics update uses the batch statistics forward already
computed. Batch norm runs its passes a cache-sized piece of samples at a time, on every
core (``ops/normalization_kernels.py``).

Double backward (``create_graph=True``): each backward is written with ``dual`` functions,
so the same formula runs recorded on Tensors and its result is differentiable again. Batch,
layer and group norm then need ``xhat`` and ``1/sqrt(var + eps)`` as functions of the input,
recomputed from it (``_standardize``): batch norm has it; layer and group norm rebuild it as
``x = xhat / invstd + mean`` (``_rebuilt_input``; forward keeps the small ``mean`` for
this; a leaf input is the leaf itself). ``normalize`` and local response norm keep their
input and recompute their norms from it.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops import normalization_kernels as kernels
from numnet.ops._util import as_float, as_tensor, normalize_dims
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

    Inputs are ``(x,)`` or ``(x, gamma, beta)`` (gamma, beta of shape (C,)). With
    ``create_graph=True`` the same formulas run recorded, ``xhat`` and ``1/sqrt(var + eps)``
    recomputed from the input (see the module docstring), so the gradients are
    differentiable again.
    """

    saved_inputs = ("x", "gamma", None)

    def __init__(self, running_mean=None, running_var=None, training: bool = True,
                 momentum: float = 0.1, eps: float = 1e-5):
        self.running_mean = running_mean
        self.running_var = running_var
        self.training = training
        self.momentum = momentum
        self.eps = eps

    def forward(self, x, *affine):
        """The statistics (training) in two passes over ``x``, then ``y`` in a third
        (``_normalize``), a cache-sized piece of samples at a time
        (``ops/normalization_kernels.py``)."""
        m = x.size // x.shape[1]
        dtype = x.dtype
        if self.training:
            x3 = _channels(x)
            sums = self._over_batch(numpy.append(kernels.channel_sums(x3), m))
            m = int(round(float(sums[-1])))
            mean = (sums[:-1] / m).astype(dtype)
            var = (self._over_batch(kernels.centered_square_sums(x3, mean)) / m).astype(dtype)
            if self.running_mean is not None:
                self._update_running(mean, var, m)
        else:
            mean = self.running_mean.astype(dtype, copy=False)
            var = self.running_var.astype(dtype, copy=False)
        return self._normalize(x, mean, var, affine, m)

    def _over_batch(self, sums):
        """Per-channel sums (float64) over the batch, from this process's: the same here;
        ``SyncBatchNorm`` adds them up over all ranks (the global batch)."""
        return sums

    def _normalize(self, x, mean, var, affine, m: int):
        """``y = gamma (x - mean) / sqrt(var + eps) + beta`` (``mean``, ``var`` per channel,
        (C,)), as ``y = x alpha + shift`` with ``alpha = gamma / sqrt(var + eps)``,
        ``shift = beta - mean alpha`` (PyTorch's form), in one pass; keeps ``x`` (as
        PyTorch does) and the statistics for backward."""
        dtype = x.dtype
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        invstd = 1 / numpy.sqrt(var + dtype.type(self.eps))
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.m, self.x = m, x
        self.invstd, self.mean = invstd.reshape(shape), mean.reshape(shape)
        self.gamma = affine[0] if affine else None
        alpha = invstd if not affine else invstd * affine[0]
        shift = -mean * alpha if not affine else affine[1] - mean * alpha
        y = numpy.empty(x.shape, dtype)
        kernels.channel_affine(_channels(x), alpha, shift, _channels(y))
        return y

    def _statistics(self, gy):
        """``(xhat, invstd)`` recomputed, recorded (``create_graph=True``: ``gy`` and the
        saved ``x`` are Tensors), from the input (the running statistics are constants)."""
        x = self.x
        if not self.training:
            return (x - self.mean) * self.invstd, self.invstd
        xhat, invstd, _ = _standardize(x, self.axes, self.eps)
        return xhat, invstd

    def _input_grads(self, gx, ggamma, gbeta):
        """The gradients backward returns: ``gx``, or ``(gx, ggamma, gbeta)`` with the
        affine parameters (None where not needed)."""
        if self.gamma is None:
            return gx
        needs = self.needs_input_grad
        return (gx,
                ggamma.reshape(-1) if needs[1] else None,
                gbeta.reshape(-1) if needs[2] else None)

    def _update_running(self, mean, var, m) -> None:
        momentum = self.momentum
        unbiased = var * (var.dtype.type(m) / var.dtype.type(max(m - 1, 1)))
        rm, rv = self.running_mean, self.running_var
        rm *= rm.dtype.type(1 - momentum)
        rm += (mean * mean.dtype.type(momentum)).astype(rm.dtype, copy=False)
        rv *= rv.dtype.type(1 - momentum)
        rv += (unbiased * unbiased.dtype.type(momentum)).astype(rv.dtype, copy=False)

    def backward(self, gy):
        """``gbeta``, ``ggamma`` in one pass over ``gy`` and ``x``; ``gx`` in a second, as
        ``gx = A gy + B (x - mean) + D`` per channel with ``A = gamma invstd``,
        ``B = -A ggamma invstd / m``, ``D = -A gbeta / m`` (the formula above, regrouped:
        ``xhat = (x - mean) invstd``); recorded (``create_graph=True``) by
        ``_backward_graph``."""
        if dual.is_graph(gy):
            return self._backward_graph(gy)
        gy3, x3 = _channels(gy), _channels(self.x)
        invstd, mean = self.invstd.reshape(-1), self.mean.reshape(-1)
        scale = invstd if self.gamma is None else invstd * self.gamma
        needs = self.needs_input_grad
        dtype = gy.dtype
        gbeta = ggamma = None
        if self.training or (len(needs) > 1 and any(needs[1:])):
            gbeta, centered = kernels.centered_sums(gy3, x3, mean)
            ggamma = centered * invstd  # sum gy xhat
        gx = None
        if needs[0]:
            gx = numpy.empty(gy.shape, dtype)
            if self.training:
                # gx takes the sums over the whole batch (the global one for SyncBatchNorm);
                # ggamma, gbeta stay this process's
                total_beta, total_gamma = numpy.split(
                    self._over_batch(numpy.concatenate([gbeta, ggamma])), 2)
                per_m = scale / self.m
                kernels.centered_combination(gy3, x3, mean, scale,
                                             (-per_m * total_gamma * invstd).astype(dtype),
                                             (-per_m * total_beta).astype(dtype),
                                             _channels(gx))
            else:
                kernels.channel_affine(gy3, scale, numpy.zeros_like(scale), _channels(gx))
        if gbeta is not None:
            gbeta, ggamma = gbeta.astype(dtype), ggamma.astype(dtype)
        return self._input_grads(gx, ggamma, gbeta)

    def _backward_graph(self, gy):
        """``backward`` recorded: the formulas of the class docstring on Tensors, ``xhat``
        and ``invstd`` recomputed from the input (``_statistics``)."""
        axes = self.axes
        xhat, invstd = self._statistics(gy)
        scale = invstd if self.gamma is None else invstd * self.gamma.reshape(invstd.shape)
        needs = self.needs_input_grad
        gbeta = ggamma = None
        if self.training or (len(needs) > 1 and any(needs[1:])):
            gbeta = dual.sum(gy, axes, keepdims=True)
            ggamma = dual.sum(gy * xhat, axes, keepdims=True)
        gx = None
        if needs[0]:
            if self.training:
                m = gy.dtype.type(self.m)
                gx = (scale / m) * (gy * m - gbeta - xhat * ggamma)
            else:
                gx = gy * scale
        return self._input_grads(gx, ggamma, gbeta)


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


def _channels(a):
    """``a`` (N, C, ...) as (N, C, L): the batch norm kernels' view (a copy if it must)."""
    return a.reshape(a.shape[0], a.shape[1], -1)


# ---------------------------------------------------------------------- layer, group, instance
def _standardize(x, axes: tuple, eps: float):
    """``xhat = (x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance),
    ``invstd = 1 / sqrt(var + eps)`` and ``mean`` (both kept with length-1 axes); on an
    array, or recorded on a Tensor."""
    mean = dual.mean(x, axes, keepdims=True)
    xhat = x - mean
    var = dual.mean(xhat * xhat, axes, keepdims=True)
    invstd = 1 / dual.sqrt(var + x.dtype.type(eps))
    xhat *= invstd  # a Tensor has no in-place product: there it is ``xhat = xhat * invstd``
    return xhat, invstd, mean


def _standardize_backward(gxhat, xhat, invstd, axes: tuple):
    """Gradient through ``_standardize``: with ``mean_a`` the mean over ``axes``,
    ``gx = invstd * (gxhat - mean_a(gxhat) - xhat * mean_a(gxhat * xhat))`` (arrays, or
    recorded on Tensors)."""
    gx = gxhat - dual.mean(gxhat, axes, keepdims=True)
    gx -= xhat * dual.mean(gxhat * xhat, axes, keepdims=True)
    gx *= invstd
    return gx


def _rebuilt_input(function, xhat, invstd, mean, shape: tuple):
    """Input 0 (of ``shape``) of a normalization ``function`` as a Tensor of the recorded
    backward: forward kept ``xhat``, not the input, so its value is rebuilt as
    ``xhat / invstd + mean`` (a leaf input is the leaf itself)."""
    return function.saved_input(0, (xhat / invstd + mean).reshape(shape))


class LayerNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the last ``k`` axes
    (Ba, Kiros & Hinton, 2016), ``var`` biased; ``weight``/``bias`` have those axes' shape.

    Backward, with ``xhat`` the normalised input, ``mean_k`` the mean over the last ``k``
    axes and sums over the leading axes::

        gbias   = sum gy
        gweight = sum gy xhat
        gxhat   = gy weight
        gx      = (gxhat - mean_k(gxhat) - xhat mean_k(gxhat xhat)) / sqrt(var + eps)

    Inputs are ``x`` followed by ``weight`` and/or ``bias`` when given (``has_weight``,
    ``has_bias`` say which). With ``create_graph=True`` the same formulas run recorded,
    ``xhat`` and ``1/sqrt(var + eps)`` recomputed from the input.
    """

    saved_inputs = (None, "weight", None)  # x: rebuilt from xhat (_rebuilt_input)

    def __init__(self, k: int, eps: float, has_weight: bool, has_bias: bool):
        self.k, self.eps = k, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        self.axes = tuple(range(x.ndim - self.k, x.ndim))
        self.xhat, self.invstd, self.mean = _standardize(x, self.axes, self.eps)
        self.weight = affine[0] if self.has_weight else None
        y = self.xhat if self.weight is None else self.xhat * self.weight
        if self.has_bias:
            y = y + affine[-1]
        return y

    def backward(self, gy):
        needs = self.needs_input_grad
        lead = tuple(range(gy.ndim - self.k))
        xhat, invstd = self.xhat, self.invstd
        if dual.is_graph(gy):
            x = _rebuilt_input(self, xhat, invstd, self.mean, gy.shape)
            xhat, invstd, _ = _standardize(x, self.axes, self.eps)
        grads = [None]
        if needs[0]:
            gxhat = gy if self.weight is None else gy * self.weight
            grads[0] = _standardize_backward(gxhat, xhat, invstd, self.axes)
        if self.has_weight:
            grads.append(dual.sum(gy * xhat, lead) if needs[1] else None)
        if self.has_bias:
            grads.append(dual.sum(gy, lead) if needs[-1] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]


def _affine_operands(x, weight, bias) -> list:
    return [x] + [as_tensor(t) for t in (weight, bias) if t is not None]


def layer_norm(input, normalized_shape, weight=None, bias=None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` axes (``LayerNorm``).

    Example:
        >>> import numnet
        >>> layer_norm(numnet.tensor([[1.0, 2.0, 3.0]]), (3,))
        tensor([[-1.2247,  0.0000,  1.2247]])
    """
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
        normalized_shape)
    k = len(shape)
    if k == 0 or tuple(x.shape[x.ndim - k:]) != shape or x.ndim < k:
        raise RuntimeError(f"layer_norm: input of shape {tuple(x.shape)} does not end in "
                           f"normalized_shape {list(shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {tuple(t.shape)}, expected "
                               f"normalized_shape {list(shape)}")
    function = LayerNorm(k, eps, weight is not None, bias is not None)
    return function(*_affine_operands(x, weight, bias))


class GroupNorm(Function):
    """``y = (x - mean_g) / sqrt(var_g + eps) * weight_c + bias_c`` (Wu & He, 2018): the
    ``C`` channels of (N, C, *) input split into ``G`` groups, each sample's group
    normalised over its ``C/G`` channels and every spatial position; ``weight``/``bias``
    are per channel (C,).

    Backward: as ``LayerNorm`` with the means over each group's values,
    ``gweight_c = sum_{n, *} gy xhat``, ``gbias_c = sum_{n, *} gy``; recorded with
    ``create_graph=True`` as ``LayerNorm``'s. Instance normalization is the case ``G = C``.
    """

    saved_inputs = (None, "weight", None)  # x: rebuilt from xhat (_rebuilt_input)

    def __init__(self, groups: int, eps: float, has_weight: bool, has_bias: bool):
        self.groups, self.eps = groups, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        grouped = x.reshape(x.shape[0], self.groups, -1)
        xhat, self.invstd, self.mean = _standardize(grouped, (2,), self.eps)
        self.xhat = xhat.reshape(x.shape)
        self.channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.weight = affine[0] if self.has_weight else None
        y = self.xhat if self.weight is None else self.xhat * self.weight.reshape(self.channel)
        if self.has_bias:
            y = y + affine[-1].reshape(self.channel)
        return y

    def backward(self, gy):
        needs = self.needs_input_grad
        axes = (0,) + tuple(range(2, gy.ndim))
        shape = (gy.shape[0], self.groups, -1)
        grouped, invstd = self.xhat.reshape(shape), self.invstd
        if dual.is_graph(gy):
            x = _rebuilt_input(self, grouped, invstd, self.mean, gy.shape)
            grouped, invstd, _ = _standardize(x.reshape(shape), (2,), self.eps)
        grads = [None]
        if needs[0]:
            gxhat = gy if self.weight is None else gy * self.weight.reshape(self.channel)
            gx = _standardize_backward(gxhat.reshape(shape), grouped, invstd, (2,))
            grads[0] = gx.reshape(gy.shape)
        xhat = grouped.reshape(gy.shape)
        if self.has_weight:
            grads.append(dual.sum(gy * xhat, axes) if needs[1] else None)
        if self.has_bias:
            grads.append(dual.sum(gy, axes) if needs[-1] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]


def _check_channels(name: str, x, weight, bias) -> None:
    if x.ndim < 2:
        raise RuntimeError(f"{name}: expected input of shape (N, C, *), got {tuple(x.shape)}")
    for label, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (x.shape[1],):
            raise RuntimeError(f"{name}: {label} of shape {tuple(t.shape)}, expected "
                               f"({x.shape[1]},) for input {tuple(x.shape)}")


def group_norm(input, num_groups: int, weight=None, bias=None,  # noqa: A002
               eps: float = 1e-5) -> Tensor:
    """Group normalization of (N, C, *) input in ``num_groups`` groups (``GroupNorm``)."""
    x = as_tensor(input)
    _check_channels("group_norm", x, weight, bias)
    if num_groups <= 0 or x.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected the number of channels {x.shape[1]} to be "
                           f"divisible by num_groups={num_groups}")
    function = GroupNorm(num_groups, eps, weight is not None, bias is not None)
    return function(*_affine_operands(x, weight, bias))


def instance_norm(input, running_mean=None, running_var=None, weight=None,  # noqa: A002
                  bias=None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalization: each sample's each channel of (N, C, *) input normalised over
    its spatial positions (``GroupNorm`` with one channel per group).

    With ``use_input_stats`` and running statistics given, these are updated in place with
    the per-instance statistics averaged over the batch (unbiased variance), as PyTorch
    does; ``use_input_stats=False`` normalises with the running statistics (``batch_norm``
    in eval mode).
    """
    x = as_tensor(input)
    _check_channels("instance_norm", x, weight, bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("instance_norm: use_input_stats=False needs running_mean and "
                               "running_var")
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    m = x.data.size // max(x.shape[0] * x.shape[1], 1)
    if m <= 1:
        raise ValueError("Expected more than 1 spatial element when training, got input "
                         f"size {tuple(x.shape)}")
    if running_mean is not None or running_var is not None:
        axes = tuple(range(2, x.ndim))
        mean = x.data.mean(axis=axes).mean(axis=0)
        var = x.data.var(axis=axes, ddof=1).mean(axis=0)
        for buffer, stat in ((running_mean, mean), (running_var, var)):
            if buffer is not None:
                buffer.data *= buffer.data.dtype.type(1 - momentum)
                buffer.data += (stat * momentum).astype(buffer.data.dtype, copy=False)
    function = GroupNorm(x.shape[1], eps, weight is not None, bias is not None)
    return function(*_affine_operands(x, weight, bias))


# ---------------------------------------------------------------------- normalize
class Normalize(Function):
    """``y = x / max(||x||_p, eps)`` along ``dim`` (PyTorch's ``F.normalize``).

    With ``n = ||x||_p = (sum |x|**p)**(1/p)`` and ``d = max(n, eps)``::

        gx = gy / d - (sum gy x) / d**2 * dd/dx,
        dd/dx = [n >= eps] sign(x) |x|**(p-1) / n**(p-1)

    (``p = inf``: ``n = max |x|``, ``dn/dx`` is ``sign(x)`` at the maxima, split evenly).
    With ``create_graph=True`` the same formula runs recorded, ``n`` and ``d`` recomputed
    from the input (``_recorded_norms``).
    """

    saved_inputs = ("x",)

    def __init__(self, p: float, dim: int, eps: float):
        self.p, self.dim, self.eps = p, dim, eps

    def forward(self, x):
        p, dim = self.p, self.dim
        absx = numpy.abs(x)
        if p == numpy.inf:
            n = absx.max(axis=dim, keepdims=True)
        elif p == 2:
            n = numpy.sqrt((x * x).sum(axis=dim, keepdims=True))
        elif p == 1:
            n = absx.sum(axis=dim, keepdims=True)
        else:
            n = (absx ** x.dtype.type(p)).sum(axis=dim, keepdims=True) ** x.dtype.type(1 / p)
        self.x, self.n = x, n
        self.d = numpy.maximum(n, x.dtype.type(self.eps))
        return x / self.d

    def _recorded_norms(self, x):
        """``(n, d)`` recomputed on the Tensor ``x``, recorded. ``d = where(n >= eps, n,
        eps)`` (PyTorch's ``clamp_min``); a zero slice's norm is the constant 0, so its
        derivatives there are 0 (PyTorch's first one is 0 too, its second nan); ``p = inf``:
        ``n = sum |x| w`` with ``w`` forward's even split over the maxima, so ``dn/dx`` is
        the same."""
        p, dim, n = self.p, self.dim, self.n
        t = x.dtype.type
        absx = dual.abs(x)
        if p == numpy.inf:
            split = self._max_split().astype(x.dtype)
            norm = dual.sum(absx * split, dim, keepdims=True)
        elif p == 1:
            norm = dual.sum(absx, dim, keepdims=True)
        else:
            power = dual.sum(x * x if p == 2 else absx ** t(p), dim, keepdims=True)
            root = dual.where(n > 0, power, 1) ** t(1 / p)
            norm = dual.where(n > 0, root, 0)
        return norm, dual.where(n >= t(self.eps), norm, t(self.eps))

    def _max_split(self) -> numpy.ndarray:
        """``p = inf``: 1 / (their count) at forward's maxima of ``|x|`` along ``dim``, 0
        elsewhere (float64, a constant): how ``dn/dx`` shares out between tied maxima."""
        at_max = numpy.abs(dual.constant(self.x)) == self.n
        return at_max / at_max.sum(axis=self.dim, keepdims=True)

    def backward(self, gy):
        x, n, d, p = self.x, self.n, self.d, self.p
        if dual.is_graph(x):
            n, d = self._recorded_norms(x)
        # the masks and the even split come from forward's norms (self.n), as constants
        gx = gy / d
        dot = dual.sum(gy * x, self.dim, keepdims=True) / (d * d)
        dot *= self.n >= x.dtype.type(self.eps)
        safe_n = dual.where(self.n > 0, n, 1)
        if p == numpy.inf:
            dn = dual.sign(x) * self._max_split()
            if dual.is_graph(x):  # a constant, float64: cast, as the in-place gx -= is
                dn = dn.astype(x.dtype)
        elif p == 2:
            dn = x / safe_n
        elif p == 1:
            dn = dual.sign(x)
        else:
            ratio = dual.abs(x) / safe_n
            dn = dual.sign(x) * ratio ** x.dtype.type(p - 1)
        gx -= dot * dn
        return gx


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12,  # noqa: A002
              out=None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim`` (``Normalize``).

    Example:
        >>> import numnet
        >>> normalize(numnet.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    x = as_float(input)
    (axis,) = normalize_dims(dim, x.ndim)
    return Normalize(float(p), axis, eps)(x)


# ---------------------------------------------------------------------- local response norm
def _channel_window_sum(a, before: int, after: int):
    """``out[:, c] = sum of a[:, c - before : c + after + 1]`` (zeros past the edges): one
    shifted slice per window offset, not a loop over elements."""
    C = a.shape[1]
    pad = [(0, 0)] * a.ndim
    pad[1] = (before, after)
    padded = numpy.pad(a, pad)
    out = padded[:, 0:C].copy()
    for offset in range(1, before + after + 1):
        out += padded[:, offset:offset + C]
    return out


class ChannelWindowSum(Function):
    """``y[:, c] = sum of x[:, c - before : c + after + 1]`` (zeros past the edges);
    ``gx = ChannelWindowSum(after, before)(gy)``: the window reversed, so the op and its
    gradient are differentiable to any order."""

    saved_inputs = (None,)

    def __init__(self, before: int, after: int):
        self.before, self.after = before, after

    def forward(self, x):
        return _channel_window_sum(x, self.before, self.after)

    def backward(self, gy):
        return dual.apply(ChannelWindowSum(self.after, self.before), gy)


class LocalResponseNorm(Function):
    """``y_c = x_c / (k + alpha / n * sum_{c' in win(c)} x_c'**2)**beta`` across channels
    (Krizhevsky et al., 2012), ``win(c) = [c - n//2, c + (n-1)//2]``, ``n`` = ``size``.

    With ``d = k + alpha / n * sum_win x**2`` and ``u = gy x d**(-beta-1)``::

        gx_i = gy_i d_i**-beta - 2 alpha beta / n * x_i * sum_{j: i in win(j)} u_j

    (the channels ``j`` whose window holds ``i``: ``[i - (n-1)//2, i + n//2]``). With
    ``create_graph=True`` the same formula runs recorded, ``d`` recomputed from the input,
    both window sums ``ChannelWindowSum``.
    """

    saved_inputs = ("x",)

    def __init__(self, size: int, alpha: float, beta: float, k: float):
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def _denominator(self, x):
        """``(d, d**-beta)`` for ``x`` (an array, or a Tensor: recorded)."""
        n = self.size
        t = x.dtype.type
        window = dual.apply(ChannelWindowSum(n // 2, (n - 1) // 2), x * x)
        d = t(self.k) + t(self.alpha / n) * window
        return d, d ** t(-self.beta)

    def forward(self, x):
        self.x = x
        self.d, self.scale = self._denominator(x)
        return x * self.scale

    def backward(self, gy):
        n, x = self.size, self.x
        t = x.dtype.type
        d, scale = self._denominator(x) if dual.is_graph(x) else (self.d, self.scale)
        u = gy * x * scale / d
        back = dual.apply(ChannelWindowSum((n - 1) // 2, n // 2), u)
        return gy * scale - t(2 * self.alpha * self.beta / n) * x * back


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,  # noqa: A002
                        k: float = 1.0) -> Tensor:
    """Local response normalization across the channels of (N, C, *) input
    (``LocalResponseNorm``)."""
    x = as_tensor(input)
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} "
                         "dimensions)")
    if x.data.size == 0:
        return x
    return LocalResponseNorm(int(size), alpha, beta, k)(x)
