"""Derivatives of whole functions: ``vjp jvp jacobian hessian vhp hvp`` (PyTorch's
``torch.autograd.functional``), built on ``numnet.autograd.grad``.

For ``y = f(x)`` with Jacobian ``J = dy/dx``:

- ``vjp(f, x, v) = v^T J``: one backward.
- ``jvp(f, x, v) = J v``: the *double-backward trick*. The backward is linear in its
  upstream gradient ``u``: ``g(u) = u^T J``; differentiating ``g(u) . v`` with respect to
  ``u`` gives ``J v``, so two backward passes replace forward-mode AD.
- ``jacobian(f, x)``: one vjp per element of ``y`` (reverse mode), or one jvp per element of
  ``x`` (``strategy="forward-mode"``).
- ``hessian(f, x) = d2f/dx2`` for a scalar ``f``: the Jacobian of the gradient, which needs
  ``create_graph=True`` through every op of ``f``.
- ``vhp(f, x, v) = v^T H`` (the gradient of ``grad f . v``) and ``hvp(f, x, v) = H v``
  (the double-backward trick on the gradient); equal for a twice-differentiable ``f``,
  whose Hessian is symmetric.

``inputs`` (and ``v``) are a Tensor or a tuple of Tensors; results follow the same
structure. The inputs are never modified: ``f`` runs on fresh Tensors holding the same
values, and without ``create_graph`` the results are cut from the graph.

Example:
    >>> import numnet
    >>> from numnet.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), numnet.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
"""

from __future__ import annotations

import numpy

from numnet import autograd
from numnet.ops.shape import stack
from numnet.tensor import Tensor

_STRATEGIES = ("forward-mode", "reverse-mode")


def _as_tuple(value, what: str, name: str) -> tuple:
    """``(was a tuple, the Tensors as a tuple)``; TypeError naming ``what`` otherwise."""
    is_tuple = isinstance(value, (tuple, list))
    values = tuple(value) if is_tuple else (value,)
    for index, item in enumerate(values):
        if not isinstance(item, Tensor):
            if is_tuple:
                raise TypeError(f"The {what} given to {name} must be either a Tensor or a "
                                f"tuple of Tensors but the value at index {index} has type "
                                f"{type(item)}.")
            raise TypeError(f"The {what} given to {name} must be either a Tensor or a tuple "
                            f"of Tensors but the given {what} has type {type(item)}.")
    return is_tuple, values


def _prepare(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh Tensors with the inputs' values for ``f`` to run on: still in the graph
    (``create_graph`` and an input that requires grad), else detached leaves."""
    prepared = []
    for tensor in inputs:
        if create_graph and tensor.requires_grad:
            prepared.append(tensor.view_as(tensor))
        else:
            leaf = tensor.detach()
            if need_graph:
                leaf.requires_grad_(True)
            prepared.append(leaf)
    return tuple(prepared)


def _finish(values: tuple, create_graph: bool) -> tuple:
    """Cut results from the graph unless ``create_graph`` (nested tuples too)."""
    if create_graph:
        return values
    return tuple(v.detach() if isinstance(v, Tensor) else _finish(v, False) for v in values)


def _unpack(values: tuple, is_tuple):
    """Undo ``_as_tuple``: one level per flag (``(outer, inner)`` for nested results)."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            values = tuple(v[0] for v in values)
        return values if outer else values[0]
    return values if is_tuple else values[0]


def _check_v(v: tuple, other: tuple, other_is_tuple: bool) -> None:
    if len(v) != len(other):
        if other_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but "
                               f"got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (a, b) in enumerate(zip(v, other)):
        if a.shape != b.shape:
            prefix = f"Entry {index} in " if other_is_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {_size(b)} but got "
                               f"{_size(a)}.")


def _size(tensor: Tensor) -> str:
    return f"torch.Size({list(tensor.shape)})"


def _vectors(v, other: tuple, other_is_tuple: bool, name: str, none_message: str,
             create_graph: bool) -> tuple:
    if v is None:
        if len(other) != 1 or other[0].numel() != 1:
            raise RuntimeError(none_message)
        return (None,)
    _, v = _as_tuple(v, "v", name)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, other, other_is_tuple)
    return v


def _check_outputs(outputs: tuple, strict: bool) -> None:
    if not strict:
        return
    for index, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"Output {index} of the user-provided function does not "
                               "require gradients. The outputs must be computed in a "
                               "differentiable manner from the input when running in "
                               "strict mode.")


def _grad(outputs: tuple, inputs: tuple, grad_outputs=None, create_graph: bool = False,
          retain_graph=None) -> tuple:
    """``autograd.grad`` over the outputs that require grad; None for unreached inputs
    (and for every input when no output requires grad)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    results = [None] * len(inputs)
    if not pairs or not wanted:
        return tuple(results)
    found = autograd.grad([o for o, _ in pairs], [inputs[i] for i in wanted],
                          [g for _, g in pairs], retain_graph=retain_graph,
                          create_graph=create_graph, allow_unused=True)
    for i, g in zip(wanted, found):
        results[i] = g
    return tuple(results)


_ZERO_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
            "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in "
                  "the grad_outputs when using the double backward trick to compute forward "
                  "mode gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input "
                   "{i}. This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of "
                         "entry {i} in the grad_jacobian. This is not allowed in strict mode "
                         "as it prevents from using the double backward trick to replace "
                         "forward mode AD.",
}


def _zeros_for_none(grads: tuple, like: tuple, strict: bool, create_graph: bool,
                    stage: str) -> tuple:
    """Gradients with zeros for an input the output does not reach (an error if
    ``strict``)."""
    filled = []
    for i, (g, ref) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(_ZERO_MESSAGES[stage].format(i=i))
            g = ref._wrap(numpy.zeros_like(ref.data))
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        filled.append(g)
    return tuple(filled)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product of ``func`` at ``inputs``.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: shaped like the output(s); may be None for a one-element output.
        create_graph: results stay in the graph (differentiable again).
        strict: an output or an input gradient that does not depend on the inputs is an
            error instead of zeros.

    Example:
        >>> import numnet
        >>> out, g = vjp(lambda x: x ** 2, numnet.tensor([1.0, 2.0]), numnet.ones(2))
        >>> g
        tensor([2., 4.])
    """
    with autograd.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "vjp")
        _check_outputs(outputs, strict)
        v = _vectors(v, outputs, outputs_tuple, "vjp", "The vector v can only be None if "
                     "the user-provided function returns a single Tensor with a single "
                     "element.", create_graph)
    with autograd.set_grad_enabled(create_graph or autograd.is_grad_enabled()):
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        grads = _zeros_for_none(grads, inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(grads, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by the double-backward trick.

    The backward ``g(u) = u^T J`` is linear in the upstream gradient ``u``, so
    ``d(g(u) . v)/du = J v`` at any ``u`` (zeros are used).

    Example:
        >>> import numnet
        >>> out, jv = jvp(lambda x: x ** 2, numnet.tensor([1.0, 2.0]), numnet.ones(2))
        >>> jv
        tensor([2., 4.])
    """
    with autograd.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vectors(v, inputs, inputs_tuple, "jvp", "The vector v can only be None if the "
                     "input to the user-provided function is a single Tensor with a single "
                     "element.", create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jvp")
        _check_outputs(outputs, strict)
        upstream = tuple(o._wrap(numpy.zeros_like(o.data)).requires_grad_(True)
                         for o in outputs)
        grad_inputs = _grad(outputs, inputs, upstream, create_graph=True)
        if strict:
            for i, g in enumerate(grad_inputs):
                if g is None:
                    raise RuntimeError(_ZERO_MESSAGES["back"].format(i=i))
                if not g.requires_grad:
                    raise RuntimeError(f"The gradient with respect to input {i} is "
                                       "independent of the inputs of the user-provided "
                                       "function. This is not allowed in strict mode.")
        pairs = [(g, w) for g, w in zip(grad_inputs, v) if g is not None]
        with autograd.set_grad_enabled(create_graph or autograd.is_grad_enabled()):
            grads = _grad(tuple(g for g, _ in pairs), upstream, tuple(w for _, w in pairs),
                          create_graph=create_graph)
            grads = _zeros_for_none(grads, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(grads, create_graph), outputs_tuple))


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for output ``y`` and input ``x``, a Tensor of
    shape ``y.shape + x.shape`` with ``J[i..., j...] = dy[i...]/dx[j...]``.

    One input and one output give one Tensor; a tuple of inputs a tuple per output; a tuple
    of outputs a tuple (per output) of those.

    Args:
        func, inputs, create_graph, strict: as in ``vjp``.
        vectorize: PyTorch computes the rows at once with ``vmap``; numnet has no ``vmap``
            and computes the same Jacobian one row (or column) at a time either way.
        strategy: ``"reverse-mode"`` (one vjp per output element) or ``"forward-mode"``
            (one jvp per input element, by the double-backward trick; PyTorch's rules:
            only with ``vectorize=True`` and without ``create_graph`` or ``strict``).

    Example:
        >>> import numnet
        >>> jacobian(lambda x: x ** 2, numnet.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    if strategy not in _STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         'Hint: If your function has more outputs than inputs, "forward-mode" '
                         'tends to be more performant. Otherwise, prefer to use '
                         '"reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('jacobian: create_graph=True and strategy='
                                      '"forward-mode" are not supported together; set '
                                      'create_graph=False or strategy="reverse-mode".')
        if strict:
            raise RuntimeError('jacobian: strict=True and strategy="forward-mode" are not '
                               'supported together; set strict=False or '
                               'strategy="reverse-mode".')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or "
                                      "forward-over-reverse Hessian is only implemented for "
                                      "`vectorize=True`.")
        return _forward_jacobian(func, inputs)
    if vectorize and strict:
        raise RuntimeError("jacobian: strict=True and vectorize=True are not supported "
                           "together; set strict=False or vectorize=False.")
    with autograd.enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jacobian")
        _check_outputs(outputs, strict)
        result = []
        for i, output in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = output.reshape(-1)
            for k in range(output.numel()):
                grads = _grad((flat[k],), inputs, retain_graph=True,
                              create_graph=create_graph)
                for j, (g, tensor) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not "
                                               "allowed in strict mode.")
                        g = tensor._wrap(numpy.zeros_like(tensor.data))
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError("The jacobian of the user-provided function is "
                                           f"independent of input {i}. This is not allowed "
                                           "in strict mode when create_graph=True.")
                    rows[j].append(g)
            result.append(tuple(_rows(r, output.shape + t.shape, t)
                                for r, t in zip(rows, inputs)))
        result = _finish(tuple(result), create_graph)
    return _unpack(result, (outputs_tuple, inputs_tuple))


def _rows(rows: list, shape: tuple, like: Tensor) -> Tensor:
    """The gradients of one output's elements stacked into its Jacobian block."""
    if not rows:
        return like._wrap(numpy.zeros(shape, like.data.dtype))
    return stack(rows).reshape(shape)


def _forward_jacobian(func, inputs):
    """The Jacobian one column at a time: ``J e_k`` for every input element ``k``."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    outputs_tuple, outputs = None, None
    blocks = {}
    for j, tensor in enumerate(inputs):
        for k in range(tensor.numel()):
            basis = []
            for m, other in enumerate(inputs):
                e = numpy.zeros(other.shape, other.data.dtype)
                if m == j:
                    e.reshape(-1)[k] = 1
                basis.append(other._wrap(e))
            outputs, column = jvp(func, inputs if inputs_tuple else inputs[0],
                                  tuple(basis) if inputs_tuple else basis[0])
            outputs_tuple = isinstance(outputs, tuple)
            for i, c in enumerate(column if outputs_tuple else (column,)):
                blocks.setdefault((i, j), []).append(c.data)
    outputs = outputs if outputs_tuple else (outputs,)
    result = []
    for i, output in enumerate(outputs):
        row = []
        for j, tensor in enumerate(inputs):
            stacked = numpy.stack(blocks[(i, j)], axis=-1).reshape(output.shape + tensor.shape)
            row.append(tensor._wrap(stacked))
        result.append(tuple(row))
    return _unpack(tuple(result), (outputs_tuple, inputs_tuple))


def _single_output(func, name: str, strict: bool):
    """``func``, checked to return one Tensor with one element (``hessian``, ``vhp``)."""
    def checked(*inputs):
        output = func(*inputs)
        _, outputs = _as_tuple(output, "outputs of the user-provided function", name)
        _check_outputs(outputs, strict)
        if not isinstance(output, Tensor):
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if output.numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {name} should "
                               "contain a single element")
        return output
    return checked


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: ``H[i..., j...] =
    d2 f / dx[i...] dx[j...]``, shape ``x.shape + x.shape`` (for a tuple of inputs, a tuple
    of tuples: ``H[a][b]`` of shape ``x_a.shape + x_b.shape``).

    The Jacobian of the gradient: the gradient is computed with ``create_graph=True``, so
    every op of ``func`` must support double backward.

    Example:
        >>> import numnet
        >>> hessian(lambda x: x[0] * x[1] ** 2, numnet.tensor([1.0, 3.0]))
        tensor([[0., 6.],
                [6., 2.]])
    """
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    scalar = _single_output(func, "hessian", strict)

    def gradient(*values):
        if outer_jacobian_strategy == "forward-mode":
            values = tuple(v.requires_grad_(True) if not v.requires_grad else v
                           for v in values)
        grads = jacobian(lambda *x: scalar(*x).reshape(()), values, create_graph=True)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if strict:
            for i, g in enumerate(grads):
                if not g.requires_grad:
                    raise RuntimeError(
                        "While computing the hessian, found that the jacobian of the "
                        f"user-provided function with respect to input {i} is independent "
                        "of the input. This is not allowed in strict mode. You should ensure "
                        "that your function is twice differentiable and that the jacobian "
                        "depends on the inputs (this would be violated by a linear function "
                        "for example).")
        return grads

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    return _unpack(result, (inputs_tuple, inputs_tuple))


def _gradient_for_hessian(func, inputs, v, create_graph: bool, strict: bool, name: str):
    """Shared start of ``vhp`` and ``hvp``: inputs, vectors, output and its gradient (a
    graph)."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _prepare(inputs, create_graph, need_graph=True)
    v = _vectors(v, inputs, inputs_tuple, name, "The vector v can only be None if the "
                 "input to the user-provided function is a single Tensor with a single "
                 "element.", create_graph)
    output = _single_output(func, name, strict)(*inputs)
    jac = _grad((output,), inputs, create_graph=True)
    if strict:
        for i, g in enumerate(jac):
            if g is None:
                raise RuntimeError(_ZERO_MESSAGES["back"].format(i=i))
    return inputs_tuple, inputs, v, output, jac


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``: the gradient of ``grad f . v``.

    Example:
        >>> import numnet
        >>> out, g = vhp(lambda x: (x ** 3).sum(), numnet.tensor([1.0, 2.0]), numnet.ones(2))
        >>> g
        tensor([ 6., 12.])
    """
    with autograd.enable_grad():
        inputs_tuple, inputs, v, output, jac = _gradient_for_hessian(
            func, inputs, v, create_graph, strict, "vhp")
        pairs = [(g, w) for g, w in zip(jac, v) if g is not None]
        with autograd.set_grad_enabled(create_graph or autograd.is_grad_enabled()):
            grads = _grad(tuple(g for g, _ in pairs), inputs, tuple(w for _, w in pairs),
                          create_graph=create_graph)
            grads = _zeros_for_none(grads, inputs, strict, create_graph, "double_back")
    return _finish((output,), create_graph)[0], _unpack(_finish(grads, create_graph),
                                                       inputs_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)``, by the double-backward trick on the gradient: with ``w``
    the upstream gradient of ``grad f``, ``d((w^T H) . v)/dw = H v``.

    Example:
        >>> import numnet
        >>> out, g = hvp(lambda x: x[0] * x[1] ** 2, numnet.tensor([1.0, 3.0]),
        ...              numnet.tensor([1.0, 0.0]))
        >>> g
        tensor([0., 6.])
    """
    with autograd.enable_grad():
        inputs_tuple, inputs, v, output, jac = _gradient_for_hessian(
            func, inputs, v, create_graph, strict, "hvp")
        upstream = tuple(t._wrap(numpy.zeros_like(t.data)).requires_grad_(True)
                         for t in inputs)
        reached = [(g, w) for g, w in zip(jac, upstream) if g is not None]
        double_back = _grad(tuple(g for g, _ in reached), inputs,
                            tuple(w for _, w in reached), create_graph=True)
        if strict:
            for i, g in enumerate(jac):
                if g is not None and not g.requires_grad:
                    raise RuntimeError(
                        f"The hessian of the user-provided function with respect to input "
                        f"{i} is independent of the input. This is not allowed in strict "
                        "mode. You should ensure that your function is thrice differentiable "
                        "and that the hessian depends on the inputs.")
        pairs = [(g, w) for g, w in zip(double_back, v) if g is not None]
        with autograd.set_grad_enabled(create_graph or autograd.is_grad_enabled()):
            grads = _grad(tuple(g for g, _ in pairs), upstream, tuple(w for _, w in pairs),
                          create_graph=create_graph)
            grads = _zeros_for_none(grads, inputs, strict, create_graph,
                                    "double_back_trick")
    return _finish((output,), create_graph)[0], _unpack(_finish(grads, create_graph),
                                                       inputs_tuple)
