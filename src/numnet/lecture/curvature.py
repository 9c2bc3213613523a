"""Curvature behind the lecture's learning rates: Hessians by double backward.

Gradient descent ``w <- w - eta grad E`` on a quadratic ``E`` multiplies the error along
each eigenvector of the Hessian ``H`` by ``1 - eta lambda``; it converges only when
``|1 - eta lambda| < 1`` for every eigenvalue, i.e. ``eta < 2 / lambda_max``. The toy
example's ``E = (t - f)^2 / 2`` with ``f = w x + b`` has ``H = [[x^2, x], [x, 1]]`` over
``(w, b)``: eigenvalues ``0`` and ``x^2 + 1``, so the bound is the toy's
``2 / (x^2 + 1)``. Here ``H`` comes from autograd (``create_graph=True``, then the gradient
differentiated again), for the toy and for the worked 2-2-2 network at the slide's weights
(12 x 12, its largest eigenvalue beside the slide's ``eta = 0.5``; a local bound, since that
``E`` is not quadratic).

Newton's method (as DeZero teaches it) uses the curvature itself:
``x <- x - f'(x) / f''(x)``, both derivatives by double backward; on
``f(x) = x^4 - 2 x^2`` from ``x = 2`` it reaches the minimum at ``x = 1`` in a few steps,
where gradient descent with a fixed ``eta`` needs many.

Example:
    >>> r = compute(steps=8)
    >>> r.toy_eigenvalues, round(r.toy_bound, 4)
    ((0.0, 26.0), 0.0769)
    >>> r.first_derivative, r.second_derivative
    (24.0, 44.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

import numnet
import numnet.nn.functional as F
from numnet.autograd.functional import hessian
from numnet.lecture import _common, toy_backprop, worked_example
from numnet.lecture._common import LectureRun, f64

NEWTON_START = 2.0
GD_ETA = 0.02
"""Gradient descent's rate on ``x^4 - 2 x^2`` (stable near x = 1, where f'' = 8)."""


@dataclass
class CurvatureResult:
    """Numbers of the curvature experiment.

    Attributes:
        toy_hessian: d2E/d(w, b)^2 of ``E = (t - f)^2 / 2`` at the toy's start (2 x 2).
        toy_eigenvalues: its eigenvalues, ascending; ``toy_bound = 2 / max``.
        toy_formula_bound: the toy's own ``2 / (x^2 + 1)``.
        network_hessian: d2E/dtheta^2 of the 2-2-2 network, theta = (W1, b1, W2, b2)
            flattened in that order (12 x 12), consistent wiring, slide's weights.
        network_eigenvalues: its eigenvalues, ascending; ``network_bound = 2 / max``.
        slide_eta: the slide's learning rate.
        first_derivative, second_derivative: f'(2) and f''(2) of ``x^4 - 2 x^2``.
        newton, descent: the iterates x_0..x_steps of Newton's method and of gradient
            descent with ``GD_ETA``.
    """

    toy_hessian: numpy.ndarray
    toy_eigenvalues: tuple
    toy_bound: float
    toy_formula_bound: float
    network_hessian: numpy.ndarray
    network_eigenvalues: tuple
    network_bound: float
    slide_eta: float
    first_derivative: float
    second_derivative: float
    newton: list
    descent: list


def quartic(x):
    """``f(x) = x^4 - 2 x^2``: minima at x = +-1, ``f' = 4x^3 - 4x``, ``f'' = 12x^2 - 4``."""
    return x ** 4 - 2 * x ** 2


def derivatives(x: float) -> tuple:
    """``(f'(x), f''(x))`` of ``quartic``: the gradient kept as a graph
    (``create_graph=True``) and differentiated again."""
    t = f64(x, requires_grad=True)
    (first,) = numnet.autograd.grad(quartic(t), t, create_graph=True)
    (second,) = numnet.autograd.grad(first, t)
    return float(first.item()), float(second.item())


def newton(x: float, steps: int) -> list:
    """Newton's iterates ``x <- x - f'(x) / f''(x)``."""
    iterates = [x]
    for _ in range(steps):
        first, second = derivatives(x)
        x = x - first / second
        iterates.append(x)
    return iterates


def descent(x: float, steps: int, eta: float = GD_ETA) -> list:
    """Gradient descent's iterates ``x <- x - eta f'(x)``."""
    iterates = [x]
    for _ in range(steps):
        x = x - eta * derivatives(x)[0]
        iterates.append(x)
    return iterates


def toy_error(w, b):
    """The toy's ``E = (t - f)^2 / 2`` with ``f = w x + b``."""
    _, f = toy_backprop.forward(w, f64(toy_backprop.X), b)
    return 0.5 * (toy_backprop.TARGET - f) ** 2


def network_error(w1, b1, w2, b2):
    """The worked example's ``E = 1/2 sum (t - y)^2`` of the 2-2-2 sigmoid network."""
    h = F.sigmoid(w1 @ f64(worked_example.X) + b1)
    y = F.sigmoid(w2 @ h + b2)
    return 0.5 * ((f64(worked_example.T) - y) ** 2).sum()


def _flat_hessian(blocks, sizes) -> numpy.ndarray:
    """The blocks ``H[a][b]`` of a Hessian over several tensors as one matrix."""
    return numpy.block([[blocks[a][b].data.reshape(sizes[a], sizes[b])
                         for b in range(len(sizes))] for a in range(len(sizes))])


def compute(steps: int = 12) -> CurvatureResult:
    """The toy's and the network's Hessians, and Newton against gradient descent."""
    toy = hessian(toy_error, (f64(toy_backprop.W), f64(toy_backprop.B)))
    toy_matrix = _flat_hessian(toy, (1, 1))
    toy_values = numpy.linalg.eigvalsh(toy_matrix)
    params = [f64(worked_example.INITIAL[name]) for name in worked_example.PARAMETERS]
    blocks = hessian(network_error, tuple(params))
    net_matrix = _flat_hessian(blocks, [p.numel() for p in params])
    net_values = numpy.linalg.eigvalsh(net_matrix)
    first, second = derivatives(NEWTON_START)
    return CurvatureResult(
        toy_hessian=toy_matrix, toy_eigenvalues=tuple(float(v) for v in toy_values),
        toy_bound=2 / float(toy_values[-1]),
        toy_formula_bound=2 / (toy_backprop.X ** 2 + 1),
        network_hessian=net_matrix, network_eigenvalues=tuple(float(v) for v in net_values),
        network_bound=2 / float(net_values[-1]), slide_eta=worked_example.ETA,
        first_derivative=first, second_derivative=second,
        newton=newton(NEWTON_START, steps), descent=descent(NEWTON_START, steps))


def format_table(r: CurvatureResult) -> str:
    """The two Hessians' eigenvalues and bounds, and the Newton/descent iterates."""
    lines = ["Toy example, E = (t - f)^2 / 2 over (w, b): Hessian by double backward",
             f"  H = {r.toy_hessian.tolist()}",
             f"  eigenvalues {r.toy_eigenvalues[0]:.4g}, {r.toy_eigenvalues[1]:.4g}: "
             f"eta < 2 / lambda_max = {r.toy_bound:.4f}, the toy's 2 / (x^2 + 1) = "
             f"{r.toy_formula_bound:.4f}", "",
             "Worked 2-2-2 network at the slide's weights: 12 x 12 Hessian of E",
             "  eigenvalues " + ", ".join(f"{v:.4f}" for v in r.network_eigenvalues),
             f"  lambda_max = {r.network_eigenvalues[-1]:.4g}: eta < {r.network_bound:.3g} "
             f"near these weights; the slide's eta = {r.slide_eta:g} is well inside", "",
             f"Newton's method on f(x) = x^4 - 2x^2 from x = {NEWTON_START:g}: f'(2) = "
             f"{r.first_derivative:g}, f''(2) = {r.second_derivative:g} (double backward)"]
    rows = [(str(k), f"{n:.10f}", f"{d:.10f}") for k, (n, d) in
            enumerate(zip(r.newton, r.descent))]
    lines.append(_common.table(("step", "Newton x", f"descent x (eta = {GD_ETA:g})"), rows))
    return "\n".join(lines)


def write_figures(r: CurvatureResult, out, run: LectureRun) -> None:
    """|x - 1| per step for Newton's method and gradient descent (log scale)."""
    figure, axes = _common.new_figure(6, 4)
    ax = axes[0, 0]
    for name, values in (("Newton", r.newton), (f"descent, eta = {GD_ETA:g}", r.descent)):
        distance = numpy.maximum(numpy.abs(numpy.array(values) - 1), 1e-17)
        ax.semilogy(numpy.arange(len(values)), distance, marker="o", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("|x - 1|")
    ax.set_title("x^4 - 2x^2 from x = 2")
    ax.legend(fontsize=8)
    figure.tight_layout()
    _common.save_figure(figure, out, "curvature.png", run)


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the curvature experiment."""
    return _common.finish(compute(steps=8 if quick else 12), format_table, write_figures, out)
