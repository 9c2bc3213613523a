"""Recurrent layers ``RNN``, ``LSTM`` and ``GRU``, with PyTorch's arguments, parameter names
and layouts (so a torch ``state_dict`` loads), shapes and results.

Each layer and direction is: the input projection of every time step as one GEMM
(``linear`` over the whole sequence), then one recurrence ``Function``
(``numnet.ops.recurrent``) that loops over time on arrays and backpropagates through time
iteratively, so a sequence of thousands of steps is fast and needs no recursion.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy

from numnet import backend, devices
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.nn.utils.rnn import PackedSequence
from numnet.ops.indexing import index_select
from numnet.ops.recurrent import packed_to_padded, padded_to_packed, recurrence
from numnet.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, checks and the layer loop.

    Parameters, for layer k and direction suffix ``''`` or ``'_reverse'`` (PyTorch's names
    and order): ``weight_ih_l{k}{suffix}`` (G*hidden_size, input_size for k = 0, else
    num_directions*hidden_size), ``weight_hh_l{k}{suffix}`` (G*hidden_size, hidden_size),
    ``bias_ih_l{k}{suffix}``, ``bias_hh_l{k}{suffix}`` (G*hidden_size,), G = 1, 4, 3 gates
    for RNN, LSTM, GRU; every one initialised from U(-1/sqrt(hidden_size),
    1/sqrt(hidden_size)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        devices.check(device)
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, "
                          f"so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = hidden_size
        self.num_layers = int(num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden = proj_size or hidden_size
        for k in range(self.num_layers):
            width = self.input_size if k == 0 else real_hidden * directions
            for suffix in ("", "_reverse")[:directions]:
                self._new(f"weight_ih_l{k}{suffix}", (gate_size, width), dtype)
                self._new(f"weight_hh_l{k}{suffix}", (gate_size, real_hidden), dtype)
                if bias:
                    self._new(f"bias_ih_l{k}{suffix}", (gate_size,), dtype)
                    self._new(f"bias_hh_l{k}{suffix}", (gate_size,), dtype)
                if proj_size:
                    self._new(f"weight_hr_l{k}{suffix}", (proj_size, hidden_size), dtype)
        self.reset_parameters()

    def _new(self, name: str, shape: tuple, dtype) -> None:
        setattr(self, name, Parameter(numpy.empty(shape, dtype)))

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn_init.uniform_(param, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN here (a no-op
        on its CPU too); numnet's recurrence reads each parameter as it is. Scripts that
        call it after ``.to(device)`` run unchanged."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights_names(self) -> list:
        return [name for name, _ in self.named_parameters()]

    @property
    def all_weights(self) -> list:
        """Per layer and direction, ``[weight_ih, weight_hh(, bias_ih, bias_hh)(,
        weight_hr)]``."""
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        params = list(self.parameters())
        return [params[i:i + per] for i in range(0, len(params), per)]

    # ------------------------------------------------------------------ checks
    def _check_input(self, x, packed: bool) -> None:
        if not packed and x.ndim not in (2, 3):
            raise ValueError(f"{self!r}: expected input of 3 dims "
                             f"({'(N, L, H_in)' if self.batch_first else '(L, N, H_in)'}) or "
                             f"2 dims (L, H_in, unbatched), got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{self!r}: expected input with last dimension "
                               f"{self.input_size}, got shape {tuple(x.shape)}")
        weight = self.weight_ih_l0
        if x.dtype != weight.dtype:
            raise RuntimeError(f"{self!r}: input dtype {x.dtype} does not match the layer's "
                               f"{weight.dtype}; convert the input or the model")

    def _check_state(self, name: str, state, expected: tuple, unbatched: bool) -> None:
        if unbatched and state.ndim != 2:
            raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                               f"{state.ndim}-D tensor")
        if not unbatched and state.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                               f"{state.ndim}-D tensor")
        if tuple(state.shape) != expected:
            raise RuntimeError(f"{self!r}: expected {name} of shape {expected}, got "
                               f"{tuple(state.shape)}")
        if state.dtype != self.weight_ih_l0.dtype:
            raise RuntimeError(f"{self!r}: {name} dtype {state.dtype} does not match the "
                               f"layer's {self.weight_ih_l0.dtype}")

    def _initial_states(self, hx, batch: int, unbatched: bool, sorted_indices) -> list:
        """``hx`` as a list of (layers*directions, N, H) tensors (zeros when None)."""
        rows = self.num_layers * self.num_directions
        sizes = [self.proj_size or self.hidden_size]
        if self.mode == "LSTM":
            sizes.append(self.hidden_size)
        if hx is None:
            dtype = self.weight_ih_l0.dtype
            return [Tensor(numpy.zeros((rows, batch, size), dtype), _raw=True)
                    for size in sizes]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError(f"{self!r}: hx must be a tuple (h_0, c_0)")
            states, names = list(hx), ("h0", "c0")
        else:
            if not isinstance(hx, Tensor):
                raise RuntimeError(f"{self!r}: hx must be a Tensor, got {type(hx).__name__}")
            states, names = [hx], ("h0",)
        out = []
        for name, state, size in zip(names, states, sizes):
            expected = (rows, size) if unbatched else (rows, batch, size)
            self._check_state(name, state, expected, unbatched)
            if unbatched:
                state = F.unsqueeze(state, 1)
            elif sorted_indices is not None:
                state = index_select(state, 1, sorted_indices)
            out.append(state)
        return out

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        """Run the whole sequence (shapes in the class docs of RNN, LSTM and GRU)."""
        packed = isinstance(input, PackedSequence)
        if packed:
            batch_sizes = numpy.asarray(input.batch_sizes.data, dtype=numpy.int64)
            self._check_input(input.data, True)
            x = packed_to_padded(input.data, batch_sizes)
            sorted_indices = input.sorted_indices
            unbatched = False
        else:
            batch_sizes = sorted_indices = None
            self._check_input(input, False)
            unbatched = input.ndim == 2
            if unbatched:
                x = F.unsqueeze(input, 1)
            else:
                x = F.transpose(input, 0, 1) if self.batch_first else input
            if x.shape[0] == 0:
                raise ValueError(f"{self!r}: the input sequence is empty (shape "
                                 f"{tuple(input.shape)})")
        initial = self._initial_states(hx, x.shape[1], unbatched, sorted_indices)
        x, states = self._run_layers(x, initial, batch_sizes)
        if packed:
            if input.unsorted_indices is not None:
                states = [index_select(s, 1, input.unsorted_indices) for s in states]
            output = PackedSequence(padded_to_packed(x, batch_sizes), input.batch_sizes,
                                    input.sorted_indices, input.unsorted_indices)
        elif unbatched:
            output = F.squeeze(x, 1)
            states = [F.squeeze(s, 1) for s in states]
        else:
            output = F.transpose(x, 0, 1) if self.batch_first else x
        if self.mode == "LSTM":
            return output, tuple(states)
        return output, states[0]

    def _run_layers(self, x, initial: list, batch_sizes) -> tuple:
        """Every layer and direction over the time-major ``x`` (L, N, features); returns the
        last layer's output and the final states, each (layers*directions, N, H)."""
        initial = [list(F.unbind(s)) for s in initial]
        finals = [[] for _ in initial]
        length, batch = x.shape[0], x.shape[1]
        for k in range(self.num_layers):
            # the input term of every step in one 2-D GEMM (not L small ones)
            rows = F.reshape(x, length * batch, x.shape[2])
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:self.num_directions]):
                name = f"l{k}{suffix}"
                bias_ih = getattr(self, f"bias_ih_{name}") if self.bias else None
                bias_hh = getattr(self, f"bias_hh_{name}") if self.bias else None
                weight_hr = getattr(self, f"weight_hr_{name}") if self.proj_size else None
                xw = F.linear(rows, getattr(self, f"weight_ih_{name}"), bias_ih)
                xw = F.reshape(xw, length, batch, xw.shape[1])
                start = [s[k * self.num_directions + d] for s in initial]
                y, *states = recurrence(self.mode, xw, getattr(self, f"weight_hh_{name}"),
                                        bias_hh, start, reverse=d == 1,
                                        batch_sizes=batch_sizes, w_hr=weight_hr)
                outputs.append(y)
                for final, state in zip(finals, states):
                    final.append(state)
            x = outputs[0] if len(outputs) == 1 else F.cat(outputs, 2)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [F.stack(final, 0) for final in finals]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """A multi-layer vanilla RNN (Elman network) with tanh or ReLU, exactly as PyTorch's.

    For each layer and each time step t::

        h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

    (``relu`` instead of tanh with ``nonlinearity='relu'``). ``x_t`` is the input for the
    first layer and the previous layer's ``h_t`` (after dropout, in training, if
    ``dropout > 0``) for the others; ``h_0`` is zero unless given. The reverse direction
    (``bidirectional``) runs from the last step to the first.

    Args:
        input_size: features per time step of the input.
        hidden_size: features of the hidden state h.
        num_layers: stacked recurrent layers.
        nonlinearity: 'tanh' or 'relu'.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input and output are (N, L, H) instead of (L, N, H).
        dropout: dropout probability on the outputs of every layer but the last (training).
        bidirectional: add a reverse direction per layer.
        device: 'cpu' (or None).
        dtype: parameter dtype (default: numnet's default dtype).

    Shape (D = 2 if bidirectional else 1, H_out = hidden_size):
        - input: (L, N, H_in), (N, L, H_in) with batch_first, unbatched (L, H_in), or a
          PackedSequence
        - h0: (D*num_layers, N, H_out) or unbatched (D*num_layers, H_out) (batch_first
          does not change it); zeros when not given
        - output: (L, N, D*H_out) / (N, L, D*H_out) / (L, D*H_out) / a PackedSequence: the
          last layer's h_t for every t (both directions side by side)
        - h_n: like h0: every layer's and direction's final state

    Returns ``(output, h_n)``.

    Example:
        >>> import numnet
        >>> rnn = RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(numnet.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """A multi-layer long short-term memory network (Hochreiter and Schmidhuber, 1997), as
    PyTorch's. For each layer and time step t (gates stacked i, f, g, o in the weights)::

        i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t * c_{t-1} + i_t * g_t,   h_t = o_t * tanh(c_t)

    With ``proj_size = P > 0`` (LSTMP, Sak et al., 2014) ``h_t = (o_t * tanh(c_t)) W_hr^T``
    has P features: ``weight_hr_l{k}{suffix}`` (P, hidden_size) is added, ``weight_hh``
    is (4*hidden_size, P) and h0, h_n and the output have P (D*P) features; c stays
    hidden_size.

    Args: those of ``RNN`` without nonlinearity, plus ``proj_size``.

    Shape (D = 2 if bidirectional else 1, H_out = hidden_size):
        - input: (L, N, H_in), (N, L, H_in) with batch_first, unbatched (L, H_in), or a
          PackedSequence
        - h0: (D*num_layers, N, H_out) or unbatched (D*num_layers, H_out) (batch_first
          does not change it); zeros when not given
        - output: (L, N, D*H_out) / (N, L, D*H_out) / (L, D*H_out) / a PackedSequence: the
          last layer's h_t for every t (both directions side by side)
        - h_n: like h0: every layer's and direction's final state
        - c0, c_n: shaped like h0 and h_n

    Returns ``(output, (h_n, c_n))``; ``hx`` is the pair ``(h0, c0)``.

    Example:
        >>> import numnet
        >>> lstm = LSTM(10, 20, num_layers=2, bidirectional=True)
        >>> output, (h_n, c_n) = lstm(numnet.randn(5, 3, 10))
        >>> output.shape, h_n.shape, c_n.shape
        ((5, 3, 40), (4, 3, 20), (4, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """A multi-layer gated recurrent unit network (Cho et al., 2014), as PyTorch's. For each
    layer and time step t (gates stacked r, z, n in the weights)::

        r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    Args: those of ``RNN`` without nonlinearity.

    Shape (D = 2 if bidirectional else 1, H_out = hidden_size):
        - input: (L, N, H_in), (N, L, H_in) with batch_first, unbatched (L, H_in), or a
          PackedSequence
        - h0: (D*num_layers, N, H_out) or unbatched (D*num_layers, H_out) (batch_first
          does not change it); zeros when not given
        - output: (L, N, D*H_out) / (N, L, D*H_out) / (L, D*H_out) / a PackedSequence: the
          last layer's h_t for every t (both directions side by side)
        - h_n: like h0: every layer's and direction's final state

    Returns ``(output, h_n)``.

    Example:
        >>> import numnet
        >>> gru = GRU(10, 20, batch_first=True)
        >>> output, h_n = gru(numnet.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        ((3, 5, 20), (1, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
