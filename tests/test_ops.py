"""Every core op against PyTorch (float64 and float32) and float64 finite differences."""

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F

BINARY_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((2, 1, 3), (4, 1)),
                 ((), (2, 3))]


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_binary(name, shapes, check_op):
    ops = {"add": (F.add, torch.add), "sub": (F.sub, torch.sub), "mul": (F.mul, torch.mul),
           "div": (F.div, torch.div), "maximum": (F.maximum, torch.maximum),
           "minimum": (F.minimum, torch.minimum)}
    n_fn, t_fn = ops[name]
    rng = numpy.random.default_rng(1)
    a = rng.standard_normal(shapes[0])
    b = rng.standard_normal(shapes[1])
    if name == "div":
        b = numpy.sign(b) * (numpy.abs(b) + 0.5)
    check_op(n_fn, t_fn, a, b)


def test_operators_with_python_numbers_keep_float32(check_op):
    x = numnet.ones(2, 3, requires_grad=True)
    for y in (x + 1, 1 + x, x - 2.5, 2.5 - x, x * 3, 3 * x, x / 2, 2 / x, x ** 2, 2 ** x, -x):
        assert y.dtype == numpy.float32
    check_op(lambda t: 2.0 - t * 3.0 + 1 / (t * t + 1.0),
             lambda t: 2.0 - t * 3.0 + 1 / (t * t + 1.0), (3, 4))


def test_maximum_ties_split_gradient(check_op):
    check_op(F.maximum, torch.maximum, numpy.array([1.0, 2.0, 3.0]),
             numpy.array([1.0, 0.0, 3.0]), gradcheck=False)


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((3, 4), (2, 1, 1)), ((2, 2), ())])
def test_pow(shapes, check_op):
    rng = numpy.random.default_rng(2)
    a = numpy.abs(rng.standard_normal(shapes[0])) + 0.5
    b = rng.standard_normal(shapes[1])
    check_op(F.pow, torch.pow, a, b)


def test_pow_scalar_exponent_negative_base(check_op):
    check_op(lambda t: t ** 3, lambda t: t ** 3, (2, 3))
    check_op(lambda t: t ** 2.0, lambda t: t ** 2.0, (4,))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 3))])
def test_matmul(shapes, check_op):
    check_op(F.matmul, torch.matmul, *shapes)


def test_neg_and_matmul_operator(check_op):
    check_op(lambda a, b: -(a @ b), lambda a, b: -(a @ b), (2, 3), (3, 2))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "abs"])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_unary(name, shape, check_op):
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal(shape)
    if name in ("log", "sqrt"):
        x = numpy.abs(x) + 0.2
    if name == "abs":
        x = numpy.sign(x) * (numpy.abs(x) + 0.1)
    check_op(getattr(F, name), getattr(torch, name), x)


@pytest.mark.parametrize("low,high", [(-0.5, 0.5), (None, 0.3), (-0.2, None)])
def test_clamp(low, high, check_op):
    x = numpy.random.default_rng(4).standard_normal((3, 5))
    x[numpy.abs(x - (low or 0)) < 1e-3] += 0.01
    check_op(lambda t: F.clamp(t, low, high), lambda t: torch.clamp(t, low, high), x)
    check_op(lambda t: t.clip(low, high), lambda t: t.clip(low, high), x)


def test_clamp_needs_a_bound():
    with pytest.raises(RuntimeError):  # PyTorch's error type
        F.clamp(numnet.ones(2), None, None)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4))])
def test_where(shapes, check_op):
    condition = numpy.random.default_rng(5).standard_normal(shapes[2]) > 0
    check_op(lambda a, b: F.where(condition, a, b),
             lambda a, b: torch.where(torch.tensor(condition), a, b), shapes[0], shapes[1])


def test_comparisons_have_no_grad():
    a = numnet.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = numnet.tensor([2.0, 2.0, 2.0])
    for got, want in [(a < b, [True, False, False]), (a <= b, [True, True, False]),
                      (a > b, [False, False, True]), (a >= b, [False, True, True]),
                      (a == b, [False, True, False]), (a != b, [True, False, True]),
                      (a > 1.5, [False, True, True])]:
        assert got.dtype == numpy.bool_ and not got.requires_grad
        assert got.tolist() == want


REDUCE_DIMS = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("dim", REDUCE_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean(name, dim, keepdim, check_op):
    def n_fn(t):
        return getattr(F, name)(t, dim=dim, keepdim=keepdim)

    def t_fn(t):
        return getattr(torch, name)(t, dim=dim, keepdim=keepdim)

    check_op(n_fn, t_fn, (2, 3, 4))


@pytest.mark.parametrize("dim", REDUCE_DIMS)
@pytest.mark.parametrize("correction", [0, 1])
def test_var_std(dim, correction, check_op):
    keepdim = dim == 1
    check_op(lambda t: F.var(t, dim, keepdim=keepdim, correction=correction),
             lambda t: torch.var(t, dim, keepdim=keepdim, correction=correction), (2, 3, 4))
    check_op(lambda t: F.std(t, dim, keepdim=keepdim, correction=correction),
             lambda t: torch.std(t, dim, keepdim=keepdim, correction=correction), (2, 3, 4))


def test_var_unbiased_flag_and_method(check_op):
    check_op(lambda t: t.var(unbiased=False), lambda t: t.var(unbiased=False), (3, 4))
    check_op(lambda t: t.std(1), lambda t: t.std(1), (3, 4))


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_dim(name, dim, keepdim, check_op):
    check_op(lambda t: getattr(F, name)(t, dim, keepdim),
             lambda t: tuple(getattr(torch, name)(t, dim, keepdim)), (3, 4, 5))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_all_with_ties(name, check_op):
    x = numpy.array([[1.0, 4.0, 4.0], [0.0, -2.0, -2.0]])
    check_op(getattr(F, name), getattr(torch, name), x, gradcheck=False)
    check_op(getattr(F, name), getattr(torch, name), (3, 4))


def test_max_dim_ties_go_to_first(check_op):
    x = numpy.array([[1.0, 4.0, 4.0], [3.0, 3.0, -2.0]])
    check_op(lambda t: F.max(t, 1).values, lambda t: torch.max(t, 1).values, x,
             gradcheck=False)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_argmax_argmin(dim):
    x = numpy.random.default_rng(6).standard_normal((4, 5))
    n, t = numnet.tensor(x), torch.tensor(x)
    assert numpy.array_equal(F.argmax(n, dim).numpy(), torch.argmax(t, dim).numpy())
    assert numpy.array_equal(F.argmin(n, dim).numpy(), torch.argmin(t, dim).numpy())
    assert F.argmax(n, 1, keepdim=True).shape == (4, 1)
    assert F.argmax(n).dtype == numpy.int64


SHAPE_CASES = [
    ("reshape", lambda t: t.reshape(4, 6), lambda t: t.reshape(4, 6)),
    ("reshape-1", lambda t: t.reshape(-1, 2), lambda t: t.reshape(-1, 2)),
    ("view", lambda t: t.view(2, 12), lambda t: t.view(2, 12)),
    ("flatten", lambda t: t.flatten(), lambda t: t.flatten()),
    ("flatten1", lambda t: F.flatten(t, 1), lambda t: torch.flatten(t, 1)),
    ("flatten02", lambda t: F.flatten(t, 0, 1), lambda t: torch.flatten(t, 0, 1)),
    ("unsqueeze", lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    ("unsqueeze-1", lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    ("squeeze", lambda t: t.unsqueeze(0).squeeze(), lambda t: t.unsqueeze(0).squeeze()),
    ("squeeze0", lambda t: t.unsqueeze(0).squeeze(0), lambda t: t.unsqueeze(0).squeeze(0)),
    ("squeeze-noop", lambda t: t.squeeze(1), lambda t: t.squeeze(1)),
    ("transpose", lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    ("permute", lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    ("T", lambda t: t.reshape(4, 6).T, lambda t: t.reshape(4, 6).T),
    ("expand", lambda t: t[:, :1].expand(2, 3, 4), lambda t: t[:, :1].expand(2, 3, 4)),
    ("expand-lead", lambda t: t.expand(5, -1, -1, -1), lambda t: t.expand(5, -1, -1, -1)),
    ("broadcast_to", lambda t: F.broadcast_to(t[0, 0], (3, 4)),
     lambda t: torch.broadcast_to(t[0, 0], (3, 4))),
]


@pytest.mark.parametrize("name,n_fn,t_fn", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_shape_ops(name, n_fn, t_fn, check_op):
    check_op(n_fn, t_fn, (2, 3, 4))


def test_reshape_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"invalid for input of size 6"):
        numnet.ones(2, 3).reshape(4, 2)


INDEX_CASES = [
    ("int", lambda t: t[1]),
    ("slice", lambda t: t[1:, ::2]),
    ("negative-step-free", lambda t: t[..., 1:3]),
    ("none", lambda t: t[:, None, 0]),
    ("int-array", lambda t: t[[0, 2, 2, 0]]),
    ("int-array-2d", lambda t: t[[0, 1, 1], [2, 3, 3]]),
    ("mixed", lambda t: t[1:, [0, 0, 2]]),
]


@pytest.mark.parametrize("name,fn", INDEX_CASES, ids=[c[0] for c in INDEX_CASES])
def test_getitem(name, fn, check_op):
    check_op(fn, fn, (3, 4, 2))


def test_getitem_bool_mask_and_tensor_index(check_op):
    x = numpy.random.default_rng(7).standard_normal((4, 3))
    mask = x[:, 0] > 0
    check_op(lambda t: t[numnet.tensor(mask)], lambda t: t[torch.tensor(mask)], x)
    check_op(lambda t: t[t.data > 0] if isinstance(t, numnet.Tensor) else t[t > 0],
             lambda t: t[t > 0], x)
    index = numpy.array([3, 0, 3])
    check_op(lambda t: t[numnet.tensor(index)], lambda t: t[torch.tensor(index)], x)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim, check_op):
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    shapes = [tuple(n + i if d == dim % 3 else n for d, n in enumerate(s))
              for i, s in enumerate(shapes)]
    check_op(lambda *ts: F.cat(ts, dim), lambda *ts: torch.cat(ts, dim), *shapes)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unbind(dim, check_op):
    check_op(lambda t: F.unbind(t, dim), lambda t: torch.unbind(t, dim), (3, 2, 4))


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_stack(dim, check_op):
    check_op(lambda *ts: F.stack(ts, dim), lambda *ts: torch.stack(ts, dim),
             (2, 3), (2, 3), (2, 3))


def test_cat_error_names_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        F.cat([numnet.ones(2, 3), numnet.ones(3, 4)], dim=0)


@pytest.mark.parametrize("pad", [(1, 1), (0, 2, 1, 0), (1, 2, 0, 1, 2, 0), (-1, 1), (2, -1, -1, 1)])
def test_pad(pad, check_op):
    check_op(lambda t: F.pad(t, pad), lambda t: TF.pad(t, pad), (2, 3, 4))
    check_op(lambda t: F.pad(t, pad, value=1.5), lambda t: TF.pad(t, pad, value=1.5), (2, 3, 4),
             gradcheck=False)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activations(name, shape, check_op):
    x = numpy.random.default_rng(8).standard_normal(shape)
    x[numpy.abs(x) < 1e-3] = 0.1
    check_op(getattr(F, name), getattr(torch, name), x)


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu(slope, check_op):
    check_op(lambda t: F.leaky_relu(t, slope), lambda t: TF.leaky_relu(t, slope), (3, 5))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax(name, dim, check_op):
    check_op(lambda t: getattr(F, name)(t, dim), lambda t: getattr(torch, name)(t, dim),
             (3, 4, 5))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softmax", "log_softmax"])
def test_activations_stable_at_1000(name, check_op):
    x = numpy.array([[-1000.0, -1.0, 0.5, 1000.0]])
    args = {"dim": 1} if "softmax" in name else {}
    with numpy.errstate(over="raise", invalid="raise", divide="raise"):
        out = getattr(F, name)(numnet.tensor(x), **args).numpy()
    expected = getattr(torch, name)(torch.tensor(x), **args).numpy()
    assert numpy.all(numpy.isfinite(out))
    numpy.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-300)
    check_op(lambda t: getattr(F, name)(t, **args), lambda t: getattr(torch, name)(t, **args),
             x, gradcheck=False)


TARGET = numpy.array([0, 2, 1, 2, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_indices(reduction, smoothing, weighted, check_op):
    weight = numpy.array([0.5, 2.0, 1.0]) if weighted else None

    def n_fn(t):
        return F.cross_entropy(t, TARGET, weight=weight, reduction=reduction,
                               label_smoothing=smoothing)

    def t_fn(t):
        w = None if weight is None else torch.tensor(weight, dtype=t.dtype)
        return TF.cross_entropy(t, torch.tensor(TARGET), weight=w, reduction=reduction,
                                label_smoothing=smoothing)

    check_op(n_fn, t_fn, (5, 3))


def test_cross_entropy_ignore_index_and_kdim(check_op):
    target = numpy.array([[0, -100, 2], [1, 1, -100]])
    check_op(lambda t: F.cross_entropy(t, target, label_smoothing=0.1),
             lambda t: TF.cross_entropy(t, torch.tensor(target), label_smoothing=0.1),
             (2, 3, 3))
    check_op(lambda t: F.cross_entropy(t, target, reduction="none"),
             lambda t: TF.cross_entropy(t, torch.tensor(target), reduction="none"), (2, 3, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probabilities(reduction, smoothing, check_op):
    probs = numpy.random.default_rng(9).dirichlet(numpy.ones(4), size=3)
    check_op(lambda x, p: F.cross_entropy(x, p, reduction=reduction, label_smoothing=smoothing),
             lambda x, p: TF.cross_entropy(x, p, reduction=reduction,
                                           label_smoothing=smoothing),
             (3, 4), probs)


def test_cross_entropy_errors():
    logits = numnet.zeros(2, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(logits, numpy.array([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        F.cross_entropy(logits, numpy.array([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(logits, numpy.array([0, 1]), reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction, check_op):
    check_op(lambda t: F.nll_loss(F.log_softmax(t, 1), TARGET, reduction=reduction),
             lambda t: TF.nll_loss(TF.log_softmax(t, 1), torch.tensor(TARGET),
                                   reduction=reduction), (5, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction, check_op):
    check_op(lambda a, b: F.mse_loss(a, b, reduction=reduction),
             lambda a, b: TF.mse_loss(a, b, reduction=reduction), (3, 4), (3, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted, check_op):
    rng = numpy.random.default_rng(10)
    x = rng.uniform(0.05, 0.95, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    weight = rng.uniform(0.5, 2, (3,)) if weighted else None

    def t_fn(a, b):
        w = None if weight is None else torch.tensor(weight, dtype=a.dtype)
        return TF.binary_cross_entropy(a, b, weight=w, reduction=reduction)

    check_op(lambda a, b: F.binary_cross_entropy(a, b, weight=weight, reduction=reduction),
             t_fn, x, t)


def test_binary_cross_entropy_clamps_log_at_minus_100():
    x = numpy.array([0.0, 1.0, 0.5])
    t = numpy.array([1.0, 0.0, 1.0])
    got = F.binary_cross_entropy(numnet.tensor(x), numnet.tensor(t), reduction="none").numpy()
    expected = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none")
    numpy.testing.assert_allclose(got, expected.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", [None, [0.5, 3.0, 1.0]])
def test_binary_cross_entropy_with_logits(reduction, pos_weight, check_op):
    rng = numpy.random.default_rng(11)
    x = rng.standard_normal((4, 3)) * 3
    t = rng.uniform(0, 1, (4, 3))
    pw = None if pos_weight is None else numpy.array(pos_weight)

    def t_fn(a, b):
        p = None if pw is None else torch.tensor(pw, dtype=a.dtype)
        return TF.binary_cross_entropy_with_logits(a, b, reduction=reduction, pos_weight=p)

    check_op(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                             pos_weight=pw), t_fn, x, t)


def test_bce_with_logits_stable_at_1000():
    x = numnet.tensor([-1000.0, 1000.0], dtype="float64")
    t = numnet.tensor([1.0, 0.0], dtype="float64")
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    numpy.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0])


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3), (3,), (0, 3)])
def test_linear_is_one_op_that_matches_torch(x_shape, check_op):
    check_op(F.linear, TF.linear, x_shape, (5, 3), (5,), gradcheck=x_shape != (0, 3))
    check_op(F.linear, TF.linear, x_shape, (5, 3), gradcheck=x_shape != (0, 3))
    y = F.linear(numnet.randn(*x_shape), numnet.randn(5, 3, requires_grad=True),
                 numnet.randn(5, requires_grad=True))
    assert type(y.grad_fn).__name__ == "Linear"


def test_linear_and_dropout_functional(check_op):
    check_op(F.linear, TF.linear, (4, 3), (5, 3), (5,))
    x = numnet.ones(1000, 100)
    numnet.manual_seed(0)
    y = F.dropout(x, 0.3).numpy()
    assert abs((y == 0).mean() - 0.3) < 0.01
    numpy.testing.assert_allclose(numpy.unique(y), [0.0, 1 / 0.7], rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x
