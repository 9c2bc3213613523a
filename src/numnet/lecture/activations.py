"""The five activations of the lecture, their derivatives, and their trade-offs in numbers.

- linear ``f(x) = x``: no saturation, but a stack of linear layers is one linear map;
- sigmoid ``1 / (1 + e**-x)``: saturates (gradient ``f (1 - f)`` ~ 0.0066 at |x| = 5),
  outputs not zero-centred (mean ~ 0.5), an exponential to compute;
- tanh: zero-centred, but saturates too (gradient ``1 - f**2`` ~ 0.00018 at |x| = 5);
- ReLU ``max(0, x)``: no saturation for x > 0, cheap, but not zero-centred and zero gradient
  for x < 0 ("dead" units);
- leaky ReLU ``max(a x, x)`` (a = 0.01): a small gradient for x < 0 as well.

The derivatives come from numnet's autograd (``y.sum().backward()`` gives ``f'(x)``
elementwise); the table makes the slide's points measurable: gradient at -5 and +5, the mean
output on N(0, 1) inputs, and the relative cost of forward + backward on a large array
(timed here, so it varies with the machine: a figure, not a test).

Example:
    >>> r = compute(n_samples=1000, cost_size=1000, repeats=1)
    >>> round(r.grad_at["sigmoid"][5.0], 5), r.grad_at["relu"][-5.0]
    (0.00665, 0.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy

import numnet
import numnet.nn.functional as F
from numnet.lecture import _common
from numnet.lecture._common import LectureRun, f64

NEGATIVE_SLOPE = 0.01

ACTIVATIONS = {
    "linear": lambda x: x * 1.0,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, NEGATIVE_SLOPE),
}
"""name -> function of a Tensor (numnet's ops)."""

POINTS = (-5.0, 5.0)


@dataclass
class ActivationsResult:
    """Values and derivatives on a grid, and the table's numbers.

    Attributes:
        x: the grid (float64).
        values, derivatives: name -> f(x), f'(x) on the grid (f' from autograd).
        grad_at: name -> {point: f'(point)} for the points -5 and +5.
        mean_output: name -> mean of f(z) for z ~ N(0, 1) (``n_samples`` draws).
        std_output: name -> std of f(z) for the same draws.
        dead_fraction: name -> fraction of the draws whose gradient is exactly 0.
        seconds: name -> best time of forward + backward on ``cost_size`` float32 values.
        relative_cost: name -> seconds / seconds of ReLU.
        n_samples, cost_size: the sizes used.
    """

    x: numpy.ndarray
    values: dict
    derivatives: dict
    grad_at: dict
    mean_output: dict
    std_output: dict
    dead_fraction: dict
    seconds: dict
    relative_cost: dict
    n_samples: int
    cost_size: int


def derivative(fn, x: numpy.ndarray) -> tuple:
    """``(f(x), f'(x))`` for an elementwise ``fn``, the derivative from autograd."""
    t = f64(x, requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return y.data.copy(), t.grad.data.copy()


def time_forward_backward(fn, size: int, repeats: int, seed: int = 0) -> float:
    """Best wall time of ``fn(x)`` and its backward on ``size`` float32 N(0, 1) values."""
    data = numpy.random.default_rng(seed).standard_normal(size).astype(numpy.float32)
    gradient = numpy.ones(size, dtype=numpy.float32)
    best = float("inf")
    for _ in range(repeats):
        x = numnet.tensor(data, requires_grad=True)
        start = time.perf_counter()
        fn(x).backward(gradient)
        best = min(best, time.perf_counter() - start)
    return best


def compute(n_samples: int = 1_000_000, cost_size: int = 2_000_000, repeats: int = 5,
            seed: int = 0) -> ActivationsResult:
    """Evaluate the five activations.

    Args:
        n_samples: N(0, 1) draws for the mean output.
        cost_size: array size for the timing.
        repeats: timings per activation (the best one counts).
        seed: for the draws.

    Returns:
        An ``ActivationsResult``.
    """
    x = numpy.linspace(-6.0, 6.0, 481)
    z = numpy.random.default_rng(seed).standard_normal(n_samples)
    values, derivatives, grad_at = {}, {}, {}
    mean_output, std_output, dead, seconds = {}, {}, {}, {}
    for name, fn in ACTIVATIONS.items():
        values[name], derivatives[name] = derivative(fn, x)
        _, at = derivative(fn, numpy.array(POINTS))
        grad_at[name] = {p: float(g) for p, g in zip(POINTS, at)}
        outputs, gradients = derivative(fn, z)
        mean_output[name] = float(outputs.mean())
        std_output[name] = float(outputs.std())
        dead[name] = float(numpy.mean(gradients == 0))
        seconds[name] = time_forward_backward(fn, cost_size, repeats, seed)
    relative = {name: s / seconds["relu"] for name, s in seconds.items()}
    return ActivationsResult(x, values, derivatives, grad_at, mean_output, std_output, dead,
                             seconds, relative, n_samples, cost_size)


def format_table(r: ActivationsResult) -> str:
    """The slide's trade-offs as a table."""
    rows = []
    for name in ACTIVATIONS:
        rows.append([name, f"{r.grad_at[name][-5.0]:.5f}", f"{r.grad_at[name][5.0]:.5f}",
                     f"{r.mean_output[name]:+.4f}", f"{r.std_output[name]:.4f}",
                     f"{r.dead_fraction[name]:.3f}", f"{r.seconds[name] * 1e3:.2f}",
                     f"{r.relative_cost[name]:.2f}"])
    headers = ["activation", "f'(-5)", "f'(+5)", "mean f(z)", "std f(z)", "f'(z) = 0",
               "ms", "cost / ReLU"]
    return "\n".join([
        "Activations: derivatives from autograd; z ~ N(0, 1), "
        f"{r.n_samples:,} draws; cost = forward + backward on {r.cost_size:,} float32 "
        "values (best of several runs)", "",
        _common.table(headers, rows), "",
        "f'(+-5) near 0: sigmoid and tanh saturate, and a saturated unit passes almost no "
        "gradient back;",
        "mean f(z) far from 0: sigmoid and ReLU outputs are not zero-centred, so the next "
        "layer's weight",
        "gradients share one sign; f'(z) = 0: the share of inputs through which a ReLU passes "
        "no gradient.",
        "The timings depend on the machine and its load."])


def write_figures(r: ActivationsResult, out, run: LectureRun) -> None:
    """Each activation and its derivative: two panels."""
    figure, axes = _common.new_figure(11, 4.5, 1, 2)
    for name in ACTIVATIONS:
        axes[0, 0].plot(r.x, r.values[name], label=name)
        axes[0, 1].plot(r.x, r.derivatives[name], label=name)
    axes[0, 0].set_ylim(-2, 2)
    axes[0, 0].set_title("f(x)")
    axes[0, 1].set_ylim(-0.1, 1.2)
    axes[0, 1].set_title("f'(x) (autograd)")
    for ax in axes[0]:
        ax.axhline(0, color="black", linewidth=0.5)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
    figure.tight_layout()
    _common.save_figure(figure, out, "activations.png", run)


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the activations experiment."""
    if quick:
        result = compute(n_samples=100_000, cost_size=200_000, repeats=2)
    else:
        result = compute()
    return _common.finish(result, format_table, write_figures, out)
