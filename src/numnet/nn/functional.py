"""The functional API, like ``torch.nn.functional`` (import as ``F``).

Every user-facing operation is a function here; Tensor methods and ``numnet.<name>``
dispatch to these. Each wraps one ``Function`` from ``numnet.ops`` (or composes a few);
the formulas are in the Functions' docstrings.

Example:
    >>> import numnet
    >>> import numnet.nn.functional as F
    >>> F.softmax(numnet.tensor([-5.0, -1.0, 1.0, 5.0]), dim=0)
    tensor([4.4473e-05, 2.4281e-03, 1.7942e-02, 9.7959e-01])
"""

from __future__ import annotations

import collections
import numbers

import numpy

from numnet import backend
from numnet.ops import activation, arithmetic, elementwise, loss, reduction, shape
from numnet.ops._util import normalize_dims
from numnet.ops.conv import conv2d, conv2d_relu  # noqa: E402,F401
from numnet.ops.pool import avg_pool2d, max_pool2d  # noqa: E402,F401
from numnet.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def _as_tensor(x, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; numbers take ``like``'s floating dtype (as PyTorch scalars do)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, numbers.Number) and like.dtype.kind == "f":
        return Tensor(numpy.asarray(x, dtype=like.dtype), _raw=True)
    if like is not None and isinstance(x, numbers.Number) and isinstance(x, float):
        return Tensor(numpy.asarray(x, dtype=backend.get_default_dtype()), _raw=True)
    return Tensor(x)


def _pair(a, b):
    """Both operands as Tensors, numbers adopting the other operand's dtype."""
    if isinstance(a, Tensor):
        return a, _as_tensor(b, a)
    b = _as_tensor(b)
    return _as_tensor(a, b), b


# ---------------------------------------------------------------------- arithmetic
def add(a, b) -> Tensor:
    """``a + b`` with broadcasting."""
    return arithmetic.Add()(*_pair(a, b))


def sub(a, b) -> Tensor:
    """``a - b`` with broadcasting."""
    return arithmetic.Sub()(*_pair(a, b))


def mul(a, b) -> Tensor:
    """``a * b`` with broadcasting."""
    return arithmetic.Mul()(*_pair(a, b))


def div(a, b) -> Tensor:
    """``a / b`` with broadcasting (true division)."""
    return arithmetic.Div()(*_pair(a, b))


def neg(x) -> Tensor:
    """``-x``."""
    return arithmetic.Neg()(x)


def pow(a, b) -> Tensor:  # noqa: A001 - PyTorch's name
    """``a ** b`` with broadcasting."""
    return arithmetic.Pow()(*_pair(a, b))


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch rules (1-D promotion, batched, broadcast)."""
    return arithmetic.MatMul()(*_pair(a, b))


# ---------------------------------------------------------------------- element-wise
def exp(x) -> Tensor:
    """``e ** x``."""
    return elementwise.Exp()(x)


def log(x) -> Tensor:
    """Natural logarithm."""
    return elementwise.Log()(x)


def sqrt(x) -> Tensor:
    """Square root."""
    return elementwise.Sqrt()(x)


def abs(x) -> Tensor:  # noqa: A001 - PyTorch's name
    """``|x|``."""
    return elementwise.Abs()(x)


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit every element to ``[min, max]`` (either may be None)."""
    return elementwise.Clamp(min, max)(x)


clip = clamp


def maximum(a, b) -> Tensor:
    """Element-wise maximum of two tensors."""
    return elementwise.Maximum()(*_pair(a, b))


def minimum(a, b) -> Tensor:
    """Element-wise minimum of two tensors."""
    return elementwise.Minimum()(*_pair(a, b))


def where(condition, a, b) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcast)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return elementwise.Where(condition)(*_pair(a, b))


# ---------------------------------------------------------------------- comparisons
def _compare(op):
    def compare(a, b) -> Tensor:
        a, b = _pair(a, b)
        return Tensor(op(a.data, b.data), _raw=True)
    compare.__doc__ = f"Element-wise ``numpy.{op.__name__}`` (a bool tensor, no gradient)."
    return compare


eq = _compare(numpy.equal)
ne = _compare(numpy.not_equal)
lt = _compare(numpy.less)
le = _compare(numpy.less_equal)
gt = _compare(numpy.greater)
ge = _compare(numpy.greater_equal)


# ---------------------------------------------------------------------- reductions
def sum(x, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (all dims when None)."""
    return reduction.Sum(dim, keepdim)(x)


def mean(x, dim=None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (all dims when None)."""
    return reduction.Mean(dim, keepdim)(x)


def var(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Variance ``sum (x - mean)**2 / (n - correction)``; unbiased (correction 1) by default."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    return reduction.Var(dim, correction, keepdim)(x)


def std(x, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    """Standard deviation: ``sqrt(var)``."""
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _extremum(function_class, arg, x, dim, keepdim):
    if dim is None:
        return function_class(None, False)(x)
    values = function_class(dim, keepdim)(x)
    axis = normalize_dims(dim, x.ndim)[0]
    indices = arg(x.data, axis=axis)
    if keepdim:
        indices = numpy.expand_dims(indices, axis)
    return MaxResult(values, Tensor(indices.astype(numpy.int64), _raw=True))


def max(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Maximum of all elements, or ``(values, indices)`` along ``dim`` (like PyTorch)."""
    return _extremum(reduction.Max, numpy.argmax, x, dim, keepdim)


def min(x, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """Minimum of all elements, or ``(values, indices)`` along ``dim`` (like PyTorch)."""
    return _extremum(reduction.Min, numpy.argmin, x, dim, keepdim)


def argmax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, of the flattened tensor when ``dim`` is None."""
    data = x.data if isinstance(x, Tensor) else numpy.asarray(x)
    if dim is None:
        return Tensor(numpy.asarray(numpy.argmax(data), dtype=numpy.int64), _raw=True)
    out = numpy.argmax(data, axis=dim)
    if keepdim:
        out = numpy.expand_dims(out, dim)
    return Tensor(out.astype(numpy.int64), _raw=True)


def argmin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, of the flattened tensor when ``dim`` is None."""
    return argmax(-(x.data if isinstance(x, Tensor) else numpy.asarray(x)), dim, keepdim)


# ---------------------------------------------------------------------- shape
def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *shape) -> Tensor:
    """Same elements in a new shape (one entry may be -1)."""
    return shape_op(x, _shape_args(shape))


def shape_op(x, new_shape) -> Tensor:
    new_shape = tuple(int(n) for n in new_shape)
    if new_shape == x.shape:
        return x
    return shape.Reshape(new_shape)(x)


view = reshape


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if x.ndim == 0:
        return shape_op(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    merged = int(numpy.prod(x.shape[start:end + 1]))
    return shape_op(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x, dim=None) -> Tensor:
    """Remove dims of length 1 (only ``dim`` when given; a no-op if it is not 1)."""
    if dim is None:
        return shape_op(x, tuple(n for n in x.shape if n != 1))
    axes = normalize_dims(dim, x.ndim)
    return shape_op(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def unsqueeze(x, dim: int) -> Tensor:
    """Insert a dim of length 1 at ``dim``."""
    dim = dim % (x.ndim + 1)
    return shape_op(x, x.shape[:dim] + (1,) + x.shape[dim:])


def permute(x, *dims) -> Tensor:
    """Reorder the dims."""
    return shape.Permute(_shape_args(dims))(x)


def transpose(x, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    order = list(range(x.ndim))
    order[dim0], order[dim1] = order[dim1], order[dim0]
    return shape.Permute(order)(x)


def expand(x, *sizes) -> Tensor:
    """Broadcast to ``sizes`` without copying (-1 keeps a size)."""
    return shape.Expand(_shape_args(sizes))(x)


def broadcast_to(x, shape_) -> Tensor:
    """Broadcast to ``shape_``."""
    return shape.Expand(tuple(shape_))(x)


def getitem(x, index) -> Tensor:
    """``x[index]``: slices, integers, integer arrays and boolean masks."""
    return shape.GetItem(index)(x)


def unbind(x, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, as a tuple of tensors (one differentiable op)."""
    out = shape.Unbind(dim)(x)
    return out if isinstance(out, tuple) else (out,)


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    return shape.Cat(dim)(*tensors)


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Stack along a new dim."""
    return shape.Stack(dim)(*tensors)


def pad(x, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with a constant; ``pad`` lists (left, right) pairs from the last dim backwards."""
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r}: only 'constant' is implemented")
    return shape.Pad(pad, value)(x)


# ---------------------------------------------------------------------- activations
def sigmoid(x) -> Tensor:
    """``1 / (1 + e**-x)``."""
    return activation.Sigmoid()(x)


def tanh(x) -> Tensor:
    """Hyperbolic tangent."""
    return activation.Tanh()(x)


def relu(x) -> Tensor:
    """``max(0, x)``."""
    return activation.ReLU()(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` for x > 0, else ``negative_slope * x``."""
    return activation.LeakyReLU(negative_slope)(x)


def softmax(x, dim: int) -> Tensor:
    """``e**x_i / sum_j e**x_j`` along ``dim``."""
    return activation.Softmax(dim)(x)


def log_softmax(x, dim: int) -> Tensor:
    """``log softmax(x)`` along ``dim``, computed stably."""
    return activation.LogSoftmax(dim)(x)


# ---------------------------------------------------------------------- losses
def _check_reduction(reduction_: str) -> None:
    if reduction_ not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction_!r}")


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C), so K-dimensional losses reduce to (N, C)."""
    if x.ndim == 2:
        return x
    order = (0,) + tuple(range(2, x.ndim)) + (1,)
    return reshape(permute(x, order), -1, x.shape[1])


def _weight_array(weight, dtype):
    if weight is None:
        return None
    return numpy.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)


def nll_loss(logp, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``-w[t_i] logp[i, t_i]`` of log-probabilities (N, C, ...)."""
    _check_reduction(reduction)
    target_array = numpy.asarray(target.data if isinstance(target, Tensor) else target)
    if target_array.dtype.kind not in "iu":
        raise TypeError(f"nll_loss expects integer class indices, got {target_array.dtype}")
    if logp.ndim < 1 or target_array.shape != (logp.shape[:1] + logp.shape[2:]):
        raise ValueError(f"nll_loss: input of shape {tuple(logp.shape)} needs targets of "
                         f"shape {tuple(logp.shape[:1] + logp.shape[2:])}, got "
                         f"{tuple(target_array.shape)}")
    flat = _classes_last(logp)
    out = loss.NLLLoss(target_array.reshape(-1), _weight_array(weight, logp.dtype),
                       ignore_index, reduction)(flat)
    if reduction == "none" and logp.ndim > 2:
        out = reshape(out, target_array.shape)
    return out


def cross_entropy(input, target, weight=None, ignore_index: int = -100,  # noqa: A002
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross entropy ``H = -sum_c t_c ln softmax(x)_c``, like PyTorch's.

    Args:
        input: logits (N, C) or (N, C, d1, ...).
        target: class indices (N) / (N, d1, ...), or class probabilities shaped like input.
        weight: optional per-class weights (C,).
        ignore_index: class-index targets equal to it are skipped.
        reduction: 'none' | 'mean' | 'sum'.
        label_smoothing: eps in [0, 1]: the target becomes (1 - eps) t + eps / C.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    logp = log_softmax(input, dim=1)
    n_classes = input.shape[1]
    w = _weight_array(weight, input.dtype)
    target_data = target.data if isinstance(target, Tensor) else numpy.asarray(target)
    if target_data.dtype.kind == "f":
        if target_data.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets must have the input's "
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
    nll = nll_loss(logp, target_data, weight, ignore_index, reduction)
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


def mse_loss(input, target, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Mean squared error ``(x - t)**2``, reduced."""
    _check_reduction(reduction)
    squared = (input - target) ** 2
    if reduction == "none":
        return squared
    return sum(squared) if reduction == "sum" else mean(squared)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:  # noqa: A002
    """``-w [t ln x + (1 - t) ln(1 - x)]`` for probabilities x in [0, 1]."""
    _check_reduction(reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    return loss.BinaryCrossEntropy(_weight_array(weight, input.dtype), reduction)(
        *_pair(input, target))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",  # noqa: A002
                                     pos_weight=None) -> Tensor:
    """``binary_cross_entropy(sigmoid(x), t)`` in one stable formula, ``pos_weight`` optional."""
    _check_reduction(reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return loss.BinaryCrossEntropyWithLogits(
        _weight_array(weight, input.dtype), _weight_array(pos_weight, input.dtype),
        reduction)(*_pair(input, target))


def _check_same_shape(name, input, target) -> None:  # noqa: A002
    target_shape = tuple(numpy.shape(target.data if isinstance(target, Tensor) else target))
    if target_shape != tuple(input.shape):
        raise ValueError(f"{name}: target size {target_shape} must be the same as input "
                         f"size {tuple(input.shape)}")


# ---------------------------------------------------------------------- layers
def linear(x, weight, bias=None) -> Tensor:
    """``y = x W^T + b`` (weight of shape (out_features, in_features), like PyTorch), as
    one op (``ops.arithmetic.Linear``)."""
    if bias is None:
        return arithmetic.Linear()(x, weight)
    return arithmetic.Linear()(x, weight, bias)


def dropout(x, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    from numnet import random as nn_random
    rng = (generator or nn_random.default_generator).numpy_generator
    keep = rng.random(x.shape, dtype=numpy.float64) >= p
    scale = numpy.asarray(1.0 / (1.0 - p), dtype=x.dtype)
    return x * Tensor(keep.astype(x.dtype) * scale, _raw=True)


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over axis 1 (formulas in ``numnet.ops.normalization.BatchNorm``).

    ``training=True`` normalises with the batch's statistics and updates ``running_mean``
    / ``running_var`` in place (when given); ``training=False`` uses the running ones.
    """
    from numnet.ops import normalization
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
    function = normalization.BatchNorm(stats[0], stats[1], training, momentum, eps)
    if weight is None and bias is None:
        return function(input)
    if weight is None or bias is None:
        raise ValueError("batch_norm: give both weight and bias, or neither")
    return function(input, weight, bias)
