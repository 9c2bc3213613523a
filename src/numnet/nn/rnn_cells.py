"""One time step of each recurrent layer: ``RNNCell``, ``LSTMCell``, ``GRUCell``, with
PyTorch's arguments, parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``), initialization and shapes.

A cell is the layer's recurrence run for a single step (``numnet.ops.recurrent``), so the
cell and the layer share one formula and one backward.
"""

from __future__ import annotations

import math

import numpy

from numnet import backend, devices
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter
from numnet.ops.recurrent import recurrence
from numnet.tensor import Tensor


class RNNCellBase(Module):
    """Parameters and checks shared by the cells: ``weight_ih`` (G*hidden_size,
    input_size), ``weight_hh`` (G*hidden_size, hidden_size), ``bias_ih``, ``bias_hh``
    (G*hidden_size,), all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        devices.check(device)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bias
        dtype = backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)
        gate_size = num_chunks * self.hidden_size
        self.weight_ih = Parameter(numpy.empty((gate_size, self.input_size), dtype))
        self.weight_hh = Parameter(numpy.empty((gate_size, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(numpy.empty(gate_size, dtype))
            self.bias_hh = Parameter(numpy.empty(gate_size, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn_init.uniform_(param, -bound, bound)

    def _check_input(self, x) -> None:
        if x.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[-1]} "
                               f"expected {self.input_size}")
        if x.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{self!r}: input dtype {x.dtype} does not match the layer's "
                               f"{self.weight_ih.dtype}; convert the input or the model")

    def _state(self, x, state, name: str):
        """``state`` (N, H) for the batched input ``x`` (N, H_in); zeros when None."""
        if state is None:
            zeros = numpy.zeros((x.shape[0], self.hidden_size), x.dtype)
            return Tensor(zeros, _raw=True)
        if state.shape[-1] != self.hidden_size:
            raise RuntimeError(f"{name} has inconsistent hidden_size: got {state.shape[-1]}, "
                               f"expected {self.hidden_size}")
        if state.shape[0] != x.shape[0]:
            raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match {name} batch "
                               f"size {state.shape[0]}")
        return state

    def _run(self, mode: str, input, states: tuple, names: tuple) -> list:  # noqa: A002
        self._check_input(input)
        unbatched = input.ndim == 1
        x = F.unsqueeze(input, 0) if unbatched else input
        prepared = []
        for state, name in zip(states, names):
            if state is not None and state.ndim != input.ndim:
                raise RuntimeError(f"{type(self).__name__}: Expected {name} to be "
                                   f"{input.ndim}D, got {state.ndim}D instead")
            if state is not None and unbatched:
                state = F.unsqueeze(state, 0)
            prepared.append(self._state(x, state, name))
        xw = F.unsqueeze(F.linear(x, self.weight_ih, self.bias_ih), 0)
        _, *out = recurrence(mode, xw, self.weight_hh, self.bias_hh, prepared)
        return [F.squeeze(s, 0) for s in out] if unbatched else out

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """One step of the vanilla RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``
    (``relu`` with ``nonlinearity='relu'``).

    Args:
        input_size: features of the input x.
        hidden_size: features of the hidden state h.
        bias: use ``b_ih`` and ``b_hh``.
        nonlinearity: 'tanh' or 'relu'.
        device: 'cpu' (or None).
        dtype: parameter dtype (default: numnet's default dtype).

    Shape:
        - input: (N, H_in) or unbatched (H_in,)
        - hx: (N, H_out) / (H_out,); zeros when not given
        - output h': (N, H_out) / (H_out,)

    Example:
        >>> import numnet
        >>> cell = RNNCell(10, 20)
        >>> cell(numnet.randn(3, 10)).shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:  # checked here, as PyTorch does
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._run(modes[self.nonlinearity], input, (hx,), ("hidden0",))[0]


class LSTMCell(RNNCellBase):
    """One step of the LSTM, gates i, f, g, o stacked in the weights::

        (i, f, g, o) = (sigma, sigma, tanh, sigma)(x W_ih^T + b_ih + h W_hh^T + b_hh)
        c' = f * c + i * g,    h' = o * tanh(c')

    Args:
        input_size, hidden_size, bias, device, dtype: as ``RNNCell``.

    Shape:
        - input: (N, H_in) or unbatched (H_in,)
        - hx: the pair (h, c), each (N, H_out) / (H_out,); zeros when not given
        - output: the pair (h', c'), shaped like hx

    Example:
        >>> import numnet
        >>> cell = LSTMCell(10, 20)
        >>> h, c = cell(numnet.randn(3, 10))
        >>> h.shape, c.shape
        ((3, 20), (3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        states = (None, None) if hx is None else tuple(hx)
        if len(states) != 2:
            raise RuntimeError("LSTMCell: hx must be a pair (h_0, c_0)")
        return tuple(self._run("LSTM", input, states, ("hidden0", "hidden1")))


class GRUCell(RNNCellBase):
    """One step of the GRU, gates r, z, n stacked in the weights::

        r = sigma(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigma(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Args:
        input_size, hidden_size, bias, device, dtype: as ``RNNCell``.

    Shape:
        - input: (N, H_in) or unbatched (H_in,)
        - hx: (N, H_out) / (H_out,); zeros when not given
        - output h': (N, H_out) / (H_out,)

    Example:
        >>> import numnet
        >>> cell = GRUCell(10, 20)
        >>> cell(numnet.randn(10)).shape
        (20,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        return self._run("GRU", input, (hx,), ("hidden0",))[0]
