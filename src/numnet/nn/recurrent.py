"""The vanilla (Elman) ``RNN``, with PyTorch's arguments, parameter names, shapes and results.

Gradients through time come from autograd: the input projection of every time step is one
matrix product, then a Python loop over time (never over samples) adds the recurrent term
and applies the nonlinearity. The backward pass is numnet's iterative graph walk, so a
sequence of any length backpropagates without recursion.
"""

from __future__ import annotations

import math

import numpy

from numnet import backend
from numnet.nn import functional as F
from numnet.nn import init as nn_init
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter


class RNN(Module):
    """A multi-layer vanilla RNN (Elman network) with tanh or ReLU, exactly as PyTorch's.

    For each layer and each time step t::

        h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

    (``relu`` instead of tanh with ``nonlinearity='relu'``). ``x_t`` is the input for the
    first layer and the previous layer's ``h_t`` (after dropout, in training, if
    ``dropout > 0``) for the others; ``h_0`` is zero unless given.

    Parameters (layer k = 0 .. num_layers-1), PyTorch's names:
    ``weight_ih_l{k}`` (hidden_size, input_size for k = 0 else hidden_size),
    ``weight_hh_l{k}`` (hidden_size, hidden_size), ``bias_ih_l{k}``, ``bias_hh_l{k}``
    (hidden_size,). Default initialization (PyTorch's): every parameter from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Args:
        input_size: features per time step of the input.
        hidden_size: features of the hidden state h.
        num_layers: stacked recurrent layers.
        nonlinearity: 'tanh' or 'relu'.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input and output are (N, L, H) instead of (L, N, H).
        dropout: dropout probability on the outputs of every layer but the last (training).
        dtype: parameter dtype (default: numnet's default dtype).

    Shape:
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in)
        - h0: (num_layers, N, H_out) or unbatched (num_layers, H_out); batch_first does not
          change it
        - output: (L, N, H_out) / (N, L, H_out) / (L, H_out): the last layer's h_t for all t
        - h_n: (num_layers, N, H_out) / (num_layers, H_out): every layer's final h

    Example:
        >>> import numnet
        >>> rnn = RNN(10, 20, num_layers=2)
        >>> output, h_n = rnn(numnet.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, dtype=None) -> None:
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        if bidirectional:
            raise NotImplementedError("bidirectional RNN is not implemented in numnet")
        if int(num_layers) < 1 or int(hidden_size) < 1:
            raise ValueError(f"RNN: hidden_size and num_layers must be positive, got "
                             f"hidden_size={hidden_size}, num_layers={num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        dtype = backend.get_default_dtype() if dtype is None else numpy.dtype(dtype)
        for k in range(self.num_layers):
            width = self.input_size if k == 0 else self.hidden_size
            setattr(self, f"weight_ih_l{k}",
                    Parameter(numpy.empty((self.hidden_size, width), dtype)))
            setattr(self, f"weight_hh_l{k}",
                    Parameter(numpy.empty((self.hidden_size, self.hidden_size), dtype)))
            if bias:
                setattr(self, f"bias_ih_l{k}", Parameter(numpy.empty(self.hidden_size, dtype)))
                setattr(self, f"bias_hh_l{k}", Parameter(numpy.empty(self.hidden_size, dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) (PyTorch's)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn_init.uniform_(param, -bound, bound)

    def _layer_params(self, k: int):
        weight_ih = getattr(self, f"weight_ih_l{k}")
        weight_hh = getattr(self, f"weight_hh_l{k}")
        if not self.bias:
            return weight_ih, weight_hh, None
        return weight_ih, weight_hh, getattr(self, f"bias_ih_l{k}") + \
            getattr(self, f"bias_hh_l{k}")

    def _check(self, x, h0) -> None:
        if x.ndim not in (2, 3):
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
        if h0 is None:
            return
        if x.ndim == 3:
            batch = x.shape[0] if self.batch_first else x.shape[1]
            expected = (self.num_layers, batch, self.hidden_size)
        else:
            expected = (self.num_layers, self.hidden_size)
        if tuple(h0.shape) != expected:
            raise RuntimeError(f"{self!r}: expected h0 of shape {expected} for input of "
                               f"shape {tuple(x.shape)}, got {tuple(h0.shape)}")
        if h0.dtype != weight.dtype:
            raise RuntimeError(f"{self!r}: h0 dtype {h0.dtype} does not match the layer's "
                            f"{weight.dtype}")

    def forward(self, input, h0=None):  # noqa: A002 - PyTorch's name
        """Run the whole sequence; returns ``(output, h_n)`` (shapes in the class doc)."""
        x = input
        self._check(x, h0)
        unbatched = x.ndim == 2
        if unbatched:
            x = F.unsqueeze(x, 1)
            h0 = None if h0 is None else F.unsqueeze(h0, 1)
        elif self.batch_first:
            x = F.transpose(x, 0, 1)
        length, batch = x.shape[0], x.shape[1]
        if length == 0:
            raise ValueError(f"{self!r}: the input sequence is empty (shape "
                             f"{tuple(input.shape)})")
        initial = [None] * self.num_layers if h0 is None else list(F.unbind(h0))
        activation = F.tanh if self.nonlinearity == "tanh" else F.relu
        finals = []
        for k in range(self.num_layers):
            weight_ih, weight_hh, bias = self._layer_params(k)
            # the input term of every time step in one matrix product
            projected = F.matmul(F.reshape(x, length * batch, x.shape[2]),
                                 F.transpose(weight_ih, 0, 1))
            if bias is not None:
                projected = projected + bias
            steps = F.unbind(F.reshape(projected, length, batch, self.hidden_size))
            weight_hh_t = F.transpose(weight_hh, 0, 1)
            h = initial[k]
            outputs = []
            for step in steps:
                pre = step if h is None else step + F.matmul(h, weight_hh_t)
                h = activation(pre)
                outputs.append(h)
            finals.append(h)
            x = F.stack(outputs, 0)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = F.stack(finals, 0)
        if unbatched:
            return F.squeeze(x, 1), F.squeeze(h_n, 1)
        if self.batch_first:
            x = F.transpose(x, 0, 1)
        return x, h_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text
