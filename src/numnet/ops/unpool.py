"""``max_unpool2d`` and ``max_unpool1d``: the partial inverse of max pooling, which puts each
value back where ``max_pool2d(..., return_indices=True)`` found it and zeros elsewhere.

Default output size per spatial axis (the pooling's input size, up to the rows a floor
division dropped): ``(N - 1) S - 2P + F``; ``output_size`` may ask for up to ``S - 1`` more
or fewer.
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._grid import int_pair
from numnet.ops._util import as_tensor
from numnet.ops.pool import PoolGather
from numnet.ops.pool1d import as_2d, single
from numnet.ops.shape import squeeze


class MaxUnpool2d(Function):
    """``y.flat[plane, indices[plane, k]] = x[plane, k]`` for each (n, c) plane, 0 elsewhere;
    ``gx[plane, k] = gy.flat[plane, indices[plane, k]]`` (the indices get no gradient):
    ``PoolGather``, whose gradient is ``PoolScatter`` (PyTorch's gather and its
    scatter-add), so it is differentiable to any order."""

    saved_inputs = (None,)

    def __init__(self, indices, output_size):
        self.indices = indices
        self.output_size = output_size

    def forward(self, x):
        oh, ow = self.output_size
        lead = x.shape[:-2]
        index = self.indices.reshape(lead + (-1,))
        bad = (index < 0) | (index >= oh * ow)
        if bad.any():
            raise RuntimeError(f"Found an invalid max index: {index[bad][0]} (output "
                               f"volumes are of size {oh}x{ow}")
        y = numpy.zeros(lead + (oh * ow,), x.dtype)
        numpy.put_along_axis(y, index, x.reshape(index.shape), axis=-1)
        return y.reshape(lead + (oh, ow))

    def backward(self, gy):
        return dual.apply(PoolGather(self.indices, gy.shape), gy)


def unpool_output_size(x_shape, kernel, stride, padding, output_size) -> tuple:
    """The output's spatial size: ``(N - 1) S - 2P + F`` per axis, or ``output_size`` (its
    last ``len(kernel)`` entries) when that lies strictly within ``S`` of it (PyTorch's
    ``_unpool_output_size``)."""
    dims = len(kernel)
    default = [(x_shape[-dims + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(dims)]
    if output_size is None:
        return tuple(default)
    output_size = list(output_size)
    if len(output_size) == dims + 2:
        output_size = output_size[2:]
    if len(output_size) != dims:
        raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} "
                         f"elements, but it has a length of '{len(output_size)}'")
    for d in range(dims):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < output_size[d] < high:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {low} and {high})")
    return tuple(int(n) for n in output_size)


def _check(op: str, x, indices, dims: int) -> None:
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Input to {op} should be a {dims + 1}d or {dims + 2}d Tensor, but "
                           f"got a tensor with {x.ndim} dimensions.")
    if indices.dtype != numpy.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{indices.dtype}")
    if tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """Put each value of ``input`` at its ``indices`` in a zero (OH, OW) plane.

    Args:
        input: (N, C, H, W) or (C, H, W), e.g. a ``max_pool2d`` output.
        indices: int64, the shape of ``input``: ``h * OW + w`` in the output plane (what
            ``max_pool2d(..., return_indices=True)`` gives).
        kernel_size, stride, padding: the pooling's F, S (default F) and P, ints or pairs.
        output_size: (OH, OW) (or (N, C, OH, OW)); default ``(H - 1) S - 2P + F``.

    Returns:
        Tensor (N, C, OH, OW) (or (C, OH, OW)), the input's dtype.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> x = numnet.tensor([[[[1.0, 4.0], [3.0, 2.0]]]])
        >>> y, indices = F.max_pool2d(x, 2, return_indices=True)
        >>> F.max_unpool2d(y, indices, 2)
        tensor([[[[0., 4.],
                  [0., 0.]]]])
    """
    x = as_tensor(input)
    indices = as_tensor(indices)
    _check("max_unpooling2d", x, indices, 2)
    kernel = int_pair(kernel_size, "max_unpool2d: kernel_size", 1, TypeError, RuntimeError)
    stride = kernel if stride is None else int_pair(stride, "max_unpool2d: stride", 1,
                                                   TypeError, RuntimeError)
    padding = int_pair(padding, "max_unpool2d: padding", 0, TypeError, RuntimeError)
    size = unpool_output_size(x.shape, kernel, stride, padding, output_size)
    return MaxUnpool2d(indices.data, size)(x)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """1-D ``max_unpool2d``: (N, C, L) or (C, L) with int64 positions to (..., OL), OL
    ``(L - 1) S - 2P + F`` by default.

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> y, indices = F.max_pool1d(numnet.tensor([[1.0, 4.0, 3.0, 2.0]]), 2,
        ...                           return_indices=True)
        >>> F.max_unpool1d(y, indices, 2)
        tensor([[0., 4., 3., 0.]])
    """
    x = as_tensor(input)
    indices = as_tensor(indices)
    _check("max_unpooling1d", x, indices, 1)
    k = single(kernel_size, "max_unpool1d", "kernel_size")
    s = k if stride is None else single(stride, "max_unpool1d", "stride")
    p = single(padding, "max_unpool1d", "padding")
    (size,) = unpool_output_size(x.shape, (k,), (s,), (p,), output_size)
    x2 = as_2d("max_unpool1d", x)
    y = MaxUnpool2d(indices.data[..., None, :], (1, size))(x2)
    return squeeze(y, -2)
