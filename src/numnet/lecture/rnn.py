"""A vanilla RNN learns to predict the next value of a noisy sine wave.

``numnet.nn.RNN`` (``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``) reads a noisy
sine ``x_t = sin(omega t + phi) + noise`` one value at a time and a ``Linear`` head predicts
``x_{t+1}`` from ``h_t``; the loss is the mean squared error over every step
(backpropagation through time). A sine obeys ``s_{t+1} = 2 cos(omega) s_t - s_{t-1}``, so the
next value needs the last two, and with noise, a longer memory that averages it out: a
feed-forward look at ``x_t`` alone cannot do it. Two baselines frame the result: predicting
``x_{t+1} = x_t`` (persistence), and the noise floor ``sigma**2`` (the noise of the target
itself, which nobody can predict).

Gradients through time are checked against central finite differences in float64
(``numnet.gradcheck``) on a short sequence, and the trained network's sensitivity
``|dL/dx_t|`` of the last prediction to each earlier input shows how far back it looks.

Why gated cells exist (the vanishing gradient the lecture names for saturated
activations): backpropagating one step through the vanilla RNN multiplies the gradient by
``W_hh^T diag(1 - h_t**2)``; tanh's derivative is at most 1 and near 0 where it saturates,
so over T steps the gradient reaching the first input shrinks about geometrically. The
LSTM's cell is updated additively, ``c_t = f_t c_{t-1} + i_t g_t``, and one step back along
the cell multiplies the gradient by ``diag(f_t)`` only: with the forget gate near 1 it
survives hundreds of steps (the "constant error carousel", Hochreiter and Schmidhuber,
1997; a forget-gate bias of 1 is the usual start, Gers et al., 2000, Jozefowicz et al.,
2015). ``vanishing_gradients`` measures ``|dL/dx_1| / |dL/dx_T|`` for ``L = sum h_T``
over T = 10 .. 200 steps, for an RNN and an LSTM at PyTorch's default initialization and
for the LSTM with forget-gate bias 1 and 3. The untrained LSTM, its forget gate near
sigma(0) = 0.5, loses its gradient about as fast as the RNN: what saves it is the gate's
value, which it can learn (or start from, with the bias): at bias 3 (f near 0.95) the
ratio stays of order 1 over 200 steps while the RNN's falls below 1e-30.

Example:
    >>> r = compute(epochs=2, train_sequences=32, seq_len=20)
    >>> r.gradcheck_passed, len(r.losses)
    (True, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy

import numnet
import numnet.nn.functional as F
from numnet import nn, optim
from numnet.lecture import _common
from numnet.lecture._common import LectureRun

OMEGA = 2 * math.pi / 16
NOISE = 0.1


@dataclass
class RNNResult:
    """What the RNN experiment measures.

    Attributes:
        hidden_size, seq_len, epochs, lr, noise, omega: the settings.
        losses: training loss (MSE) per epoch; ``test_losses``: test MSE per epoch.
        test_loss: the final test MSE against the noisy next value.
        clean_loss: the final test MSE against the noise-free next value.
        persistence_loss: test MSE of predicting ``x_{t+1} = x_t``.
        noise_floor: ``noise**2``, the error a perfect predictor still makes.
        inputs, truth, clean, prediction: one test sequence (for the figure).
        gradcheck_passed: ``numnet.gradcheck`` of the RNN + head in float64 (all inputs
            and parameters, through time).
        gradcheck_max_error: max |autograd - finite difference| over ``weight_hh_l0``.
        input_sensitivity: ``|dL/dx_t|`` of the last step's loss for each step t, averaged
            over the test sequences (index -1 is the last step).
        vanishing_lengths: the sequence lengths T of ``vanishing``.
        vanishing: model name -> ``|dL/dx_1| / |dL/dx_T|`` for each T (``vanishing_gradients``).
    """

    hidden_size: int
    seq_len: int
    epochs: int
    lr: float
    noise: float
    omega: float
    losses: list
    test_losses: list
    test_loss: float
    clean_loss: float
    persistence_loss: float
    noise_floor: float
    inputs: numpy.ndarray
    truth: numpy.ndarray
    clean: numpy.ndarray
    prediction: numpy.ndarray
    gradcheck_passed: bool
    gradcheck_max_error: float
    input_sensitivity: numpy.ndarray
    vanishing_lengths: tuple
    vanishing: dict


class SinePredictor(nn.Module):
    """``RNN(1, hidden)`` then ``Linear(hidden, 1)`` at every step: (L, N, 1) -> (L, N, 1)."""

    def __init__(self, hidden_size: int, dtype=None) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, hidden_size, dtype=dtype)
        self.head = nn.Linear(hidden_size, 1, dtype=dtype)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output)


def make_sequences(count: int, length: int, rng: numpy.random.Generator, omega=OMEGA,
                   noise=NOISE) -> tuple:
    """``(noisy, clean)`` sine sequences of ``length + 1`` values, shape (length + 1, count, 1).

    Each sequence has a random phase; the noise is N(0, noise**2), drawn independently.
    """
    phase = rng.uniform(0, 2 * math.pi, size=(1, count, 1))
    steps = numpy.arange(length + 1).reshape(-1, 1, 1)
    clean = numpy.sin(omega * steps + phase)
    noisy = clean + noise * rng.standard_normal(clean.shape)
    return noisy.astype(numpy.float32), clean.astype(numpy.float32)


def gradient_check(seed: int = 0) -> tuple:
    """``numnet.gradcheck`` of a small float64 ``SinePredictor`` on a 6-step sequence.

    Returns:
        ``(passed, max_error)``: gradcheck's verdict over the input and every parameter, and
        the largest |autograd - central difference| over ``weight_hh_l0`` (eps 1e-6).
    """
    numnet.manual_seed(seed)
    model = SinePredictor(3, dtype="float64")
    rng = numpy.random.default_rng(seed)
    x = numnet.tensor(rng.standard_normal((6, 2, 1)), dtype="float64", requires_grad=True)
    params = list(model.parameters())
    passed = numnet.gradcheck(lambda x_, *_: model(x_), [x] + params, eps=1e-6, atol=1e-7,
                              rtol=1e-5)
    weight = model.rnn.weight_hh_l0
    upstream = rng.standard_normal((6, 2, 1))

    def loss() -> float:
        return float(numpy.sum(model(x).data * upstream))

    weight.grad = None
    (model(x) * numnet.tensor(upstream, dtype="float64")).sum().backward()
    analytic = weight.grad.data.copy()
    flat = weight.data.reshape(-1)
    numeric = numpy.zeros(flat.size)
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + 1e-6
        plus = loss()
        flat[k] = original - 1e-6
        minus = loss()
        flat[k] = original
        numeric[k] = (plus - minus) / 2e-6
    return bool(passed), float(numpy.abs(analytic.reshape(-1) - numeric).max())


VANISHING_LENGTHS = (10, 20, 50, 100, 200)


def _forget_bias(lstm: nn.LSTM, value: float) -> nn.LSTM:
    """Set the forget gate's total bias ``b_if + b_hf`` (rows H..2H, gate order i f g o)."""
    hidden = lstm.hidden_size
    lstm.bias_ih_l0.data[hidden:2 * hidden] = value
    lstm.bias_hh_l0.data[hidden:2 * hidden] = 0.0
    return lstm


def gradient_ratio(model: nn.Module, length: int, batch: int, seed: int) -> float:
    """``|dL/dx_1| / |dL/dx_T|`` (each the mean over the batch and input features) for
    ``L = sum of h_T``, the last step's output, on N(0, 1) inputs (T, batch, input_size)."""
    rng = numpy.random.default_rng(seed)
    size = model.input_size
    x = numnet.tensor(rng.standard_normal((length, batch, size)), dtype="float64",
                      requires_grad=True)
    output, _ = model(x)
    output[-1].sum().backward()
    per_step = numpy.abs(x.grad.data).mean(axis=(1, 2))
    return float(per_step[0] / per_step[-1])


def vanishing_gradients(lengths=VANISHING_LENGTHS, hidden_size: int = 32, batch: int = 16,
                        repeats: int = 4, seed: int = 0) -> dict:
    """How much of the gradient of the last output reaches the first input, T steps back.

    Untrained float64 models with PyTorch's default initialization, U(-1/sqrt(H),
    1/sqrt(H)) for every weight: ``RNN(1, H)`` (tanh), ``LSTM(1, H)`` (its forget gate
    starts near sigma(0) = 0.5), and the same LSTM with forget-gate bias 1 and 3
    (f near 0.73 and 0.95).

    Returns:
        model name -> for each length, the geometric mean of ``gradient_ratio`` over
        ``repeats`` initializations (the ratios span hundreds of orders of magnitude).
    """
    logs = {}
    for repeat in range(repeats):
        numnet.manual_seed(seed + repeat)
        lstm = nn.LSTM(1, hidden_size, dtype="float64")
        models = {"RNN (tanh)": nn.RNN(1, hidden_size, dtype="float64"), "LSTM": lstm}
        for value in (1.0, 3.0):
            gated = nn.LSTM(1, hidden_size, dtype="float64")
            gated.load_state_dict(lstm.state_dict())
            models[f"LSTM, forget bias {value:g}"] = _forget_bias(gated, value)
        for name, model in models.items():
            ratios = [gradient_ratio(model, length, batch, seed + repeat * 1000 + length)
                      for length in lengths]
            logs.setdefault(name, []).append(numpy.log(ratios))
    return {name: list(numpy.exp(numpy.mean(values, axis=0))) for name, values in logs.items()}


def compute(hidden_size: int = 16, seq_len: int = 40, epochs: int = 40, lr: float = 0.01,
            train_sequences: int = 256, test_sequences: int = 64, batch_size: int = 32,
            seed: int = 0) -> RNNResult:
    """Train the predictor with Adam and measure it.

    Returns:
        An ``RNNResult``.
    """
    rng = numpy.random.default_rng(seed)
    numnet.manual_seed(seed)
    train_noisy, _ = make_sequences(train_sequences, seq_len, rng)
    test_noisy, test_clean = make_sequences(test_sequences, seq_len, rng)
    model = SinePredictor(hidden_size)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    test_x = numnet.tensor(test_noisy[:-1])
    test_y = numnet.tensor(test_noisy[1:])
    losses, test_losses = [], []
    for _ in range(epochs):
        order = rng.permutation(train_sequences)
        total = 0.0
        for start in range(0, train_sequences, batch_size):
            batch = train_noisy[:, order[start:start + batch_size]]
            loss = F.mse_loss(model(numnet.tensor(batch[:-1])), numnet.tensor(batch[1:]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[1]
        losses.append(total / train_sequences)
        with numnet.no_grad():
            test_losses.append(F.mse_loss(model(test_x), test_y).item())
    with numnet.no_grad():
        prediction = model(test_x).data
    clean_loss = float(numpy.mean((prediction - test_clean[1:]) ** 2))
    persistence = float(numpy.mean((test_noisy[:-1] - test_noisy[1:]) ** 2))
    x = numnet.tensor(test_noisy[:-1], requires_grad=True)
    last = model(x)[-1]
    ((last - numnet.tensor(test_noisy[-1])) ** 2).sum().backward()
    sensitivity = numpy.abs(x.grad.data[:, :, 0]).mean(axis=1)
    passed, max_error = gradient_check(seed)
    return RNNResult(hidden_size, seq_len, epochs, lr, NOISE, OMEGA, losses, test_losses,
                     test_losses[-1] if test_losses else float("nan"), clean_loss,
                     persistence, NOISE ** 2, test_noisy[:-1, 0, 0], test_noisy[1:, 0, 0],
                     test_clean[1:, 0, 0], prediction[:, 0, 0], passed, max_error,
                     sensitivity, VANISHING_LENGTHS, vanishing_gradients(seed=seed))


def format_table(r: RNNResult) -> str:
    """Loss per epoch, the baselines, and the gradient check."""
    every = max(1, r.epochs // 10)
    rows = [[str(e + 1), f"{r.losses[e]:.5f}", f"{r.test_losses[e]:.5f}"]
            for e in range(r.epochs) if e % every == every - 1 or e in (0, r.epochs - 1)]
    back = numpy.arange(len(r.input_sensitivity))[::-1]
    look = [k for k in (0, 1, 2, 4, 8, 16, 32) if k < len(back)]
    sensitivity = ", ".join(f"{k}: {r.input_sensitivity[-1 - k]:.2g}" for k in look)
    return "\n".join([
        f"RNN(1, {r.hidden_size}) + Linear({r.hidden_size}, 1) predicts the next value of "
        f"sin({r.omega:.4f} t + phase) + N(0, {r.noise:g}^2); sequences of {r.seq_len}, Adam "
        f"lr {r.lr:g}", "",
        _common.table(["epoch", "train MSE", "test MSE"], rows), "",
        f"test MSE {r.test_loss:.5f} (vs the noisy next value); against the clean next value "
        f"{r.clean_loss:.5f}",
        f"baselines: predict x(t+1) = x(t): {r.persistence_loss:.5f}; noise floor "
        f"sigma^2 = {r.noise_floor:.5f}",
        f"the RNN's error is {r.test_loss / r.persistence_loss:.2f} x persistence's",
        f"gradients through time vs finite differences (float64, 6 steps): "
        f"{'pass' if r.gradcheck_passed else 'FAIL'}; max |error| on W_hh "
        f"{r.gradcheck_max_error:.1e}",
        f"|dL/dx(t - k)| of the last prediction, by steps back k: {sensitivity}", "",
        "why gated cells: |dL/dx_1| / |dL/dx_T| for L = sum h_T (untrained, hidden 32)",
        _common.table(["T"] + list(r.vanishing),
                      [[str(length)] + [f"{r.vanishing[name][k]:.1e}" for name in r.vanishing]
                       for k, length in enumerate(r.vanishing_lengths)])])


def write_figures(r: RNNResult, out, run: LectureRun) -> None:
    """Loss per epoch, prediction vs truth, and the sensitivity through time."""
    figure, axes = _common.new_figure(20, 4, 1, 4)
    epochs = numpy.arange(1, r.epochs + 1)
    ax = axes[0, 0]
    ax.plot(epochs, r.losses, marker="o", label="train")
    ax.plot(epochs, r.test_losses, marker="o", label="test")
    ax.axhline(r.persistence_loss, color="grey", linestyle="--", label="x(t+1) = x(t)")
    ax.axhline(r.noise_floor, color="black", linestyle=":", label="noise floor")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title("Loss per epoch")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    steps = numpy.arange(1, len(r.truth) + 1)
    ax.plot(steps, r.truth, ".", color="grey", label="noisy next value (target)")
    ax.plot(steps, r.clean, color="black", linewidth=1, label="clean sine")
    ax.plot(steps, r.prediction, color="C1", label="RNN prediction")
    ax.set_xlabel("t")
    ax.set_title("Prediction vs truth (one test sequence)")
    ax.legend(fontsize=8)
    ax = axes[0, 2]
    back = numpy.arange(len(r.input_sensitivity))[::-1]
    ax.semilogy(back, numpy.maximum(r.input_sensitivity, 1e-12), marker=".")
    ax.set_xlabel("steps back from the last prediction")
    ax.set_ylabel("|dL / dx(t)|")
    ax.set_title("Gradient through time (mean over test sequences)")
    ax = axes[0, 3]
    for name, ratios in r.vanishing.items():
        ax.semilogy(r.vanishing_lengths, numpy.maximum(ratios, 1e-300), marker="o",
                    label=name)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("|dL/dx_1| / |dL/dx_T|")
    ax.set_title("Vanishing gradient: RNN vs LSTM (untrained)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    _common.save_figure(figure, out, "rnn.png", run)


def run(out=None, quick: bool = False, epochs=None, seed=None) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the RNN experiment."""
    if quick:
        result = compute(epochs=epochs or 12, train_sequences=96, seq_len=30,
                         seed=seed or 0)
    else:
        result = compute(epochs=epochs or 60, seed=seed or 0)
    return _common.finish(result, format_table, write_figures, out)
