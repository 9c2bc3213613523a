"""Layout ops: ``flip roll tril triu diag diagonal repeat repeat_interleave tile split chunk
unflatten unfold narrow movedim swapaxes t mT meshgrid clone contiguous`` and the stacking
helpers ``hstack vstack dstack column_stack atleast_1d/2d/3d``.

Each moves, copies or selects elements without arithmetic, so every backward routes ``gy``
back to the positions the forward read (summing where one input element fed several outputs:
``repeat``, ``unfold``'s overlapping windows). Ops that are a reshape, a permutation or an
index of another op (``unflatten``, ``movedim``, ``narrow``, ``meshgrid``) are written with
those ops, so they have no Function of their own.

Every backward is linear in ``gy`` and is itself one of these ops or a companion Function
(``DiagonalIntoZeros``, ``SumRepeats``, ``FoldWindows``) run through ``dual.apply``, whose
own backward is the forward op again: with ``create_graph=True`` the gradients are graphs,
differentiable to any order.

Example:
    >>> import numnet
    >>> x = numnet.arange(6).reshape(2, 3)
    >>> x.flip(1)
    tensor([[2, 1, 0],
            [5, 4, 3]])
    >>> [tuple(c.shape) for c in numnet.arange(5).chunk(3)]
    [(2,), (2,), (1,)]
"""

from __future__ import annotations

import warnings

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor, normalize_dims
from numnet.ops.shape import Cat, Permute, _shape_args, cat, getitem, shape_op, transpose
from numnet.tensor import Tensor


def _dim(dim: int, ndim: int) -> int:
    """One ``dim`` (negatives allowed) as an axis; IndexError when out of range."""
    return normalize_dims(int(dim), ndim)[0]


def _dim_list(dims, ndim: int, name: str) -> tuple:
    """``dims`` as axes in the given order; RuntimeError on a repeated dim (PyTorch's)."""
    dims = (dims,) if isinstance(dims, (int, numpy.integer)) else tuple(dims)
    axes = tuple(_dim(d, ndim) for d in dims)
    for i, axis in enumerate(axes):
        if axis in axes[:i]:
            raise RuntimeError(f"{name}: dim {axis} appears multiple times in the list of dims")
    return axes


# ---------------------------------------------------------------------- flip and roll
class Flip(Function):
    """``y = x`` reversed along ``dims``;  ``gx = gy`` reversed along the same dims (``Flip``
    again)."""

    saved_inputs = (None,)

    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        return numpy.flip(x, self.dims) if self.dims else x

    def backward(self, gy):
        return dual.apply(Flip(self.dims), gy)


def flip(input, dims) -> Tensor:  # noqa: A002 - PyTorch's name
    """Reverse the order of elements along ``dims`` (PyTorch's ``flip``)."""
    x = as_tensor(input)
    return Flip(_dim_list(dims, x.ndim, "flip"))(x)


def flip_method(self, *dims) -> Tensor:
    """``x.flip(0, 1)`` and ``x.flip((0, 1))``."""
    return flip(self, _shape_args(dims))


class Roll(Function):
    """``y = x`` shifted cyclically by ``shifts`` along ``dims`` (all elements, flattened,
    when ``dims`` is None);  ``gx = gy`` shifted back by ``-shifts`` (``Roll`` again)."""

    saved_inputs = (None,)

    def __init__(self, shifts, dims):
        self.shifts, self.dims = shifts, dims

    def forward(self, x):
        return numpy.roll(x, self.shifts, self.dims)

    def backward(self, gy):
        return dual.apply(Roll(tuple(-s for s in self.shifts), self.dims), gy)


def roll(input, shifts, dims=None) -> Tensor:  # noqa: A002
    """Shift elements cyclically: ``y[(i + shift) % n] = x[i]`` along each dim."""
    x = as_tensor(input)
    shifts = (int(shifts),) if isinstance(shifts, (int, numpy.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts {shifts} need dims (one shift per dim)")
        return Roll(shifts, None)(x)
    dims = (dims,) if isinstance(dims, (int, numpy.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    return Roll(shifts, tuple(_dim(d, x.ndim) for d in dims))(x)


# ---------------------------------------------------------------------- triangles, diagonals
class Tril(Function):
    """``y = x`` with the elements above diagonal ``k`` of the last two dims set to 0;
    ``gx = tril(gy, k)`` (``Triu``: below, ``triu``)."""

    saved_inputs = (None,)
    keep = staticmethod(numpy.tril)

    def __init__(self, diagonal: int = 0):
        self.k = int(diagonal)

    def forward(self, x):
        if x.ndim < 2:
            raise RuntimeError(f"{type(self).__name__.lower()}: input tensor must have at "
                               f"least 2 dimensions, got {x.ndim}")
        return self.keep(x, self.k)

    def backward(self, gy):
        return dual.apply(type(self)(self.k), gy)


class Triu(Tril):
    """``y = x`` with the elements below diagonal ``k`` set to 0;  ``gx = triu(gy, k)``."""

    keep = staticmethod(numpy.triu)


def tril(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The lower triangle (on and below ``diagonal``) of the last two dims; the rest 0."""
    return Tril(diagonal)(as_tensor(input))


def triu(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The upper triangle (on and above ``diagonal``) of the last two dims; the rest 0."""
    return Triu(diagonal)(as_tensor(input))


class Diagonal(Function):
    """``y[..., i] = x[..., i, i + offset]`` over dims ``dim1, dim2`` (the diagonal becomes
    the last dim);  ``gx`` is zero off that diagonal and ``gy`` on it
    (``DiagonalIntoZeros``)."""

    saved_inputs = (None,)

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = int(offset), dim1, dim2

    def forward(self, x):
        self.in_shape = x.shape
        return numpy.diagonal(x, self.offset, self.dim1, self.dim2)

    def backward(self, gy):
        return dual.apply(DiagonalIntoZeros(self.offset, self.dim1, self.dim2, self.in_shape),
                          gy)


class DiagonalIntoZeros(Function):
    """``y = zeros(shape)`` with ``x`` on diagonal ``offset`` over dims ``dim1, dim2`` (``x``'s
    last dim runs along it): the gradient of ``Diagonal``;  ``gx = Diagonal(gy)``."""

    saved_inputs = (None,)

    def __init__(self, offset: int, dim1: int, dim2: int, shape):
        self.offset, self.dim1, self.dim2, self.shape = offset, dim1, dim2, shape

    def forward(self, x):
        y = numpy.zeros(self.shape, x.dtype)
        i = numpy.arange(x.shape[-1])
        rows, cols = i + max(-self.offset, 0), i + max(self.offset, 0)
        numpy.moveaxis(y, (self.dim1, self.dim2), (-2, -1))[..., rows, cols] = x
        return y

    def backward(self, gy):
        return dual.apply(Diagonal(self.offset, self.dim1, self.dim2), gy)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The diagonal ``offset`` (above the main one if > 0) of the matrices over ``dim1,
    dim2``, appended as the last dim."""
    x = as_tensor(input)
    dim1, dim2 = _dim_list((dim1, dim2), x.ndim, "diagonal")
    return Diagonal(offset, dim1, dim2)(x)


class DiagEmbed(Function):
    """``y = `` the square matrix with ``x`` on diagonal ``k`` (``torch.diag`` of a 1-D
    tensor);  ``gx`` is that diagonal of ``gy`` (``Diagonal``)."""

    saved_inputs = (None,)

    def __init__(self, diagonal: int = 0):
        self.k = int(diagonal)

    def forward(self, x):
        return numpy.diag(x, self.k)

    def backward(self, gy):
        return dual.apply(Diagonal(self.k, 0, 1), gy)


def diag(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """1-D input: the square matrix with it on diagonal ``diagonal``; 2-D input: that
    diagonal as a 1-D tensor (PyTorch's ``diag``)."""
    x = as_tensor(input)
    if x.ndim == 1:
        return DiagEmbed(diagonal)(x)
    if x.ndim == 2:
        return Diagonal(diagonal, 0, 1)(x)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


# ---------------------------------------------------------------------- repeating
class Repeat(Function):
    """``y = x`` tiled ``sizes[i]`` times along dim i (PyTorch's ``repeat``, NumPy's
    ``tile``; ``x`` gets leading dims of length 1 when ``sizes`` is longer);
    ``gx = `` the sum of ``gy`` over the copies (a reshape and a sum)."""

    saved_inputs = (None,)

    def __init__(self, sizes):
        self.sizes = tuple(int(n) for n in sizes)

    def forward(self, x):
        if len(self.sizes) < x.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               f"number of dimensions of tensor: {self.sizes} for shape "
                               f"{tuple(x.shape)}")
        if any(n < 0 for n in self.sizes):
            raise RuntimeError(f"repeat: the repeats {self.sizes} must not be negative")
        self.in_shape = x.shape
        return numpy.tile(x, self.sizes)

    def backward(self, gy):
        padded = (1,) * (len(self.sizes) - len(self.in_shape)) + tuple(self.in_shape)
        split = [n for pair in zip(self.sizes, padded) for n in pair]
        gx = dual.sum(gy.reshape(tuple(split)), axis=tuple(range(0, len(split), 2)))
        return gx.reshape(self.in_shape)


def repeat(input, *sizes) -> Tensor:  # noqa: A002
    """``Tensor.repeat``: copy the whole tensor ``sizes[i]`` times along dim i (unlike
    ``numpy.repeat``, which repeats each element; that is ``repeat_interleave``)."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    return Repeat(_shape_args(sizes))(as_tensor(input))


def tile(input, dims) -> Tensor:  # noqa: A002
    """``repeat`` with ``dims`` padded with leading 1s to the input's ndim."""
    x = as_tensor(input)
    dims = (int(dims),) if isinstance(dims, (int, numpy.integer)) else tuple(dims)
    return Repeat((1,) * (x.ndim - len(dims)) + dims)(x)


def tile_method(self, *dims) -> Tensor:
    """``x.tile(2, 3)`` and ``x.tile((2, 3))``."""
    return tile(self, _shape_args(dims))


class RepeatInterleave(Function):
    """``y = numpy.repeat(x, repeats, axis)``: element i of ``x`` along ``axis`` repeated
    ``repeats[i]`` times;  ``gx[i] = `` the sum of its copies' ``gy`` (``SumRepeats``)."""

    saved_inputs = (None,)

    def __init__(self, repeats, axis: int):
        self.repeats, self.axis = repeats, axis

    def forward(self, x):
        self.in_shape = x.shape
        return numpy.repeat(x, self.repeats, self.axis)

    def backward(self, gy):
        return dual.apply(SumRepeats(self.repeats, self.axis, self.in_shape), gy)


class SumRepeats(Function):
    """``y[i] = `` the sum of the ``repeats[i]`` consecutive elements of ``x`` along ``axis``
    that ``repeat_interleave`` made of element i (0 for none); ``y`` has ``shape``: the
    gradient of ``RepeatInterleave``;  ``gx = RepeatInterleave(gy)``."""

    saved_inputs = (None,)

    def __init__(self, repeats, axis: int, shape):
        self.repeats, self.axis, self.shape = repeats, axis, shape

    def forward(self, x):
        counts = numpy.broadcast_to(self.repeats, (self.shape[self.axis],))
        y = numpy.zeros(self.shape, x.dtype)
        taken = counts > 0
        if x.shape[self.axis]:
            starts = numpy.cumsum(counts[taken]) - counts[taken]
            sums = numpy.add.reduceat(x, starts, axis=self.axis)
            numpy.moveaxis(y, self.axis, 0)[taken] = numpy.moveaxis(sums, self.axis, 0)
        return y

    def backward(self, gy):
        return dual.apply(RepeatInterleave(self.repeats, self.axis), gy)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:  # noqa: A002
    """Repeat each element ``repeats`` times (an int, or one count per element along
    ``dim``); ``dim=None`` flattens first. ``repeat_interleave(counts)`` alone gives
    ``arange(len(counts))`` repeated by ``counts`` (int64)."""
    if repeats is None:
        counts = as_tensor(input).data
        return Tensor(numpy.repeat(numpy.arange(counts.size), counts.reshape(-1)), _raw=True)
    x = as_tensor(input)
    if dim is None:
        x, axis = shape_op(x, (-1,)), 0
    else:
        axis = _dim(dim, x.ndim)
    if isinstance(repeats, Tensor):
        counts = repeats.data
        if counts.dtype.kind not in "iu":
            raise RuntimeError(f"repeat_interleave: repeats must be an integer tensor, got "
                               f"{counts.dtype}")
        counts = counts.reshape(-1).astype(numpy.int64)
        if counts.size not in (1, x.shape[axis]):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.size} and input.size({axis}) = "
                               f"{x.shape[axis]}")
        repeats = counts if counts.size > 1 else int(counts[0])
    else:
        repeats = int(repeats)
    if numpy.any(numpy.asarray(repeats) < 0):
        raise RuntimeError("repeats can not be negative")
    return RepeatInterleave(repeats, axis)(x)


# ---------------------------------------------------------------------- splitting
class Split(Function):
    """``(y_0, y_1, ...) = `` consecutive pieces of ``x`` along ``axis`` of lengths
    ``sizes``;  ``gx = cat(gy_0, gy_1, ...)`` (``Cat``; a piece that gets no gradient
    contributes zeros)."""

    saved_inputs = (None,)

    def __init__(self, sizes, axis: int):
        self.sizes, self.axis = tuple(sizes), axis

    def forward(self, x):
        bounds = numpy.cumsum(self.sizes)[:-1]
        return tuple(numpy.split(x, bounds, axis=self.axis))

    def backward(self, *gys):
        return dual.apply(Cat(self.axis), *gys)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size_or_sections`` (an int: that length each, the last shorter)
    or of the listed lengths (which must add up to the dim's length), along ``dim``."""
    x = as_tensor(tensor)
    axis = _dim(dim, x.ndim)
    length = x.shape[axis]
    if isinstance(split_size_or_sections, (int, numpy.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and length):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"split_size {size} for dimension size {length}")
        pieces = max(-(-length // size) if size else 1, 1)
        sizes = [size] * (pieces - 1) + [length - size * (pieces - 1)]
    else:
        sizes = [int(n) for n in split_size_or_sections]
        if sum(sizes) != length or any(n < 0 for n in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                               f"{length} (input tensor's size at dimension {axis}), but got "
                               f"split_sizes={sizes}")
    return Split(sizes, axis)(x)


def chunk(input, chunks: int, dim: int = 0) -> tuple:  # noqa: A002
    """At most ``chunks`` pieces of ``ceil(n / chunks)`` elements along ``dim`` (PyTorch's
    rule: ``arange(6).chunk(4)`` gives 3 pieces of 2; an empty dim gives ``chunks`` empty
    pieces)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    x = as_tensor(input)
    length = x.shape[_dim(dim, x.ndim)]
    if length == 0:
        return split(x, [0] * chunks, dim)
    return split(x, -(-length // chunks), dim)


def unflatten(input, dim: int, sizes) -> Tensor:  # noqa: A002
    """Expand dim ``dim`` into ``sizes`` (one entry may be -1); a ``reshape``."""
    x = as_tensor(input)
    axis = _dim(dim, x.ndim)
    sizes = tuple(int(n) for n in sizes)
    known = int(numpy.prod([n for n in sizes if n != -1]))
    fits = (known * max(x.shape[axis] // max(known, 1), 1) == x.shape[axis]
            if -1 in sizes else known == x.shape[axis])
    if not fits or sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {axis} ({x.shape[axis]}) in the input tensor")
    return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])


class Unfold(Function):
    """``y[..., w, ..., j] = x[..., w * step + j, ...]``: the windows of length ``size``
    every ``step`` along ``axis`` (a new last dim holds each window; a strided view);
    ``gx`` sums ``gy`` back over every window that read an element (``FoldWindows``)."""

    saved_inputs = (None,)

    def __init__(self, axis: int, size: int, step: int):
        self.axis, self.size, self.step = axis, size, step

    def forward(self, x):
        self.in_shape = x.shape
        d = self.axis
        windows = (x.shape[d] - self.size) // self.step + 1
        shape = x.shape[:d] + (windows,) + x.shape[d + 1:] + (self.size,)
        strides = x.strides[:d] + (x.strides[d] * self.step,) + x.strides[d + 1:] \
            + (x.strides[d],)
        return numpy.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)

    def backward(self, gy):
        return dual.apply(FoldWindows(self.axis, self.size, self.step, self.in_shape), gy)


class FoldWindows(Function):
    """``y = zeros(shape)`` with each window ``x[..., w, ..., :]`` added back at
    ``w * step + j`` along ``axis`` (overlaps add up): the gradient of ``Unfold``;
    ``gx = Unfold(gy)``."""

    saved_inputs = (None,)

    def __init__(self, axis: int, size: int, step: int, shape):
        self.axis, self.size, self.step, self.shape = axis, size, step, shape

    def forward(self, x):
        y = numpy.zeros(self.shape, x.dtype)
        moved = numpy.moveaxis(y, self.axis, 0)
        windows = x.shape[self.axis]
        span = slice(None, self.step * (windows - 1) + 1, self.step)
        for j in range(self.size):  # one strided add per offset inside a window
            target = moved[j:][span]
            target += numpy.moveaxis(x[..., j], self.axis, 0)
        return y

    def backward(self, gy):
        return dual.apply(Unfold(self.axis, self.size, self.step), gy)


def unfold(input, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    """``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along
    ``dimension``; the windows' elements go into a new last dim."""
    x = as_tensor(input)
    if x.ndim == 0:
        if size > 1:
            raise RuntimeError(f"maximum size for tensor at dimension 0 is 1 but size is {size}")
        return shape_op(x, (1,))
    axis = _dim(dimension, x.ndim)
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not 0 <= size <= x.shape[axis]:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {x.shape[axis]} "
                           f"but size is {size}")
    return Unfold(axis, int(size), int(step))(x)


def narrow(input, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    """Elements ``start .. start + length - 1`` along ``dim`` (``start`` may be negative)."""
    x = as_tensor(input)
    axis = _dim(dim, x.ndim)
    start, n = int(start), x.shape[axis]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                         f"got {start})")
    start = start % n if start < 0 else start
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return getitem(x, (slice(None),) * axis + (slice(start, start + length),))


# ---------------------------------------------------------------------- moving dims
def movedim(input, source, destination) -> Tensor:  # noqa: A002
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    x = as_tensor(input)
    source = _dim_list(source, x.ndim, "movedim")
    destination = _dim_list(destination, x.ndim, "movedim")
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)}"
                           f" dims) should contain the same number of dims as destination "
                           f"({list(destination)} dims)")
    order = [d for d in range(x.ndim) if d not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return Permute(order)(x)


moveaxis = movedim


def swapaxes(input, axis0: int, axis1: int) -> Tensor:  # noqa: A002
    """``transpose(input, axis0, axis1)`` (NumPy's name)."""
    return transpose(input, axis0, axis1)


def swapdims(input, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """``transpose(input, dim0, dim1)``."""
    return transpose(input, dim0, dim1)


def t(input) -> Tensor:  # noqa: A002
    """The transpose of a matrix; a 0-d or 1-d tensor as it is (PyTorch's ``t``)."""
    x = as_tensor(input)
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return Permute(tuple(reversed(range(x.ndim))))(x)


def matrix_transpose(self) -> Tensor:
    """``Tensor.mT``: the last two dims swapped (a batch of matrices transposed)."""
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids: output i holds ``tensors[i]`` along dim i, broadcast over the others
    (``indexing='ij'``); ``'xy'`` swaps the first two dims (NumPy's default). As in PyTorch
    2.13, leaving out ``indexing`` warns and means ``'ij'``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    tensors = [as_tensor(x) for x in tensors]
    for x in tensors:
        if x.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got a tensor of shape {tuple(x.shape)}")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for x, axis in zip(tensors, axes):
        shape[axis] = x.numel()
    grids = []
    for x, axis in zip(tensors, axes):
        column = [1] * len(tensors)
        column[axis] = x.numel()
        grids.append(shape_op(x, column).expand(*shape))
    return tuple(grids)


# ---------------------------------------------------------------------- copies
class Clone(Function):
    """``y = `` a copy of ``x``;  ``gx = gy``."""

    saved_inputs = (None,)

    def forward(self, x):
        return numpy.array(x, copy=True, order="K")

    def backward(self, gy):
        return gy


class Contiguous(Clone):
    """``y = `` a C-contiguous copy of ``x``;  ``gx = gy``."""

    def forward(self, x):
        return numpy.ascontiguousarray(x)


def clone(input, *, memory_format=None) -> Tensor:  # noqa: A002
    """A copy with its own memory, still in the graph (``memory_format`` is accepted and has
    no effect: numnet keeps the input's layout)."""
    return Clone()(as_tensor(input))


def contiguous(self, memory_format=None) -> Tensor:
    """``self`` when its array is C-contiguous, else a contiguous ``clone``."""
    return self if self.data.flags.c_contiguous else Contiguous()(self)


def is_contiguous(self, memory_format=None) -> bool:
    """Whether the array is C-contiguous (row-major, no gaps), as PyTorch's strides say."""
    return bool(self.data.flags.c_contiguous)


# ---------------------------------------------------------------------- stacking helpers
def atleast_1d(*tensors):
    """Each input with at least 1 dim (a 0-d one becomes shape (1,))."""
    return _atleast(tensors, lambda x: shape_op(x, (1,)) if x.ndim == 0 else x)


def atleast_2d(*tensors):
    """Each input with at least 2 dims (leading dims of length 1 added)."""
    return _atleast(tensors, lambda x: shape_op(x, (1,) * (2 - x.ndim) + x.shape)
                    if x.ndim < 2 else x)


def atleast_3d(*tensors):
    """Each input with at least 3 dims: 0-d as (1, 1, 1), (n,) as (1, n, 1), (m, n) as
    (m, n, 1), as PyTorch (and NumPy) do."""
    def lift(x):
        if x.ndim == 0:
            return shape_op(x, (1, 1, 1))
        if x.ndim == 1:
            return shape_op(x, (1, x.shape[0], 1))
        if x.ndim == 2:
            return shape_op(x, x.shape + (1,))
        return x
    return _atleast(tensors, lift)


def _atleast(tensors, lift):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(lift(as_tensor(x)) for x in tensors[0])
    if len(tensors) == 1:
        return lift(as_tensor(tensors[0]))
    return tuple(lift(as_tensor(x)) for x in tensors)


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D inputs)."""
    tensors = atleast_1d(list(tensors))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0 after ``atleast_2d`` ((n,) rows become (1, n))."""
    return cat(atleast_2d(list(tensors)), 0)


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2 after ``atleast_3d``."""
    return cat(atleast_3d(list(tensors)), 2)


def column_stack(tensors) -> Tensor:
    """Stack as columns: 0-d and 1-d inputs become (n, 1) columns, then ``hstack``."""
    columns = []
    for x in map(as_tensor, tensors):
        columns.append(shape_op(x, (x.numel(), 1)) if x.ndim <= 1 else x)
    return cat(columns, 1)
