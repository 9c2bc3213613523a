"""The functional API, like ``torch.nn.functional`` (import as ``F``).

Every user-facing operation is a function here. Most are the ops' own wrappers, re-exported
from ``numnet.ops`` (each beside its ``Function``, whose docstring has the formula; Tensor
methods and ``numnet.<name>`` call the same functions). What this module adds are the
nn-level compositions of those ops, with PyTorch's arguments: ``cross_entropy``
(``log_softmax`` + ``nll_loss``, with probability targets and label smoothing) and
``mse_loss``.

Example:
    >>> import numnet
    >>> import numnet.nn.functional as F
    >>> F.softmax(numnet.tensor([-5.0, -1.0, 1.0, 5.0]), dim=0)
    tensor([4.4473e-05, 2.4281e-03, 1.7942e-02, 9.7959e-01])
"""

from __future__ import annotations

import warnings

import numpy

from numnet.ops.activation import log_softmax, sigmoid, softmax, tanh

# activations and dropout variants
from numnet.ops.activation_piecewise import (
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    softshrink,
    threshold,
    threshold_,
)
from numnet.ops.activation_smooth import (
    celu,
    celu_,
    elu,
    elu_,
    glu,
    logsigmoid,
    mish,
    selu,
    selu_,
    silu,
    softmin,
    softplus,
    softsign,
    tanhshrink,
)
from numnet.ops.adaptive_pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
from numnet.ops.arithmetic import add, div, linear, matmul, mul, neg, pow, sub

# normalization and attention
from numnet.ops.attention import scaled_dot_product_attention
from numnet.ops.conv import conv2d
from numnet.ops.conv1d import conv1d
from numnet.ops.conv_relu import conv2d_relu

# transposed convolution and upsampling
from numnet.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from numnet.ops.dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from numnet.ops.elementwise import (
    abs,
    clamp,
    clip,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    ne,
    sqrt,
    where,
)
from numnet.ops.embedding import embedding
from numnet.ops.gelu import gelu

# one_hot
from numnet.ops.indexing import one_hot
from numnet.ops.interpolate import (  # transposed convolution and upsampling (14.1, B)
    interpolate,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)
from numnet.ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    check_reduction,
    legacy_reduction,
    nll_loss,
    weight_array,
)
from numnet.ops.normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
)
from numnet.ops.padding import pad
from numnet.ops.pool import avg_pool2d, max_pool2d, relu_max_pool2d
from numnet.ops.pool1d import avg_pool1d, max_pool1d
from numnet.ops.reduction import (
    MaxResult,
    amax,
    amin,
    argmax,
    argmin,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from numnet.ops.shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    shape_op,
    squeeze,
    stack,
    transpose,
    unbind,
    unsqueeze,
    view,
)
from numnet.ops.unpool import max_unpool1d, max_unpool2d
from numnet.tensor import Tensor

__all__ = [
    # arithmetic
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear",
    # element-wise and comparisons
    "exp", "log", "sqrt", "abs", "clamp", "clip", "maximum", "minimum", "where",
    "eq", "ne", "lt", "le", "gt", "ge",
    # reductions
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "MaxResult", "argmax", "argmin",
    # shape
    "reshape", "shape_op", "view", "flatten", "squeeze", "unsqueeze", "permute", "transpose",
    "expand", "broadcast_to", "getitem", "unbind", "cat", "concatenate", "stack", "pad",
    # activations
    "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "log_softmax",
    # convolution, pooling, normalization
    "conv1d", "conv2d", "conv2d_relu", "max_pool2d", "relu_max_pool2d", "avg_pool2d", "batch_norm",
    "max_pool1d", "avg_pool1d", "max_unpool1d", "max_unpool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    # losses
    "nll_loss", "cross_entropy", "mse_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
    # regularization
    "dropout",
    # one-hot encoding
    "one_hot",
    # embedding
    "embedding",
    # normalization and attention
    "layer_norm", "group_norm", "instance_norm", "normalize", "scaled_dot_product_attention",
    "gelu", "local_response_norm",
    # transposed convolution and upsampling
    "conv_transpose1d", "conv_transpose2d", "interpolate", "upsample", "upsample_nearest",
    "upsample_bilinear",
    # activations and dropout variants
    "relu_", "leaky_relu_", "silu", "elu", "elu_", "celu", "celu_", "selu", "selu_",
    "softplus", "softsign", "hardtanh", "hardtanh_", "relu6", "hardsigmoid", "hardswish",
    "mish", "logsigmoid", "prelu", "softmin", "tanhshrink", "threshold", "threshold_",
    "hardshrink", "softshrink", "glu", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "feature_alpha_dropout", "rrelu", "rrelu_",
]


# ---------------------------------------------------------------------- losses
def cross_entropy(input, target, weight=None, size_average=None,  # noqa: A002
                  ignore_index: int = -100, reduce=None,  # noqa: A002
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross entropy ``H = -sum_c t_c ln softmax(x)_c``, like PyTorch's.

    Args:
        input: logits (N, C) or (N, C, d1, ...), or one unbatched sample (C,).
        target: class indices (N) / (N, d1, ...) / 0-d, or class probabilities shaped like
            input.
        weight: optional per-class weights (C,).
        ignore_index: class-index targets equal to it are skipped.
        reduction: 'none' | 'mean' | 'sum' (``size_average``/``reduce``: PyTorch's
            deprecated pair, converted by ``legacy_reduction``).
        label_smoothing: eps in [0, 1]: the target becomes (1 - eps) t + eps / C.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: input must be (C,), (N, C) or (N, C, d1, ...), "
                           "got a 0-d tensor")
    if input.ndim == 1:  # one unbatched sample: as a batch of one, the loss 0-d
        target = target if isinstance(target, Tensor) else numpy.asarray(target)
        if target.ndim == 1 and target.dtype.kind in "iu":
            if target.shape != (1,):
                raise ValueError(f"For 1D input, 1D target must have size 1, but got target "
                                 f"size: {target.shape[0]}")
            target = reshape(target, ()) if isinstance(target, Tensor) else target.reshape(())
        loss = cross_entropy(unsqueeze(input, 0), unsqueeze(target, 0) if isinstance(
            target, Tensor) else target[None], weight, None, ignore_index, None, reduction,
            label_smoothing)
        return reshape(loss, ()) if reduction == "none" else loss
    logp = log_softmax(input, dim=1)
    n_classes = input.shape[1]
    w = weight_array(weight, input.dtype)
    target_data = target.data if isinstance(target, Tensor) else numpy.asarray(target)
    if target_data.dtype.kind == "f":
        if target_data.shape != input.shape:
            raise RuntimeError(f"cross_entropy: probability targets must have the input's "
                               f"shape {tuple(input.shape)}, got {tuple(target_data.shape)}")
        t = target if isinstance(target, Tensor) else Tensor(target_data)
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / n_classes
        weighted = logp if w is None else logp * _class_axis(w, input.ndim)
        per_sample = -sum(weighted * t, dim=1)
        if reduction == "none":
            return per_sample
        total = sum(per_sample)
        return total if reduction == "sum" else total / (per_sample.numel())
    nll = nll_loss(logp, target_data, weight, None, ignore_index, None, reduction)
    if not label_smoothing:
        return nll
    keep = (target_data != ignore_index)
    weighted = logp if w is None else logp * _class_axis(w, input.ndim)
    smooth = -sum(weighted, dim=1) * Tensor(keep.astype(input.dtype), _raw=True)
    if reduction == "mean":
        safe = numpy.where(keep, target_data, 0)
        denominator = keep.sum() if w is None else (w[safe] * keep).sum()
        smooth = sum(smooth) / float(denominator)
    elif reduction == "sum":
        smooth = sum(smooth)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _class_axis(w: numpy.ndarray, ndim: int) -> Tensor:
    return Tensor(w.reshape((1, -1) + (1,) * (ndim - 2)), _raw=True)


def _reduced(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return sum(loss) if reduction == "sum" else mean(loss)


# NOTE: l1, smooth L1 and Huber are compositions of abs/where (one Function each would save a
# few temporaries, not accuracy): abs's gradient at 0 is 0 and ``where`` sends each element's
# gradient to the branch it took, which is PyTorch's gradient at every kink (|x| = beta / delta
# give +-1 / +-delta from either side); tested against torch at those points.
def mse_loss(input, target, size_average=None, reduce=None,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    """Mean squared error ``(x - t)**2``, reduced."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduced((input - target) ** 2, reduction)


def l1_loss(input, target, size_average=None, reduce=None,  # noqa: A002
            reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|x - t|``, reduced (gradient 0 where x = t, as PyTorch)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduced(abs(input - target), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, for ``d = x - t``.

    ``beta = 0`` is ``l1_loss``; a negative beta is a RuntimeError (PyTorch).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = input - target
    distance = abs(diff)
    if beta == 0:
        return _reduced(distance, reduction)
    quadratic = numpy.abs(diff.data) < beta
    return _reduced(where(quadratic, diff * diff * (0.5 / beta), distance - 0.5 * beta),
                    reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:  # noqa: A002
    """``0.5 d**2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``, ``d = x - t``.

    ``huber_loss = delta * smooth_l1_loss(beta=delta)``; delta must be positive (PyTorch).
    """
    check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    diff = input - target
    quadratic = numpy.abs(diff.data) <= delta
    return _reduced(where(quadratic, diff * diff * 0.5, (abs(diff) - 0.5 * delta) * delta),
                    reduction)


_KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def kl_div(input, target, size_average=None, reduce=None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``t (ln t - x)`` for log-probabilities ``x`` (PyTorch's).

    With ``log_target`` the target is ``ln t`` too: ``e**t (t - x)``. ``t = 0`` contributes 0.
    ``reduction='batchmean'`` divides the sum by ``input.size(0)`` (the true KL divergence);
    'mean' divides by the number of elements, as PyTorch does (with its warning).
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction not in _KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {_KL_REDUCTIONS}, got {reduction!r}")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        t = target if isinstance(target, Tensor) else Tensor(numpy.asarray(target))
        nonzero = t.data != 0  # xlogy(t, t): 0 at t = 0, nan for t < 0 (as PyTorch)
        safe_log = log(where(nonzero, t, 1.0))
        loss = where(nonzero, t * safe_log, 0.0) - t * input
    if reduction == "batchmean":
        if input.ndim == 0:
            return sum(loss)
        return sum(loss) / input.shape[0]
    return _reduced(loss, reduction)
