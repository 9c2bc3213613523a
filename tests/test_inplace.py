"""In-place ops with PyTorch's three cases: writing into the array (no graph), refusing a leaf
that requires grad, and recording on a non-leaf (values and gradients against torch)."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
from numnet.ops.inplace import inplace
from numnet.ops.unary import sin

# (method name, arguments) of in-place ops that work on any float tensor
FLOAT_CASES = [
    ("add_", (2.0,)), ("sub_", (0.5,)), ("mul_", (3.0,)), ("div_", (4.0,)), ("pow_", (2.0,)),
    ("neg_", ()), ("abs_", ()), ("exp_", ()), ("clamp_", (-0.5, 0.5)), ("clip_", (-0.5, 0.5)),
    ("clamp_min_", (0.1,)), ("clamp_max_", (0.1,)), ("sigmoid_", ()), ("tanh_", ()),
    ("relu_", ()), ("zero_", ()), ("fill_", (1.5,)),
]
POSITIVE_CASES = [("sqrt_", ()), ("log_", ())]


def _input(name, dtype=numpy.float64):
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(dtype)
    return numpy.abs(x) + 0.5 if name in ("sqrt_", "log_") else x


@pytest.mark.parametrize("name, args", FLOAT_CASES + POSITIVE_CASES)
def test_no_graph_writes_into_the_same_array(name, args):
    """Case (a): the result lands in the tensor's own array (views see it), like torch."""
    x = numnet.tensor(_input(name, numpy.float32))
    array, view = x.data, x[0]
    out = getattr(x, name)(*args)
    expected = getattr(torch.tensor(_input(name, numpy.float32)), name)(*args)
    assert out is x and x.data is array and x.dtype == numpy.float32
    numpy.testing.assert_allclose(x.data, expected.numpy(), rtol=1e-6)
    numpy.testing.assert_allclose(view.data, expected.numpy()[0], rtol=1e-6)


@pytest.mark.parametrize("name, args", FLOAT_CASES + POSITIVE_CASES)
def test_leaf_that_requires_grad_is_refused(name, args):
    w = numnet.tensor(_input(name), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(w, name)(*args)
    with numnet.no_grad():  # the optimizers' way: allowed, in place
        getattr(w, name)(*args)
    assert w.requires_grad and w.is_leaf


@pytest.mark.parametrize("name, args", FLOAT_CASES + POSITIVE_CASES)
def test_non_leaf_is_recorded(check_op, name, args):
    """Case (c): values and gradients as torch's, through an op before and after."""
    def numnet_fn(x):
        h = x * 1.5
        getattr(h, name)(*args)
        return h * x

    def torch_fn(x):
        h = x * 1.5
        getattr(h, name)(*args)
        return h * x
    check_op(numnet_fn, torch_fn, _input(name))


def test_recorded_keeps_saved_values():
    """The earlier op's saved input is the old array: its gradient stays right."""
    w = numnet.tensor([1.0, 2.0], requires_grad=True)
    h = w * 1.0
    y = h * h  # saves h
    h.add_(10.0)
    (y.sum() + h.sum()).backward()
    numpy.testing.assert_allclose(w.grad.data, [2 * 1.0 + 1, 2 * 2.0 + 1])
    assert h.grad_fn is not None and not h.is_leaf


@pytest.mark.parametrize("name", ["add_", "sub_", "mul_", "div_"])
def test_operand_that_requires_grad_is_recorded(check_op, name):
    """A tensor that needs no grad becomes part of the graph through its operand."""
    def numnet_fn(w):
        buffer = numnet.ones(2, 3, dtype=w.dtype)
        getattr(buffer, name)(w)
        return buffer

    def torch_fn(w):
        buffer = torch.ones(2, 3, dtype=w.dtype)
        getattr(buffer, name)(w)
        return buffer
    check_op(numnet_fn, torch_fn, numpy.abs(numpy.arange(3.0)) + 1)


@pytest.mark.parametrize("alpha", [1, 2, -0.5])
def test_alpha(check_op, alpha):
    check_op(lambda a, b: (a * 1).add_(b, alpha=alpha), lambda a, b: (a * 1).add_(b, alpha=alpha),
             (2, 3), (3,))
    check_op(lambda a, b: (a * 1).sub_(b, alpha=alpha), lambda a, b: (a * 1).sub_(b, alpha=alpha),
             (2, 3), (3,))
    check_op(lambda a, b: a.add(b, alpha=alpha), lambda a, b: a.add(b, alpha=alpha), (2, 3), (3,))
    check_op(lambda a, b: a.sub(b, alpha=alpha), lambda a, b: a.sub(b, alpha=alpha), (2, 3), (3,))
    x = numnet.zeros(3)
    x.add_(numnet.ones(3), alpha=alpha).sub_(1, alpha=alpha)
    numpy.testing.assert_allclose(x.data, torch.zeros(3).add_(torch.ones(3), alpha=alpha)
                                  .sub_(1, alpha=alpha).numpy())


def test_dtype_rules():
    ints = numnet.tensor([1, 2, 3])
    for call in (lambda: ints.add_(1.5), lambda: ints.div_(2), lambda: ints.sqrt_(),
                 lambda: ints.mul_(numnet.tensor(2.5, dtype=numnet.float64)),
                 lambda: numnet.tensor([True]).add_(1), lambda: ints.add_(1, alpha=1.5)):
        with pytest.raises(RuntimeError, match="can't be cast|alpha"):
            call()
    numpy.testing.assert_array_equal(ints.data, [1, 2, 3])  # nothing was written
    ints.add_(2).mul_(3).sub_(1)
    numpy.testing.assert_array_equal(ints.data, [8, 11, 14])
    assert ints.dtype == numpy.int64
    numpy.testing.assert_array_equal(ints.div_(2, rounding_mode="floor").data, [4, 5, 7])
    f32 = numnet.zeros(2)
    f32.add_(numnet.tensor([1e-10, 1.0], dtype=numnet.float64))
    assert f32.dtype == numpy.float32
    i32 = numnet.tensor([1, 2], dtype=numnet.int32).add_(numnet.tensor([1, 1]))
    assert i32.dtype == numpy.int32


def test_shape_and_view_errors():
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        numnet.zeros(3).add_(numnet.ones(2, 3))
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        numnet.zeros(3).exp_().masked_fill_(numnet.ones(2, 3, dtype=numnet.bool), 1.0)
    with pytest.raises(RuntimeError, match="clone"):
        numnet.ones(3).expand(2, 3).add_(1)
    broadcast = numnet.zeros(2, 3)
    broadcast.add_(numnet.ones(3), alpha=2)
    numpy.testing.assert_array_equal(broadcast.data, numpy.full((2, 3), 2.0))


def test_fill_zero_copy():
    x = numnet.tensor([1, 2, 3])
    x.fill_(2.7)  # fill_ and copy_ cast anything, as in torch
    numpy.testing.assert_array_equal(x.data, [2, 2, 2])
    x.copy_(numnet.tensor([1.7, 2.0, 3.0]))
    numpy.testing.assert_array_equal(x.data, [1, 2, 3])
    y = numnet.zeros(2, 3)
    y.copy_(numnet.tensor([1.0, 2.0, 3.0]))
    numpy.testing.assert_array_equal(y.data, [[1, 2, 3], [1, 2, 3]])
    y.fill_(numnet.tensor(4.0))
    assert (y.data == 4).all()
    with pytest.raises(RuntimeError):
        y.copy_(numnet.zeros(2))
    with pytest.raises(RuntimeError, match="0-dimension"):
        y.fill_(numnet.tensor([2.0]))


def test_copy_and_fill_gradients(check_op):
    def n_copy(w):
        buffer = numnet.zeros(2, 3, dtype=w.dtype)
        return buffer.copy_(w) * 2

    def t_copy(w):
        buffer = torch.zeros(2, 3, dtype=w.dtype)
        return buffer.copy_(w) * 2
    check_op(n_copy, t_copy, (3,))
    check_op(lambda w, v: (w * 1).fill_(v.sum()) * w, lambda w, v: (w * 1).fill_(v.sum()) * w,
             (2, 3), (2,))
    check_op(lambda w: (w * 2).zero_() + w, lambda w: (w * 2).zero_() + w, (3,))


def test_masked_fill_(check_op):
    mask = numpy.array([[True, False, True]])
    check_op(lambda x: (x * 1).masked_fill_(numnet.tensor(mask), -1.0),
             lambda x: (x * 1).masked_fill_(torch.tensor(mask), -1.0), (2, 3))
    check_op(lambda x, v: (x * 1).masked_fill_(numnet.tensor(mask), v.sum()),
             lambda x, v: (x * 1).masked_fill_(torch.tensor(mask), v.sum()), (2, 3), (2,))
    ints = numnet.tensor([1, 2, 3])
    ints.masked_fill_(numnet.tensor([True, False, True]), 1.5)
    numpy.testing.assert_array_equal(ints.data, [1, 2, 1])
    with pytest.raises(RuntimeError, match="boolean"):
        ints.masked_fill_(numnet.tensor([1, 0, 1]), 2)
    with pytest.raises(RuntimeError, match="0-dimensional"):
        ints.masked_fill_(numnet.tensor([True, False, True]), numnet.tensor([2]))


def test_uniform_normal():
    numnet.manual_seed(0)
    x = numnet.zeros(2000)
    array = x.data
    x.uniform_(-2.0, 3.0)
    assert x.data is array and -2.0 <= x.data.min() and x.data.max() < 3.0
    x.normal_(1.0, 0.5)
    assert abs(x.data.mean() - 1.0) < 0.05 and abs(x.data.std() - 0.5) < 0.05
    with pytest.raises(NotImplementedError):
        numnet.tensor([1, 2]).uniform_()
    w = numnet.ones(3, requires_grad=True)
    h = w * 2
    h.uniform_()
    (h * w).sum().backward()  # the old h no longer matters: only the product's own term
    numpy.testing.assert_allclose(w.grad.data, h.data)


def test_retain_grad_follows_the_new_value():
    a = numnet.ones(3, requires_grad=True)
    y = a * 3
    y.retain_grad()
    y.exp_()
    (y * 2).sum().backward()
    numpy.testing.assert_allclose(y.grad.data, [2.0, 2.0, 2.0])
    numpy.testing.assert_allclose(a.grad.data, 6 * numpy.exp(3.0) * numpy.ones(3))


def test_inplace_makes_new_methods_in_one_line():
    sin_ = inplace(sin, "sin_")
    x = numnet.tensor([0.0, 1.0])
    assert sin_(x) is x
    numpy.testing.assert_allclose(x.data, numpy.sin([0.0, 1.0]).astype(numpy.float32))
    w = numnet.tensor([0.5], requires_grad=True)
    h = w * 1
    sin_(h)
    h.backward(numnet.ones(1))
    numpy.testing.assert_allclose(w.grad.data, numpy.cos([0.5]).astype(numpy.float32))
    assert sin_.__name__ == "sin_"
