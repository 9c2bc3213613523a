"""Shape ops: ``reshape permute expand getitem unbind cat stack`` (view, flatten, squeeze,
unsqueeze and transpose are reshape and permute with other arguments; ``pad`` lives in
``ops/padding.py``)."""

from __future__ import annotations

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor, check_dim, normalize_dims, sum_to
from numnet.ops.padding import Pad, pad  # noqa: F401 - re-exported: pad was defined here
from numnet.tensor import Tensor


def _shape_args(shape):
    """``f(x, 2, 3)`` and ``f(x, (2, 3))`` both as ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Reshape(Function):
    """``y = x`` with a new shape (same elements, same order);  ``gx = gy`` reshaped back."""

    saved_inputs = (None,)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise RuntimeError(f"shape '{list(self.shape)}' is invalid for input of size "
                               f"{x.size} (shape {tuple(x.shape)})") from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


def reshape(x, *shape) -> Tensor:
    """Same elements in a new shape (one entry may be -1)."""
    return shape_op(x, _shape_args(shape))


def shape_op(x, new_shape) -> Tensor:
    """``x`` reshaped to ``new_shape`` (a sequence of ints), or ``x`` itself when it already
    has that shape: the one ``Reshape`` behind reshape, view, flatten, squeeze, unsqueeze."""
    new_shape = tuple(int(n) for n in new_shape)
    if new_shape == x.shape:
        return x
    return Reshape(new_shape)(as_tensor(x))


view = reshape


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    start, end = check_dim(start_dim, x.ndim), check_dim(end_dim, x.ndim)
    if x.ndim == 0:
        return shape_op(x, (1,))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
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
    dim = check_dim(dim, x.ndim + 1)
    return shape_op(x, x.shape[:dim] + (1,) + x.shape[dim:])


class Permute(Function):
    """``y = x`` with axes reordered by ``dims``;  ``gx = gy`` with the inverse order."""

    saved_inputs = (None,)

    def __init__(self, dims):
        self.dims = tuple(dims)

    def forward(self, x):
        if sorted(d % max(x.ndim, 1) for d in self.dims) != list(range(x.ndim)):
            raise RuntimeError(f"permute: dims {self.dims} do not match a tensor of "
                               f"{x.ndim} dimensions")
        return numpy.transpose(x, self.dims)

    def backward(self, gy):
        return dual.transpose(gy, tuple(numpy.argsort([d % gy.ndim for d in self.dims])))


def permute(x, *dims) -> Tensor:
    """Reorder the dims."""
    x = as_tensor(x)
    dims = _shape_args(dims)
    for d in dims:
        check_dim(d, x.ndim)
    return Permute(dims)(x)


def transpose(x, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    dim0, dim1 = check_dim(dim0, x.ndim), check_dim(dim1, x.ndim)
    if x.ndim == 0:
        return shape_op(x, ())
    order = list(range(x.ndim))
    order[dim0], order[dim1] = order[dim1], order[dim0]
    return Permute(order)(as_tensor(x))


class Expand(Function):
    """``y = x`` broadcast to ``shape`` (``-1`` keeps a size);  ``gx = sum_to(gy, x.shape)``."""

    saved_inputs = (None,)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        lead = len(self.shape) - x.ndim
        shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(self.shape))
        try:
            return numpy.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"expand: the shape {tuple(x.shape)} cannot be expanded to "
                               f"{self.shape}") from None

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


def expand(x, *sizes) -> Tensor:
    """Broadcast to ``sizes`` without copying (-1 keeps a size)."""
    return Expand(_shape_args(sizes))(as_tensor(x))


def broadcast_to(x, shape_) -> Tensor:
    """Broadcast to ``shape_``."""
    return Expand(tuple(shape_))(as_tensor(x))


def _index_part(part):
    """One part of an index as a slice, None, Ellipsis, int, bool or an array (a Tensor's
    data; a 0-d integer array is an int and a 0-d bool array a bool, as PyTorch has them)."""
    if isinstance(part, Tensor):
        part = part.data
    if isinstance(part, (bool, numpy.bool_)):
        return bool(part)
    if isinstance(part, (int, numpy.integer)):
        return int(part)
    if part is None or part is Ellipsis or isinstance(part, slice):
        return part
    array = numpy.asarray(part)
    if array.ndim == 0 and array.dtype == numpy.bool_:
        return bool(array)
    if array.ndim == 0 and array.dtype.kind in "iu":
        return int(array)
    if array.dtype != numpy.bool_ and array.dtype.kind not in "iu" and array.size:
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return array if array.size or array.dtype == numpy.bool_ else array.astype(numpy.int64)


def torch_index(index, ndim: int):
    """``index`` in PyTorch's meaning as ``(basic, advanced)``, so that ``x[index]`` is
    ``x[basic][advanced]`` (``advanced`` None when there are no index arrays).

    PyTorch applies ints (``select``), slices and None first, left to right, and only then
    indexes the result with the arrays, by NumPy's rule for arrays alone (adjacent arrays keep
    their place, separated ones go first). So an int does not count as an index array:
    ``zeros(2, 3, 4)[0, :, [0, 1]]`` is (3, 2), where NumPy's one-step rule gives (2, 3).
    A bool scalar adds a dim of length 1 that an index array [0] (True) or [] (False) picks.
    """
    parts = [_index_part(p) for p in (index if isinstance(index, tuple) else (index,))]
    used = 0
    for part in parts:
        if isinstance(part, numpy.ndarray):
            used += part.ndim if part.dtype == numpy.bool_ else 1
        elif isinstance(part, (int, slice)) and not isinstance(part, bool):
            used += 1
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, advanced, any_array = [], [], False
    for part in parts:
        if part is Ellipsis:  # as in PyTorch, a second ``...`` stands for no dims
            basic.extend([slice(None)] * (ndim - used))
            advanced.extend([slice(None)] * (ndim - used))
            used = ndim
        elif isinstance(part, bool):
            basic.append(None)
            advanced.append(numpy.zeros(int(part), numpy.int64))
            any_array = True
        elif isinstance(part, int):
            basic.append(part)
        elif isinstance(part, numpy.ndarray):
            width = part.ndim if part.dtype == numpy.bool_ else 1
            basic.extend([slice(None)] * width)
            advanced.append(part)
            any_array = True
        else:
            basic.append(part)
            advanced.append(slice(None))
    return tuple(basic), (tuple(advanced) if any_array else None)


class GetItem(Function):
    """``y = x[index]`` (slices, integers, None, ..., integer arrays, boolean masks), with
    PyTorch's rule where ints and index arrays mix (see ``torch_index``).

    ``gx`` is zero except at the selected positions, where ``gy`` is *added*: an element
    selected twice by an integer array gets the sum of both gradients (``numpy.add.at``):
    ``IndexIntoZeros``, whose own gradient is this op again.
    """

    saved_inputs = (None,)

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        self.basic, self.advanced = torch_index(self.index, x.ndim)
        y = x[self.basic]
        return y if self.advanced is None else y[self.advanced]

    def backward(self, gy):
        return dual.apply(IndexIntoZeros(self.index, self.in_shape), gy)


class IndexIntoZeros(Function):
    """``y = zeros(shape)`` with ``x`` added at ``[index]`` (the gradient of ``x[index]``);
    ``gx = gy[index]``."""

    saved_inputs = (None,)

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        basic, advanced = torch_index(self.index, len(self.shape))
        y = numpy.zeros(self.shape, dtype=g.dtype)
        if advanced is None:
            y[basic] = g
        else:
            numpy.add.at(y[basic], advanced, g)
        return y

    def backward(self, gy):
        return dual.apply(GetItem(self.index), gy)


def getitem(x, index) -> Tensor:
    """``x[index]``: slices, integers, integer arrays and boolean masks."""
    return GetItem(index)(as_tensor(x))


class Unbind(Function):
    """``(y_0, ..., y_{n-1}) = (x[0], ..., x[n-1])`` along ``dim``;  ``gx = stack(gy_i)``.

    NOTE: one op with n outputs instead of n ``getitem`` ops: each getitem's backward would
    allocate a zero array the size of the whole input, O(n**2) work for an RNN over n time
    steps; this backward is one ``stack``.
    """

    saved_inputs = (None,)

    def __init__(self, dim: int = 0):
        self.dim = dim

    def forward(self, x):
        return tuple(numpy.moveaxis(x, self.dim, 0))

    def backward(self, *gys):
        return dual.apply(Stack(self.dim), *gys)


def unbind(x, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, as a tuple of tensors (one differentiable op)."""
    out = Unbind(dim)(as_tensor(x))
    return out if isinstance(out, tuple) else (out,)


class Cat(Function):
    """``y = concatenate(xs, dim)``;  each ``gx`` is its slice of ``gy``."""

    saved_inputs = ()

    def __init__(self, dim: int = 0):
        self.dim = dim

    def forward(self, *xs):
        if not xs:
            raise RuntimeError("cat expects a non-empty list of tensors")
        self.sizes = [x.shape[self.dim] for x in xs]
        try:
            return numpy.concatenate(xs, axis=self.dim)
        except ValueError as error:
            shapes = [tuple(x.shape) for x in xs]
            raise RuntimeError(f"cat along dim {self.dim}: shapes {shapes} do not fit "
                               f"({error})") from None

    def backward(self, gy):
        if dual.is_graph(gy):
            return tuple(gy.split(self.sizes, dim=self.dim))
        bounds = numpy.cumsum(self.sizes)[:-1]
        return tuple(numpy.split(gy, bounds, axis=self.dim))


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    check_dim(dim, tensors[0].ndim)
    return Cat(dim)(*tensors)


concatenate = cat


class Stack(Function):
    """``y = stack(xs, dim)`` (a new axis);  each ``gx`` is ``gy`` indexed along ``dim``."""

    saved_inputs = ()

    def __init__(self, dim: int = 0):
        self.dim = dim

    def forward(self, *xs):
        if not xs:
            raise RuntimeError("stack expects a non-empty list of tensors")
        try:
            return numpy.stack(xs, axis=self.dim)
        except ValueError:
            shapes = [tuple(x.shape) for x in xs]
            raise RuntimeError(f"stack expects each tensor to be equal size, got {shapes}") \
                from None

    def backward(self, gy):
        gxs = dual.apply(Unbind(self.dim), gy)
        return gxs if isinstance(gxs, tuple) else (gxs,)


def stack(tensors, dim: int = 0) -> Tensor:
    """Stack along a new dim."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    check_dim(dim, tensors[0].ndim + 1)
    return Stack(dim)(*tensors)
