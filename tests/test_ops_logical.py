"""Tests and logic against torch: ``isnan isinf isfinite isposinf isneginf isclose allclose
equal nan_to_num``, the logical ops, the bitwise ops and operators, comparisons."""

import operator

import numpy
import pytest
import torch

import numnet

SPECIAL = numpy.array([0.0, -1.5, numpy.nan, numpy.inf, -numpy.inf, 2.0])
INT_DTYPES = ["uint8", "int8", "int16", "int32", "int64"]


def assert_like_torch(got, expected):
    """Same shape, same dtype, equal values (NaN equal to NaN)."""
    assert isinstance(got, numnet.Tensor), f"expected a Tensor, got {type(got).__name__}"
    expected = expected.numpy()
    assert got.shape == expected.shape, f"shape {got.shape} != torch {expected.shape}"
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != torch {expected.dtype}"
    numpy.testing.assert_array_equal(got.data, expected)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "uint8", "bool"])
def test_classification(name, dtype):
    x = SPECIAL.astype(dtype) if dtype.startswith("float") else numpy.array([0, 1, 1], dtype)
    assert_like_torch(getattr(numnet, name)(numnet.tensor(x)), getattr(torch, name)(
        torch.tensor(x)))
    assert_like_torch(getattr(numnet.tensor(x), name)(), getattr(torch.tensor(x), name)())
    assert_like_torch(getattr(numnet, name)(numnet.tensor(x[0])),
                      getattr(torch, name)(torch.tensor(x[0])))


@pytest.mark.parametrize("kwargs", [{}, dict(nan=1.0, posinf=2.0), dict(neginf=-7.0)])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_nan_to_num(kwargs, dtype):
    x = SPECIAL.astype(dtype)
    assert_like_torch(numnet.nan_to_num(numnet.tensor(x), **kwargs),
                      torch.nan_to_num(torch.tensor(x), **kwargs))
    assert_like_torch(numnet.tensor(x).nan_to_num(**kwargs),
                      torch.tensor(x).nan_to_num(**kwargs))


def test_nan_to_num_gradient_and_integers(check_op):
    check_op(numnet.nan_to_num, torch.nan_to_num, (3, 4))
    x = numnet.tensor(SPECIAL, requires_grad=True)
    t = torch.tensor(SPECIAL, requires_grad=True)
    numnet.nan_to_num(x, posinf=1.0).sum().backward()
    torch.nan_to_num(t, posinf=1.0).sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    assert_like_torch(numnet.nan_to_num(numnet.tensor([1, 2])),
                      torch.nan_to_num(torch.tensor([1, 2])))


@pytest.mark.parametrize("kwargs", [{}, dict(equal_nan=True), dict(rtol=0.1, atol=0.0),
                                    dict(rtol=0.0, atol=1e-3)])
def test_isclose_allclose(kwargs):
    a = numpy.array([1.0, numpy.nan, numpy.inf, -numpy.inf, 1.0, 100.0, 0.0])
    b = numpy.array([1.0 + 1e-6, numpy.nan, numpy.inf, numpy.inf, 1.05, 109.0, 5e-4])
    for x, y in ((a, b), (a, b[:1]), (a[:1], b)):
        n, t = (numnet.tensor(x), numnet.tensor(y)), (torch.tensor(x), torch.tensor(y))
        assert_like_torch(numnet.isclose(*n, **kwargs), torch.isclose(*t, **kwargs))
        assert_like_torch(n[0].isclose(n[1], **kwargs), t[0].isclose(t[1], **kwargs))
        got = numnet.allclose(*n, **kwargs)
        assert type(got) is bool and got == torch.allclose(*t, **kwargs)
        assert n[0].allclose(n[1], **kwargs) == got
    ints = numpy.array([1, 2, 3]), numpy.array([1, 3, 5])
    assert_like_torch(numnet.isclose(*map(numnet.tensor, ints), atol=1),
                      torch.isclose(*map(torch.tensor, ints), atol=1))
    bools = numpy.array([True, False]), numpy.array([True, True])
    assert_like_torch(numnet.isclose(*map(numnet.tensor, bools)),
                      torch.isclose(*map(torch.tensor, bools)))


def test_isclose_errors():
    for args, kwargs in (((numpy.array([1]), numpy.array([1.0])), {}),
                         ((numpy.array([1.0]), numpy.array([1.0])), dict(rtol=-1.0))):
        with pytest.raises(RuntimeError):
            torch.isclose(*map(torch.tensor, args), **kwargs)
        with pytest.raises(RuntimeError):
            numnet.isclose(*map(numnet.tensor, args), **kwargs)


def test_equal():
    pairs = [([1.0, 2.0], [1.0, 2.0]), ([1.0], [1.0, 1.0]), ([1, 2], [1.0, 2.0]),
             ([numpy.nan], [numpy.nan]), ([[1, 2]], [1, 2]), ([True], [1])]
    for a, b in pairs:
        got = numnet.equal(numnet.tensor(a), numnet.tensor(b))
        assert type(got) is bool and got == torch.equal(torch.tensor(a), torch.tensor(b)), (a, b)
        assert numnet.tensor(a).equal(numnet.tensor(b)) == got


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(name):
    a = numpy.array([[0.0, 1.5, -2.0, 0.0]])
    for b in (numpy.array([[0], [3]]), numpy.array([False, True, False, True]),
              numpy.array([0.0, 0.0, numpy.nan, 1.0], numpy.float32), numpy.array(2)):
        assert_like_torch(getattr(numnet, name)(numnet.tensor(a), numnet.tensor(b)),
                          getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        assert_like_torch(getattr(numnet.tensor(b), name)(numnet.tensor(a)),
                          getattr(torch.tensor(b), name)(torch.tensor(a)))


def test_logical_not():
    for x in (numpy.array([0.0, -0.0, numpy.nan, 2.0]), numpy.array([0, 3], numpy.uint8),
              numpy.array([True, False]), numpy.array(0)):
        assert_like_torch(numnet.logical_not(numnet.tensor(x)), torch.logical_not(torch.tensor(x)))
        assert_like_torch(numnet.tensor(x).logical_not(), torch.tensor(x).logical_not())


BITWISE_OPERATORS = {"&": operator.and_, "|": operator.or_, "^": operator.xor,
                     "<<": operator.lshift, ">>": operator.rshift}
BITWISE_FUNCTIONS = {"&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor",
                     "<<": "bitwise_left_shift", ">>": "bitwise_right_shift"}


@pytest.mark.parametrize("symbol", list(BITWISE_OPERATORS))
@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
def test_bitwise_like_torch(symbol, dtype):
    op = BITWISE_OPERATORS[symbol]
    if dtype == "bool":
        a, b = numpy.array([True, True, False, False]), numpy.array([True, False, True, False])
    elif dtype == "uint8":
        a, b = numpy.array([0, 5, 200, 255], dtype), numpy.array([1, 3, 7, 2], dtype)
    else:
        a, b = numpy.array([0, 5, -6, -128], dtype), numpy.array([1, 3, 7, 2], dtype)
    n, t = (numnet.tensor(a), numnet.tensor(b)), (torch.tensor(a), torch.tensor(b))
    others = [(n[1], t[1]), (n[1][:1], t[1][:1]), (numnet.tensor(b[1]), torch.tensor(b[1])),
              (3, 3), (True, True)]
    for n_other, t_other in others:
        for swap in (False, True):
            n_args, t_args = ((n_other, n[0]), (t_other, t[0])) if swap else \
                ((n[0], n_other), (t[0], t_other))
            try:
                expected = op(*t_args)
            except RuntimeError:
                with pytest.raises(RuntimeError):
                    op(*n_args)
                continue
            assert_like_torch(op(*n_args), expected)
            name = BITWISE_FUNCTIONS[symbol]
            if isinstance(n_args[0], numnet.Tensor):
                assert_like_torch(getattr(numnet, name)(*n_args), getattr(torch, name)(*t_args))
                assert_like_torch(getattr(n_args[0], name)(n_args[1]),
                                  getattr(t_args[0], name)(t_args[1]))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_shifts_outside_the_bit_width(dtype):
    bits = 8 * numpy.dtype(dtype).itemsize
    a = numpy.array([1, 3, -7, -1, 7, 1] if dtype != "uint8" else [1, 3, 200, 255, 7, 1], dtype)
    shift = numpy.array([bits - 1, bits, bits + 5, 64, 1, 0] if dtype != "uint8" else
                        [7, 8, 9, 64, 1, 0], dtype if bits == 64 else "int64")
    if dtype != "uint8":
        shift[-1] = -1  # a negative shift
    for op in (operator.lshift, operator.rshift):
        assert_like_torch(op(numnet.tensor(a), numnet.tensor(shift)),
                          op(torch.tensor(a), torch.tensor(shift)))


@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
def test_bitwise_not(dtype):
    x = numpy.array([True, False]) if dtype == "bool" else numpy.array([0, 5, 127], dtype)
    assert_like_torch(~numnet.tensor(x), ~torch.tensor(x))
    assert_like_torch(numnet.bitwise_not(numnet.tensor(x)), torch.bitwise_not(torch.tensor(x)))
    assert_like_torch(numnet.tensor(x).bitwise_not(), torch.tensor(x).bitwise_not())


def test_bitwise_on_floats_raises():
    f = [1.0, 2.0]
    for fn in (lambda m: m.tensor(f) & 1, lambda m: 1 | m.tensor(f),
               lambda m: m.bitwise_xor(m.tensor([1]), 1.5), lambda m: m.tensor(f) << 1,
               lambda m: m.bitwise_not(m.tensor(f)),
               lambda m: m.tensor([True]) << m.tensor([True])):
        with pytest.raises(RuntimeError):
            fn(torch)
        with pytest.raises(RuntimeError):
            fn(numnet)
    with pytest.raises(TypeError):
        ~torch.tensor(f)
    with pytest.raises(TypeError):
        ~numnet.tensor(f)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater",
                                  "greater_equal", "less", "less_equal", "not_equal"])
def test_comparisons(name):
    a = numpy.array([[1.0, 2.0, numpy.nan], [0.0, -1.0, 3.0]])
    for b in (numpy.array([1.0, 3.0, numpy.nan]), numpy.array(2, numpy.int8)):
        assert_like_torch(getattr(numnet, name)(numnet.tensor(a), numnet.tensor(b)),
                          getattr(torch, name)(torch.tensor(a), torch.tensor(b)))
        assert_like_torch(getattr(numnet.tensor(a), name)(numnet.tensor(b)),
                          getattr(torch.tensor(a), name)(torch.tensor(b)))
    assert_like_torch(getattr(numnet, name)(numnet.tensor([1, 2, 3]), 2.5),
                      getattr(torch, name)(torch.tensor([1, 2, 3]), 2.5))
    with pytest.raises(TypeError):
        getattr(numnet, name)(numnet.tensor([1.0]), None)


def test_where_rules():
    cond = numpy.array([True, False, True])
    assert_like_torch(numnet.where(numnet.tensor(cond), numnet.tensor([1, 2, 3]), 2.5),
                      torch.where(torch.tensor(cond), torch.tensor([1, 2, 3]), 2.5))
    assert_like_torch(numnet.tensor([1, 2, 3]).where(numnet.tensor(cond), 0),
                      torch.tensor([1, 2, 3]).where(torch.tensor(cond), 0))
    with pytest.raises(RuntimeError):
        torch.where(torch.tensor([1, 0, 1]), torch.tensor([1.0]), 0.0)
    with pytest.raises(RuntimeError):
        numnet.where(numnet.tensor([1, 0, 1]), numnet.tensor([1.0]), 0.0)
