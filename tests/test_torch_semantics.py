"""Issue 13, point 8: results that silently differed from PyTorch's, each against torch."""

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F

TIES = numpy.array([[[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 0.0, 3.0], [1.0, 1.0, 1.0, 1.0]],
                    [[0.0, 0.0, 5.0, 5.0], [4.0, 1.0, 4.0, 4.0], [2.0, 0.0, 2.0, 0.0]]])


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [(1, 2), [0], (0,)])
def test_max_min_with_several_dims_raise_type_error_like_torch(name, dim):
    with pytest.raises(TypeError):
        getattr(torch.zeros(2, 3, 4), name)(dim=dim)
    with pytest.raises(TypeError, match=f"a{name}"):
        getattr(numnet.zeros(2, 3, 4), name)(dim=dim)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(), 0, -1, (1, 2), (0, 2), (0, 1, 2), [2, 0]])
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_amin_split_ties_evenly(name, dim, keepdim, check_op):
    for fn in (getattr(numnet, name), getattr(F, name)):
        check_op(lambda x, fn=fn: fn(x, dim=dim, keepdim=keepdim),
                 lambda x: getattr(torch, name)(x, dim=dim, keepdim=keepdim), TIES,
                 gradcheck=False)
    check_op(lambda x: getattr(x, name)(dim, keepdim),
             lambda x: getattr(x, name)(dim, keepdim), (2, 3, 4))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_gradients_with_ties_match_torch(name, check_op):
    # all elements: split evenly among ties; along one dim: to the one index returned
    check_op(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), TIES * 0,
             gradcheck=False)
    check_op(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), TIES, gradcheck=False)
    for dim in (0, 1, 2, -1):
        check_op(lambda x, d=dim: getattr(x, name)(d), lambda x, d=dim: getattr(x, name)(d),
                 TIES, gradcheck=False)


def test_the_issue_example_gradient_has_two_nonzeros():
    x = numnet.zeros(2, 3, 4, requires_grad=True)
    x.amax(dim=(1, 2)).sum().backward()
    t = torch.zeros(2, 3, 4, requires_grad=True)
    t.amax(dim=(1, 2)).sum().backward()
    numpy.testing.assert_allclose(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize("call", [
    lambda m, x: m.amax(x, dim=(0, 0)), lambda m, x: m.amax(x, dim=3),
    lambda m, x: m.amax(m.zeros(0, 3)), lambda m, x: m.amax(m.zeros(3, 0), dim=1),
    lambda m, x: m.max(m.zeros(0, 3)), lambda m, x: m.min(m.zeros(3, 0), 1),
    lambda m, x: m.argmin(m.tensor([True, False])),
    lambda m, x: m.argmax(m.tensor([True, False])),
])
def test_reduction_errors_have_torch_types(call):
    with pytest.raises(Exception) as expected:
        call(torch, torch.zeros(2, 3))
    with pytest.raises(expected.type):
        call(numnet, numnet.zeros(2, 3))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_argmin_and_min_indices_at_the_integer_minimum(dtype, dim):
    info = numpy.iinfo(dtype)
    data = numpy.array([[3, info.min, 0], [info.min, info.max, info.min]], dtype=dtype)
    assert numnet.argmin(numnet.tensor(data), dim).data.tolist() == \
        torch.argmin(torch.tensor(data), dim).tolist()
    assert numnet.argmax(numnet.tensor(data), dim).data.tolist() == \
        torch.argmax(torch.tensor(data), dim).tolist()
    if dim is not None:
        values, indices = numnet.tensor(data).min(dim)
        expected = torch.tensor(data).min(dim)
        assert values.data.tolist() == expected.values.tolist()
        assert indices.data.tolist() == expected.indices.tolist()


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
@pytest.mark.parametrize("value", [-2.0, 3.0])
def test_relu_of_a_0d_tensor_is_0d(name, value, check_op):
    check_op(getattr(F, name), getattr(TF, name), numpy.array(value))


def test_leaky_relu_slope_above_one_0d(check_op):
    check_op(lambda x: F.leaky_relu(x, 2.0), lambda x: TF.leaky_relu(x, 2.0),
             numpy.array(-1.5))


BASES = numpy.array([0.0, 0.0, 0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 1.5])
EXPONENTS = numpy.array([0.0, 2.0, 0.5, -1.0, -0.5, 0.0, 0.0, 2.0, -1.0])


def _assert_same(got, expected):
    numpy.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("exponent", [0, 0.0, 1, 2, 0.5, -1.0])
def test_pow_scalar_exponent_gradient_at_zero(exponent):
    data = numpy.array([0.0, 1.0, -1.0, 2.0])
    x = numnet.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    (x ** exponent).sum().backward()
    (t ** exponent).sum().backward()
    _assert_same(x.grad.data, t.grad.numpy())


def test_pow_tensor_exponent_gradients_at_zero_base():
    a, b = numnet.tensor(BASES, requires_grad=True), numnet.tensor(EXPONENTS, requires_grad=True)
    ta, tb = torch.tensor(BASES, requires_grad=True), torch.tensor(EXPONENTS, requires_grad=True)
    y, ty = a ** b, ta ** tb
    _assert_same(y.data, ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    _assert_same(a.grad.data, ta.grad.numpy())
    _assert_same(b.grad.data, tb.grad.numpy())


def test_pow_scalar_zero_base_gradient_of_exponent():
    b = numnet.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    tb = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    (0.0 ** b).sum().backward()
    (0.0 ** tb).sum().backward()
    _assert_same(b.grad.data, tb.grad.numpy())


@pytest.mark.parametrize("shape, dim", [((0, 3), 0), ((3, 0), 1), ((0,), None),
                                        ((2, 0, 3), (0, 1))])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_mean_over_nothing_is_nan(shape, dim, dtype):
    data = numpy.zeros(shape, dtype)
    x = numnet.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    y, ty = x.mean() if dim is None else x.mean(dim), t.mean() if dim is None else t.mean(dim)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    _assert_same(y.data, ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.shape == tuple(t.grad.shape)


def _mask(*rows):
    return numpy.array(rows, dtype=bool)


# index expressions mixing ints with index arrays, where torch's rule and NumPy's differ
# (marked *) or agree; applied to a (2, 3, 4, 5) input
S = slice(None)
INDEXES = [
    (0, S, [0, 1]),                                 # * int + list separated by a slice
    (0, S, [0, 1], [1, 2]),                         # * two adjacent lists after int, slice
    (S, 0, S, [0, 1]),                              # *
    (0, Ellipsis, [1, 2]),                          # *
    (None, 0, S, [1]),                              # *
    (numpy.array(0), S, [0, 1]),                    # * a 0-d index tensor is an int
    (0, S, [0, 1], 1),                              # *
    ([0, 1], S, 0, [0, 1]),                         # two lists separated by a slice and int
    ([0, 1], 0),                                    # int + list adjacent
    (1, [1, 1, 0]),
    (Ellipsis, 0, [1, 2]),
    ([1, 0, 1],),
    ([[0, 1], [1, 1]], S, [2, 3]),
    (0, [[0], [1]], S, [1, 2]),
    (_mask([1, 0, 1], [0, 1, 1]), S, 0),            # boolean masks with ints
    (_mask([1, 0, 1], [0, 1, 1]), 0),
    (0, _mask(1, 0, 1), S, [1, 2]),
    (S, _mask(1, 0, 1), S, [1, 2]),
    (1, S, _mask(1, 1, 0, 1)),
    (True, 0, S, [1]),                              # bool scalars
    (0, True, S, [1]),
    ([0, 1], True),
    (False, 0),
    (0, 1, 2, 3),
    (slice(1, None), -1),
    (S, S, S, -1),
    (Ellipsis, None, 2),
    (Ellipsis, 0, Ellipsis),                        # torch: a second ... is no dims
]


@pytest.mark.parametrize("index", INDEXES, ids=[str(i) for i in range(len(INDEXES))])
def test_getitem_follows_torch_rule(index, check_op):
    def to_torch(part):
        return torch.tensor(part) if isinstance(part, numpy.ndarray) else part

    def as_numnet(part):
        return numnet.tensor(part) if isinstance(part, numpy.ndarray) else part

    torch_index = tuple(to_torch(p) for p in index)
    check_op(lambda x: x[index], lambda x: x[torch_index], (2, 3, 4, 5))
    check_op(lambda x: x[tuple(as_numnet(p) for p in index)], lambda x: x[torch_index],
             (2, 3, 4, 5), gradcheck=False)


def test_getitem_issue_example_and_repeated_index_gradient():
    assert numnet.zeros(2, 3, 4)[0, :, [0, 1]].shape == (3, 2)
    x = numnet.ones(2, 3, 4, requires_grad=True)
    x[0, :, [1, 1, 2]].sum().backward()
    t = torch.ones(2, 3, 4, requires_grad=True)
    t[0, :, [1, 1, 2]].sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize("index", [(0, 0, 0), (5,), (0, [3]), (_mask(1, 0, 1),),
                                   (numpy.array([0.5]),)])
def test_getitem_errors_have_torch_types(index):
    torch_index = tuple(torch.tensor(p) if isinstance(p, numpy.ndarray) else p for p in index)
    with pytest.raises(IndexError):
        torch.zeros(2, 3)[torch_index]
    with pytest.raises(IndexError):
        numnet.zeros(2, 3)[index]


@pytest.mark.parametrize("values", [
    [float("nan"), 1.0, float("inf")], [float("nan"), 1.5, -float("inf")], [float("nan")],
    [float("nan"), 1e9, 2.5], [-float("inf"), 3.0, 100.0]])
def test_repr_of_nan_and_inf_is_torch_s(values):
    # before: tensor([nan., 1., inf.])
    assert repr(numnet.tensor(values)) == repr(torch.tensor(values))


# ---------------------------------------------------------------------- issue 13, points 2 and 7
def test_where_with_a_condition_alone_is_nonzero_as_tuple():
    for array in (numpy.array([1, 0, 2]), numpy.array([[1, 0], [0, 3]]), numpy.array(1)):
        got = numnet.where(numnet.tensor(array) > 0)
        want = torch.where(torch.tensor(array) > 0)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.dtype == numpy.int64 and g.tolist() == w.tolist()


def test_dtype_names_and_conversions_are_torchs():
    assert numnet.float is numnet.float32 and numnet.double is numnet.float64
    assert numnet.long is numnet.int64 and numnet.int is numnet.int32
    assert numnet.half is numnet.float16 and numnet.bool == numpy.dtype(bool)
    x = numnet.arange(3)
    assert (x.int().dtype, x.bool().dtype, x.half().dtype) == (numnet.int32, numnet.bool,
                                                               numnet.float16)
    assert x.type() == "torch.LongTensor" and x.float().type() == "torch.FloatTensor"
    assert x.type("torch.DoubleTensor").dtype == numnet.float64
    assert (x == None) is False and (x != None) is True  # noqa: E711 - the point of the test
    with pytest.raises(TypeError):
        numnet.eq(x, None)


def test_integer_division_and_floating_functions_give_float32():
    assert (numnet.arange(6) / 5).dtype == numnet.float32
    assert (numnet.arange(6) / numnet.arange(1, 7)).dtype == numnet.float32
    assert numnet.exp(numnet.arange(3)).dtype == numnet.float32
    assert (numnet.arange(3).int() * 2.5).dtype == numnet.float32
    layer = numnet.nn.Linear(6, 2)
    assert layer(numnet.arange(6) / 5).dtype == numnet.float32


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, 3) + lib.ones(4),
    lambda lib: lib.ones(2, 3) @ lib.ones(4, 5),
    lambda lib: lib.ones(2, 3, 4) @ lib.ones(2, 5, 6),
    lambda lib: lib.nn.Linear(3, 4)(lib.ones(2, 5)),
    lambda lib: lib.nn.functional.linear(lib.ones(2, 3), lib.ones(4, 5)),
    lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.ones(1, 2, 8, 8)),
    lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.ones(8, 8)),
    lambda lib: lib.nn.functional.mse_loss(lib.ones(3), lib.ones(4)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 5)),
    lambda lib: lib.nn.RNN(3, 4)(lib.ones(2, 5, 6)),
    lambda lib: lib.nn.functional.pad(lib.ones(2, 3), (1,)),
    lambda lib: lib.clamp(lib.ones(2)),
    lambda lib: lib.nn.functional.cross_entropy(lib.ones(3, 4, 5), lib.zeros(3).long()),
    lambda lib: lib.nn.functional.nll_loss(lib.ones(3, 4), lib.zeros(2).long()),
    lambda lib: lib.nn.functional.nll_loss(lib.ones(3), lib.tensor([1, 2])),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 3, 2, 2)),
    lambda lib: lib.ones(2, 3).transpose(0, 4),
    lambda lib: lib.ones(2, 3).unsqueeze(4),
    lambda lib: lib.ones(2, 3).permute(0, 5),
    lambda lib: lib.cat([lib.ones(2)], dim=3),
    lambda lib: lib.ones(2, 3).softmax(4),
    lambda lib: lib.ones(2, 3).flatten(0, 5),
    lambda lib: lib.ones(2, 3).sum(dim=(0, 5)),
], ids=lambda make: "")
def test_errors_have_torchs_exception_types(make):
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(Exception) as ours:
        make(numnet)
    assert isinstance(ours.value, type(theirs.value)), (
        f"{ours.value!r} is not a {type(theirs.value).__name__}")
