"""Normalization ops and layers against PyTorch: layer, group, instance and batch norm,
``F.normalize`` and GELU (forward, every gradient, float64 and float32, gradcheck)."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn


# ---------------------------------------------------------------------- layer_norm
@pytest.mark.parametrize("shape, normalized", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)),
                                               ((5,), (5,)), ((2, 1, 3), (1, 3))])
def test_layer_norm_affine(check_op, shape, normalized):
    check_op(lambda x, w, b: F.layer_norm(x, normalized, w, b),
             lambda x, w, b: TF.layer_norm(x, normalized, w, b),
             shape, normalized, normalized)


def test_layer_norm_without_affine_and_weight_only(check_op):
    check_op(lambda x: F.layer_norm(x, (3, 4), eps=1e-3),
             lambda x: TF.layer_norm(x, (3, 4), eps=1e-3), (2, 3, 4))
    check_op(lambda x, w: F.layer_norm(x, [4], w), lambda x, w: TF.layer_norm(x, [4], w),
             (3, 4), (4,))
    check_op(lambda x, b: F.layer_norm(x, 4, bias=b),
             lambda x, b: TF.layer_norm(x, [4], bias=b), (3, 4), (4,))


def test_layer_norm_rejects_a_shape_that_does_not_end_the_input():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(numnet.zeros(2, 3), (2,))
    with pytest.raises(RuntimeError):
        TF.layer_norm(torch.zeros(2, 3), (2,))


# ---------------------------------------------------------------------- group / instance
@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 1), ((2, 6, 3, 2), 2), ((3, 6), 6),
                                           ((2, 4, 3, 3), 4)])
def test_group_norm(check_op, shape, groups):
    C = shape[1]
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: TF.group_norm(x, groups, w, b), shape, (C,), (C,))


def test_group_norm_without_affine_and_bad_groups(check_op):
    check_op(lambda x: F.group_norm(x, 2, eps=1e-3),
             lambda x: TF.group_norm(x, 2, eps=1e-3), (2, 4, 3))
    with pytest.raises(RuntimeError, match="divisible"):
        F.group_norm(numnet.zeros(2, 6, 3), 4)


def test_instance_norm(check_op):
    check_op(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), (2, 3, 4, 5), (3,), (3,))
    check_op(F.instance_norm, TF.instance_norm, (2, 3, 6))


def test_instance_norm_updates_running_stats_like_torch():
    x = numpy.random.default_rng(1).standard_normal((4, 3, 5, 2)).astype(numpy.float32)
    rm, rv = numnet.zeros(3), numnet.ones(3)
    trm, trv = torch.zeros(3), torch.ones(3)
    y = F.instance_norm(numnet.tensor(x), rm, rv, momentum=0.2)
    t = TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    numpy.testing.assert_allclose(y.data, t.numpy(), atol=1e-5)
    numpy.testing.assert_allclose(rm.data, trm.numpy(), atol=1e-6)
    numpy.testing.assert_allclose(rv.data, trv.numpy(), atol=1e-6)
    y = F.instance_norm(numnet.tensor(x), rm, rv, use_input_stats=False)
    t = TF.instance_norm(torch.tensor(x), trm, trv, use_input_stats=False)
    numpy.testing.assert_allclose(y.data, t.numpy(), atol=1e-5)


# ---------------------------------------------------------------------- normalize
@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, -1), (3.0, 0), (float("inf"), 1)])
def test_normalize(check_op, p, dim):
    check_op(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim), (3, 4, 2))


def test_normalize_clamps_small_norms_with_eps(check_op):
    x = numpy.array([[1e-3, -2e-3, 0.5e-3], [1.0, 2.0, -2.0]])
    check_op(lambda x: F.normalize(x, eps=1e-2), lambda x: TF.normalize(x, eps=1e-2), x)
    x = numpy.array([[0.0, 0.0], [3.0, 4.0]])
    check_op(lambda x: F.normalize(x, dim=-1), lambda x: TF.normalize(x, dim=-1), x,
             gradcheck=False)
    with pytest.raises(IndexError):
        F.normalize(numnet.zeros(2, 3), dim=2)


def test_normalize_of_int_input_is_float():
    y = F.normalize(numnet.tensor([[3, 4]]))
    t = TF.normalize(torch.tensor([[3.0, 4.0]]))
    assert y.dtype == numpy.float32
    numpy.testing.assert_allclose(y.data, t.numpy())


# ---------------------------------------------------------------------- gelu
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(check_op, approximate):
    check_op(lambda x: F.gelu(x, approximate=approximate),
             lambda x: TF.gelu(x, approximate=approximate), (3, 5))
    numpy.testing.assert_allclose(
        nn.GELU(approximate)(numnet.tensor([-2.0, 0.5])).data,
        torch.nn.GELU(approximate)(torch.tensor([-2.0, 0.5])).numpy(), atol=1e-6)


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(RuntimeError, match="none or tanh"):
        F.gelu(numnet.zeros(2), approximate="fast")


# ---------------------------------------------------------------------- modules vs torch
def _parity(module, torch_module, shape, seed=0, atol=1e-5):
    """Load torch's state_dict into ``module``; compare output, input and parameter grads."""
    state = {k: v.detach().numpy() for k, v in torch_module.state_dict().items()}
    assert list(module.state_dict()) == list(state)
    module.load_state_dict(state)
    x = numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)
    xn = numnet.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yn, yt = module(xn), torch_module(xt)
    numpy.testing.assert_allclose(yn.data, yt.detach().numpy(), atol=atol)
    g = numpy.random.default_rng(seed + 1).standard_normal(yt.shape).astype(numpy.float32)
    (yn * numnet.tensor(g)).sum().backward()
    yt.backward(torch.tensor(g))
    numpy.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), atol=atol)
    params = dict(module.named_parameters())
    for name, p in torch_module.named_parameters():
        numpy.testing.assert_allclose(params[name].grad.data, p.grad.numpy(), atol=atol,
                                      err_msg=name)


def test_layer_norm_module_loads_torch_weights():
    torch.manual_seed(0)
    t = torch.nn.LayerNorm((3, 4), eps=1e-4)
    with torch.no_grad():
        t.weight.normal_()
        t.bias.normal_()
    _parity(nn.LayerNorm((3, 4), eps=1e-4), t, (2, 3, 4))
    assert nn.LayerNorm(4, bias=False).bias is None
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []


def test_group_norm_module_loads_torch_weights():
    t = torch.nn.GroupNorm(2, 4)
    with torch.no_grad():
        t.weight.normal_()
        t.bias.normal_()
    _parity(nn.GroupNorm(2, 4), t, (3, 4, 5))
    with pytest.raises(ValueError):
        nn.GroupNorm(3, 4)


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 4)),
                                        ("InstanceNorm2d", (3, 4, 4))])
def test_instance_norm_modules(cls, shape):
    n = getattr(nn, cls)(3, affine=True, track_running_stats=True)
    t = getattr(torch.nn, cls)(3, affine=True, track_running_stats=True)
    assert list(n.state_dict()) == list(t.state_dict())
    _parity(n, t, shape)
    for name in ("running_mean", "running_var"):
        numpy.testing.assert_allclose(getattr(n, name).data, getattr(t, name).numpy(),
                                      atol=1e-6)
    x = numpy.random.default_rng(3).standard_normal(shape).astype(numpy.float32)
    numpy.testing.assert_allclose(n.eval()(numnet.tensor(x)).data,
                                  t.eval()(torch.tensor(x)).detach().numpy(), atol=1e-5)
    plain = getattr(nn, cls)(3)
    assert list(plain.state_dict()) == [] and plain.weight is None


def test_batch_norm_momentum_none_is_the_cumulative_average():
    n = nn.BatchNorm1d(3, momentum=None)
    t = torch.nn.BatchNorm1d(3, momentum=None)
    rng = numpy.random.default_rng(0)
    for _ in range(3):
        x = (rng.standard_normal((5, 3)) * 2 + 1).astype(numpy.float32)
        n(numnet.tensor(x))
        t(torch.tensor(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        numpy.testing.assert_allclose(getattr(n, name).data, getattr(t, name).numpy(),
                                      atol=1e-6)
    assert n.num_batches_tracked.dtype == numpy.int64


# ---------------------------------------------------------------------- local response norm
@pytest.mark.parametrize("shape, size", [((2, 6, 3), 3), ((2, 5, 3, 2), 4), ((1, 3, 2, 2, 2), 5)])
def test_local_response_norm(check_op, shape, size):
    check_op(lambda x: F.local_response_norm(x, size, alpha=0.5, beta=0.7, k=2.0),
             lambda x: TF.local_response_norm(x, size, alpha=0.5, beta=0.7, k=2.0), shape)
    x = numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32)
    numpy.testing.assert_allclose(nn.LocalResponseNorm(size)(numnet.tensor(x)).data,
                                  torch.nn.LocalResponseNorm(size)(torch.tensor(x)).numpy(),
                                  atol=1e-6)
    with pytest.raises(ValueError):
        F.local_response_norm(numnet.zeros(2, 3), 2)
