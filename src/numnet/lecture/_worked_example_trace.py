"""The worked example's printed trace and drawn network.

The trace lays the chain rule out as the slides do, for one output weight and one hidden
weight::

    dE/dw11(2) = dE/dy1 x dy1/da1(2) x da1(2)/dw11(2)
               = (y1 - t1) x y1(1 - y1) x h1
    dE/dw11(1) = (dE/da1(2) x w11(2) + dE/da2(2) x w12(2)) x dh1/da1(1) x da1(1)/dw11(1)
    w <- w - eta dE/dw

first with the slides' numbers next to the exact ones (the slides' wiring), then exact for
the consistent network; around it the forward table, the slips
(``_worked_example_errata``) and the update of all 12 parameters. The functions take the
network's numbers as arguments (``worked_example`` passes its own).
"""

from __future__ import annotations

import numpy

from numnet.lecture import _common
from numnet.lecture._common import LectureRun
from numnet.lecture._worked_example_errata import SLIDE, unit_name


def parameter_names() -> list:
    """``(lecture name, array name, index)`` of the 12 parameters, hidden layer first."""
    names = []
    for layer, (weight, bias) in ((1, ("W1", "b1")), (2, ("W2", "b2"))):
        for j in range(2):
            names.append((f"w0{j + 1}({layer})", bias, (j,)))
            for i in range(2):
                names.append((f"w{i + 1}{j + 1}({layer})", weight, (j, i)))
    return names


def _g(value: float, digits: int = 5) -> str:
    return f"{value:.{digits}g}"


def _forward_table(r) -> str:
    slide_values = r.slide.forward_values()
    consistent_values = r.consistent.forward_values()
    rows = []
    for q, printed in SLIDE["forward"].items():
        rows.append([q, printed, f"{slide_values[q]:.6f}",
                     "yes" if q in r.forward_matches["slide"] else "NO",
                     f"{consistent_values[q]:.6f}",
                     "yes" if q in r.forward_matches["consistent"] else "no"])
    return _common.table(["quantity", "slide", "slides' wiring", "match",
                          "consistent", "match"], rows)


def _output_trace(p, k: int, c: int, params: dict, eta: float, exact_only: bool) -> list:
    """Trace for the weight ``W2[k, c]`` of the ``Pass`` ``p``."""
    unit = p.order[c]
    name = f"w{c + 1}{k + 1}(2)"
    w = params["W2"][k][c]
    grad = p.grads["W2"][k, c]
    slide_label = "slide ".rjust(len(name) + 5)
    exact_label = "exact ".rjust(len(name) + 5)
    lines = [f"dE/d{name} = dE/dy{k + 1} x dy{k + 1}/da{k + 1}(2) x da{k + 1}(2)/d{name}",
             f"{'':{len(name) + 5}}= (y{k + 1} - t{k + 1}) x y{k + 1}(1 - y{k + 1}) x "
             f"{unit_name(unit)}"]
    out = SLIDE["output"]
    if not exact_only:
        lines.append(f"{slide_label}= {out['dE/dy1']} x {out['dy1/da1(2)']} x "
                     f"{out['da1(2)/dw']} = {out['dE/dw']}")
    lines.append(f"{exact_label}= {_g(p.dE_dy[k])} x {_g(p.dy_da2[k])} x {_g(p.h[unit])} = "
                 f"{_g(grad)}")
    lines.append(f"{name} <- {w:g} - {eta:g} x dE/d{name}")
    if not exact_only:
        lines.append(f"{slide_label}= {w:g} - {eta:g} x {out['dE/dw']} = {out['new']}")
    lines.append(f"{exact_label}= {_g(w - eta * grad, 6)}")
    return lines


def _hidden_trace(p, unit: int, j: int, i: int, x, params: dict, eta: float,
                  exact_only: bool) -> list:
    """Trace for the weight ``W1[j, i]``, with the factors of hidden unit ``unit``."""
    name = f"w{i + 1}{j + 1}(1)"
    column = p.feeding_column(unit)
    w_out = [params["W2"][0][column], params["W2"][1][column]]
    parts = p.dE_da2 * numpy.array(w_out)
    grad = p.dE_da1[unit] * x[i]
    pad = " " * (len(name) + 5)
    slide_label = "slide ".rjust(len(name) + 5)
    exact_label = "exact ".rjust(len(name) + 5)
    lines = [f"dE/d{name} = (dE/da1(2) x w{column + 1}1(2) + dE/da2(2) x w{column + 1}2(2)) x "
             f"d{unit_name(unit)}/da{unit + 1}(1) x da{unit + 1}(1)/d{name}",
             f"{pad}= (dE/da1(2) x {w_out[0]:g} + dE/da2(2) x {w_out[1]:g}) x "
             f"{unit_name(unit)}(1 - {unit_name(unit)}) x x{i + 1}"]
    hid = SLIDE["hidden"]
    if not exact_only:
        lines.append(f"{slide_label}= ({hid['part1']} + ({hid['part2']})) x {hid['dh/da']} x "
                     f"{hid['da/dw']} = {hid['dE/dh']} x {hid['dh/da']} x {hid['da/dw']} = "
                     f"{hid['dE/dw']}")
    lines.append(f"{exact_label}= ({_g(parts[0])} + ({_g(parts[1])})) x {_g(p.dh_da1[unit])} x "
                 f"{x[i]:g} = {_g(p.dE_dh[unit])} x {_g(p.dh_da1[unit])} x {x[i]:g} = "
                 f"{_g(grad)}")
    if unit != j:
        lines.append(f"{pad}  (these are {unit_name(unit)}'s factors: the gradient of "
                     f"w{i + 1}{unit + 1}(1) = {params['W1'][unit][i]:g}, not of {name}; see "
                     "the slips)")
    w = params["W1"][j][i]
    lines.append(f"{name} <- {w:g} - {eta:g} x dE/d{name}")
    if not exact_only:
        lines.append(f"{slide_label}= {w:g} - {eta:g} x {hid['dE/dw']} = {hid['new']}")
    lines.append(f"{exact_label}= {_g(w - eta * grad, 6)}   (with the gradient above)")
    return lines


def _update_table(r, params: dict) -> str:
    rows = []
    for name, array, index in parameter_names():
        value = numpy.array(params[array])[index]
        row = [name, f"{array}{list(index)}", f"{value:g}"]
        for p in (r.consistent, r.slide):
            if array == "W2":
                source = unit_name(p.order[index[1]])
                connects = f"{source}->y{index[0] + 1}"
            elif array == "W1":
                connects = f"x{index[1] + 1}->h{index[0] + 1}"
            else:
                connects = f"1->{'h' if array == 'b1' else 'y'}{index[0] + 1}"
            row += [connects, f"{p.grads[array][index]:.6f}", f"{p.new[array][index]:.6f}"]
        rows.append(row)
    text = _common.table(["param", "array", "value", "connects", "dE/dw", "new",
                          "connects", "dE/dw", "new"], rows, "lllrrrrrr")
    return _common.group_header(text, [(3, 5, "consistent network"),
                                       (6, 8, "slides' wiring")])


def format_trace(r, x, params: dict, eta: float) -> str:
    """The forward table, the chain-rule traces, the slips and the 12-parameter update.

    Args:
        r: a ``worked_example.WorkedExampleResult``.
        x: the network's input ``(x1, x2)``.
        params: the parameters before the step, ``{'W1', 'b1', 'W2', 'b2'}`` -> nested
            sequences.
        eta: the learning rate printed in the updates ``w <- w - eta dE/dw``.
    """
    used = r.slide if r.slide_wiring == "slide" else r.consistent
    k, c = r.output_weight_updated
    j, i = r.hidden_weight_updated
    lines = ["2-2-2 sigmoid network: x = (0.12, 0.3), t = (0.1, 0.9), E = 1/2 sum (t - y)^2, "
             f"eta = {eta:g}",
             "w_ij(l) links node i of layer l-1 to node j of layer l; w_0j(l) is the bias.", "",
             "Forward pass (slide vs the slides' wiring vs the consistent network):",
             _forward_table(r),
             f"-> the slides' numbers come from the '{r.slide_wiring}' wiring "
             f"(hidden units fed to the output layer in the order "
             f"{', '.join(unit_name(u) for u in used.order)}).", "",
             "Chain-rule trace as the slides lay it out (the slides' wiring):"]
    lines += ["  " + line for line in _output_trace(used, k, used.feeding_column(
        r.output_unit_used), params, eta, exact_only=False)]
    lines.append("")
    lines += ["  " + line for line in _hidden_trace(used, r.hidden_unit_used, j, i, x, params,
                                                     eta, exact_only=False)]
    lines += ["", "The slips, found by comparing the slides' numbers with the exact ones:"]
    lines += [_common.bullet(f"[{s.kind}] {s.explanation}") for s in r.slips]
    lines += ["", "The consistent network (w_jk(2) leaves hidden unit j), exact:"]
    p = r.consistent
    lines += ["  " + line for line in _output_trace(p, 0, 0, params, eta, exact_only=True)]
    lines.append("")
    lines += ["  " + line for line in _hidden_trace(p, 0, 0, 0, x, params, eta,
                                                     exact_only=True)]
    lines += ["", f"One step of all 12 parameters (w <- w - {eta:g} dE/dw), "
                  f"E = {r.consistent.error:.6f} (consistent) / {r.slide.error:.6f} "
                  "(slides' wiring):",
              _update_table(r, params)]
    return "\n".join(lines)


def draw_network(r, x, params: dict, out, run: LectureRun) -> None:
    """The 2-2-2 network drawn as the slides draw it, once per wiring, weights on links.

    ``r``, ``x`` and ``params`` are as in ``format_trace``; the figure is written to
    ``out/worked_example_network.png`` and recorded in ``run``.
    """
    figure, axes = _common.new_figure(12, 5, 1, 2)
    for ax, p in ((axes[0, 0], r.slide), (axes[0, 1], r.consistent)):
        layers = {"x": (0.0, x), "h": (1.0, p.h), "y": (2.0, p.y)}
        position = {f"{n}{u + 1}": (left, 1.0 - u) for n, (left, _) in layers.items()
                    for u in range(2)}
        for j in range(2):
            for i in range(2):
                _link(ax, position[f"x{i + 1}"], position[f"h{j + 1}"],
                      f"{params['W1'][j][i]:g} ({p.grads['W1'][j, i]:+.5f})")
        for k in range(2):
            for column in range(2):
                unit = p.order[column]
                _link(ax, position[f"h{unit + 1}"], position[f"y{k + 1}"],
                      f"{params['W2'][k][column]:g} ({p.grads['W2'][k, column]:+.5f})")
        for n, (_, values) in layers.items():
            for u in range(2):
                px, py = position[f"{n}{u + 1}"]
                ax.add_patch(_pyplot_circle((px, py)))
                ax.text(px, py, f"{n}{u + 1}\n{values[u]:.3f}", ha="center", va="center",
                        fontsize=9, zorder=4)
        ax.set_xlim(-0.3, 2.3)
        ax.set_ylim(-0.5, 1.5)
        ax.set_axis_off()
        title = "the slides' (crossed) wiring" if p.wiring == "slide" else "consistent wiring"
        ax.set_title(f"{title}: E = {p.error:.5f}\nweight (dE/dw) on each link")
    figure.tight_layout()
    _common.save_figure(figure, out, "worked_example_network.png", run)


def _pyplot_circle(center):
    from matplotlib.patches import Circle
    return Circle(center, 0.13, facecolor="#cfe2f3", edgecolor="black", zorder=3)


def _link(ax, start, end, label: str) -> None:
    ax.plot([start[0], end[0]], [start[1], end[1]], color="grey", linewidth=1, zorder=1)
    where = 0.5 if start[1] == end[1] else 0.27
    x = start[0] + where * (end[0] - start[0])
    y = start[1] + where * (end[1] - start[1])
    ax.text(x, y, label, fontsize=7, ha="center", va="center",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, zorder=2)
