"""``einsum``: Einstein summation over any number of operands, with PyTorch's rules.

The equation is first made explicit: ``...`` becomes letters of its own (right-aligned, so
the ellipsis dims broadcast like NumPy's), an equation without ``->`` gets PyTorch's implicit
output (the ellipsis dims, then every letter that appears once, in alphabetical order), and a
dim of length 1 that meets a longer dim of the same letter is squeezed out of its operand (it
broadcasts: as if the operand did not have that letter).

The gradient of operand k is again an einsum: ``gy`` contracted with every other operand
onto operand k's letters. Two cases need more than that: a letter that only operand k has
(summed away in the forward, so ``gx`` is constant along it: broadcast), and a letter
repeated inside operand k (``'ii->i'`` reads a diagonal: ``gx`` is ``gy`` on that diagonal,
zero elsewhere, written through NumPy's writeable diagonal view ``einsum('ii->i', gx)``:
``IntoDiagonal``, whose gradient reads the diagonal again). Recorded (``create_graph``), the
contractions are ``Einsum`` ops themselves, so einsum is differentiable to any order.

Example:
    >>> import numnet
    >>> a, b = numnet.ones(2, 3), numnet.ones(3, 4)
    >>> numnet.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    >>> numnet.einsum("ii", numnet.eye(3))
    tensor(3.)
"""

from __future__ import annotations

import string

import numpy

from numnet.autograd import Function
from numnet.ops import dual
from numnet.ops._util import as_tensor
from numnet.ops.shape import shape_op
from numnet.tensor import Tensor


def _parse(equation: str, shapes) -> tuple:
    """``(inputs, output)``: each operand's letters (a string) and the output's, explicit and
    without ``...``."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation {equation!r} but "
                           f"{len(shapes)} were given")
    used = set(equation) - set(".,->")
    for letter in used:
        if letter not in string.ascii_letters:
            raise RuntimeError(f"einsum(): invalid subscript given at index "
                               f"{equation.index(letter)} in the equation string, subscripts "
                               "must be in [a-zA-Z]")
    spare = [c for c in string.ascii_letters if c not in used]
    ellipsis_dims = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, len(shape) - len(term.replace("...", "")))
    fill = "".join(spare[:ellipsis_dims])
    inputs = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            term = term.replace("...", fill[ellipsis_dims - (len(shape) - named):])
        elif named != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {len(inputs)} and no ellipsis was given")
        inputs.append(term)
    if arrow:
        output = rhs.replace("...", fill)
        for letter in output:
            if output.count(letter) > 1:
                raise RuntimeError(f"einsum(): output subscript {letter} appears more than "
                                   "once in the output")
            if not any(letter in term for term in inputs):
                raise RuntimeError(f"einsum(): output subscript {letter} does not appear in "
                                   "the equation for any input operand")
    else:
        counts = "".join(terms).replace("...", "")
        output = fill + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    return inputs, output


def _squeeze_broadcast(inputs, shapes) -> tuple:
    """Drop, per operand, the length-1 dims whose letter is longer elsewhere (they broadcast);
    ``(letters, shapes)`` after that, and each letter's length."""
    sizes = {}
    for term, shape in zip(inputs, shapes):
        for letter, n in zip(term, shape):
            if sizes.get(letter, 1) == 1:
                sizes[letter] = n
            elif n not in (1, sizes[letter]):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"[original->remapped]: subscript {letter} has size "
                                   f"{sizes[letter]} and {n}")
    kept_terms, kept_shapes = [], []
    for term, shape in zip(inputs, shapes):
        keep = [i for i, (c, n) in enumerate(zip(term, shape))
                if not (n == 1 and sizes[c] != 1 and term.count(c) == 1)]
        kept_terms.append("".join(term[i] for i in keep))
        kept_shapes.append(tuple(shape[i] for i in keep))
    return kept_terms, kept_shapes, sizes


class Einsum(Function):
    """``y = einsum(equation, *xs)``;  ``gx_k = einsum(output, xs except k -> letters of
    x_k)(gy, ...)``, broadcast along letters only ``x_k`` has and placed on the diagonal of
    letters ``x_k`` repeats (see the module's docstring).

    Operand k is kept as the attribute ``x{k}`` (``saved_inputs``, one name per operand).
    """

    saved_inputs = ()

    def __init__(self, inputs, output, sizes):
        self.inputs, self.output, self.sizes = inputs, output, sizes
        self.saved_inputs = tuple(f"x{k}" for k in range(len(inputs)))

    def forward(self, *xs):
        for name, x in zip(self.saved_inputs, xs):
            setattr(self, name, x)
        equation = ",".join(self.inputs) + "->" + self.output
        return numpy.einsum(equation, *xs, optimize=len(xs) > 1)

    def backward(self, gy):
        xs = [getattr(self, name) for name in self.saved_inputs]
        gxs = []
        for k, (term, x) in enumerate(zip(self.inputs, xs)):
            if not self.needs_input_grad[k]:
                gxs.append(None)
                continue
            others = [t for i, t in enumerate(self.inputs) if i != k]
            arrays = [a for i, a in enumerate(xs) if i != k]
            unique = "".join(dict.fromkeys(term))
            reached = "".join(c for c in unique if c in self.output or any(c in t for t in others))
            g = dual.apply(Einsum([self.output] + others, reached, self.sizes), gy, *arrays)
            if reached != unique:  # letters only this operand has: gx is constant along them
                g = dual.expand_dims(g, [unique.index(c) for c in unique if c not in reached])
                g = dual.broadcast_to(g, tuple(self.sizes[c] for c in unique))
            if unique != term:  # repeated letters: gy goes on the diagonal
                g = dual.apply(IntoDiagonal(term, unique, x.shape, self.sizes), g)
            gxs.append(g if dual.is_graph(g) else numpy.ascontiguousarray(g))
        return tuple(gxs)


class IntoDiagonal(Function):
    """``y = zeros(shape)`` with ``x`` on the diagonal of the letters ``term`` repeats, so
    that ``einsum(term -> unique)(y) = x`` (the gradient of reading a diagonal);
    ``gx = einsum(term -> unique)(gy)``, an ``Einsum``."""

    saved_inputs = (None,)

    def __init__(self, term: str, unique: str, shape: tuple, sizes: dict):
        self.term, self.unique, self.shape, self.sizes = term, unique, shape, sizes

    def forward(self, x):
        y = numpy.zeros(self.shape, x.dtype)
        numpy.einsum(f"{self.term}->{self.unique}", y)[...] = x
        return y

    def backward(self, gy):
        return dual.apply(Einsum([self.term], self.unique, self.sizes), gy)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; the operands may also
    come as one list (``einsum("ij,jk", [a, b])``). All operands need the same dtype."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    tensors = [as_tensor(x) for x in operands]
    dtypes = {x.dtype for x in tensors}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                           f"{sorted(str(d) for d in dtypes)}")
    shapes = [x.shape for x in tensors]
    inputs, output = _parse(equation, shapes)
    inputs, squeezed, sizes = _squeeze_broadcast(inputs, shapes)
    tensors = [x if x.shape == s else shape_op(x, s) for x, s in zip(tensors, squeezed)]
    return Einsum(inputs, output, sizes)(*tensors)
