"""Embedding lookup ``y = W[indices]`` (PyTorch's ``F.embedding``), and the in-place row
renormalisation that its ``max_norm`` applies first."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.ops.reduction import torch_dtype_name
from numnet.tensor import Tensor


class Embedding(Function):
    """``y[...] = W[indices[...]]``: rows of ``W`` (num_embeddings, D) picked by an integer
    tensor of any shape, y shaped ``indices.shape + (D,)``.

    ``gW[i] = sum of gy over the positions where indices == i`` (``numpy.add.at``), each
    term divided by the number of times ``i`` occurs in the batch with
    ``scale_grad_by_freq``; the row ``padding_idx`` gets no gradient: ``EmbeddingGrad``,
    whose own gradient is this lookup again.
    """

    saved_inputs = (None,)

    def __init__(self, indices: numpy.ndarray, padding_idx: int | None = None,
                 scale_grad_by_freq: bool = False):
        self.indices = indices
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, weight):
        self.num_embeddings = weight.shape[0]
        return weight[self.indices]

    def backward(self, gy):
        return dual.apply(EmbeddingGrad(self.indices, self.num_embeddings, self.padding_idx,
                                        self.scale_grad_by_freq), gy)


class EmbeddingGrad(Function):
    """``y = `` the gradient of ``Embedding`` for its upstream gradient ``x`` (shaped
    ``indices.shape + (D,)``): ``y[i] = sum of x / count_i over the positions where
    indices == i`` (``count_i = 1`` without ``scale_grad_by_freq``), ``y[padding_idx] = 0``;
    y is ``(num_embeddings, D)``.

    It is linear in ``x``, and its gradient is the adjoint map: the lookup
    ``gx[...] = gy[indices[...]] / count`` (``Embedding``), 0 where ``indices ==
    padding_idx``.

    NOTE: PyTorch 2.13's double backward (``embedding_dense_double_backward``) leaves out
    the ``1 / count`` of ``scale_grad_by_freq``, so it is not the derivative of its own
    backward (``gW`` has ``1 / count`` per term, its derivative in ``gy`` gets 1); numnet
    divides, and agrees with PyTorch whenever ``scale_grad_by_freq`` is False.
    """

    saved_inputs = (None,)

    def __init__(self, indices: numpy.ndarray, num_embeddings: int,
                 padding_idx: int | None = None, scale_grad_by_freq: bool = False):
        self.indices, self.num_embeddings = indices, num_embeddings
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq

    def forward(self, x):
        flat = self.indices.reshape(-1)
        rows = x.reshape(flat.size, -1)
        if self.scale_grad_by_freq:
            counts = numpy.bincount(flat, minlength=self.num_embeddings)
            rows = rows / counts[flat, None].astype(x.dtype)
        gW = numpy.zeros((self.num_embeddings, rows.shape[1]), x.dtype)
        numpy.add.at(gW, flat, rows)
        if self.padding_idx is not None:
            gW[self.padding_idx] = 0
        return gW

    def backward(self, gy):
        gx = dual.apply(Embedding(self.indices), gy)
        if self.scale_grad_by_freq:
            counts = numpy.bincount(self.indices.reshape(-1), minlength=self.num_embeddings)
            gx = gx / counts[self.indices][..., None].astype(gx.dtype)
        if self.padding_idx is not None:
            gx = dual.where((self.indices == self.padding_idx)[..., None], 0, gx)
        return gx


def _indices(input, num_embeddings: int) -> numpy.ndarray:
    data = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{torch_dtype_name(data.dtype)} instead (while checking "
                           f"arguments for embedding)")
    if data.size and (data.min() < 0 or data.max() >= num_embeddings):
        raise IndexError("index out of range in self")
    return data.astype(numpy.int64, copy=False)


def check_padding_idx(padding_idx, num_embeddings: int) -> int | None:
    """``padding_idx`` as a row in 0..num_embeddings-1 (negatives count from the end)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def embedding_renorm_(weight: Tensor, indices: numpy.ndarray, max_norm: float,
                      norm_type: float = 2.0) -> Tensor:
    """Scale in place each row of ``weight`` named in ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` by ``max_norm / (norm + 1e-7)`` (not recorded for autograd)."""
    rows = numpy.unique(indices)
    picked = weight.data[rows]
    if norm_type == numpy.inf:
        norms = numpy.abs(picked).max(axis=1)
    else:
        norms = (numpy.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    over = norms > max_norm
    scale = max_norm / (norms[over] + 1e-7)
    weight.data[rows[over]] = picked[over] * scale[:, None].astype(weight.dtype)
    return weight


def embedding(input, weight, padding_idx: int | None = None,  # noqa: A002 - PyTorch's name
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` named by the integers in ``input``, like ``F.embedding``.

    Args:
        input: int64 or int32 indices, any shape, each in 0..num_embeddings-1.
        weight: (num_embeddings, embedding_dim) the embedding matrix.
        padding_idx: a row that gets no gradient (negatives count from the end).
        max_norm: first renormalise, in place, every row used whose ``norm_type``-norm
            exceeds it to norm ``max_norm``.
        norm_type: p of that norm.
        scale_grad_by_freq: divide each row's gradient by how often it occurs in ``input``.
        sparse: sparse gradients (not implemented: NotImplementedError).

    Returns:
        ``input.shape + (embedding_dim,)``.

    Example:
        >>> import numnet
        >>> weight = numnet.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
        >>> embedding(numnet.tensor([[2, 0]]), weight)
        tensor([[[4., 5.],
                 [0., 1.]]])
    """
    if sparse:
        raise NotImplementedError("embedding with sparse=True (sparse gradients) is not "
                                  "implemented in numnet")
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got {weight.ndim}-D")
    indices = _indices(input, weight.shape[0])
    padding_idx = check_padding_idx(padding_idx, weight.shape[0])
    if max_norm is not None:
        embedding_renorm_(weight, indices, max_norm, norm_type)
    return Embedding(indices, padding_idx, scale_grad_by_freq)(weight)
