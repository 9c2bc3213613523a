"""Second derivatives (``create_graph=True``) of the reductions, scans, sorting ops, einsum
and padding against torch's and against float64 finite differences of the first derivatives
(``check_op`` with ``gradgrad=True``), over their options: ``nansum nanmean prod logsumexp
var std amax amin max min aminmax median sort topk kthvalue``, ``cumsum cumprod
logcumsumexp cummax cummin``, ``einsum`` (whose gradients are einsums, recorded as
``Einsum`` and ``IntoDiagonal`` ops) and ``pad`` in every mode (``Pad`` by the opposite
amounts, ``PadEdgesGrad``). ``prod`` and ``cumprod`` are checked with one and several zeros
in a slice, where the exact second derivative ``prod_{j != i, k} x_j`` is not 0. Ties of
``amax``/``median`` are checked against torch only (finite differences break the tie).
Linear ops are squared so that their second derivative is not trivially zero. Third
derivatives (the gradient of the gradient of the gradient) match torch's too, and
``logcumsumexp``'s, where torch's have NaN (``log |0|`` in its backward), match finite
differences."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F

# rows with no zero, one zero and two zeros; a zero at the start and at the end of a row
ZEROS = numpy.array([[1.5, -0.7, 2.0, 0.6, -1.3],
                     [0.8, 0.0, -1.2, 1.1, 0.9],
                     [0.0, 1.3, 0.0, -0.5, 1.4],
                     [0.7, -1.6, 0.4, 1.2, 0.0]])
TIES = numpy.array([[1.0, 3.0, 3.0, -2.0],
                    [0.5, 0.5, 0.5, 0.5],
                    [-1.0, 2.0, 0.0, 2.0]])
WITH_NAN = numpy.array([[0.3, numpy.nan, -1.2, 0.8],
                        [numpy.nan, numpy.nan, 0.4, -0.6],
                        [1.1, -0.2, 0.9, numpy.nan]])


def _both(expression: str):
    """``(numnet_fn, torch_fn)`` from one expression of ``lib`` (``numnet``/``torch``),
    ``F`` (the functional module) and the input ``x``."""
    def make(lib, functional):
        return lambda x: eval(expression, {"lib": lib, "F": functional, "x": x})
    return make(numnet, F), make(torch, TF)


REDUCTIONS = {
    "nansum": "lib.nansum(x, 1) ** 2",
    "nansum_dims_keepdim": "lib.nansum(x, (0, 1), keepdim=True) ** 2",
    "nanmean": "lib.nanmean(x, 0) ** 2",
    "nanmean_keepdim": "lib.nanmean(x, -1, keepdim=True) ** 2",
    "nanmean_all": "lib.nanmean(x) ** 2",
    "prod_dim": "lib.prod(x, 1)",
    "prod_keepdim": "lib.prod(x, 0, keepdim=True)",
    "prod_all": "lib.prod(x)",
    "logsumexp": "lib.logsumexp(x, 1)",
    "logsumexp_dims_keepdim": "lib.logsumexp(x, (0, 1), keepdim=True)",
    "var": "lib.var(x, 1)",
    "var_all": "lib.var(x)",
    "var_dims_correction0": "lib.var(x, (0, 1), correction=0, keepdim=True)",
    "var_correction2": "lib.var(x, 0, correction=2)",
    "var_of_a_result": "lib.var(x * x + x, 1)",
    "std": "lib.std(x, 1, keepdim=True)",
    "std_unbiased_false": "lib.std(x, 0, unbiased=False)",
    "amax": "lib.amax(x, 1) ** 2",
    "amin_dims_keepdim": "lib.amin(x, (0, 1), keepdim=True) ** 2",
    "max_all": "lib.max(x) ** 2",
    "min_all": "lib.min(x) ** 2",
    "max_dim": "lib.max(x, 1).values ** 2",
    "min_dim_keepdim": "lib.min(x, 0, keepdim=True).values ** 2",
    "aminmax": "lib.aminmax(x, dim=1).min ** 2 * lib.aminmax(x, dim=1).max",
    "median_all": "lib.median(x) ** 2",
    "median_dim": "lib.median(x, 1).values ** 2",
    "sort": "lib.sort(x, 1, descending=True).values ** 2 * lib.arange(4.0)",
    "topk": "lib.topk(x, 2, dim=0).values ** 2",
    "kthvalue": "lib.kthvalue(x, 2, dim=1, keepdim=True).values ** 2",
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(check_op, name):
    data = WITH_NAN if name.startswith("nan") else (3, 4)
    check_op(*_both(REDUCTIONS[name]), data, gradgrad=True, float32=False)


@pytest.mark.parametrize("expression", ["lib.prod(x, 1)", "lib.prod(x, 0)", "lib.prod(x)",
                                        "lib.prod(x[1:2])", "lib.prod(x[:2], 1) ** 2"])
def test_prod_with_zeros(check_op, expression):
    """One zero in a row (its partial derivatives are the products of the rest), two (the
    second derivative between them is the product of the rest) and more (all zero)."""
    check_op(*_both(expression), ZEROS, gradgrad=True, float32=False)


@pytest.mark.parametrize("expression", ["lib.amax(x, 1) ** 2", "lib.amin(x, 0) ** 2",
                                        "lib.max(x) ** 2", "lib.median(x) ** 2",
                                        "lib.aminmax(x).max ** 2"])
def test_ties_split_evenly(check_op, expression):
    check_op(*_both(expression), TIES, gradgrad=True, float32=False, gradcheck=False)


SCANS = {
    "cumsum": "lib.cumsum(x, 1) ** 2",
    "cumsum_dim0": "lib.cumsum(x, 0) ** 2",
    "cumprod": "lib.cumprod(x, 1)",
    "cumprod_negative_dim": "lib.cumprod(x, -2) ** 2",
    "logcumsumexp": "lib.logcumsumexp(x, 1)",
    "logcumsumexp_dim0": "lib.logcumsumexp(x, 0) ** 2",
    "cummax": "lib.cummax(x, 1).values ** 2",
    "cummin_dim0": "lib.cummin(x, 0).values ** 2",
}


@pytest.mark.parametrize("name", sorted(SCANS))
def test_scans(check_op, name):
    check_op(*_both(SCANS[name]), (3, 5), gradgrad=True, float32=False)


@pytest.mark.parametrize("expression", ["lib.cumprod(x, 1)", "lib.cumprod(x, 0) ** 2"])
def test_cumprod_with_zeros(check_op, expression):
    check_op(*_both(expression), ZEROS, gradgrad=True, float32=False)


@pytest.mark.parametrize("expression", ["lib.cumsum(x, 0) ** 2", "lib.cumprod(x, 0) ** 2",
                                        "lib.logcumsumexp(x, 0) ** 2",
                                        "lib.cummax(x, 0).values ** 2"])
def test_scans_of_one_element(check_op, expression):
    check_op(*_both(expression), (), gradgrad=True, float32=False)
    check_op(*_both(expression), (1, 3), gradgrad=True, float32=False)


EINSUM = {
    "matmul": ("ij,jk->ik", (3, 4), (4, 2)),
    "batched": ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)),
    "ellipsis_broadcast": ("...ij,...jk", (2, 3, 4), (1, 4, 2)),
    "dot": ("i,i->", (4,), (4,)),
    "outer": ("i,j->ij", (3,), (4,)),
    "summed_alone": ("ij,k->jk", (3, 4), (2,)),
    "three_operands": ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    "trace": ("ii", (3, 3)),
    "diagonal": ("ii->i", (3, 3)),
    "repeated_with_other": ("iij,j->i", (3, 3, 4), (4,)),
    "sum_transpose": ("ijk->kj", (2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(EINSUM))
def test_einsum(check_op, name):
    equation, *shapes = EINSUM[name]

    def make(lib):
        return lambda *xs: lib.einsum(equation, *xs) ** 2
    check_op(make(numnet), make(torch), *shapes, gradgrad=True, float32=False)


def test_einsum_with_a_constant_operand(check_op):
    check_op(lambda a, b: numnet.einsum("ij,jk->ik", a, b) ** 2,
             lambda a, b: torch.einsum("ij,jk->ik", a, b) ** 2, (3, 4), (4, 2),
             grad=[True, False], gradgrad=True, float32=False)


PADS = {
    "constant": ((2, 4, 5), dict(pad=(1, 2))),
    "constant_crop_value": ((2, 4, 5), dict(pad=(1, -2, -1, 2), value=1.5)),
    "constant_3d": ((2, 3, 4), dict(pad=(0, 1, 2, 0, 1, 1))),
    "reflect_1d": ((2, 3, 5), dict(pad=(2, 3), mode="reflect")),
    "reflect_2d": ((1, 2, 4, 5), dict(pad=(1, 2, 3, 1), mode="reflect")),
    "replicate_2d": ((2, 4, 5), dict(pad=(2, 1, 1, 3), mode="replicate")),
    "replicate_3d": ((1, 2, 3, 3, 4), dict(pad=(1, 1, 2, 0, 1, 2), mode="replicate")),
    "circular_1d": ((2, 3, 5), dict(pad=(2, 4), mode="circular")),
    "circular_crop": ((1, 2, 4, 5), dict(pad=(-1, 2, 2, -1), mode="circular")),
}


@pytest.mark.parametrize("name", sorted(PADS))
def test_pad(check_op, name):
    shape, options = PADS[name]
    check_op(lambda x: F.pad(x, **options) ** 2, lambda x: TF.pad(x, **options) ** 2,
             shape, gradgrad=True, float32=False)


def _third_derivative(grad, fn, x, u, v, w):
    """``d/dx sum(w * d/dx sum(v * d/dx sum(u * fn(x))))`` with ``grad`` (either library's
    ``autograd.grad``): the third derivative contracted with ``u``, ``v`` and ``w``."""
    (first,) = grad((fn(x) * u).sum(), x, create_graph=True)
    (second,) = grad((first * v).sum(), x, create_graph=True)
    (third,) = grad((second * w).sum(), x)
    return third


THIRD = {
    "prod_with_zeros": ("lib.prod(x, 1)", ZEROS),
    "prod_all_with_zeros": ("lib.prod(x[1:3])", ZEROS),
    "cumprod_with_zeros": ("lib.cumprod(x, 1)", ZEROS),
    "cumprod": ("lib.cumprod(x, 0)", (3, 4)),
    "logsumexp": ("lib.logsumexp(x, 1)", (3, 4)),
    "std": ("lib.std(x, 0)", (3, 4)),
    "cumsum_cubed": ("lib.cumsum(x, 1) ** 3", (3, 4)),
    "einsum_cubed": ("lib.einsum('ij,jk->ik', x, x.T) ** 2", (3, 4)),
    "pad_reflect_cubed": ("F.pad(x[None], (2, 1), mode='reflect') ** 3", (3, 4)),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_equal_torch(name):
    expression, data = THIRD[name]
    rng = numpy.random.default_rng(1)
    x = data if isinstance(data, numpy.ndarray) else rng.standard_normal(data)
    numnet_fn, torch_fn = _both(expression)
    out_shape = tuple(torch_fn(torch.tensor(x)).shape)
    u = rng.standard_normal(out_shape)
    v, w = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    got = _third_derivative(numnet.autograd.grad, numnet_fn,
                            numnet.tensor(x, requires_grad=True), *map(numnet.tensor, (u, v, w)))
    want = _third_derivative(torch.autograd.grad, torch_fn,
                             torch.tensor(x, requires_grad=True), *map(torch.tensor, (u, v, w)))
    numpy.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6, atol=1e-8)


def test_logcumsumexp_third_derivative_matches_finite_differences():
    """torch's third derivative of ``logcumsumexp`` is NaN where its backward takes
    ``log |gy|`` of a zero; numnet's is finite: ``gradgradcheck`` of the first derivative
    checks it against finite differences of the second."""
    rng = numpy.random.default_rng(2)
    u = numnet.tensor(rng.standard_normal((3, 4)))

    def first_derivative(x):
        return numnet.autograd.grad((numnet.logcumsumexp(x, 1) * u).sum(), x,
                                    create_graph=True)[0]

    x = numnet.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert numnet.gradgradcheck(first_derivative, [x])
