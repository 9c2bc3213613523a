"""``numnet.autograd.grad`` and ``Tensor.backward(inputs=)`` against torch's (first order)."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F


def _pair(*shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    return ([numnet.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _close(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            numpy.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_leaf_gradients_equal_torchs_and_leave_grad_alone():
    (x, w), (tx, tw) = _pair((4, 3), (3, 2))
    ours = numnet.autograd.grad(numnet.tanh(x @ w).sum(), [x, w])
    theirs = torch.autograd.grad(torch.tanh(tx @ tw).sum(), [tx, tw])
    _close(ours, theirs)
    assert x.grad is None and w.grad is None
    assert not ours[0].requires_grad and ours[0].dtype == numnet.float64


def test_intermediate_input_several_outputs_and_grad_outputs():
    (x,), (tx,) = _pair((5,))
    v = numpy.arange(5.0)
    h, th = x * x, tx * tx
    ys = [numnet.sin(h), (h * 3).sum()]
    tys = [torch.sin(th), (th * 3).sum()]
    ours = numnet.autograd.grad(ys, [h, x, x], grad_outputs=[numnet.tensor(v), None])
    theirs = torch.autograd.grad(tys, [th, tx, tx], grad_outputs=[torch.tensor(v), None])
    _close(ours, theirs)


def test_gradient_of_the_loss_with_respect_to_the_input_of_a_network():
    numnet.manual_seed(0)
    net = numnet.nn.Sequential(numnet.nn.Linear(4, 8), numnet.nn.Tanh(),
                               numnet.nn.Linear(8, 3))
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    twin.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items()})
    x = numpy.random.default_rng(1).standard_normal((6, 4)).astype(numpy.float32)
    t = numpy.array([0, 2, 1, 1, 0, 2])
    nx = numnet.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (ours,) = numnet.autograd.grad(F.cross_entropy(net(nx), numnet.tensor(t)), nx)
    (theirs,) = torch.autograd.grad(torch.nn.functional.cross_entropy(twin(tx),
                                                                      torch.tensor(t)), tx)
    numpy.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in net.parameters())


def test_unused_inputs_and_materialized_zeros():
    (x, y), (tx, ty) = _pair((3,), (2,))
    for lib, a, b in ((numnet, x, y), (torch, tx, ty)):
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad((a * 2).sum(), [a, b])
    assert numnet.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)[1] is None
    zeros = numnet.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)[1]
    assert zeros.shape == (2,) and not zeros.numpy().any()
    assert torch.autograd.grad((tx * 2).sum(), [tx, ty], materialize_grads=True)[1].shape == (2,)


@pytest.mark.parametrize("lib", [numnet, torch])
def test_errors_are_torchs(lib):
    x = lib.ones(3, requires_grad=True)
    plain = lib.ones(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        lib.autograd.grad((x * plain).sum(), [plain])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        lib.autograd.grad(plain.sum(), [x])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        lib.autograd.grad(x * 2, [x])
    y = (x * x).sum()
    lib.autograd.grad(y, [x])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second"):
        lib.autograd.grad(y, [x])


def test_retain_graph_allows_a_second_pass():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    first = numnet.autograd.grad(y, x, retain_graph=True)[0]
    second = numnet.autograd.grad(y, x)[0]
    numpy.testing.assert_array_equal(first.numpy(), [3.0, 12.0])
    numpy.testing.assert_array_equal(second.numpy(), first.numpy())


def test_backward_inputs_accumulates_only_into_those():
    (x, w, b), (tx, tw, tb) = _pair((4, 3), (3, 2), (2,))
    hidden = []
    for a, m, c in ((x, w, b), (tx, tw, tb)):
        h = a @ m
        h.retain_grad()
        (h + c).relu().sum().backward(inputs=[m, h])
        (a @ m + c).sum().backward(inputs=m)
        assert a.grad is None and c.grad is None
        hidden.append(h)
    numpy.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(hidden[0].grad.numpy(), hidden[1].grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x @ w).sum().backward(inputs=[])


def test_grad_does_not_run_post_accumulate_hooks():
    w = numnet.ones(2, requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(t))
    numnet.autograd.grad((w * w).sum(), w)
    assert calls == []
    (w * w).sum().backward()
    assert calls == [w]
