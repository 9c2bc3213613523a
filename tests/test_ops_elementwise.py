"""Element-wise math, rounding and rounded division, arithmetic's ``alpha`` and
``rounding_mode``, and PyTorch's type promotion, against torch (and gradcheck)."""

import operator

import numpy
import pytest
import torch

import numnet

RNG = numpy.random.default_rng(13)


def _normal(shape, low=None, high=None, away_from=None):
    """N(0, 1) samples, clipped into [low, high], nudged 0.15 away from ``away_from``."""
    x = RNG.standard_normal(shape)
    if low is not None or high is not None:
        x = numpy.clip(x, low, high)
    if away_from is not None:
        near = numpy.abs(x - away_from) < 0.15
        x = numpy.where(near, away_from + 0.15 * numpy.where(x >= away_from, 1, -1), x)
    return numpy.asarray(x, dtype=numpy.float64)


def assert_like_torch(got, expected, rtol=1e-6, atol=1e-8):
    """Same shape, same dtype, same values (NaN where torch has NaN)."""
    assert isinstance(got, numnet.Tensor), f"expected a Tensor, got {type(got).__name__}"
    expected = expected.detach().numpy()
    assert got.shape == expected.shape, f"shape {got.shape} != torch {expected.shape}"
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != torch {expected.dtype}"
    numpy.testing.assert_allclose(got.data, expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------- floating functions
UNARY_INPUTS = {
    "sin": {}, "cos": {}, "tan": dict(low=-1.2, high=1.2), "asin": dict(low=-0.9, high=0.9),
    "acos": dict(low=-0.9, high=0.9), "atan": {}, "sinh": {}, "cosh": {}, "asinh": {},
    "acosh": dict(low=1.2, high=5.0), "atanh": dict(low=-0.9, high=0.9), "exp2": {},
    "expm1": {}, "log2": dict(low=0.2, high=5.0), "log10": dict(low=0.2, high=5.0),
    "log1p": dict(low=-0.8, high=5.0), "rsqrt": dict(low=0.2, high=5.0),
    "reciprocal": dict(away_from=0.0), "square": {}, "erf": {}, "erfc": {},
    "erfinv": dict(low=-0.9, high=0.9), "sign": dict(away_from=0.0), "sgn": dict(away_from=0.0),
    "exp": {}, "log": dict(low=0.2, high=5.0), "sqrt": dict(low=0.2, high=5.0),
    "sigmoid": {}, "tanh": {}, "floor": {}, "ceil": {}, "round": {}, "trunc": {}, "frac": {},
    "abs": dict(away_from=0.0), "neg": {},
}


@pytest.mark.parametrize("shape", [(3, 4), ()])
@pytest.mark.parametrize("name", sorted(UNARY_INPUTS))
def test_unary(name, shape, check_op):
    x = _normal(shape, **UNARY_INPUTS[name])
    if name in ("floor", "ceil", "round", "trunc", "frac"):  # not within 1e-3 of a jump
        x = numpy.where(numpy.abs(x * 2 - numpy.round(x * 2)) < 1e-3, x + 0.01, x)
    if name == "sgn":  # torch's gradient is a ZeroTensor, which check_op cannot read
        assert_like_torch(numnet.sgn(numnet.tensor(x)), torch.sgn(torch.tensor(x)))
        return
    check_op(getattr(numnet, name), getattr(torch, name), x)
    check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, gradcheck=False,
             float32=False)


@pytest.mark.parametrize("name", ["sin", "exp", "sqrt", "log1p", "erf", "erfinv", "rsqrt",
                                  "reciprocal", "atan", "sigmoid", "tanh", "exp2", "log10"])
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int32", "int64", "float16"])
def test_floating_functions_on_other_dtypes(name, dtype):
    """Integers and bool give float32 (the default dtype); float16 stays float16."""
    x = numpy.array([[0, 1], [1, 0]] if dtype == "bool" else [[1, 2], [0, 1]], dtype=dtype)
    if dtype == "float16":
        x = x / 4
    got = getattr(numnet, name)(numnet.tensor(x))
    assert_like_torch(got, getattr(torch, name)(torch.tensor(x)), rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign", "square", "abs",
                                  "neg", "positive"])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64"])
def test_integer_keeping_functions(name, dtype):
    x = numpy.array([[0, 3], [7, 2]] if dtype == "uint8" else [[-3, 0], [7, -1]], dtype=dtype)
    assert_like_torch(getattr(numnet, name)(numnet.tensor(x)), getattr(torch, name)(
        torch.tensor(x)))


def test_bool_input_rules():
    b = numpy.array([True, False])
    for name in ("sign", "square"):
        assert_like_torch(getattr(numnet, name)(numnet.tensor(b)),
                          getattr(torch, name)(torch.tensor(b)))
    for name in ("abs", "neg", "positive", "floor", "frac", "trunc"):
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.tensor(b))
        with pytest.raises(RuntimeError):
            getattr(numnet, name)(numnet.tensor(b))


def test_special_values_like_torch():
    x = numpy.array([0.0, -0.0, numpy.nan, numpy.inf, -numpy.inf, 0.5, -2.5, 1.5, 2.5])
    for name in ("sign", "sgn", "floor", "ceil", "round", "trunc", "frac", "erfinv", "rsqrt",
                 "reciprocal", "square", "expm1", "log1p", "exp2", "erf", "erfc"):
        with numpy.errstate(all="ignore"):
            assert_like_torch(getattr(numnet, name)(numnet.tensor(x)),
                              getattr(torch, name)(torch.tensor(x)))


@pytest.mark.parametrize("decimals", [0, 1, 2, -1, -2])
def test_round_decimals_halves_to_even(decimals, check_op):
    x = numpy.array([0.5, 1.5, 2.5, -0.5, 1.25, 1.35, 12345.5, 1234.5, 1250.0, -0.049])
    assert_like_torch(numnet.round(numnet.tensor(x), decimals=decimals),
                      torch.round(torch.tensor(x), decimals=decimals))
    check_op(lambda t: numnet.round(t, decimals=decimals),
             lambda t: torch.round(t, decimals=decimals), numpy.array([0.123, -7.77]))
    with pytest.raises(RuntimeError):
        numnet.round(numnet.tensor([1, 2]), decimals=1)


# ---------------------------------------------------------------------- binary functions
BINARY_SHAPES = [((3, 4), (3, 4)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 3))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
@pytest.mark.parametrize("name", ["atan2", "hypot", "copysign", "xlogy", "remainder", "fmod",
                                  "float_power", "maximum", "minimum"])
def test_binary(name, shapes, check_op):
    a = _normal(shapes[0], away_from=0.0)
    b = _normal(shapes[1], away_from=0.0)
    if name in ("xlogy", "float_power"):
        b = numpy.abs(b)
        a = numpy.asarray(numpy.abs(a)) if name == "float_power" else a
    if name in ("remainder", "fmod"):  # several periods, a / b never an integer
        a = numpy.asarray(_normal(shapes[0]) * 3.1)
    check_op(getattr(numnet, name), getattr(torch, name), a, b,
             float32=name != "float_power")
    if name != "maximum":
        check_op(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), a, b,
                 gradcheck=False, float32=False)


def test_float_power_is_float64(check_op):
    x = numpy.abs(_normal((3,))) + 0.5
    for n, t in ((numnet.tensor(x.astype(numpy.float32)), torch.tensor(x.astype(numpy.float32))),
                 (numnet.tensor([1, 2, 3]), torch.tensor([1, 2, 3]))):
        assert_like_torch(numnet.float_power(n, 2), torch.float_power(t, 2))


def test_copysign_and_xlogy_at_zero(check_op):
    check_op(numnet.copysign, torch.copysign, numpy.array([0.0, -0.0, 2.0, -1.5]),
             numpy.array([-1.0, 1.0, -1.0, 2.0]), gradcheck=False)
    a = numpy.array([0.0, 0.0, 1.0, 2.0])
    b = numpy.array([0.0, numpy.nan, 2.0, 0.5])
    assert_like_torch(numnet.xlogy(numnet.tensor(a), numnet.tensor(b)),
                      torch.xlogy(torch.tensor(a), torch.tensor(b)))
    assert_like_torch(numnet.xlogy(2, numnet.tensor([1, 2])), torch.xlogy(2, torch.tensor([1, 2])))


@pytest.mark.parametrize("weight", [0.25, 0.75, 1.0, "tensor", "0-d"])
def test_lerp(weight, check_op):
    start, end = _normal((2, 3)), _normal((3,))
    if weight == "tensor":
        check_op(numnet.lerp, torch.lerp, start, end, _normal((2, 1)))
    elif weight == "0-d":
        check_op(numnet.lerp, torch.lerp, start, end, numpy.array(0.6))
    else:
        check_op(lambda s, e: numnet.lerp(s, e, weight), lambda s, e: torch.lerp(s, e, weight),
                 start, end)
        check_op(lambda s, e: s.lerp(e, weight), lambda s, e: s.lerp(e, weight), start, end,
                 gradcheck=False, float32=False)


def test_lerp_dtype_rules():
    f32 = numpy.ones(3, numpy.float32)
    for end, weight in ((f32.astype(numpy.float64), 0.5), (f32, f32.astype(numpy.float64))):
        with pytest.raises(RuntimeError):
            torch.lerp(torch.tensor(f32), torch.tensor(end), torch.tensor(weight))
        with pytest.raises(RuntimeError):
            numnet.lerp(numnet.tensor(f32), numnet.tensor(end), numnet.tensor(weight))
    got = numnet.lerp(numnet.tensor(f32), numnet.tensor(f32), numnet.tensor(0.5, dtype="float64"))
    assert got.dtype == numpy.float32


# ---------------------------------------------------------------------- clamp
@pytest.mark.parametrize("bounds", ["both", "min", "max", "min>max"])
def test_clamp_tensor_bounds(bounds, check_op):
    x = _normal((3, 4))
    low, high = _normal((4,)) - 0.5, _normal((3, 1)) + 0.5
    if bounds == "min>max":
        # NOTE: contiguous, as gradcheck perturbs x.data.reshape(-1) in place
        low, high = numpy.ascontiguousarray(numpy.broadcast_to(high, (3, 4))) + 1.0, low
    if bounds == "both" or bounds == "min>max":
        check_op(numnet.clamp, torch.clamp, x, low, high)
    elif bounds == "min":
        check_op(lambda t, m: numnet.clamp(t, min=m), lambda t, m: torch.clamp(t, min=m), x, low)
        check_op(numnet.clamp_min, torch.clamp_min, x, low)
    else:
        check_op(lambda t, m: numnet.clamp(t, max=m), lambda t, m: torch.clamp(t, max=m), x, high)
        check_op(lambda t, m: t.clamp_max(m), lambda t, m: t.clamp_max(m), x, high)


def test_clamp_at_ties_and_promotion():
    x = torch.tensor([1.5, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    low = torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    high = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64, requires_grad=True)
    expected = torch.autograd.grad(torch.clamp(x, low, high).sum(), [x, low, high])
    nx, nlow, nhigh = (numnet.tensor(t.detach().numpy(), requires_grad=True)
                       for t in (x, low, high))
    numnet.clamp(nx, nlow, nhigh).sum().backward()
    for got, want in zip((nx, nlow, nhigh), expected):
        numpy.testing.assert_array_equal(got.grad.data, want.numpy())
    i = [1, 5, -3]
    for args in ((0.5,), (None, 2.5), (2, 4), (torch.tensor(1.5),), (2, 1)):
        n_args = [numnet.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in args]
        assert_like_torch(numnet.clamp(numnet.tensor(i), *n_args),
                          torch.clamp(torch.tensor(i), *args))
    assert_like_torch(numnet.clamp_min(numnet.tensor(i), 2.5),
                      torch.clamp_min(torch.tensor(i), 2.5))
    with pytest.raises(RuntimeError):
        numnet.clamp(numnet.tensor(i))


# ---------------------------------------------------------------------- rounded division
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "float32", "float64"])
def test_division_modes_like_torch(dtype):
    a = numpy.array([7, -7, 7, -7, 6, 0, 5, -5], dtype=dtype if dtype != "uint8" else "int64")
    b = numpy.array([2, 2, -2, -2, 3, 5, -3, 3], dtype=a.dtype)
    if dtype == "uint8":
        a, b = numpy.abs(a).astype(dtype), numpy.abs(b).astype(dtype)
    na, nb, ta, tb = numnet.tensor(a), numnet.tensor(b), torch.tensor(a), torch.tensor(b)
    for mode in ("trunc", "floor"):
        assert_like_torch(numnet.div(na, nb, rounding_mode=mode),
                          torch.div(ta, tb, rounding_mode=mode))
    assert_like_torch(na / nb, ta / tb)
    assert_like_torch(numnet.true_divide(na, nb), torch.true_divide(ta, tb))
    assert_like_torch(na // nb, ta // tb)
    assert_like_torch(na % nb, ta % tb)
    assert_like_torch(numnet.fmod(na, nb), torch.fmod(ta, tb))
    assert_like_torch(7 // nb, 7 // tb)
    assert_like_torch(7 % nb, 7 % tb)
    assert_like_torch(na // 2.5, ta // 2.5)
    assert_like_torch(numnet.remainder(na, 2.5), torch.remainder(ta, 2.5))


def test_float_division_edge_values():
    a = numpy.array([-0.0, 1.0, 1.0, -5.0, 5.0, -5.0, 4.0, 7.0])
    b = numpy.array([2.0, -0.0, 0.0, numpy.inf, numpy.inf, 3.0, -2.0, 0.5])
    na, nb, ta, tb = numnet.tensor(a), numnet.tensor(b), torch.tensor(a), torch.tensor(b)
    with numpy.errstate(all="ignore"):
        for n, t in ((na // nb, ta // tb), (na % nb, ta % tb),
                     (numnet.fmod(na, nb), torch.fmod(ta, tb)),
                     (numnet.div(na, nb, rounding_mode="trunc"),
                      torch.div(ta, tb, rounding_mode="trunc"))):
            assert_like_torch(n, t)
            numbers = ~numpy.isnan(n.data)
            numpy.testing.assert_array_equal(numpy.signbit(n.data[numbers]),
                                             numpy.signbit(t.numpy()[numbers]))


def test_integer_division_by_zero_is_a_runtime_error():
    ops = [operator.floordiv, operator.mod, lambda a, b: a.fmod(b),
           lambda a, b: a.div(b, rounding_mode="trunc"),
           lambda a, b: a.div(b, rounding_mode="floor")]
    for op in ops:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(torch.tensor([1, 2]), torch.tensor([1, 0]))
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(numnet.tensor([1, 2]), numnet.tensor([1, 0]))
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(numnet.tensor([1, 2]), 0)
    with numpy.errstate(divide="ignore"):
        assert_like_torch(numnet.tensor([1, 2]) / 0, torch.tensor([1, 2]) / 0)
    with pytest.raises(RuntimeError):
        numnet.div(numnet.tensor([1]), 2, rounding_mode="round")


def test_rounded_division_gradients(check_op):
    a, b = _normal((3, 4)) * 3, _normal((4,), away_from=0.0)
    for mode in ("trunc", "floor"):
        check_op(lambda x, y, mode=mode: numnet.div(x, y, rounding_mode=mode),
                 lambda x, y, mode=mode: torch.div(x, y, rounding_mode=mode), a, b)
    x = numnet.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide"):
        (x // 2).sum().backward()  # PyTorch has no derivative for floor_divide either


# ---------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("alpha", [2, -0.5])
def test_add_sub_rsub_alpha(alpha, check_op):
    a, b = _normal((2, 3)), _normal((3,))
    for name in ("add", "sub", "subtract", "rsub"):
        check_op(lambda x, y, name=name: getattr(numnet, name)(x, y, alpha=alpha),
                 lambda x, y, name=name: getattr(torch, name)(x, y, alpha=alpha), a, b)
    check_op(lambda x, y: x.sub(y, alpha=alpha), lambda x, y: x.sub(y, alpha=alpha), a, b,
             gradcheck=False, float32=False)
    for name in ("mul", "multiply", "div", "divide", "true_divide"):
        check_op(getattr(numnet, name), getattr(torch, name), a, b + 3.0)


def test_arithmetic_dtype_rules():
    i, b = [1, 2, 3], [True, False, True]
    assert_like_torch(numnet.add(numnet.tensor(i), 2, alpha=3), torch.add(torch.tensor(i), 2,
                                                                          alpha=3))
    assert_like_torch(numnet.add(numnet.tensor(b), numnet.tensor(b), alpha=2),
                      torch.add(torch.tensor(b), torch.tensor(b), alpha=2))
    assert_like_torch(numnet.rsub(numnet.tensor(i), 1), torch.rsub(torch.tensor(i), 1))
    for args in (lambda m: m.add(m.tensor(i), m.tensor(i), alpha=2.5),
                 lambda m: m.tensor(b) - m.tensor(b), lambda m: -m.tensor(b),
                 lambda m: m.tensor(i) ** -1, lambda m: m.tensor(b) ** m.tensor(b)):
        with pytest.raises(RuntimeError):
            args(torch)
        with pytest.raises(RuntimeError):
            args(numnet)


def test_integer_powers_like_torch():
    base = numpy.array([0, 2, -1, -2, 1, 3, -1])
    exponent = numpy.array([-1, -1, -3, -2, -5, 2, 4])
    for dtype in ("int8", "int32", "int64"):
        n, t = numnet.tensor(base.astype(dtype)), torch.tensor(base.astype(dtype))
        assert_like_torch(n ** numnet.tensor(exponent), t ** torch.tensor(exponent))
        assert_like_torch(n ** numnet.tensor(-1), t ** torch.tensor(-1))
        assert_like_torch(n ** 2.5 if dtype != "int8" else n ** 2, t ** 2.5 if dtype != "int8"
                          else t ** 2)
        assert_like_torch(2 ** numnet.tensor(exponent), 2 ** torch.tensor(exponent))
    with pytest.raises(RuntimeError, match="negative integer powers"):
        numnet.pow(numnet.tensor([1, 2]), -2)
    assert_like_torch(numnet.tensor([1, 2]).pow(-2.0), torch.tensor([1, 2]).pow(-2.0))


def test_softmax_and_activations_on_integers():
    i = numpy.array([[1, 2], [3, 0]])
    for name in ("sigmoid", "tanh", "relu"):
        assert_like_torch(getattr(numnet, name)(numnet.tensor(i)) if name != "relu" else
                          numnet.nn.functional.relu(numnet.tensor(i)),
                          getattr(torch, name)(torch.tensor(i)))
    for fn in (lambda m, x: m.softmax(x, 1), lambda m, x: m.log_softmax(x, 1)):
        with pytest.raises(RuntimeError):
            fn(torch, torch.tensor(i))
        with pytest.raises(RuntimeError):
            fn(numnet.nn.functional, numnet.tensor(i))
    assert_like_torch(numnet.softmax(numnet.tensor(i), 1, dtype=numnet.float64),
                      torch.softmax(torch.tensor(i), 1, dtype=torch.float64))


def test_operators_abs_pos():
    x = numnet.tensor([-1.5, 2.0], requires_grad=True)
    y = abs(x) + (+x)
    y.sum().backward()
    numpy.testing.assert_array_equal(x.grad.data, [0.0, 2.0])
    assert_like_torch(abs(numnet.tensor([-3, 4])), abs(torch.tensor([-3, 4])))


# ---------------------------------------------------------------------- promotion
DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
PROMOTION_OPS = {
    "+": operator.add, "*": operator.mul, "/": operator.truediv, "-": operator.sub,
    "**": operator.pow, "//": operator.floordiv, "%": operator.mod,
    "atan2": lambda m, a, b: m.atan2(a, b), "maximum": lambda m, a, b: m.maximum(a, b),
    "where": lambda m, a, b: m.where(m.tensor([True, False, True]), a, b),
    "eq": lambda m, a, b: m.eq(a, b), "minimum": lambda m, a, b: m.minimum(a, b),
    "clamp": lambda m, a, b: m.clamp(a, min=b),
}
FUNCTIONS = ("atan2", "maximum", "where", "eq", "minimum", "clamp")


def _operand(module, kind, dtype, reverse=False):
    """One operand: a (3,) tensor, a 0-d tensor, or a Python number; nonzero, positive."""
    values = [True, True, True] if dtype == "bool" else ([3, 2, 1] if reverse else [1, 2, 3])
    if kind == "tensor":
        return module.tensor(values, dtype=getattr(module, dtype))
    if kind == "0-d":
        return module.tensor(values[1], dtype=getattr(module, dtype))
    return {"int": 2, "float": 2.5, "bool": True}[kind]


def _run(module, name, a, b):
    op = PROMOTION_OPS[name]
    if name in FUNCTIONS:
        return op(module, a, b)
    return op(a, b)


@pytest.mark.parametrize("name", list(PROMOTION_OPS))
def test_promotion_table(name):
    """numnet's result dtype (and values, at 1e-2) equals torch's over every pair of
    dtypes and operand kinds; where torch raises a RuntimeError, so does numnet."""
    cases = [(d1, kind, d2, swap) for d1 in DTYPES for kind in ("tensor", "0-d")
             for d2 in DTYPES for swap in (False, True)]
    cases += [(d1, kind, None, swap) for d1 in DTYPES for kind in ("int", "float", "bool")
              for swap in (False, True)]
    failures = []
    for d1, kind, d2, swap in cases:
        operands = []
        for module in (torch, numnet):
            first = _operand(module, "tensor", d1)
            second = _operand(module, kind, d2, reverse=True)
            operands.append((second, first) if swap else (first, second))
        try:
            expected = _run(torch, name, *operands[0])
        except TypeError:
            continue  # torch takes no Python number there (atan2, maximum); numnet does
        except RuntimeError:
            try:
                _run(numnet, name, *operands[1])
            except RuntimeError:
                continue
            failures.append(f"{d1} {kind} {d2} swap={swap}: torch raises, numnet does not")
            continue
        with numpy.errstate(all="ignore"):
            got = _run(numnet, name, *operands[1])
        want = expected.numpy()
        if got.dtype != want.dtype or got.shape != want.shape:
            failures.append(f"{d1} {kind} {d2} swap={swap}: {got.dtype} {got.shape}, torch "
                            f"{want.dtype} {want.shape}")
        elif not numpy.allclose(got.data.astype(float), want.astype(float), rtol=1e-2,
                                atol=1e-2, equal_nan=True):
            failures.append(f"{d1} {kind} {d2} swap={swap}: {got.data} != torch {want}")
    assert not failures, f"{len(failures)} cases differ:\n" + "\n".join(failures[:20])
