"""In-place ops (``x.add_(y)``, ``x.sigmoid_()``, ...) with PyTorch's three cases.

An in-place op on ``x`` with operands ``others``:

(a) grad mode is off, or neither ``x`` nor an operand requires grad: the result is written
    into ``x.data`` itself (``x.data[...] = result``), so every view of the array and every
    holder of the array object (optimizer state, ``init`` code) sees it. The result is cast
    to ``x``'s dtype, and PyTorch's rule holds that an in-place op cannot change the dtype's
    category: ``int64 tensor .add_(1.5)`` raises RuntimeError ("result type Float can't be
    cast to the desired output type Long"). ``add_ sub_ mul_ div_ zero_ fill_ copy_`` work
    on the array directly here, without allocating a Tensor (optimizers call them in loops).
(b) ``x`` is a leaf that requires grad and grad mode is on: RuntimeError ("a leaf Variable
    that requires grad is being used in an in-place operation.").
(c) otherwise (``x`` is a non-leaf in the graph, or an operand requires grad): the op is
    recorded: ``out = op(x, ...)``, then ``x`` becomes ``out``'s graph node
    (``Tensor._rebase``: its array, creator and flags), as PyTorch's rebase does. ``out``'s
    array is new, so the values earlier ops saved from the old ``x`` stay intact.

NOTE: the one difference from PyTorch: in case (c) a view of ``x`` made earlier
(``v = x[0]``) does not see the new values (PyTorch's views share one storage and version
counter). numnet keeps no version counters either, so writing in case (a) into an array
that an op saved for its backward (possible in grad mode, where PyTorch would raise at
backward) silently changes that gradient: modify such tensors out of place.

Making another in-place method is one line: ``Tensor.sin_ = inplace(sin, "sin_")``; any op
whose first argument is the tensor works.

Example:
    >>> import numnet
    >>> w = numnet.ones(2, requires_grad=True)
    >>> h = w * 2
    >>> h.add_(1).mul_(h)
    tensor([9., 9.], grad_fn=<Mul>)
    >>> h.sum().backward()
    >>> w.grad
    tensor([12., 12.])
"""

from __future__ import annotations

import numbers

import numpy

from numnet import backend
from numnet import random as nn_random
from numnet.autograd import Function
from numnet.ops import dual, promotion
from numnet.ops._util import as_tensor, sum_to
from numnet.ops.activation import relu, sigmoid, tanh
from numnet.ops.arithmetic import add, div, mul, neg, pow, sub
from numnet.ops.elementwise import abs, clamp, clamp_max, clamp_min, exp, log, sqrt, where
from numnet.tensor import Tensor

_TORCH_NAMES = {
    "float16": "Half", "float32": "Float", "float64": "Double", "uint8": "Byte",
    "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "bool": "Bool",
}


def _torch_name(dtype: numpy.dtype) -> str:
    return _TORCH_NAMES.get(numpy.dtype(dtype).name, str(dtype))


def check_cast(result: numpy.dtype, target: numpy.dtype) -> None:
    """PyTorch's ``canCast`` for in-place results: no floating result into an integer or bool
    tensor, no integer result into a bool tensor (RuntimeError)."""
    if promotion.category(numpy.dtype(result)) > promotion.category(numpy.dtype(target)):
        raise RuntimeError(f"result type {_torch_name(result)} can't be cast to the desired "
                           f"output type {_torch_name(target)}")


def _check_writeable(x: Tensor) -> None:
    if not x.data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location (an expand, diagonal "
                           "or unfold view). Please clone() the tensor before performing the "
                           "operation.")


def _check_shape(x: Tensor, shape: tuple) -> None:
    if tuple(shape) != x.data.shape:
        raise RuntimeError(f"output with shape {list(x.data.shape)} doesn't match the "
                           f"broadcast shape {list(shape)}")


def write(x: Tensor, result: numpy.ndarray) -> Tensor:
    """Case (a): ``result`` (shaped like ``x``) into ``x.data`` in place, cast to its dtype."""
    _check_shape(x, result.shape)
    check_cast(result.dtype, x.data.dtype)
    _check_writeable(x)
    x.data[...] = result
    return x


def record(x: Tensor, out: Tensor) -> Tensor:
    """Case (c): ``x`` becomes the graph node ``out`` (cast back to ``x``'s dtype)."""
    _check_shape(x, out.shape)
    if out.data.dtype != x.data.dtype:
        check_cast(out.data.dtype, x.data.dtype)
        out = promotion.cast(out, x.data.dtype)
    return x._rebase(out)


def inplace(op, name: str):
    """The in-place method ``name`` of ``op(x, *args, **kwargs)``, with PyTorch's rules
    (cases (a)-(c) in the module's docstring). Example: ``Tensor.exp_ = inplace(exp, "exp_")``.
    """
    def method(self, *args, **kwargs):
        if self._inplace_records(*args, *kwargs.values()):
            return record(self, op(self, *args, **kwargs))
        return write(self, op(self, *args, **kwargs).data)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``{op.__name__}`` in place (``x.{name}(...)``; see ``numnet.ops.inplace``)."
    return method


# ---------------------------------------------------------------------- arithmetic
def _check_alpha(result: numpy.dtype, alpha) -> None:
    if isinstance(alpha, bool) and result.kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if result.kind in "biu" and not isinstance(alpha, numbers.Integral):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def _scaled(other, alpha, result: numpy.dtype):
    """``alpha * other`` as an array or a number (``other`` itself when ``alpha`` is 1),
    checked as PyTorch does (case (a): no graph, so plain NumPy)."""
    if alpha == 1 and type(alpha) is not bool:
        return other
    _check_alpha(result, alpha)
    if isinstance(other, Tensor):
        return other.data * numpy.asarray(alpha, result)
    return other * alpha


def _result_type(x: Tensor, other) -> numpy.dtype:
    """``promotion.result_type(x, other)``, without its general machinery in the common
    cases (an operand of ``x``'s dtype, a Python float on a float tensor, a Python int on a
    number tensor), which optimizers' in-place updates hit every step."""
    dtype = x.data.dtype
    if isinstance(other, Tensor):
        if other.data.dtype == dtype:
            return dtype
    elif type(other) is float:
        if dtype.kind == "f":
            return dtype
    elif type(other) is int:
        if dtype.kind in "iuf":
            return dtype
    return promotion.result_type(x, other)


def _operand(other, result: numpy.dtype):
    """``other`` as NumPy takes it in a ufunc computing in ``result``: an array of that dtype
    (so NumPy's own promotion agrees with PyTorch's), or the Python number itself."""
    if isinstance(other, Tensor):
        other = other.data
    if isinstance(other, numpy.ndarray):
        return other if other.dtype == result else other.astype(result)
    if type(other) in (float, int, bool):
        return other
    if isinstance(other, numpy.generic):
        return numpy.asarray(other, dtype=result)
    if isinstance(other, numbers.Number):
        return other
    return numpy.asarray(other, dtype=result)


def _ufunc_inplace(x: Tensor, ufunc, other, result: numpy.dtype) -> Tensor:
    """Case (a) of a binary op without a Tensor: ``ufunc(x.data, other, out=x.data)``."""
    array = x.data
    if result != array.dtype:
        check_cast(result, array.dtype)
    if not array.flags.writeable:
        _check_writeable(x)
    operand = _operand(other, result)
    if type(operand) is numpy.ndarray and operand.shape != array.shape:
        _check_shape(x, numpy.broadcast_shapes(array.shape, operand.shape))
    ufunc(array, operand, out=array, casting="unsafe")
    return x


def add_(self, other, alpha=1) -> Tensor:
    """``self += alpha * other`` in place."""
    if self._inplace_records(other):
        return record(self, add(self, other, alpha=alpha))
    result = _result_type(self, other)
    return _ufunc_inplace(self, numpy.add, _scaled(other, alpha, result), result)


def sub_(self, other, alpha=1) -> Tensor:
    """``self -= alpha * other`` in place."""
    if self._inplace_records(other):
        return record(self, sub(self, other, alpha=alpha))
    result = _result_type(self, other)
    return _ufunc_inplace(self, numpy.subtract, _scaled(other, alpha, result), result)


def mul_(self, other) -> Tensor:
    """``self *= other`` in place."""
    if self._inplace_records(other):
        return record(self, mul(self, other))
    return _ufunc_inplace(self, numpy.multiply, other, _result_type(self, other))


def div_(self, other, *, rounding_mode=None) -> Tensor:
    """``self /= other`` in place (true division: an integer tensor needs ``rounding_mode``
    ``'trunc'`` or ``'floor'``)."""
    if self._inplace_records(other):
        return record(self, div(self, other, rounding_mode=rounding_mode))
    if rounding_mode is not None:
        return write(self, div(self, other, rounding_mode=rounding_mode).data)
    result = promotion.floating(_result_type(self, other))
    return _ufunc_inplace(self, numpy.true_divide, other, result)


# ---------------------------------------------------------------------- overwriting
class Overwrite(Function):
    """``y = values`` (an array shaped like ``x``, in its dtype: what ``zero_ fill_ uniform_
    normal_`` write);  ``gx = 0`` (the old values no longer matter; a constant, so its own
    derivative is 0 too)."""

    saved_inputs = (None,)

    def __init__(self, values: numpy.ndarray):
        self.values = values

    def forward(self, x):
        return self.values

    def backward(self, gy):
        return dual.zeros_like(gy)


class Copy(Function):
    """``y = src`` broadcast to ``x``'s shape, in ``x``'s dtype (``copy_``, ``fill_`` with a
    0-d tensor);  ``gx = 0``,  ``gsrc = sum_to(gy, src.shape)`` in ``src``'s dtype (both
    linear in ``gy``: recorded as they are with ``create_graph=True``)."""

    saved_inputs = (None, None)

    def forward(self, x, src):
        self.src_shape, self.src_dtype = src.shape, src.dtype
        return _broadcast_copy(src, x.shape, x.dtype)

    def backward(self, gy):
        gx = dual.zeros_like(gy) if self.needs_input_grad[0] else None
        gsrc = None
        if self.needs_input_grad[1]:
            gsrc = dual.astype(sum_to(gy, self.src_shape), self.src_dtype)
        return gx, gsrc


def _broadcast_copy(src: numpy.ndarray, shape: tuple, dtype) -> numpy.ndarray:
    try:
        return numpy.array(numpy.broadcast_to(src, shape), dtype=dtype)
    except ValueError:
        raise RuntimeError(f"copy_: the source of shape {tuple(src.shape)} does not broadcast "
                           f"to the tensor's shape {tuple(shape)}") from None


def _overwrite(self, values_of) -> Tensor:
    """Replace every element by ``values_of()`` (an array like ``self``): case (a) writes,
    case (c) records ``Overwrite``."""
    if self._inplace_records():
        return self._rebase(Overwrite(values_of())(self))
    _check_writeable(self)
    self.data[...] = values_of()
    return self


def zero_(self) -> Tensor:
    """Fill with zeros in place."""
    if self._inplace_records():
        return self._rebase(Overwrite(numpy.zeros_like(self.data))(self))
    _check_writeable(self)
    self.data[...] = 0
    return self


def fill_(self, value) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor, cast to this tensor's dtype)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        if self._inplace_records(value):
            return self._rebase(Copy()(self, value))
        value = value.data
    elif self._inplace_records():
        return self._rebase(Overwrite(numpy.full_like(self.data, value))(self))
    _check_writeable(self)
    self.data[...] = value
    return self


def copy_(self, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to this tensor's shape, cast to its dtype) in place."""
    src = as_tensor(src)
    if self._inplace_records(src):
        return self._rebase(Copy()(self, src))
    _check_writeable(self)
    if src.data.shape != self.data.shape:
        self.data[...] = _broadcast_copy(src.data, self.data.shape, self.data.dtype)
    else:
        self.data[...] = src.data
    return self


def _check_floating(self, kernel: str) -> None:
    if not backend.is_floating(self.data.dtype):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_torch_name(self.data.dtype)}'")


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the uniform distribution on [a, b) (numnet's generator)."""
    _check_floating(self, "check_uniform_bounds")
    rng = nn_random.numpy_generator(generator)
    return _overwrite(self, lambda: rng.uniform(a, b, self.data.shape).astype(self.data.dtype))


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std**2) (numnet's generator)."""
    _check_floating(self, "normal_kernel_cpu")
    rng = nn_random.numpy_generator(generator)
    return _overwrite(self, lambda: rng.normal(mean, std, self.data.shape).astype(self.data.dtype))


def masked_fill_(self, mask, value) -> Tensor:
    """``self[mask] = value`` in place (``mask`` a bool tensor broadcast to this shape;
    ``value`` a number or a 0-d tensor, cast to this tensor's dtype)."""
    mask_data = mask.data if isinstance(mask, Tensor) else numpy.asarray(mask)
    if mask_data.dtype != numpy.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask_data.dtype}")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    if self._inplace_records(value):
        if isinstance(value, Tensor):
            filler = promotion.cast(value, self.data.dtype)
        else:
            filler = Tensor(numpy.asarray(value, self.data.dtype), _raw=True)
        return record(self, where(mask_data, filler, self))
    _check_writeable(self)
    _check_shape(self, numpy.broadcast_shapes(self.data.shape, mask_data.shape))
    filler = value.data if isinstance(value, Tensor) else value
    numpy.copyto(self.data, filler, casting="unsafe", where=mask_data)
    return self


# ---------------------------------------------------------------------- through ``inplace``
pow_ = inplace(pow, "pow_")
neg_ = inplace(neg, "neg_")
abs_ = inplace(abs, "abs_")
sqrt_ = inplace(sqrt, "sqrt_")
exp_ = inplace(exp, "exp_")
log_ = inplace(log, "log_")
clamp_ = inplace(clamp, "clamp_")
clip_ = clamp_
clamp_min_ = inplace(clamp_min, "clamp_min_")
clamp_max_ = inplace(clamp_max, "clamp_max_")
sigmoid_ = inplace(sigmoid, "sigmoid_")
tanh_ = inplace(tanh, "tanh_")
relu_ = inplace(relu, "relu_")
