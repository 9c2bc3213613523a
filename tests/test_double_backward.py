"""Second derivatives (``create_graph=True``) of every op that has double backward, against
torch's and against float64 finite differences of the first derivatives (``check_op`` with
``gradgrad=True``). The ops not listed here raise ``"<Op>: double backward is not
implemented"`` (README, "Higher-order gradients")."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F

BINARY = [
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: numnet.add(a, b, alpha=2.5), lambda a, b: torch.add(a, b, alpha=2.5)),
    (lambda a, b: a - b, lambda a, b: a - b),
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    (lambda a, b: F.maximum(a, b), torch.maximum),
    (lambda a, b: F.minimum(a, b), torch.minimum),
]


@pytest.mark.parametrize("pair", BINARY, ids=["add", "add_alpha", "sub", "mul", "div",
                                              "maximum", "minimum"])
def test_binary_ops_broadcasting(check_op, pair):
    check_op(*pair, (3, 4), (4,), gradgrad=True, float32=False)


UNARY = {
    "neg": (lambda x: -x, lambda x: -x),
    "exp": (numnet.exp, torch.exp),
    "log": (lambda x: numnet.log(x * x + 0.5), lambda x: torch.log(x * x + 0.5)),
    "sqrt": (lambda x: numnet.sqrt(x * x + 0.5), lambda x: torch.sqrt(x * x + 0.5)),
    "abs": (numnet.abs, torch.abs),
    "clamp": (lambda x: numnet.clamp(x * x, -0.5, 0.8), lambda x: torch.clamp(x * x, -0.5, 0.8)),
    "pow": (lambda x: x ** 3, lambda x: x ** 3),
    "pow_tensor": (lambda x: (x * x + 0.5) ** (x + 1), lambda x: (x * x + 0.5) ** (x + 1)),
    "sigmoid": (numnet.sigmoid, torch.sigmoid),
    "tanh": (numnet.tanh, torch.tanh),
    "relu": (lambda x: F.relu(x) * x, lambda x: torch.relu(x) * x),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: torch.softmax(x, dim=1)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=0), lambda x: torch.log_softmax(x, dim=0)),
    "sum_mean": (lambda x: x.sum(0) * x.mean(1, keepdim=True),
                 lambda x: x.sum(0) * x.mean(1, keepdim=True)),
    "reshape_permute": (lambda x: (x.reshape(4, 3).permute(1, 0) ** 2),
                        lambda x: (x.reshape(4, 3).permute(1, 0) ** 2)),
    "expand": (lambda x: x[:1].expand(5, 4) * x.sum(), lambda x: x[:1].expand(5, 4) * x.sum()),
    "getitem": (lambda x: x[[0, 0, 2], 1:] ** 2, lambda x: x[[0, 0, 2], 1:] ** 2),
    "cat_stack": (lambda x: numnet.cat([x, x * x]) * numnet.stack([x, x]).sum(0).sum(),
                  lambda x: torch.cat([x, x * x]) * torch.stack([x, x]).sum(0).sum()),
    "where": (lambda x: numnet.where(x > 0, x * x, x * 3),
              lambda x: torch.where(x > 0, x * x, x * 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops(check_op, name):
    check_op(*UNARY[name], (3, 4), gradgrad=True, float32=False)


def test_matmul_and_linear(check_op):
    check_op(lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, (2, 3, 4), (4, 2),
             gradgrad=True, float32=False)
    check_op(lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2, (4,), (4, 2),
             gradgrad=True, float32=False)
    check_op(lambda x, w, b: numnet.tanh(F.linear(x, w, b)),
             lambda x, w, b: torch.tanh(torch.nn.functional.linear(x, w, b)),
             (5, 3), (2, 3), (2,), gradgrad=True, float32=False)


def test_mlp_hessian_equals_torch():
    """The Hessian of a sigmoid MLP's softmax cross-entropy with respect to its first
    layer, row by row (``numnet.autograd.functional.hessian``)."""
    rng = numpy.random.default_rng(0)
    x, w2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 5))
    w1 = rng.standard_normal((5, 3))
    targets = [0, 1, 1, 0]

    def loss(lib):
        def f(w):
            hidden = lib.sigmoid(lib.tensor(x) @ w.T)
            logits = hidden @ lib.tensor(w2).T
            return -(lib.nn.functional.log_softmax(logits, 1)[list(range(4)), targets]).mean()
        return f

    got = numnet.autograd.functional.hessian(loss(numnet), numnet.tensor(w1))
    expected = torch.autograd.functional.hessian(loss(torch), torch.tensor(w1))
    assert got.shape == (5, 3, 5, 3)
    numpy.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-9, atol=1e-12)


CONVOLUTIONS = {
    "plain": dict(),
    "stride_padding": dict(stride=2, padding=1),
    "dilation": dict(dilation=2, padding=2),
    "groups": dict(groups=2, padding=(1, 0)),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_conv2d(check_op, name):
    """conv2d's gradients are ``ConvInputGrad`` and ``ConvWeightGrad``, whose own gradients
    are conv2d and each other: checked through a square so the second derivative is not 0."""
    options = CONVOLUTIONS[name]
    check_op(lambda x, w, b: F.conv2d(x, w, b, **options) ** 2,
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, **options) ** 2,
             (2, 4, 6, 5), (2, 4 // options.get("groups", 1), 3, 3), (2,),
             gradgrad=True, float32=False)


@pytest.mark.parametrize("stride", [1, 2])
def test_pointwise_conv2d(check_op, stride):
    """1x1 filters take the pointwise kernels (the input as its own column matrix)."""
    check_op(lambda x, w, b: F.conv2d(x, w, b, stride=stride) ** 2,
             lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=stride) ** 2,
             (2, 3, 5, 4), (4, 3, 1, 1), (4,), gradgrad=True, float32=False)


def test_conv2d_unbatched(check_op):
    check_op(lambda x, w: F.conv2d(x, w, padding=1) ** 2,
             lambda x, w: torch.nn.functional.conv2d(x, w, padding=1) ** 2,
             (2, 5, 5), (3, 2, 3, 3), gradgrad=True, float32=False)


@pytest.mark.parametrize("pool", [None, 2])
def test_fused_conv2d_relu(check_op, pool):
    """The fused ``conv2d_relu`` (with and without its max pooling) records the same
    second derivatives as conv2d, relu and max_pool2d one by one in torch."""
    def reference(x, w, b):
        y = torch.relu(torch.nn.functional.conv2d(x, w, b, padding=1))
        y = y if pool is None else torch.nn.functional.max_pool2d(y, pool)
        return y ** 2
    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1, pool=pool) ** 2, reference,
             (2, 3, 6, 6), (4, 3, 3, 3), (4,), gradgrad=True, float32=False)


@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1, output_padding=1),
                                     dict(groups=2, dilation=2)],
                         ids=["plain", "stride_output_padding", "groups_dilation"])
def test_conv_transpose2d(check_op, options):
    check_op(lambda x, w, b: F.conv_transpose2d(x, w, b, **options) ** 2,
             lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **options) ** 2,
             (2, 4, 4, 5), (4, 3, 3, 3), (3 * options.get("groups", 1),),
             gradgrad=True, float32=False)


def _mask_ops(lib):
    F_ = lib.nn.functional
    return {
        "relu": F_.relu, "leaky_relu": F_.leaky_relu, "hardtanh": F_.hardtanh,
        "threshold": lambda z: F_.threshold(z, 0.1, 0.0), "hardshrink": F_.hardshrink,
        "softshrink": F_.softshrink, "abs": lib.abs, "prelu": lambda z: F_.prelu(
            z, lib.tensor([0.25], dtype=z.dtype)),
        "rrelu_eval": lambda z: F_.rrelu(z, training=False),
        "max_pool2d": lambda z: F_.max_pool2d(z.reshape(1, 1, 2, 2), 2).reshape(1),
        "adaptive_max_pool2d": lambda z: F_.adaptive_max_pool2d(z.reshape(1, 1, 2, 2), 1),
        "avg_pool2d": lambda z: F_.avg_pool2d(z.reshape(1, 1, 2, 2), 3, 1, padding=1),
        "adaptive_avg_pool2d": lambda z: F_.adaptive_avg_pool2d(z.reshape(1, 1, 2, 2), (1, 2)),
        "adaptive_avg_pool2d_1": lambda z: F_.adaptive_avg_pool2d(z.reshape(1, 1, 2, 2), 1),
        "pad_reflect": lambda z: F_.pad(z.reshape(1, 1, 2, 2), (1, 1, 1, 1), mode="reflect"),
        "pad_replicate": lambda z: F_.pad(z.reshape(1, 2, 2), (1, 1), mode="replicate"),
        "pad_circular": lambda z: F_.pad(z.reshape(1, 2, 2), (1, 1), mode="circular"),
        "clamp": lambda z: lib.clamp(z, -0.5, 0.5), "maximum": lambda z: lib.maximum(z, z / 2),
        "where": lambda z: lib.where(z > 0, z, z / 10), "amax": lambda z: z.amax(),
    }


@pytest.mark.parametrize("name", sorted(_mask_ops(torch)))
def test_what_a_mask_reaches_matches_torch(name):
    """The gradient of a gradient penalty with respect to a bias that reaches it only
    through a mask (or not at all, for a linear op): zeros where torch's double-backward
    graph keeps an edge to the value (``Function.masks_from``: ReLU's output, max and average
    pooling's input, reflect/replicate padding's, ...), None where it does not (clamp,
    maximum, where: their masks come from comparisons; circular padding: slices)."""
    results = []
    for lib in (numnet, torch):
        x = lib.tensor([0.5, -1.0, 2.0, -0.2], dtype=lib.float64, requires_grad=True)
        w = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(0.3, dtype=lib.float64, requires_grad=True)
        y = _mask_ops(lib)[name](x * w + b)
        (g,) = lib.autograd.grad((y * lib.arange(1, y.numel() + 1).reshape(y.shape)).sum(),
                                 x, create_graph=True)
        (gb,) = lib.autograd.grad((g ** 2).sum(), b, allow_unused=True)
        results.append(None if gb is None else float(gb))
    assert results[0] == results[1]
