"""The recurrences (``RNN``, ``LSTM``, ``GRU``) both ways between numnet and ONNX.

numnet runs a layer as ``xw = linear(x, W_ih, b_ih)`` over the whole sequence, then one
recurrence Function on ``xw`` (``numnet.ops.recurrent``); ONNX's ``RNN``, ``LSTM`` and
``GRU`` operators take ``X`` and do the input projection themselves (``X W^T + Wb``), in
their own gate order. Export writes the operator on ``xw`` with ``W`` a permutation
matrix (so ``X W^T`` only reorders the gates, ``Wb = 0``), ``R`` and ``Rb`` the rows of
``W_hh`` and ``b_hh`` in ONNX's order. Import does the reverse: the gates back into
PyTorch's order, ``linear`` for the projection, numnet's recurrence for the loop.

Gate orders: LSTM PyTorch ``i f g o``, ONNX ``i o f c``; GRU PyTorch ``r z n``, ONNX
``z r h`` (with ``linear_before_reset=1``, which is PyTorch's GRU).
"""

from __future__ import annotations

import numpy

import numnet.nn.functional as F
from numnet.onnx._graph import ExportError
from numnet.onnx._import_ops import UnsupportedError
from numnet.ops import recurrent
from numnet.tensor import Tensor

# ONNX gate k is PyTorch gate _ORDER[op][k]
_ORDER = {"RNN": (0,), "LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}
_MODES = {recurrent.RNNTanhRecurrence: ("RNN", "Tanh"),
          recurrent.RNNReluRecurrence: ("RNN", "Relu"),
          recurrent.LSTMRecurrence: ("LSTM", None),
          recurrent.GRURecurrence: ("GRU", None)}


def gate_rows(order, hidden: int) -> numpy.ndarray:
    """The rows of a (gates * hidden, ...) matrix taking its gates in ``order``.

    Example:
        >>> gate_rows((1, 0), 2)
        array([2, 3, 0, 1])
    """
    return numpy.concatenate([numpy.arange(g * hidden, (g + 1) * hidden) for g in order])


def _is_zero_constant(x) -> bool:
    return x.constant and x.array is not None and not numpy.any(x.array)


def export_recurrence(b, fn, xs, outs):
    """One recurrence Function as an ONNX ``RNN``/``LSTM``/``GRU`` node on ``xw``."""
    op, activation = _MODES[type(fn)]
    if fn.batch_sizes is not None:
        raise ExportError(f"{fn.name} over a PackedSequence has no ONNX mapping in numnet "
                          "(export padded sequences)")
    xw, w_hh = xs[0], xs[1]
    rest = xs[2:]
    b_hh = rest[0] if fn.has_bias else None
    states = rest[1:] if fn.has_bias else rest
    hidden = w_hh.shape[1]
    rows = gate_rows(_ORDER[op], hidden)
    width = len(rows)
    dtype = xw.dtype
    weight = b.const(numpy.eye(width, dtype=dtype)[rows][None])
    order = b.const(rows.astype(numpy.int64))
    recurrence = b.node("Unsqueeze", [b.node("Gather", [w_hh.name, order], axis=0),
                                      b.ints([0])])
    bias = ""
    if b_hh is not None:
        rb = b.node("Gather", [b_hh.name, order], axis=0)
        both = b.node("Concat", [b.const(numpy.zeros(width, dtype)), rb], axis=0)
        bias = b.node("Unsqueeze", [both, b.ints([0])])
    initial = ["" if _is_zero_constant(s) else b.node("Unsqueeze", [s.name, b.ints([0])])
               for s in states]
    attributes = dict(hidden_size=int(hidden),
                      direction="reverse" if fn.reverse else "forward")
    if activation is not None:
        attributes["activations"] = [activation]
    if op == "GRU":
        attributes["linear_before_reset"] = 1
    y = b.fresh(op)
    state_outs = [b.fresh(f"{op}_state") for _ in states]
    b.node(op, [xw.name, weight, recurrence, bias, ""] + initial, [y] + state_outs,
           **attributes)
    b.node("Squeeze", [y, b.ints([1])], outs[0])
    for state, out in zip(state_outs, outs[1:]):
        b.node("Squeeze", [state, b.ints([0])], out)


EXPORTERS = {cls: export_recurrence for cls in _MODES}


def _recurrent_op(op: str):
    def run(xs, a, count):
        x, weight, recurrence = xs[0], xs[1], xs[2]
        bias = xs[3] if len(xs) > 3 else None
        for position, what in ((4, "sequence_lens"), (7, "peepholes P")):
            if len(xs) > position and xs[position] is not None:
                raise UnsupportedError(f"{op} with {what}")
        if a.get("layout", 0) or a.get("clip") is not None or a.get("input_forget", 0):
            raise UnsupportedError(f"{op} with layout, clip or input_forget")
        activations = a.get("activations")
        mode = op
        if op == "RNN":
            names = activations or ["Tanh"]
            if any(name not in ("Tanh", "Relu") for name in names) or len(set(names)) > 1:
                raise UnsupportedError(f"RNN with activations {names}")
            mode = "RNN_TANH" if names[0] == "Tanh" else "RNN_RELU"
        elif activations is not None and activations != _DEFAULT_ACTIVATIONS[op] * (
                len(activations) // len(_DEFAULT_ACTIVATIONS[op])):
            raise UnsupportedError(f"{op} with activations {activations}")
        if op == "GRU" and not a.get("linear_before_reset", 0):
            raise UnsupportedError("GRU with linear_before_reset=0 (PyTorch's GRU is 1)")
        hidden = a["hidden_size"]
        direction = a.get("direction", "forward")
        directions = 2 if direction == "bidirectional" else 1
        rows = numpy.argsort(gate_rows(_ORDER[op], hidden))  # ONNX's rows in PyTorch order
        width = len(rows)
        ys, finals = [], [[] for _ in range(2 if op == "LSTM" else 1)]
        for d in range(directions):
            w, r = weight[d][rows], recurrence[d][rows]
            wb = rb = None
            if bias is not None:
                wb, rb = bias[d][:width][rows], bias[d][width:][rows]
            xw = F.linear(x, w, wb)
            state = []
            for position in (5, 6)[:len(finals)]:
                given = xs[position] if len(xs) > position else None
                state.append(given[d] if given is not None else
                             Tensor(numpy.zeros((x.shape[1], hidden), x.dtype), _raw=True))
            y, *last = recurrent.recurrence(mode, xw, r, rb, state,
                                            reverse=direction == "reverse" or d == 1)
            ys.append(y)
            for final, s in zip(finals, last):
                final.append(s)
        outputs = [F.stack(ys, 1)] + [F.stack(final, 0) for final in finals]
        return outputs[:count]
    return run


_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}

IMPORTERS = {op: _recurrent_op(op) for op in ("RNN", "LSTM", "GRU")}
