"""Selecting and scattering along dims: ``gather scatter scatter_add scatter_reduce
index_select index_add masked_fill masked_select take take_along_dim`` (differentiable),
``nonzero`` and ``one_hot`` (int64, no gradient). Their in-place forms (``scatter_``,
``index_add_``, ...) are ``numnet.ops.inplace.inplace`` of these, attached in
``tensor_methods``.

``gather`` and the scatters pair up: ``y = gather(x, dim, index)`` reads
``y[i][j][k] = x[i][index[i][j][k]][k]`` (for ``dim=1``), and its backward writes ``gy``
back to those positions with ``scatter_add`` (an index may repeat, so the gradients add).
The positions are one NumPy fancy index, ``_grid(index, axis)``: ``index`` itself along
``axis``, ``arange`` along every other dim, so no op loops over elements in Python.

With ``create_graph=True`` each backward is recorded through its adjoint companion, run with
``dual.apply``: ``gather`` <-> ``scatter_add``, ``index_select`` <-> ``index_add``, and
``take``/``masked_select`` through ``getitem``'s ``IndexIntoZeros``; the masks and counts are
constants. So these gradients are differentiable to any order.
"""

from __future__ import annotations

import builtins
import numbers

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._aliases import dim_aliases
from numnet.ops._util import as_tensor, normalize_dims, sum_to
from numnet.ops.reduction import torch_dtype_name
from numnet.ops.shape import IndexIntoZeros, broadcast_to, reshape
from numnet.tensor import Tensor


def _grid(index: numpy.ndarray, axis: int) -> tuple:
    """The fancy index of the positions ``index`` names along ``axis``: ``index`` there,
    ``arange(index.shape[d])`` (broadcast) along every other dim ``d``."""
    if index.ndim == 0:
        return ()
    grid = list(numpy.indices(index.shape, sparse=True))
    grid[axis] = index
    return tuple(grid)


def _leading(shape: tuple) -> tuple:
    """The slice of an array's leading ``shape`` block (``src[:2, :3]`` for (2, 3))."""
    return tuple(slice(0, n) for n in shape)


def _index_array(name: str, index, allowed=("int64", "int32")) -> numpy.ndarray:
    data = index.data if isinstance(index, Tensor) else numpy.asarray(index)
    if data.dtype.name not in allowed:
        wanted = " or ".join(allowed) if len(allowed) > 1 else allowed[0]
        raise RuntimeError(f"{name}(): Expected dtype {wanted} for index, got "
                           f"{torch_dtype_name(data.dtype)}")
    return data.astype(numpy.int64, copy=False)


def _check_bounds(index: numpy.ndarray, axis: int, size: int) -> None:
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.min() if index.min() < 0 else index.max()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {size}")


def _check_along(name: str, x_shape: tuple, axis: int, index: numpy.ndarray,
                 src_shape: tuple | None = None) -> None:
    """PyTorch's rules for gather/scatter indices: as many dims as the input, no larger than
    it except along ``axis`` (and no larger than ``src`` anywhere), values in range."""
    if index.ndim != builtins.max(len(x_shape), 1) and not (index.ndim == 0 == len(x_shape)):
        raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions "
                           f"as input tensor ({index.ndim} != {len(x_shape)})")
    larger = any(i > n for d, (i, n) in enumerate(zip(index.shape, x_shape)) if d != axis)
    if src_shape is not None:
        larger = larger or any(i > n for i, n in zip(index.shape, src_shape))
    if larger:
        against = f" and to be no larger than src {list(src_shape)}" if src_shape else ""
        raise RuntimeError(f"{name}(): Expected index {list(index.shape)} to be no larger than "
                           f"self {list(x_shape)} apart from dimension {axis}{against}")
    _check_bounds(index, axis, x_shape[axis] if x_shape else 1)


def _scatter_add_into(target: numpy.ndarray, grid: tuple, values) -> numpy.ndarray:
    numpy.add.at(target, grid, values)
    return target


def _gathered(g, axis: int, index: numpy.ndarray, grid: tuple):
    """``g[grid]``: ``g`` at the positions ``index`` names along ``axis`` (``Gather``,
    recorded, when ``g`` is a Tensor)."""
    if dual.is_graph(g):
        return dual.apply(Gather(axis, index), g)
    return g[grid]


def _src_grad(gvalues, index_shape: tuple, src_shape: tuple):
    """``gsrc``: ``gvalues`` (shaped like the index) in the leading block of zeros shaped
    like ``src``, which may be larger than the index (``IndexIntoZeros`` when recorded)."""
    if dual.is_graph(gvalues):
        if tuple(src_shape) == tuple(index_shape):
            return gvalues
        return dual.apply(IndexIntoZeros(_leading(index_shape), src_shape), gvalues)
    gsrc = numpy.zeros(src_shape, dtype=gvalues.dtype)
    gsrc[_leading(index_shape)] = gvalues
    return gsrc


# ---------------------------------------------------------------------- gather
class Gather(Function):
    """``y[..., j, ...] = x[..., index[..., j, ...], ...]`` along ``axis``;
    ``gx = scatter_add(zeros, axis, index, gy)`` (``ScatterAdd``, whose ``gsrc`` is this
    op again).

    ``unique=True`` (indices never repeat in a slice, as after a sort) writes ``gy`` back
    with one assignment instead of adding.
    """

    saved_inputs = (None,)

    def __init__(self, axis: int, index: numpy.ndarray, unique: bool = False):
        self.axis, self.index, self.unique = axis, index, unique

    def forward(self, x):
        self.shape = x.shape
        self.grid = _grid(self.index, self.axis)
        return x[self.grid]

    def backward(self, gy):
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        if dual.is_graph(gy):
            return dual.apply(ScatterAdd(self.axis, self.index), gx, gy)
        if self.unique:
            gx[self.grid] = gy
            return gx
        return _scatter_add_into(gx, self.grid, gy)


@dim_aliases
def gather(input, dim: int, index, *, sparse_grad: bool = False) -> Tensor:  # noqa: A002
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for ``dim=1`` (likewise for any dim),
    like ``torch.gather``; ``index`` (int64 or int32) has input's number of dims and is no
    larger than it apart from ``dim``. ``sparse_grad`` is accepted and ignored.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> numnet.gather(x, 1, numnet.tensor([[0, 0], [1, 0]]))
        tensor([[1., 1.],
                [4., 3.]])
    """
    x = as_tensor(input)
    index = _index_array("gather", index)
    axis = normalize_dims(dim, x.ndim)[0]
    _check_along("gather", x.shape, axis, index)
    return Gather(axis, index)(x)


# ---------------------------------------------------------------------- scatter
class Scatter(Function):
    """``y = x`` with ``y[..., index[..., j, ...], ...] = src[..., j, ...]`` (or ``value``);
    ``gx = gy`` with the written positions 0 (this op with ``value=0``);
    ``gsrc = gather(gy, axis, index)`` (0 where ``src`` reaches beyond ``index``).

    With ``reduce`` ('add' or 'multiply', PyTorch's deprecated form of ``scatter_reduce``)
    the values are combined instead, and, as in PyTorch, there is no gradient.
    """

    saved_inputs = (None, None)

    def __init__(self, axis: int, index: numpy.ndarray, value=None, reduce: str | None = None):
        self.axis, self.index, self.value, self.reduce = axis, index, value, reduce

    def forward(self, x, src=None):
        self.grid = _grid(self.index, self.axis)
        values = numpy.asarray(self.value, dtype=x.dtype) if src is None else src[
            _leading(self.index.shape)]
        self.src_shape = None if src is None else src.shape
        y = x.copy()
        if self.reduce == "add":
            numpy.add.at(y, self.grid, values)
        elif self.reduce == "multiply":
            numpy.multiply.at(y, self.grid, values)
        else:
            y[self.grid] = values
        return y

    def backward(self, gy):
        if self.reduce is not None:
            raise RuntimeError("derivative for scatter with reduce= is not implemented (as in "
                               "PyTorch); use scatter_reduce")
        gx = dual.apply(Scatter(self.axis, self.index, value=0), gy)
        if self.src_shape is None:
            return gx
        gvalues = _gathered(gy, self.axis, self.index, self.grid)
        return gx, _src_grad(gvalues, self.index.shape, self.src_shape)


def _scatter_operands(name: str, input, dim, index, src):
    x = as_tensor(input)
    index = _index_array(name, index)
    axis = normalize_dims(dim, x.ndim)[0]
    if src is not None and src.data.dtype != x.data.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype "
                           f"({torch_dtype_name(x.data.dtype)} != "
                           f"{torch_dtype_name(src.data.dtype)})")
    _check_along(name, x.shape, axis, index, None if src is None else src.shape)
    return x, axis, index


@dim_aliases
def scatter(input, dim: int, index, src=None, *, value=None,  # noqa: A002 - PyTorch's name
            reduce: str | None = None) -> Tensor:
    """``input`` with ``src`` (or the number ``value``) written at ``index`` along ``dim``,
    like ``torch.scatter``: ``out[i][index[i][j][k]][k] = src[i][j][k]`` for ``dim=1``.

    A repeated index keeps one of its values (which one is unspecified, as in PyTorch).
    ``reduce='add'|'multiply'`` combines instead (no gradient, as in PyTorch).

    Example:
        >>> import numnet
        >>> numnet.scatter(numnet.zeros(2, 3), 1, numnet.tensor([[2], [0]]), 5.0)
        tensor([[0., 0., 5.],
                [5., 0., 0.]])
    """
    if src is not None and not isinstance(src, (Tensor, numpy.ndarray)):
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter() missing its source: give src (a Tensor) or value")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    src = None if src is None else as_tensor(src)
    x, axis, index = _scatter_operands("scatter", input, dim, index, src)
    function = Scatter(axis, index, value=value, reduce=reduce)
    return function(x) if src is None else function(x, src)


class ScatterAdd(Function):
    """``y = x``, then ``y[..., index[..., j, ...], ...] += src[..., j, ...]``;
    ``gx = gy``;  ``gsrc = gather(gy, axis, index)`` (``Gather``, whose gradient is this op
    again)."""

    saved_inputs = (None, None)

    def __init__(self, axis: int, index: numpy.ndarray):
        self.axis, self.index = axis, index

    def forward(self, x, src):
        self.grid = _grid(self.index, self.axis)
        self.src_shape = src.shape
        return _scatter_add_into(x.copy(), self.grid, src[_leading(self.index.shape)])

    def backward(self, gy):
        gvalues = _gathered(gy, self.axis, self.index, self.grid)
        return gy, _src_grad(gvalues, self.index.shape, self.src_shape)


@dim_aliases
def scatter_add(input, dim: int, index, src) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` plus ``src`` added at ``index`` along ``dim`` (repeats add up), like
    ``torch.scatter_add``.

    Example:
        >>> import numnet
        >>> numnet.scatter_add(numnet.zeros(3), 0, numnet.tensor([0, 2, 0]),
        ...                    numnet.tensor([1.0, 2.0, 3.0]))
        tensor([4., 0., 2.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' must be Tensor, not "
                        f"{type(src).__name__}")
    x, axis, index = _scatter_operands("scatter_add", input, dim, index, src)
    return ScatterAdd(axis, index)(x, src)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


class ScatterReduce(Function):
    """``y_p = reduce({x_p if include_self} + {src_j : index_j -> p})`` for every position
    ``p`` that ``index`` reaches (``y_p = x_p`` elsewhere), ``reduce`` one of
    sum, prod, mean, amax, amin. Gradients, for each member ``m`` of ``p``'s set S_p:

    - sum: ``gy_p``;  mean: ``gy_p / |S_p|``;
    - prod: ``gy_p * prod(S_p without m)`` (from the product of the nonzero members and
      their count of zeros, so zeros are exact);
    - amax, amin: ``gy_p / k`` for the ``k`` members equal to ``y_p``, 0 for the others.

    NOTE: with ``include_self=False``, PyTorch still counts ``x_p`` in ``k`` when it equals
    ``y_p`` (only its own gradient is then 0); numnet does the same, to match it.

    Recorded (``create_graph=True``): sum, mean, amax and amin are linear in ``gy`` with
    constant masks and counts (their second derivatives in ``x`` and ``src`` are 0, as in
    PyTorch); prod is PyTorch's formula in numnet ops (``_prod_graph``), which raises, as
    PyTorch's double backward does, when two zeros of ``src`` meet at one position.
    """

    saved_inputs = ("x", "src")
    saved_outputs = ("y",)

    def __init__(self, axis: int, index: numpy.ndarray, reduce: str, include_self: bool):
        self.axis, self.index = axis, index
        self.reduce, self.include_self = reduce, include_self

    def forward(self, x, src):
        grid = self.grid = _grid(self.index, self.axis)
        values = src[_leading(self.index.shape)]
        reached = numpy.zeros(x.shape, dtype=bool)
        reached[grid] = True
        self.self_member = numpy.ones(x.shape, dtype=bool) if self.include_self else ~reached
        self.x, self.src, self.src_shape = x, src, src.shape
        if self.reduce in ("sum", "mean"):
            y = numpy.where(self.self_member, x, 0).astype(x.dtype)
            numpy.add.at(y, grid, values)
            if self.reduce == "mean":
                self.count = self.self_member.astype(x.dtype)
                numpy.add.at(self.count, grid, 1)
                y = y / self.count if x.dtype.kind == "f" else y // self.count
        elif self.reduce == "prod":
            y = numpy.where(self.self_member, x, 1).astype(x.dtype)
            numpy.multiply.at(y, grid, values)
        else:
            ufunc = numpy.maximum if self.reduce == "amax" else numpy.minimum
            identity = _lowest(x.dtype) if self.reduce == "amax" else _highest(x.dtype)
            y = numpy.where(self.self_member, x, identity).astype(x.dtype)
            ufunc.at(y, grid, values)
        self.y = y
        return y

    def backward(self, gy):
        if self.reduce == "prod" and dual.is_graph(gy):
            return self._prod_graph(gy)
        grid, member = self.grid, self.self_member
        x = dual.constant(self.x)
        values = dual.constant(self.src)[_leading(self.index.shape)]
        if self.reduce == "sum":
            gx = dual.where(member, gy, 0)
            gvalues = _gathered(gy, self.axis, self.index, grid)
        elif self.reduce == "mean":
            g = gy / self.count
            gx = dual.where(member, g, 0)
            gvalues = _gathered(g, self.axis, self.index, grid)
        elif self.reduce == "prod":
            zeros = (member & (x == 0)).astype(numpy.int64)
            numpy.add.at(zeros, grid, values == 0)
            nonzero = numpy.where(member & (x != 0), x, 1).astype(x.dtype)
            numpy.multiply.at(nonzero, grid, numpy.where(values == 0, 1, values))

            def others(m, count, product):
                with numpy.errstate(divide="ignore", invalid="ignore"):
                    return numpy.where(count == 0, product / numpy.where(m == 0, 1, m),
                                       numpy.where((m == 0) & (count == 1), product, 0))

            gx = numpy.where(member, gy * others(x, zeros, nonzero), 0)
            gvalues = gy[grid] * others(values, zeros[grid], nonzero[grid])
        else:
            y = dual.constant(self.y)
            self_is = x == y
            values_are = values == y[grid]
            count = self_is.astype(gy.dtype)
            numpy.add.at(count, grid, values_are)
            g = gy / numpy.where(count == 0, 1, count)
            gx = dual.where(self_is & member, g, 0)
            gvalues = dual.where(values_are, _gathered(g, self.axis, self.index, grid), 0)
        gsrc = _src_grad(dual.astype(gvalues, gy.dtype), self.index.shape, self.src_shape)
        return dual.astype(gx, gy.dtype), gsrc

    def _prod_graph(self, gy):
        """The prod gradients recorded, by PyTorch's formula (``scatter_reduce_backward``),
        with ``m`` = ``x`` where ``x != 0``, else 1, and S the single zeros of ``src`` (the
        only zero of ``src`` at their position):

        ``gx = gy * scatter_reduce(m, src) / m`` (0 where ``x`` is not a member);
        ``gsrc = gather(gy * scatter_reduce(x, src with S set to 1))`` on S,
        ``gather(gy * y) / src`` elsewhere (``src`` 0 there: divided by 1).
        """
        x, src, y = self.x, self.src, self.y
        lead = _leading(self.index.shape)
        values = src if src.shape == self.index.shape else src[lead]
        zero = dual.constant(values) == 0
        zeros = numpy.zeros(x.shape, numpy.int64)
        numpy.add.at(zeros, self.grid, zero)
        zeros = zeros[self.grid]
        if self.needs_input_grad[1] and (zeros > 1).any():
            raise RuntimeError(f"{self.name}: double backward is not implemented "
                               "(create_graph=True through this op) for reduce='prod' where "
                               "more than one zero of src goes to the same position, as in "
                               "PyTorch")
        single = zero & (zeros == 1)
        masked = dual.where(dual.constant(x) == 0, 1, x)
        product = ScatterReduce(self.axis, self.index, "prod", self.include_self)(masked, src)
        gx = gy * product / masked
        if not self.include_self:
            gx = dual.where(self.self_member, gx, 0)
        in_src = numpy.zeros(src.shape, bool)
        in_src[lead] = single
        without = ScatterReduce(self.axis, self.index, "prod", self.include_self)(
            x, dual.where(in_src, 1, src))
        gvalues = dual.where(single, _gathered(gy * without, self.axis, self.index, self.grid),
                             _gathered(gy * y, self.axis, self.index, self.grid)
                             / dual.where(zero, 1, values))
        return gx, _src_grad(gvalues, self.index.shape, self.src_shape)


def _lowest(dtype: numpy.dtype):
    return -numpy.inf if dtype.kind == "f" else numpy.iinfo(dtype).min if dtype.kind in "iu" \
        else False


def _highest(dtype: numpy.dtype):
    return numpy.inf if dtype.kind == "f" else numpy.iinfo(dtype).max if dtype.kind in "iu" \
        else True


@dim_aliases
def scatter_reduce(input, dim: int, index, src, reduce: str, *,  # noqa: A002
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with ``reduce`` (sum, prod,
    mean, amax or amin), like ``torch.scatter_reduce``; ``include_self=False`` leaves
    ``input``'s own values out of every position ``index`` reaches. An integer mean rounds
    down, as PyTorch's does.

    Example:
        >>> import numnet
        >>> numnet.scatter_reduce(numnet.tensor([1.0, 2.0]), 0, numnet.tensor([0, 0, 1]),
        ...                       numnet.tensor([5.0, 3.0, 7.0]), "amax")
        tensor([5., 7.])
    """
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    src = as_tensor(src)
    x, axis, index = _scatter_operands("scatter_reduce", input, dim, index, src)
    return ScatterReduce(axis, index, reduce, include_self)(x, src)


# ---------------------------------------------------------------------- index_*
def _vector_index(name: str, index, axis: int, size: int) -> numpy.ndarray:
    data = _index_array(name, index)
    if data.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector, got {data.ndim} dims")
    data = data.reshape(-1)
    if data.size and (data.min() < 0 or data.max() >= size):
        bad = data.min() if data.min() < 0 else data.max()
        raise IndexError(f"{name}(): index {bad} is out of range for dimension {axis} with "
                         f"size {size}")
    return data


class IndexSelect(Function):
    """``y = x`` with the slices ``index`` along ``axis`` (in that order, repeats allowed);
    ``gx = index_add(zeros, axis, index, gy)`` (``IndexAdd``, whose ``gsource`` is this op
    again)."""

    saved_inputs = (None,)

    def __init__(self, axis: int, index: numpy.ndarray):
        self.axis, self.index = axis, index

    def forward(self, x):
        self.shape = x.shape
        return numpy.take(x, self.index, axis=self.axis)

    def backward(self, gy):
        gx = numpy.zeros(self.shape, dtype=gy.dtype)
        if dual.is_graph(gy):
            return dual.apply(IndexAdd(self.axis, self.index), gx, gy)
        numpy.add.at(gx, (slice(None),) * self.axis + (self.index,), gy)
        return gx


@dim_aliases
def index_select(input, dim: int, index) -> Tensor:  # noqa: A002 - PyTorch's name
    """The slices ``index`` (a vector of int64 or int32) of ``input`` along ``dim``, like
    ``torch.index_select``.

    Example:
        >>> import numnet
        >>> numnet.index_select(numnet.tensor([[1, 2, 3], [4, 5, 6]]), 1, numnet.tensor([2, 0]))
        tensor([[3, 1],
                [6, 4]])
    """
    x = as_tensor(input)
    if x.ndim == 0:
        _vector_index("index_select", index, 0, 1)
        return x
    axis = normalize_dims(dim, x.ndim)[0]
    return IndexSelect(axis, _vector_index("index_select", index, axis, x.shape[axis]))(x)


class IndexAdd(Function):
    """``y = x``, then ``y[..., index[j], ...] += alpha * source[..., j, ...]`` along ``axis``;
    ``gx = gy``;  ``gsource = alpha * index_select(gy, axis, index)`` (``IndexSelect``)."""

    saved_inputs = (None, None)

    def __init__(self, axis: int, index: numpy.ndarray, alpha=1):
        self.axis, self.index, self.alpha = axis, index, alpha

    def forward(self, x, source):
        self.source_shape = source.shape
        self.where = (slice(None),) * self.axis + (self.index,)
        y = x.copy()
        addend = source if self.alpha == 1 else source * x.dtype.type(self.alpha)
        numpy.add.at(y, self.where, addend.reshape(y[self.where].shape))
        return y

    def backward(self, gy):
        gsource = dual.apply(IndexSelect(self.axis, self.index), gy).reshape(self.source_shape)
        return gy, gsource if self.alpha == 1 else gsource * gy.dtype.type(self.alpha)


@dim_aliases
def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:  # noqa: A002
    """``input`` with ``alpha * source`` added to the slices ``index`` along ``dim``
    (repeats add up), like ``torch.index_add``.

    Example:
        >>> import numnet
        >>> numnet.index_add(numnet.zeros(3), 0, numnet.tensor([0, 0]), numnet.ones(2),
        ...                  alpha=2)
        tensor([4., 0., 0.])
    """
    x, source = as_tensor(input), as_tensor(source)
    axis = normalize_dims(dim, x.ndim)[0]
    index = _vector_index("index_add", index, axis, x.shape[axis] if x.ndim else 1)
    if source.data.dtype != x.data.dtype:
        raise RuntimeError(f"index_add(): self ({torch_dtype_name(x.data.dtype)}) and source "
                           f"({torch_dtype_name(source.data.dtype)}) must have the same "
                           f"scalar type")
    expected = x.shape[:axis] + (index.size,) + x.shape[axis + 1:]
    if source.shape != expected and not (source.ndim == 0 and index.size == 1):
        raise RuntimeError(f"index_add(): source of shape {tuple(source.shape)} does not fit "
                           f"{index.size} indices into self of shape {tuple(x.shape)} along "
                           f"dim {axis} (expected shape {expected})")
    if x.ndim == 0:  # as a vector of one element
        return reshape(IndexAdd(0, index, alpha)(reshape(x, (1,)), source), ())
    return IndexAdd(axis, index, alpha)(x, source)


# ---------------------------------------------------------------------- masks
def _bool_mask(name: str, mask) -> numpy.ndarray:
    data = mask.data if isinstance(mask, Tensor) else numpy.asarray(mask)
    if data.dtype != numpy.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype "
                           f"{torch_dtype_name(data.dtype)}")
    return data


class MaskedFill(Function):
    """``y = value where mask else x`` (broadcast);  ``gx = sum_to(gy where not mask)``;
    ``gvalue = sum(gy where mask)`` (for a 0-d tensor value)."""

    saved_inputs = (None, None)

    def __init__(self, mask: numpy.ndarray, value=None):
        self.mask, self.value = mask, value

    def forward(self, x, value=None):
        self.x_shape = x.shape
        self.value_dtype = None if value is None else value.dtype
        fill = numpy.asarray(self.value if value is None else value).astype(x.dtype)
        return numpy.where(self.mask, fill, x)

    def backward(self, gy):
        gx = sum_to(dual.astype(dual.where(self.mask, 0, gy), gy.dtype), self.x_shape)
        if self.value_dtype is None:
            return gx
        gvalue = dual.sum(dual.where(self.mask, gy, 0))
        if dual.is_graph(gvalue):
            return gx, dual.astype(gvalue, self.value_dtype)
        return gx, numpy.asarray(gvalue, dtype=self.value_dtype)


def masked_fill(input, mask, value) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` with ``value`` (a number or a 0-d tensor) where the bool ``mask``
    (broadcastable) is True, like ``torch.masked_fill``.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([1.0, 2.0, 3.0])
        >>> numnet.masked_fill(x, x > 1.5, 0.0)
        tensor([1., 0., 0.])
    """
    x = as_tensor(input)
    mask = _bool_mask("masked_fill", mask)
    mask = numpy.broadcast_to(mask, numpy.broadcast_shapes(mask.shape, x.shape))
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        return MaskedFill(mask)(x, value)
    if not isinstance(value, (numbers.Number, numpy.generic)):
        raise TypeError(f"masked_fill(): value must be a number or a 0-d Tensor, not "
                        f"{type(value).__name__}")
    return MaskedFill(mask, value)(x)


class MaskedSelect(Function):
    """``y = x[mask]`` (1-D, both broadcast);  ``gx = sum_to(zeros with gy at the mask)``
    (``IndexIntoZeros`` when recorded)."""

    saved_inputs = (None,)

    def __init__(self, mask: numpy.ndarray):
        self.mask = mask

    def forward(self, x):
        self.x_shape = x.shape
        return numpy.broadcast_to(x, self.mask.shape)[self.mask]

    def backward(self, gy):
        if dual.is_graph(gy):
            g = dual.apply(IndexIntoZeros(self.mask, self.mask.shape), gy)
        else:
            g = numpy.zeros(self.mask.shape, dtype=gy.dtype)
            g[self.mask] = gy
        return sum_to(g, self.x_shape)


def masked_select(input, mask) -> Tensor:  # noqa: A002 - PyTorch's name
    """The elements of ``input`` where the bool ``mask`` is True, as a 1-D tensor (both
    broadcast), like ``torch.masked_select``."""
    x = as_tensor(input)
    data = mask.data if isinstance(mask, Tensor) else numpy.asarray(mask)
    if data.dtype != numpy.bool_:
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got "
                           f"{torch_dtype_name(data.dtype)}")
    shape = numpy.broadcast_shapes(data.shape, x.shape)
    return MaskedSelect(numpy.broadcast_to(data, shape))(x)


def nonzero(input, *, as_tuple: bool = False):  # noqa: A002 - PyTorch's name
    """The indices of the nonzero elements: an int64 ``(n, input.ndim)`` tensor, or with
    ``as_tuple=True`` one int64 vector per dim (a 0-d input counts as 1-D), like
    ``torch.nonzero``.

    Example:
        >>> import numnet
        >>> numnet.nonzero(numnet.tensor([[1, 0], [0, 3]]))
        tensor([[0, 0],
                [1, 1]])
    """
    data = input.data if isinstance(input, Tensor) else numpy.asarray(input)
    if as_tuple:
        return tuple(Tensor(i.astype(numpy.int64), _raw=True)
                     for i in numpy.nonzero(numpy.atleast_1d(data)))
    return Tensor(numpy.argwhere(data).astype(numpy.int64), _raw=True)


# ---------------------------------------------------------------------- take
class Take(Function):
    """``y = x.flatten()[index]`` (shaped like index);  ``gx = zeros with gy added at index``
    (``IndexIntoZeros`` when recorded)."""

    saved_inputs = (None,)

    def __init__(self, index: numpy.ndarray):
        self.index = index

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(-1)[self.index]

    def backward(self, gy):
        size = int(numpy.prod(self.shape))
        if dual.is_graph(gy):
            return dual.apply(IndexIntoZeros(self.index, (size,)), gy).reshape(self.shape)
        gx = numpy.zeros(size, dtype=gy.dtype)
        numpy.add.at(gx, self.index, gy)
        return gx.reshape(self.shape)


def take(input, index) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input`` read as 1-D at ``index`` (int64; negative counts from the end), shaped like
    ``index``, like ``torch.take``."""
    x = as_tensor(input)
    data = index.data if isinstance(index, Tensor) else numpy.asarray(index)
    if data.dtype != numpy.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{torch_dtype_name(data.dtype)}")
    n = x.data.size
    if data.size and (data.min() < -n or data.max() >= n):
        bad = data.min() if data.min() < -n else data.max()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         f"elements.")
    return Take(numpy.where(data < 0, data + n, data))(x)


@dim_aliases
def take_along_dim(input, indices, dim=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """``gather`` with NumPy's ``take_along_axis`` rules, like ``torch.take_along_dim``:
    ``input`` and ``indices`` (int64) broadcast against each other except along ``dim``, and
    a negative index counts from the end; with ``dim=None`` both are read as 1-D.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([[10.0, 30.0, 20.0], [5.0, 4.0, 6.0]])
        >>> numnet.take_along_dim(x, numnet.argsort(x, dim=1)[:, -1:], dim=1)
        tensor([[30.],
                [ 6.]])
    """
    x = as_tensor(input)
    data = indices.data if isinstance(indices, Tensor) else numpy.asarray(indices)
    if data.dtype != numpy.int64:
        raise RuntimeError(f"take_along_dim(): dtype of indices should be Long but got "
                           f"{torch_dtype_name(data.dtype)}")
    if dim is None:
        flat = data.reshape(-1)
        _check_bounds(flat, 0, x.data.size)
        return Gather(0, flat)(x.reshape(-1))
    if data.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number "
                           f"of dimensions, but got {x.ndim} dimensions for input, and "
                           f"{data.ndim} dimensions for indices")
    axis = normalize_dims(dim, x.ndim)[0]
    size = x.shape[axis]
    if data.size and (data.min() < -size or data.max() >= size):
        bad = data.min() if data.min() < -size else data.max()
        raise RuntimeError(f"take_along_dim(): index {bad} is out of bounds for dimension "
                           f"{axis} with size {size}")
    data = numpy.where(data < 0, data + size, data)
    others = numpy.broadcast_shapes(x.shape[:axis] + (1,) + x.shape[axis + 1:],
                                    data.shape[:axis] + (1,) + data.shape[axis + 1:])
    x_shape = others[:axis] + (size,) + others[axis + 1:]
    if x_shape != tuple(x.shape):
        x = broadcast_to(x, x_shape)
    data = numpy.broadcast_to(data, others[:axis] + (data.shape[axis],) + others[axis + 1:])
    return Gather(axis, data)(x)


# ---------------------------------------------------------------------- one_hot
def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """``out[..., c] = 1 if tensor[...] == c else 0``: int64 of shape ``(*tensor.shape, C)``,
    ``C = num_classes`` or, for -1, ``tensor.max() + 1``, like
    ``torch.nn.functional.one_hot`` (which takes only int64 class indices).

    Example:
        >>> import numnet
        >>> import numnet.nn.functional as F
        >>> F.one_hot(numnet.tensor([0, 2]))
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    data = tensor.data if isinstance(tensor, Tensor) else numpy.asarray(tensor)
    if data.dtype != numpy.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (data[..., None] == numpy.arange(num_classes)).astype(numpy.int64)
    return Tensor(out, _raw=True)
