"""``gradcheck``: compare autograd's gradients with float64 central differences."""

from __future__ import annotations

import numpy

from numnet.autograd import grad
from numnet.tensor import Tensor


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check ``fn``'s gradients against central differences in float64.

    For a random upstream gradient ``v`` (fixed by ``seed``), the scalar ``L = sum(v * fn(x))``
    is differentiated by autograd and by ``(L(x + eps e_k) - L(x - eps e_k)) / (2 eps)`` for
    every element ``k`` of every float64 input that requires grad.

    Args:
        fn: function of Tensors returning a Tensor (or a tuple of Tensors).
        inputs: Tensors (float64 ones requiring grad are checked); others pass through.
        eps, atol, rtol: step and tolerances: ``|analytic - numeric| <= atol + rtol |numeric|``.

    Returns:
        True when every element agrees.

    Raises:
        ValueError: an input to check is not float64.
        AssertionError: naming the input, the worst element and both values.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
        >>> gradcheck(lambda t: (t * t).sum(), [x])
        True
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in checked:
        if inputs[i].dtype != numpy.float64:
            raise ValueError(f"gradcheck needs float64 inputs; input {i} is {inputs[i].dtype}")
    rng = numpy.random.default_rng(seed)
    outs = fn(*inputs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    upstream = [rng.standard_normal(o.shape) for o in outs]

    def loss_value() -> float:
        values = fn(*inputs)
        values = values if isinstance(values, (tuple, list)) else (values,)
        return float(sum(numpy.sum(v.data * u) for v, u in zip(values, upstream)))

    for i in checked:
        inputs[i].grad = None
    total = None
    for o, u in zip(outs, upstream):
        if o.requires_grad:
            term = (o * Tensor(u)).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("gradcheck: no output requires grad")
    total.backward()

    for i in checked:
        x = inputs[i]
        analytic = numpy.zeros(x.shape) if x.grad is None else x.grad.data
        numeric = numpy.zeros(x.shape)
        # perturb the array itself, element by element (``reshape(-1)`` of a non-contiguous
        # array would be a copy, and the finite differences silently 0)
        for k in numpy.ndindex(*x.shape):
            original = x.data[k]
            x.data[k] = original + eps
            plus = loss_value()
            x.data[k] = original - eps
            minus = loss_value()
            x.data[k] = original
            numeric[k] = (plus - minus) / (2 * eps)
        error = numpy.abs(analytic - numeric) - (atol + rtol * numpy.abs(numeric))
        if error.size and error.max() > 0:
            worst = numpy.unravel_index(int(numpy.argmax(error)), x.shape)
            raise AssertionError(
                f"gradcheck failed for input {i} at index {tuple(int(w) for w in worst)}: "
                f"autograd {analytic[worst]:.10g} vs finite difference {numeric[worst]:.10g} "
                f"(atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives against central differences of its first ones.

    With ``u`` the upstream gradients (``grad_outputs``, or drawn from N(0,1) with
    ``seed``), the first derivatives ``G(x, u) = d/dx sum(u * fn(x))`` are computed with
    ``create_graph=True``, and ``gradcheck`` checks that map (of the inputs and of ``u``)
    against float64 finite differences: ``d2/dx2`` contracted with a random vector, and
    ``dG/du`` (the Jacobian-vector product the backward carries). PyTorch's
    ``torch.autograd.gradgradcheck``.

    Args:
        fn: function of Tensors returning a Tensor (or a tuple of Tensors).
        inputs: Tensors (float64 ones requiring grad are checked); others pass through.
        grad_outputs: the ``u``, one per output (default: random, fixed by ``seed``).
        eps, atol, rtol: as in ``gradcheck``.

    Returns:
        True when every element agrees (else an AssertionError, as ``gradcheck``'s).

    Example:
        >>> import numnet
        >>> x = numnet.tensor([0.3, -1.2], dtype="float64", requires_grad=True)
        >>> gradgradcheck(lambda t: (t * t * t).sum(), [x])
        True
    """
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in checked:
        if inputs[i].dtype != numpy.float64:
            raise ValueError(f"gradgradcheck needs float64 inputs; input {i} is "
                             f"{inputs[i].dtype}")
    outs = fn(*inputs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    differentiable = [k for k, o in enumerate(outs) if o.requires_grad]
    if not differentiable:
        raise ValueError("gradgradcheck: no output requires grad")
    if grad_outputs is None:
        rng = numpy.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(outs[k].shape)) for k in differentiable]
    else:
        grad_outputs = [g if isinstance(g, Tensor) else Tensor(g) for g in grad_outputs]
    upstream = [Tensor(g.data.astype(numpy.float64), requires_grad=True) for g in grad_outputs]
    count = len(inputs)

    def first_derivatives(*args):
        values = fn(*args[:count])
        values = values if isinstance(values, (tuple, list)) else (values,)
        wanted = [args[i] for i in checked]
        return grad([values[k] for k in differentiable], wanted, list(args[count:]),
                    create_graph=True, materialize_grads=True)

    return gradcheck(first_derivatives, inputs + upstream, eps=eps, atol=atol, rtol=rtol,
                     seed=seed + 1)
