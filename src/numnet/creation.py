"""Tensor creation: ``tensor as_tensor zeros ones full empty *_like randn rand randint arange
linspace logspace eye``, and the ``Tensor.new_*`` methods (the tensor's dtype by default).

Each takes PyTorch's ``device=``: ``None``, ``"cpu"`` or ``numnet.device("cpu")``; any other
device raises ``numnet.devices.DeviceUnavailableError`` (numnet runs on the CPU only).
"""

from __future__ import annotations

import numpy

from numnet import backend, devices
from numnet import random as nn_random
from numnet.tensor import Tensor


def _dtype(dtype):
    return backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)


def _size(size, keyword=None):
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(size=(2, 3))`` all as ``(2, 3)``."""
    if keyword is not None:
        if size:
            raise TypeError("got the size both positionally and as size=")
        size = (keyword,)
    if len(size) == 1 and not isinstance(size[0], (int, numpy.integer)):
        size = tuple(size[0])
    for n in size:
        if not isinstance(n, (int, numpy.integer)) or isinstance(n, bool):
            raise TypeError(f"size must be a sequence of ints, got an element of type "
                            f"{type(n).__name__}")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                               f"{list(size)}")
    return tuple(int(n) for n in size)


def _new(array, requires_grad, device=None) -> Tensor:
    devices.check(device)
    return Tensor(array, _raw=True).requires_grad_(requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    dtype rules (PyTorch's): Python floats get the default dtype (float32), NumPy arrays keep
    theirs, Python ints become int64, bools stay bool.

    Example:
        >>> tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        tensor([[1., 2.],
                [3., 4.]], requires_grad=True)
    """
    devices.check(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (``torch.as_tensor``): a Tensor or a
    NumPy array of the wanted dtype comes back without a copy; anything else is converted
    like ``tensor(data, dtype)``."""
    devices.check(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, numpy.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor(data, _raw=True)
    return Tensor(data, dtype=dtype)


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a numnet Tensor."""
    return isinstance(obj, Tensor)


def numel(input) -> int:  # noqa: A002 - PyTorch's name
    """The number of elements of ``input``."""
    return input.numel()


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (no copy), like ``torch.from_numpy``."""
    return Tensor(numpy.asarray(array), _raw=True)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False,
          **kwargs) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size(size, _size_keyword(kwargs))
    return _new(numpy.zeros(shape, _dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """A tensor of ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    shape = _size(size, _size_keyword(kwargs))
    return _new(numpy.ones(shape, _dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """An uninitialised tensor (PyTorch's ``empty``; numnet's holds zeros)."""
    shape = _size(size, _size_keyword(kwargs))
    return _new(numpy.zeros(shape, _dtype(dtype)), requires_grad, device)


def _size_keyword(kwargs: dict):
    """The ``size=`` keyword (PyTorch's name, which ``*size`` cannot take directly)."""
    size = kwargs.pop("size", None)
    kwargs.pop("layout", None)
    kwargs.pop("pin_memory", None)
    if kwargs:
        raise TypeError(f"got an unexpected keyword argument {next(iter(kwargs))!r}")
    return size


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    if dtype is None and isinstance(fill_value, bool):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = numpy.int64
    return _new(numpy.full(_size((size,)), fill_value, _dtype(dtype)), requires_grad, device)


def _like_dtype(input, dtype) -> numpy.dtype:
    return input.dtype if dtype is None else numpy.dtype(dtype)


def zeros_like(input, dtype=None, device=None, requires_grad: bool = False,  # noqa: A002
               memory_format=None) -> Tensor:
    """Zeros shaped like ``input`` (its dtype unless ``dtype``)."""
    return _new(numpy.zeros(input.shape, _like_dtype(input, dtype)), requires_grad, device)


def ones_like(input, dtype=None, device=None, requires_grad: bool = False,  # noqa: A002
              memory_format=None) -> Tensor:
    """Ones shaped like ``input``."""
    return _new(numpy.ones(input.shape, _like_dtype(input, dtype)), requires_grad, device)


def empty_like(input, dtype=None, device=None, requires_grad: bool = False,  # noqa: A002
               memory_format=None) -> Tensor:
    """An uninitialised tensor shaped like ``input`` (numnet's holds zeros)."""
    return _new(numpy.zeros(input.shape, _like_dtype(input, dtype)), requires_grad, device)


def full_like(input, fill_value, dtype=None, device=None,  # noqa: A002
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``fill_value`` shaped like ``input``, in its dtype (``full_like(int, 2.5)`` holds 2)."""
    array = numpy.full(input.shape, fill_value, _like_dtype(input, dtype))
    return _new(array, requires_grad, device)


def rand_like(input, dtype=None, device=None, requires_grad: bool = False,  # noqa: A002
              memory_format=None, generator=None) -> Tensor:
    """Uniform [0, 1) samples shaped like ``input`` (a floating dtype only)."""
    dtype = _floating_like(input, dtype, "check_uniform_bounds")
    return _draw("random", input.shape, dtype, device, requires_grad, generator)


def randn_like(input, dtype=None, device=None, requires_grad: bool = False,  # noqa: A002
               memory_format=None, generator=None) -> Tensor:
    """N(0, 1) samples shaped like ``input`` (a floating dtype only)."""
    dtype = _floating_like(input, dtype, "normal_kernel_cpu")
    return _draw("standard_normal", input.shape, dtype, device, requires_grad, generator)


def randint_like(input, low=0, high=None, dtype=None, device=None,  # noqa: A002
                 requires_grad: bool = False, memory_format=None, generator=None) -> Tensor:
    """Integers uniform in [low, high) shaped like ``input``, in its dtype;
    ``randint_like(input, high)`` starts at 0."""
    if high is None:
        low, high = 0, low
    rng = nn_random.numpy_generator(generator)
    array = rng.integers(low, high, size=input.shape).astype(_like_dtype(input, dtype))
    return _new(array, requires_grad, device)


def _floating_like(input, dtype, kernel: str) -> numpy.dtype:
    dtype = _like_dtype(input, dtype)
    if not backend.is_floating(dtype):
        raise NotImplementedError(f'"{kernel}" not implemented for {dtype}: random floats '
                                  "need a floating dtype")
    return dtype


def _draw(method: str, size, dtype, device, requires_grad, generator) -> Tensor:
    """Draw with ``numpy.random.Generator.<method>`` in float32/float64 directly."""
    dtype = _dtype(dtype)
    draw = getattr(nn_random.numpy_generator(generator), method)
    draw_dtype = dtype if dtype in (numpy.float32, numpy.float64) else numpy.float64
    array = draw(_size((size,)), dtype=draw_dtype).astype(dtype, copy=False)
    return _new(array, requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad: bool = False,
          generator=None, **kwargs) -> Tensor:
    """Samples of the standard normal N(0, 1) from numnet's generator."""
    shape = _size(size, _size_keyword(kwargs))
    return _draw("standard_normal", shape, dtype, device, requires_grad, generator)


def rand(*size, dtype=None, device=None, requires_grad: bool = False,
         generator=None, **kwargs) -> Tensor:
    """Samples of the uniform distribution on [0, 1) from numnet's generator."""
    shape = _size(size, _size_keyword(kwargs))
    return _draw("random", shape, dtype, device, requires_grad, generator)


def randint(low, high=None, size=(), dtype=numpy.int64, generator=None,
            device=None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size=...)`` starts at 0)."""
    devices.check(device)
    if high is None:
        low, high = 0, low
    rng = nn_random.numpy_generator(generator)
    return Tensor(rng.integers(low, high, size=_size((size,)), dtype=dtype), _raw=True)


def randperm(n: int, generator=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    devices.check(device)
    rng = nn_random.numpy_generator(generator)
    return Tensor(rng.permutation(n).astype(numpy.int64), _raw=True)


def arange(start, end=None, step=1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``start + i * step`` for ``i = 0 .. ceil((end - start) / step) - 1``: int64 for integer
    arguments, else the default dtype.

    The values are PyTorch's to the last bit (NumPy's float ``arange`` adds ``step`` up in
    the output dtype instead): see ``_torch_arange``. An integer ``dtype`` with float
    arguments truncates ``start`` and ``step`` first, as PyTorch's integer kernel does.
    """
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if dtype is None:
        integral = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = numpy.int64 if integral else backend.get_default_dtype()
    dtype = numpy.dtype(dtype)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype == numpy.int64:  # PyTorch truncates the arguments first, then counts
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise RuntimeError("step must be nonzero")
    if all(isinstance(v, (int, numpy.integer)) for v in (start, end, step)):
        n = -(-(int(end) - int(start)) // int(step))
    else:
        n = int(numpy.ceil((float(end) - float(start)) / float(step)))
    if dtype.kind in "iub":
        values = int(start) + int(step) * numpy.arange(n, dtype=numpy.int64)
    else:
        values = _torch_arange(float(start), float(step), n, dtype)
    return _new(values.astype(dtype), requires_grad, device)


def _torch_arange(start: float, step: float, n: int, dtype) -> numpy.ndarray:
    """PyTorch's CPU arange for a floating dtype, rounding for rounding.

    Its kernel computes in float64: element ``i`` is ``fma(step, i, start)`` rounded once to
    ``dtype``, except in runs of two SIMD vectors (``32 // itemsize`` elements each), where a
    vector starting at element ``b`` holds ``fma(j, step, (dtype) fma(step, b, start))``.
    Only the last elements that do not fill two vectors take the first formula. (Verified
    bit for bit against PyTorch 2.13 on one thread's worth of elements; PyTorch splits
    arrays over 32768 elements between threads, which can move the vector boundaries.)
    """
    i = numpy.arange(n, dtype=numpy.float64)
    full_step = numpy.full(n, step)
    values = _fma(full_step, i, numpy.full(n, start)).astype(dtype)
    width = max(32 // numpy.dtype(dtype).itemsize, 1)
    vectorized = n // (2 * width) * 2 * width
    if vectorized:
        lane = i[:vectorized] % width
        base = values[:vectorized] if width == 1 else values[:vectorized:width].repeat(width)
        lanes = _fma(lane, full_step[:vectorized], base.astype(numpy.float64))
        values[:vectorized] = lanes.astype(dtype)
    return values


def linspace(start, end, steps: int, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    An integer ``dtype`` truncates toward zero, as PyTorch does (NumPy floors): ``start`` and
    ``end`` first, then each value of PyTorch's formula (float64 ``step``; the first half
    counted from ``start``, the second from ``end``), so the same rounding gives the same
    integers.
    """
    dtype = _dtype(dtype)
    if dtype.kind in "iu":
        return _new(_integer_linspace(start, end, steps, dtype), requires_grad, device)
    return _new(numpy.linspace(start, end, steps, dtype=dtype), requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``: ``steps`` values from ``base**start`` to
    ``base**end``, evenly spaced in the exponent (computed in float64, then cast)."""
    exponents = numpy.linspace(float(start), float(end), steps, dtype=numpy.float64)
    values = numpy.power(float(base), exponents)
    dtype = _dtype(dtype)
    if dtype.kind in "iu":
        values = numpy.trunc(values)
    return _new(values.astype(dtype), requires_grad, device)


def _integer_linspace(start, end, steps: int, dtype) -> numpy.ndarray:
    """PyTorch's CPU linspace for an integer dtype: ``start + step * i`` below ``steps // 2``,
    ``end - step * (steps - 1 - i)`` from there, each rounded once (PyTorch's kernel is
    compiled to fused multiply-adds) and truncated toward zero."""
    start, end = int(start), int(end)
    if steps == 1:
        return numpy.array([start], dtype)
    i = numpy.arange(steps, dtype=numpy.float64)
    step = (float(end) - float(start)) / max(steps - 1, 1)
    first = i < steps // 2
    values = _fma(numpy.where(first, step, -step), numpy.where(first, i, steps - 1 - i),
                  numpy.where(first, float(start), float(end)))
    return numpy.trunc(values).astype(dtype)


def _fma(a, b, c) -> numpy.ndarray:
    """``a * b + c`` with a single rounding (error-free product and sum, float64 arrays)."""
    # NOTE: Dekker's split and Knuth's two-sum; exact unless a product overflows
    split = 134217729.0  # 2 ** 27 + 1
    product = a * b
    a_high = a * split - (a * split - a)
    b_high = b * split - (b * split - b)
    a_low, b_low = a - a_high, b - b_high
    product_error = (((a_high * b_high - product) + a_high * b_low + a_low * b_high)
                     + a_low * b_low)
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (product_error + sum_error)


def eye(n: int, m: int | None = None, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    return _new(numpy.eye(n, m, dtype=_dtype(dtype)), requires_grad, device)


# ---------------------------------------------------------------------- Tensor.new_*
def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``Tensor.new_tensor``: a copy of ``data`` in this tensor's dtype (unless ``dtype``)."""
    return tensor(data, self.dtype if dtype is None else dtype, device, requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``Tensor.new_zeros``: zeros of ``size`` in this tensor's dtype (unless ``dtype``)."""
    return zeros(*size, dtype=_like_dtype(self, dtype), device=device,
                 requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``Tensor.new_ones``: ones in this tensor's dtype."""
    return ones(*size, dtype=_like_dtype(self, dtype), device=device,
                requires_grad=requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``Tensor.new_empty``: an uninitialised tensor (zeros) in this tensor's dtype."""
    return empty(*size, dtype=_like_dtype(self, dtype), device=device,
                 requires_grad=requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``Tensor.new_full``: ``fill_value`` everywhere, in this tensor's dtype."""
    return full(size, fill_value, dtype=_like_dtype(self, dtype), device=device,
                requires_grad=requires_grad)
