"""Double backward (``create_graph=True``) of the layout, indexing, in-place and embedding
ops: second derivatives against torch's (float64) and against finite differences of the
first derivatives (``check_op(..., gradgrad=True)``), for each op's options; third
derivatives against torch for gather, unfold, embedding and scatter_reduce(prod); the cases
where torch's double backward raises (scatter_reduce prod with two zeros of src at one
position) raise numnet's engine error; and ``embedding(scale_grad_by_freq=True)``, where
torch's double backward is not the derivative of its own backward, against finite
differences and known values instead.

Every op here is linear in its input, so each is wrapped in something nonlinear (``** 2``,
a product with the input) for its second derivative not to vanish.
"""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F

TF = torch.nn.functional


def _index(array):
    """The same int64 index for numnet and for torch."""
    array = numpy.asarray(array, dtype=numpy.int64)
    return numnet.tensor(array), torch.tensor(array)


def check_gradgrad(check_op, numnet_fn, torch_fn, *specs, **options):
    check_op(numnet_fn, torch_fn, *specs, gradgrad=True, float32=False, **options)


# ---------------------------------------------------------------------- layout
LAYOUT = {
    "flip": (lambda x: x.flip(0, 2) ** 2, lambda x: x.flip(0, 2) ** 2),
    "flip_none": (lambda x: numnet.flip(x, ()) * x, lambda x: torch.flip(x, ()) * x),
    "roll_dims": (lambda x: x.roll((1, -2), (0, 2)) * x, lambda x: x.roll((1, -2), (0, 2)) * x),
    "roll_flat": (lambda x: x.roll(3) * x, lambda x: x.roll(3) * x),
    "tril": (lambda x: x.tril(-1) ** 2, lambda x: x.tril(-1) ** 2),
    "triu": (lambda x: x.triu(1) * x, lambda x: x.triu(1) * x),
    "diagonal": (lambda x: x.diagonal(1, 0, 2) ** 2, lambda x: x.diagonal(1, 0, 2) ** 2),
    "diagonal_neg": (lambda x: x.diagonal(-1, 2, 1) ** 2, lambda x: x.diagonal(-1, 2, 1) ** 2),
    "diag_2d": (lambda x: x[0].diag(1) ** 2, lambda x: x[0].diag(1) ** 2),
    "repeat": (lambda x: x.repeat(2, 1, 1, 2) ** 2, lambda x: x.repeat(2, 1, 1, 2) ** 2),
    "tile": (lambda x: x.tile((2,)) * x.sum(), lambda x: x.tile((2,)) * x.sum()),
    "unfold": (lambda x: x.unfold(2, 2, 1) ** 2, lambda x: x.unfold(2, 2, 1) ** 2),
    "unfold_step": (lambda x: x.unfold(0, 2, 1).unfold(1, 2, 2) ** 2,
                    lambda x: x.unfold(0, 2, 1).unfold(1, 2, 2) ** 2),
    "clone": (lambda x: x.clone() * x, lambda x: x.clone() * x),
    "contiguous": (lambda x: x.permute(2, 0, 1).contiguous() ** 2,
                   lambda x: x.permute(2, 0, 1).contiguous() ** 2),
}


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_layout(check_op, name):
    check_gradgrad(check_op, *LAYOUT[name], (3, 2, 4))


def test_diag_embed(check_op):
    for k in (0, 2, -1):
        check_gradgrad(check_op, lambda x, k=k: x.diag(k) ** 2, lambda x, k=k: x.diag(k) ** 2,
                       (3,))


def test_repeat_interleave(check_op):
    counts = numpy.array([2, 0, 3])
    n_counts, t_counts = numnet.tensor(counts), torch.tensor(counts)
    check_gradgrad(check_op, lambda x: x.repeat_interleave(n_counts, dim=1) ** 2,
                   lambda x: x.repeat_interleave(t_counts, dim=1) ** 2, (2, 3))
    check_gradgrad(check_op, lambda x: x.repeat_interleave(2) ** 2,
                   lambda x: x.repeat_interleave(2) ** 2, (2, 3))


def test_split_and_chunk_with_unused_pieces(check_op):
    """Pieces that get no gradient (unused, or only in a product's other factor)."""
    def split_fn(x):
        a, b, _ = x.split([1, 2, 2], dim=1)
        return a ** 2 * b.sum()

    check_gradgrad(check_op, split_fn, split_fn, (3, 5))
    check_gradgrad(check_op, lambda x: x.chunk(3, 0)[1] ** 2, lambda x: x.chunk(3, 0)[1] ** 2,
                   (5, 2))
    check_gradgrad(check_op, lambda x: tuple(p ** 2 for p in x.split(2, dim=-1)),
                   lambda x: tuple(p ** 2 for p in x.split(2, dim=-1)), (2, 5))


# ---------------------------------------------------------------------- gather and scatter
GATHER_INDEX = numpy.array([[0, 2, 2, 1], [1, 1, 0, 0], [2, 0, 1, 2]])


def test_gather_and_take_along_dim(check_op):
    n_index, t_index = _index(GATHER_INDEX)
    check_gradgrad(check_op, lambda x: x.gather(1, n_index) ** 2,
                   lambda x: x.gather(1, t_index) ** 2, (3, 3))
    check_gradgrad(check_op, lambda x: x.gather(0, n_index[:, :2]) ** 2,
                   lambda x: x.gather(0, t_index[:, :2]) ** 2, (3, 2))
    check_gradgrad(check_op, lambda x: numnet.take_along_dim(x, n_index[:1], 1) ** 2,
                   lambda x: torch.take_along_dim(x, t_index[:1], 1) ** 2, (3, 3))
    check_gradgrad(check_op, lambda x: numnet.take_along_dim(x, n_index) ** 2,
                   lambda x: torch.take_along_dim(x, t_index) ** 2, (2, 3))


def test_sort_and_topk(check_op):
    """Their values are a gather with unique indices."""
    check_gradgrad(check_op, lambda x: x.sort(1)[0] ** 2, lambda x: x.sort(1)[0] ** 2, (3, 4))
    check_gradgrad(check_op, lambda x: x.topk(2)[0] ** 2, lambda x: x.topk(2)[0] ** 2, (3, 4))


def test_scatter(check_op):
    n_index, t_index = _index([[2, 0], [1, 2]])
    check_gradgrad(check_op, lambda x, s: x.scatter(1, n_index, s) * x,
                   lambda x, s: x.scatter(1, t_index, s) * x, (2, 3), (2, 2))
    check_gradgrad(check_op, lambda x: x.scatter(1, n_index, 0.5) ** 2,
                   lambda x: x.scatter(1, t_index, 0.5) ** 2, (2, 3))


def test_scatter_add(check_op):
    n_index, t_index = _index(GATHER_INDEX[:2])
    check_gradgrad(check_op, lambda x, s: x.scatter_add(1, n_index, s) ** 2,
                   lambda x, s: x.scatter_add(1, t_index, s) ** 2, (2, 3), (2, 4))
    check_gradgrad(check_op, lambda x, s: x.scatter_add(0, n_index, s ** 2) ** 2,
                   lambda x, s: x.scatter_add(0, t_index, s ** 2) ** 2, (3, 4), (2, 4))


def test_scatter_with_larger_src():
    """``src`` larger than ``index`` (torch's own scatter_reduce backward fails there): only
    its leading block is read, and only that block gets (second) derivatives."""
    n_index, _ = _index([[1], [0]])
    ops = [numnet.scatter, numnet.scatter_add] + [
        lambda x, dim, index, src, r=r: numnet.scatter_reduce(x, dim, index, src, r)
        for r in ("mean", "prod", "amax")]
    for op in ops:
        def fn(x, s, op=op):
            return op(x, 1, n_index, s * s) ** 2

        inputs = [numnet.tensor(numpy.random.default_rng(1).standard_normal(shape),
                                requires_grad=True) for shape in ((2, 3), (3, 2))]
        assert numnet.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce(check_op, reduce, include_self):
    n_index, t_index = _index([[0, 2, 0, 0], [1, 1, 1, 0]])
    check_gradgrad(
        check_op,
        lambda x, s: x.scatter_reduce(1, n_index, s, reduce, include_self=include_self) ** 2,
        lambda x, s: x.scatter_reduce(1, t_index, s, reduce, include_self=include_self) ** 2,
        (2, 3), (2, 4))


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_with_zeros(check_op, include_self):
    """One zero of src per position, and zeros in self: PyTorch's masked formula."""
    n_index, t_index = _index([[0, 2, 0, 1], [1, 1, 1, 0]])
    x = numpy.array([[0.0, 1.5, -0.7], [0.8, 0.0, 1.1]])
    src = numpy.array([[0.0, 0.9, 1.3, 0.0], [-1.2, 0.0, 0.6, 0.4]])
    check_gradgrad(
        check_op,
        lambda x, s: x.scatter_reduce(1, n_index, s, "prod", include_self=include_self),
        lambda x, s: x.scatter_reduce(1, t_index, s, "prod", include_self=include_self),
        x, src)


def test_scatter_reduce_ties(check_op):
    """Tied maxima share the gradient; the masks are constants (no finite differences at a
    tie: the op is not differentiable there)."""
    n_index, t_index = _index([[0, 0, 1, 1]])
    x = numpy.array([[1.0, 2.0]])
    src = numpy.array([[1.0, 1.0, 2.0, 0.5]])
    for include_self in (True, False):
        check_gradgrad(
            check_op,
            lambda x, s, i=include_self: x.scatter_reduce(1, n_index, s, "amax",
                                                          include_self=i) * (x.sum() + s.sum()),
            lambda x, s, i=include_self: x.scatter_reduce(1, t_index, s, "amax",
                                                          include_self=i) * (x.sum() + s.sum()),
            x, src, gradcheck=False)


def test_scatter_reduce_prod_two_zeros_raise():
    """PyTorch's double backward refuses two zeros of src reduced into one position; numnet
    raises its engine error (the first derivative still works)."""
    index = numnet.tensor([0, 0, 1])
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    src = numnet.tensor([0.0, 0.0, 3.0], requires_grad=True)
    y = x.scatter_reduce(0, index, src, "prod")
    with pytest.raises(RuntimeError, match="ScatterReduce: double backward is not implemented"):
        numnet.autograd.grad(y.sum(), [x, src], create_graph=True)
    gx, gsrc = numnet.autograd.grad(x.scatter_reduce(0, index, src, "prod").sum(), [x, src])
    numpy.testing.assert_array_equal(gsrc.data, [0.0, 0.0, 2.0])


# ---------------------------------------------------------------------- index_*, masks, take
def test_index_select_and_index_add(check_op):
    n_index, t_index = _index([2, 0, 2])
    check_gradgrad(check_op, lambda x: x.index_select(1, n_index) ** 2,
                   lambda x: x.index_select(1, t_index) ** 2, (2, 3))
    check_gradgrad(check_op, lambda x, s: x.index_add(0, n_index, s) ** 2,
                   lambda x, s: x.index_add(0, t_index, s) ** 2, (3, 2), (3, 2))
    check_gradgrad(check_op, lambda x, s: x.index_add(1, n_index, s * x[:, :1], alpha=-1.5) * x,
                   lambda x, s: x.index_add(1, t_index, s * x[:, :1], alpha=-1.5) * x,
                   (2, 3), (2, 3))


def test_masked_fill_and_masked_select(check_op):
    mask = numpy.array([[True, False, True], [False, False, True]])
    n_mask, t_mask = numnet.tensor(mask), torch.tensor(mask)
    check_gradgrad(check_op, lambda x: x.masked_fill(n_mask, 2.0) ** 2,
                   lambda x: x.masked_fill(t_mask, 2.0) ** 2, (2, 3))
    check_gradgrad(check_op, lambda x, v: x.masked_fill(n_mask[0], v * v) * x,
                   lambda x, v: x.masked_fill(t_mask[0], v * v) * x, (2, 3), numpy.array(0.7))
    check_gradgrad(check_op, lambda x: x.masked_select(n_mask) ** 2,
                   lambda x: x.masked_select(t_mask) ** 2, (2, 3))
    check_gradgrad(check_op, lambda x: x.masked_select(n_mask) ** 2,
                   lambda x: x.masked_select(t_mask) ** 2, (3,))


def test_take(check_op):
    n_index, t_index = _index([[0, -1], [4, 0]])
    check_gradgrad(check_op, lambda x: x.take(n_index) ** 2, lambda x: x.take(t_index) ** 2,
                   (2, 3))


# ---------------------------------------------------------------------- in-place
def _copy(x, s):
    h = x * 1
    return h.copy_(s * s) * x


def _fill(x, v):
    h = x * 2
    return h.fill_(v * v) * x


def _zero(x):
    h = x * x
    return h.zero_() + x ** 3


def _add(x, s):
    h = x * x
    return h.add_(s, alpha=2.0) ** 2 * x


def _scatter_add_(x, s):
    h = x * x
    return h.scatter_add_(1, numnet.tensor([[0, 0], [2, 1]]), s) ** 2


def _index_add_(x, s):
    h = x * 1
    return h.index_add_(0, numnet.tensor([1, 1]), s) ** 2


def _masked_fill_(x):
    h = x * x
    return h.masked_fill_(numnet.tensor([True, False, True]), 3.0) * x


INPLACE = {
    "copy_": (_copy, lambda x, s: (x * 1).copy_(s * s) * x, [(2, 3), (3,)]),
    "fill_": (_fill, lambda x, v: (x * 2).fill_(v * v) * x, [(2, 3), numpy.array(0.4)]),
    "zero_": (_zero, lambda x: (x * x).zero_() + x ** 3, [(2, 3)]),
    "add_": (_add, lambda x, s: (x * x).add_(s, alpha=2.0) ** 2 * x, [(2, 3), (2, 3)]),
    "scatter_add_": (_scatter_add_,
                     lambda x, s: (x * x).scatter_add_(1, torch.tensor([[0, 0], [2, 1]]), s) ** 2,
                     [(2, 3), (2, 2)]),
    "index_add_": (_index_add_,
                   lambda x, s: (x * 1).index_add_(0, torch.tensor([1, 1]), s) ** 2,
                   [(3, 2), (2, 2)]),
    "masked_fill_": (_masked_fill_,
                     lambda x: (x * x).masked_fill_(torch.tensor([True, False, True]), 3.0) * x,
                     [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_on_non_leaves(check_op, name):
    numnet_fn, torch_fn, specs = INPLACE[name]
    check_gradgrad(check_op, numnet_fn, torch_fn, *specs)


# ---------------------------------------------------------------------- embedding
EMBEDDING_INDEX = numpy.array([[0, 2, 2], [4, 2, 1]])


@pytest.mark.parametrize("options", [{}, {"padding_idx": 2}, {"padding_idx": -1}],
                         ids=["plain", "padding_idx", "padding_idx_negative"])
def test_embedding(check_op, options):
    """With ``padding_idx`` the first derivative is not the true one (that row gets none),
    so finite differences check the second derivatives alone (``gradgradcheck``)."""
    n_index, t_index = _index(EMBEDDING_INDEX)
    check_op(lambda w: F.embedding(n_index, w, **options) ** 2,
             lambda w: TF.embedding(t_index, w, **options) ** 2, (5, 3),
             gradgrad=True, float32=False, gradcheck=not options)
    weight = numnet.tensor(numpy.random.default_rng(2).standard_normal((5, 3)),
                           requires_grad=True)
    assert numnet.gradgradcheck(lambda w: F.embedding(n_index, w, **options) ** 2, [weight])


def test_embedding_max_norm(check_op):
    """The renormalisation runs first, outside the graph, in both libraries."""
    n_index, t_index = _index(EMBEDDING_INDEX)
    weight = 3 * numpy.random.default_rng(2).standard_normal((5, 3))
    check_op(lambda w: F.embedding(n_index, w * 1, max_norm=1.0) ** 2,
             lambda w: TF.embedding(t_index, w * 1, max_norm=1.0) ** 2, weight,
             gradgrad=True, float32=False, gradcheck=False)


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_scale_grad_by_freq(padding_idx):
    """``gW = sum over the positions of row i of u / count_i`` is linear in the upstream
    ``u``; its derivative is ``v[indices] / count`` (0 at ``padding_idx``): checked by finite
    differences and by value. (torch 2.13 gives ``v[indices]``, without the 1 / count.)"""
    n_index, _ = _index(EMBEDDING_INDEX)
    rng = numpy.random.default_rng(3)
    weight = numnet.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    u = numnet.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    v = rng.standard_normal((5, 3))

    def weight_grad(u):
        y = F.embedding(n_index, weight, padding_idx=padding_idx, scale_grad_by_freq=True)
        return numnet.autograd.grad(y, weight, u, create_graph=True)[0]

    assert numnet.gradcheck(weight_grad, [u])
    (got,) = numnet.autograd.grad((weight_grad(u) * numnet.tensor(v)).sum(), u)
    counts = numpy.bincount(EMBEDDING_INDEX.reshape(-1), minlength=5)[EMBEDDING_INDEX]
    expected = v[EMBEDDING_INDEX] / counts[..., None]
    if padding_idx is not None:
        expected[EMBEDDING_INDEX == padding_idx] = 0
    numpy.testing.assert_allclose(got.data, expected, rtol=1e-12)


# ---------------------------------------------------------------------- third order
def _third_derivatives(fn, x, rng):
    """``d/dx <w, d/dx <v, d/dx <u, fn(x)>>>`` with ``grad`` and ``create_graph=True``,
    in the library of ``x``."""
    grad = numnet.autograd.grad if isinstance(x, numnet.Tensor) else torch.autograd.grad
    lib = numnet if isinstance(x, numnet.Tensor) else torch
    y = fn(x)
    u, v, w = (lib.tensor(rng.standard_normal(s)) for s in (y.shape, x.shape, x.shape))
    (g,) = grad((y * u).sum(), x, create_graph=True)
    (h,) = grad((g * v).sum(), x, create_graph=True)
    (k,) = grad((h * w).sum(), x)
    return k


THIRD = {
    "gather": (lambda x: x.gather(1, numnet.tensor(GATHER_INDEX)) ** 3,
               lambda x: x.gather(1, torch.tensor(GATHER_INDEX)) ** 3, (3, 3)),
    "unfold": (lambda x: x.unfold(1, 3, 2) ** 3, lambda x: x.unfold(1, 3, 2) ** 3, (2, 7)),
    "embedding": (lambda w: F.embedding(numnet.tensor(EMBEDDING_INDEX), w, padding_idx=4) ** 3,
                  lambda w: TF.embedding(torch.tensor(EMBEDDING_INDEX), w, padding_idx=4) ** 3,
                  (5, 3)),
    "scatter_reduce_prod": (
        lambda x: x.scatter_reduce(1, numnet.tensor([[0, 0, 0, 1, 1]]), x * x, "prod"),
        lambda x: x.scatter_reduce(1, torch.tensor([[0, 0, 0, 1, 1]]), x * x, "prod"),
        (1, 5)),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_equal_torch(name):
    numnet_fn, torch_fn, shape = THIRD[name]
    x = numpy.random.default_rng(4).standard_normal(shape)
    got = _third_derivatives(numnet_fn, numnet.tensor(x, requires_grad=True),
                             numpy.random.default_rng(5))
    expected = _third_derivatives(torch_fn, torch.tensor(x, requires_grad=True),
                                  numpy.random.default_rng(5))
    numpy.testing.assert_allclose(got.data, expected.detach().numpy(), rtol=1e-6, atol=1e-8)
