"""``SyncBatchNorm``: batch normalization with the statistics of the global batch, over all
ranks of ``numnet.distributed``'s process group.

With data parallelism each rank sees ``n`` of the global batch's ``M = sum_r n_r`` samples;
plain BatchNorm would normalise each rank's share with its own statistics. SyncBatchNorm
reduces, per channel, the sum and count over every rank (one allreduce), then the sum of
squared deviations from the global mean (a second one, the two-pass variance that one
process computes), so every rank normalises with the global batch's mean and biased
variance and updates the running statistics with the unbiased ``var M / (M - 1)``.

The backward pass needs the global sums too: with ``xhat = (x - mean) / sqrt(var + eps)``
and ``gy`` each rank's incoming gradient,

    gx = gamma / (M sqrt(var + eps)) * (M gy - sum_all gy - xhat sum_all gy xhat)

where ``sum_all`` runs over the samples of every rank (one allreduce of the two sums);
``gamma`` and ``beta`` get their local sums, which ``DistributedDataParallel`` averages. The
result is single-process BatchNorm on the global batch, to rounding.

Double backward (``create_graph=True``) works on one process (the sums are local, and the
recorded backward is ``BatchNorm``'s); with more than one it raises a RuntimeError: the
recorded graph would need the allreduces as differentiable ops. PyTorch's SyncBatchNorm is
not twice differentiable either (its backward's kernels ``batch_norm_backward_reduce`` and
``batch_norm_backward_elemt`` have no derivative).
"""

from __future__ import annotations

import numpy

from numnet import distributed as dist
from numnet.nn.layers import _BatchNorm, _check_dtype
from numnet.nn.module import Module
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.ops.normalization import BatchNorm
from numnet.tensor import Tensor


def _all_reduce(array: numpy.ndarray) -> numpy.ndarray:
    dist.all_reduce(Tensor(array, _raw=True))
    return array


class SyncBatchNormFunction(BatchNorm):
    """Training-mode batch norm whose statistics and backward sums run over all ranks
    (formulas in the module docstring; evaluation mode is ``BatchNorm``'s): ``BatchNorm``
    with its per-channel sums all-reduced (``_over_batch``). Double backward:
    ``BatchNorm``'s on one process, a RuntimeError on more."""

    def _over_batch(self, sums):
        """The per-channel sums of every rank, added up (one allreduce)."""
        return _all_reduce(sums)

    def backward(self, gy):
        if dual.is_graph(gy) and dist.get_world_size() > 1:
            raise RuntimeError(f"{self.name}: double backward is not implemented "
                               "(create_graph=True through this op) on more than one "
                               "process")
        return super().backward(gy)  # the kernels of BatchNorm, its sums over all ranks


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over the global batch of all ranks (Ioffe & Szegedy, 2015;
    synchronised as in PyTorch's ``nn.SyncBatchNorm``).

    In training, with a process group of more than one rank initialised, the mean and
    biased variance per channel are those of the samples of every rank (see the module
    docstring); otherwise (one process, evaluation mode) it is ``BatchNorm``: running
    statistics, arguments, parameters and initialization are ``BatchNorm2d``'s.

    Args:
        num_features: C, the channels (axis 1).
        eps, momentum, affine, track_running_stats: as ``BatchNorm2d``.
        process_group: None (the default group).

    Shape:
        - Input: (N, C, +), at least 2-D
        - Output: same shape as the input

    Example:
        >>> import numnet
        >>> SyncBatchNorm(3)(numnet.randn(4, 3, 2, 2)).shape
        (4, 3, 2, 2)
    """

    _expected = "(N, C, +)"
    _ndims = range(2, 33)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group=None, *, dtype=None) -> None:
        if process_group is not None:
            raise NotImplementedError("SyncBatchNorm(process_group=...) is not implemented: "
                                      "numnet has only the default process group")
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         dtype=dtype)
        self.process_group = None

    def _check_input(self, x) -> None:
        if x.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {x.ndim}D input)")
        super()._check_input(x)

    def forward(self, x):
        synced = self.training and dist.is_initialized() and dist.get_world_size() > 1
        if not synced:
            return super().forward(x)
        self._check_input(x)
        if self.affine:
            _check_dtype(self, x, self.weight)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        stats = (None, None) if self.running_mean is None else (
            self.running_mean.data, self.running_var.data)
        function = SyncBatchNormFunction(stats[0], stats[1], True, factor, self.eps)
        if not self.affine:
            return function(as_tensor(x))
        return function(as_tensor(x), self.weight, self.bias)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm layer in it (1d, 2d, 3d) replaced by a
        SyncBatchNorm sharing its parameters and buffers (the module itself when it is
        one); PyTorch's ``nn.SyncBatchNorm.convert_sync_batchnorm``.

        Example:
            >>> from numnet import nn
            >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
            >>> type(SyncBatchNorm.convert_sync_batchnorm(net)[1]).__name__
            'SyncBatchNorm'
        """
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            dtype = next((t.dtype for t in (module.weight, module.running_mean)
                          if t is not None), None)
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group, dtype=dtype)
            if module.affine:
                converted.weight = module.weight
                converted.bias = module.bias
            if module.track_running_stats:
                converted.running_mean = module.running_mean
                converted.running_var = module.running_var
                converted.num_batches_tracked = module.num_batches_tracked
            converted.train(module.training)
            return converted
        for name, child in list(module.named_children()):
            replaced = cls.convert_sync_batchnorm(child, process_group)
            if replaced is not child:
                module.add_module(name, replaced)
        return module

