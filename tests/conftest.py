"""Shared test fixtures: ``check_op``, the one helper every op test goes through (numnet
against PyTorch, and gradcheck)."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet


def _draw(rng, spec):
    """A shape draws N(0,1) float64; an array is used as given."""
    if isinstance(spec, numpy.ndarray):
        return spec
    return rng.standard_normal(spec)


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def run_check_op(numnet_fn, torch_fn, *specs, grad=None, atol=1e-8, rtol=1e-6,
             atol32=1e-4, rtol32=1e-4, seed=0, gradcheck=True, eps=1e-6,
             gradcheck_atol=1e-5, gradcheck_rtol=1e-4, float32=True, gradgrad=False):
    """Run an op in numnet and torch on the same float64 data and compare everything.

    Args:
        numnet_fn, torch_fn: the op in each library, taking the inputs positionally.
        specs: per input, a shape (drawn N(0,1) with ``seed``) or an array used as is.
        grad: per input, whether it requires grad (default: floating inputs do).
        atol, rtol: float64 tolerance (forward and gradients).
        atol32, rtol32: float32 tolerance against torch in float32.
        gradcheck: also check numnet's gradients against float64 finite differences.
        float32: also run in float32, checking that dtypes stay float32.
        gradgrad: also check second derivatives (``create_graph=True``) against torch's
            and with ``numnet.gradgradcheck`` (the ops with double backward:
            ``tests/test_double_backward.py``).

    Checks: output shapes and dtypes; forward values; the gradient of every input that
    requires grad for a random upstream gradient; float32 outputs and gradients stay float32;
    in float64, the derivatives of those gradients (with respect to the inputs and to the
    upstream gradient) for a second random vector.
    """
    rng = numpy.random.default_rng(seed)
    arrays = [_draw(rng, s) for s in specs]
    if grad is None:
        grad = [a.dtype.kind == "f" for a in arrays]
    _compare(numnet_fn, torch_fn, arrays, grad, rng, numpy.float64, atol, rtol)
    if float32:
        arrays32 = [a.astype(numpy.float32) if a.dtype == numpy.float64 else a for a in arrays]
        _compare(numnet_fn, torch_fn, arrays32, grad, rng, numpy.float32, atol32, rtol32)
    if gradcheck and any(grad):
        inputs = [numnet.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
        assert numnet.gradcheck(numnet_fn, inputs, eps=eps, atol=gradcheck_atol,
                                rtol=gradcheck_rtol, seed=seed)
    if gradgrad and any(grad):
        compare_second_derivatives(numnet_fn, torch_fn, arrays, grad, rng, atol, rtol)
        if gradcheck:
            inputs = [numnet.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
            assert numnet.gradgradcheck(numnet_fn, inputs, eps=eps, atol=gradcheck_atol,
                                        rtol=gradcheck_rtol, seed=seed)


def compare_second_derivatives(numnet_fn, torch_fn, arrays, grad, rng, atol=1e-8, rtol=1e-6):
    """Double backward against torch in float64: ``g = d(sum u * f)/dx`` with
    ``create_graph=True``, then ``d(sum v * g)/dx`` and ``d(sum v * g)/du`` for random
    ``u`` and ``v``, in both libraries."""
    n_inputs = [numnet.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    t_inputs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    n_out = [o for o in _as_tuple(numnet_fn(*n_inputs)) if o.requires_grad]
    t_out = [o for o in _as_tuple(torch_fn(*t_inputs)) if o.requires_grad]
    if not t_out:
        return
    assert len(n_out) == len(t_out), "number of differentiable outputs differs"
    upstream = [rng.standard_normal(t.shape) for t in t_out]
    n_u = [numnet.tensor(u, requires_grad=True) for u in upstream]
    t_u = [torch.tensor(u, requires_grad=True) for u in upstream]
    n_wanted = [x for x, g in zip(n_inputs, grad) if g]
    t_wanted = [x for x, g in zip(t_inputs, grad) if g]
    n_g = numnet.autograd.grad(n_out, n_wanted, n_u, create_graph=True, allow_unused=True)
    t_g = torch.autograd.grad(t_out, t_wanted, t_u, create_graph=True, allow_unused=True)
    vectors = [rng.standard_normal(x.shape) for x in t_wanted]
    t_terms = [(g * torch.tensor(v)).sum() for g, v in zip(t_g, vectors)
               if g is not None and g.requires_grad]
    n_terms = [(g * numnet.tensor(v)).sum() for g, v in zip(n_g, vectors)
               if g is not None and g.requires_grad]
    t_targets = t_wanted + t_u
    expected = [None] * len(t_targets)
    if t_terms:
        expected = torch.autograd.grad(sum(t_terms), t_targets, allow_unused=True)
    got = [None] * len(t_targets)
    if n_terms:
        total = n_terms[0]
        for term in n_terms[1:]:
            total = total + term
        if total.requires_grad:
            got = numnet.autograd.grad(total, n_wanted + n_u, allow_unused=True)
    names = [f"input {i}" for i in range(len(t_wanted))] + [
        f"upstream gradient {k}" for k in range(len(t_u))]
    for name, x, n_h, t_h in zip(names, t_targets, got, expected):
        want = numpy.zeros(tuple(x.shape)) if t_h is None else t_h.detach().numpy(force=True)
        have = numpy.zeros(tuple(x.shape)) if n_h is None else n_h.data
        numpy.testing.assert_allclose(have, want, rtol=rtol, atol=atol,
                                      err_msg=f"second derivative through {name} differs "
                                              "from torch")


def _compare(numnet_fn, torch_fn, arrays, grad, rng, dtype, atol, rtol):
    n_inputs = [numnet.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    t_inputs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    n_out = _as_tuple(numnet_fn(*n_inputs))
    t_out = _as_tuple(torch_fn(*t_inputs))
    assert len(n_out) == len(t_out), "number of outputs differs"
    for n, t in zip(n_out, t_out):
        assert tuple(n.shape) == tuple(t.shape), f"shape {n.shape} != torch {tuple(t.shape)}"
        expected = t.detach().numpy()
        if expected.dtype.kind == "f":
            assert n.dtype == dtype, f"output dtype {n.dtype}, expected {dtype}"
        numpy.testing.assert_allclose(n.data, expected, rtol=rtol, atol=atol,
                                      err_msg="forward differs from torch")
    differentiable = [(n, t) for n, t in zip(n_out, t_out)
                      if n.requires_grad and t.requires_grad]
    if not differentiable:
        return
    upstream = [rng.standard_normal(t.shape).astype(dtype) for _, t in differentiable]
    wanted = [t for t, g in zip(t_inputs, grad) if g]
    t_grads = torch.autograd.grad([t for _, t in differentiable],
                                  wanted, [torch.tensor(u) for u in upstream],
                                  allow_unused=True)
    total = None
    for (n, _), u in zip(differentiable, upstream):
        term = (n * numnet.tensor(u)).sum()
        total = term if total is None else total + term
    total.backward()
    for i, (x, t_grad) in enumerate(zip([x for x, g in zip(n_inputs, grad) if g], t_grads)):
        expected = numpy.zeros(x.shape) if t_grad is None else t_grad.numpy()
        got = numpy.zeros(x.shape, dtype) if x.grad is None else x.grad.data
        assert got.dtype == dtype, f"gradient {i} dtype {got.dtype}, expected {dtype}"
        numpy.testing.assert_allclose(got, expected, rtol=rtol, atol=atol,
                                      err_msg=f"gradient of input {i} differs from torch")


@pytest.fixture(name="check_op")
def check_op_fixture():
    """``run_check_op``: compare an op with PyTorch (forward, gradients) and gradcheck it."""
    return run_check_op
