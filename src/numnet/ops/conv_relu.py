"""The fused ``conv2d_relu``: a convolution, the ReLU after it and, optionally, the
non-overlapping max pooling after that, as one op.

``Conv2dReLU`` is ``ops/conv.py``'s ``Conv2d`` with its per-chunk steps ``_output_arrays``,
``_store`` and ``_output_grad`` replaced: the ReLU (and the pooling) run on each batch chunk
of the convolution's output while it is still in cache, so the pre-activation (and, with
pooling, the full-size activation) is never stored. ``nn.Sequential`` runs
``Conv2d, ReLU(, MaxPool2d)`` this way when no hook could see the tensors in between.
"""

from __future__ import annotations

import numpy

from numnet.ops import dual
from numnet.ops._grid import _output_size, _workspace, int_pair
from numnet.ops._util import as_tensor
from numnet.ops.conv import Conv2d, resolve_padding
from numnet.ops.pool import (
    PoolScatter,
    _index_dtype,
    _max_pool_chunk,
    _max_pool_grad_chunk,
    window_flat_indices,
)


class Conv2dReLU(Conv2d):
    """``y = max(0, conv2d(x, W, b))``, optionally max-pooled: ``maxpool_F(max(0, conv))``,
    as one op (a convolution, the ReLU after it, and the non-overlapping max pooling after
    that).

    The same numbers as the separate ops, bit for bit: each batch chunk goes through the
    ReLU (with pooling: the pooling, then the ReLU on the window maxima, which is the same)
    while it is still in cache; the pre-activation (and, with pooling, the full-size
    activation) is never stored. Backward: without pooling,
    ``g = gy * (y > 0)``; with pooling, ``gy`` goes to the maximum of each window (as
    ``max_pool2d``'s backward) where ``y > 0`` (the ReLU's mask at that element: it holds the
    window's maximum), chunk by chunk, then into the convolution's backward.
    """

    masks_from = (("output", 0),)  # the ReLU's (and pooling's) edge, as PyTorch keeps it

    def __init__(self, stride=1, padding=0, pool=None, dilation=1, groups=1):
        super().__init__(stride, padding, dilation, groups)
        self.pool = None if pool is None else int_pair(pool, "conv2d_relu: pool", 1,
                                                       TypeError, RuntimeError)

    def _output_arrays(self, n, k, oh, ow, dtype):
        needs_grad = any(self.needs_input_grad)
        if self.pool is None:
            self.mask = numpy.empty((n, k, oh, ow), bool) if needs_grad else None
            return numpy.empty((n, k, oh, ow), dtype=dtype)
        pooled_h, pooled_w = _output_size("max_pool2d", (oh, ow), self.pool, self.pool, (0, 0))
        out = numpy.empty((n, k, pooled_h, pooled_w), dtype=dtype)
        self.index = numpy.empty(out.shape, _index_dtype(self.pool))  # each window's winner
        self.y = out if needs_grad else None
        return out

    def _store(self, y_chunk, out, start, stop):
        if self.pool is None:
            numpy.maximum(y_chunk, 0, out=out[start:stop])
            if self.mask is not None:
                numpy.greater(out[start:stop], 0, out=self.mask[start:stop])
            return
        # NOTE: pooling first and the ReLU after, on 4x fewer numbers, gives the same
        # output (max and max(0, .) commute). The winners may differ where a window is <= 0
        # (the ReLU makes it all ties at 0), but there the mask y > 0 stops the gradient.
        pooled = out[start:stop]
        _max_pool_chunk(y_chunk, self.pool, self.pool, pooled, self.index[start:stop])
        numpy.maximum(pooled, 0, out=pooled)

    def _output_grad(self, gy, start, stop):
        if self.pool is None:
            return gy[start:stop] * self.mask[start:stop], None
        gy_pooled = gy[start:stop] * (self.y[start:stop] > 0)
        k = self.geometry.weight_shape[0]
        oh, ow = self.geometry.out_size
        gy_conv = _workspace.take((stop - start, k, oh, ow), gy.dtype)
        covered = oh % self.pool[0] == 0 and ow % self.pool[1] == 0
        _max_pool_grad_chunk(gy_pooled, self.index[start:stop], self.pool, self.pool, gy_conv,
                             zero=not covered)
        return gy_conv, gy_conv

    def _output_grad_graph(self, gy):
        """``_output_grad`` recorded (``create_graph=True``): ``gy`` where ``y > 0`` (the
        mask is a constant: the ReLU's second derivative is 0), then, with pooling, sent to
        each window's maximum by ``PoolScatter`` (whose own gradient is ``PoolGather``)."""
        if self.pool is None:
            return dual.where(self.mask, gy, 0)
        g = dual.where(self.y > 0, gy, 0)
        k = self.geometry.weight_shape[0]
        shape = (g.shape[0], k) + tuple(self.geometry.out_size)
        flat = window_flat_indices(self.index, self.pool, self.pool, shape[3])
        return dual.apply(PoolScatter(flat, shape), g)


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, pool=None, dilation=1, groups=1):
    """``relu(conv2d(x, weight, bias, stride, padding, dilation, groups))`` in one pass,
    followed by a max pooling of window and stride ``pool`` when it is given (see
    ``Conv2dReLU``; the arguments are ``conv2d``'s, ``padding`` strings included).

    ``nn.Sequential`` uses it for a ``Conv2d`` followed by a ``ReLU`` (and a ``MaxPool2d``
    with stride = kernel and no padding) when none of them has hooks: the result and the
    gradients are those of the separate ops, without the tensors between them and their
    passes over memory.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[[1.0, -2.0], [3.0, -4.0]]]])
        >>> F.conv2d_relu(x, numnet.ones(1, 1, 1, 1))
        tensor([[[[1., 0.],
                  [3., 0.]]]])
        >>> F.conv2d_relu(x, numnet.ones(1, 1, 1, 1), pool=2)
        tensor([[[[3.]]]])
    """
    x, weight = as_tensor(x), as_tensor(weight)
    x, padding = resolve_padding(x, weight, stride, padding, dilation)
    function = Conv2dReLU(stride, padding, pool, dilation, groups)
    return function(x, weight) if bias is None else function(x, weight, as_tensor(bias))
