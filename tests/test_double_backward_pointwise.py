"""Second derivatives (``create_graph=True``) of the pointwise ops, against torch's and
against float64 finite differences of the first derivatives (``check_op`` with
``gradgrad=True``): every unary function of ``numnet.ops.unary``, ``atan2 hypot copysign
xlogy lerp``, the rounding ops and rounded division (a zero gradient, whose own derivative
is zero), ``nan_to_num`` and the dtype cast. A third-order check (the gradient of the
gradient of the gradient) against torch covers ops whose recorded derivative goes back
through their own output (``tan``, ``erfinv``), the new ``dual`` functions (``sinh``,
``cosh``), a binary op and the cast. ``floor_divide`` has no derivative, as in torch: a
recorded backward raises the same error as a plain one.
"""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet

_RNG = numpy.random.default_rng(7)
SHAPE = (3, 4)
UNIT = _RNG.uniform(-0.8, 0.8, SHAPE)  # inside (-1, 1): asin, acos, atanh, erfinv
POSITIVE = _RNG.uniform(0.5, 2.0, SHAPE)  # logs, rsqrt, the second operand of xlogy
ABOVE_ONE = _RNG.uniform(1.5, 3.0, SHAPE)  # acosh
AWAY_FROM_ZERO = _RNG.uniform(0.5, 2.0, SHAPE) * _RNG.choice([-1.0, 1.0], SHAPE)
DIVIDEND = _RNG.normal(0.0, 3.0, SHAPE)


def _same(name: str):
    """The op called ``name`` in numnet and in torch."""
    return getattr(numnet, name), getattr(torch, name)


UNARY = {
    "sin": (_same("sin"), SHAPE),
    "cos": (_same("cos"), SHAPE),
    "tan": (_same("tan"), UNIT),
    "asin": (_same("asin"), UNIT),
    "acos": (_same("acos"), UNIT),
    "atan": (_same("atan"), SHAPE),
    "sinh": (_same("sinh"), SHAPE),
    "cosh": (_same("cosh"), SHAPE),
    "asinh": (_same("asinh"), SHAPE),
    "acosh": (_same("acosh"), ABOVE_ONE),
    "atanh": (_same("atanh"), UNIT),
    "exp2": (_same("exp2"), SHAPE),
    "expm1": (_same("expm1"), SHAPE),
    "log2": (_same("log2"), POSITIVE),
    "log10": (_same("log10"), POSITIVE),
    "log1p": (_same("log1p"), POSITIVE - 0.4),
    "rsqrt": (_same("rsqrt"), POSITIVE),
    "reciprocal": (_same("reciprocal"), AWAY_FROM_ZERO),
    "erf": (_same("erf"), SHAPE),
    "erfc": (_same("erfc"), SHAPE),
    "erfinv": (_same("erfinv"), UNIT),
    "square": (_same("square"), SHAPE),
    # sign's gradient is 0; times x**2 the second derivative is 2 sign(x)
    "sign": ((lambda x: numnet.sign(x) * x * x, lambda x: torch.sign(x) * x * x),
             AWAY_FROM_ZERO),
    "sgn": ((lambda x: numnet.sgn(x) * x * x, lambda x: torch.sgn(x) * x * x),
            AWAY_FROM_ZERO),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(check_op, name):
    (numnet_fn, torch_fn), spec = UNARY[name]
    check_op(numnet_fn, torch_fn, spec, gradgrad=True, float32=False)


BINARY = {
    "atan2": ((numnet.atan2, torch.atan2), (SHAPE, (4,))),
    "hypot": ((numnet.hypot, torch.hypot), (SHAPE, (4,))),
    # the gradient for the sign operand is 0; times a * b both second derivatives live
    "copysign": ((lambda a, b: numnet.copysign(a, b) * a * b,
                  lambda a, b: torch.copysign(a, b) * a * b), (AWAY_FROM_ZERO, (4,))),
    "xlogy": ((numnet.xlogy, torch.xlogy), ((4,), POSITIVE)),
    "lerp_tensor_weight": ((numnet.lerp, torch.lerp), (SHAPE, (4,), (3, 1))),
    "lerp_number_weight": ((lambda a, b: numnet.lerp(a, b, 0.3) ** 2,
                            lambda a, b: torch.lerp(a, b, 0.3) ** 2), (SHAPE, (4,))),
    "lerp_number_weight_high": ((lambda a, b: numnet.lerp(a, b, 0.8) ** 2,
                                 lambda a, b: torch.lerp(a, b, 0.8) ** 2), (SHAPE, SHAPE)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting(check_op, name):
    (numnet_fn, torch_fn), specs = BINARY[name]
    check_op(numnet_fn, torch_fn, *specs, gradgrad=True, float32=False)


def test_lerp_without_weight_gradient(check_op):
    """A weight tensor that requires no grad: forward keeps no inputs for ``gw``."""
    weight = _RNG.uniform(0.0, 1.0, (4,))
    check_op(lambda a, b, w: numnet.lerp(a, b, w) ** 2, lambda a, b, w: torch.lerp(a, b, w) ** 2,
             SHAPE, SHAPE, weight, grad=[True, True, False], gradgrad=True, float32=False)


ROUNDING = {
    "floor": (numnet.floor, torch.floor),
    "ceil": (numnet.ceil, torch.ceil),
    "trunc": (numnet.trunc, torch.trunc),
    "round": (numnet.round, torch.round),
    "round_decimals": (lambda x: numnet.round(x, decimals=1),
                       lambda x: torch.round(x, decimals=1)),
    "round_negative_decimals": (lambda x: numnet.round(x * 100, decimals=-1),
                                lambda x: torch.round(x * 100, decimals=-1)),
}


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding(check_op, name):
    """Gradient 0: times ``x**2`` the second derivative is ``2 round(x)``."""
    numnet_round, torch_round = ROUNDING[name]
    check_op(lambda x: numnet_round(x) * x * x, lambda x: torch_round(x) * x * x, SHAPE,
             gradgrad=True, float32=False)


def test_frac(check_op):
    check_op(lambda x: numnet.frac(x) ** 2, lambda x: torch.frac(x) ** 2, SHAPE,
             gradgrad=True, float32=False)


DIVISION = {
    "remainder": (lambda a, b: numnet.remainder(a, b) ** 2,
                  lambda a, b: torch.remainder(a, b) ** 2),
    "fmod": (lambda a, b: numnet.fmod(a, b) ** 2, lambda a, b: torch.fmod(a, b) ** 2),
    "div_trunc": (lambda a, b: numnet.div(a, b, rounding_mode="trunc") * a * b,
                  lambda a, b: torch.div(a, b, rounding_mode="trunc") * a * b),
    "div_floor": (lambda a, b: numnet.div(a, b, rounding_mode="floor") * a * b,
                  lambda a, b: torch.div(a, b, rounding_mode="floor") * a * b),
}


@pytest.mark.parametrize("name", sorted(DIVISION))
def test_rounded_division(check_op, name):
    """The divisor broadcast; quotients of several units, so the jumps matter."""
    check_op(*DIVISION[name], DIVIDEND, AWAY_FROM_ZERO[0], gradgrad=True, float32=False)


def test_floor_divide_has_no_derivative_at_any_order():
    for create_graph in (False, True):
        a = numnet.tensor([3.5, -2.0], dtype="float64", requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative of floor_divide is not implemented"):
            numnet.autograd.grad(numnet.floor_divide(a, 2.0).sum(), a,
                                 create_graph=create_graph)


def test_nan_to_num(check_op):
    x = _RNG.standard_normal(SHAPE)
    x[0, 0], x[1, 2], x[2, 3] = numpy.nan, numpy.inf, -numpy.inf
    check_op(lambda t: numnet.nan_to_num(t, nan=1.0, posinf=5.0, neginf=-5.0) ** 3,
             lambda t: torch.nan_to_num(t, nan=1.0, posinf=5.0, neginf=-5.0) ** 3, x,
             gradgrad=True, float32=False)


def test_cast_through_float32(check_op):
    """float64 in, a float32 computation in the middle (float32 tolerances)."""
    check_op(lambda t: (t.float() * 1.5).double() ** 3,
             lambda t: (t.float() * 1.5).double() ** 3, SHAPE, gradgrad=True, float32=False,
             atol=1e-5, rtol=1e-5, eps=1e-3, gradcheck_atol=1e-2, gradcheck_rtol=1e-2)


def test_cast_copy_same_dtype(check_op):
    check_op(lambda t: t.to(numnet.float64, copy=True) ** 3,
             lambda t: t.to(torch.float64, copy=True) ** 3, SHAPE, gradgrad=True,
             float32=False)


def _derivative(library, fn, arrays, upstream, order: int):
    """``d/dx_i`` of ``sum(d/dx(... sum(d/dx(sum(u * fn(x)))) ...))``: ``order`` gradients
    with ``create_graph=True``, every input ``x_i`` differentiated at each order."""
    inputs = [library.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    grads = library.autograd.grad((out * library.tensor(upstream)).sum(), inputs,
                                  create_graph=True)
    for _ in range(order - 1):
        total = grads[0].sum()
        for g in grads[1:]:
            total = total + g.sum()
        grads = library.autograd.grad(total, inputs, create_graph=True, allow_unused=True)
        grads = [library.zeros_like(x) if g is None else g for x, g in zip(inputs, grads)]
    return [g.detach().numpy() if library is torch else g.data for g in grads]


def test_cast_float32_input_second_derivative():
    """float32 in, float64 computation: each gradient is cast back to float32 (a ``Cast``
    recorded in the gradient graph) and differentiated again through it."""
    x = _RNG.standard_normal(SHAPE).astype(numpy.float32)
    upstream = _RNG.standard_normal(SHAPE)
    got = _derivative(numnet, lambda t: t.double() ** 3, [x], upstream, 2)
    want = _derivative(torch, lambda t: t.double() ** 3, [x], upstream, 2)
    assert got[0].dtype == numpy.float32
    numpy.testing.assert_allclose(got[0], want[0], rtol=1e-6)


THIRD_ORDER = {
    "tan": ((numnet.tan, torch.tan), (UNIT,)),
    "erfinv": ((numnet.erfinv, torch.erfinv), (UNIT,)),
    "sinh_cosh": ((lambda x: numnet.sinh(x) * numnet.cosh(x * 0.5),
                   lambda x: torch.sinh(x) * torch.cosh(x * 0.5)), (SHAPE,)),
    "rsqrt": ((numnet.rsqrt, torch.rsqrt), (POSITIVE,)),
    "atan2": ((numnet.atan2, torch.atan2), (SHAPE, (4,))),
    "hypot": ((numnet.hypot, torch.hypot), (SHAPE, SHAPE)),
    "cast": ((lambda x: numnet.sin(x.float()).double() * x,
              lambda x: torch.sin(x.float()).double() * x), (SHAPE,)),
}


@pytest.mark.parametrize("name", sorted(THIRD_ORDER))
def test_third_derivative_equals_torch(name):
    (numnet_fn, torch_fn), specs = THIRD_ORDER[name]
    rng = numpy.random.default_rng(1)
    arrays = [s if isinstance(s, numpy.ndarray) else rng.standard_normal(s) for s in specs]
    upstream = rng.standard_normal(numpy.broadcast_shapes(*[a.shape for a in arrays]))
    got = _derivative(numnet, numnet_fn, arrays, upstream, 3)
    want = _derivative(torch, torch_fn, arrays, upstream, 3)
    tolerance = 1e-5 if name == "cast" else 1e-8
    for have, expected in zip(got, want):
        numpy.testing.assert_allclose(have, expected, rtol=tolerance, atol=tolerance)
