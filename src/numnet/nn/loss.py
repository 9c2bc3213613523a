"""Losses as modules, like ``torch.nn``'s: each holds its arguments and calls ``F.<loss>``.

``CrossEntropyLoss NLLLoss MSELoss L1Loss SmoothL1Loss HuberLoss BCELoss BCEWithLogitsLoss
KLDivLoss``, with PyTorch's constructor arguments and defaults. ``weight`` (and
``pos_weight``) are buffers, as in PyTorch, so ``.to(...)`` and ``state_dict`` carry them.
``size_average``/``reduce`` are PyTorch's deprecated pair, turned into ``reduction`` once, at
construction (with PyTorch's warning).

Example:
    >>> import numnet
    >>> from numnet import nn
    >>> loss = nn.CrossEntropyLoss()(numnet.tensor([[2.0, 0.0]]), numnet.tensor([0]))
    >>> round(loss.item(), 4)
    0.1269
"""

from __future__ import annotations

from numnet.nn import functional as F
from numnet.nn.module import Module
from numnet.ops.loss import legacy_reduction

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]

_KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:  # noqa: A002
        super().__init__()
        self.reduction = legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None,  # noqa: A002
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error ``|x - t|`` (``F.l1_loss``)."""

    def forward(self, input, target):  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(x - t)**2`` (``F.mse_loss``)."""

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (``F.smooth_l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, ``delta``-sloped above (``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL divergence of log-probabilities from a target (``F.kl_div``); 'batchmean' allowed."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",  # noqa: A002
                 log_target: bool = False) -> None:
        Module.__init__(self)  # 'batchmean' is one more reduction here
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce, reduction)
        elif reduction not in _KL_REDUCTIONS:
            raise ValueError(f"reduction must be one of {_KL_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (``F.nll_loss``)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100,  # noqa: A002
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross entropy of logits (``F.cross_entropy``): class indices or probabilities."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100,  # noqa: A002
                 reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities (``F.binary_cross_entropy``)."""

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of logits, one stable formula (``F.binary_cross_entropy_with_logits``).

    ``pos_weight`` (C,) weighs the positive term of each class.
    """

    def __init__(self, weight=None, size_average=None, reduce=None,  # noqa: A002
                 reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
