"""Second derivatives (``create_graph=True``) of the normalization ops (batch, layer, group
and instance norm, ``normalize``, local response norm), of the fused losses (NLL,
binary cross-entropy with and without logits) and of every loss ``numnet.nn.functional``
composes from other ops (cross entropy with label smoothing and probability targets, MSE,
L1, smooth L1, Huber, KL divergence), against torch's and against float64 finite
differences of the first derivatives (``check_op`` with ``gradgrad=True``); third
derivatives of batch and layer norm against torch's elementary ops;
``SyncBatchNormFunction``'s on one process, and its error on several."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F
from numnet import distributed as dist
from numnet.nn.sync_batchnorm import SyncBatchNormFunction

T = torch.nn.functional
RNG = numpy.random.default_rng(7)
RUNNING_MEAN = RNG.standard_normal(3)
RUNNING_VAR = RNG.uniform(0.5, 2.0, 3)


def _stats(lib):
    return lib.tensor(RUNNING_MEAN.copy()), lib.tensor(RUNNING_VAR.copy())


# ---------------------------------------------------------------------- normalization
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2, 3)], ids=["2d", "4d"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_training(check_op, shape, affine):
    specs = [shape] + ([(3,), (3,)] if affine else [])
    check_op(lambda x, *wb: F.batch_norm(x, None, None, *wb, training=True),
             lambda x, *wb: T.batch_norm(x, None, None, *wb, training=True),
             *specs, gradgrad=True, float32=False)


def test_batch_norm_training_with_running_stats(check_op):
    check_op(lambda x, w, b: F.batch_norm(x, *_stats(numnet), w, b, training=True) ** 2,
             lambda x, w, b: T.batch_norm(x, *_stats(torch), w, b, training=True) ** 2,
             (4, 3, 5), (3,), (3,), gradgrad=True, float32=False)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_eval(check_op, affine):
    """Running statistics are constants: ``y`` is linear in ``x``, hence the square."""
    specs = [(4, 3, 5)] + ([(3,), (3,)] if affine else [])
    check_op(lambda x, *wb: F.batch_norm(x, *_stats(numnet), *wb, training=False) ** 2,
             lambda x, *wb: T.batch_norm(x, *_stats(torch), *wb, training=False) ** 2,
             *specs, gradgrad=True, float32=False)


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm(check_op, affine):
    specs = [(2, 3, 4)]
    specs += [(3, 4)] if affine in ("both", "weight") else []
    specs += [(3, 4)] if affine in ("both", "bias") else []

    def call(layer_norm):
        def f(x, *params):
            weight = params[0] if affine in ("both", "weight") else None
            bias = params[-1] if affine in ("both", "bias") else None
            if layer_norm is T.layer_norm and weight is None and bias is not None:
                # torch's double backward of a bias-only layer_norm fails ("Expected a
                # proper Tensor but got None"): its reference adds the bias itself
                return layer_norm(x, (3, 4)) + bias
            return layer_norm(x, (3, 4), weight, bias)
        return f
    check_op(call(F.layer_norm), call(T.layer_norm), *specs, gradgrad=True, float32=False)


def test_layer_norm_last_axis(check_op):
    check_op(lambda x, w, b: F.layer_norm(x, (5,), w, b, eps=1e-3),
             lambda x, w, b: T.layer_norm(x, (5,), w, b, eps=1e-3),
             (3, 5), (5,), (5,), gradgrad=True, float32=False)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm(check_op, groups):
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: T.group_norm(x, groups, w, b),
             (2, 4, 3, 2), (4,), (4,), gradgrad=True, float32=False)


def test_group_norm_without_affine_and_instance_norm(check_op):
    check_op(lambda x: F.group_norm(x, 2), lambda x: T.group_norm(x, 2), (3, 4, 5),
             gradgrad=True, float32=False)
    check_op(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
             lambda x, w, b: T.instance_norm(x, weight=w, bias=b),
             (2, 3, 4), (3,), (3,), gradgrad=True, float32=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, numpy.inf], ids=["p2", "p1", "p3", "inf"])
@pytest.mark.parametrize("dim", [1, -1])
def test_normalize(check_op, p, dim):
    check_op(lambda x: F.normalize(x, p=p, dim=dim), lambda x: T.normalize(x, p=p, dim=dim),
             (3, 4, 2), gradgrad=True, float32=False)


def test_normalize_clamped_rows(check_op):
    """Rows whose norm is below ``eps``, where ``y = x / eps``: a zero row (torch's double
    backward gives nan there, numnet the derivative of ``x / eps``) and a small one."""
    x = RNG.standard_normal((2, 4)) * 1e-3
    x[0] = 0.0
    check_op(lambda t: F.normalize(t, eps=0.01) ** 2, lambda t: (t / 0.01) ** 2, x,
             gradgrad=True, float32=False)
    x[0] = RNG.standard_normal(4)
    check_op(lambda t: F.normalize(t, eps=0.01) ** 2, lambda t: T.normalize(t, eps=0.01) ** 2,
             x, gradgrad=True, float32=False, gradcheck=False)


@pytest.mark.parametrize("size", [3, 4])
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 5, 2, 3)], ids=["3d", "4d"])
def test_local_response_norm(check_op, size, shape):
    check_op(lambda x: F.local_response_norm(x, size, alpha=0.3, beta=0.75, k=1.5),
             lambda x: T.local_response_norm(x, size, alpha=0.3, beta=0.75, k=1.5),
             shape, gradgrad=True, float32=False)


INTERMEDIATE = {  # (numnet op, torch op, parameter shape) on a (4, 3, 2) input
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   lambda x, w, b: T.batch_norm(x, None, None, w, b, training=True), (3,)),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(x, *_stats(numnet), w, b) ** 2,
                        lambda x, w, b: T.batch_norm(x, *_stats(torch), w, b) ** 2, (3,)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 2), w, b),
                   lambda x, w, b: T.layer_norm(x, (3, 2), w, b), (3, 2)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 3, w, b),
                   lambda x, w, b: T.group_norm(x, 3, w, b), (3,)),
}


@pytest.mark.parametrize("name", sorted(INTERMEDIATE))
def test_norms_of_an_intermediate_result(check_op, name):
    """The input is another op's output, not a leaf: the recorded backward rebuilds it from
    ``xhat`` (``_rebuilt_input``) and differentiates through it back to the leaf."""
    ours, theirs, param = INTERMEDIATE[name]
    check_op(lambda x, w, b: ours(x * x + x, w, b), lambda x, w, b: theirs(x * x + x, w, b),
             (4, 3, 2), param, param, gradgrad=True, float32=False)


@pytest.mark.parametrize("name", sorted(INTERMEDIATE))
def test_norms_with_a_constant_input(check_op, name):
    """Only the affine parameters require grad."""
    ours, theirs, param = INTERMEDIATE[name]
    check_op(lambda x, w, b: ours(x, w * w, b), lambda x, w, b: theirs(x, w * w, b),
             (4, 3, 2), param, param, grad=[False, True, True], gradgrad=True, float32=False)


def _third_derivatives(lib, op, arrays, vectors):
    """``d/dx (w . d/dx (v . d/dx (u . op(x))))`` for each input, in ``lib``."""
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    u, v, w = vectors
    first = lib.autograd.grad((op(*inputs) * lib.tensor(u)).sum(), inputs, create_graph=True)
    second = lib.autograd.grad((first[0] * lib.tensor(v)).sum(), inputs, create_graph=True,
                               allow_unused=True)
    third = lib.autograd.grad((second[0] * lib.tensor(w)).sum(), inputs, allow_unused=True)
    return [numpy.zeros(a.shape) if t is None else t.detach().numpy() if lib is torch
            else t.data for a, t in zip(arrays, third)]


def _composed(x, weight, bias, dims, shape):
    """``(x - mean) / sqrt(var + 1e-5) * weight + bias`` over ``dims`` from elementary ops
    (numnet's or torch's), ``weight`` and ``bias`` reshaped to ``shape``."""
    centered = x - x.mean(dim=dims, keepdim=True)
    var = (centered * centered).mean(dim=dims, keepdim=True)
    return centered / (var + 1e-5).sqrt() * weight.reshape(shape) + bias.reshape(shape)


THIRD_ORDER = {  # the op, its dims, its parameters' shape and their view for _composed
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   (0, 2), (3,), (1, 3, 1)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 2), w, b), (1, 2), (3, 2), (3, 2)),
}


@pytest.mark.parametrize("name", sorted(THIRD_ORDER))
def test_third_derivatives_equal_torch(name):
    """Against torch's composition of elementary ops: torch's own batch_norm and
    layer_norm get third derivatives wrong (their double backward treats the saved
    statistics as constants; finite differences of torch's second derivatives agree with
    numnet)."""
    ours, dims, param, view = THIRD_ORDER[name]
    shape = (4, 3, 2)
    arrays = [RNG.standard_normal(shape), RNG.standard_normal(param),
              RNG.standard_normal(param)]
    vectors = [RNG.standard_normal(shape) for _ in range(3)]
    got = _third_derivatives(numnet, ours, arrays, vectors)
    expected = _third_derivatives(torch, lambda x, w, b: _composed(x, w, b, dims, view),
                                  arrays, vectors)
    for have, want in zip(got, expected):
        numpy.testing.assert_allclose(have, want, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------- SyncBatchNorm
@pytest.fixture
def local_group():
    dist.init_process_group("local")
    yield
    dist.destroy_process_group()


def test_sync_batch_norm_function_on_one_process_is_batch_norm(check_op, local_group):
    check_op(lambda x, w, b: SyncBatchNormFunction()(x, w, b),
             lambda x, w, b: T.batch_norm(x, None, None, w, b, training=True),
             (4, 3, 2), (3,), (3,), gradgrad=True, float32=False)


def test_sync_batch_norm_double_backward_on_several_processes_raises(local_group,
                                                                     monkeypatch):
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: 2)
    x = numnet.randn(4, 3, 2, requires_grad=True)
    (SyncBatchNormFunction()(x) ** 2).sum().backward()  # first order: the allreduced sums
    assert x.grad is not None
    y = SyncBatchNormFunction()(x)
    with pytest.raises(RuntimeError, match="SyncBatchNormFunction: double backward is not "
                                           "implemented .* on more than one process"):
        numnet.autograd.grad((y ** 2).sum(), x, create_graph=True)


# ---------------------------------------------------------------------- fused losses
TARGET = numpy.array([0, 3, -100, 1, 3, 2])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(check_op, reduction):
    """NLL's gradient is linear in ``gy`` and free of ``logp``: through log_softmax, so the
    second derivative in ``x`` is not zero."""
    weight = RNG.uniform(0.5, 2.0, 4)

    def call(lib):
        return lambda x: lib.nn.functional.nll_loss(
            lib.nn.functional.log_softmax(x, 1), lib.tensor(TARGET),
            weight=lib.tensor(weight), reduction=reduction)
    check_op(call(numnet), call(torch), (6, 4), gradgrad=True, float32=False)


def test_nll_loss_linear_and_k_dimensional(check_op):
    """On ``x`` itself the second derivative in ``x`` is 0, in the upstream gradient not."""
    target = numpy.where(TARGET < 0, 2, TARGET)
    check_op(lambda x: F.nll_loss(x, target, ignore_index=3, reduction="none"),
             lambda x: T.nll_loss(x, torch.tensor(target), ignore_index=3, reduction="none"),
             (6, 4), gradgrad=True, float32=False)
    target = RNG.integers(0, 3, (2, 5))
    check_op(lambda x: F.nll_loss(F.log_softmax(x, 1), target),
             lambda x: T.nll_loss(T.log_softmax(x, 1), torch.tensor(target)),
             (2, 3, 5), gradgrad=True, float32=False)


PROBS = RNG.uniform(0.05, 0.95, (3, 4))
LABELS = RNG.uniform(0.0, 1.0, (3, 4))
WEIGHT = RNG.uniform(0.5, 2.0, 4)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_binary_cross_entropy(check_op, reduction, weighted):
    def call(lib):
        weight = lib.tensor(WEIGHT) if weighted else None
        return lambda x, t: lib.nn.functional.binary_cross_entropy(x, t, weight=weight,
                                                                   reduction=reduction)
    check_op(call(numnet), call(torch), PROBS, LABELS, gradgrad=True, float32=False)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits(check_op, reduction, weights):
    def call(lib):
        weight = lib.tensor(WEIGHT) if weights in ("weight", "both") else None
        pos_weight = lib.tensor(WEIGHT[::-1].copy()) if weights in ("pos_weight", "both") \
            else None
        return lambda x, t: lib.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=weight, pos_weight=pos_weight, reduction=reduction)
    check_op(call(numnet), call(torch), (3, 4), LABELS, gradgrad=True, float32=False)


# ---------------------------------------------------------------------- composed losses
CROSS_ENTROPY = {
    "indices": dict(),
    "indices_smoothing": dict(label_smoothing=0.2),
    "weighted_smoothing_ignore": dict(label_smoothing=0.1, weight=WEIGHT, ignore_index=-100),
    "smoothing_sum": dict(label_smoothing=0.3, reduction="sum"),
    "smoothing_none": dict(label_smoothing=0.3, reduction="none"),
}


@pytest.mark.parametrize("name", sorted(CROSS_ENTROPY))
def test_cross_entropy_class_indices(check_op, name):
    options = CROSS_ENTROPY[name]

    def call(lib):
        kwargs = dict(options)
        if "weight" in kwargs:
            kwargs["weight"] = lib.tensor(kwargs["weight"])
        return lambda x: lib.nn.functional.cross_entropy(x, lib.tensor(TARGET), **kwargs)
    check_op(call(numnet), call(torch), (6, 4), gradgrad=True, float32=False)


@pytest.mark.parametrize("options", [dict(), dict(label_smoothing=0.2),
                                     dict(weight=WEIGHT, reduction="sum")],
                         ids=["plain", "smoothing", "weighted_sum"])
def test_cross_entropy_probability_targets(check_op, options):
    """The target (a softmax of its own input, so it is a distribution) is differentiated
    too."""
    def call(lib):
        kwargs = dict(options)
        if "weight" in kwargs:
            kwargs["weight"] = lib.tensor(kwargs["weight"])
        functional = lib.nn.functional
        return lambda x, t: functional.cross_entropy(x, functional.softmax(t, 1), **kwargs)
    check_op(call(numnet), call(torch), (3, 4), (3, 4), gradgrad=True, float32=False)


ELEMENTWISE_LOSSES = {
    "mse": (lambda lib: lib.nn.functional.mse_loss, {}),
    "l1": (lambda lib: lib.nn.functional.l1_loss, {}),
    "smooth_l1": (lambda lib: lib.nn.functional.smooth_l1_loss, dict(beta=0.8)),
    "smooth_l1_beta0": (lambda lib: lib.nn.functional.smooth_l1_loss, dict(beta=0.0)),
    "huber": (lambda lib: lib.nn.functional.huber_loss, dict(delta=0.7)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE_LOSSES))
def test_elementwise_losses(check_op, name, reduction):
    """Each loss of ``x * x`` against its target, so that even the piecewise linear ones
    (L1, the linear part of smooth L1 and Huber) have a second derivative in ``x``."""
    loss, options = ELEMENTWISE_LOSSES[name]

    def call(lib):
        return lambda x, t: loss(lib)(x * x, t, reduction=reduction, **options)
    check_op(call(numnet), call(torch), (3, 4), (3, 4), gradgrad=True, float32=False)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True], ids=["probs", "log_target"])
def test_kl_div(check_op, reduction, log_target):
    def call(lib):
        functional = lib.nn.functional

        def f(x, t):
            target = functional.log_softmax(t, 1) if log_target else functional.softmax(t, 1)
            return functional.kl_div(functional.log_softmax(x, 1), target,
                                     reduction=reduction, log_target=log_target)
        return f
    check_op(call(numnet), call(torch), (3, 4), (3, 4), gradgrad=True, float32=False)
