"""The engine: graph shapes, accumulation, grad modes, errors, dtypes and creation."""

import gc
import weakref

import numpy
import pytest
import torch

import numnet


def test_toy_graph_of_the_lecture():
    w = numnet.tensor(-2.0, requires_grad=True)
    x = numnet.tensor(5.0)
    b = numnet.tensor(3.0, requires_grad=True)
    g = w * x
    f = g + b
    f.backward()
    assert f.item() == -7.0
    assert w.grad.item() == 5.0 and b.grad.item() == 1.0
    assert x.grad is None and g.grad is None


def test_diamond_gets_the_sum_of_both_paths():
    x = numnet.tensor([1.5, -0.5], dtype="float64", requires_grad=True)
    a = x * 3.0
    y = a * a + a.exp()           # a used three times
    y.sum().backward()
    xt = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)
    at = xt * 3.0
    (at * at + at.exp()).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_same_leaf_used_many_times():
    x = numnet.tensor(2.0, requires_grad=True)
    total = x
    for _ in range(99):
        total = total + x
    total.backward()
    assert x.grad.item() == 100.0


def test_100k_node_chain_is_iterative():
    x = numnet.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_gradients_accumulate_across_backward_calls():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]


def test_backward_with_gradient_argument():
    x = numnet.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(gradient=numnet.tensor([1.0, 0.5, 0.0]))
    assert x.grad.tolist() == [2.0, 2.0, 0.0]
    with pytest.raises(RuntimeError, match="shape"):
        (x * x).backward(gradient=numnet.ones(2))


def test_nonscalar_backward_needs_gradient():
    x = numnet.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        numnet.ones(2).sum().backward()


def test_second_backward_through_freed_graph():
    x = numnet.tensor(2.0, requires_grad=True)
    y = (x * x).exp()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = numnet.tensor(2.0, requires_grad=True)
    y = x * x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 12.0)


def test_no_grad_context_and_decorator():
    x = numnet.ones(2, requires_grad=True)
    with numnet.no_grad():
        y = x * 2
        with numnet.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @numnet.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert numnet.is_grad_enabled()


def test_detach_shares_data_and_cuts_graph():
    x = numnet.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert numpy.shares_memory(d.data, y.data)
    out = (d * x).sum()
    out.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        numnet.tensor([1, 2], requires_grad=True)
    x = numnet.ones(2).requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="in-place"):
        x.zero_()


def test_retain_grad_on_intermediate():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]


def test_only_needed_branch_is_computed_and_intermediates_are_freed():
    x = numnet.tensor(numpy.ones(1000), requires_grad=True)
    y = x.exp()
    ref = weakref.ref(y)
    loss = (y * 2.0).sum()
    del y
    gc.collect()
    assert ref() is None  # the graph keeps saved arrays, not intermediate Tensors
    loss.backward()
    numpy.testing.assert_allclose(x.grad.numpy(), 2 * numpy.e, rtol=1e-6)


def test_default_dtype_and_float64():
    assert numnet.get_default_dtype() == numpy.float32
    assert numnet.tensor([1.0]).dtype == numpy.float32
    assert numnet.tensor([1]).dtype == numpy.int64
    assert numnet.tensor(numpy.array([1.0])).dtype == numpy.float64
    assert numnet.tensor([1.0], dtype="float64").dtype == numpy.float64
    numnet.set_default_dtype(numpy.float64)
    try:
        assert numnet.tensor([1.0]).dtype == numpy.float64
        assert numnet.randn(2).dtype == numpy.float64
    finally:
        numnet.set_default_dtype(numpy.float32)
    with pytest.raises(TypeError):
        numnet.set_default_dtype(numpy.int32)


def test_creation_functions():
    assert numnet.zeros(2, 3).shape == (2, 3) and numnet.zeros((2, 3)).shape == (2, 3)
    assert numnet.ones(4).numpy().sum() == 4
    assert numnet.full((2, 2), 7.0).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert numnet.full((2,), 3).dtype == numpy.int64
    x = numnet.randn(3, 2, dtype="float64")
    assert numnet.zeros_like(x).dtype == numpy.float64 and numnet.ones_like(x).shape == (3, 2)
    assert numnet.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert numnet.arange(0.0, 1.0, 0.5).dtype == numpy.float32
    assert numnet.eye(3).numpy().trace() == 3
    r = numnet.rand(1000)
    assert r.dtype == numpy.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    assert numnet.randn(2, requires_grad=True).requires_grad


def test_manual_seed_reproduces():
    numnet.manual_seed(42)
    a = numnet.randn(5).numpy().copy()
    numnet.manual_seed(42)
    b = numnet.randn(5).numpy()
    assert numpy.array_equal(a, b)


def test_tensor_basics_and_repr():
    x = numnet.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.size() == (2, 2) and x.size(1) == 2
    assert x.dtype == numpy.float32 and x.numel() == 4 and len(x) == 2
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert repr(x) == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert repr(x * 2).endswith("grad_fn=<Mul>)")
    assert repr(numnet.tensor([1.5], dtype="float64")) == "tensor([1.5000], dtype=numnet.float64)"
    assert numnet.tensor(2.5).item() == 2.5
    with pytest.raises(RuntimeError, match="cannot be converted"):
        x.item()
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()


def test_cast_is_differentiable():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == numpy.float64
    (y * y).sum().backward()
    assert x.grad.dtype == numpy.float32 and x.grad.tolist() == [2.0, 4.0]


def test_gradcheck_reports_worst_element():
    class Wrong(numnet.autograd.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy  # wrong on purpose: the true gradient is 2 x gy

    x = numnet.tensor([0.5, 3.0], dtype="float64", requires_grad=True)
    with pytest.raises(AssertionError, match=r"index \(1,\)"):
        numnet.gradcheck(lambda t: Wrong()(t), [x])
    with pytest.raises(ValueError, match="float64"):
        numnet.gradcheck(lambda t: t * t, [numnet.ones(2, requires_grad=True)])
