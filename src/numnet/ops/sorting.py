"""Sorting and order statistics: ``sort argsort msort topk kthvalue median``.

Each picks elements by position, so its backward writes ``gy`` back to the positions it
picked (``indexing.Gather`` with indices that never repeat in a slice). ``median`` over all
elements splits its gradient evenly among the elements equal to it, as PyTorch's does.

Ties: the sort here is always stable (equal elements keep their order; NaN sorts as the
largest value, as in PyTorch). That is PyTorch's order for ``stable=True``; for
``stable=False`` PyTorch leaves the order of ties unspecified (its CPU sort keeps it for up
to 16 elements), and for ``topk`` and ``kthvalue`` it picks among tied elements by its
partition algorithm, so indices of ties can differ from PyTorch's there (the values never).
"""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import return_types
from numnet.ops._aliases import dim_aliases
from numnet.ops._util import as_tensor, normalize_dims
from numnet.ops.indexing import Gather
from numnet.ops.shape import squeeze
from numnet.tensor import Tensor


def _order(data: numpy.ndarray, axis: int, descending: bool) -> numpy.ndarray:
    """The stable sorting permutation along ``axis`` (int64); descending keeps ties in their
    original order too (sort the reversed array, reverse the result, map the positions)."""
    if data.ndim == 0:
        return numpy.zeros((), dtype=numpy.int64)
    if not descending:
        return numpy.argsort(data, axis=axis, kind="stable").astype(numpy.int64, copy=False)
    n = data.shape[axis]
    reversed_order = numpy.argsort(numpy.flip(data, axis), axis=axis, kind="stable")
    return numpy.flip(n - 1 - reversed_order, axis).astype(numpy.int64, copy=False)


def _pick(x: Tensor, axis: int, index: numpy.ndarray) -> Tensor:
    """``x`` at ``index`` along ``axis``, differentiably (gy goes back to those positions)."""
    return Gather(axis, index, unique=True)(x)


def _size(x: Tensor, axis: int) -> int:
    return x.shape[axis] if x.ndim else 1


@dim_aliases
def sort(input, dim: int = -1, descending: bool = False, *,  # noqa: A002 - PyTorch's name
         stable: bool = False):
    """The named tuple ``(values, indices)`` of ``input`` sorted along ``dim``, like
    ``torch.sort``; the sort is always stable (see the module's note on ties).

    Example:
        >>> import numnet
        >>> numnet.sort(numnet.tensor([3.0, 1.0, 2.0]), descending=True)
        sort(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
    """
    x = as_tensor(input)
    axis = normalize_dims(dim, x.ndim)[0]
    index = _order(x.data, axis, descending)
    return return_types.sort(_pick(x, axis, index), Tensor(index, _raw=True))


@dim_aliases
def argsort(input, dim: int = -1, descending: bool = False, *,  # noqa: A002 - PyTorch's name
            stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    data = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    axis = normalize_dims(dim, data.ndim)[0]
    return Tensor(_order(data, axis, descending), _raw=True)


def msort(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` sorted along its first dim: ``sort(input, dim=0).values``."""
    return sort(input, dim=0).values


@dim_aliases
def topk(input, k: int, dim: int = -1, largest: bool = True,  # noqa: A002 - PyTorch's name
         sorted: bool = True):  # noqa: A002 - PyTorch's name
    """The named tuple ``(values, indices)`` of the ``k`` largest (``largest=False``:
    smallest) elements along ``dim``, like ``torch.topk``; always in sorted order (PyTorch
    leaves the order unspecified for ``sorted=False``).

    Example:
        >>> import numnet
        >>> numnet.topk(numnet.tensor([1.0, 5.0, 3.0, 4.0]), 2).indices
        tensor([1, 3])
    """
    x = as_tensor(input)
    axis = normalize_dims(dim, x.ndim)[0]
    if not 0 <= k <= _size(x, axis):
        raise RuntimeError(f"selected index k out of range (k = {k}, dim {axis} has size "
                           f"{_size(x, axis)})")
    index = _order(x.data, axis, descending=largest)
    if x.ndim:
        index = numpy.take(index, numpy.arange(k), axis=axis)
    return return_types.topk(_pick(x, axis, index), Tensor(index, _raw=True))


@dim_aliases
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):  # noqa: A002
    """The named tuple ``(values, indices)`` of the ``k``-th smallest element (k from 1)
    along ``dim``, like ``torch.kthvalue``.

    Example:
        >>> import numnet
        >>> numnet.kthvalue(numnet.tensor([[4.0, 1.0, 3.0]]), 2, dim=1)
        kthvalue(values=tensor([3.]), indices=tensor([2]))
    """
    x = as_tensor(input)
    axis = normalize_dims(dim, x.ndim)[0]
    if not 1 <= k <= _size(x, axis):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis} "
                           f"(k = {k}, size {_size(x, axis)})")
    index = _order(x.data, axis, descending=False)
    return _selected(return_types.kthvalue, x, axis, index, k - 1, keepdim)


def _selected(result_type, x: Tensor, axis: int, order: numpy.ndarray, position,
              keepdim: bool):
    """``(values, indices)`` of the element at sorted ``position`` (an int, or an array
    broadcasting along ``axis``) of each slice."""
    if x.ndim == 0:
        return result_type(_pick(x, 0, order), Tensor(order, _raw=True))
    position = numpy.broadcast_to(numpy.asarray(position), order.shape[:axis] + (1,)
                                  + order.shape[axis + 1:])
    index = numpy.take_along_axis(order, position, axis=axis)
    values = _pick(x, axis, index)
    if not keepdim:
        values, index = squeeze(values, axis), numpy.squeeze(index, axis)
    return result_type(values, Tensor(index, _raw=True))


class Median(Function):
    """``y = the lower median of all elements`` (the ``(n - 1) // 2``-th smallest; NaN if
    any is NaN);  ``gx = gy / k`` at the ``k`` elements equal to ``y``, 0 elsewhere (a
    constant mask: recorded, the gradient is linear in ``gy``)."""

    saved_inputs = (None,)

    def forward(self, x):
        self.x = x
        flat = numpy.sort(x.reshape(-1))
        if flat.size == 0:
            self.y = numpy.asarray(numpy.nan, dtype=x.dtype if x.dtype.kind == "f" else None)
        elif flat.dtype.kind == "f" and numpy.isnan(flat[-1]):
            self.y = numpy.asarray(numpy.nan, dtype=x.dtype)
        else:
            self.y = numpy.asarray(flat[(flat.size - 1) // 2])
        return self.y

    def backward(self, gy):
        hit = (self.x == self.y) | (numpy.isnan(self.x) & numpy.isnan(self.y))
        return gy * hit / gy.dtype.type(max(int(hit.sum()), 1))


@dim_aliases
def median(input, dim=None, keepdim: bool = False):  # noqa: A002 - PyTorch's name
    """The lower median (the ``(n - 1) // 2``-th smallest; NaN where there is a NaN), like
    ``torch.median``: of all elements when ``dim`` is None, else the named tuple
    ``(values, indices)`` along ``dim`` (of a tied median, the first in stable sorted order;
    of a NaN, the first NaN).

    Example:
        >>> import numnet
        >>> numnet.median(numnet.tensor([4.0, 1.0, 3.0, 2.0]))
        tensor(2.)
    """
    x = as_tensor(input)
    if dim is None:
        return Median()(x)
    axis = normalize_dims(dim, x.ndim)[0]
    n = _size(x, axis)
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    order = _order(x.data, axis, descending=False)
    position = (n - 1) // 2
    if x.data.dtype.kind == "f" and x.ndim:
        nans = numpy.isnan(x.data).sum(axis=axis, keepdims=True)
        position = numpy.where(nans > 0, n - nans, position)
    return _selected(return_types.median, x, axis, order, position, keepdim)
