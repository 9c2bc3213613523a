"""Arithmetic: ``+ - * / ** neg`` (``add(a, b, alpha=)``, ``sub``, ``rsub``, ``mul``,
``div(a, b, rounding_mode=)``, ``pow`` and PyTorch's aliases ``subtract multiply divide
true_divide negative``), matrix product, ``linear`` and dtype casts.

Binary ops broadcast like NumPy; their backward undoes broadcasting with ``sum_to``. A number
operand takes the dtype of the Tensor it meets (``as_operands``), as PyTorch's scalars do.
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet.autograd import Function, broadcast_error
from numnet.ops import dual, promotion
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.ops.promotion import Cast, cast
from numnet.ops.rounding import ROUNDING_MODES, DivRounded, check_divisor
from numnet.tensor import Tensor


def _alpha(alpha, dtype: numpy.dtype):
    """``alpha`` as a scalar of ``dtype`` (a float alpha with integers is a RuntimeError)."""
    if dtype.kind in "biu" and not isinstance(alpha, (int, numpy.integer)):
        raise RuntimeError(f"alpha must be an integer for {dtype} tensors, got {alpha!r}")
    return dtype.type(alpha)


class Add(Function):
    """``y = a + alpha b``;  ``ga = gy``, ``gb = alpha gy`` (summed over broadcast axes)."""

    saved_inputs = (None, None)

    def __init__(self, alpha=1):
        self.alpha = alpha

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        if self.alpha == 1:
            return a + b
        return a + b * _alpha(self.alpha, b.dtype)

    def backward(self, gy):
        ga = sum_to(gy, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = sum_to(gy if self.alpha == 1 else gy * self.alpha, self.shapes[1])
        return ga, gb


def add(input, other, *, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input + alpha * other`` with broadcasting."""
    a, b = as_operands(input, other)
    if alpha != 1:
        _alpha(alpha, a.data.dtype)
    return Add(alpha)(a, b)


class Sub(Function):
    """``y = a - alpha b``;  ``ga = gy``, ``gb = -alpha gy``."""

    saved_inputs = (None, None)

    def __init__(self, alpha=1):
        self.alpha = alpha

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        if self.alpha == 1:
            return a - b
        return a - b * _alpha(self.alpha, b.dtype)

    def backward(self, gy):
        ga = sum_to(gy, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = -sum_to(gy, self.shapes[1]) * self.alpha if self.needs_input_grad[1] else None
        return ga, gb


def sub(input, other, *, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input - alpha * other`` with broadcasting (a bool operand is a RuntimeError, as in
    PyTorch; use ``^`` / ``logical_xor`` or ``~`` / ``logical_not`` on masks)."""
    for operand in (input, other):
        if isinstance(operand, bool) or (isinstance(operand, Tensor)
                                         and operand.data.dtype.kind == "b"):
            raise RuntimeError("subtraction with a bool operand is not supported; use `^` "
                               "or logical_xor(), or `~` to invert a mask")
    a, b = as_operands(input, other)
    if alpha != 1:
        _alpha(alpha, a.data.dtype)
    return Sub(alpha)(a, b)


def rsub(input, other, *, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's name
    """``other - alpha * input`` (``torch.rsub``, the reflected ``sub``)."""
    return sub(other, input, alpha=alpha)


subtract = sub


class Mul(Function):
    """``y = a * b``;  ``ga = gy * b``, ``gb = gy * a``."""

    saved_inputs = ("a", "b")

    def forward(self, a, b):
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.shapes = (a.shape, b.shape)
        return a * b

    def backward(self, gy):
        ga = sum_to(gy * self.b, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = sum_to(gy * self.a, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


def mul(input, other) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input * other`` with broadcasting."""
    return Mul()(*as_operands(input, other))


multiply = mul


class Div(Function):
    """``y = a / b``;  ``ga = gy / b``, ``gb = -gy * a / b**2``."""

    saved_inputs = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def div(input, other, *, rounding_mode=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """``input / other`` with broadcasting.

    ``rounding_mode=None``: true division, integers give the default float dtype (as in
    PyTorch, ``arange(6) / 5`` is float32). ``"trunc"`` rounds toward zero, ``"floor"`` down;
    both keep the promoted dtype (integers stay integers; an integer zero divisor is a
    RuntimeError) and have gradient 0 (``rounding.DivRounded``).

    Example:
        >>> import numnet
        >>> x = numnet.tensor([-7, 7])
        >>> x / 2, numnet.div(x, 2, rounding_mode="trunc"), numnet.div(x, 2, rounding_mode="floor")
        (tensor([-3.5000,  3.5000]), tensor([-3,  3]), tensor([-4,  3]))
    """
    if rounding_mode not in ROUNDING_MODES:
        raise RuntimeError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    a, b = as_operands(input, other)
    if rounding_mode is not None:
        check_divisor(a.data, b.data, "division")
        return DivRounded(rounding_mode)(a, b)
    if a.data.dtype.kind != "f":
        dtype = promotion.floating(a.data.dtype)
        a, b = promotion.cast(a, dtype), promotion.cast(b, dtype)
    return Div()(a, b)


divide = div


def true_divide(dividend, divisor) -> Tensor:
    """``div(dividend, divisor)``: true division."""
    return div(dividend, divisor)


class Neg(Function):
    """``y = -x``;  ``gx = -gy``."""

    saved_inputs = (None,)

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def neg(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """``-x`` (a bool tensor is a RuntimeError, as in PyTorch: use ``~`` to invert a mask)."""
    x = as_tensor(input)
    if x.data.dtype.kind == "b":
        raise RuntimeError("negation of a bool tensor is not supported; use `~` or "
                           "logical_not() to invert a mask")
    return Neg()(x)


negative = neg


class Pow(Function):
    """``y = a ** b``;  ``ga = gy * b * a**(b-1)``,  ``gb = gy * y * ln(a)``.

    ``ga`` is 0 where b == 0 (also at a == 0, where the formula gives ``0 * inf``).
    ``gb`` is only computed when the exponent requires grad; it is ``nan`` where a < 0,
    and 0 where a == 0 and b >= 0 (the limit), like PyTorch.
    """

    saved_inputs = ("a", "b")
    saved_outputs = ("y",)

    def forward(self, a, b):
        self.a, self.b = a, b
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.y = _integer_power(a, b) if a.dtype.kind in "iu" else a ** b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gb = None
        if self.needs_input_grad[0]:
            with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ga = dual.where(dual.constant(b) == 0, 0, gy * b * a ** (b - 1))
            ga = sum_to(dual.astype(ga, gy.dtype), a.shape)
        if self.needs_input_grad[1]:
            a_values, b_values = dual.constant(a), dual.constant(b)
            with numpy.errstate(divide="ignore", invalid="ignore"):
                log_a = dual.where((a_values == 0) & (b_values >= 0), 0, dual.log(a))
            gb = sum_to(gy * self.y * log_a, b.shape)
        return ga, gb


def _integer_power(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """``a ** b`` for integers as C computes it (PyTorch): for b < 0 the truncated ``1/a**|b|``
    is 1 for a = 1, +-1 for a = -1, else 0 (NumPy raises instead)."""
    negative = b < 0
    if not numpy.any(negative):
        return a ** b
    y = a ** numpy.where(negative, 0, b).astype(b.dtype, copy=False)
    one = numpy.ones((), a.dtype)
    odd = (b % 2).astype(bool)
    minus_one = numpy.where(odd, -one, one) if a.dtype.kind == "i" else one
    small = numpy.where(a == 1, one, numpy.where(a == -1, minus_one, 0 * one))
    return numpy.where(negative, small, y).astype(a.dtype, copy=False)


def pow(input, exponent) -> Tensor:  # noqa: A001, A002 - PyTorch's names
    """``input ** exponent`` with broadcasting, in the promoted dtype
    (``int tensor ** 2.5`` is float32). An integer tensor to a negative Python int is a
    RuntimeError, as in PyTorch; to a negative integer *tensor* it truncates as C does
    (``2 ** -1 = 0``). Two bool tensors are a RuntimeError.
    """
    if (isinstance(input, Tensor) and input.data.dtype.kind in "biu"
            and isinstance(exponent, (int, numpy.integer)) and not isinstance(exponent, bool)
            and exponent < 0):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    a, b = as_operands(input, exponent)
    if a.data.dtype.kind == "b":
        if isinstance(exponent, bool):  # PyTorch's shortcuts x ** 1 = x, x ** 0 = 1
            return Tensor(a.data.copy() if exponent else numpy.ones_like(a.data), _raw=True)
        raise NotImplementedError("pow is not implemented for two bool tensors")
    return Pow()(a, b)


class MatMul(Function):
    """``y = a @ b`` (NumPy/PyTorch matmul rules: 1-D promotion, batched and broadcast).

    For 2-D operands ``ga = gy @ b.T`` and ``gb = a.T @ gy``; batch dimensions broadcast and
    are summed back with ``sum_to``; 1-D operands are promoted and squeezed back.
    """

    saved_inputs = ("a", "b")

    def forward(self, a, b):
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.shapes = (a.shape, b.shape)
        return backend.matmul(a, b)

    def shape_error(self, arrays, error) -> str:
        a, b = (x.shape for x in arrays)
        if len(a) == 2 and len(b) == 2:
            return (f"mat1 and mat2 shapes cannot be multiplied ({a[0]}x{a[1]} and "
                    f"{b[0]}x{b[1]})")
        inner_a = a[-1] if a else 1
        inner_b = b[-2] if len(b) > 1 else (b[0] if b else 1)
        if inner_a != inner_b:
            return (f"matmul: shapes {a} and {b} cannot be multiplied: the last dim of the "
                    f"first ({inner_a}) must equal the {'second-to-last' if len(b) > 1 else 'only'}"
                    f" dim of the second ({inner_b})")
        batch = broadcast_error([a[:-2], b[:-2]])
        return f"matmul: the batch dims of {a} and {b} do not broadcast: {batch or error}"

    def backward(self, gy):
        a_shape, b_shape = self.shapes
        ga = gb = None
        # promote 1-D operands as matmul does, so the general formula applies
        gy2 = gy
        if len(b_shape) == 1:
            gy2 = gy2[..., None]
        if len(a_shape) == 1:
            gy2 = dual.expand_dims(gy2, -2)
        if self.needs_input_grad[0]:
            b2 = self.b if len(b_shape) > 1 else self.b[:, None]
            ga = dual.matmul(gy2, dual.swapaxes(b2, -1, -2))
            if len(a_shape) == 1:
                ga = ga[..., 0, :]
            ga = sum_to(ga, a_shape)
        if self.needs_input_grad[1]:
            a2 = self.a if len(a_shape) > 1 else self.a[None, :]
            gb = dual.matmul(dual.swapaxes(a2, -1, -2), gy2)
            if len(b_shape) == 1:
                gb = gb[..., 0]
            gb = sum_to(gb, b_shape)
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch rules (1-D promotion, batched, broadcast)."""
    return MatMul()(*as_operands(a, b))


class Linear(Function):
    """``y = x W^T + b`` for ``x`` (..., in), ``W`` (out, in), ``b`` (out,): PyTorch's
    ``linear`` as one op (one node in the graph instead of a transpose, a product and a sum).

    ``gx = gy W``, ``gW = gy^T x`` and ``gb = sum of gy``, the sums over every leading dim
    of ``x`` (``gy`` and ``x`` seen as (rows, out) and (rows, in)).
    """

    saved_inputs = ("x", "weight", None)

    def forward(self, x, weight, bias=None):
        needs = self.needs_input_grad
        self.x = x if needs[1] else None
        self.weight = weight if needs[0] else None
        y = backend.matmul(x, weight.T)
        if bias is None:
            return y
        if numpy.result_type(y, bias) == y.dtype:
            y += bias
            return y
        return y + bias

    def shape_error(self, arrays, error) -> str:
        x, weight = arrays[0].shape, arrays[1].shape
        rows = int(numpy.prod(x[:-1])) if len(x) > 1 else 1
        return (f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x[-1] if x else 1} and "
                f"{weight[-1] if weight else 1}x{weight[0] if weight else 1})")

    def backward(self, gy):
        needs = self.needs_input_grad
        gx = gW = gb = None
        if needs[0]:
            gx = dual.matmul(gy, self.weight)
        rows = gy.reshape(-1, gy.shape[-1]) if gy.ndim != 2 else gy
        if needs[1]:
            x = self.x.reshape(-1, self.x.shape[-1]) if self.x.ndim != 2 else self.x
            gW = dual.matmul(dual.swapaxes(rows, 0, 1), x)
        if len(needs) > 2 and needs[2]:
            gb = dual.sum(rows, axis=0)
        return gx, gW, gb


def linear(x, weight, bias=None) -> Tensor:
    """``y = x W^T + b`` (weight of shape (out_features, in_features), like PyTorch), as
    one op (``Linear``)."""
    if bias is None:
        return Linear()(as_tensor(x), as_tensor(weight))
    return Linear()(as_tensor(x), as_tensor(weight), as_tensor(bias))


def _is_device(arg) -> bool:
    """Whether a first positional argument of ``to`` names a device (an int: an index).

    A string is a device unless it is a NumPy dtype name and no device type (``"float64"``:
    numnet takes dtype names wherever it takes a dtype; PyTorch has no such strings).
    """
    if isinstance(arg, bool):
        return False
    if isinstance(arg, str) and not devices.is_device_string(arg):
        try:
            numpy.dtype(arg)
        except TypeError:
            return True  # neither: devices.device reports the invalid device string
        return False
    return isinstance(arg, (str, int, devices.device))


def to(x, *args, device=None, dtype=None, non_blocking: bool = False,
       copy: bool = False) -> Tensor:
    """``x`` on ``device`` with ``dtype``: ``Tensor.to``, with PyTorch's three forms.

    ``x.to(dtype)``, ``x.to(device, dtype=None)``, ``x.to(other)`` (other's dtype; its device
    is the CPU), each also with keywords. ``x`` itself comes back when nothing changes
    (``x.to("cpu")``, ``x.to(None)``, ``x.to(x.dtype)``) unless ``copy=True`` or the device
    has an index (``"cpu:0"``: a copy, as in PyTorch); a new dtype is the differentiable
    ``Cast``. Every device but the CPU raises ``numnet.devices.DeviceUnavailableError``.
    ``non_blocking`` has no effect: a copy on the CPU is synchronous, as in PyTorch.

    Example:
        >>> import numnet
        >>> x = numnet.ones(2)
        >>> x.to("cpu") is x, x.to(None) is x, x.to("cpu", numnet.float64).dtype
        (True, True, dtype('float64'))
    """
    device, dtype = to_arguments(args, device, dtype)
    dtype = x.data.dtype if dtype is None else dtype
    # NOTE: PyTorch copies for "cpu:0" (an index), though its tensors' device is "cpu"
    copy = copy or (device is not None and device.index is not None)
    if dtype == x.data.dtype and not copy:
        return x
    if dtype == x.data.dtype:
        return Cast(dtype)(x)  # a copy, still in the graph
    return cast(x, dtype)


def to_arguments(args: tuple, device=None, dtype=None) -> tuple:
    """``(device, dtype)`` that a ``to(*args, device=, dtype=)`` call asks for (None: keep).

    Also ``Module.to``'s parser. Raises TypeError for a combination PyTorch refuses and
    ``DeviceUnavailableError`` for any device but the CPU.
    """
    if len(args) > 2 or (args and isinstance(args[0], Tensor) and len(args) > 1):
        raise TypeError(f"to() takes a device and a dtype, a dtype, or a tensor; got "
                        f"{len(args)} positional arguments")
    first = args[0] if args else None
    if isinstance(first, Tensor):
        if device is not None or dtype is not None:
            raise TypeError("to(other) takes no device= or dtype=: they come from other")
        dtype = first.data.dtype
    elif first is None or _is_device(first):
        if first is not None and device is not None:
            raise TypeError("to() got multiple values for argument 'device'")
        if len(args) > 1 and dtype is not None:
            raise TypeError("to() got multiple values for argument 'dtype'")
        device = first if first is not None else device
        dtype = args[1] if len(args) > 1 else dtype
    else:
        if len(args) > 1:
            raise TypeError(f"to(dtype) takes one dtype, got a second argument {args[1]!r}")
        if dtype is not None:
            raise TypeError("to() got multiple values for argument 'dtype'")
        dtype = first
    devices.check(device)
    device = None if device is None else devices.device(device)
    return device, None if dtype is None else numpy.dtype(dtype)
