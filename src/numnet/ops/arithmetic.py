"""Arithmetic: ``+ - * / ** neg``, matrix product, ``linear`` and dtype casts.

Binary ops broadcast like NumPy; their backward undoes broadcasting with ``sum_to``. A number
operand takes the dtype of the Tensor it meets (``as_operands``), as PyTorch's scalars do.
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet.autograd import Function
from numnet.ops._util import as_operands, as_tensor, sum_to
from numnet.tensor import Tensor


class Add(Function):
    """``y = a + b``;  ``ga = gy``, ``gb = gy`` (summed over broadcast axes)."""

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, gy):
        return sum_to(gy, self.shapes[0]), sum_to(gy, self.shapes[1])


def add(a, b) -> Tensor:
    """``a + b`` with broadcasting."""
    return Add()(*as_operands(a, b))


class Sub(Function):
    """``y = a - b``;  ``ga = gy``, ``gb = -gy``."""

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        gb = -sum_to(gy, self.shapes[1]) if self.needs_input_grad[1] else None
        return sum_to(gy, self.shapes[0]), gb


def sub(a, b) -> Tensor:
    """``a - b`` with broadcasting."""
    return Sub()(*as_operands(a, b))


class Mul(Function):
    """``y = a * b``;  ``ga = gy * b``, ``gb = gy * a``."""

    def forward(self, a, b):
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.shapes = (a.shape, b.shape)
        return a * b

    def backward(self, gy):
        ga = sum_to(gy * self.b, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = sum_to(gy * self.a, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


def mul(a, b) -> Tensor:
    """``a * b`` with broadcasting."""
    return Mul()(*as_operands(a, b))


class Div(Function):
    """``y = a / b``;  ``ga = gy / b``, ``gb = -gy * a / b**2``."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def div(a, b) -> Tensor:
    """``a / b`` with broadcasting (true division)."""
    return Div()(*as_operands(a, b))


class Neg(Function):
    """``y = -x``;  ``gx = -gy``."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def neg(x) -> Tensor:
    """``-x``."""
    return Neg()(as_tensor(x))


class Pow(Function):
    """``y = a ** b``;  ``ga = gy * b * a**(b-1)``,  ``gb = gy * y * ln(a)``.

    ``ga`` is 0 where b == 0 (also at a == 0, where the formula gives ``0 * inf``).
    ``gb`` is only computed when the exponent requires grad; it is ``nan`` where a < 0,
    and 0 where a == 0 and b >= 0 (the limit), like PyTorch.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        with numpy.errstate(divide="ignore", invalid="ignore"):
            self.y = a ** b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gb = None
        if self.needs_input_grad[0]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                ga = numpy.where(b == 0, 0, gy * b * a ** (b - 1)).astype(gy.dtype, copy=False)
            ga = sum_to(ga, a.shape)
        if self.needs_input_grad[1]:
            with numpy.errstate(divide="ignore", invalid="ignore"):
                log_a = numpy.where((a == 0) & (b >= 0), 0, numpy.log(a))
            gb = sum_to(gy * self.y * log_a, b.shape)
        return ga, gb


def pow(a, b) -> Tensor:  # noqa: A001 - PyTorch's name
    """``a ** b`` with broadcasting."""
    return Pow()(*as_operands(a, b))


class MatMul(Function):
    """``y = a @ b`` (NumPy/PyTorch matmul rules: 1-D promotion, batched and broadcast).

    For 2-D operands ``ga = gy @ b.T`` and ``gb = a.T @ gy``; batch dimensions broadcast and
    are summed back with ``sum_to``; 1-D operands are promoted and squeezed back.
    """

    def forward(self, a, b):
        self.a = a if self.needs_input_grad[1] else None
        self.b = b if self.needs_input_grad[0] else None
        self.shapes = (a.shape, b.shape)
        return backend.matmul(a, b)

    def backward(self, gy):
        a_shape, b_shape = self.shapes
        ga = gb = None
        # promote 1-D operands as matmul does, so the general formula applies
        gy2 = gy
        if len(b_shape) == 1:
            gy2 = gy2[..., None]
        if len(a_shape) == 1:
            gy2 = numpy.expand_dims(gy2, -2)
        if self.needs_input_grad[0]:
            b2 = self.b if len(b_shape) > 1 else self.b[:, None]
            ga = backend.matmul(gy2, numpy.swapaxes(b2, -1, -2))
            if len(a_shape) == 1:
                ga = ga[..., 0, :]
            ga = sum_to(ga, a_shape)
        if self.needs_input_grad[1]:
            a2 = self.a if len(a_shape) > 1 else self.a[None, :]
            gb = backend.matmul(numpy.swapaxes(a2, -1, -2), gy2)
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

    def backward(self, gy):
        needs = self.needs_input_grad
        gx = gW = gb = None
        if needs[0]:
            gx = backend.matmul(gy, self.weight)
        rows = gy.reshape(-1, gy.shape[-1]) if gy.ndim != 2 else gy
        if needs[1]:
            x = self.x.reshape(-1, self.x.shape[-1]) if self.x.ndim != 2 else self.x
            gW = backend.matmul(rows.T, x)
        if len(needs) > 2 and needs[2]:
            gb = rows.sum(axis=0)
        return gx, gW, gb


def linear(x, weight, bias=None) -> Tensor:
    """``y = x W^T + b`` (weight of shape (out_features, in_features), like PyTorch), as
    one op (``Linear``)."""
    if bias is None:
        return Linear()(as_tensor(x), as_tensor(weight))
    return Linear()(as_tensor(x), as_tensor(weight), as_tensor(bias))


class Cast(Function):
    """``y = x`` converted to ``dtype``; ``gx = gy`` converted back."""

    def __init__(self, dtype):
        self.dtype = numpy.dtype(dtype)

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype)


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
    if not backend.is_floating(dtype):
        return Tensor(x.data.astype(dtype), _raw=True)  # no gradient flows to integers
    return Cast(dtype)(x)


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
