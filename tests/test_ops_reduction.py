"""Reductions, scans and sorting against PyTorch: forward, dtypes, shapes, every gradient
(``check_op``: float64 and float32 against torch, float64 finite differences), named tuples,
ties and the edge cases PyTorch defines."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet

RNG = numpy.random.default_rng(7)
WITH_ZEROS = {
    "one zero": numpy.array([[2.0, 0.0, 3.0, -1.5], [0.5, 1.5, -2.0, 4.0], [1.0, 2.0, 0.0, 3.0]]),
    "two zeros": numpy.array([[0.0, 2.0, 0.0, 3.0], [1.5, 0.0, -2.0, 0.0], [1.0, 2.0, 3.0, 4.0]]),
}


def assert_same(n, t):
    """numnet result ``n`` equals torch's ``t``: values, dtype and shape."""
    expected = t.detach().numpy()
    assert n.dtype == expected.dtype, f"dtype {n.dtype} != torch {expected.dtype}"
    assert tuple(n.shape) == expected.shape, f"shape {n.shape} != torch {expected.shape}"
    numpy.testing.assert_allclose(n.data, expected, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------- sum, mean, prod
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": (0, 2), "keepdim": True},
                                    {"dim": -1, "keepdim": True}, {"dim": ()}])
@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean"])
def test_sum_mean(name, kwargs, check_op):
    check_op(lambda t: getattr(numnet, name)(t, **kwargs),
             lambda t: getattr(torch, name)(t, **kwargs), (2, 3, 4))


@pytest.mark.parametrize("name", ["nansum", "nanmean"])
def test_nansum_nanmean_skip_nan(name, check_op):
    x = RNG.standard_normal((3, 4))
    x[0, 1] = x[2, 3] = numpy.nan
    check_op(lambda t: getattr(numnet, name)(t, 1), lambda t: getattr(torch, name)(t, 1), x,
             gradcheck=False)


@pytest.mark.parametrize("dtype", [numpy.int32, numpy.uint8, numpy.bool_, numpy.int8])
def test_sum_prod_cumsum_of_integers_give_int64(dtype):
    x = (RNG.integers(0, 3, (3, 4))).astype(dtype)
    n, t = numnet.tensor(x), torch.tensor(x)
    assert_same(numnet.sum(n), torch.sum(t))
    assert_same(numnet.sum(n, 0), torch.sum(t, 0))
    assert_same(numnet.prod(n, 1), torch.prod(t, 1))
    assert_same(numnet.cumsum(n, 1), torch.cumsum(t, 1))
    assert_same(numnet.cumprod(n, 0), torch.cumprod(t, 0))
    assert_same(numnet.nansum(n), torch.nansum(t))


def test_sum_mean_dtype_argument():
    x = numpy.arange(12).reshape(3, 4)
    n, t = numnet.tensor(x), torch.tensor(x)
    assert_same(numnet.sum(n, 1, dtype=numnet.float64), torch.sum(t, 1, dtype=torch.float64))
    assert_same(numnet.mean(n, dtype=numnet.float32), torch.mean(t, dtype=torch.float32))
    assert_same(numnet.cumsum(n, 0, dtype=numnet.float32), torch.cumsum(t, 0, dtype=torch.float32))
    f = numnet.tensor([1.5, 2.5, -0.5])
    assert_same(numnet.sum(f, dtype=numnet.int64), torch.sum(torch.tensor([1.5, 2.5, -0.5]),
                                                              dtype=torch.int64))


def test_sum_dtype_keeps_the_gradient(check_op):
    check_op(lambda t: numnet.sum(t.to(numnet.float32), 1, dtype=numnet.float64),
             lambda t: torch.sum(t.float(), 1, dtype=torch.float64), (3, 4), float32=False,
             atol=1e-5, gradcheck=False)


@pytest.mark.parametrize("dtype", [numpy.int64, numpy.int32, numpy.bool_])
def test_mean_of_integers_raises_like_torch(dtype):
    x = numpy.ones(3, dtype=dtype)
    with pytest.raises(RuntimeError) as torch_error:
        torch.mean(torch.tensor(x))
    with pytest.raises(RuntimeError, match="could not infer output dtype") as error:
        numnet.mean(numnet.tensor(x))
    assert str(error.value) == str(torch_error.value)
    with pytest.raises(RuntimeError, match="floating point"):
        numnet.nanmean(numnet.tensor(x))


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "prod", "std", "var",
                                  "logsumexp", "argmax", "argmin", "any", "all", "count_nonzero",
                                  "cumsum", "cumprod", "logcumsumexp", "nansum", "nanmean"])
def test_axis_is_an_alias_of_dim(name):
    x = RNG.standard_normal((3, 4))
    n, t = numnet.tensor(x), torch.tensor(x)
    assert_same(getattr(numnet, name)(n, axis=1), getattr(torch, name)(t, axis=1))


@pytest.mark.parametrize("name", ["max", "min", "median", "sort", "cummax", "cummin"])
def test_axis_alias_for_named_tuples(name):
    x = RNG.standard_normal((3, 4))
    got = getattr(numnet, name)(numnet.tensor(x), axis=0)
    expected = getattr(torch, name)(torch.tensor(x), axis=0)
    assert_same(got.values, expected.values)
    assert_same(got.indices, expected.indices)


def test_keepdims_alias_and_both_names():
    x = numnet.ones(2, 3)
    assert numnet.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(axis=0, keepdims=True).shape == (1, 3)
    with pytest.raises(TypeError, match="alias"):
        numnet.sum(x, dim=1, axis=1)


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod(dim, keepdim, check_op):
    if dim is None and keepdim:
        pytest.skip("torch.prod has no keepdim without dim")
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    check_op(lambda t: numnet.prod(t, **kwargs), lambda t: torch.prod(t, **kwargs), (3, 4))


@pytest.mark.parametrize("case", list(WITH_ZEROS))
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_gradient_with_zeros(case, dim, check_op):
    kwargs = {} if dim is None else {"dim": dim}
    check_op(lambda t: numnet.prod(t, **kwargs), lambda t: torch.prod(t, **kwargs),
             WITH_ZEROS[case])


def test_prod_of_a_0d_tensor_and_an_empty_dim(check_op):
    check_op(lambda t: numnet.prod(t), lambda t: torch.prod(t), numpy.array(2.5))
    check_op(lambda t: numnet.prod(t, 1), lambda t: torch.prod(t, 1), (3, 0), gradcheck=False)
    with pytest.raises(TypeError):
        numnet.prod(numnet.ones(2, 2), (0, 1))


# ---------------------------------------------------------------------- logsumexp, var_mean
@pytest.mark.parametrize("dim", [0, 1, (0, 1), -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(dim, keepdim, check_op):
    check_op(lambda t: numnet.logsumexp(t, dim, keepdim),
             lambda t: torch.logsumexp(t, dim, keepdim), (3, 4))


def test_logsumexp_is_stable_and_floats_integers(check_op):
    big = numpy.array([[1000.0, 1000.0, -1000.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    check_op(lambda t: numnet.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1), big)
    minus_inf = numpy.array([-numpy.inf, -numpy.inf])
    assert_same(numnet.logsumexp(numnet.tensor(minus_inf), 0),
                torch.logsumexp(torch.tensor(minus_inf), 0))
    assert_same(numnet.logsumexp(numnet.tensor([1, 2, 3]), 0),
                torch.logsumexp(torch.tensor([1, 2, 3]), 0))


@pytest.mark.parametrize("name", ["var_mean", "std_mean"])
@pytest.mark.parametrize("args, kwargs", [((), {}), ((1,), {}), ((1, True), {}),
                                           ((0, False, True), {}), ((True,), {}),
                                           ((), {"dim": 1, "correction": 0, "keepdim": True}),
                                           ((), {"dim": (0, 1), "unbiased": False})])
def test_var_mean_std_mean(name, args, kwargs, check_op):
    check_op(lambda t: getattr(numnet, name)(t, *args, **kwargs),
             lambda t: getattr(torch, name)(t, *args, **kwargs), (3, 4))
    assert type(getattr(numnet, name)(numnet.ones(3))) is tuple


def test_var_std_take_unbiased_in_the_dim_place(check_op):
    check_op(lambda t: numnet.var(t, False), lambda t: torch.var(t, False), (3, 4))
    check_op(lambda t: numnet.std(t, True), lambda t: torch.std(t, True), (3, 4))


# ---------------------------------------------------------------------- any, all, count_nonzero
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": (0, 1)}, {"dim": 0, "keepdim": True},
                                    {"dim": (-1,), "keepdim": True}])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.int64, numpy.bool_, numpy.uint8])
def test_any_all(kwargs, dtype):
    x = RNG.integers(0, 2, (3, 4)).astype(dtype)
    x[0] = 1
    n, t = numnet.tensor(x), torch.tensor(x)
    for name in ("any", "all"):
        assert_same(getattr(numnet, name)(n, **kwargs), getattr(torch, name)(t, **kwargs))
        assert_same(getattr(n, name)(**kwargs), getattr(t, name)(**kwargs))


def test_any_all_of_empty_and_0d():
    for x in (numpy.zeros((0, 3)), numpy.array(0.0), numpy.array(2)):
        n, t = numnet.tensor(x), torch.tensor(x)
        assert_same(numnet.any(n), torch.any(t))
        assert_same(numnet.all(n), torch.all(t))
    assert_same(numnet.all(numnet.zeros(0, 3), 0), torch.all(torch.zeros(0, 3), 0))


@pytest.mark.parametrize("dim", [None, 0, (0, 1), -1])
def test_count_nonzero(dim):
    x = RNG.integers(0, 3, (3, 4)).astype(numpy.float32)
    assert_same(numnet.count_nonzero(numnet.tensor(x), dim), torch.count_nonzero(torch.tensor(x),
                                                                                  dim))


# ---------------------------------------------------------------------- max, min, aminmax
def test_max_min_are_named_tuples_like_torch():
    x = numnet.tensor([[1.0, 3.0], [4.0, 2.0]])
    result = x.max(1)
    values, indices = result
    assert type(result).__name__ == "max" and type(x.min(1)).__name__ == "min"
    assert result.values is values and result.indices is indices
    assert indices.dtype == numpy.int64 and indices.tolist() == [1, 0]
    assert isinstance(result, numnet.return_types.max)
    assert numnet.nn.functional.MaxResult is numnet.return_types.max


@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": 0, "keepdim": True},
                                    {"keepdim": True}, {"dim": -1}])
def test_aminmax(kwargs, check_op):
    check_op(lambda t: tuple(numnet.aminmax(t, **kwargs)),
             lambda t: tuple(torch.aminmax(t, **kwargs)), (3, 4))
    result = numnet.aminmax(numnet.ones(2, 3), **kwargs)
    assert type(result).__name__ == "aminmax" and result.min is result[0]


def test_aminmax_ties_and_errors(check_op):
    x = numpy.array([[1.0, 3.0, 3.0], [1.0, 1.0, 2.0]])
    check_op(lambda t: tuple(numnet.aminmax(t)), lambda t: tuple(torch.aminmax(t)), x,
             gradcheck=False)
    check_op(lambda t: tuple(numnet.aminmax(t, dim=1)), lambda t: tuple(torch.aminmax(t, dim=1)),
             x, gradcheck=False)
    with pytest.raises(RuntimeError, match="empty"):
        numnet.aminmax(numnet.zeros(0))
    with pytest.raises(IndexError, match="non-zero size"):
        numnet.aminmax(numnet.zeros(2, 0), dim=1)
    assert numnet.aminmax(numnet.zeros(2, 0), dim=0).max.shape == (0,)


# ---------------------------------------------------------------------- scans
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scans(name, dim, check_op):
    check_op(lambda t: getattr(numnet, name)(t, dim), lambda t: getattr(torch, name)(t, dim),
             (3, 4, 2))


@pytest.mark.parametrize("case", list(WITH_ZEROS))
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros(case, dim, check_op):
    check_op(lambda t: numnet.cumprod(t, dim), lambda t: torch.cumprod(t, dim), WITH_ZEROS[case])


def test_cumprod_zero_first_and_last(check_op):
    x = numpy.array([[0.0, 2.0, 3.0, 0.5], [2.0, 3.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]])
    check_op(lambda t: numnet.cumprod(t, 1), lambda t: torch.cumprod(t, 1), x)


def test_logcumsumexp_is_stable(check_op):
    x = numpy.array([[800.0, 0.0, 799.0, -800.0], [-1000.0, -999.0, 1000.0, 1000.0]])
    check_op(lambda t: numnet.logcumsumexp(t, 1), lambda t: torch.logcumsumexp(t, 1), x)
    with pytest.raises(NotImplementedError):
        numnet.logcumsumexp(numnet.tensor([1, 2]), 0)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"])
def test_scans_of_0d_and_empty(name, check_op):
    wrap = (lambda out: tuple(out)) if name in ("cummax", "cummin") else (lambda out: out)
    check_op(lambda t: wrap(getattr(numnet, name)(t, 0)),
             lambda t: wrap(getattr(torch, name)(t, 0)), numpy.array(1.5))
    empty = numpy.zeros((2, 0))
    got = wrap(getattr(numnet, name)(numnet.tensor(empty, requires_grad=True), 1))
    expected = wrap(getattr(torch, name)(torch.tensor(empty), 1))
    for n, t in zip(got if isinstance(got, tuple) else (got,),
                    expected if isinstance(expected, tuple) else (expected,)):
        assert_same(n.detach(), t)
    with pytest.raises(IndexError):
        getattr(numnet, name)(numnet.tensor(1.0), 1)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, 1])
def test_cummax_cummin(name, dim, check_op):
    check_op(lambda t: tuple(getattr(numnet, name)(t, dim)),
             lambda t: tuple(getattr(torch, name)(t, dim)), (4, 5))


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_ties_take_the_latest_index(name, check_op):
    x = numpy.array([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0], [3.0, 1.0, 1.0, 2.0, 0.0, 0.0]])
    check_op(lambda t: tuple(getattr(numnet, name)(t, 1)),
             lambda t: tuple(getattr(torch, name)(t, 1)), x, gradcheck=False)
    for data in (x.astype(numpy.int32), x > 1.5, numpy.array([1.0, numpy.nan, 3.0, numpy.nan])):
        got = getattr(numnet, name)(numnet.tensor(data), 0)
        expected = getattr(torch, name)(torch.tensor(data), 0)
        assert type(got).__name__ == name
        assert_same(got.values, expected.values)
        assert_same(got.indices, expected.indices)


# ---------------------------------------------------------------------- sorting
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(dim, descending, check_op):
    check_op(lambda t: tuple(numnet.sort(t, dim, descending)),
             lambda t: tuple(torch.sort(t, dim, descending)), (3, 4))
    x = RNG.standard_normal((3, 4))
    assert_same(numnet.argsort(numnet.tensor(x), dim, descending),
                torch.argsort(torch.tensor(x), dim, descending))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_ties_and_nan_stable(descending):
    x = numpy.array([[2.0, 1.0, 2.0, numpy.nan, 1.0, 0.0, 2.0, numpy.nan] * 3])
    x = numpy.concatenate([x, RNG.integers(0, 3, x.shape).astype(float)])
    for data in (x, numpy.nan_to_num(x[:, :16], nan=7).astype(numpy.int64), x[:, :8] > 1):
        got = numnet.sort(numnet.tensor(data), 1, descending, stable=True)
        expected = torch.sort(torch.tensor(data), dim=1, descending=descending, stable=True)
        assert type(got).__name__ == "sort"
        assert_same(got.values, expected.values)
        assert_same(got.indices, expected.indices)
        assert_same(numnet.tensor(data).argsort(1, descending, stable=True),
                    torch.argsort(torch.tensor(data), dim=1, descending=descending, stable=True))
    small = x[:, :16]  # torch's default sort keeps ties in order up to 16 elements
    assert_same(numnet.sort(numnet.tensor(small)).indices, torch.sort(torch.tensor(small)).indices)


def test_sort_0d_empty_and_msort(check_op):
    check_op(lambda t: tuple(numnet.sort(t)), lambda t: tuple(torch.sort(t)), numpy.array(2.0))
    check_op(lambda t: tuple(numnet.sort(t, 0)), lambda t: tuple(torch.sort(t, 0)), (0, 3),
             gradcheck=False)
    check_op(numnet.msort, torch.msort, (4, 3))
    check_op(lambda t: t.msort(), lambda t: t.msort(), (4,))


@pytest.mark.parametrize("k", [0, 1, 3, 4])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_topk(k, largest, dim, check_op):
    if dim == 0 and k == 4:
        k = 3
    check_op(lambda t: tuple(numnet.topk(t, k, dim, largest)),
             lambda t: tuple(torch.topk(t, k, dim, largest)), (3, 4))


def test_topk_errors_and_0d(check_op):
    check_op(lambda t: tuple(t.topk(1)), lambda t: tuple(t.topk(1)), numpy.array(3.0))
    for k in (-1, 5):
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            numnet.topk(numnet.ones(3, 4), k)
    result = numnet.topk(numnet.tensor([1.0, 3.0, 2.0]), 2, sorted=False)
    assert sorted(result.values.tolist()) == [2.0, 3.0] and type(result).__name__ == "topk"


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue(k, keepdim, check_op):
    check_op(lambda t: tuple(numnet.kthvalue(t, k, 1, keepdim)),
             lambda t: tuple(torch.kthvalue(t, k, 1, keepdim)), (3, 4))
    check_op(lambda t: tuple(t.kthvalue(2, dim=0, keepdim=keepdim)),
             lambda t: tuple(t.kthvalue(2, dim=0, keepdim=keepdim)), (3, 4))


def test_kthvalue_errors_and_0d(check_op):
    check_op(lambda t: tuple(numnet.kthvalue(t, 1)), lambda t: tuple(torch.kthvalue(t, 1)),
             numpy.array(3.0))
    for k in (0, 5):
        with pytest.raises(RuntimeError, match="kthvalue"):
            numnet.kthvalue(numnet.ones(3, 4), k)


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_median_of_all(shape, check_op):
    check_op(numnet.median, torch.median, shape)


def test_median_of_all_ties_nan_int_empty(check_op):
    check_op(numnet.median, torch.median, numpy.array([1.0, 2.0, 2.0, 3.0, 2.0, 0.0]),
             gradcheck=False)
    for data in (numpy.array([3, 1, 2, 5]), numpy.array([1.0, numpy.nan, 0.0]), numpy.zeros(0)):
        assert_same(numnet.median(numnet.tensor(data)), torch.median(torch.tensor(data)))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_median_along_dim(dim, keepdim, check_op):
    check_op(lambda t: tuple(numnet.median(t, dim, keepdim)),
             lambda t: tuple(torch.median(t, dim, keepdim)), (4, 5))
    assert type(numnet.median(numnet.ones(2, 2), 0)).__name__ == "median"


def test_median_along_dim_ties_nan_and_errors():
    x = numpy.array([[1.0, 2.0, 2.0, 1.0, 3.0, 3.0, 2.0], [2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0],
                     [1.0, numpy.nan, 0.0, numpy.nan, 2.0, 1.0, 1.0]])
    for data in (x, x[:2].astype(numpy.int64)):
        got, expected = numnet.median(numnet.tensor(data), 1), torch.median(torch.tensor(data), 1)
        assert_same(got.values, expected.values)
        assert_same(got.indices, expected.indices)
    assert_same(numnet.median(numnet.tensor(3.0), 0).values, torch.median(torch.tensor(3.0), 0)[0])
    with pytest.raises(IndexError, match="non-zero size"):
        numnet.median(numnet.zeros(2, 0), 1)


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "prod", "logsumexp",
                                  "amax", "amin", "var", "std"])
@pytest.mark.parametrize("dim", [0, -1, (0,)])
def test_reductions_of_a_0d_tensor_over_dim_0_or_minus_1(check_op, name, dim):
    """A 0-d tensor takes dims 0 and -1 like PyTorch: the reduction is over nothing
    (the value itself; var and std with one element are nan)."""
    if name in ("logsumexp", "prod") and isinstance(dim, tuple):  # an int dim only
        dim = dim[0]
    check_op(lambda x: getattr(numnet, name)(x, dim), lambda x: getattr(torch, name)(x, dim),
             (), gradcheck=name not in ("var", "std"))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_a_0d_tensor_over_a_dim(name):
    x = numnet.tensor(3.0, requires_grad=True)
    values, indices = getattr(numnet, name)(x, -1)
    values.backward()
    assert (float(values), int(indices), indices.dtype, float(x.grad)) == (
        3.0, 0, numnet.int64, 1.0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(numnet, name)(x, 1)
