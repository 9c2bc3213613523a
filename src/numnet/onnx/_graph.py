"""The optional ``onnx`` package, and the builder that collects an exported graph's nodes.

``onnx`` (and ``onnxruntime``, which the tests run exported models in) are the extra
``numnet[onnx]``: ``import numnet`` never imports them; ``require_onnx()`` does, at the first
export or load, with a one-line ImportError when they are missing.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy

INT64_MAX = numpy.iinfo(numpy.int64).max


class ExportError(RuntimeError):
    """An op or an argument that numnet cannot write as ONNX (nothing is written)."""

OPSETS = range(17, 24)
"""The ONNX opsets numnet writes (``opset_version``) and reads (a model's default domain)."""


def require_onnx():
    """The ``onnx`` module, or an ImportError telling how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError("numnet.onnx needs the onnx package: pip install numnet[onnx] "
                          "(or pip install onnx onnxruntime)") from None
    return onnx


@dataclasses.dataclass
class Value:
    """An input of a recorded op as the exporter sees it: its ONNX name, the shape and dtype
    it had in the traced forward pass, its array, and whether it is a ``Constant`` (not a
    graph input, parameter, buffer or op output), and its shape in the second trace (made
    when there are dynamic axes, with each of them one longer; None without one)."""

    name: str
    shape: tuple
    dtype: numpy.dtype
    array: numpy.ndarray | None = None
    constant: bool = False
    other_shape: tuple | None = None  # its shape in the trace with larger dynamic axes

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Builder:
    """The nodes of a graph under construction, in order, and fresh names for its values.

    ``node(op, inputs, outputs, **attributes)`` appends one node; ``const(array)`` a
    ``Constant`` node holding an array (numnet writes constants that are not parameters or
    buffers as ``Constant`` nodes, so ``numnet.onnx.load`` keeps them out of the parameters).
    """

    def __init__(self, onnx, opset: int) -> None:
        self.onnx = onnx
        self.opset = opset
        self.nodes = []
        self.initializers = {}  # name -> array: the parameters and buffers
        self.buffers = {}  # id(array) -> name, for ops holding a buffer's array (BatchNorm)
        self.shapes = {}  # value name -> its traced shape, for the ops' outputs
        self.other_shapes = {}  # value name -> its shape in the second trace
        self.inputs = []  # (example array, graph input name)
        self.twin = None  # the op being written, as the second trace recorded it (or None)
        self._counts = collections.Counter()

    def output_shape(self, name: str) -> tuple:
        """The traced shape of the op output ``name``."""
        return self.shapes[name]

    def input_of(self, array: numpy.ndarray) -> str | None:
        """The graph input an op holds as an array (embedding's indices), as int64, or None.

        The array is the input's own, or, cast on the way, has its shape and values."""
        for example, name in self.inputs:
            same = array is example or (array.shape == example.shape and
                                        numpy.array_equal(array, example))
            if same:
                if example.dtype == array.dtype:
                    return name
                to = self.onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
                return self.node("Cast", [name], to=to)
        return None

    def check_fixed(self, op: str, array: numpy.ndarray, twin_array) -> None:
        """Refuse an array an op holds (an index) that the second trace saw differently:
        it comes from the input, outside the graph."""
        if twin_array is not None and not (numpy.shape(array) == numpy.shape(twin_array) and
                                           numpy.array_equal(array, twin_array)):
            raise ExportError(f"numnet.onnx.export: {op} holds an index array computed from "
                              "the input outside the recorded graph (by integer ops or "
                              "under no_grad)")

    def buffer(self, array: numpy.ndarray) -> str:
        """The initializer of the buffer whose array an op holds, else a constant of it."""
        name = self.buffers.get(id(array))
        if name is None:
            return self.const(array)
        self.initializers[name] = array
        return name

    def fresh(self, hint: str) -> str:
        self._counts[hint] += 1
        return f"/{hint}_{self._counts[hint]}"

    def node(self, op: str, inputs, outputs=None, **attributes):
        """Append ``op`` and return its output name (its list of names when ``outputs`` is a
        list of several, or an int count)."""
        if outputs is None:
            outputs = [self.fresh(op)]
        elif isinstance(outputs, int):
            outputs = [self.fresh(op) for _ in range(outputs)]
        elif isinstance(outputs, str):
            outputs = [outputs]
        name = self.fresh(f"{op}_node")[1:]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), list(outputs),
                                                     name=name, **attributes))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def const(self, array, dtype=None, output=None) -> str:
        """A ``Constant`` node holding ``array`` (as ``dtype`` when given)."""
        array = numpy.asarray(array, dtype=dtype)
        tensor = self.onnx.numpy_helper.from_array(array)
        return self.node("Constant", [], output or self.fresh("Constant"), value=tensor)

    def ints(self, values) -> str:
        """A 1-D int64 constant: shapes, axes, pads, split sizes."""
        return self.const(numpy.asarray(list(values), dtype=numpy.int64).reshape(-1))

    def scalar(self, number, dtype) -> str:
        """A 0-d constant of ``dtype`` (a scale, an epsilon, a bound)."""
        return self.const(numpy.asarray(number, dtype=dtype))

    def reduce(self, op: str, x: str, axes, keepdims: bool, output=None) -> str:
        """``Reduce*`` over ``axes``: since opset 18 (13 for ReduceSum) the axes are an
        input, before it an attribute."""
        axes = [int(a) for a in axes]
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], output, keepdims=int(keepdims))
        return self.node(op, [x], output, axes=axes, keepdims=int(keepdims))
