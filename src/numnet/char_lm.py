"""Character-level language models: the presets ``lstm``, ``gru`` and ``rnn`` (the model of
``numnet train --task text``) and ``generate``, which samples text from one.

The model is the ``RNNModel`` of PyTorch's ``word_language_model`` example, with the same
module names: ``encoder`` (an ``Embedding`` of the characters), ``rnn`` (``num_layers``
recurrent layers, batch first), ``drop`` (dropout on the embeddings and on the last
layer's output) and ``decoder`` (a ``Linear`` to one score per character). It reads the
characters ``x_1 .. x_T`` and gives, at every step t, the scores of ``x_{t+1}``:

    e_t = W_emb[x_t],  h_t = cell(e_t, h_{t-1}),  z_t = W_dec h_t + b_dec,
    p(x_{t+1} | x_1 .. x_t) = softmax(z_t)

trained by cross entropy ``-1/T sum_t ln p(x_{t+1})``, in nats; divided by ``ln 2`` it is
the bits per character, and ``exp`` of it the perplexity.

Example:
    >>> import numnet
    >>> _ = numnet.manual_seed(0)
    >>> model = lstm(vocab_size=5, embedding_dim=4, hidden_size=8, num_layers=1)
    >>> scores, (h, c) = model(numnet.tensor([[0, 1, 2], [3, 4, 0]]))
    >>> scores.shape, h.shape
    ((2, 3, 5), (1, 2, 8))
"""

from __future__ import annotations

import math

import numpy

from numnet import nn
from numnet import random as nn_random
from numnet.autograd import no_grad
from numnet.nn.module import Module
from numnet.tensor import Tensor

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharLM(Module):
    """Embedding, recurrent layers, dropout and a linear decoder (see the module docs).

    Args:
        vocab_size: characters in the vocabulary V.
        cell: 'lstm', 'gru' or 'rnn'.
        embedding_dim: size E of each character's vector.
        hidden_size: size H of the recurrent state.
        num_layers: stacked recurrent layers.
        dropout: dropout probability on the embeddings, between the recurrent layers and on
            the last layer's output (0: none).
        nonlinearity: for ``cell='rnn'``, 'tanh' or 'relu'.
        config: the JSON config that rebuilds the model (``numnet.models.build_model``).

    Shape:
        - input: (N, T) int64 character ids
        - hx: the recurrent layer's state (``(h, c)`` for an LSTM), each
          (num_layers, N, H), or None for zeros
        - output: scores (N, T, V), and the state after the last step
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", embedding_dim: int = 64,
                 hidden_size: int = 256, num_layers: int = 2, dropout: float = 0.0,
                 nonlinearity: str = "tanh", config: dict | None = None) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose from {', '.join(CELLS)}")
        if cell != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"nonlinearity {nonlinearity!r} is an option of the vanilla "
                             f"RNN; an {cell.upper()} has its own gates")
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.encoder = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers,
                               dropout=dropout if num_layers > 1 else 0.0, batch_first=True,
                               **extra)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)
        self.config = config

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        embedded = self.drop(self.encoder(input))
        output, hx = self.rnn(embedded, hx)
        return self.decoder(self.drop(output)), hx


def _check_sizes(vocab_size, embedding_dim, hidden_size, num_layers, dropout) -> None:
    for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                        ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def _preset(cell: str, vocab_size, embedding_dim, hidden_size, num_layers, dropout,
            **extra) -> CharLM:
    _check_sizes(vocab_size, embedding_dim, hidden_size, num_layers, dropout)
    config = {"name": cell, "vocab_size": vocab_size, "embedding_dim": embedding_dim,
              "hidden_size": hidden_size, "num_layers": num_layers, "dropout": dropout,
              **extra}
    return CharLM(vocab_size, cell, embedding_dim, hidden_size, num_layers, dropout,
                  config=config, **extra)


def lstm(vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
         num_layers: int = 2, dropout: float = 0.0) -> CharLM:
    """A character LSTM language model (``CharLM`` with ``nn.LSTM`` layers).

    Example:
        >>> lstm(vocab_size=80).num_parameters()
        881744
    """
    return _preset("lstm", vocab_size, embedding_dim, hidden_size, num_layers, dropout)


def gru(vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
        num_layers: int = 2, dropout: float = 0.0) -> CharLM:
    """A character GRU language model (``CharLM`` with ``nn.GRU`` layers).

    Example:
        >>> gru(vocab_size=80, num_layers=1).config["name"]
        'gru'
    """
    return _preset("gru", vocab_size, embedding_dim, hidden_size, num_layers, dropout)


def rnn(vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
        num_layers: int = 2, dropout: float = 0.0, nonlinearity: str = "tanh") -> CharLM:
    """A character language model on the vanilla RNN (``nn.RNN``, ``h_t = tanh(W_ih e_t +
    b_ih + W_hh h_{t-1} + b_hh)``, or ``relu``).

    Example:
        >>> rnn(vocab_size=80, nonlinearity="relu").rnn.nonlinearity
        'relu'
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _preset("rnn", vocab_size, embedding_dim, hidden_size, num_layers, dropout,
                   nonlinearity=nonlinearity)


PRESETS = {"lstm": lstm, "gru": gru, "rnn": rnn}
"""The language-model presets by config name (registered in ``numnet.models.MODELS``)."""


def detach_state(hx):
    """The recurrent state cut from its graph (truncated backpropagation through time: the
    next batch starts from these values, its gradient stops here)."""
    if isinstance(hx, tuple):
        return tuple(h.detach() for h in hx)
    return hx.detach()


def generate(model: CharLM, prompt_ids, length: int, temperature: float = 1.0,
             generator=None) -> numpy.ndarray:
    """Sample ``length`` characters after ``prompt_ids`` from the model.

    The prompt is read in one pass; then each character is drawn from
    ``softmax(z_t / temperature)`` (temperature < 1 sharpens the distribution, > 1 flattens
    it) and fed back. With no prompt the first character is drawn uniformly from the
    vocabulary, as PyTorch's ``word_language_model/generate.py`` does. Every draw comes
    from ``generator`` (numnet's default generator when None), so a fixed seed gives the
    same text.

    Args:
        model: a ``CharLM``.
        prompt_ids: the prompt's character ids (may be empty).
        length: characters to generate.
        temperature: a positive number.
        generator: a ``numnet.Generator``.

    Returns:
        The generated ids (int64, ``length`` of them), the prompt not included.

    Example:
        >>> import numnet
        >>> model = lstm(vocab_size=5, embedding_dim=4, hidden_size=8, num_layers=1)
        >>> out = generate(model, [1, 2], 6, generator=numnet.Generator(0))
        >>> out.shape, bool((out == generate(model, [1, 2], 6,
        ...                                  generator=numnet.Generator(0))).all())
        ((6,), True)
    """
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
            and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    rng = nn_random.numpy_generator(generator)
    vocab_size = model.decoder.out_features
    prompt = numpy.asarray(prompt_ids, dtype=numpy.int64).reshape(-1)
    if prompt.size == 0:
        prompt = numpy.array([rng.integers(vocab_size)], dtype=numpy.int64)
        out = [int(prompt[0])]
    else:
        out = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            scores, hx = model(Tensor(prompt[None, :], _raw=True))
            while len(out) < length:
                z = scores.data[0, -1].astype(numpy.float64) / temperature
                p = numpy.exp(z - z.max())
                following = int(rng.choice(vocab_size, p=p / p.sum()))
                out.append(following)
                scores, hx = model(Tensor(numpy.array([[following]]), _raw=True), hx)
    finally:
        model.train(was_training)
    return numpy.array(out[:length], dtype=numpy.int64)
