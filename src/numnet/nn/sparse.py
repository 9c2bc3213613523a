"""``Embedding``: a lookup table of learned vectors, with PyTorch's arguments, parameter name
(``weight``), initialization N(0, 1) and ``from_pretrained``."""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.ops.embedding import check_padding_idx, embedding
from numnet.tensor import Tensor


class Embedding(Module):
    """``y = W[x]``: row ``x`` of the weight (num_embeddings, embedding_dim) for each
    integer ``x`` of the input (one-hot ``x`` times ``W``, without making the one-hot).

    Default initialization (PyTorch's): ``W ~ N(0, 1)``, the ``padding_idx`` row zero.

    Args:
        num_embeddings: size of the vocabulary (rows of W).
        embedding_dim: size of each vector.
        padding_idx: a row that starts at zero and gets no gradient (negatives count from
            the end).
        max_norm: before each lookup, rows used whose ``norm_type``-norm exceeds it are
            renormalised in place to norm ``max_norm``.
        norm_type: p of that norm.
        scale_grad_by_freq: divide each row's gradient by how often it occurs in the batch.
        sparse: sparse gradients (not implemented: NotImplementedError).
        _weight: an initial weight (used as the parameter, not copied).
        _freeze: the weight does not require grad.
        device: 'cpu' (or None).
        dtype: the weight's dtype (default: numnet's default dtype).

    Shape:
        - input: int64 or int32 (*), any shape
        - output: (*, embedding_dim)

    Example:
        >>> import numnet
        >>> table = Embedding(10, 3)
        >>> table(numnet.tensor([[1, 2, 4], [4, 3, 9]])).shape
        (2, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, _weight=None,
                 _freeze: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        devices.check(device)
        if sparse:
            raise NotImplementedError("Embedding with sparse=True (sparse gradients) is not "
                                      "implemented in numnet")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = check_padding_idx(padding_idx, self.num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dtype = backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)
            self.weight = Parameter(numpy.empty((self.num_embeddings, self.embedding_dim),
                                                dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """``W ~ N(0, 1)``, then the ``padding_idx`` row zero (PyTorch's)."""
        nn_init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is ``embeddings`` (num_embeddings, embedding_dim),
        frozen (``requires_grad=False``) unless ``freeze=False``.

        Example:
            >>> import numnet
            >>> table = Embedding.from_pretrained(numnet.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> table(numnet.tensor([1])), table.weight.requires_grad
            (tensor([[3., 4.]]), False)
        """
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)
