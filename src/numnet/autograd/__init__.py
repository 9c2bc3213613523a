"""Define-by-run autograd: ``Function`` records the graph, ``backward`` walks it iteratively.

Every differentiable op is a ``Function`` subclass with ``forward(*arrays)`` and
``backward(*grad_outputs)`` side by side. Both work on raw arrays, not Tensors: ``forward``
receives the input arrays and returns an array (or a tuple of arrays); ``backward`` receives
the gradient of the loss with respect to each output (``gy``) and returns the gradient with
respect to each input (``gx``), or ``None`` for an input that needs none. ``backward`` must
not modify ``gy`` in place (the same array may be routed to several inputs).

When grad mode is on and an input requires grad, calling a Function records, per input,
an *edge*: ``None`` (no gradient needed), the leaf Tensor itself (its gradient accumulates
into ``.grad``), or ``(creator, output_index)`` of the Function that produced it. Like
PyTorch, the graph holds leaves and the values each op saved for its backward, never the
intermediate Tensors themselves, so intermediates are freed as soon as nothing needs them.

``run_backward`` processes Functions in a topological order (Kahn's algorithm over consumer
counts, with an explicit stack): a Function runs only after every consumer of its outputs
has contributed, so a node used many times receives the sum of its gradients, and graphs
of any depth (a 100,000-op chain, a 500-step RNN) need no recursion.

This module does not import ``numnet.tensor`` (Tensor is built on it). A Function is called
with Tensors (the ops' wrappers in ``numnet.ops`` turn numbers and arrays into Tensors) and
makes its output Tensors, and the gradients it stores in ``.grad``, through an input:
``Tensor._wrap(array)`` is a staticmethod, so ``inputs[0]._wrap`` works for any input and a
Parameter input still gives a plain Tensor.
"""

from __future__ import annotations

import contextlib
import functools
import time
import weakref

import numpy

_grad_enabled = True
_profiler = None  # an OpProfiler while ``profile()`` is active; None costs one check per op


def is_grad_enabled() -> bool:
    """True when operations are being recorded for backward."""
    return _grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator that turns graph recording on or off.

    Example:
        >>> import numnet
        >>> x = numnet.ones(2, requires_grad=True)
        >>> with numnet.set_grad_enabled(False):
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = []

    def __enter__(self):
        global _grad_enabled
        self.previous.append(_grad_enabled)
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous.pop()
        return False


class no_grad(set_grad_enabled):
    """Disable graph recording (context manager and decorator), like ``torch.no_grad``.

    Example:
        >>> import numnet
        >>> w = numnet.ones(3, requires_grad=True)
        >>> with numnet.no_grad():
        ...     (w * 2).requires_grad
        False
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)


class OpProfiler:
    """Time spent in each Function's ``forward`` and ``backward``, by class name.

    ``totals[(name, "forward" or "backward")] = [seconds, calls]``. Made by ``profile()``.
    """

    def __init__(self) -> None:
        self.totals = {}

    def add(self, name: str, phase: str, seconds: float) -> None:
        entry = self.totals.get((name, phase))
        if entry is None:
            self.totals[(name, phase)] = [seconds, 1]
        else:
            entry[0] += seconds
            entry[1] += 1

    def table(self) -> list:
        """Rows ``(name, forward s, backward s, forward calls)``, slowest first."""
        names = {name for name, _ in self.totals}
        rows = []
        for name in names:
            fwd = self.totals.get((name, "forward"), [0.0, 0])
            bwd = self.totals.get((name, "backward"), [0.0, 0])
            rows.append((name, fwd[0], bwd[0], fwd[1]))
        return sorted(rows, key=lambda row: -(row[1] + row[2]))


@contextlib.contextmanager
def profile():
    """Time every op's forward and backward while active (opt-in; no cost when off).

    Example:
        >>> import numnet
        >>> from numnet.autograd import profile
        >>> x = numnet.ones(3, requires_grad=True)
        >>> with profile() as prof:
        ...     (x * x).sum().backward()
        >>> sorted(name for name, _, _, _ in prof.table())
        ['Mul', 'Sum']
    """
    global _profiler
    previous = _profiler
    _profiler = OpProfiler()
    try:
        yield _profiler
    finally:
        _profiler = previous


_STRUCTURE = frozenset(("next_edges", "needs_input_grad", "outputs", "input_refs", "freed",
                        "output_meta", "wrap"))


class Function:
    """Base class of every differentiable operation.

    Subclasses take their non-tensor arguments (stride, dim, ...) in ``__init__`` and
    implement ``forward`` and ``backward`` on arrays; an instance is called with Tensors
    (``Mul()(a, b)``) and returns a Tensor (or a tuple of Tensors).
    ``self.needs_input_grad`` (one bool per input) is set before ``forward`` runs, so an op
    can skip saving or computing what no gradient will need.
    """

    def __call__(self, *inputs):
        needs = tuple(t.requires_grad for t in inputs)
        record = _grad_enabled and any(needs)
        self.needs_input_grad = needs if record else (False,) * len(inputs)
        arrays = [t.data for t in inputs]
        try:
            if _profiler is None:
                ys = self.forward(*arrays)
            else:
                start = time.perf_counter()
                ys = self.forward(*arrays)
                _profiler.add(type(self).__name__, "forward", time.perf_counter() - start)
        except IndexError:
            raise
        except ValueError as error:  # NumPy's shape errors: PyTorch's type, numnet's words
            raise RuntimeError(self.shape_error(arrays, error)) from None
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        wrap = inputs[0]._wrap
        outputs = []
        for index, y in enumerate(ys):
            if type(y) is not numpy.ndarray:
                y = numpy.asarray(y)
            out = wrap(y)
            if record:
                out.requires_grad = True
                out._creator = self
                out._output_index = index
            outputs.append(out)
        if record:
            self.next_edges = tuple(_edge(t) for t in inputs)
            self.outputs = tuple(weakref.ref(out) for out in outputs)
            self.input_refs = tuple(weakref.ref(t) for t in inputs)
            self.output_meta = tuple((y.shape, y.dtype) for y in ys)
            self.wrap = wrap
            self.freed = False
        return outputs[0] if single else tuple(outputs)

    def forward(self, *xs):
        raise NotImplementedError

    def shape_error(self, arrays, error: ValueError) -> str:
        """The message of the RuntimeError that replaces a ValueError ``forward`` raised.

        Operands that do not broadcast get PyTorch's message; anything else names the op,
        the input shapes and NumPy's reason. Ops with their own shape rules (matmul)
        override it.
        """
        shapes = [a.shape for a in arrays]
        return broadcast_error(shapes) or (
            f"{self.name}: invalid inputs of shapes {', '.join(map(str, shapes))} ({error})")

    def backward(self, *gys):
        raise NotImplementedError

    saved_inputs: tuple | None = None
    """For each input, the attribute ``forward`` stores it under (the array itself, or None
    when it is not needed), or None: ``backward`` runs on arrays only. Declaring it says
    that ``backward`` is written in terms that run on Tensors too (operators, ``sum_to``,
    ``xp = array_module(gy)``): with ``create_graph=True`` the engine calls it with Tensors
    for ``gy`` and for these attributes, so its result is a graph, differentiable again."""
    saved_outputs: tuple = ()
    """For each output, the attribute ``forward`` stores it under (or None); see
    ``saved_inputs``."""

    def decompose(self, *inputs):
        """The op's output recomputed from numnet ops on Tensor ``inputs``: ops whose
        backward is a fused array kernel define it, and with ``create_graph=True`` their
        gradients are the (recorded) vector-Jacobian product of this decomposition."""
        raise NotImplementedError

    def backward_graph(self, *gys):
        """``backward`` recorded: Tensors in (``gy``), Tensors with a graph out (``gx``).

        Runs ``backward`` itself with the saved attributes as Tensors (``saved_inputs``),
        or differentiates ``decompose``; an op with neither raises a RuntimeError naming it.
        """
        if type(self).decompose is not Function.decompose:
            return _decomposition_vjp(self, gys)
        if self.saved_inputs is None:
            raise RuntimeError(f"{self.name}: double backward is not implemented "
                               "(create_graph=True through this op)")
        if self.freed:
            raise RuntimeError(_FREED_MESSAGE)
        arrays = {}
        for index, name in enumerate(self.saved_inputs):
            if name is not None and getattr(self, name, None) is not None:
                arrays[name] = getattr(self, name)
                setattr(self, name, self.saved_input(index, arrays[name]))
        for index, name in enumerate(self.saved_outputs):
            if name is not None and getattr(self, name, None) is not None:
                arrays[name] = getattr(self, name)
                setattr(self, name, self.saved_output(index, arrays[name]))
        try:
            gxs = self.backward(*gys)
        finally:
            for name, array in arrays.items():
                setattr(self, name, array)
        return self._with_mask_edges(gxs) if self.masks_from else gxs

    masks_from: tuple = ()
    """Where the op's first derivative depends on a value only through a mask (ReLU's
    ``y > 0``, max pooling's winners): ``("input", i)`` or ``("output", j)``. The recorded
    formula takes the mask as a constant; PyTorch's double-backward graph still has an edge
    there, with a zero derivative, so what is reached only through it gets a zero gradient,
    not None. The engine adds that edge to each recorded gradient (``ZeroEdge``)."""

    def _with_mask_edges(self, gxs):
        """``gxs`` (the recorded gradients), each joined by a zero-derivative edge to the
        values named in ``masks_from``."""
        single = not isinstance(gxs, tuple)
        gxs = (gxs,) if single else gxs
        sources = []
        for kind, index in self.masks_from:
            if kind == "input":
                if self.next_edges[index] is None or gxs[index] is None:
                    continue
                value = zeros_stand_in(gxs[index].shape, gxs[index].dtype)
                sources.append(self.saved_input(index, value))
            else:
                value = zeros_stand_in(*self.output_meta[index])
                sources.append(self.saved_output(index, value))
        sources = [t for t in sources if t.requires_grad]
        if sources:
            gxs = tuple(None if gx is None else ZeroEdge()(_as_graph_gradient(self, gx), *sources)
                        for gx in gxs)
        return gxs[0] if single else gxs

    def saved_input(self, index: int, array):
        """Input ``index`` as a Tensor in the graph, holding ``array`` (its value, saved by
        ``forward``): the leaf itself, a node of its creator, or a constant."""
        edge = self.next_edges[index]
        if edge is None:
            return self.saved_constant(array)
        if type(edge) is not tuple:
            return edge
        tensor = self.saved_constant(array)
        tensor.requires_grad = True
        tensor._creator, tensor._output_index = edge
        return tensor

    def saved_output(self, index: int, array):
        """Output ``index`` (``array``) as a Tensor produced by this Function."""
        tensor = self.saved_constant(array)
        tensor.requires_grad = True
        tensor._creator, tensor._output_index = self, index
        return tensor

    def saved_constant(self, array):
        """``array`` as a Tensor outside the graph."""
        return self.wrap(array)

    @property
    def name(self) -> str:
        """The op's name as shown in graphs and reprs: its class name, e.g. ``Mul``."""
        return type(self).__name__

    def release(self) -> None:
        """Free what forward saved for backward; keep only the graph's structure."""
        for key in [k for k in self.__dict__ if k not in _STRUCTURE]:
            del self.__dict__[key]
        self.freed = True


def broadcast_error(shapes) -> str | None:
    """PyTorch's message for the first two of ``shapes`` that do not broadcast, or None.

    Example:
        >>> broadcast_error([(2, 3), (4,)])
        'The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1'
    """
    for i, a in enumerate(shapes):
        for j in range(i + 1, len(shapes)):
            b = shapes[j]
            for back in range(1, min(len(a), len(b)) + 1):
                m, n = a[-back], b[-back]
                if m != n and m != 1 and n != 1:
                    dim = max(len(a), len(b)) - back
                    names = "abcdefghijklmnopqrstuvwxyz"
                    return (f"The size of tensor {names[i]} ({m}) must match the size of tensor "
                            f"{names[j]} ({n}) at non-singleton dimension {dim}")
    return None


def _edge(tensor):
    if not tensor.requires_grad:
        return None
    if tensor._creator is None:
        return tensor
    return (tensor._creator, tensor._output_index)


_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved values "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward(). Specify retain_graph=True if you need to backward through "
    "the graph a second time.")


def _accumulate_leaf(leaf, gx) -> None:
    """Add ``gx`` (an array, or a Tensor with a graph when ``create_graph=True``) to
    ``leaf.grad``; a graph gradient accumulates out of place, so it stays differentiable."""
    if gx.shape != leaf.data.shape:
        raise RuntimeError(f"internal error: gradient of shape {gx.shape} for a leaf of "
                           f"shape {leaf.data.shape}")
    if not _is_array(gx):
        leaf.grad = gx if leaf.grad is None else leaf.grad + gx
    elif leaf.grad is None:
        leaf.grad = leaf._wrap(numpy.array(gx, dtype=leaf.data.dtype, copy=True))
    else:
        leaf.grad.data += gx


def zeros_stand_in(shape, dtype) -> numpy.ndarray:
    """Zeros of ``shape`` that take no memory (a broadcast 0-d array, read-only): the value
    of a graph Tensor whose backward never reads it."""
    return numpy.broadcast_to(numpy.zeros((), dtype), shape)


def _is_array(g) -> bool:
    """An array gradient (the fast path), not a Tensor one (``create_graph``)."""
    return isinstance(g, (numpy.ndarray, numpy.generic))


_leaf_hooks = {}
"""``{id(leaf): (weakref to the leaf, [hook, ...])}``: the post-accumulate-grad hooks."""
_backward_callbacks = []
"""Callables queued by ``queue_callback`` during a backward, run when it has finished."""


class HookHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``remove()`` unregisters it."""

    def __init__(self, key: int, hook) -> None:
        self.key = key
        self.hook = hook

    def remove(self) -> None:
        entry = _leaf_hooks.get(self.key)
        if entry is not None and self.hook in entry[1]:
            entry[1].remove(self.hook)
            if not entry[1]:
                del _leaf_hooks[self.key]


def register_post_accumulate_grad_hook(leaf, hook) -> HookHandle:
    """Call ``hook(leaf)`` in every backward once all of its gradient has reached ``.grad``.

    PyTorch's ``Tensor.register_post_accumulate_grad_hook``: a leaf used several times in
    the graph (a shared weight, an RNN's weights over the time steps) gets its hook once per
    backward, after the last contribution. ``nn.parallel.DistributedDataParallel`` starts a
    bucket's allreduce from these hooks.

    Example:
        >>> import numnet
        >>> w = numnet.ones(2, requires_grad=True)
        >>> handle = w.register_post_accumulate_grad_hook(lambda t: print(t.grad))
        >>> (w * w + w).sum().backward()
        tensor([3., 3.])
        >>> handle.remove()
    """
    if leaf._creator is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                           "tensors")
    if not leaf.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    key = id(leaf)
    entry = _leaf_hooks.get(key)
    if entry is None or entry[0]() is not leaf:
        # the dict is bound now: at interpreter exit the module's globals may be gone first
        forget = functools.partial(_forget_hooks, _leaf_hooks, key)
        entry = _leaf_hooks[key] = (weakref.ref(leaf, forget), [])
    entry[1].append(hook)
    return HookHandle(key, hook)


def _forget_hooks(hooks: dict, key: int, _reference) -> None:
    hooks.pop(key, None)


def queue_callback(callback) -> None:
    """Run ``callback()`` when the backward now running has finished (PyTorch's
    ``Variable._execution_engine.queue_callback``), e.g. to wait for communication that
    hooks started."""
    _backward_callbacks.append(callback)


def _run_leaf_hooks(leaf) -> None:
    entry = _leaf_hooks.get(id(leaf))
    for hook in list(entry[1]) if entry is not None else ():
        hook(leaf)


def _run_backward_callbacks() -> None:
    while _backward_callbacks:
        _backward_callbacks.pop(0)()


def run_backward(root, gradient, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
    """Backpropagate ``gradient`` (shaped like ``root``: an array, or a Tensor with
    ``create_graph=True``) through root's graph into the leaves' ``.grad``."""
    try:
        _backward(root, gradient, retain_graph, create_graph=create_graph)
    except BaseException:
        _backward_callbacks.clear()
        raise
    if _backward_callbacks:
        _run_backward_callbacks()


class _Capture:
    """The gradients a backward hands back instead of accumulating them (``grad``):
    ``sums[i]`` collects d(roots)/d(inputs[i]); nothing reaches any ``.grad``.

    With ``stop`` the backward does not go past the captured nodes (the partial
    derivatives of a decomposition with respect to its own inputs)."""

    def __init__(self, inputs, stop: bool = False) -> None:
        self.sums = [None] * len(inputs)
        self.stop = stop
        self.leaves, self.nodes = {}, {}
        for position, tensor in enumerate(inputs):
            if tensor._creator is None:
                self.leaves.setdefault(id(tensor), []).append(position)
            else:
                key = (tensor._creator, tensor._output_index)
                self.nodes.setdefault(key, []).append(position)

    def add(self, positions, g) -> None:
        for position in positions:
            total = self.sums[position]
            if total is None:
                self.sums[position] = numpy.array(g, copy=True) if _is_array(g) else g
            else:
                self.sums[position] = total + g


def _backward(root, gradient, retain_graph: bool, capture: _Capture | None = None,
              create_graph: bool = False) -> None:
    if create_graph:
        with set_grad_enabled(True):
            _walk(root, gradient, retain_graph, capture, True)
    else:
        _walk(root, gradient, retain_graph, capture, False)


def _walk(root, gradient, retain_graph: bool, capture: _Capture | None,
          create_graph: bool) -> None:
    root_fn = root._creator
    if root_fn is None:
        if capture is not None:
            capture.add(capture.leaves.get(id(root), ()), gradient)
            return
        _accumulate_leaf(root, gradient)
        if _leaf_hooks and id(root) in _leaf_hooks:
            _run_leaf_hooks(root)
        return
    stop = capture.nodes if capture is not None and capture.stop else ()
    # pending[id(leaf)]: contributions still to come to a hooked leaf (None: no hooks)
    pending = {} if _leaf_hooks else None
    consumers = {root_fn: 0}
    stack = [root_fn]
    while stack:
        fn = stack.pop()
        if fn.freed:
            raise RuntimeError(_FREED_MESSAGE)
        for edge in fn.next_edges:
            if type(edge) is tuple:
                if stop and edge in stop:
                    continue
                parent = edge[0]
                if parent in consumers:
                    consumers[parent] += 1
                else:
                    consumers[parent] = 1
                    stack.append(parent)
            elif (pending is not None and capture is None and edge is not None
                  and id(edge) in _leaf_hooks):
                pending[id(edge)] = pending.get(id(edge), 0) + 1

    grads = {root_fn: [None] * len(root_fn.output_meta)}
    grads[root_fn][root._output_index] = gradient
    ready = [root_fn]
    while ready:
        fn = ready.pop()
        gys = grads.pop(fn)
        has_grad = any(g is not None for g in gys)
        if has_grad:
            if capture is None:
                _retain_output_grads(fn, gys)
            elif capture.nodes and not stop:
                for i, g in enumerate(gys):
                    if g is not None and (fn, i) in capture.nodes:
                        capture.add(capture.nodes[(fn, i)], g)
            for i, g in enumerate(gys):
                if g is None:
                    shape, dtype = fn.output_meta[i]
                    gys[i] = numpy.zeros(shape, dtype)
                    if create_graph:
                        gys[i] = fn.wrap(gys[i])
            if _profiler is not None:
                start = time.perf_counter()
            if create_graph:
                gxs = fn.backward_graph(*gys)
            else:
                gxs = fn.backward(*gys)
            if _profiler is not None:
                _profiler.add(type(fn).__name__, "backward", time.perf_counter() - start)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if create_graph:
                gxs = tuple(_as_graph_gradient(fn, gx) for gx in gxs)
        else:
            gxs = (None,) * len(fn.next_edges)
        del gys
        edges = fn.next_edges
        if not retain_graph:
            fn.release()
        for edge, gx in zip(edges, gxs):
            if edge is None:
                continue
            if type(edge) is tuple:
                if stop and edge in stop:
                    if gx is not None:
                        capture.add(stop[edge], gx)
                    continue
                parent, index = edge
                slots = grads.get(parent)
                if slots is None:
                    slots = grads[parent] = [None] * len(parent.output_meta)
                if gx is not None:
                    previous = slots[index]
                    slots[index] = gx if previous is None else previous + gx
                consumers[parent] -= 1
                if consumers[parent] == 0:
                    ready.append(parent)
            elif capture is not None:
                if gx is not None and id(edge) in capture.leaves:
                    capture.add(capture.leaves[id(edge)], gx)
            else:
                if gx is not None:
                    _accumulate_leaf(edge, gx)
                if pending and id(edge) in pending:
                    pending[id(edge)] -= 1
                    if pending[id(edge)] == 0 and edge.grad is not None:
                        _run_leaf_hooks(edge)


def _as_graph_gradient(fn, gx):
    """A recorded backward's result for one input as a Tensor (an array: a constant)."""
    if gx is None or not _is_array(gx):
        return gx
    return fn.wrap(numpy.asarray(gx))


class Proxy(Function):
    """``y = x``: a fresh node in front of each input of a decomposition, so that its
    partial derivatives are taken with respect to that input alone."""

    saved_inputs = (None,)

    def forward(self, x):
        return x

    def backward(self, gy):
        return gy


class ZeroEdge(Function):
    """``y = x`` joined to ``sources`` by edges whose derivative is 0: ``gx = gy``, a zero
    gradient for each source (``Function.masks_from``)."""

    def forward(self, x, *sources):
        self.saved_inputs = (None,) * (1 + len(sources))
        self.source_meta = [(s.shape, s.dtype) for s in sources]
        return x

    def backward(self, gy):
        zeros = [numpy.zeros(shape, dtype) for shape, dtype in self.source_meta]
        if not _is_array(gy):
            zeros = [self.wrap(z) for z in zeros]
        return (gy, *zeros)


def _decomposition_vjp(fn, gys) -> tuple:
    """``fn``'s input gradients, recorded: the VJP of ``fn.decompose`` at its saved inputs
    (``fn.saved_inputs`` names them), with ``gys`` as the vector."""
    if fn.freed:
        raise RuntimeError(_FREED_MESSAGE)
    names = fn.saved_inputs or ()
    inputs = []
    for index, needs in enumerate(fn.needs_input_grad):
        name = names[index] if index < len(names) else None
        array = None if name is None else getattr(fn, name, None)
        if array is None:
            if needs:
                raise RuntimeError(f"{fn.name}: double backward needs input {index}, which "
                                   "its forward did not save")
            inputs.append(None)
            continue
        tensor = fn.saved_input(index, array)
        inputs.append(Proxy()(tensor) if tensor.requires_grad else tensor)
    with set_grad_enabled(True):
        outputs = fn.decompose(*inputs)
    if not isinstance(outputs, tuple):
        outputs = (outputs,)
    wanted = [t for t, needs in zip(inputs, fn.needs_input_grad) if needs]
    capture = _Capture(wanted, stop=True)
    for output, gy in zip(outputs, gys):
        if output is not None and output.requires_grad:
            _backward(output, gy, True, capture, create_graph=True)
    sums = iter(capture.sums)
    return tuple(next(sums) if needs else None for needs in fn.needs_input_grad)


def _as_sequence(value, name: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None:
        raise TypeError(f"{name} must be a Tensor or a sequence of Tensors, got None")
    return [value]


def gradients(outputs, grad_outputs, inputs, retain_graph: bool,
              create_graph: bool = False) -> list:
    """d(sum of outputs . grad_outputs)/d(input) for each of ``inputs`` (None where an
    input is not reached), without touching any ``.grad``: ``grad``'s engine and
    ``Tensor.backward(inputs=)``'s. ``grad_outputs`` are shaped like the outputs: arrays,
    and the results arrays; with ``create_graph`` Tensors, and the results Tensors with a
    graph of their own."""
    for tensor in inputs:
        if not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    capture = _Capture(inputs)
    last = len(outputs) - 1
    for k, (output, gradient) in enumerate(zip(outputs, grad_outputs)):
        _backward(output, gradient, retain_graph or k < last, capture, create_graph)
    return capture.sums


def root_gradient(output, gradient, create_graph: bool):
    """The gradient a backward from ``output`` starts with: an array, or with
    ``create_graph`` a Tensor (``gradient`` itself when it is a Tensor of the right shape
    and dtype, so a graph it carries is followed)."""
    array = output._root_gradient(gradient)
    if not create_graph:
        return array
    if getattr(gradient, "data", None) is array:
        return gradient
    return output._wrap(array)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused=None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned instead of
    accumulated into ``.grad`` (PyTorch's ``torch.autograd.grad``).

    ``grad(y, x)[i]`` is ``sum_j d(y_j)/d(x_i) * v_j`` for ``v = grad_outputs`` (omitted: 1
    for a one-element ``y``): a vector-Jacobian product. Several outputs add up. No
    ``.grad`` changes, and the graph is freed unless ``retain_graph=True``.

    Args:
        outputs: a Tensor or a sequence of Tensors (each in a graph).
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate results) that
            require grad.
        grad_outputs: the vectors ``v``, one per output (Tensors, arrays or None for a
            one-element output).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: make the gradients Tensors with a graph of their own, so they can be
            differentiated again (higher-order derivatives); ``retain_graph`` then
            defaults to True.
        allow_unused: without it, an input the outputs do not depend on is an error; with
            it, its gradient is None (zeros with ``materialize_grads=True``).
        is_grads_batched: True is not implemented (NotImplementedError).

    Returns:
        A tuple with one gradient Tensor per input.

    Example:
        >>> import numnet
        >>> x = numnet.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (g,) = numnet.autograd.grad((x ** 2).sum(), x)
        >>> g, x.grad is None
        (tensor([2., 4., 6.]), True)
    """
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not implemented in numnet")
    if not only_inputs:
        raise ValueError("only_inputs=False is no longer supported (PyTorch removed it)")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    outputs = _as_sequence(outputs, "outputs")
    inputs = _as_sequence(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_sequence(grad_outputs, "grad_outputs")
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got "
                           f"{len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
    create_graph = bool(create_graph)
    retain_graph = create_graph if retain_graph is None else bool(retain_graph)
    roots = [root_gradient(output, g, create_graph) for output, g in zip(outputs, grad_outputs)]
    sums = gradients(outputs, roots, inputs, retain_graph, create_graph)
    results = []
    for tensor, total in zip(inputs, sums):
        if total is None and not allow_unused:
            raise RuntimeError("One of the differentiated Tensors appears to not have been "
                               "used in the graph. Set allow_unused=True if this is the "
                               "desired behavior.")
        if total is None and materialize_grads:
            total = numpy.zeros_like(tensor.data)
        if total is not None and _is_array(total):
            total = tensor._wrap(numpy.asarray(total))
        results.append(total)
    return tuple(results)


def _retain_output_grads(fn, gys) -> None:
    for ref, g in zip(fn.outputs, gys):
        out = ref()
        if out is not None and out._retains_grad and g is not None:
            if not _is_array(g):
                out.grad = g if out.grad is None else out.grad + g
            elif out.grad is None:
                out.grad = out._wrap(numpy.array(g, copy=True))
            else:
                out.grad.data += g
