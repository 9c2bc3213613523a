"""Backpropagation on the smallest graph: ``g = w x``, ``f = g + b`` (the lecture's toy).

With ``w = -2``, ``x = 5``, ``b = 3`` the forward pass gives ``f = -7``; ``f`` should become
3. Backward, the chain rule gives ``df/dg = 1``, ``df/dw = df/dg * dg/dw = x = 5``,
``df/db = 1`` (and ``df/dx = w = -2``), here from numnet's autograd.

The slide's step moves ``w`` and ``b`` along the gradient of ``f`` because ``f`` is too
small: ``w <- w + eta df/dw``, ``b <- b + eta df/db``. That is gradient descent
``w <- w - eta dE/dw`` on ``E = |t - f|`` (``dE/dw = -sign(t - f) df/dw``), which this
module iterates: each step moves ``f`` by ``eta (x**2 + 1)``, whatever the distance left,
so a small ``eta`` creeps up and then hops around the target, a large one overshoots at
once. For contrast, descent on ``E = 1/2 (t - f)**2`` scales the step with the error:
the error is multiplied by ``1 - eta (x**2 + 1)`` each step, so it converges only for
``eta < 2 / (x**2 + 1)`` (``= 2 / 26 = 0.077`` here): the slide's rates would diverge.

Example:
    >>> r = compute(steps=3)
    >>> r.f, r.grads["w"], r.grads["b"]
    (-7.0, 5.0, 1.0)
    >>> [(u.eta, u.w, u.b) for u in r.first_updates]
    [(0.1, -1.5, 3.1), (0.3, -0.5, 3.3), (0.5, 0.5, 3.5)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

import numnet.nn.functional as F
from numnet.lecture import _common
from numnet.lecture._common import LectureRun, f64, fmt

W, X, B = -2.0, 5.0, 3.0
TARGET = 3.0
ETAS = (0.1, 0.3, 0.5)
SQUARED_ETAS = (0.01, 0.05, 0.1)
"""Rates for the squared-error contrast: below, near and above ``2 / (x**2 + 1)``."""

SLIDE = {0.1: ("-1.5", "3.1"), 0.3: ("-0.5", "3.3"), 0.5: ("0.5", "3.5")}
"""The slide's (w, b) after one step, per eta (for the "slide" column only)."""


@dataclass
class Update:
    """One gradient step from the start: the new ``w``, ``b`` and the ``f`` they give."""

    eta: float
    w: float
    b: float
    f: float


@dataclass
class ToyBackpropResult:
    """Numbers of the toy experiment.

    Attributes:
        w, x, b, target: the lecture's inputs.
        g, f: forward values (``g = w x``, ``f = g + b``).
        grads: ``df/d(name)`` from autograd for ``'w'``, ``'x'``, ``'b'``, ``'g'``.
        first_updates: the slide's step for each eta (``Update``s).
        trajectories: eta -> f at steps 0..steps, descending ``E = |t - f|``.
        squared_trajectories: eta -> f at steps 0..steps, descending ``E = (t - f)**2 / 2``.
        squared_threshold: ``2 / |grad f|**2 = 2 / (x**2 + 1)``, the largest stable eta
            for the squared error, from the autograd gradients.
    """

    w: float
    x: float
    b: float
    target: float
    g: float
    f: float
    grads: dict
    first_updates: list
    trajectories: dict
    squared_trajectories: dict
    squared_threshold: float


def forward(w, x, b):
    """``(g, f)`` for tensors w, x, b: ``g = w x``, ``f = g + b``."""
    g = w * x
    f = g + b
    return g, f


def _loss(f, target: float, loss: str):
    difference = f64(target) - f
    if loss == "abs":
        return F.abs(difference)
    return 0.5 * difference * difference


def descend(w0: float, b0: float, x: float, target: float, eta: float, steps: int,
            loss: str = "abs") -> numpy.ndarray:
    """f after 0..steps steps of ``w <- w - eta dE/dw``, ``b <- b - eta dE/db`` (autograd).

    Args:
        w0, b0, x, target: the start and the input.
        eta: the learning rate.
        steps: how many steps.
        loss: ``'abs'`` for ``E = |t - f|`` (the slide's step) or ``'squared'`` for
            ``E = (t - f)**2 / 2``.

    Returns:
        The ``steps + 1`` values of f.
    """
    w = f64(w0, requires_grad=True)
    b = f64(b0, requires_grad=True)
    x_tensor = f64(x)
    values = []
    for _ in range(steps):
        _, f = forward(w, x_tensor, b)
        values.append(f.item())
        _loss(f, target, loss).backward()
        w = f64(w.item() - eta * w.grad.item(), requires_grad=True)
        b = f64(b.item() - eta * b.grad.item(), requires_grad=True)
    values.append(forward(w, x_tensor, b)[1].item())
    return numpy.array(values)


def compute(w: float = W, x: float = X, b: float = B, target: float = TARGET,
            etas=ETAS, squared_etas=SQUARED_ETAS, steps: int = 8) -> ToyBackpropResult:
    """Run the toy: forward, backward, the slide's first step, then the iterations.

    Returns:
        A ``ToyBackpropResult``.
    """
    w_t = f64(w, requires_grad=True)
    x_t = f64(x, requires_grad=True)
    b_t = f64(b, requires_grad=True)
    g, f = forward(w_t, x_t, b_t)
    g.retain_grad()
    f.backward()
    grads = {"w": w_t.grad.item(), "x": x_t.grad.item(), "b": b_t.grad.item(),
             "g": g.grad.item()}
    first_updates = []
    for eta in etas:
        trajectory_w = f64(w, requires_grad=True)
        trajectory_b = f64(b, requires_grad=True)
        _, f_start = forward(trajectory_w, f64(x), trajectory_b)
        _loss(f_start, target, "abs").backward()
        new_w = w - eta * trajectory_w.grad.item()
        new_b = b - eta * trajectory_b.grad.item()
        first_updates.append(Update(eta, round(new_w, 12), round(new_b, 12),
                                    round(new_w * x + new_b, 12)))
    trajectories = {eta: descend(w, b, x, target, eta, steps, "abs") for eta in etas}
    squared = {eta: descend(w, b, x, target, eta, steps, "squared") for eta in squared_etas}
    threshold = 2.0 / (grads["w"] ** 2 + grads["b"] ** 2)
    return ToyBackpropResult(w, x, b, target, g.item(), f.item(), grads, first_updates,
                             trajectories, squared, threshold)


def _behaviour(values: numpy.ndarray, target: float) -> str:
    errors = numpy.abs(values - target)
    crossed = numpy.nonzero(numpy.sign(values - target) != numpy.sign(values[0] - target))[0]
    if crossed.size == 0:
        return f"approaches from one side, |t - f| = {errors[-1]:.3g} at the end"
    first = int(crossed[0])
    after = values[first - 1:]
    return (f"overshoots at step {first} (f = {values[first]:g}), then oscillates between "
            f"{after.min():g} and {after.max():g}; closest |t - f| = {errors.min():.3g}")


def format_table(r: ToyBackpropResult) -> str:
    """Forward values, gradients, the slide's step, and the iterations."""
    lecture = (r.w, r.x, r.b) == (W, X, B)
    lines = [f"g = w x, f = g + b with w = {r.w:g}, x = {r.x:g}, b = {r.b:g}; "
             f"target t = {r.target:g}",
             f"forward:  g = {r.g:g}, f = {r.f:g}",
             f"backward (autograd): df/dg = {r.grads['g']:g}, df/dw = df/dg * dg/dw = x = "
             f"{r.grads['w']:g}, df/db = {r.grads['b']:g}, df/dx = w = {r.grads['x']:g}", "",
             "One step w <- w + eta df/dw, b <- b + eta df/db (f is below t; descent on "
             "E = |t - f|):"]
    rows = []
    for u in r.first_updates:
        slide = SLIDE.get(u.eta) if lecture else None
        rows.append([fmt(u.eta, 1), f"{u.w:g}", slide[0] if slide else "", f"{u.b:g}",
                     slide[1] if slide else "", f"{u.f:g}"])
    lines.append(_common.table(["eta", "w", "(slide)", "b", "(slide)", "f after"], rows))
    steps = len(next(iter(r.trajectories.values())))
    lines += ["", f"Iterating, f per step (E = |t - f|; each step moves f by "
                  f"eta (x^2 + 1) = eta * {r.grads['w'] ** 2 + r.grads['b'] ** 2:g}):"]
    headers = ["step"] + [f"eta {eta:g}" for eta in r.trajectories]
    rows = [[str(k)] + [f"{v[k]:.4g}" for v in r.trajectories.values()] for k in range(steps)]
    lines.append(_common.table(headers, rows))
    lines += [f"  eta {eta:g}: {_behaviour(v, r.target)}" for eta, v in r.trajectories.items()]
    lines += ["", "Contrast, E = (t - f)^2 / 2: the error is multiplied by 1 - eta (x^2 + 1) "
                  "per step,", f"so it is stable only for eta < 2 / (x^2 + 1) = "
                  f"{r.squared_threshold:.4f}:"]
    headers = ["step"] + [f"eta {eta:g}" for eta in r.squared_trajectories]
    rows = [[str(k)] + [f"{v[k]:.4g}" for v in r.squared_trajectories.values()]
            for k in range(steps)]
    lines.append(_common.table(headers, rows))
    for eta, v in r.squared_trajectories.items():
        ratio = (v[1] - r.target) / (v[0] - r.target)
        lines.append(f"  eta {eta:g}: error ratio per step {ratio:+.3g}: "
                     f"{'converges' if abs(ratio) < 1 else 'diverges'}")
    return "\n".join(lines)


def write_figures(r: ToyBackpropResult, out, run: LectureRun) -> None:
    """f per step for each eta (both losses), and the graph with values and gradients."""
    figure, axes = _common.new_figure(11, 4, 1, 2)
    for ax, trajectories, title in (
            (axes[0, 0], r.trajectories, "E = |t - f| (the slide's step)"),
            (axes[0, 1], r.squared_trajectories, "E = (t - f)^2 / 2")):
        for eta, values in trajectories.items():
            ax.plot(numpy.arange(len(values)), values, marker="o", label=f"eta = {eta:g}")
        ax.axhline(r.target, color="black", linestyle="--", linewidth=1, label="target")
        ax.set_xlabel("step")
        ax.set_ylabel("f = w x + b")
        ax.set_title(title)
        ax.legend(fontsize=8)
    limit = max(abs(r.f), abs(r.target)) * 3
    axes[0, 1].set_ylim(-limit, limit)
    figure.tight_layout()
    _common.save_figure(figure, out, "toy_backprop.png", run)
    w = f64(r.w, requires_grad=True)
    x = f64(r.x)
    b = f64(r.b, requires_grad=True)
    g, f = forward(w, x, b)
    g.retain_grad()
    f.retain_grad()
    f.backward()
    _common.save_graph(f, out, "toy_backprop_graph.png", run,
                       params={"w": w, "x": x, "b": b, "g = w x": g, "f = g + b": f})


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the toy backpropagation."""
    result = compute(steps=6 if quick else 8)
    return _common.finish(result, format_table, write_figures, out)
