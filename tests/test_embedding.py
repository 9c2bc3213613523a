"""F.embedding and nn.Embedding against torch: lookup, weight gradients (padding_idx,
scale_grad_by_freq), max_norm's in-place renormalisation, init, from_pretrained, errors."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F
from numnet import nn

INDICES = numpy.array([[1, 4, 4, 0], [2, 1, 4, 3]])


@pytest.mark.parametrize("indices", [INDICES, INDICES[0], numpy.array(3),
                                     INDICES.astype(numpy.int32)])
def test_embedding_matches_torch(check_op, indices):
    check_op(lambda w, i: F.embedding(i, w), lambda w, i: torch.nn.functional.embedding(i, w),
             (5, 3), indices)


@pytest.mark.parametrize("padding_idx", [4, -1, 0])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_padding_idx_and_scale_grad_by_freq(check_op, padding_idx, scale_grad_by_freq):
    kwargs = dict(padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
    check_op(lambda w, i: F.embedding(i, w, **kwargs),
             lambda w, i: torch.nn.functional.embedding(i, w, **kwargs), (5, 3), INDICES,
             gradcheck=False)  # both options change the gradient from the true derivative


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_max_norm_renormalises_used_rows_in_place(norm_type):
    weight = numpy.random.default_rng(0).standard_normal((5, 3)) * 2
    n_weight = numnet.tensor(weight, requires_grad=True)
    t_weight = torch.tensor(weight, requires_grad=True)
    n_out = F.embedding(numnet.tensor(INDICES), n_weight, max_norm=1.5, norm_type=norm_type)
    t_out = torch.nn.functional.embedding(torch.tensor(INDICES), t_weight, max_norm=1.5,
                                          norm_type=norm_type)
    numpy.testing.assert_allclose(n_out.data, t_out.detach().numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(n_weight.data, t_weight.detach().numpy(), rtol=1e-12)
    assert not numpy.allclose(n_weight.data, weight)
    upstream = numpy.random.default_rng(1).standard_normal(n_out.shape)
    (n_out * numnet.tensor(upstream)).sum().backward()
    (t_out * torch.tensor(upstream)).sum().backward()
    numpy.testing.assert_allclose(n_weight.grad.data, t_weight.grad.numpy(), rtol=1e-12)


def test_module_matches_torch_and_float32():
    torch.manual_seed(0)
    t_layer = torch.nn.Embedding(7, 3, padding_idx=2)
    n_layer = nn.Embedding(7, 3, padding_idx=2)
    n_layer.load_state_dict({"weight": numnet.tensor(t_layer.weight.detach().numpy())})
    n_out = n_layer(numnet.tensor(INDICES + 2))
    t_out = t_layer(torch.tensor(INDICES + 2))
    assert n_out.dtype == numpy.float32
    numpy.testing.assert_allclose(n_out.data, t_out.detach().numpy())
    n_out.sum().backward()
    t_out.sum().backward()
    assert n_layer.weight.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(n_layer.weight.grad.data, t_layer.weight.grad.numpy())


def test_init_repr_and_from_pretrained():
    layer = nn.Embedding(400, 50, padding_idx=-2)
    assert layer.padding_idx == 398
    assert (layer.weight.data[398] == 0).all()
    assert abs(layer.weight.data.std() - 1) < 0.02 and abs(layer.weight.data.mean()) < 0.02
    for lib in (torch, numnet):
        assert repr(lib.nn.Embedding(10, 3, padding_idx=1, max_norm=2.0, norm_type=1.0,
                                     scale_grad_by_freq=True)) == (
            "Embedding(10, 3, padding_idx=1, max_norm=2.0, norm_type=1.0, "
            "scale_grad_by_freq=True)")
    weights = numnet.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(weights)
    assert not frozen.weight.requires_grad
    assert frozen.weight.data is weights.data  # used, not copied (as torch)
    trainable = nn.Embedding.from_pretrained(weights, freeze=False, padding_idx=0)
    out = trainable(numnet.tensor([0, 1, 1]))
    out.sum().backward()
    numpy.testing.assert_array_equal(trainable.weight.grad.data, [[0, 0], [2, 2]])


def test_errors_as_torch():
    for lib in (torch, numnet):
        weight = lib.zeros(5, 3)
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.nn.functional.embedding(lib.tensor([0, 5]), weight)
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.nn.functional.embedding(lib.tensor([-1]), weight)
        with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
            lib.nn.functional.embedding(lib.tensor([0.0]), weight)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            lib.nn.Embedding(5, 3, padding_idx=5)
        with pytest.raises(AssertionError, match="Shape of weight does not match"):
            lib.nn.Embedding(5, 3, _weight=lib.zeros(4, 3))
        with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
            lib.nn.Embedding.from_pretrained(lib.zeros(4))
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(5, 3, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(numnet.tensor([0]), numnet.zeros(5, 3), sparse=True)
