"""Loss primitives that need a fused formula for exactness or stability.

``cross_entropy`` and ``mse_loss`` are composed in ``numnet.nn.functional``; here are the
three that are not plain compositions: NLL gathering with class weights, and the two binary
cross-entropies (clamped log, stable logits form), with their wrappers and the argument
checks that every loss shares (``check_reduction``, ``weight_array``).

Each backward is written with ``dual`` functions, so with ``create_graph=True`` the same
formula runs recorded on Tensors (``Function.saved_inputs``) and the gradients are
differentiable again; NLL's scatter is ``IndexIntoZeros`` there.
"""

from __future__ import annotations

import warnings

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.ops.shape import IndexIntoZeros, permute, reshape
from numnet.tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    """Raise ValueError unless ``reduction`` is 'none', 'mean' or 'sum'."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """``reduction`` checked, or PyTorch's deprecated ``size_average``/``reduce`` pair as one.

    Either flag given (not None) decides, as in PyTorch: ``reduce=False`` -> 'none', else
    ``size_average`` (default True) -> 'mean' or 'sum'; a UserWarning says so.
    """
    if size_average is None and reduce is None:
        check_reduction(reduction)
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{result}' instead.", UserWarning, stacklevel=3)
    return result


def weight_array(weight, dtype):
    """A loss's optional weight (Tensor, array or None) as an array of ``dtype``."""
    if weight is None:
        return None
    return numpy.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)


def _check_same_shape(name, input, target) -> None:  # noqa: A002
    target_shape = tuple(numpy.shape(target.data if isinstance(target, Tensor) else target))
    if target_shape != tuple(input.shape):
        raise ValueError(f"{name}: target size {target_shape} must be the same as input "
                         f"size {tuple(input.shape)}")


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C), so K-dimensional losses reduce to (N, C)."""
    if x.ndim == 2:
        return x
    order = (0,) + tuple(range(2, x.ndim)) + (1,)
    return reshape(permute(x, order), -1, x.shape[1])


def _reduce(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    count = loss.size if denominator is None else denominator
    return total / loss.dtype.type(count)


class NLLLoss(Function):
    """``loss_i = -w[t_i] * logp[i, t_i]`` for log-probabilities ``logp`` of shape (N, C).

    ``reduction='mean'`` divides by ``sum_i w[t_i]`` over non-ignored samples (PyTorch).
    Targets equal to ``ignore_index`` contribute nothing.

    ``gx`` is zero but at ``[i, t_i]``, where it is ``-w[t_i] gy`` (over the denominator
    for 'mean'): linear in ``gy``, independent of ``logp``; recorded as ``IndexIntoZeros``.
    """

    saved_inputs = (None,)

    def __init__(self, target, weight=None, ignore_index: int = -100, reduction="mean"):
        self.target = numpy.asarray(target)
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, logp):
        n, c = logp.shape
        target = self.target
        keep = target != self.ignore_index
        safe = numpy.where(keep, target, 0)
        if numpy.any((safe < 0) | (safe >= c)):
            bad = target[keep & ((target < 0) | (target >= c))][0]
            raise IndexError(f"Target {bad} is out of bounds for {c} classes")
        w = numpy.ones(c, dtype=logp.dtype) if self.weight is None else self.weight
        sample_w = (w[safe] * keep).astype(logp.dtype)
        self.sample_w, self.safe, self.shape = sample_w, safe, logp.shape
        loss = -logp[numpy.arange(n), safe] * sample_w
        self.denominator = sample_w.sum()
        return _reduce(loss, self.reduction, self.denominator)

    def backward(self, gy):
        n = self.shape[0]
        scale = self.sample_w
        if self.reduction == "mean":
            scale = scale / self.denominator
        if dual.is_graph(gy):
            rows = (numpy.arange(n), self.safe)
            return dual.apply(IndexIntoZeros(rows, self.shape), gy * -scale)
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        gx[numpy.arange(n), self.safe] = -scale * gy
        return gx


def nll_loss(logp, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood ``-w[t_i] logp[i, t_i]`` of log-probabilities (N, C, ...).

    An unbatched (C,) input takes a 0-d target and gives a 0-d loss (PyTorch).
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    target_array = numpy.asarray(target.data if isinstance(target, Tensor) else target)
    if target_array.dtype.kind not in "iu":
        raise TypeError(f"nll_loss expects integer class indices, got {target_array.dtype}")
    if logp.ndim == 1 and target_array.shape != ():
        if target_array.shape != (1,):
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target_array.size}")
        target_array = target_array.reshape(())  # PyTorch takes a (1,) target here too
    wanted = () if logp.ndim == 1 else logp.shape[:1] + logp.shape[2:]
    if logp.ndim < 1 or target_array.shape != wanted:
        message = (f"nll_loss: input of shape {tuple(logp.shape)} needs targets of shape "
                   f"{tuple(wanted)}, got {tuple(target_array.shape)}")
        if logp.ndim > 1 and target_array.ndim and target_array.shape[0] != logp.shape[0]:
            # a batch-size mismatch is PyTorch's one ValueError here
            raise ValueError(f"Expected input batch_size ({logp.shape[0]}) to match target "
                             f"batch_size ({target_array.shape[0]}): {message}")
        raise RuntimeError(message)
    flat = reshape(logp, 1, -1) if logp.ndim == 1 else _classes_last(logp)
    out = NLLLoss(target_array.reshape(-1), weight_array(weight, logp.dtype),
                  ignore_index, reduction)(as_tensor(flat))
    if reduction == "none" and logp.ndim != 2:
        out = reshape(out, target_array.shape)
    return out


def _weighted_gradient(function, gy):
    """The upstream gradient of each element of a binary cross-entropy's loss: ``gy``
    (over the element count for 'mean') broadcast to the loss's shape, times the weight."""
    w = 1 if function.weight is None else function.weight
    g = gy
    if function.reduction == "mean":
        g = gy / gy.dtype.type(numpy.prod(function.loss_shape))
    return dual.broadcast_to(g, function.loss_shape) * w


def _clamped_logs(x):
    """``(ln x, ln(1 - x))``, each clamped at -100 as PyTorch's ``binary_cross_entropy``
    (arrays, or recorded on a Tensor)."""
    with numpy.errstate(divide="ignore"):
        return dual.maximum(dual.log(x), -100), dual.maximum(dual.log1p(-x), -100)


class BinaryCrossEntropy(Function):
    """``loss = -w [t ln x + (1 - t) ln(1 - x)]`` with each log clamped at -100 (PyTorch).

    ``gx = gy w (x - t) / max(x (1 - x), 1e-12)``;  ``gt = gy w (ln(1 - x) - ln x)``
    (recorded with ``create_graph=True``, the logs recomputed from ``x``).
    """

    saved_inputs = ("x", "t")

    def __init__(self, weight=None, reduction="mean"):
        self.weight, self.reduction = weight, reduction

    def forward(self, x, t):
        if numpy.any((x < 0) | (x > 1)):
            raise RuntimeError("binary_cross_entropy: all elements of input should be "
                               "between 0 and 1 (apply sigmoid, or use "
                               "binary_cross_entropy_with_logits)")
        log_x, log_1mx = _clamped_logs(x)
        w = 1 if self.weight is None else self.weight
        loss = -(t * log_x + (1 - t) * log_1mx) * w
        self.x, self.t, self.logs = x, t, (log_x, log_1mx)
        self.loss_shape = loss.shape
        return _reduce(loss, self.reduction)

    def backward(self, gy):
        x, t = self.x, self.t
        g = _weighted_gradient(self, gy)
        gx = gt = None
        if self.needs_input_grad[0]:
            eps = x.dtype.type(1e-12)
            gx = sum_to(g * (x - t) / dual.maximum(x * (1 - x), eps), x.shape)
        if self.needs_input_grad[1]:
            log_x, log_1mx = _clamped_logs(x) if dual.is_graph(x) else self.logs
            gt = sum_to(g * (log_1mx - log_x), t.shape)
        return gx, gt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    """``-w [t ln x + (1 - t) ln(1 - x)]`` for probabilities x in [0, 1]."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    return BinaryCrossEntropy(weight_array(weight, input.dtype), reduction)(
        *as_operands(input, target))


def _log_sigmoids(x):
    """``(ln s(x), ln(1 - s(x)))`` in the stable form ``-softplus(-x)``, ``-softplus(x)``
    (arrays, or recorded on a Tensor)."""
    log1p_exp = dual.log1p(dual.exp(-dual.abs(x)))
    return -(dual.maximum(-x, 0) + log1p_exp), -(dual.maximum(x, 0) + log1p_exp)


class BinaryCrossEntropyWithLogits(Function):
    """``loss = -w [p t ln s(x) + (1 - t) ln(1 - s(x))]`` with ``s`` the sigmoid.

    Stable form: ``ln s(x) = -softplus(-x)``, ``ln(1 - s(x)) = -softplus(x)`` where
    ``softplus(z) = max(z, 0) + ln(1 + e**-|z|)``.
    ``gx = gy w [s(x) (p t + 1 - t) - p t]``;  ``gt = gy w [ln(1 - s(x)) - p ln s(x)]``
    (recorded with ``create_graph=True``, the logs recomputed from ``x``).
    """

    saved_inputs = ("x", "t")

    def __init__(self, weight=None, pos_weight=None, reduction="mean"):
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction

    def forward(self, x, t):
        log_sig, log_1msig = _log_sigmoids(x)
        p = 1 if self.pos_weight is None else self.pos_weight
        w = 1 if self.weight is None else self.weight
        loss = -(p * t * log_sig + (1 - t) * log_1msig) * w
        self.x, self.t, self.logs, self.loss_shape = x, t, (log_sig, log_1msig), loss.shape
        return _reduce(loss.astype(x.dtype, copy=False), self.reduction)

    def backward(self, gy):
        x, t = self.x, self.t
        p = 1 if self.pos_weight is None else self.pos_weight
        g = _weighted_gradient(self, gy)
        log_sig, log_1msig = _log_sigmoids(x) if dual.is_graph(x) else self.logs
        gx = gt = None
        if self.needs_input_grad[0]:
            s = dual.exp(log_sig)
            gx = sum_to(g * (s * (p * t + 1 - t) - p * t), x.shape)
        if self.needs_input_grad[1]:
            gt = sum_to(g * (log_1msig - p * log_sig), t.shape)
        return gx, gt


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """``binary_cross_entropy(sigmoid(x), t)`` in one stable formula, ``pos_weight`` optional."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return BinaryCrossEntropyWithLogits(
        weight_array(weight, input.dtype), weight_array(pos_weight, input.dtype),
        reduction)(*as_operands(input, target))
