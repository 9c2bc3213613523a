"""The functions backward formulas are written with, on arrays and on Tensors alike.

A Function's ``backward`` is written once. Without ``create_graph`` it runs on arrays (the
fast path: each function here is the NumPy call); with ``create_graph=True`` the engine runs
the same formula on Tensors (``Function.saved_inputs``), and each function here is then the
differentiable numnet op, recorded, so the gradient is a graph of its own. Operators
(``gy * self.y``, ``-gy``, ``gy / 2``) and the Tensor methods NumPy shares (``reshape``,
``sum`` of an array is not one of them) need nothing from here.

``apply(function, *args)`` runs a whole Function the same way: its ``forward`` on arrays, or
the Function recorded on Tensors; a backward built from such Functions (a convolution's
input and weight gradients, a scatter back into zeros) is differentiable to any order.

Example:
    >>> import numpy, numnet
    >>> from numnet.ops import dual
    >>> dual.exp(numpy.zeros(2)), dual.exp(numnet.zeros(2))
    (array([1., 1.]), tensor([1., 1.]))
"""

from __future__ import annotations

import numpy

from numnet import backend
from numnet.tensor import Tensor

errstate = numpy.errstate


def is_graph(*values) -> bool:
    """True when any of ``values`` is a Tensor: the formula runs recorded."""
    for value in values:
        if isinstance(value, Tensor):
            return True
    return False


def _tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numpy.ndarray):
        return Tensor(value, _raw=True)
    return Tensor(numpy.asarray(value, dtype=like.data.dtype), _raw=True)


def apply(function, *args):
    """``function`` (a Function instance) on ``args``: its ``forward`` on arrays, nothing
    recorded; the Function called (and recorded) when any argument is a Tensor. ``None``
    arguments are left out (an absent bias)."""
    args = [a for a in args if a is not None]
    if is_graph(*args):
        like = next(a for a in args if isinstance(a, Tensor))
        return function(*[_tensor(a, like) for a in args])
    function.needs_input_grad = (False,) * len(args)
    return function.forward(*args)


def matmul(a, b):
    """``a @ b``: ``backend.matmul`` (threaded by size) on arrays."""
    if is_graph(a, b):
        return a @ b if isinstance(a, Tensor) else _tensor(a, b) @ b
    return backend.matmul(a, b)


def sum(x, axis=None, keepdims: bool = False):  # noqa: A001 - NumPy's name
    """``x.sum(axis, keepdims)`` with NumPy's argument names."""
    if isinstance(x, Tensor):
        return x.sum(dim=axis, keepdim=keepdims) if axis != () else x
    return x.sum(axis=axis, keepdims=keepdims)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (``Tensor.expand``)."""
    if isinstance(x, Tensor):
        return x if x.shape == tuple(shape) else x.expand(*shape)
    return numpy.broadcast_to(x, shape)


def transpose(x, axes):
    """Axes of ``x`` in the order ``axes`` (``Tensor.permute``)."""
    if isinstance(x, Tensor):
        return x.permute(*axes)
    return numpy.transpose(x, axes)


def swapaxes(x, axis1: int, axis2: int):
    """``x`` with two axes exchanged."""
    if isinstance(x, Tensor):
        return x.transpose(axis1, axis2)
    return numpy.swapaxes(x, axis1, axis2)


def moveaxis(x, source: int, destination: int):
    """``x`` with axis ``source`` moved to ``destination``."""
    if isinstance(x, Tensor):
        return x.movedim(source, destination)
    return numpy.moveaxis(x, source, destination)


def expand_dims(x, axis):
    """``x`` with new axes of length 1 at ``axis`` (an int or a tuple)."""
    if isinstance(x, Tensor):
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        shape = list(x.shape)
        for a in sorted(a % (x.ndim + len(axes)) for a in axes):
            shape.insert(a, 1)
        return x.reshape(tuple(shape))
    return numpy.expand_dims(x, axis)


def where(condition, a, b):
    """``a`` where ``condition``, else ``b`` (the condition is never differentiated)."""
    if is_graph(a, b):
        condition = constant(condition)
        like = a if isinstance(a, Tensor) else b
        a, b = _tensor(a, like), _tensor(b, like)
        return a.where(Tensor(numpy.asarray(condition), _raw=True), b)
    return numpy.where(condition, a, b)


def astype(x, dtype):
    """``x`` as ``dtype`` (no copy when it already is)."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    return x.astype(dtype, copy=False)


def constant(x):
    """The values of ``x`` (an array or a Tensor) as an array: masks, signs and indices,
    which are not differentiated."""
    return x.data if isinstance(x, Tensor) else x


def zeros_like(x):
    """Zeros shaped like ``x`` (a constant)."""
    return numpy.zeros_like(constant(x))


def _unary(numpy_function, method: str):
    def function(x):
        if isinstance(x, Tensor):
            return getattr(x, method)()
        return numpy_function(x)
    function.__name__ = numpy_function.__name__
    function.__doc__ = f"``numpy.{numpy_function.__name__}`` / ``Tensor.{method}``."
    return function


exp = _unary(numpy.exp, "exp")
log = _unary(numpy.log, "log")
log1p = _unary(numpy.log1p, "log1p")
expm1 = _unary(numpy.expm1, "expm1")
sqrt = _unary(numpy.sqrt, "sqrt")
sin = _unary(numpy.sin, "sin")
cos = _unary(numpy.cos, "cos")
tanh = _unary(numpy.tanh, "tanh")
sinh = _unary(numpy.sinh, "sinh")
cosh = _unary(numpy.cosh, "cosh")
abs = _unary(numpy.abs, "abs")  # noqa: A001 - NumPy's name
square = _unary(numpy.square, "square")
reciprocal = _unary(numpy.reciprocal, "reciprocal")


def sign(x):
    """``sign(x)``, a constant (its derivative is 0 almost everywhere)."""
    return numpy.sign(constant(x))


def maximum(a, b):
    """Element-wise larger of ``a`` and ``b``."""
    if is_graph(a, b):
        like = a if isinstance(a, Tensor) else b
        return _tensor(a, like).maximum(_tensor(b, like))
    return numpy.maximum(a, b)


def minimum(a, b):
    """Element-wise smaller of ``a`` and ``b``."""
    if is_graph(a, b):
        like = a if isinstance(a, Tensor) else b
        return _tensor(a, like).minimum(_tensor(b, like))
    return numpy.minimum(a, b)



def mean(x, axis=None, keepdims: bool = False):
    """``x.mean(axis, keepdims)`` with NumPy's argument names (``numpy.mean`` on arrays)."""
    if isinstance(x, Tensor):
        return x.mean(dim=axis, keepdim=keepdims)
    return numpy.mean(x, axis=axis, keepdims=keepdims)


class Kept:
    """Mixin for a Function whose output is ``y``, given (an activation a forward already
    kept), whatever its input holds: a recorded backward whose input values are not kept
    (``zeros_stand_in``) still gets that node's derivative right, as long as the op's own
    backward reads only its output (sigmoid, tanh, ReLU's mask, expm1)."""

    def __init__(self, y):
        self.kept = y

    def forward(self, x):
        self.x, self.y = None, self.kept
        return self.kept
