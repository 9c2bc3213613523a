"""Creation functions and the ``Tensor.new_*`` methods against PyTorch: values, dtype, shape."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet


def _same(n, t):
    expected = t.detach().numpy()
    assert tuple(n.shape) == tuple(expected.shape)
    assert n.dtype == expected.dtype, f"{n.dtype} != {expected.dtype}"
    numpy.testing.assert_array_equal(n.data, expected)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty"])
def test_size_forms(name):
    make, expected = getattr(numnet, name), (2, 3)
    for shape in (make(2, 3), make((2, 3)), make([2, 3]), make(size=(2, 3)),
                  make(torch.Size([2, 3]))):
        assert shape.shape == expected and shape.dtype == numpy.float32
    assert make(()).shape == () and make([]).shape == ()
    with pytest.raises(TypeError):
        make(2.5)
    with pytest.raises(RuntimeError):
        make(-1)


def test_zeros_ones_values_and_dtype():
    _same(numnet.zeros(2, dtype=numnet.int32), torch.zeros(2, dtype=torch.int32))
    _same(numnet.ones(size=(2,), dtype=numnet.float64), torch.ones(size=(2,), dtype=torch.float64))
    assert numnet.empty(2, 3, requires_grad=True).requires_grad
    assert numnet.randn(size=(2, 3)).shape == (2, 3)


def test_like_functions():
    x64 = numnet.zeros(2, 3, dtype=numnet.float64)
    ints = numnet.tensor([[1, 2, 3]])
    _same(numnet.zeros_like(ints), torch.zeros_like(torch.tensor([[1, 2, 3]])))
    _same(numnet.full_like(ints, 2.5), torch.full_like(torch.tensor([[1, 2, 3]]), 2.5))
    _same(numnet.full_like(ints, 2.5, dtype=numnet.float32),
          torch.full_like(torch.tensor([[1, 2, 3]]), 2.5, dtype=torch.float32))
    assert numnet.empty_like(x64).shape == (2, 3) and numnet.empty_like(x64).dtype == numpy.float64
    assert numnet.rand_like(x64).dtype == numpy.float64
    assert numnet.randn_like(x64, dtype=numnet.float32).dtype == numpy.float32
    assert numnet.rand_like(x64, requires_grad=True).requires_grad
    with pytest.raises(NotImplementedError):
        numnet.rand_like(ints)
    with pytest.raises(NotImplementedError):
        numnet.randn_like(ints)


def test_random_like_draw_from_numnets_generator():
    x = numnet.zeros(1000)
    numnet.manual_seed(3)
    a = numnet.rand_like(x)
    numnet.manual_seed(3)
    b = numnet.rand_like(x)
    numpy.testing.assert_array_equal(a.data, b.data)
    assert 0 <= a.data.min() and a.data.max() < 1
    assert abs(numnet.randn_like(x).data.std() - 1) < 0.1


def test_randint_like():
    ints = numnet.zeros(500, dtype=numnet.int32)
    r = numnet.randint_like(ints, 5)
    assert r.dtype == numpy.int32 and r.data.min() >= 0 and r.data.max() == 4
    r = numnet.randint_like(numnet.zeros(500), 2, 5)
    assert r.dtype == numpy.float32 and set(numpy.unique(r.data)) == {2.0, 3.0, 4.0}


@pytest.mark.parametrize("args, kwargs", [
    ((5,), {}), ((0, 1, 0.1), {}), ((1, 2.5, 0.5), {}), ((-1.0, 1.0, 0.3), {}),
    ((0, 5.5), {"dtype": torch.int64}), ((10, 0, -3), {}), ((0, 1, 0.1), {"dtype": torch.float64}),
    ((0.0, 3), {}), ((2, 2), {}), ((0, 10, 1 / 3), {}),
])
def test_arange_matches_torch(args, kwargs):
    n_kwargs = {k: numpy.dtype(str(v).replace("torch.", "")) for k, v in kwargs.items()}
    _same(numnet.arange(*args, **n_kwargs), torch.arange(*args, **kwargs))


def test_arange_errors():
    with pytest.raises(RuntimeError):
        numnet.arange(0, 1, 0)
    with pytest.raises(RuntimeError):
        numnet.arange(0, 1, -1)


@pytest.mark.parametrize("start, end, steps, base", [(0, 2, 3, 10.0), (0, 3, 7, 2.0),
                                                     (-1, 1, 5, 10.0), (1, 1, 1, 3.0),
                                                     (0, 1, 0, 10.0)])
def test_logspace(start, end, steps, base):
    n = numnet.logspace(start, end, steps, base=base)
    t = torch.logspace(start, end, steps, base=base)
    assert n.dtype == numpy.float32 and n.shape == tuple(t.shape)
    numpy.testing.assert_allclose(n.data, t.numpy(), rtol=1e-6)
    _same(numnet.logspace(0, 3, 4, dtype=numnet.int64), torch.logspace(0, 3, 4, dtype=torch.int64))


def test_linspace_still_matches():
    _same(numnet.linspace(0, 1, 5), torch.linspace(0, 1, 5))


def test_tensor_dtype_as_tensor_is_tensor_numel():
    _same(numnet.tensor([1, 2], dtype=numnet.int32), torch.tensor([1, 2], dtype=torch.int32))
    array = numpy.arange(3.0)
    shared = numnet.as_tensor(array)
    assert shared.data is array  # no copy, like torch.as_tensor of a NumPy array
    assert numnet.as_tensor(array, dtype=numnet.float32).dtype == numpy.float32
    t = numnet.ones(2)
    assert numnet.as_tensor(t) is t
    _same(numnet.as_tensor([1, 2]), torch.as_tensor([1, 2]))
    assert numnet.is_tensor(t) and not numnet.is_tensor(array)
    assert numnet.numel(numnet.zeros(2, 3)) == 6


def test_new_methods():
    ints = numnet.tensor([1, 2])
    t_ints = torch.tensor([1, 2])
    _same(ints.new_tensor([1.5]), t_ints.new_tensor([1.5]))
    _same(ints.new_zeros(2, 3), t_ints.new_zeros(2, 3))
    _same(ints.new_zeros((2,)), t_ints.new_zeros((2,)))
    _same(ints.new_ones((2,), dtype=numnet.float64), t_ints.new_ones((2,), dtype=torch.float64))
    _same(ints.new_full((2,), 2.5), t_ints.new_full((2,), 2.5))
    assert ints.new_empty(3).shape == (3,) and ints.new_empty(3).dtype == numpy.int64
    assert numnet.zeros(1).new_zeros(2, requires_grad=True).requires_grad
