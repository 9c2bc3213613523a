"""Computation graphs as Graphviz DOT text: values flowing forward, gradients flowing back.

``graph(output)`` walks the graph that numnet recorded while computing ``output`` and writes
it the way the lecture draws it: one node per tensor and one per op (``Function``), edges in
the direction of the forward pass (input tensor -> op -> output tensor). A tensor with at
most six elements shows its value and, after ``backward()``, its gradient; a larger one shows
its shape and the mean/std of its value and gradient.

What the graph still knows after the forward pass (see ``numnet.autograd``): the leaves that
require grad (held by the graph), intermediate tensors as ``(creator, output_index)`` with
their shape and dtype (their values only while some variable still holds them), and the
inputs that need no gradient through weak references (drawn only while still alive: the
constant made for ``w * 5.0`` is gone once the product is computed).

The walk is iterative (a queue over ``Function.next_edges``), so a 10,000-op chain or a long
RNN graph exports without hitting Python's recursion limit.

Example (the lecture's ``g = w x``, ``f = g + b``; ``g`` kept and named, ``f`` unnamed):
    >>> import numnet
    >>> from numnet import viz
    >>> w = numnet.tensor(-2.0, requires_grad=True)
    >>> x = numnet.tensor(5.0)
    >>> b = numnet.tensor(3.0, requires_grad=True)
    >>> g = w * x
    >>> g.name = "g"
    >>> g.retain_grad()
    >>> f = g + b
    >>> f.backward()
    >>> print(viz.graph(f, params={"w": w, "x": x, "b": b}))  # doctest: +NORMALIZE_WHITESPACE
    digraph numnet {
      graph [rankdir=LR];
      node [fontname="Helvetica", fontsize=10];
      n0 [label="w\\nvalue -2\\ngrad 5", shape=box, style="rounded,filled", fillcolor="#cfe2f3"];
      n1 [label="x\\nvalue 5", shape=box, style="rounded,filled", fillcolor="#eeeeee"];
      n2 [label="Mul", shape=ellipse, style=filled, fillcolor="#fce5cd"];
      n3 [label="g\\nvalue -10\\ngrad 1", shape=box, style="rounded,filled", fillcolor="white"];
      n4 [label="b\\nvalue 3\\ngrad 1", shape=box, style="rounded,filled", fillcolor="#cfe2f3"];
      n5 [label="Add", shape=ellipse, style=filled, fillcolor="#fce5cd"];
      n6 [label="scalar float32\\nvalue -7", shape=box, style="rounded,filled",
          fillcolor="#d9ead3", penwidth=2];
      n0 -> n2;
      n1 -> n2;
      n2 -> n3;
      n3 -> n5;
      n4 -> n5;
      n5 -> n6;
    }
"""

from __future__ import annotations

import collections
import contextlib
import os
import secrets
import shlex
import shutil
import subprocess
import weakref
from collections.abc import Mapping
from pathlib import Path

import numpy

from numnet.nn.parameter import Parameter
from numnet.serialization import atomic_write_text
from numnet.tensor import Tensor

SMALL = 6  # tensors with at most this many elements show their values, not statistics

_TENSOR_COLORS = {"param": "#cfe2f3", "constant": "#eeeeee", "intermediate": "white",
                  "output": "#d9ead3"}
_OP_COLOR = "#fce5cd"
_LAYER_COLOR = "#d9d2e9"
_FORMATS = ("png", "svg", "pdf")


class _TensorNode:
    """A tensor of the graph: the Tensor itself when alive, else only its shape and dtype."""

    __slots__ = ("tensor", "shape", "dtype", "kind")

    def __init__(self, tensor, shape, dtype, kind):
        self.tensor = tensor
        self.shape = tuple(shape)
        self.dtype = numpy.dtype(dtype)
        self.kind = kind


class _Graph:
    """The walked graph: tensor and op nodes, and each node's inputs in argument order.

    Keys keep every object they name alive here for the duration of the walk, so ``id()``
    values cannot be reused: leaves and constants are ``("t", id(tensor))``, an intermediate
    tensor is ``("o", id(creator), output_index)`` (one node however many ops use it), an op
    is ``("f", id(function))``.
    """

    def __init__(self):
        self.tensors = {}  # key -> _TensorNode
        self.ops = {}  # key -> Function
        self.inputs = {}  # key -> keys of its inputs (an op's arguments, a tensor's creator)
        self.roots = []  # keys of the output tensors

    def add_tensor(self, key, tensor, shape, dtype, kind) -> bool:
        if key in self.tensors:
            return False
        self.tensors[key] = _TensorNode(tensor, shape, dtype, kind)
        self.inputs[key] = []
        return True

    def add_op(self, fn) -> tuple[tuple, bool]:
        key = ("f", id(fn))
        if key in self.ops:
            return key, False
        self.ops[key] = fn
        self.inputs[key] = []
        return key, True

    def edges(self):
        """``(source, destination)`` pairs in the forward direction."""
        for destination, sources in self.inputs.items():
            for source in sources:
                yield source, destination

    def topological_order(self) -> list:
        """Node keys with every input before its consumers (iterative depth-first postorder).

        Inputs are visited in argument order, so ``w * x + b`` reads ``w, x, Mul, ..., b``.
        """
        order = []
        visited = set()
        for root in self.roots:
            if root in visited:
                continue
            visited.add(root)
            stack = [(root, 0)]
            while stack:
                key, position = stack[-1]
                sources = self.inputs[key]
                if position < len(sources):
                    stack[-1] = (key, position + 1)
                    source = sources[position]
                    if source not in visited:
                        visited.add(source)
                        stack.append((source, 0))
                else:
                    stack.pop()
                    order.append(key)
        return order


def _walk(roots) -> _Graph:
    """Collect the graph behind ``roots`` breadth-first from the outputs (no recursion)."""
    g = _Graph()
    queue = collections.deque()
    for root in roots:
        fn = root._creator
        if fn is None:
            key = ("t", id(root))
            g.add_tensor(key, root, root.shape, root.dtype, "output")
        else:
            key = ("o", id(fn), root._output_index)
            if g.add_tensor(key, root, root.shape, root.dtype, "output"):
                fkey, new = g.add_op(fn)
                g.inputs[key].append(fkey)
                if new:
                    queue.append(fn)
        g.tensors[key].kind = "output"
        g.roots.append(key)
    while queue:
        fn = queue.popleft()
        arguments = g.inputs[("f", id(fn))]
        for i, edge in enumerate(fn.next_edges):
            if edge is None:
                tensor = fn.input_refs[i]()
                if tensor is None:
                    continue
                key = ("t", id(tensor))
                g.add_tensor(key, tensor, tensor.shape, tensor.dtype, "constant")
            elif type(edge) is tuple:
                parent, index = edge
                key = ("o", id(parent), index)
                shape, dtype = parent.output_meta[index]
                if g.add_tensor(key, parent.outputs[index](), shape, dtype, "intermediate"):
                    pkey, new = g.add_op(parent)
                    g.inputs[key].append(pkey)
                    if new:
                        queue.append(parent)
            else:
                key = ("t", id(edge))
                g.add_tensor(key, edge, edge.shape, edge.dtype, "param")
            arguments.append(key)
    return g


# ---------------------------------------------------------------------- labels
def _number(value) -> str:
    if isinstance(value, (bool, numpy.bool_)):
        return str(bool(value))
    if isinstance(value, (int, numpy.integer)):
        return str(int(value))
    return f"{float(value):.4g}"


def _values(array: numpy.ndarray) -> str:
    if array.ndim == 0:
        return _number(array.item())
    text = numpy.array2string(array, separator=", ", max_line_width=10**6,
                              formatter={"all": _number})
    return " ".join(text.split())


def _stats(array: numpy.ndarray) -> str:
    mean = array.mean(dtype=numpy.float64)
    std = array.std(dtype=numpy.float64)
    return f"mean {_number(mean)} std {_number(std)}"


def _shape_text(shape, dtype) -> str:
    if len(shape) == 0:
        return f"scalar {dtype}"
    return f"{tuple(shape)} {dtype}"


def _tensor_label(node: _TensorNode, names: dict, show_values: bool) -> str:
    tensor = node.tensor
    name = None
    if tensor is not None:
        name = names.get(id(tensor))
        if name is None and getattr(tensor, "name", None):
            name = str(tensor.name)
    size = int(numpy.prod(node.shape, dtype=numpy.int64))
    small = size <= SMALL
    lines = [name] if name is not None else []
    if name is None or not (show_values and tensor is not None and small):
        lines.append(_shape_text(node.shape, node.dtype))
    if show_values and tensor is not None:
        grad = tensor.grad.data if tensor.grad is not None else None
        if small:
            lines.append(f"value {_values(tensor.data)}")
            if grad is not None:
                lines.append(f"grad {_values(grad)}")
        else:
            lines.append(_stats(tensor.data))
            if grad is not None:
                lines.append(f"grad {_stats(grad)}")
    return "\n".join(lines)


def _quote(text: str) -> str:
    """``text`` as a DOT double-quoted string (backslashes, quotes and newlines escaped)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return f'"{text}"'


# ---------------------------------------------------------------------- names
def _param_names(params) -> tuple[dict, list]:
    """``id(tensor) -> name`` from a dict, (name, tensor) pairs, or a Module's parameters
    and buffers.

    Returns the map and the tensors it names (kept alive so their ids stay unique).
    """
    if params is None:
        return {}, []
    if hasattr(params, "named_parameters"):
        items = list(params.named_parameters())
        if hasattr(params, "named_buffers"):
            items += list(params.named_buffers())
    elif isinstance(params, Mapping):
        items = params.items()
    else:
        items = params
    names = {}
    keep = []
    for item in items:
        try:
            name, tensor = item
        except (TypeError, ValueError):
            raise TypeError("params must be a dict name -> Tensor, (name, Tensor) pairs or a "
                            f"Module; got an item {item!r}") from None
        if not isinstance(tensor, Tensor):
            raise TypeError(f"params: {name!r} is a {type(tensor).__name__}, not a Tensor")
        keep.append(tensor)
        names.setdefault(id(tensor), str(name))
    return names, keep


def _roots(output) -> list:
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, (list, tuple)) and output and all(
            isinstance(t, Tensor) for t in output):
        return list(output)
    raise TypeError("graph() expects a Tensor or a non-empty list/tuple of Tensors, got "
                    f"{type(output).__name__}")


# ---------------------------------------------------------------------- DOT text
def graph(output, params=None, show_values: bool = True, collapse=None) -> str:
    """The computation graph that produced ``output``, as Graphviz DOT text.

    One node per tensor (boxes: blue for leaves that require grad, grey for constants, white
    for intermediates, green for the output) and one per op (orange ellipses, labelled with
    ``Function.name``); edges point the way the forward pass runs. The text is
    deterministic: the same graph gives the same text, nodes numbered inputs first.

    Args:
        output: the Tensor (or a list/tuple of Tensors) whose graph to draw.
        params: names for tensors: a dict ``name -> Tensor``, an iterable of
            ``(name, Tensor)`` such as ``model.named_parameters()``, or a Module (its
            parameters and buffers). Tensors not named here use their ``.name`` attribute
            if set, else their shape and dtype.
        show_values: show values and gradients (when the tensor is still alive): the value
            and ``.grad`` for at most ``SMALL`` (6) elements, else mean and std of both.
            Intermediate tensors have ``.grad`` only after ``retain_grad()``.
        collapse: a mapping ``Function -> layer name`` (see ``record_layers``): the ops of
            each layer become one node, and the tensors used only inside a layer (its
            parameters, its intermediate values) are folded into that node.

    Returns:
        The DOT source (``digraph numnet { ... }``); render it with ``dot -Tpng``.
    """
    roots = _roots(output)
    names, _alive = _param_names(params)
    g = _walk(roots)
    order = g.topological_order()
    node_of = {}  # walk key -> emitted key (a group key for ops of a collapsed layer)
    hidden = {}
    group_params = collections.defaultdict(list)
    if collapse is not None:
        for key, fn in g.ops.items():
            layer = collapse.get(fn)
            if layer is not None:
                node_of[key] = ("g", str(layer))
        hidden = _hidden_tensors(g, node_of, names)
        for key in order:
            if key in hidden and g.tensors[key].kind in ("param", "constant"):
                label = _tensor_label(g.tensors[key], names, show_values=False)
                group_params[hidden[key]].append(label.replace("\n", " "))

    # a model's layer chain reads top to bottom; small op graphs left to right, as on slides
    direction = "TB" if collapse is not None else "LR"
    lines = ["digraph numnet {", f"  graph [rankdir={direction}];",
             '  node [fontname="Helvetica", fontsize=10];']
    ids = {}
    for key in order:
        if key in hidden:
            continue
        emitted = node_of.get(key, key)
        if emitted in ids:
            continue
        node_id = ids[emitted] = f"n{len(ids)}"
        if emitted[0] == "g":
            label = "\n".join([emitted[1]] + group_params.get(emitted, []))
            lines.append(f"  {node_id} [label={_quote(label)}, shape=box, style=filled, "
                         f'penwidth=1.5, fillcolor="{_LAYER_COLOR}"];')
        elif emitted[0] == "f":
            lines.append(f"  {node_id} [label={_quote(g.ops[key].name)}, shape=ellipse, "
                         f'style=filled, fillcolor="{_OP_COLOR}"];')
        else:
            node = g.tensors[key]
            label = _tensor_label(node, names, show_values)
            extra = ", penwidth=2" if node.kind == "output" else ""
            lines.append(f"  {node_id} [label={_quote(label)}, shape=box, "
                         f'style="rounded,filled", fillcolor="{_TENSOR_COLORS[node.kind]}"'
                         f"{extra}];")
    seen_edges = set()
    for destination in order:
        if destination in hidden:
            continue
        for source in g.inputs[destination]:
            if source in hidden:
                continue
            edge = (ids[node_of.get(source, source)], ids[node_of.get(destination, destination)])
            if collapse is not None:
                if edge in seen_edges or edge[0] == edge[1]:
                    continue
                seen_edges.add(edge)
            lines.append(f"  {edge[0]} -> {edge[1]};")
    lines.append("}")
    return "\n".join(lines)


def _hidden_tensors(g: _Graph, node_of: dict, names: dict) -> dict:
    """Tensors folded into a collapsed layer -> that layer's key.

    A tensor is folded when its creator and all its consumers are ops of one layer (its
    intermediate values), or when it is a leaf used only by that layer and is a
    ``Parameter`` or named in ``params`` (a buffer). The output and other leaves, such as
    the input batch, stay visible.
    """
    ends = collections.defaultdict(set)
    for source, destination in g.edges():
        if source[0] == "f":
            ends[destination].add(node_of.get(source, source))
        else:
            ends[source].add(node_of.get(destination, destination))
    hidden = {}
    for key, node in g.tensors.items():
        groups = ends.get(key, ())
        if node.kind == "output" or len(groups) != 1:
            continue
        if node.kind in ("param", "constant") and not (
                isinstance(node.tensor, Parameter) or id(node.tensor) in names):
            continue
        group = next(iter(groups))
        if group[0] == "g":
            hidden[key] = group
    return hidden


class LayerRecord(Mapping):
    """Which layer call created each ``Function``: a weak mapping ``Function -> label``.

    Filled by ``record_layers``; pass it as ``graph(..., collapse=record)``. Labels are
    ``"<dotted name>: <layer repr>"``, with ``" (call k)"`` from a layer's second call on.
    """

    def __init__(self) -> None:
        self._labels = weakref.WeakKeyDictionary()
        self._calls = {}

    def __getitem__(self, fn) -> str:
        return self._labels[fn]

    def __iter__(self):
        return iter(list(self._labels))

    def __len__(self) -> int:
        return len(self._labels)

    def _hook(self, name: str):
        def hook(module, inputs, output):
            calls = self._calls[id(module)] = self._calls.get(id(module), 0) + 1
            text = repr(module)
            kind = text if "\n" not in text else module._get_name()
            label = f"{name}: {kind}" if name else kind
            if calls > 1:
                label += f" (call {calls})"
            for fn in _ops_between(_tensors_in(output), _tensors_in(inputs), self._labels):
                self._labels[fn] = label
        return hook


def _tensors_in(value) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, Tensor)]
    return []


def _ops_between(outputs, inputs, known) -> list:
    """The Functions between ``inputs`` and ``outputs`` (walked back from the outputs).

    The walk stops at the tensors given as inputs, at leaves and at Functions already in
    ``known`` (those of layers that ran earlier), so it finds exactly the ops a layer
    created, unless the layer also uses a non-leaf tensor that did not come in as an input.
    """
    stop = {(id(t._creator), t._output_index) for t in inputs if t._creator is not None}
    stack = []
    seen = set()
    for out in outputs:
        fn = out._creator
        if fn is not None and (id(fn), out._output_index) not in stop and id(fn) not in seen:
            seen.add(id(fn))
            stack.append(fn)
    found = []
    while stack:
        fn = stack.pop()
        if fn in known:
            continue
        found.append(fn)
        for edge in fn.next_edges:
            if type(edge) is tuple and (id(edge[0]), edge[1]) not in stop:
                if id(edge[0]) not in seen:
                    seen.add(id(edge[0]))
                    stack.append(edge[0])
    return found


@contextlib.contextmanager
def record_layers(module):
    """Record which leaf layer of ``module`` creates each op, for ``graph(collapse=...)``.

    Registers a forward hook on every leaf module (one without children) for the duration
    of the ``with`` block, and removes them afterwards. Ops created outside any leaf layer
    (``x.flatten()`` in a model's ``forward``, the loss) stay separate nodes.

    Example:
        >>> import numnet
        >>> from numnet import nn, viz
        >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        >>> x = numnet.randn(5, 3)
        >>> with viz.record_layers(net) as layers:
        ...     loss = net(x).sum()
        >>> sorted(set(layers.values()))  # doctest: +NORMALIZE_WHITESPACE
        ['0: Linear(in_features=3, out_features=4)', '1: Tanh()',
         '2: Linear(in_features=4, out_features=2)']
        >>> text = viz.graph(loss, params=net, collapse=layers)
        >>> text.count("->")  # x -> 0 -> h -> 1 -> h -> 2 -> out -> Sum -> loss
        8
    """
    record = LayerRecord()
    handles = []
    try:
        for name, layer in module.named_modules():
            if not layer._modules:
                handles.append(layer.register_forward_hook(record._hook(name)))
        yield record
    finally:
        for handle in handles:
            handle.remove()


# ---------------------------------------------------------------------- files
def _render(dot_exe: str, dot_path: Path, path: Path, fmt: str, timeout: float) -> None:
    # dot creates the temporary file itself (mode from the umask); renamed when complete
    tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp"))
    try:
        try:
            result = subprocess.run([dot_exe, f"-T{fmt}", str(dot_path), "-o", tmp],
                                    capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"graphviz 'dot' took longer than {timeout:g} s to render "
                               f"{path}; the graph is in {dot_path}") from None
        if result.returncode != 0:
            message = result.stderr.strip().splitlines()
            detail = message[-1] if message else "no message"
            raise RuntimeError(f"graphviz 'dot' failed (exit status {result.returncode}) "
                               f"rendering {dot_path} to {path}: {detail}")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def save_graph(output, path, params=None, show_values: bool = True, collapse=None,
               timeout: float = 60.0) -> list:
    """Write ``graph(output)`` to ``<path>.dot`` and render it to ``path`` with Graphviz.

    ``path``'s suffix picks the picture: ``.png``, ``.svg`` or ``.pdf`` (rendered when
    Graphviz's ``dot`` program is on ``PATH``; Debian package ``graphviz``), or ``.dot`` /
    no suffix for the DOT text only. Without ``dot`` the ``.dot`` file is still written and
    one line says how to render it. Files are written atomically (temporary file, rename), so
an interrupted call leaves no half-written file.

    Args:
        output, params, show_values, collapse: as for ``graph``.
        path: where the picture goes; the DOT text goes next to it with suffix ``.dot``.
        timeout: seconds ``dot`` may take before the rendering is abandoned.

    Returns:
        The paths written (``pathlib.Path``): the ``.dot`` file, then the picture if rendered.
    """
    path = Path(path)
    fmt = path.suffix[1:].lower()
    if fmt not in ("", "dot") + _FORMATS:
        raise ValueError(f"save_graph: cannot render {str(path)!r}: its suffix must be one of "
                         ".png, .svg, .pdf or .dot")
    dot_path = path.with_suffix(".dot")
    text = graph(output, params=params, show_values=show_values, collapse=collapse)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dot_path, text + "\n")
    written = [dot_path]
    if fmt in ("", "dot"):
        return written
    dot_exe = shutil.which("dot")
    if dot_exe is None:
        command = shlex.join(["dot", f"-T{fmt}", str(dot_path), "-o", str(path)])
        print(f"graphviz 'dot' not found: render with `{command}` (apt-get install graphviz)")
        return written
    _render(dot_exe, dot_path, path, fmt, timeout)
    written.append(path)
    return written
