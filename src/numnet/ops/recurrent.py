"""Recurrences through time: one ``Function`` per layer and direction for the vanilla RNN,
the LSTM and the GRU, and the two reshapes between packed and padded sequences.

NOTE: fused rather than composed from matmul, sigmoid and tanh ops: composing records about
ten ops per time step, so a 2,000-step sequence would be 20,000 graph nodes and as many
Python-level backward calls. Here the input projection ``xw = x W_ih^T + b_ih`` of every
step is one GEMM *before* the recurrence (``linear`` over the whole sequence, outside this
module), ``forward`` loops over time on arrays with one ``h W_hh^T`` GEMM per step (all
gates at once) and keeps the activations; ``backward`` loops back over time, iteratively,
and makes the weight gradient ``gW_hh = sum_t G_t^T h_{t-1}`` one GEMM over all steps.

Sequences of different lengths (``batch_sizes``, as in a ``PackedSequence``): the batch is
sorted by decreasing length and time step ``t`` updates only the first ``batch_sizes[t]``
rows; the others keep their state, so every sequence's final state is taken at its own last
step, and the reverse direction starts each sequence at its own last step.

With ``create_graph=True`` a recurrence's gradients are those of its ``decompose``: the
same time loop re-run in numnet ops (slices, matmul, sigmoid, tanh, cat, stack), so the
result is differentiable again, to any order. It needs no more than ``forward`` keeps for
the fast path: the activations, the previous states (the initial ones among them) and
references to ``W_hh``, ``b_hh`` (and ``W_hr``). Its backward reads no value of ``xw``
nor of a pre-activation (a sum's gradient does not depend on its terms, an activation's
only on its output), so ``xw`` enters as zeros that take no memory and every activation
node returns the activation ``forward`` kept (``KeptSigmoid``, ``KeptTanh``,
``KeptReLU``); every other node (``h_{t-1} W_hh^T``, ``f c_{t-1}``, GRU's ``r hh_n``) then
holds its true value.
"""

from __future__ import annotations

import numpy

from numnet import backend
from numnet.autograd import Function, zeros_stand_in
from numnet.ops import dual
from numnet.ops.activation import ReLU, Sigmoid, Tanh, tanh
from numnet.ops.shape import IndexIntoZeros, cat, stack
from numnet.tensor import Tensor


def _sigmoid(x: numpy.ndarray, out: numpy.ndarray) -> numpy.ndarray:
    """``1 / (1 + e**-x)`` as ``(1 + tanh(x / 2)) / 2`` into ``out``: no overflow for large
    ``|x|``; ``x`` is overwritten."""
    x *= x.dtype.type(0.5)
    numpy.tanh(x, out=out)
    out += 1
    out *= x.dtype.type(0.5)
    return out


class KeptSigmoid(dual.Kept, Sigmoid):
    """``Sigmoid`` returning the kept ``y``;  ``gx = gy * y (1 - y)``."""


class KeptTanh(dual.Kept, Tanh):
    """``Tanh`` returning the kept ``y``;  ``gx = gy (1 - y**2)``."""


class KeptReLU(dual.Kept, ReLU):
    """``ReLU`` returning the kept ``y``;  ``gx = gy`` where y > 0, else 0."""

    def forward(self, x):
        self.mask = self.kept > 0
        return self.kept


class _Recurrence(Function):
    """The time loop shared by RNN, LSTM and GRU (subclasses give one step, both ways).

    Inputs ``(xw, w_hh[, b_hh], h0[, c0])``: ``xw`` (L, N, G*H) the input projections of
    every step, ``w_hh`` (G*H, H), ``b_hh`` (G*H,), ``h0`` (and ``c0``) (N, H). Outputs
    ``(y, h_n[, c_n])``: ``y`` (L, N, H) every step's ``h_t`` (zero at a sequence's padded
    steps), ``h_n`` (N, H) each sequence's last ``h``.
    """

    states = ("h0",)
    """The initial states among the inputs (and the attributes ``decompose`` takes them
    from)."""

    def __init__(self, has_bias: bool = True, reverse: bool = False, batch_sizes=None):
        self.has_bias = has_bias
        self.reverse = reverse
        self.batch_sizes = batch_sizes
        self.saved_inputs = (("xw_stand_in", "w_hh") + (("b_hh",) if has_bias else ())
                             + self.states)

    def _steps(self, length: int, batch: int) -> list:
        """``(t, rows)`` in the order the recurrence runs."""
        sizes = [batch] * length if self.batch_sizes is None else list(self.batch_sizes)
        steps = list(zip(range(length), sizes))
        return steps[::-1] if self.reverse else steps

    def forward(self, xw, w_hh, *rest):
        b_hh = rest[0] if self.has_bias else None
        state = [s.copy() for s in (rest[1:] if self.has_bias else rest)]
        length, batch = xw.shape[:2]
        hidden = state[0].shape[-1]
        self.w_hh, self.b_hh = w_hh, b_hh
        self.shapes = (xw.shape, b_hh is not None)
        self.h_prev = numpy.zeros((length, batch, hidden), xw.dtype)
        self.allocate(length, batch, xw.dtype)
        y = numpy.zeros((length, batch, hidden), xw.dtype)
        for t, rows in self._steps(length, batch):
            h = state[0][:rows]
            self.h_prev[t, :rows] = h
            hh = backend.matmul(h, w_hh.T)
            if b_hh is not None:
                hh += b_hh
            y[t, :rows] = self.step(t, rows, xw[t, :rows], hh, state)
        self.y = y
        return (y, *state)

    def backward(self, gy, *g_state):
        g_state = [g.copy() for g in g_state]
        xw_shape, has_bias = self.shapes
        length, batch = xw_shape[:2]
        gxw = numpy.zeros(xw_shape, gy.dtype)
        ghh = self.hidden_grad_buffer(gxw)
        w_hh = self.w_hh
        for t, rows in self._steps(length, batch)[::-1]:
            g_state[0][:rows] += gy[t, :rows]
            direct = self.step_backward(t, rows, g_state, gxw[t, :rows], ghh[t, :rows])
            gh = backend.matmul(ghh[t, :rows], w_hh)
            if direct is not None:
                gh += direct
            g_state[0][:rows] = gh
        rows_g = ghh.reshape(-1, ghh.shape[-1])
        gw_hh = backend.matmul(rows_g.T, self.h_prev.reshape(-1, self.h_prev.shape[-1]))
        grads = [gxw, gw_hh]
        if has_bias:
            grads.append(rows_g.sum(axis=0))
        return (*grads, *g_state)

    @property
    def xw_stand_in(self) -> numpy.ndarray:
        """``decompose``'s ``xw``: zeros of its shape and dtype that take no memory (a
        broadcast 0-d array), as ``forward`` does not keep ``xw``."""
        return zeros_stand_in(self.shapes[0], self.y.dtype)

    @property
    def h0(self) -> numpy.ndarray:
        """The initial ``h``, from ``h_prev``."""
        return self.first_steps(self.h_prev)

    def first_steps(self, previous: numpy.ndarray) -> numpy.ndarray:
        """``previous[t_n, n]`` for each sequence n at the step ``t_n`` it starts from: the
        initial state, from the (L, N, *) previous states that ``forward`` keeps."""
        length, batch = self.shapes[0][:2]
        first = numpy.zeros(batch, numpy.int64)
        started = 0
        for t, rows in self._steps(length, batch):
            first[started:rows] = t
            started = max(started, rows)
        return previous[first, numpy.arange(batch)]

    def decompose(self, xw, w_hh, *rest):
        """``(y, h_n[, c_n])`` from Tensors: the time loop of ``forward`` with ``cell`` for a
        step; at step t the first ``rows`` sequences are updated, the others kept (``cat``),
        and ``y_t`` is zero for them. ``xw`` may hold any values (``xw_stand_in``): the
        activations are those ``forward`` kept."""
        b_hh = rest[0] if self.has_bias else None
        rest = rest[1:] if self.has_bias else rest
        state = list(rest[:len(self.states)])
        extra = rest[len(self.states):]
        length, batch = xw.shape[:2]
        w_t = w_hh.transpose(0, 1)
        ys = [None] * length
        for t, rows in self._steps(length, batch):
            running = state if rows == batch else [s[:rows] for s in state]
            hh = running[0] @ w_t
            if b_hh is not None:
                hh = hh + b_hh
            new = self.cell(t, rows, xw[t, :rows], hh, running, *extra)
            ys[t] = new[0]
            if rows < batch:
                kept = [s[rows:] for s in state]
                state = [cat([n, k]) for n, k in zip(new, kept)]
                zeros = Tensor(numpy.zeros(kept[0].shape, kept[0].dtype), _raw=True)
                ys[t] = cat([new[0], zeros])
            else:
                state = new
        return (stack(ys), *state)

    def cell(self, t: int, rows: int, xw, hh, state: list, *extra) -> list:
        """Step ``t`` of the first ``rows`` sequences on Tensors for ``decompose``: the new
        states (h first) from ``xw``, ``hh = h_{t-1} W_hh^T + b_hh`` and the previous
        ``state``, each activation's value the one ``step`` kept (``KeptSigmoid``...)."""
        raise NotImplementedError

    def allocate(self, length: int, batch: int, dtype) -> None:
        """Make the arrays that ``step`` fills for backward (``self.w_hh`` is set)."""

    def step(self, t: int, rows: int, xw, hh, state: list):
        """Step ``t`` of the first ``rows`` sequences, given ``hh = h_{t-1} W_hh^T + b_hh``
        (its own array, free to overwrite): update their rows of ``state``, return h_t."""
        raise NotImplementedError

    def step_backward(self, t: int, rows: int, g_state: list, gxw, ghh):
        """Write step ``t``'s gradients of ``xw`` and ``hh`` into ``gxw`` and ``ghh``, turn
        the gradients in ``g_state`` but h's into those of step t - 1, and return the part
        of ``gh_{t-1}`` that does not pass through ``W_hh`` (None if there is none)."""
        raise NotImplementedError

    def hidden_grad_buffer(self, gxw: numpy.ndarray) -> numpy.ndarray:
        """Where ``G_t``, the gradient of ``h_{t-1} W_hh^T + b_hh``, goes: for RNN and LSTM
        it equals the gradient of ``xw`` (both enter the same sum)."""
        return gxw


class RNNTanhRecurrence(_Recurrence):
    """``h_t = tanh(xw_t + h_{t-1} W_hh^T + b_hh)``;  ``G_t = gh_t (1 - h_t**2)``,
    ``gh_{t-1} = G_t W_hh`` (``relu`` instead of tanh in ``RNNReluRecurrence``:
    ``G_t = gh_t [h_t > 0]``)."""

    def activate(self, pre):
        return numpy.tanh(pre, out=pre)

    def derivative(self, y):
        return 1 - y * y

    def step(self, t, rows, xw, hh, state):
        hh += xw
        h = self.activate(hh)
        state[0][:rows] = h
        return h

    def step_backward(self, t, rows, g_state, gxw, ghh):
        numpy.multiply(g_state[0][:rows], self.derivative(self.y[t, :rows]), out=gxw)
        return None

    kept_activation = KeptTanh

    def cell(self, t, rows, xw, hh, state):
        return [self.kept_activation(self.y[t, :rows])(xw + hh)]


class RNNReluRecurrence(RNNTanhRecurrence):
    __doc__ = RNNTanhRecurrence.__doc__

    kept_activation = KeptReLU

    def activate(self, pre):
        return numpy.maximum(pre, 0, out=pre)

    def derivative(self, y):
        return y > 0


class LSTMRecurrence(_Recurrence):
    """The LSTM (Hochreiter and Schmidhuber, 1997), PyTorch's gate order i, f, g, o::

        (i, f, g, o) = (sigma, sigma, tanh, sigma)(xw_t + h_{t-1} W_hh^T + b_hh)
        c_t = f c_{t-1} + i g,    h_t = o tanh(c_t)

    Backward, with ``gc = gc_t + gh_t o (1 - tanh(c_t)**2)``: ``gi = gc g``, ``gf = gc
    c_{t-1}``, ``gg = gc i``, ``go = gh_t tanh(c_t)``, through each activation's derivative
    into ``G_t``; ``gc_{t-1} = gc f``, ``gh_{t-1} = G_t W_hh``.

    With a projection (``proj=True``, the last input ``W_hr`` (P, H); Sak et al., 2014)
    ``h_t = (o tanh(c_t)) W_hr^T`` has P features: the ``gh_t`` above becomes ``gh_t W_hr``
    and ``gW_hr = sum_t gh_t^T (o tanh(c_t))``, one GEMM over all steps.
    """

    states = ("h0", "c0")

    def __init__(self, has_bias: bool = True, reverse: bool = False, batch_sizes=None,
                 proj: bool = False):
        super().__init__(has_bias, reverse, batch_sizes)
        self.proj = proj
        if proj:
            self.saved_inputs += ("w_hr",)

    def forward(self, xw, w_hh, *rest):
        self.w_hr = rest[-1] if self.proj else None
        return super().forward(xw, w_hh, *(rest[:-1] if self.proj else rest))

    def backward(self, gy, *g_state):
        grads = super().backward(gy, *g_state)
        if not self.proj:
            return grads
        gh = self.g_proj.reshape(-1, self.g_proj.shape[-1])
        gw_hr = backend.matmul(gh.T, self.h_raw.reshape(-1, self.h_raw.shape[-1]))
        return (*grads, gw_hr)

    def allocate(self, length, batch, dtype):
        hidden = self.w_hh.shape[0] // 4
        self.gates = numpy.zeros((length, batch, 4 * hidden), dtype)
        self.c_prev = numpy.zeros((length, batch, hidden), dtype)
        self.tanh_c = numpy.zeros((length, batch, hidden), dtype)
        if self.proj:
            self.h_raw = numpy.zeros((length, batch, hidden), dtype)
            self.g_proj = numpy.zeros((length, batch, self.w_hr.shape[0]), dtype)
        # one tanh for all four gates: sigma(x) = tanh(x / 2) / 2 + 1 / 2 for i, f and o
        self.scale = numpy.full(4 * hidden, 0.5, dtype)
        self.scale[2 * hidden:3 * hidden] = 1
        self.shift = numpy.full(4 * hidden, 0.5, dtype)
        self.shift[2 * hidden:3 * hidden] = 0

    def step(self, t, rows, xw, hh, state):
        hidden = hh.shape[1] // 4
        hh += xw
        hh *= self.scale
        gates = self.gates[t, :rows]
        numpy.tanh(hh, out=gates)
        gates *= self.scale
        gates += self.shift
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c = state[1][:rows]
        self.c_prev[t, :rows] = c
        c *= f
        c += i * g
        tanh_c = self.tanh_c[t, :rows]
        numpy.tanh(c, out=tanh_c)
        h = o * tanh_c
        if self.proj:
            self.h_raw[t, :rows] = h
            h = backend.matmul(h, self.w_hr.T)
        state[0][:rows] = h
        return h

    def step_backward(self, t, rows, g_state, gxw, ghh):
        gates = self.gates[t, :rows]
        hidden = gates.shape[1] // 4
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        tanh_c = self.tanh_c[t, :rows]
        gh = g_state[0][:rows]
        if self.proj:
            self.g_proj[t, :rows] = gh
            gh = backend.matmul(gh, self.w_hr)
        gc = g_state[1][:rows]
        gc += gh * o * (1 - tanh_c * tanh_c)
        gi, gf, gg, go = (gxw[:, k * hidden:(k + 1) * hidden] for k in range(4))
        numpy.multiply(gc, g, out=gi)
        numpy.multiply(gc, self.c_prev[t, :rows], out=gf)
        numpy.multiply(gc, i, out=gg)
        numpy.multiply(gh, tanh_c, out=go)
        derivative = 1 - gates
        derivative *= gates
        derivative[:, 2 * hidden:3 * hidden] = 1 - g * g
        gxw *= derivative
        gc *= f
        return None

    @property
    def c0(self) -> numpy.ndarray:
        """The initial ``c``, from ``c_prev``."""
        return self.first_steps(self.c_prev)

    def cell(self, t, rows, xw, hh, state, w_hr=None):
        pre = xw + hh
        gates = self.gates[t, :rows]
        hidden = gates.shape[1] // 4
        i, f, g, o = (kept(gates[:, k * hidden:(k + 1) * hidden])(
            pre[:, k * hidden:(k + 1) * hidden])
            for k, kept in enumerate((KeptSigmoid, KeptSigmoid, KeptTanh, KeptSigmoid)))
        c = f * state[1] + i * g
        h = o * tanh(c)
        if w_hr is not None:
            h = h @ w_hr.transpose(0, 1)
        return [h, c]


class GRURecurrence(_Recurrence):
    """The GRU (Cho et al., 2014), PyTorch's gate order r, z, n, with
    ``hh = h_{t-1} W_hh^T + b_hh`` split the same way::

        r = sigma(xw_r + hh_r),  z = sigma(xw_z + hh_z),  n = tanh(xw_n + r hh_n)
        h_t = (1 - z) n + z h_{t-1}

    Backward: ``gn' = gh_t (1 - z)(1 - n**2)`` is the gradient of ``xw_n``, ``gn' r`` that of
    ``hh_n``; ``gr = gn' hh_n``, ``gz = gh_t (h_{t-1} - n)``, each times its sigmoid's
    derivative, the gradients of ``xw_r, hh_r`` and ``xw_z, hh_z``;
    ``gh_{t-1} = gh_t z + G_t W_hh`` (``G_t`` the gradient of ``hh``).
    """

    def allocate(self, length, batch, dtype):
        hidden = self.w_hh.shape[1]
        self.gates = numpy.zeros((length, batch, 3 * hidden), dtype)
        self.hh_n = numpy.zeros((length, batch, hidden), dtype)

    def hidden_grad_buffer(self, gxw):
        return numpy.zeros_like(gxw)

    def step(self, t, rows, xw, hh, state):
        hidden = hh.shape[1] // 3
        gates = self.gates[t, :rows]
        r, z, n = (gates[:, k * hidden:(k + 1) * hidden] for k in range(3))
        _sigmoid(xw[:, :2 * hidden] + hh[:, :2 * hidden], out=gates[:, :2 * hidden])
        hh_n = self.hh_n[t, :rows]
        hh_n[...] = hh[:, 2 * hidden:]
        pre = r * hh_n
        pre += xw[:, 2 * hidden:]
        numpy.tanh(pre, out=n)
        h = state[0][:rows] - n
        h *= z
        h += n
        state[0][:rows] = h
        return h

    def step_backward(self, t, rows, g_state, gxw, ghh):
        gates = self.gates[t, :rows]
        hidden = gates.shape[1] // 3
        r, z, n = (gates[:, k * hidden:(k + 1) * hidden] for k in range(3))
        gh = g_state[0][:rows]
        gr, gz, gn = (gxw[:, k * hidden:(k + 1) * hidden] for k in range(3))
        numpy.multiply(gh, 1 - z, out=gn)
        gn *= 1 - n * n
        numpy.multiply(gn, self.hh_n[t, :rows], out=gr)
        numpy.subtract(self.h_prev[t, :rows], n, out=gz)
        gz *= gh
        derivative = 1 - gates[:, :2 * hidden]
        derivative *= gates[:, :2 * hidden]
        gxw[:, :2 * hidden] *= derivative
        ghh[:, :2 * hidden] = gxw[:, :2 * hidden]
        numpy.multiply(gn, r, out=ghh[:, 2 * hidden:])
        return gh * z

    def cell(self, t, rows, xw, hh, state):
        gates = self.gates[t, :rows]
        hidden = gates.shape[1] // 3
        r, z = (KeptSigmoid(gates[:, k * hidden:(k + 1) * hidden])(
            xw[:, k * hidden:(k + 1) * hidden] + hh[:, k * hidden:(k + 1) * hidden])
            for k in range(2))
        n = KeptTanh(gates[:, 2 * hidden:])(r * hh[:, 2 * hidden:] + xw[:, 2 * hidden:])
        return [(state[0] - n) * z + n]


RECURRENCES = {"RNN_TANH": RNNTanhRecurrence, "RNN_RELU": RNNReluRecurrence,
               "LSTM": LSTMRecurrence, "GRU": GRURecurrence}


def recurrence(mode: str, xw, w_hh, b_hh, state, reverse: bool = False,
               batch_sizes=None, w_hr=None) -> tuple:
    """Run one layer in one direction over a time-major sequence.

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
        xw: (L, N, G*H) input projections ``x W_ih^T + b_ih`` (G = 1, 4, 3 gates).
        w_hh: (G*H, H) hidden-to-hidden weight; b_hh: (G*H,) or None.
        state: ``(h0,)``, or ``(h0, c0)`` for the LSTM, each (N, H).
        reverse: run from the last step to the first.
        batch_sizes: sequence of L ints, non-increasing: how many of the (length-sorted)
            sequences are still running at each step; None for all N.
        w_hr: (P, H) the LSTM's projection (``h`` then has P features, ``w_hh`` is
            (4*H, P)), or None.

    Returns:
        ``(y, h_n)`` or ``(y, h_n, c_n)``: y (L, N, H), the states (N, H).

    Example:
        >>> import numnet
        >>> y, h_n = recurrence("RNN_TANH", numnet.zeros(5, 2, 3), numnet.eye(3), None,
        ...                     (numnet.ones(2, 3),))
        >>> y.shape, round(float(h_n[0, 0]), 4)
        ((5, 2, 3), 0.472)
    """
    if w_hr is not None:
        function = LSTMRecurrence(b_hh is not None, reverse, batch_sizes, proj=True)
    else:
        function = RECURRENCES[mode](b_hh is not None, reverse, batch_sizes)
    inputs = [xw, w_hh] + ([b_hh] if b_hh is not None else []) + list(state)
    if w_hr is not None:
        inputs.append(w_hr)
    return function(*inputs)


# ---------------------------------------------------------------------- packed <-> padded
def packed_positions(batch_sizes) -> tuple:
    """``(t, n)``: the time step and batch row of every row of packed data.

    Example:
        >>> packed_positions(numpy.array([3, 2, 1]))
        (array([0, 0, 0, 1, 1, 2]), array([0, 1, 2, 0, 1, 0]))
    """
    sizes = numpy.asarray(batch_sizes, dtype=numpy.int64)
    t = numpy.repeat(numpy.arange(len(sizes)), sizes)
    starts = numpy.cumsum(sizes) - sizes
    n = numpy.arange(int(sizes.sum())) - numpy.repeat(starts, sizes)
    return t, n


class PackedToPadded(Function):
    """``y[t, n] = data[row]`` for each packed row at step t, batch row n, ``y = value``
    elsewhere: (sum of lengths, *) -> (L, N, *);  ``gdata = gy[t, n]`` (on Tensors too: a
    ``getitem``, so it is differentiable again)."""

    saved_inputs = (None,)

    def __init__(self, batch_sizes, padding_value: float = 0.0, total_length=None):
        self.batch_sizes = numpy.asarray(batch_sizes, dtype=numpy.int64)
        self.padding_value = padding_value
        self.total_length = total_length

    def forward(self, data):
        self.positions = packed_positions(self.batch_sizes)
        length = len(self.batch_sizes) if self.total_length is None else self.total_length
        shape = (length, int(self.batch_sizes[0]) if len(self.batch_sizes) else 0)
        y = numpy.full(shape + data.shape[1:], self.padding_value, data.dtype)
        y[self.positions] = data
        return y

    def backward(self, gy):
        return gy[self.positions]


def packed_to_padded(data, batch_sizes, padding_value: float = 0.0,
                     total_length=None) -> Tensor:
    """Packed rows (sum of lengths, *) as a time-major padded (L, N, *) tensor."""
    return PackedToPadded(batch_sizes, padding_value, total_length)(data)


class PaddedToPacked(Function):
    """``data[row] = x[t, n]`` for the packed rows (``PackedToPadded`` undone);
    ``gx = 0`` except ``gx[t, n] = gdata`` (recorded: ``IndexIntoZeros``, whose gradient is
    this op again)."""

    saved_inputs = (None,)

    def __init__(self, batch_sizes):
        self.batch_sizes = numpy.asarray(batch_sizes, dtype=numpy.int64)

    def forward(self, x):
        self.positions = packed_positions(self.batch_sizes)
        self.shape = x.shape
        return x[self.positions]

    def backward(self, gy):
        if dual.is_graph(gy):
            return dual.apply(IndexIntoZeros(self.positions, self.shape), gy)
        gx = numpy.zeros(self.shape, gy.dtype)
        gx[self.positions] = gy
        return gx


def padded_to_packed(x, batch_sizes) -> Tensor:
    """The packed rows (sum of lengths, *) of a time-major padded (L, N, *) tensor."""
    return PaddedToPacked(batch_sizes)(x)
