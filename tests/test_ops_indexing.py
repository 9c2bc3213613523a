"""Selecting and scattering against PyTorch: gather, the scatters, index_select/index_add,
masks, take, take_along_dim, nonzero, one_hot and the in-place forms (values, dtypes, shapes,
every gradient through ``check_op``, and PyTorch's error types)."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F

RNG = numpy.random.default_rng(11)
GATHER_INDEX = numpy.array([[0, 2, 2], [3, 0, 1], [1, 1, 0]])  # repeats: gradients add
UNIQUE_INDEX = numpy.array([[2, 0], [1, 3], [0, 1]])  # no repeats in a row: scatter is defined


def assert_same(n, t):
    """numnet result ``n`` equals torch's ``t``: values, dtype and shape."""
    expected = t.detach().numpy()
    assert n.dtype == expected.dtype, f"dtype {n.dtype} != torch {expected.dtype}"
    assert tuple(n.shape) == expected.shape, f"shape {n.shape} != torch {expected.shape}"
    numpy.testing.assert_allclose(n.data, expected, rtol=1e-6, atol=1e-8)


def both(index):
    return numnet.tensor(index), torch.tensor(index)


# ---------------------------------------------------------------------- gather
@pytest.mark.parametrize("dim, index", [(1, GATHER_INDEX), (-1, GATHER_INDEX[:2, :2]),
                                        (0, GATHER_INDEX[:, :3] % 3)])
def test_gather(dim, index, check_op):
    n_index, t_index = both(index)
    check_op(lambda t: numnet.gather(t, dim, n_index), lambda t: torch.gather(t, dim, t_index),
             (3, 4))
    check_op(lambda t: t.gather(dim, n_index), lambda t: t.gather(dim, t_index), (3, 4))


def test_gather_int32_index_0d_and_empty(check_op):
    n_index, t_index = both(GATHER_INDEX.astype(numpy.int32))
    check_op(lambda t: numnet.gather(t, 1, n_index), lambda t: torch.gather(t, 1, t_index), (3, 4))
    check_op(lambda t: numnet.gather(t, 0, numnet.tensor(0)),
             lambda t: torch.gather(t, 0, torch.tensor(0)), numpy.array(1.5))
    empty = numpy.zeros((3, 0), dtype=numpy.int64)
    assert_same(numnet.gather(numnet.ones(3, 4), 1, numnet.tensor(empty)),
                torch.gather(torch.ones(3, 4), 1, torch.tensor(empty)))


@pytest.mark.parametrize("index, error", [
    (GATHER_INDEX + 2, RuntimeError), (GATHER_INDEX - 3, RuntimeError),
    (GATHER_INDEX[0], RuntimeError), (numpy.zeros((4, 1), numpy.int64), RuntimeError),
    (GATHER_INDEX.astype(numpy.float32), RuntimeError)])
def test_gather_errors_like_torch(index, error):
    with pytest.raises(error):
        torch.gather(torch.ones(3, 4), 1, torch.tensor(index))
    with pytest.raises(error):
        numnet.gather(numnet.ones(3, 4), 1, numnet.tensor(index))
    with pytest.raises(IndexError):
        numnet.gather(numnet.ones(3, 4), 2, numnet.tensor(GATHER_INDEX))


# ---------------------------------------------------------------------- scatter
@pytest.mark.parametrize("dim", [1, -1])
def test_scatter_src(dim, check_op):
    n_index, t_index = both(UNIQUE_INDEX)
    check_op(lambda x, s: numnet.scatter(x, dim, n_index, s),
             lambda x, s: torch.scatter(x, dim, t_index, s), (3, 4), (3, 2))
    check_op(lambda x, s: x.scatter(dim, n_index, s), lambda x, s: x.scatter(dim, t_index, s),
             (3, 4), (3, 2))


@pytest.mark.parametrize("name", ["scatter", "scatter_add"])
def test_scatter_src_larger_than_index(name):
    """torch's forward reads the leading block of src; its backward fails on the shape
    ("invalid gradient"), numnet's gives the rest of src a zero gradient (gradcheck)."""
    n_index, t_index = both(UNIQUE_INDEX)
    x, src = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 3))
    assert_same(getattr(numnet, name)(numnet.tensor(x), 1, n_index, numnet.tensor(src)),
                getattr(torch, name)(torch.tensor(x), 1, t_index, torch.tensor(src)))
    inputs = [numnet.tensor(x, requires_grad=True), numnet.tensor(src, requires_grad=True)]
    assert numnet.gradcheck(lambda a, b: getattr(numnet, name)(a, 1, n_index, b), inputs)


def test_scatter_value_and_dtypes(check_op):
    n_index, t_index = both(UNIQUE_INDEX)
    check_op(lambda x: numnet.scatter(x, 1, n_index, 2.5),
             lambda x: torch.scatter(x, 1, t_index, 2.5), (3, 4))
    check_op(lambda x: numnet.scatter(x, 1, n_index, value=-1.0),
             lambda x: torch.scatter(x, 1, t_index, value=-1.0), (3, 4))
    integers = numpy.arange(12).reshape(3, 4)
    assert_same(numnet.scatter(numnet.tensor(integers), 1, n_index, 2.7),
                torch.scatter(torch.tensor(integers), 1, t_index, 2.7))
    with pytest.raises(RuntimeError, match="dtype"):
        numnet.scatter(numnet.zeros(3, 4), 1, n_index, numnet.zeros(3, 2, dtype=numnet.float64))
    with pytest.raises(RuntimeError, match="no larger"):
        numnet.scatter(numnet.zeros(3, 4), 1, n_index, numnet.zeros(1, 4))


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument(reduce):
    n_index, t_index = both(GATHER_INDEX)
    x, src = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: the reduce argument is deprecated
        expected = torch.scatter(torch.tensor(x), 1, t_index, torch.tensor(src), reduce=reduce)
    assert_same(numnet.scatter(numnet.tensor(x), 1, n_index, numnet.tensor(src), reduce=reduce),
                expected)
    with pytest.raises(RuntimeError, match="add or multiply"):
        numnet.scatter(numnet.tensor(x), 1, n_index, numnet.tensor(src), reduce="max")
    y = numnet.scatter(numnet.tensor(x, requires_grad=True), 1, n_index, 2.0, reduce=reduce)
    with pytest.raises(RuntimeError, match="not implemented"):
        y.sum().backward()


def test_scatter_add(check_op):
    n_index, t_index = both(GATHER_INDEX)
    check_op(lambda x, s: numnet.scatter_add(x, 1, n_index, s),
             lambda x, s: torch.scatter_add(x, 1, t_index, s), (3, 4), (3, 3))
    check_op(lambda x, s: x.scatter_add(0, n_index[:2] % 3, s),
             lambda x, s: x.scatter_add(0, t_index[:2] % 3, s), (3, 4), (2, 3))
    with pytest.raises(TypeError):
        numnet.scatter_add(numnet.zeros(3, 4), 1, n_index, 2.0)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self, check_op):
    n_index, t_index = both(GATHER_INDEX)
    check_op(lambda x, s: numnet.scatter_reduce(x, 1, n_index, s, reduce,
                                                include_self=include_self),
             lambda x, s: torch.scatter_reduce(x, 1, t_index, s, reduce,
                                               include_self=include_self), (3, 4), (3, 3))


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros(include_self, check_op):
    x = numpy.array([[0.0, 2.0, 1.5, -1.0], [1.0, 0.0, 2.0, 3.0], [2.0, 1.0, 0.0, 0.5]])
    src = numpy.array([[1.5, 0.0, 2.0], [0.0, 0.0, 1.5], [3.0, 0.0, 2.0]])
    n_index, t_index = both(GATHER_INDEX)
    check_op(lambda a, b: numnet.scatter_reduce(a, 1, n_index, b, "prod",
                                                include_self=include_self),
             lambda a, b: torch.scatter_reduce(a, 1, t_index, b, "prod",
                                               include_self=include_self), x, src)


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_share_the_gradient(reduce, include_self, check_op):
    x = numpy.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0], [0.0, 1.0, 0.0, 1.0]])
    src = numpy.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [1.0, 1.0, 0.0]])
    n_index, t_index = both(GATHER_INDEX)
    check_op(lambda a, b: numnet.scatter_reduce(a, 1, n_index, b, reduce,
                                                include_self=include_self),
             lambda a, b: torch.scatter_reduce(a, 1, t_index, b, reduce,
                                               include_self=include_self), x, src,
             gradcheck=False)


def test_scatter_reduce_integers_and_errors():
    n_index, t_index = both(numpy.array([0, 0, 2]))
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for x in (numpy.array([5, 3, 1, 1]), numpy.array([-5, 3, 1, 1])):
            src = numpy.array([0, 1, 7])
            for include_self in (True, False):
                assert_same(numnet.scatter_reduce(numnet.tensor(x), 0, n_index, numnet.tensor(src),
                                                  reduce, include_self=include_self),
                            torch.scatter_reduce(torch.tensor(x), 0, t_index, torch.tensor(src),
                                                 reduce, include_self=include_self))
    with pytest.raises(RuntimeError, match="sum, prod, mean, amax or amin"):
        numnet.scatter_reduce(numnet.zeros(4), 0, n_index, numnet.ones(3), "max")


# ---------------------------------------------------------------------- index_select, index_add
@pytest.mark.parametrize("dim, index", [(1, [0, 3, 3, 1]), (0, [2]), (-1, []), (0, 1)])
def test_index_select(dim, index, check_op):
    n_index, t_index = both(numpy.array(index, dtype=numpy.int64))
    check_op(lambda t: numnet.index_select(t, dim, n_index),
             lambda t: torch.index_select(t, dim, t_index), (3, 4))
    check_op(lambda t: t.index_select(dim, n_index), lambda t: t.index_select(dim, t_index), (3, 4))


def test_index_select_errors_and_int32():
    n_index, t_index = both(numpy.array([1, 0], dtype=numpy.int32))
    x = RNG.standard_normal((3, 4))
    assert_same(numnet.index_select(numnet.tensor(x), 1, n_index),
                torch.index_select(torch.tensor(x), 1, t_index))
    with pytest.raises(RuntimeError, match="int32"):
        numnet.index_select(numnet.tensor(x), 1, numnet.tensor([1.0]))
    with pytest.raises(IndexError, match="vector"):
        numnet.index_select(numnet.tensor(x), 1, numnet.tensor([[0]]))
    with pytest.raises(IndexError, match="out of range"):
        numnet.index_select(numnet.tensor(x), 1, numnet.tensor([4]))
    with pytest.raises(IndexError, match="out of range"):
        numnet.index_select(numnet.tensor(x), 1, numnet.tensor([-1]))


@pytest.mark.parametrize("alpha", [1, 2.5])
@pytest.mark.parametrize("dim", [0, 1])
def test_index_add(alpha, dim, check_op):
    index = numpy.array([0, 2, 0])
    n_index, t_index = both(index)
    source_shape = (3, 4) if dim == 0 else (3, 3)
    check_op(lambda x, s: numnet.index_add(x, dim, n_index, s, alpha=alpha),
             lambda x, s: torch.index_add(x, dim, t_index, s, alpha=alpha), (3, 4), source_shape)
    check_op(lambda x, s: x.index_add(dim, n_index, s, alpha=alpha),
             lambda x, s: x.index_add(dim, t_index, s, alpha=alpha), (3, 4), source_shape)


def test_index_add_errors():
    with pytest.raises(RuntimeError, match="same scalar type"):
        numnet.index_add(numnet.zeros(3, 4), 1, numnet.tensor([0, 0]),
                         numnet.ones(3, 2, dtype=numnet.float64))
    with pytest.raises(RuntimeError, match="does not fit"):
        numnet.index_add(numnet.zeros(3, 4), 1, numnet.tensor([0, 0]), numnet.ones(3, 3))
    assert_same(numnet.index_add(numnet.arange(4), 0, numnet.tensor([1, 1]), numnet.tensor([2, 3])),
                torch.index_add(torch.arange(4), 0, torch.tensor([1, 1]), torch.tensor([2, 3])))


# ---------------------------------------------------------------------- masks
MASK = numpy.array([[True, False, True, False], [False, False, True, True], [True] * 4])


@pytest.mark.parametrize("mask", [MASK, MASK[1], MASK[:, :1]])
def test_masked_fill(mask, check_op):
    n_mask, t_mask = both(mask)
    check_op(lambda t: numnet.masked_fill(t, n_mask, -2.5),
             lambda t: torch.masked_fill(t, t_mask, -2.5), (3, 4))
    check_op(lambda t, v: t.masked_fill(n_mask, v), lambda t, v: t.masked_fill(t_mask, v),
             (3, 4), numpy.array(1.5))


def test_masked_fill_broadcasts_the_input_and_keeps_its_dtype(check_op):
    n_mask, t_mask = both(MASK)
    check_op(lambda t: numnet.masked_fill(t, n_mask, 0.0),
             lambda t: torch.masked_fill(t, t_mask, 0.0), (4,))
    integers = numpy.arange(4)
    assert_same(numnet.masked_fill(numnet.tensor(integers), n_mask[0], 2.7),
                torch.masked_fill(torch.tensor(integers), t_mask[0], 2.7))
    with pytest.raises(RuntimeError, match="boolean"):
        numnet.masked_fill(numnet.zeros(4), numnet.tensor([1, 0, 0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional"):
        numnet.masked_fill(numnet.zeros(4), n_mask[0], numnet.tensor([1.0]))


@pytest.mark.parametrize("shape, mask", [((3, 4), MASK), ((4,), MASK), ((3, 1), MASK[0])])
def test_masked_select(shape, mask, check_op):
    n_mask, t_mask = both(mask)
    check_op(lambda t: numnet.masked_select(t, n_mask),
             lambda t: torch.masked_select(t, t_mask), shape)
    with pytest.raises(RuntimeError, match="BoolTensor"):
        numnet.masked_select(numnet.zeros(4), numnet.tensor([1, 0, 0, 1]))


@pytest.mark.parametrize("data", [numpy.array([[1, 0], [0, 3]]), numpy.array(3.0),
                                  numpy.array(0.0), numpy.zeros((2, 0)),
                                  RNG.integers(0, 2, (2, 3, 2)).astype(bool)])
def test_nonzero(data):
    n, t = numnet.tensor(data), torch.tensor(data)
    assert_same(numnet.nonzero(n), torch.nonzero(t))
    assert_same(n.nonzero(), t.nonzero())
    got, expected = numnet.nonzero(n, as_tuple=True), torch.nonzero(t, as_tuple=True)
    assert type(got) is tuple and len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_same(g, e)


# ---------------------------------------------------------------------- take, take_along_dim
def test_take(check_op):
    index = numpy.array([[0, -1], [11, 3], [3, 3]])
    n_index, t_index = both(index)
    check_op(lambda t: numnet.take(t, n_index), lambda t: torch.take(t, t_index), (3, 4))
    check_op(lambda t: t.take(n_index[0]), lambda t: t.take(t_index[0]), (3, 4))
    with pytest.raises(IndexError, match="out of range"):
        numnet.take(numnet.ones(3, 4), numnet.tensor([12]))
    with pytest.raises(RuntimeError, match="long"):
        numnet.take(numnet.ones(3, 4), numnet.tensor([1], dtype=numnet.int32))


@pytest.mark.parametrize("shape, index, dim", [
    ((3, 4), [[0, -1], [2, 1], [3, 3]], 1), ((3, 4), [[0, 1, 2, 0]], 0),
    ((3, 1), [[0, 0, 0]], 1), ((3, 4), [[1], [0], [2]], -1), ((3, 4), [[0, 11], [5, 5]], None)])
def test_take_along_dim(shape, index, dim, check_op):
    n_index, t_index = both(numpy.array(index))
    check_op(lambda t: numnet.take_along_dim(t, n_index, dim),
             lambda t: torch.take_along_dim(t, t_index, dim), shape)
    check_op(lambda t: t.take_along_dim(n_index, dim), lambda t: t.take_along_dim(t_index, dim),
             shape)


def test_take_along_dim_broadcasts_and_checks():
    x = RNG.standard_normal((1, 4))
    index = numpy.array([[0, 2], [1, 3], [3, 3]])
    assert_same(numnet.take_along_dim(numnet.tensor(x), numnet.tensor(index), 1),
                torch.take_along_dim(torch.tensor(x), torch.tensor(index), 1))
    sorted_last = numnet.argsort(numnet.tensor(x), dim=1)[:, -1:]
    assert numnet.take_along_dim(numnet.tensor(x), sorted_last, dim=1).item() == x.max()
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        numnet.take_along_dim(numnet.ones(3, 4), numnet.tensor([0, 1]), 1)
    with pytest.raises(RuntimeError, match="Long"):
        numnet.take_along_dim(numnet.ones(3, 4), numnet.tensor([[0]], dtype=numnet.int32), 1)
    with pytest.raises(RuntimeError, match="out of bounds"):
        numnet.take_along_dim(numnet.ones(3, 4), numnet.tensor([-1]))


# ---------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("data, num_classes", [([0, 2, 1], -1), ([[0, 2], [1, 1]], 5), (3, -1),
                                               (numpy.zeros(0, numpy.int64), 3)])
def test_one_hot(data, num_classes):
    data = numpy.asarray(data, dtype=numpy.int64)
    assert_same(F.one_hot(numnet.tensor(data), num_classes),
                TF.one_hot(torch.tensor(data), num_classes))


@pytest.mark.parametrize("data, num_classes", [([1, 2], 2), ([-1, 2], -1),
                                               (numpy.zeros(0, numpy.int64), -1)])
def test_one_hot_errors_like_torch(data, num_classes):
    data = numpy.asarray(data, dtype=numpy.int64)
    with pytest.raises(RuntimeError) as expected:
        TF.one_hot(torch.tensor(data), num_classes)
    with pytest.raises(RuntimeError) as got:
        F.one_hot(numnet.tensor(data), num_classes)
    assert str(got.value) == str(expected.value)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(numnet.tensor([1, 2], dtype=numnet.int32))


# ---------------------------------------------------------------------- in place
def test_in_place_forms_write_into_the_tensor():
    n_index, t_index = both(UNIQUE_INDEX)
    x, src = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 2))
    cases = [("scatter_", (1, n_index, numnet.tensor(src)), (1, t_index, torch.tensor(src))),
             ("scatter_", (1, n_index, 2.0), (1, t_index, 2.0)),
             ("scatter_add_", (1, n_index, numnet.tensor(src)), (1, t_index, torch.tensor(src))),
             ("scatter_reduce_", (1, n_index, numnet.tensor(src), "amax"),
              (1, t_index, torch.tensor(src), "amax")),
             ("index_add_", (0, numnet.tensor([0, 0]), numnet.ones(2, 4, dtype=numnet.float64)),
              (0, torch.tensor([0, 0]), torch.ones(2, 4, dtype=torch.float64))),
             ("masked_fill_", (numnet.tensor(MASK), -1.0), (torch.tensor(MASK), -1.0))]
    for name, n_args, t_args in cases:
        n, t = numnet.tensor(x), torch.tensor(x)
        array = n.data
        assert getattr(n, name)(*n_args) is n
        getattr(t, name)(*t_args)
        assert_same(n, t)
        assert n.data is array, f"{name} did not write in place"


def test_in_place_on_a_leaf_that_requires_grad_raises():
    w = numnet.zeros(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.scatter_(1, numnet.tensor(UNIQUE_INDEX), 1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.index_add_(0, numnet.tensor([0]), numnet.ones(1, 4))
    with numnet.no_grad():
        w.scatter_add_(1, numnet.tensor(UNIQUE_INDEX), numnet.ones(3, 2))
    assert w.sum().item() == 6.0


def test_in_place_in_the_graph_records_the_op():
    w = numnet.ones(3, 4, dtype=numnet.float64, requires_grad=True)
    tw = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    n_index, t_index = both(UNIQUE_INDEX)
    h, th = w * 2, tw * 2
    h.scatter_(1, n_index, 0.0)
    th.scatter_(1, t_index, 0.0)
    weights = RNG.standard_normal((3, 4))
    (h * numnet.tensor(weights)).sum().backward()
    (th * torch.tensor(weights)).sum().backward()
    assert_same(h.detach(), th)
    assert_same(w.grad, tw.grad)
