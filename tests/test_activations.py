"""Activations (issue 14.4): every functional form against torch (forward and gradients,
float64 and float32, random inputs plus hand-chosen kinks), gradcheck, stability for large
|x|, ``inplace=`` in PyTorch's three cases, PReLU's weight gradient, the modules' ``repr``
and errors, and ``get_activation`` names."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.nn.activations import ACTIVATIONS, get_activation

# (name, numnet op, torch op) of the element-wise activations, arguments bound
ELEMENTWISE = [
    ("silu", F.silu, TF.silu),
    ("elu", F.elu, TF.elu),
    ("elu_alpha2", lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0)),
    ("celu", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5)),
    ("selu", F.selu, TF.selu),
    ("softplus", F.softplus, TF.softplus),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0)),
    ("softsign", F.softsign, TF.softsign),
    ("hardtanh", F.hardtanh, TF.hardtanh),
    ("hardtanh_range", lambda x: F.hardtanh(x, -0.5, 3.0), lambda x: TF.hardtanh(x, -0.5, 3.0)),
    ("relu6", F.relu6, TF.relu6),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    ("hardswish", F.hardswish, TF.hardswish),
    ("mish", F.mish, TF.mish),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0)),
    ("hardshrink", F.hardshrink, TF.hardshrink),
    ("softshrink", lambda x: F.softshrink(x, 1.0), lambda x: TF.softshrink(x, 1.0)),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("relu", F.relu, TF.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("rrelu_eval", lambda x: F.rrelu(x, 0.1, 0.3), lambda x: TF.rrelu(x, 0.1, 0.3)),
]
IDS = [case[0] for case in ELEMENTWISE]

# every kink of the ops above (0, the hardtanh/relu6/hardsigmoid/hardswish bounds, the
# thresholds and shrink lambdas, softplus's linear switch at beta x = threshold), their
# neighbours, and values far out
KINKS = numpy.array([-1000.0, -30.0, -21.0, -20.0, -6.0, -3.0, -2.5, -1.0, -0.5, -1e-3, 0.0,
                     1e-3, 0.5, 1.0, 1.5, 2.5, 3.0, 6.0, 7.0, 20.0, 21.0, 30.0, 1000.0])


@pytest.mark.parametrize("name, numnet_fn, torch_fn", ELEMENTWISE, ids=IDS)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5)])
def test_elementwise_matches_torch_and_gradcheck(check_op, name, numnet_fn, torch_fn, shape):
    check_op(numnet_fn, torch_fn, shape, seed=len(shape))


@pytest.mark.parametrize("name, numnet_fn, torch_fn", ELEMENTWISE, ids=IDS)
def test_gradient_at_the_kinks_is_torchs(check_op, name, numnet_fn, torch_fn):
    check_op(numnet_fn, torch_fn, KINKS.copy(), gradcheck=False, atol32=1e-5)


@pytest.mark.parametrize("name, numnet_fn, torch_fn", ELEMENTWISE, ids=IDS)
def test_finite_for_large_inputs(name, numnet_fn, torch_fn):
    for dtype in ("float32", "float64"):
        x = numnet.tensor([-1e4, -800.0, 800.0, 1e4], dtype=dtype, requires_grad=True)
        y = numnet_fn(x)
        y.sum().backward()
        assert numpy.isfinite(y.data).all() and numpy.isfinite(x.grad.data).all()


def test_softplus_stays_finite_where_torchs_overflows():
    # threshold above beta x: torch computes log1p(exp(1000)) = inf; numnet gives x
    x = numnet.tensor([1000.0], dtype="float64", requires_grad=True)
    y = F.softplus(x, 1.0, 1e9)
    y.backward()
    assert y.item() == 1000.0 and x.grad.item() == 1.0


def test_elu_selu_gradient_at_zero_is_the_left_slope():
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    for numnet_fn, torch_fn in [(lambda t: F.elu(t, 2.0), lambda t: TF.elu(t, 2.0)),
                                (F.selu, TF.selu)]:
        t_grad, = torch.autograd.grad(torch_fn(x).sum(), x)
        n = numnet.zeros(1, dtype="float64", requires_grad=True)
        numnet_fn(n).sum().backward()
        assert n.grad.item() == pytest.approx(t_grad.item(), rel=1e-12)
        assert n.grad.item() != 1.0


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu(check_op, dim):
    check_op(lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim), (4, 6, 2))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin(check_op, dim):
    check_op(lambda x: F.softmin(x, dim), lambda x: TF.softmin(x, dim), (3, 4, 5))


def test_softmin_dtype_and_implicit_dim():
    x = numpy.arange(6.0).reshape(2, 3)
    y = F.softmin(numnet.tensor(x), 1, dtype="float64")
    assert y.dtype == numpy.float64
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        implicit = F.softmin(numnet.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.softmin(torch.tensor(x))
    numpy.testing.assert_allclose(implicit.data, expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape", [((2, 3, 4, 5), (3,)), ((4, 3), (3,)),
                                              ((2, 3, 4), (1,)), ((5,), (1,)), ((6,), ())])
def test_prelu_input_and_weight_gradients(check_op, x_shape, w_shape):
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    x.flat[0] = 0.0  # PyTorch's slope at 0 is the weight's
    check_op(F.prelu, TF.prelu, x, rng.standard_normal(w_shape), gradcheck=False)
    check_op(F.prelu, TF.prelu, x_shape, w_shape)


def test_prelu_module_like_torchs():
    layer = nn.PReLU(3, init=0.1)
    reference = torch.nn.PReLU(3, init=0.1)
    assert layer.weight.shape == (3,) and numpy.all(layer.weight.data == numpy.float32(0.1))
    assert layer.weight.dtype == numpy.float32
    assert repr(layer) == repr(reference) == "PReLU(num_parameters=3)"
    assert list(layer.state_dict()) == list(reference.state_dict()) == ["weight"]
    x = numpy.random.default_rng(2).standard_normal((4, 3, 5)).astype(numpy.float32)
    y = layer(numnet.tensor(x))
    t = reference(torch.tensor(x))
    y.sum().backward()
    t.sum().backward()
    numpy.testing.assert_allclose(y.data, t.detach().numpy(), rtol=1e-6)
    numpy.testing.assert_allclose(layer.weight.grad.data, reference.weight.grad.numpy(),
                                  rtol=1e-5)
    assert nn.PReLU(dtype="float64").weight.dtype == numpy.float64


def test_rrelu_in_training_draws_a_slope_per_negative_element():
    x = numnet.tensor(numpy.linspace(-3, 3, 2001), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True, generator=numnet.Generator(0))
    y.sum().backward()
    negative = x.data < 0
    slopes = y.data[negative] / x.data[negative]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and len(numpy.unique(slopes)) > 900
    assert abs(slopes.mean() - 0.2) < 0.01
    numpy.testing.assert_array_equal(y.data[~negative], x.data[~negative])
    numpy.testing.assert_allclose(x.grad.data[negative], slopes, rtol=1e-12)
    again = F.rrelu(x, 0.1, 0.3, training=True, generator=numnet.Generator(0))
    numpy.testing.assert_array_equal(again.data, y.data)
    layer = nn.RReLU(0.1, 0.3)
    assert not numpy.array_equal(layer(x).data, layer.eval()(x).data)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        F.rrelu(x, 0.5, 0.1, True)


def test_softmax2d_is_over_the_channels():
    data = numpy.random.default_rng(6).standard_normal((2, 3, 4, 5))
    y = nn.Softmax2d()(numnet.tensor(data))
    numpy.testing.assert_allclose(y.data, torch.nn.Softmax2d()(torch.tensor(data)).numpy(),
                                  rtol=1e-12)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(numnet.zeros(3, 4))


# ---------------------------------------------------------------------- in place
INPLACE = [
    ("relu", lambda x, i: F.relu(x, inplace=i), lambda x, i: TF.relu(x, inplace=i)),
    ("leaky_relu", lambda x, i: F.leaky_relu(x, 0.1, i), lambda x, i: TF.leaky_relu(x, 0.1, i)),
    ("elu", lambda x, i: F.elu(x, 1.5, i), lambda x, i: TF.elu(x, 1.5, i)),
    ("celu", lambda x, i: F.celu(x, 1.5, i), lambda x, i: TF.celu(x, 1.5, i)),
    ("selu", lambda x, i: F.selu(x, i), lambda x, i: TF.selu(x, i)),
    ("silu", lambda x, i: F.silu(x, i), lambda x, i: TF.silu(x, i)),
    ("mish", lambda x, i: F.mish(x, i), lambda x, i: TF.mish(x, i)),
    ("hardtanh", lambda x, i: F.hardtanh(x, -0.5, 0.5, i),
     lambda x, i: TF.hardtanh(x, -0.5, 0.5, i)),
    ("relu6", lambda x, i: F.relu6(x, i), lambda x, i: TF.relu6(x, i)),
    ("hardsigmoid", lambda x, i: F.hardsigmoid(x, i), lambda x, i: TF.hardsigmoid(x, i)),
    ("hardswish", lambda x, i: F.hardswish(x, i), lambda x, i: TF.hardswish(x, i)),
    ("threshold", lambda x, i: F.threshold(x, 0.1, 5.0, i),
     lambda x, i: TF.threshold(x, 0.1, 5.0, i)),
    ("rrelu", lambda x, i: F.rrelu(x, 0.1, 0.2, False, i),
     lambda x, i: TF.rrelu(x, 0.1, 0.2, False, i)),
]
INPLACE_IDS = [case[0] for case in INPLACE]


@pytest.mark.parametrize("name, numnet_fn, torch_fn", INPLACE, ids=INPLACE_IDS)
def test_inplace_without_graph_writes_into_the_input(name, numnet_fn, torch_fn):
    data = numpy.random.default_rng(3).standard_normal((3, 4)).astype(numpy.float32)
    x = numnet.tensor(data)
    array = x.data
    out = numnet_fn(x, True)
    expected = torch_fn(torch.tensor(data), True)
    assert out is x and x.data is array
    numpy.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, numnet_fn, torch_fn", INPLACE, ids=INPLACE_IDS)
def test_inplace_on_a_graph_node_records_torchs_gradient(name, numnet_fn, torch_fn):
    data = numpy.random.default_rng(4).standard_normal((3, 4)) * 2
    w = numnet.tensor(data, requires_grad=True)
    h = w * 2
    out = numnet_fn(h, True)
    assert out is h
    (out * out).sum().backward()
    tw = torch.tensor(data, requires_grad=True)
    th = tw * 2
    (torch_fn(th, True) ** 2).sum().backward()
    numpy.testing.assert_allclose(h.data, th.detach().numpy(), rtol=1e-12, atol=1e-15)
    # torch's hardsigmoid gradient is 1/6 rounded to float32 even in float64
    numpy.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-7, atol=1e-14)


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    x = numnet.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(x, inplace=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.ReLU(inplace=True)(x)


def test_inplace_underscore_functions():
    data = numpy.linspace(-2, 2, 9)
    for name in ("relu_", "elu_", "selu_", "celu_", "hardtanh_", "leaky_relu_", "rrelu_"):
        x = numnet.tensor(data)
        assert getattr(F, name)(x) is x
        numpy.testing.assert_allclose(x.data, getattr(TF, name)(torch.tensor(data)).numpy(),
                                      rtol=1e-12)
    x = numnet.tensor(data)
    assert F.threshold_(x, 0.0, 3.0) is x
    numpy.testing.assert_allclose(x.data, TF.threshold_(torch.tensor(data), 0.0, 3.0).numpy())
    for name in ("relu_", "selu_", "celu_", "rrelu_"):
        x = numnet.tensor(data)
        getattr(numnet, name)(x)
        numpy.testing.assert_allclose(x.data, getattr(torch, name)(torch.tensor(data)).numpy(),
                                      rtol=1e-12)


def test_torch_level_names_and_tensor_methods():
    data = numpy.linspace(-2, 2, 9)
    x, t = numnet.tensor(data), torch.tensor(data)
    w, tw = numnet.tensor([0.3], dtype="float64"), torch.tensor([0.3], dtype=torch.float64)
    pairs = [(numnet.selu(x), torch.selu(t)), (numnet.celu(x, 2.0), torch.celu(t, 2.0)),
             (numnet.relu(x), torch.relu(t)), (numnet.threshold(x, 0.5, 1.0),
                                               torch.threshold(t, 0.5, 1.0)),
             (numnet.hardshrink(x, 1.0), torch.hardshrink(t, 1.0)),
             (x.hardshrink(), t.hardshrink()), (x.prelu(w), t.prelu(tw)),
             (numnet.prelu(x, w), torch.prelu(t, tw))]
    for ours, theirs in pairs:
        numpy.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------- modules
def _module_pairs():
    """(numnet module, torch module) built with the same arguments."""
    specs = [("ReLU", ()), ("ReLU", (True,)), ("LeakyReLU", (0.2, True)), ("Sigmoid", ()),
             ("Tanh", ()), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("SiLU", (True,)),
             ("ELU", ()), ("ELU", (0.5, True)), ("CELU", (2.0,)), ("SELU", ()),
             ("SELU", (True,)), ("Softplus", ()), ("Softplus", (2, 10)), ("Softsign", ()),
             ("Hardtanh", ()), ("Hardtanh", (-2, 2, True)), ("ReLU6", ()), ("ReLU6", (True,)),
             ("Hardsigmoid", ()), ("Hardswish", ()), ("Mish", ()), ("LogSigmoid", ()),
             ("PReLU", ()), ("PReLU", (4,)), ("Softmin", (1,)), ("Softmax", (1,)),
             ("LogSoftmax", (1,)), ("Tanhshrink", ()), ("Threshold", (0.1, 20)),
             ("Threshold", (0.1, 20.0, True)), ("Hardshrink", ()), ("Softshrink", (1.0,)),
             ("GLU", ()), ("GLU", (1,)), ("RReLU", ()), ("RReLU", (0.1, 0.3, True)),
             ("Softmax2d", ()), ("Softmin", ()), ("Softmax", ())]
    return [(getattr(nn, name)(*args), getattr(torch.nn, name)(*args)) for name, args in specs]


def test_modules_repr_like_torch():
    for ours, theirs in _module_pairs():
        assert repr(ours) == repr(theirs)


def test_modules_forward_like_torch():
    data = numpy.random.default_rng(5).standard_normal((3, 4, 6))
    for ours, theirs in _module_pairs():
        if getattr(theirs, "dim", 0) is None:
            continue
        y = ours.eval()(numnet.tensor(data))
        t = theirs.double().eval()(torch.tensor(data))
        numpy.testing.assert_allclose(y.data, t.detach().numpy(), rtol=1e-10, atol=1e-12,
                                      err_msg=repr(ours))


def test_inplace_module_returns_its_input():
    x = numnet.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
    assert nn.Hardtanh(inplace=True)(x) is x and x.tolist() == [0.0, 1.0]


def test_gelu_module_is_in_activations_and_exported():
    from numnet.nn.activations import GELU
    assert nn.GELU is GELU
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"


# ---------------------------------------------------------------------- errors
def test_errors_like_torchs():
    x = numnet.randn(2, 5)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 "
                                           "is size 5"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(numnet.tensor(1.0))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 5"):
        F.prelu(x, numnet.ones(3))
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)
    for fn in (F.elu, F.silu, F.softplus, F.mish, F.logsigmoid, F.hardsigmoid, F.selu):
        with pytest.raises(NotImplementedError):
            fn(numnet.tensor([1, 2]))
    with pytest.warns(FutureWarning, match="min_value"):
        assert nn.Hardtanh(min_value=-3.0).min_val == -3.0


def test_integer_inputs_where_torch_takes_them():
    ints = numpy.arange(-3, 9)
    for ours, theirs in [(F.hardtanh, TF.hardtanh), (F.relu6, TF.relu6),
                         (lambda x: F.threshold(x, 0, 5), lambda x: TF.threshold(x, 0, 5)),
                         (F.softsign, TF.softsign), (F.tanhshrink, TF.tanhshrink)]:
        y, t = ours(numnet.tensor(ints)), theirs(torch.tensor(ints))
        assert str(y.dtype) == str(t.dtype).replace("torch.", "")
        numpy.testing.assert_allclose(y.data, t.numpy(), rtol=1e-6)


# ---------------------------------------------------------------------- by name
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_get_activation_knows_the_new_names(name):
    module = get_activation(name.upper())
    x = numnet.randn(2, 3)
    assert isinstance(module, nn.Module) and module(x).shape == (2, 3)


def test_get_activation_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown activation 'swoosh'; known: relu"):
        get_activation("swoosh")
