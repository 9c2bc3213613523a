"""``numnet.onnx.load``: an ONNX model as a numnet ``Module`` that runs its graph.

The graph's nodes run in order, each through ``_import_ops.IMPORTERS`` (numnet's own ops,
so gradients flow and the model can be fine-tuned). The initializers become the module's
state: float ones are ``Parameter``s, except the running statistics a
``BatchNormalization`` reads, which are buffers like ``BatchNorm``'s; integer ones are
buffers too. A dotted initializer name becomes a path of sub-modules
(``features.0.weight``: the module ``features``, its sub-module ``0``, its parameter
``weight``), so a model exported by numnet comes back with the ``state_dict`` keys it had.
Every operator is checked when the file is read: an unsupported one is a one-line
``UnsupportedError`` naming it and its node.
"""

from __future__ import annotations

import os

import numpy

from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.onnx import _import_ops, _recurrent
from numnet.onnx._graph import OPSETS, require_onnx
from numnet.onnx._import_ops import IMPORTERS, UnsupportedError
from numnet.tensor import Tensor

MULTI_OUTPUT = {**_import_ops.MULTI_OUTPUT, **_recurrent.IMPORTERS}
"""The operators whose output count comes from the node: ``run(xs, attributes, count)``."""

_STATISTICS = {"BatchNormalization": (3, 4)}
"""The inputs of an operator that are running statistics (buffers, not parameters)."""


def _attributes(onnx, node) -> dict:
    result = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, onnx.TensorProto):
            value = onnx.numpy_helper.to_array(value)
        elif isinstance(value, list):
            value = [v.decode() if isinstance(v, bytes) else v for v in value]
        result[attribute.name] = value
    return result


def _node_label(node, index: int) -> str:
    return f"node {index} {node.name!r}" if node.name else f"node {index}"


class _Container(Module):
    """A plain module holding part of an imported model's parameters (a dotted name's
    path), so their ``state_dict`` keys are the initializers' names."""


class OnnxModule(Module):
    """An ONNX graph run with numnet ops (made by ``numnet.onnx.load``).

    ``forward(*inputs)`` takes the graph's inputs in order (``input_names``) and returns its
    output, or a tuple of its outputs (``output_names``).
    """

    def __init__(self, proto) -> None:
        super().__init__()
        onnx = require_onnx()
        graph = proto.graph
        domains = {o.domain or "ai.onnx": o.version for o in proto.opset_import}
        self.opset_version = domains.get("ai.onnx")
        if self.opset_version is not None and self.opset_version < 13:
            raise UnsupportedError(f"ONNX opset {self.opset_version}: numnet reads opset 13 "
                                   f"and later (it writes {OPSETS.start} to "
                                   f"{OPSETS.stop - 1})")
        initializers = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        statistics = set()
        self._nodes = []
        for index, node in enumerate(graph.node):
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedError(f"numnet.onnx.load: operator {node.domain}."
                                       f"{node.op_type} ({_node_label(node, index)}) is not "
                                       "supported")
            if node.op_type not in IMPORTERS and node.op_type not in MULTI_OUTPUT:
                raise UnsupportedError(f"numnet.onnx.load: operator {node.op_type} "
                                       f"({_node_label(node, index)}) is not supported")
            for position in _STATISTICS.get(node.op_type, ()):
                if position < len(node.input):
                    statistics.add(node.input[position])
            self._nodes.append((node.op_type, list(node.input), list(node.output),
                                _attributes(onnx, node), _node_label(node, index)))
        self.input_names = [v.name for v in graph.input if v.name not in initializers]
        self.output_names = [v.name for v in graph.output]
        self._state_names = {}
        for name, array in initializers.items():
            array = numpy.array(array)
            if array.dtype.kind == "f" and name not in statistics:
                value = Parameter(array)
            else:
                value = Tensor(array, _raw=True)
            self._state_names[name] = self._place(name, value)

    def _place(self, name: str, value) -> tuple:
        """Register ``value`` under its dotted ``name`` (sub-modules for the prefixes), or,
        where that path cannot be made, under the name with ``_`` for ``.``. Returns the
        (module path, attribute) it is found at."""
        parts = name.split(".")
        owner = self
        path = []
        if all(parts):
            for part in parts[:-1]:
                child = owner._modules.get(part)
                if child is None:
                    if part in owner.__dict__ or part in owner._parameters or \
                            part in owner._buffers:
                        break
                    child = _Container()
                    owner.add_module(part, child)
                owner = child
                path.append(part)
            else:
                leaf = parts[-1]
                if leaf not in owner._modules and not hasattr(owner, leaf):
                    self._register(owner, leaf, value)
                    return tuple(path), leaf
        flat = name.replace(".", "_") or "_"
        self._register(self, flat, value)
        return (), flat

    @staticmethod
    def _register(owner: Module, name: str, value) -> None:
        if isinstance(value, Parameter):
            owner.register_parameter(name, value)
        else:
            owner.register_buffer(name, value)

    def _state_tensor(self, name: str) -> Tensor:
        path, attribute = self._state_names[name]
        owner = self
        for part in path:
            owner = owner._modules[part]
        return getattr(owner, attribute)

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule.forward() takes {len(self.input_names)} inputs "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        values = {name: self._state_tensor(name) for name in self._state_names}
        for name, x in zip(self.input_names, inputs):
            values[name] = x if isinstance(x, Tensor) else Tensor(x)
        for op, names, outputs, attributes, label in self._nodes:
            xs = [values[n] if n else None for n in names]
            try:
                if op in MULTI_OUTPUT:
                    ys = MULTI_OUTPUT[op](xs, attributes, len(outputs))
                else:
                    ys = IMPORTERS[op](xs, attributes)
            except UnsupportedError as error:
                raise UnsupportedError(f"numnet.onnx.load: {error} ({label})") from None
            ys = ys if isinstance(ys, (list, tuple)) else [ys]
            for name, y in zip(outputs, ys):
                if name:
                    values[name] = y
        results = tuple(values[name] for name in self.output_names)
        return results[0] if len(results) == 1 else results

    def extra_repr(self) -> str:
        return (f"inputs={self.input_names}, outputs={self.output_names}, "
                f"nodes={len(self._nodes)}, opset={self.opset_version}")


def load(f) -> OnnxModule:
    """Read an ONNX model into a numnet ``Module`` that runs it with numnet's ops.

    Args:
        f: a path to a ``.onnx`` file, a binary file object, or bytes.

    Returns:
        ``OnnxModule``: its parameters are the float initializers (trainable), its buffers
        the running statistics and integer initializers; ``forward`` takes the graph's
        inputs in order.

    Raises:
        UnsupportedError: an operator numnet cannot run (named with its node).

    Example:
        >>> import io, numnet, numnet.onnx
        >>> net = numnet.nn.Sequential(numnet.nn.Linear(4, 3), numnet.nn.Tanh())
        >>> buffer = io.BytesIO()
        >>> _ = numnet.onnx.export(net, numnet.randn(2, 4), buffer)
        >>> back = numnet.onnx.load(buffer.getvalue())
        >>> x = numnet.randn(5, 4)
        >>> list(back.state_dict()), bool(abs(back(x) - net(x)).max() < 1e-6)
        (['0.weight', '0.bias'], True)
    """
    onnx = require_onnx()
    if isinstance(f, (bytes, bytearray)):
        proto = onnx.load_from_string(bytes(f))
    elif isinstance(f, (str, os.PathLike)):
        proto = onnx.load(os.fspath(f))
    else:
        proto = onnx.load(f)
    return OnnxModule(proto)
