"""``numnet.onnx.export``: one recorded forward pass written as an ONNX graph.

The model runs on the example input with the graph recorded, as autograd records it for
backward (the input is given ``requires_grad=True`` so every op that depends on it is
recorded). While it runs, every op's inputs are kept alive (autograd keeps only weak
references to inputs that need no gradient, so a constant such as the ``2`` of ``x * 2``
would be gone) and the module each op ran in is noted, for node names and error messages.
The walk then starts from the outputs and follows each op's edges back to the graph
inputs, the parameters and buffers (found by identity among ``named_parameters()`` and
``named_buffers()``: initializers named by their ``state_dict`` keys) and the other
constants (``Constant`` nodes); only ops that the outputs depend on are written, in the
order they ran. Each op becomes nodes through ``EXPORTERS`` (``_export_ops`` and the
modules beside it).

Like PyTorch's tracing exporter, values computed from constants only are folded into
constants and Python control flow is fixed by the example input. A second trace, on an
input with other values and each dynamic axis one longer, shows what the first one cannot:
which dims of a reshape follow the dynamic axes (see ``_export_ops.reshape_target``), and
which constants or index arrays were computed from the input outside the recorded graph
(under ``no_grad``, by integer ops, from ``x.shape`` in Python): those are refused rather
than written as the example's values. Nothing is written until the whole graph is built
and ``onnx.checker.check_model`` accepts it; the file is written atomically.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import io
import os

import numpy

from numnet import autograd
from numnet.nn.module import Module
from numnet.onnx import _export_layers, _export_ops, _recurrent
from numnet.onnx._graph import OPSETS, Builder, ExportError, Value, require_onnx
from numnet.serialization import atomic_write_bytes
from numnet.tensor import Tensor

EXPORTERS = {**_export_ops.EXPORTERS, **_export_layers.EXPORTERS, **_recurrent.EXPORTERS}
"""Every numnet op ``export`` writes, by its Function class."""


class TrainingMode(enum.Enum):
    """The mode a model is exported in (``torch.onnx.TrainingMode``): ``EVAL`` (the
    default: the model is put in eval mode for the export and back after), ``PRESERVE``
    (as it is) or ``TRAINING``."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


@contextlib.contextmanager
def _recording(module_names: dict):
    """Record every op that runs: ``(fn, inputs, module name)`` in call order.

    NOTE: ``Function.__call__`` and ``Module.__call__`` are wrapped only while the example
    runs (restored on exit, also on an error); the wrappers add a strong reference to each
    op's inputs and the name of the innermost module running.
    """
    calls = []
    stack = [""]
    function_call = autograd.Function.__call__
    module_call = Module.__call__

    def record_function(fn, *inputs):
        outputs = function_call(fn, *inputs)
        calls.append((fn, inputs, stack[-1]))
        return outputs

    def record_module(module, *args, **kwargs):
        stack.append(module_names.get(id(module), stack[-1]))
        try:
            return module_call(module, *args, **kwargs)
        finally:
            stack.pop()

    autograd.Function.__call__ = record_function
    Module.__call__ = record_module
    try:
        yield calls
    finally:
        autograd.Function.__call__ = function_call
        Module.__call__ = module_call


@contextlib.contextmanager
def _mode(model: Module, training: TrainingMode):
    if not isinstance(training, TrainingMode):
        raise TypeError(f"training must be a numnet.onnx.TrainingMode, got {training!r}")
    modes = [(module, module.training) for module in model.modules()]
    if training is TrainingMode.EVAL:
        model.eval()
    elif training is TrainingMode.TRAINING or any(mode for _, mode in modes):
        raise NotImplementedError(f"export in training mode ({training}, or PRESERVE of a "
                                  "model in training mode) is not implemented: export with "
                                  "TrainingMode.EVAL")
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


def _flatten_outputs(output) -> list:
    """The output Tensors of a forward in order (nested tuples and lists flattened, None
    left out, as PyTorch's exporter does)."""
    if isinstance(output, Tensor):
        return [output]
    if output is None:
        return []
    if isinstance(output, (tuple, list)):
        return [t for item in output for t in _flatten_outputs(item)]
    raise TypeError(f"numnet.onnx.export: the model returned {type(output).__name__}; it "
                    "must return Tensors (or tuples or lists of them)")


def _names(given, count: int, defaults: list, kind: str) -> list:
    given = list(given or [])
    if len(given) > count:
        raise ValueError(f"{len(given)} {kind}_names for {count} {kind}s")
    names = given + defaults[len(given):count]
    if len(set(names)) != len(names):
        raise ValueError(f"{kind} names must be unique, got {names}")
    return names


def _default_input_names(model, count: int) -> list:
    try:
        parameters = list(inspect.signature(getattr(model, "forward", model))
                          .parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:count]
    return names + [f"input_{i}" for i in range(len(names), count)]


def _dynamic_axes(dynamic_axes, names: list) -> dict:
    """``{value name: {axis: dim name}}`` from PyTorch's two forms (a dict of axis names or
    a list of axes, named ``{name}_dynamic_axes_{i}``)."""
    result = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"dynamic_axes names {name!r}, which is no input or output "
                             f"name ({', '.join(names)})")
        if isinstance(axes, dict):
            result[name] = {int(axis): str(dim) for axis, dim in axes.items()}
        else:
            result[name] = {int(axis): f"{name}_dynamic_axes_{i + 1}"
                            for i, axis in enumerate(axes)}
    return result


def _value_info(onnx, name: str, shape, dtype, dynamic: dict):
    dims = [dynamic.get(axis, dynamic.get(axis - len(shape), n)) for axis, n in
            enumerate(shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


class _GraphWriter:
    """Turns the recorded calls into the nodes of a ``Builder``."""

    def __init__(self, b: Builder, model: Module, inputs: dict, calls: list,
                 other_calls: list | None = None) -> None:
        self.b = b
        self.inputs = inputs  # id(example tensor) -> graph input name
        self.calls = {fn: (index, args, where) for index, (fn, args, where) in
                      enumerate(calls)}
        # each op's twin in the trace with longer dynamic axes, when both ran the same ops
        self.other = {}
        if other_calls is not None and len(other_calls) == len(calls) and all(
                type(a[0]) is type(o[0]) for a, o in zip(calls, other_calls)):
            self.other = {a[0]: (o[0], o[1]) for a, o in zip(calls, other_calls)}
        self.input_constants = {}  # Constant that differs between the traces -> its op
        self.parameters = {}
        for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
            self.parameters[id(tensor)] = name
            b.buffers[id(tensor.data)] = name
        self.leaves = {}  # id(leaf tensor) -> its value name (the tensors stay in calls)
        self.constants = set()  # the names of Constant nodes made for leaves
        self.names = {}  # (fn, output index) -> value name

    def leaf(self, tensor: Tensor) -> str:
        key = id(tensor)
        if key in self.inputs:
            return self.inputs[key]
        if key not in self.leaves:
            name = self.parameters.get(key)
            if name is not None:
                self.b.initializers[name] = tensor.data
            else:
                name = self.b.const(tensor.data)
                self.constants.add(name)
            self.leaves[key] = name
        return self.leaves[key]

    def source(self, fn, i: int) -> str:
        """The value name of input ``i`` of the recorded op ``fn``."""
        edge = fn.next_edges[i] if hasattr(fn, "next_edges") else None
        if type(edge) is tuple and edge[0] in self.calls:
            return self.names[edge]
        return self.leaf(self.calls[fn][1][i])

    def reachable(self, outputs: list) -> list:
        """The recorded ops the outputs depend on, in the order they ran."""
        found = set()
        stack = [t._creator for t in outputs if t._creator in self.calls]
        while stack:
            fn = stack.pop()
            if fn in found:
                continue
            found.add(fn)
            for edge in getattr(fn, "next_edges", ()):
                if type(edge) is tuple and edge[0] in self.calls and edge[0] not in found:
                    stack.append(edge[0])
        return sorted(found, key=lambda fn: self.calls[fn][0])

    def write(self, outputs: list, output_names: list) -> list:
        """Write the ops behind ``outputs``; returns each output's value name."""
        wanted = {}
        for tensor, name in zip(outputs, output_names):
            if tensor._creator in self.calls:
                wanted.setdefault((tensor._creator, tensor._output_index), name)
        for fn in self.reachable(outputs):
            _, args, where = self.calls[fn]
            export = EXPORTERS.get(type(fn))
            if export is None:
                raise ExportError(f"numnet.onnx.export: no ONNX mapping for the numnet op "
                                  f"{fn.name}{_in_module(where)}")
            names = [self.source(fn, i) for i in range(len(args))]
            other_fn, other_args = self.other.get(fn, (None, [None] * len(args)))
            xs = []
            for name, t, o in zip(names, args, other_args):
                other_shape = None if o is None else tuple(o.shape)
                constant = name in self.constants
                if constant and o is not None and (o.shape != t.shape or
                                                   not numpy.array_equal(o.data, t.data)):
                    self.input_constants.setdefault(name, f"{fn.name}{_in_module(where)}")
                xs.append(Value(name, tuple(t.shape), t.dtype, t.data, constant, other_shape))
            prefix = f"{where.replace('.', '/')}/" if where else ""
            outs = []
            for index, (shape, _) in enumerate(fn.output_meta):
                name = wanted.get((fn, index)) or self.b.fresh(f"{prefix}{fn.name}")
                self.names[(fn, index)] = name
                self.b.shapes[name] = tuple(shape)
                if other_fn is not None:
                    self.b.other_shapes[name] = tuple(other_fn.output_meta[index][0])
                outs.append(name)
            self.b.twin = other_fn
            try:
                export(self.b, fn, xs, outs)
            except ExportError as error:
                raise ExportError(f"{error}{_in_module(where)}") from None
        result = []
        for tensor, name in zip(outputs, output_names):
            key = (tensor._creator, tensor._output_index)
            value = self.names[key] if key in self.names else self.leaf(tensor)
            if value != name:
                self.b.node("Identity", [value], name)
            result.append(name)
        return result

    def check_constants(self) -> None:
        """Refuse a graph that still holds a constant that is not the same in both traces:
        it was computed from the input outside the recorded graph (under ``no_grad``, by
        integer ops, from its shape in Python), so the file would hold the example's."""
        used = {node.output[0] for node in self.b.nodes if node.op_type == "Constant"}
        for name, op in self.input_constants.items():
            if name in used:
                raise ExportError(f"numnet.onnx.export: {op} uses a constant that depends "
                                  "on the input (computed from it outside the recorded "
                                  "graph: under no_grad, by integer ops, or from its shape "
                                  "or dynamic axes in Python)")


def _trace(model, arrays: list, kwargs: dict, module_names: dict) -> tuple:
    """Run ``model`` once on copies of ``arrays`` with every op recorded: (the input
    Tensors, the recorded calls, the output Tensors)."""
    inputs = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    with autograd.enable_grad(), _recording(module_names) as calls:
        outputs = _flatten_outputs(model(*inputs, **kwargs))
    return inputs, calls, outputs


def _other_example(array: numpy.ndarray, axes: dict) -> numpy.ndarray:
    """The input of the second trace: ``array`` one longer along each dynamic axis (its
    first slice repeated), with other values: ``1.25 x + 0.5`` if floating, else its
    elements shifted by one place (indices stay valid indices)."""
    for axis in axes:
        array = numpy.concatenate([array, numpy.take(array, [0], axis=axis)], axis=axis)
    if array.dtype.kind == "f":
        return array * array.dtype.type(1.25) + array.dtype.type(0.5)
    return numpy.roll(array.reshape(-1), 1).reshape(array.shape)


def _in_module(where: str) -> str:
    return f" (in module '{where}')" if where else ""


def export(model, args=(), f=None, *, kwargs=None, verbose: bool = False, input_names=None,
           output_names=None, opset_version: int = 17, dynamo: bool = True,
           verify: bool = False, export_params: bool = True,
           keep_initializers_as_inputs: bool = False, dynamic_axes=None,
           training=TrainingMode.EVAL, do_constant_folding: bool = True):
    """Export ``model`` as an ONNX model by recording one forward pass on ``args``
    (``torch.onnx.export``'s tracing exporter, with its argument names).

    Every op the outputs depend on becomes ONNX nodes (``EXPORTERS``); the
    parameters and buffers used are initializers named by their ``state_dict`` keys, other
    constants ``Constant`` nodes. An op without a mapping is a one-line ``ExportError``
    naming it and its module, and nothing is written.

    Args:
        model: a ``Module`` (or any callable taking and returning Tensors).
        args: the example input: a Tensor or a tuple of Tensors (the graph's inputs).
        f: the file to write (a path, written atomically) or a binary file object; None:
            only return the model.
        kwargs: keyword arguments for the forward call (not Tensors: they are fixed).
        verbose: print the graph.
        input_names, output_names: names of the graph's inputs and outputs (defaults: the
            forward's argument names; ``output`` or ``output_0``, ``output_1``, ...).
        opset_version: the ONNX opset, 17 to 23.
        dynamo: PyTorch's choice between its two exporters; numnet has one, which records
            the graph as PyTorch's ``dynamo=False`` exporter traces it, for either value.
        verify: run the model in ONNX Runtime on ``args`` and raise ``ExportError`` (and
            write nothing) unless its outputs equal numnet's (``rtol=1e-4, atol=1e-5``).
        export_params: must be True (the weights are written as initializers).
        dynamic_axes: ``{name: {axis: dim name}}`` or ``{name: [axis, ...]}``: axes of
            inputs and outputs whose size may change, such as ``{"input": {0: "batch"}}``.
        keep_initializers_as_inputs: also list the initializers as graph inputs.
        training: ``TrainingMode.EVAL`` (default) or ``PRESERVE`` (a model in eval mode).
        do_constant_folding: must be True: ops on constants only are never recorded.

    Returns:
        The ``onnx.ModelProto`` (PyTorch returns an ``ONNXProgram`` or None).

    Example:
        >>> import io, numnet, numnet.onnx
        >>> net = numnet.nn.Sequential(numnet.nn.Linear(4, 3), numnet.nn.ReLU())
        >>> proto = numnet.onnx.export(net, numnet.randn(2, 4), io.BytesIO(),
        ...                            input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        >>> [node.op_type for node in proto.graph.node], proto.graph.initializer[0].name
        (['Gemm', 'Relu'], '0.weight')
    """
    onnx = require_onnx()
    if not export_params:
        raise NotImplementedError("export_params=False is not implemented: numnet writes "
                                  "the weights as initializers")
    if not do_constant_folding:
        raise NotImplementedError("do_constant_folding=False is not implemented: numnet "
                                  "records no ops on constants, so they are always folded")
    if opset_version not in OPSETS:
        raise ValueError(f"opset_version {opset_version} is not supported: numnet exports "
                         f"opsets {OPSETS.start} to {OPSETS.stop - 1}")
    examples = (args,) if isinstance(args, Tensor) else tuple(args)
    for example in examples:
        if not isinstance(example, Tensor):
            raise TypeError(f"numnet.onnx.export: args must be Tensors, got "
                            f"{type(example).__name__}")
    kwargs = dict(kwargs or {})
    for key, value in kwargs.items():
        if isinstance(value, Tensor):
            raise NotImplementedError(f"numnet.onnx.export: Tensor keyword argument {key!r}:"
                                      " pass the graph's inputs in args")
    names = _names(input_names, len(examples), _default_input_names(model, len(examples)),
                   "input")
    module_names = {}
    if isinstance(model, Module):
        module_names = {id(m): name for name, m in model.named_modules()}
    with _mode(model, training) if isinstance(model, Module) else contextlib.nullcontext():
        traced, calls, outputs = _trace(model, [e.data for e in examples], kwargs,
                                        module_names)
        out_names = _names(output_names, len(outputs), ["output"] if len(outputs) == 1 else
                           [f"output_{i}" for i in range(len(outputs))], "output")
        dynamic = _dynamic_axes(dynamic_axes, names + out_names)
        others = [_other_example(t.data, dynamic.get(name, {}))
                  for t, name in zip(traced, names)]
        other_calls = _trace(model, others, kwargs, module_names)[1]

    b = Builder(onnx, opset_version)
    writer = _GraphWriter(b, model if isinstance(model, Module) else Module(),
                          {id(t): name for t, name in zip(traced, names)}, calls, other_calls)
    b.inputs = [(t.data, name) for t, name in zip(traced, names)]
    writer.write(outputs, out_names)
    _drop_unused_constants(b, out_names)
    writer.check_constants()
    graph_inputs = [_value_info(onnx, name, t.shape, t.dtype, dynamic.get(name, {}))
                    for name, t in zip(names, traced)]
    initializers = [onnx.numpy_helper.from_array(numpy.ascontiguousarray(array), name)
                    for name, array in b.initializers.items()]
    if keep_initializers_as_inputs:
        graph_inputs += [_value_info(onnx, name, array.shape, array.dtype, {})
                         for name, array in b.initializers.items()]
    graph_outputs = []
    infer = any(dynamic.get(name) for name in names)
    for name, t in zip(out_names, outputs):
        if name in dynamic or not infer:
            graph_outputs.append(_value_info(onnx, name, t.shape, t.dtype,
                                             dynamic.get(name, {})))
        else:
            elem = onnx.helper.np_dtype_to_tensor_dtype(t.dtype)
            graph_outputs.append(onnx.helper.make_tensor_value_info(name, elem, None))
    graph = onnx.helper.make_graph(b.nodes, type(model).__name__, graph_inputs,
                                   graph_outputs, initializers)
    opsets = [onnx.helper.make_opsetid("", opset_version)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="numnet",
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    if infer:
        proto = _infer_output_shapes(onnx, proto)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    if verify:
        _verify(data, names, traced, outputs)
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    if f is None:
        return proto
    if isinstance(f, (str, os.PathLike)):
        atomic_write_bytes(f, data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"numnet.onnx.export: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    return proto


def _verify(data: bytes, names: list, inputs: list, outputs: list) -> None:
    """Run the exported model in ONNX Runtime on the traced inputs; ExportError unless its
    outputs equal the traced ones."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("numnet.onnx.export(verify=True) needs onnxruntime: pip install "
                          "numnet[onnx]") from None
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {name: t.data for name, t in zip(names, inputs)})
    for index, (expected, value) in enumerate(zip(outputs, got)):
        if value.shape != expected.shape or not numpy.allclose(value, expected.data,
                                                               rtol=1e-4, atol=1e-5):
            error = numpy.abs(value - expected.data).max() if value.shape == expected.shape \
                else f"shape {value.shape} for {expected.shape}"
            raise ExportError(f"numnet.onnx.export(verify=True): ONNX Runtime's output "
                              f"{index} differs from numnet's ({error})")


def _drop_unused_constants(b: Builder, outputs: list) -> None:
    """Remove the Constant nodes no node reads (an exporter may leave an input unused, as
    the recurrences do with all-zero initial states)."""
    used = set(outputs)
    for node in b.nodes:
        used.update(node.input)
    b.nodes = [node for node in b.nodes
               if node.op_type != "Constant" or node.output[0] in used]


def _infer_output_shapes(onnx, proto):
    """Fill in the shapes of outputs left without one (their batch axis follows a dynamic
    input's) by ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {v.name: v.type for v in inferred.graph.output}
    for output in proto.graph.output:
        if not output.type.tensor_type.HasField("shape") and output.name in shapes:
            output.type.CopyFrom(shapes[output.name])
    return proto
