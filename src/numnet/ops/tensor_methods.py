"""Tensor's operators and op methods, attached to the class one line each.

``numnet.tensor`` cannot import the ops (they import it), so this module, which sits on top
of the ops, gives ``Tensor`` its operators (``a * b`` is ``Tensor.__mul__ = mul``, from
``numnet.ops.arithmetic``) and the methods that run an op (``x.sum()``, ``x.reshape(...)``,
``x.to(dtype)``, ...). ``numnet/__init__.py`` imports it, so every Tensor has them.

Example:
    >>> import numnet
    >>> x = numnet.tensor([1.0, 2.0, 3.0])
    >>> (2 - x).sum()
    tensor(0.)
"""

from __future__ import annotations

from numnet.ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from numnet.ops.arithmetic import add, div, matmul, mul, neg, pow, sub, to
from numnet.ops.elementwise import (
    abs,
    clamp,
    clip,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    maximum,
    minimum,
    ne,
    sqrt,
)
from numnet.ops.reduction import amax, amin, argmax, argmin, max, mean, min, std, sum, var
from numnet.ops.shape import (
    broadcast_to,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    squeeze,
    transpose,
    unsqueeze,
    view,
)
from numnet.tensor import Tensor


def _rsub(self, other) -> Tensor:
    return sub(other, self)


def _rtruediv(self, other) -> Tensor:
    return div(other, self)


def _rpow(self, other) -> Tensor:
    return pow(other, self)


def _rmatmul(self, other) -> Tensor:
    return matmul(other, self)


def _t(self) -> Tensor:
    """The transpose of a 2-D tensor: ``transpose(self, 0, 1)``."""
    return transpose(self, 0, 1)


def _expand_as(self, other) -> Tensor:
    """``expand(self, other.shape)``."""
    return expand(self, other.shape)


def _view_as(self, other) -> Tensor:
    """``reshape(self, other.shape)``."""
    return reshape(self, other.shape)


# operators
Tensor.__add__ = add
Tensor.__radd__ = add
Tensor.__sub__ = sub
Tensor.__rsub__ = _rsub
Tensor.__mul__ = mul
Tensor.__rmul__ = mul
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _rtruediv
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _rmatmul
Tensor.__neg__ = neg
Tensor.__getitem__ = getitem
Tensor.__lt__ = lt
Tensor.__le__ = le
Tensor.__gt__ = gt
Tensor.__ge__ = ge
Tensor.__eq__ = eq
Tensor.__ne__ = ne

# arithmetic and element-wise
Tensor.add = add
Tensor.sub = sub
Tensor.mul = mul
Tensor.div = div
Tensor.neg = neg
Tensor.pow = pow
Tensor.matmul = matmul
Tensor.to = to
Tensor.exp = exp
Tensor.log = log
Tensor.sqrt = sqrt
Tensor.abs = abs
Tensor.clamp = clamp
Tensor.clip = clip
Tensor.maximum = maximum
Tensor.minimum = minimum

# reductions
Tensor.sum = sum
Tensor.mean = mean
Tensor.var = var
Tensor.std = std
Tensor.max = max
Tensor.min = min
Tensor.amax = amax
Tensor.amin = amin
Tensor.argmax = argmax
Tensor.argmin = argmin

# shape
Tensor.reshape = reshape
Tensor.view = view
Tensor.view_as = _view_as
Tensor.flatten = flatten
Tensor.squeeze = squeeze
Tensor.unsqueeze = unsqueeze
Tensor.transpose = transpose
Tensor.t = _t
Tensor.permute = permute
Tensor.expand = expand
Tensor.expand_as = _expand_as
Tensor.broadcast_to = broadcast_to

# activations
Tensor.sigmoid = sigmoid
Tensor.tanh = tanh
Tensor.relu = relu
Tensor.softmax = softmax
Tensor.log_softmax = log_softmax
