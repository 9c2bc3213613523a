"""Layout ops and einsum against PyTorch: forward, dtype, shape, gradients, gradcheck."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch

import numnet


def _same(n, t):
    """numnet's result equals torch's: values, dtype, shape."""
    expected = t.detach().numpy()
    assert tuple(n.shape) == tuple(expected.shape)
    assert n.dtype == expected.dtype
    numpy.testing.assert_array_equal(n.data, expected)


@pytest.mark.parametrize("dims", [(0,), (1, 0), (-1,), ()])
def test_flip(check_op, dims):
    check_op(lambda x: x.flip(dims), lambda x: x.flip(dims), (2, 3))


def test_flip_function_and_repeated_dim():
    x = numpy.arange(6).reshape(2, 3)
    _same(numnet.flip(numnet.tensor(x), 0), torch.flip(torch.tensor(x), (0,)))
    with pytest.raises(RuntimeError):
        numnet.tensor(x).flip(0, -2)
    with pytest.raises(IndexError):
        numnet.tensor(x).flip(2)


@pytest.mark.parametrize("shifts, dims", [(1, None), (-4, 0), ((1, 2), (0, 1)), (2, -1)])
def test_roll(check_op, shifts, dims):
    check_op(lambda x: numnet.roll(x, shifts, dims), lambda x: torch.roll(x, shifts, dims),
             (2, 3))


def test_roll_errors():
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 3).roll((1, 1), (0,))
    with pytest.raises(IndexError):
        numnet.zeros(2, 3).roll(1, 2)


@pytest.mark.parametrize("k", [0, 1, -1, 5])
def test_tril_triu(check_op, k):
    check_op(lambda x: x.tril(k), lambda x: x.tril(k), (2, 3, 4))
    check_op(lambda x: numnet.triu(x, k), lambda x: torch.triu(x, k), (3, 3))
    with pytest.raises(RuntimeError):
        numnet.zeros(3).tril()


@pytest.mark.parametrize("k", [0, 1, -1])
def test_diag(check_op, k):
    check_op(lambda x: x.diag(k), lambda x: x.diag(k), (3,))
    check_op(lambda x: numnet.diag(x, k), lambda x: torch.diag(x, k), (3, 4))
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 2, 2).diag()


@pytest.mark.parametrize("offset, dim1, dim2", [(0, 0, 1), (1, 0, 2), (-1, 2, 0), (7, 0, 1),
                                                (0, -1, -2)])
def test_diagonal(check_op, offset, dim1, dim2):
    check_op(lambda x: x.diagonal(offset, dim1, dim2),
             lambda x: x.diagonal(offset, dim1, dim2), (3, 4, 3))


@pytest.mark.parametrize("sizes", [(2, 1), (1, 2, 3), (3, 1, 1, 2)])
def test_repeat(check_op, sizes):
    check_op(lambda x: x.repeat(*sizes), lambda x: x.repeat(*sizes), (2, 3)[:min(2, len(sizes))])


def test_repeat_tuple_and_errors():
    x = numpy.arange(6).reshape(2, 3)
    _same(numnet.tensor(x).repeat((2, 1)), torch.tensor(x).repeat((2, 1)))
    with pytest.raises(RuntimeError):
        numnet.tensor(x).repeat(2)
    with pytest.raises(TypeError):
        numnet.tensor(x).repeat()


@pytest.mark.parametrize("dims", [(2,), (2, 1), (1, 2, 2)])
def test_tile(check_op, dims):
    check_op(lambda x: numnet.tile(x, dims), lambda x: torch.tile(x, dims), (2, 3))
    check_op(lambda x: x.tile(*dims), lambda x: x.tile(*dims), (3,))


@pytest.mark.parametrize("repeats, dim", [(2, None), (3, 1), ([1, 0, 2], 1), ([2], 0),
                                          ([0, 0, 0], -1)])
def test_repeat_interleave(check_op, repeats, dim):
    def n_fn(x):
        r = numnet.tensor(repeats) if isinstance(repeats, list) else repeats
        return x.repeat_interleave(r, dim=dim)

    def t_fn(x):
        r = torch.tensor(repeats) if isinstance(repeats, list) else repeats
        return x.repeat_interleave(r, dim=dim)
    check_op(n_fn, t_fn, (2, 3))


def test_repeat_interleave_counts_alone_and_errors():
    counts = numpy.array([1, 0, 3])
    _same(numnet.repeat_interleave(numnet.tensor(counts)),
          torch.repeat_interleave(torch.tensor(counts)))
    _same(numnet.tensor([1, 2]).repeat_interleave(2), torch.tensor([1, 2]).repeat_interleave(2))
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 2).repeat_interleave(numnet.tensor([1, 2]))  # flattened: 4 elements
    with pytest.raises(RuntimeError):
        numnet.zeros(2).repeat_interleave(-1)


@pytest.mark.parametrize("size, dim", [(2, 0), (4, 1), ([1, 4], -1), ([0, 5], 1), (5, 1)])
def test_split(check_op, size, dim):
    check_op(lambda x: x.split(size, dim), lambda x: x.split(size, dim), (3, 5))
    check_op(lambda x: numnet.split(x, size, dim), lambda x: torch.split(x, size, dim), (3, 5))


def test_split_errors_and_empty():
    with pytest.raises(RuntimeError):
        numnet.zeros(6).split([1, 4])
    with pytest.raises(RuntimeError):
        numnet.zeros(6).split(0)
    assert [tuple(p.shape) for p in numnet.zeros(0).split(2)] == [
        tuple(p.shape) for p in torch.zeros(0).split(2)]


@pytest.mark.parametrize("n, chunks", [(6, 4), (5, 4), (10, 6), (3, 5), (0, 3), (7, 1)])
def test_chunk_sizes_match_torch(n, chunks):
    got = [tuple(p.shape) for p in numnet.zeros(n).chunk(chunks)]
    assert got == [tuple(p.shape) for p in torch.zeros(n).chunk(chunks)]


def test_chunk(check_op):
    check_op(lambda x: x.chunk(3, dim=1), lambda x: x.chunk(3, dim=1), (2, 7))
    with pytest.raises(RuntimeError):
        numnet.zeros(3).chunk(0)


def test_split_one_piece_used(check_op):
    """Only some outputs reach the loss: the others get zero gradient."""
    check_op(lambda x: x.split(2)[1], lambda x: x.split(2)[1], (5, 2))


@pytest.mark.parametrize("dim, sizes", [(1, (2, 3)), (-1, (3, -1)), (0, (1, 2))])
def test_unflatten(check_op, dim, sizes):
    check_op(lambda x: x.unflatten(dim, sizes), lambda x: x.unflatten(dim, sizes), (2, 6))
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 6).unflatten(1, (4, -1))


@pytest.mark.parametrize("shape, dim, size, step", [((7,), 0, 2, 2), ((2, 7, 3), 1, 3, 2),
                                                    ((5, 4), -1, 2, 1), ((4,), 0, 0, 1),
                                                    ((6, 2), 0, 6, 3)])
def test_unfold(check_op, shape, dim, size, step):
    check_op(lambda x: x.unfold(dim, size, step), lambda x: x.unfold(dim, size, step), shape)


def test_unfold_errors_and_0d():
    _same(numnet.tensor(5.0).unfold(0, 1, 1), torch.tensor(5.0).unfold(0, 1, 1))
    with pytest.raises(RuntimeError):
        numnet.zeros(3).unfold(0, 4, 1)
    with pytest.raises(RuntimeError):
        numnet.zeros(3).unfold(0, 1, 0)


@pytest.mark.parametrize("dim, start, length", [(1, 0, 2), (1, -2, 2), (-1, 1, 0), (0, 1, 1)])
def test_narrow(check_op, dim, start, length):
    check_op(lambda x: x.narrow(dim, start, length), lambda x: x.narrow(dim, start, length),
             (2, 3, 4))


def test_narrow_out_of_range():
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 3).narrow(1, 2, 2)


@pytest.mark.parametrize("source, destination", [(0, 2), ((0, 1), (2, 0)), (-1, 0)])
def test_movedim(check_op, source, destination):
    check_op(lambda x: x.movedim(source, destination),
             lambda x: x.movedim(source, destination), (2, 3, 4))
    check_op(lambda x: numnet.moveaxis(x, source, destination),
             lambda x: torch.moveaxis(x, source, destination), (2, 3, 4))


def test_swapaxes_swapdims(check_op):
    check_op(lambda x: x.swapaxes(0, 2), lambda x: x.swapaxes(0, 2), (2, 3, 4))
    check_op(lambda x: numnet.swapdims(x, -1, 0), lambda x: torch.swapdims(x, -1, 0), (2, 3))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t(check_op, shape):
    check_op(lambda x: x.t(), lambda x: x.t(), shape)
    check_op(numnet.t, torch.t, shape)


def test_t_of_3d_and_mT():
    with pytest.raises(RuntimeError):
        numnet.zeros(2, 3, 4).t()
    with pytest.raises(RuntimeError):
        _ = numnet.zeros(3).mT
    x = numpy.arange(24.0).reshape(2, 3, 4)
    _same(numnet.tensor(x).mT, torch.tensor(x).mT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about .T on 3-D
        _same(numnet.tensor(x).T, torch.tensor(x).T)


def test_mT_gradient(check_op):
    check_op(lambda x: x.mT, lambda x: x.mT, (2, 3, 4))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(check_op, indexing):
    check_op(lambda a, b, c: numnet.meshgrid(a, b, c, indexing=indexing),
             lambda a, b, c: torch.meshgrid(a, b, c, indexing=indexing), (2,), (3,), ())
    check_op(lambda a, b: numnet.meshgrid([a, b], indexing=indexing),
             lambda a, b: torch.meshgrid([a, b], indexing=indexing), (2,), (3,))


def test_meshgrid_default_warns_and_is_ij():
    with pytest.warns(UserWarning, match="indexing"):
        grids = numnet.meshgrid(numnet.arange(2), numnet.arange(3))
    assert [tuple(g.shape) for g in grids] == [(2, 3), (2, 3)]
    assert grids[0].dtype == numpy.int64
    with pytest.raises(RuntimeError):
        numnet.meshgrid(numnet.zeros(2, 2), indexing="ij")


@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij->...ji", [(5, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("Ab,bc -> cA", [(2, 3), (3, 4)]),
    ("i,i", [(1,), (4,)]),
])
def test_einsum(check_op, equation, shapes):
    check_op(lambda *xs: numnet.einsum(equation, *xs),
             lambda *xs: torch.einsum(equation, *xs), *shapes)


def test_einsum_list_and_errors():
    a, b = numpy.ones((2, 3)), numpy.ones((3, 4))
    _same(numnet.einsum("ij,jk", [numnet.tensor(a), numnet.tensor(b)]),
          torch.einsum("ij,jk", [torch.tensor(a), torch.tensor(b)]))
    ints = numnet.tensor(numpy.arange(6).reshape(2, 3))
    _same(numnet.einsum("ij->j", ints), torch.einsum("ij->j", torch.tensor(ints.data)))
    with pytest.raises(RuntimeError):
        numnet.einsum("ij,j", ints, numnet.zeros(3))
    with pytest.raises(RuntimeError):
        numnet.einsum("ij,jk", numnet.zeros(2, 3))
    with pytest.raises(RuntimeError):
        numnet.einsum("ijk", numnet.zeros(2, 3))
    with pytest.raises(RuntimeError):
        numnet.einsum("ij,jk", numnet.zeros(2, 3), numnet.zeros(4, 4))


def test_clone_and_contiguous(check_op):
    check_op(numnet.clone, torch.clone, (2, 3))
    check_op(lambda x: x.t().contiguous(), lambda x: x.t().contiguous(), (2, 3))
    x = numnet.zeros(2, 3)
    assert x.contiguous() is x and x.is_contiguous()
    assert not x.t().is_contiguous()
    copy = x.clone()
    copy.data[0, 0] = 1.0
    assert x.data[0, 0] == 0.0


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_atleast(check_op, name, shape):
    check_op(getattr(numnet, name), getattr(torch, name), shape)


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shape", [(3,), (3, 2)])
def test_stacking(check_op, name, shape):
    check_op(lambda a, b: getattr(numnet, name)([a, b]),
             lambda a, b: getattr(torch, name)([a, b]), shape, shape)
