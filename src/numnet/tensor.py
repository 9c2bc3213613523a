"""``Tensor``: an array, its gradient, and the node of the graph that made it.

The array lives in ``.data`` (a NumPy array; PyTorch's ``.data`` is a detached tensor instead,
use ``.detach()`` for that); ``backward()`` hands the graph to ``numnet.autograd.run_backward``.

The operators and the methods that run an op (``a * b``, ``x.sum()``, ``x.reshape(...)``,
``x.to(dtype)``, ...) are not defined here: the ops import this module, so
``numnet.ops.tensor_methods`` attaches them to the class, one line each
(``Tensor.__mul__ = mul``); ``import numnet`` imports it, so every Tensor has them.

Example:
    >>> import numnet
    >>> w = numnet.tensor(-2.0, requires_grad=True)
    >>> f = w * 5.0 + 3.0
    >>> f.backward()
    >>> w.grad
    tensor(5.)
"""

from __future__ import annotations

import weakref

import numpy

from numnet import autograd, backend, devices
from numnet.tensor_repr import tensor_repr


def _to_array(data, dtype=None) -> numpy.ndarray:
    """Convert ``data`` to an array with PyTorch's dtype rules.

    Python floats (and lists of them) get the default dtype; NumPy arrays keep theirs;
    Python ints become int64 and bools stay bool. ``dtype`` overrides all of that.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return numpy.array(data, dtype=numpy.dtype(dtype))
    if isinstance(data, (numpy.ndarray, numpy.generic)):
        return numpy.array(data)
    array = numpy.array(data)
    if array.dtype.kind == "f":
        return array.astype(backend.get_default_dtype())
    if array.dtype.kind in "iu":
        return array.astype(numpy.int64)
    if array.dtype.kind == "b":
        return array
    raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {array.dtype}")


_TENSOR_TYPES = {
    "FloatTensor": numpy.dtype(numpy.float32), "DoubleTensor": numpy.dtype(numpy.float64),
    "HalfTensor": numpy.dtype(numpy.float16), "LongTensor": numpy.dtype(numpy.int64),
    "IntTensor": numpy.dtype(numpy.int32), "ShortTensor": numpy.dtype(numpy.int16),
    "CharTensor": numpy.dtype(numpy.int8), "ByteTensor": numpy.dtype(numpy.uint8),
    "BoolTensor": numpy.dtype(numpy.bool_),
}
_TENSOR_TYPE_NAMES = {dtype: name for name, dtype in _TENSOR_TYPES.items()}


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    Args:
        data: array-like. Copied; see ``numnet.tensor`` for the dtype rules.
        dtype: optional dtype overriding the inferred one.
        requires_grad: record operations on this tensor so ``backward`` can fill ``.grad``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_creator", "_output_index",
                 "_retains_grad", "name", "__weakref__")
    __array_priority__ = 1000  # so that ndarray <op> Tensor dispatches to the Tensor

    def __init__(self, data, dtype=None, requires_grad: bool = False, *, _raw: bool = False):
        self.data = data if _raw else _to_array(data, dtype)
        self.grad = None
        self.requires_grad = False
        self._creator = None
        self._output_index = 0
        self._retains_grad = False
        self.name = None
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(array: numpy.ndarray) -> "Tensor":
        """A new plain Tensor holding ``array`` itself (no copy, no dtype rules).

        ``numnet.autograd`` makes op outputs and gradients with it, reached through an input
        Tensor (``inputs[0]._wrap``), so it needs no import of this module.
        """
        return Tensor(array, _raw=True)

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> numpy.dtype:
        return self.data.dtype

    @property
    def device(self) -> devices.device:
        """``device(type='cpu')``: numnet keeps every tensor in NumPy, on the CPU."""
        return devices.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def is_cpu(self) -> bool:
        return True

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    @property
    def grad_fn(self):
        """The Function that produced this tensor (``None`` for leaves)."""
        return self._creator

    @property
    def is_leaf(self) -> bool:
        return self._creator is None

    def size(self, dim=None):
        """The shape, or its length along ``dim``."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> numpy.ndarray:
        """The array itself (shared, like ``torch.Tensor.numpy``); errors if it needs grad."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted "
                               "to Scalar")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.data.item())

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only, floating dtypes only)."""
        if requires_grad and not backend.is_floating(self.data.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients, "
                               f"got {self.data.dtype}")
        if not requires_grad and self._creator is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    def register_post_accumulate_grad_hook(self, hook) -> autograd.HookHandle:
        """Call ``hook(self)`` after each backward has accumulated this leaf's ``.grad``
        (see ``numnet.autograd.register_post_accumulate_grad_hook``)."""
        return autograd.register_post_accumulate_grad_hook(self, hook)

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's array, cut from the graph."""
        return Tensor(self.data, _raw=True)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self), shaped like self. May be omitted only when self
                holds a single element (then it is 1).
            retain_graph: keep the values saved for backward, so backward can run again.
            create_graph: make the accumulated gradients Tensors with a graph of their own,
                differentiable again (higher-order derivatives); ``retain_graph`` then
                defaults to True.
            inputs: only these tensors (leaves or intermediate results) get their
                gradient accumulated into ``.grad``; the rest of the graph's leaves keep
                theirs.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not "
                               "have a grad_fn")
        create_graph = bool(create_graph)
        retain_graph = create_graph if retain_graph is None else bool(retain_graph)
        gradient = autograd.root_gradient(self, gradient, create_graph)
        if inputs is None:
            autograd.run_backward(self, gradient, retain_graph, create_graph)
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        sums = autograd.gradients([self], [gradient], inputs, retain_graph, create_graph)
        for tensor, total in zip(inputs, sums):
            if total is not None:
                autograd._accumulate_leaf(tensor, total)

    def _root_gradient(self, gradient) -> numpy.ndarray:
        """``gradient`` (None for a one-element tensor, a Tensor or an array-like) as the
        array shaped like ``self`` that a backward from ``self`` starts with."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor "
                    f"has shape {self.data.shape}: pass gradient= (shaped like it) or reduce "
                    "it first, e.g. with .sum()")
            return numpy.ones_like(self.data)
        # no copy: backward never writes into gy, and a leaf copies its first gradient
        if isinstance(gradient, Tensor):
            gradient = gradient.data
        if type(gradient) is not numpy.ndarray or gradient.dtype != self.data.dtype:
            gradient = _to_array(gradient).astype(self.data.dtype, copy=False)
        if gradient.shape != self.data.shape:
            raise RuntimeError(f"gradient has shape {gradient.shape}, but the tensor has "
                               f"shape {self.data.shape}")
        return gradient

    # ------------------------------------------------------------------ in place
    # The in-place methods (``add_ mul_ sigmoid_ masked_fill_ ...``) are in
    # ``numnet.ops.inplace`` (they run ops, which this module cannot import), attached by
    # ``numnet.ops.tensor_methods``. The two steps of PyTorch's rule that need only the
    # Tensor are here.
    def _inplace_records(self, *operands) -> bool:
        """Which of PyTorch's three cases an in-place op on ``self`` with ``operands`` is in.

        False: write the result into ``self.data`` (grad mode is off, or neither ``self`` nor
        an operand requires grad). True: record the op and ``_rebase`` onto its output
        (``self`` is a non-leaf in the graph, or an operand requires grad). RuntimeError:
        ``self`` is a leaf that requires grad, in grad mode.
        """
        if not autograd.is_grad_enabled():
            return False
        if self.requires_grad:
            if self._creator is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            return True
        return any(isinstance(o, Tensor) and o.requires_grad for o in operands)

    def _rebase(self, out: "Tensor") -> "Tensor":
        """Make ``self`` the graph node ``out`` (an op's result on the old ``self``), as
        PyTorch's in-place ops do: ``self`` takes ``out``'s array, creator and flags.

        ``out.data`` is a new array, so what earlier ops saved from the old ``self`` stays
        intact for their backward. The one difference from PyTorch: a view of ``self`` made
        before does not see the new values (PyTorch's views share one storage).
        """
        old_creator, old_index = self._creator, self._output_index
        if old_creator is not None:
            # the old node's output is no longer self (retain_grad follows self, as in PyTorch)
            refs = list(old_creator.outputs)
            refs[old_index] = weakref.ref(out)
            old_creator.outputs = tuple(refs)
        self.data = out.data
        self.requires_grad = out.requires_grad
        self._creator = out._creator
        self._output_index = out._output_index
        if out._creator is not None:
            refs = list(out._creator.outputs)
            refs[out._output_index] = weakref.ref(self)
            out._creator.outputs = tuple(refs)
        return self

    # ------------------------------------------------------------------ device and dtype
    # ``to(device, dtype)``, the differentiable cast, is ``numnet.ops.arithmetic.to`` (attached
    # by ``numnet.ops.tensor_methods``)
    def cpu(self) -> "Tensor":
        """This tensor itself: it is on the CPU already (as ``torch.Tensor.cpu`` there)."""
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> "Tensor":
        """Raise ``DeviceUnavailableError``: numnet runs on the CPU only."""
        if isinstance(device, int):
            device = f"cuda:{device}"
        raise devices.unavailable(device or "cuda")

    def float(self) -> "Tensor":
        """``self.to(float32)``."""
        return self.to(numpy.float32)

    def double(self) -> "Tensor":
        """``self.to(float64)``."""
        return self.to(numpy.float64)

    def half(self) -> "Tensor":
        """``self.to(float16)``."""
        return self.to(numpy.float16)

    def long(self) -> "Tensor":
        """``self.to(int64)``."""
        return self.to(numpy.int64)

    def int(self) -> "Tensor":
        """``self.to(int32)``."""
        return self.to(numpy.int32)

    def short(self) -> "Tensor":
        """``self.to(int16)``."""
        return self.to(numpy.int16)

    def char(self) -> "Tensor":
        """``self.to(int8)``."""
        return self.to(numpy.int8)

    def byte(self) -> "Tensor":
        """``self.to(uint8)``."""
        return self.to(numpy.uint8)

    def bool(self) -> "Tensor":
        """``self.to(bool)``."""
        return self.to(numpy.bool_)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without ``dtype``, the type's name as PyTorch spells it (``"torch.FloatTensor"``, so
        a script comparing it still works); with one, ``self.to(dtype)`` (a dtype, or a name
        such as ``"torch.LongTensor"``)."""
        if dtype is None:
            return "torch." + _TENSOR_TYPE_NAMES.get(self.data.dtype, "Tensor")
        if isinstance(dtype, str) and dtype.split(".")[-1] in _TENSOR_TYPES:
            dtype = _TENSOR_TYPES[dtype.split(".")[-1]]
        return self.to(dtype)

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating one."""
        return backend.is_floating(self.data.dtype)

    @property
    def itemsize(self) -> int:
        return self.data.itemsize

    def element_size(self) -> int:
        return self.data.itemsize

    def __repr__(self) -> str:
        return tensor_repr(self)
