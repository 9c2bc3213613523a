"""Higher-order gradients: ``create_graph=True``, ``numnet.autograd.functional`` and
``gradgradcheck``, against PyTorch and against values worked out by hand."""

from __future__ import annotations

import numpy
import pytest
import torch
from torch.autograd import functional as tf

import numnet
from numnet.autograd import functional as nf


def _pair(*arrays):
    """The same float64 values as numnet and torch leaves."""
    return ([numnet.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _close(got, expected, atol=1e-10):
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _close(g, e, atol)
        return
    assert tuple(got.shape) == tuple(expected.shape)
    numpy.testing.assert_allclose(got.data, expected.detach().numpy(), atol=atol, rtol=1e-9)


def test_known_values_of_a_quartic():
    """f(x) = x^4 - 2x^2 at x = 2: f' = 4x^3 - 4x = 24, f'' = 12x^2 - 4 = 44, f''' = 24x = 48."""
    x = numnet.tensor(2.0, requires_grad=True)
    y = x ** 4 - 2 * x ** 2
    (first,) = numnet.autograd.grad(y, x, create_graph=True)
    (second,) = numnet.autograd.grad(first, x, create_graph=True)
    (third,) = numnet.autograd.grad(second, x)
    assert (first.item(), second.item(), third.item()) == (24.0, 44.0, 48.0)
    assert first.requires_grad and not third.requires_grad


def test_a_gradient_kept_as_a_graph_is_differentiated_again():
    """y = x^2 at x = 2, g = dy/dx = 2x kept as a graph; z = g^3 + y = 8x^3 + x^2:
    dz/dx = 24x^2 + 2x = 100."""
    x = numnet.tensor(2.0, requires_grad=True)
    y = x ** 2
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == 4.0
    z = g ** 3 + y
    x.grad = None
    z.backward()
    assert x.grad.item() == 100.0


def test_backward_with_create_graph_accumulates_a_differentiable_grad():
    (x,), (tx,) = _pair(numpy.array([0.5, -1.5, 2.0]))
    for lib, leaf in ((numnet, x), (torch, tx)):
        (lib.exp(leaf) * leaf).sum().backward(create_graph=True)
        (leaf ** 3).sum().backward(create_graph=True)  # accumulates, out of place
        penalty = (leaf.grad ** 2).sum()
        leaf.grad = None
        penalty.backward()
    _close(x.grad, tx.grad)


def test_third_order_derivative_of_a_chain_equals_torch():
    (x, w), (tx, tw) = _pair(numpy.array([[0.3, -0.7], [1.1, 0.4]]),
                             numpy.array([[0.5, -0.2], [0.9, 0.3]]))
    results = []
    for lib, a, b in ((numnet, x, w), (torch, tx, tw)):
        y = lib.tanh(a @ b).exp().sum() * (a ** 2).sum()
        (g1,) = lib.autograd.grad(y, a, create_graph=True)
        (g2,) = lib.autograd.grad((g1 * g1).sum(), a, create_graph=True)
        results.append(lib.autograd.grad(g2.sum(), (a, b)))
    _close(results[0], results[1])


def _f_single(lib):
    return lambda x: lib.exp(x) * x.sum()


def _f_pair(lib):
    return lambda x, y: (x * y.sum() ** 2, lib.tanh(x).sum() * y)


def _scalar(lib):
    return lambda x, y: (lib.tanh(x) ** 2).sum() * (y ** 3).sum() + (x * x).sum()


@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp_and_jvp_equal_torch(create_graph):
    x0, y0 = numpy.array([0.2, -0.4, 0.9]), numpy.array([1.5, -0.5])
    (x, y), (tx, ty) = _pair(x0, y0)
    v = numpy.array([0.3, 1.0, -2.0])
    got = nf.vjp(_f_single(numnet), x, numnet.tensor(v), create_graph=create_graph)
    expected = tf.vjp(_f_single(torch), tx, torch.tensor(v), create_graph=create_graph)
    _close(got, expected)
    assert got[1].requires_grad == expected[1].requires_grad
    got = nf.jvp(_f_single(numnet), x, numnet.tensor(v), create_graph=create_graph)
    expected = tf.jvp(_f_single(torch), tx, torch.tensor(v), create_graph=create_graph)
    _close(got, expected)
    vs = (numpy.array([1.0, 2.0, 3.0]), numpy.array([-1.0, 0.5]))
    got = nf.jvp(_f_pair(numnet), (x, y), tuple(numnet.tensor(a) for a in vs))
    expected = tf.jvp(_f_pair(torch), (tx, ty), tuple(torch.tensor(a) for a in vs))
    _close(got, expected)
    us = (numpy.array([0.5, 1.0, -1.0]), numpy.array([2.0, 1.0]))
    got = nf.vjp(_f_pair(numnet), (x, y), tuple(numnet.tensor(a) for a in us))
    expected = tf.vjp(_f_pair(torch), (tx, ty), tuple(torch.tensor(a) for a in us))
    _close(got, expected)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_equals_torch_for_every_structure(strategy):
    x0, y0 = numpy.array([0.2, -0.4, 0.9]), numpy.array([1.5, -0.5])
    (x, y), (tx, ty) = _pair(x0, y0)
    options = {"strategy": strategy, "vectorize": strategy == "forward-mode"}
    _close(nf.jacobian(_f_single(numnet), x, **options),
           tf.jacobian(_f_single(torch), tx, **options))
    _close(nf.jacobian(_f_pair(numnet), (x, y), **options),
           tf.jacobian(_f_pair(torch), (tx, ty), **options))
    _close(nf.jacobian(lambda a: numnet.tanh(a), (x,), **options),
           tf.jacobian(lambda a: torch.tanh(a), (tx,), **options))


@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian_vhp_and_hvp_equal_torch(create_graph):
    x0, y0 = numpy.array([0.2, -0.4, 0.9]), numpy.array([1.5, -0.5])
    (x, y), (tx, ty) = _pair(x0, y0)
    got = nf.hessian(_scalar(numnet), (x, y), create_graph=create_graph)
    expected = tf.hessian(_scalar(torch), (tx, ty), create_graph=create_graph)
    _close(got, expected)
    got = nf.hessian(lambda a: (a ** 4).sum(), x)
    _close(got, tf.hessian(lambda a: (a ** 4).sum(), tx))
    vs = (numpy.array([1.0, -2.0, 0.5]), numpy.array([0.3, 0.7]))
    for name in ("vhp", "hvp"):
        got = getattr(nf, name)(_scalar(numnet), (x, y), tuple(numnet.tensor(a) for a in vs),
                                create_graph=create_graph)
        expected = getattr(tf, name)(_scalar(torch), (tx, ty),
                                     tuple(torch.tensor(a) for a in vs),
                                     create_graph=create_graph)
        _close(got, expected)


def test_functional_leaves_inputs_untouched_and_results_detached():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    out, g = nf.vjp(lambda a: (a ** 2).sum(), x)
    assert x.grad is None and not out.requires_grad and not g.requires_grad
    assert g.tolist() == [2.0, 4.0]
    h = nf.hessian(lambda a: (a ** 3).sum(), numnet.tensor([1.0, 2.0]))
    assert h.tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_functional_errors_match_torch():
    x = numnet.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="The vector v can only be None"):
        nf.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="v has invalid size"):
        nf.jvp(lambda a: a * 2, x, numnet.ones(3))
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        nf.hessian(lambda a: (a.sum(), a.sum()), x)
    with pytest.raises(RuntimeError, match="should contain a single element"):
        nf.hvp(lambda a: a * 2, x, numnet.ones(2))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        nf.vjp(lambda a, b: (a * 2).sum(), (x, numnet.ones(2)), strict=True)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        nf.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        nf.jacobian(lambda a: a, x, strategy="forward-mode")
    unused = nf.vjp(lambda a, b: (a * 2).sum(), (x, numnet.ones(2)))[1][1]
    assert unused.tolist() == [0.0, 0.0]


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = numnet.tensor([0.3, -1.2, 0.8], dtype="float64", requires_grad=True)
    assert numnet.gradgradcheck(lambda t: (numnet.exp(t) * t).sum(), [x])

    class WrongSquare(numnet.autograd.Function):
        """y = x^2 whose recorded backward treats the saved x as a constant: gx = 2 x gy
        with no dependence on x, so d2y/dx2 comes out 0 instead of 2."""

        saved_inputs = (None,)

        def forward(self, a):
            self.x = a
            return a * a

        def backward(self, gy):
            return 2 * self.x * gy

    with pytest.raises(AssertionError, match="gradcheck failed"):
        numnet.gradgradcheck(lambda t: WrongSquare()(t).sum(), [x])


def test_an_op_without_double_backward_names_itself():
    class Opaque(numnet.autograd.Function):
        def forward(self, a):
            return a * 3

        def backward(self, gy):
            return gy * 3

    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Opaque: double backward is not implemented"):
        numnet.autograd.grad(Opaque()(x).sum(), x, create_graph=True)
    (g,) = numnet.autograd.grad(Opaque()(x).sum(), x)
    assert g.tolist() == [3.0, 3.0]


def test_create_graph_without_retain_graph_frees_the_first_graph():
    for lib in (numnet, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (lib.exp(x) * x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True, retain_graph=False)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            lib.autograd.grad(g.sum(), x)
