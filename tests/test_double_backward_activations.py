"""Double backward (``create_graph=True``) of the activations and of dropout: second
derivatives against torch's in float64 (``check_op(gradgrad=True)``: with respect to the
input, the weight of ``prelu`` and the upstream gradient) and against float64 central
differences (``numnet.gradgradcheck``), with each op's options; third derivatives of the
smooth ones against torch; ``rrelu``'s training slopes and dropout's masks act as the
constants they are (the same mask applied in torch, and ``d2/dx2 sum dropout(x)**2 =
2 scale**2``), with the generator re-seeded on every call so finite differences see one
function."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F


def _normal(shape, scale=1.0, seed=0):
    return numpy.asarray(numpy.random.default_rng(seed).standard_normal(shape) * scale)


# (numnet op, torch op, input): piecewise-linear ones squared, so that their second
# derivative is not 0 everywhere
ELEMENTWISE = {
    "hardtanh": (lambda x: F.hardtanh(x) ** 2, lambda x: TF.hardtanh(x) ** 2, (3, 4)),
    "hardtanh_range": (lambda x: F.hardtanh(x, -0.5, 0.8) ** 2,
                       lambda x: TF.hardtanh(x, -0.5, 0.8) ** 2, (3, 4)),
    "relu6": (lambda x: F.relu6(x) ** 2, lambda x: TF.relu6(x) ** 2, _normal((3, 4), 4.0)),
    "hardswish": (F.hardswish, TF.hardswish, _normal((3, 4), 3.0)),
    "hardswish_squared": (lambda x: F.hardswish(x) ** 2, lambda x: TF.hardswish(x) ** 2,
                          _normal((3, 4), 3.0)),
    "leaky_relu": (lambda x: F.leaky_relu(x) ** 2, lambda x: TF.leaky_relu(x) ** 2, (3, 4)),
    "leaky_relu_steep": (lambda x: F.leaky_relu(x, 2.0) ** 2,
                         lambda x: TF.leaky_relu(x, 2.0) ** 2, (3, 4)),
    "rrelu_eval": (lambda x: F.rrelu(x, 0.1, 0.3) ** 2, lambda x: TF.rrelu(x, 0.1, 0.3) ** 2,
                   (3, 4)),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0) ** 2,
                  lambda x: TF.threshold(x, 0.5, -2.0) ** 2, (3, 4)),
    "hardshrink": (lambda x: F.hardshrink(x) ** 2, lambda x: TF.hardshrink(x) ** 2, (3, 4)),
    "softshrink": (lambda x: F.softshrink(x, 0.3) ** 2, lambda x: TF.softshrink(x, 0.3) ** 2,
                   (3, 4)),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, (3, 4)),
    "silu": (F.silu, TF.silu, _normal((3, 4), 3.0)),
    "elu": (F.elu, TF.elu, (3, 4)),
    "elu_alpha2": (lambda x: F.elu(x, 2.0) ** 2, lambda x: TF.elu(x, 2.0) ** 2, (3, 4)),
    "celu": (lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), (3, 4)),
    "selu": (F.selu, TF.selu, (3, 4)),
    "softplus": (F.softplus, TF.softplus, _normal((3, 4), 3.0)),
    "softplus_beta_threshold": (lambda x: F.softplus(x, 2.0, 1.0) ** 2,
                                lambda x: TF.softplus(x, 2.0, 1.0) ** 2, _normal((3, 4), 2.0)),
    "mish": (F.mish, TF.mish, _normal((3, 4), 3.0)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, _normal((3, 4), 3.0)),
    "softsign": (F.softsign, TF.softsign, (3, 4)),
    "softmin": (lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1), (3, 4)),
    "gelu": (F.gelu, TF.gelu, _normal((3, 4), 2.0)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), _normal((3, 4), 2.0)),
    "glu_last": (F.glu, TF.glu, (3, 4)),
    "glu_dim0": (lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0), (4, 3)),
    "glu_middle": (lambda x: F.glu(x, 1), lambda x: TF.glu(x, 1), (2, 6, 2)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_second_derivatives(check_op, name):
    numnet_fn, torch_fn, spec = ELEMENTWISE[name]
    check_op(numnet_fn, torch_fn, spec, gradgrad=True, float32=False)


INPLACE = ["elu", "selu", "celu", "silu", "mish", "hardtanh", "relu6", "hardswish",
           "leaky_relu", "rrelu", "threshold"]


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_on_an_intermediate(check_op, name):
    """``inplace=True`` on a non-leaf: the recorded op, rebased onto the tensor."""
    args = {"threshold": (0.5, -2.0)}.get(name, ())

    def numnet_fn(x):
        return getattr(F, name)(x * 1.5, *args, inplace=True) ** 2

    def torch_fn(x):
        return getattr(TF, name)(x * 1.5, *args, inplace=True) ** 2

    check_op(numnet_fn, torch_fn, (3, 4), gradgrad=True, float32=False)


def test_hardsigmoid_has_no_double_backward_as_in_torch():
    x = numpy.array([-4.0, 0.5, 2.0])
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(TF.hardsigmoid(t).sum(), t, create_graph=True)
    with pytest.raises(RuntimeError, match="hardsigmoid_backward is not implemented"):
        torch.autograd.grad(g.sum(), t)
    n = numnet.tensor(x, requires_grad=True)
    with pytest.raises(RuntimeError, match="Hardsigmoid: double backward is not implemented"):
        numnet.autograd.grad(F.hardsigmoid(n).sum(), n, create_graph=True)


def test_softplus_linear_region_has_zero_curvature():
    """Where ``beta x > threshold`` softplus is ``x``: its gradient is ``gy`` alone."""
    x = numnet.tensor([-1.0, 0.5, 30.0], dtype=numnet.float64, requires_grad=True)
    (g,) = numnet.autograd.grad(F.softplus(x).sum(), x, create_graph=True)
    (h,) = numnet.autograd.grad(g.sum(), x)
    s = 1 / (1 + numpy.exp(-x.data[:2]))
    numpy.testing.assert_allclose(h.data, numpy.append(s * (1 - s), 0.0), rtol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape", [((2, 3, 4), (3,)), ((2, 3, 4), (1,)),
                                              ((2, 3), ()), ((5,), (1,))])
def test_prelu(check_op, x_shape, w_shape):
    w = _normal(w_shape, seed=1)
    check_op(F.prelu, TF.prelu, x_shape, w, gradgrad=True, float32=False)
    check_op(lambda x, w: F.prelu(x, w) ** 2, lambda x, w: TF.prelu(x, w) ** 2, x_shape, w,
             gradgrad=True, float32=False)


def _seeded(op, *args, **kwargs):
    """``op(x, *args, training=True, **kwargs)`` with a generator seeded the same way at
    every call: one fixed mask, so finite differences see one function."""
    return lambda x: op(x, *args, training=True, generator=numnet.Generator(7), **kwargs)


def test_rrelu_training_slopes_are_constants(check_op):
    x = _normal((3, 4), seed=2)
    rrelu = _seeded(F.rrelu, 0.1, 0.3)
    noise = rrelu(numnet.tensor(x)).data / x
    assert numpy.all(noise[x > 0] == 1)
    assert numpy.all((noise[x < 0] >= 0.1) & (noise[x < 0] <= 0.3))
    assert len(numpy.unique(noise[x < 0])) == (x < 0).sum()  # one slope per element
    check_op(lambda t: rrelu(t) ** 2, lambda t: (t * torch.tensor(noise)) ** 2, x,
             gradgrad=True, float32=False)


DROPOUTS = {
    "dropout": (_seeded(F.dropout, 0.4), (4, 5)),
    "dropout2d": (_seeded(F.dropout2d, 0.5), (3, 4, 2, 2)),
    "alpha_dropout": (_seeded(F.alpha_dropout, 0.3), (4, 5)),
}


@pytest.mark.parametrize("name", sorted(DROPOUTS))
def test_dropout_is_the_same_mask_in_torch(check_op, name):
    """``dropout(x) = scale x + shift`` with the mask's constant ``scale`` and ``shift`` (0
    but for alpha dropout), read off from ones and zeros with the same seed."""
    dropout, shape = DROPOUTS[name]
    shift = dropout(numnet.zeros(shape, dtype=numnet.float64)).data
    scale = dropout(numnet.ones(shape, dtype=numnet.float64)).data - shift
    assert 0 < (scale == 0).sum() < scale.size  # some kept, some dropped
    check_op(lambda x: dropout(x) ** 2,
             lambda x: (x * torch.tensor(scale) + torch.tensor(shift)) ** 2,
             shape, gradgrad=True, float32=False)


def test_dropout_second_derivative_identity():
    """``d2/dx2 sum dropout(x)**2 = 2 mask**2 / (1 - p)**2`` element by element."""
    p = 0.4
    dropout = _seeded(F.dropout, p)
    x = numnet.tensor(_normal((50,)), requires_grad=True)
    (g,) = numnet.autograd.grad((dropout(x) ** 2).sum(), x, create_graph=True)
    (h,) = numnet.autograd.grad(g.sum(), x)
    mask = dropout(numnet.ones(50, dtype=numnet.float64)).data != 0
    numpy.testing.assert_allclose(h.data, 2 * mask / (1 - p) ** 2, rtol=1e-12)


def _third_derivative(grad, fn, x, u, v, w):
    """``d/dx sum w * d/dx sum v * d/dx sum u * fn(x)`` with ``grad`` (either library's)."""
    (g1,) = grad((fn(x) * u).sum(), x, create_graph=True)
    (g2,) = grad((g1 * v).sum(), x, create_graph=True)
    (g3,) = grad((g2 * w).sum(), x)
    return g3


THIRD_ORDER = {
    "silu": (F.silu, TF.silu),
    "elu": (lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0)),
    "softplus": (lambda x: F.softplus(x, 2.0, 1.0), lambda x: TF.softplus(x, 2.0, 1.0)),
    "mish": (F.mish, TF.mish),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh")),
    "glu": (lambda x: F.glu(x, 0), lambda x: TF.glu(x, 0)),
    "hardswish_squared": (lambda x: F.hardswish(x) ** 2, lambda x: TF.hardswish(x) ** 2),
    "prelu_squared": (lambda x: F.prelu(x, x[0, :3]) ** 2, lambda x: TF.prelu(x, x[0, :3]) ** 2),
}


@pytest.mark.parametrize("name", sorted(THIRD_ORDER))
def test_third_derivatives(name):
    numnet_fn, torch_fn = THIRD_ORDER[name]
    rng = numpy.random.default_rng(3)
    x, u, v, w = (rng.standard_normal((4, 3)) * 2 for _ in range(4))
    u = u[:2] if name == "glu" else u
    got = _third_derivative(numnet.autograd.grad, numnet_fn,
                            numnet.tensor(x, requires_grad=True),
                            *(numnet.tensor(a) for a in (u, v, w)))
    want = _third_derivative(torch.autograd.grad, torch_fn,
                             torch.tensor(x, requires_grad=True),
                             *(torch.tensor(a) for a in (u, v, w)))
    numpy.testing.assert_allclose(got.data, want.numpy(), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", ["elu", "selu", "celu"])
def test_elu_family_keeps_no_copy_of_its_input(name):
    """Double backward takes ``e**x - 1`` from what forward kept for the first derivative
    (``KeptExpm1``), so forward keeps no reference to its input."""
    x = numnet.randn(4, 5, requires_grad=True) * 1
    y = getattr(numnet.nn.functional, name)(x)
    kept = [v for v in vars(y._creator).values() if isinstance(v, numpy.ndarray)]
    assert kept and not any(numpy.shares_memory(v, x.data) for v in kept)
