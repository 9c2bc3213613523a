"""The lecture's worked example: one backpropagation step through a 2-2-2 sigmoid network.

Inputs ``x = (0.12, 0.3)``, targets ``t = (0.1, 0.9)``, squared error
``E = 1/2 sum_k (t_k - y_k)**2`` and learning rate ``eta = 0.5``. Weights in the lecture's
notation ``w_ij^(l)``: from node ``i`` of layer ``l - 1`` to node ``j`` of layer ``l``, the
bias as ``w_0j^(l)`` on a constant input ``x_0 = 1``. As arrays (PyTorch's ``Linear``
layout, row ``j`` = the unit, column ``i`` = its input): ``W1[j-1, i-1] = w_ij^(1)``::

    hidden:  a_j^(1) = sum_i w_ij^(1) x_i + w_0j^(1),   h_j = sigmoid(a_j^(1))
             W1 = [[0.15, 0.2], [0.2, 0.3]],  b1 = (0.1, 0.2)
    output:  a_k^(2) = sum_j w_jk^(2) h_j + w_0k^(2),   y_k = sigmoid(a_k^(2))
             W2 = [[0.40, 0.5], [0.45, 0.55]], b2 = (0.2, 0.1)

The chain rule (each factor is a local derivative; numnet's autograd gives every one)::

    dE/dw_jk^(2) = dE/dy_k * dy_k/da_k^(2) * da_k^(2)/dw_jk^(2)
                 = (y_k - t_k) * y_k (1 - y_k) * h_j
    dE/dw_ij^(1) = (sum_k dE/da_k^(2) * w_jk^(2)) * h_j (1 - h_j) * x_i
    w <- w - eta dE/dw

The slides' numbers follow a crossed wiring: their output pre-activation 0.703 is
``0.40 * 0.578 + 0.5 * 0.544 + 0.2``, so ``w11^(2) = 0.40`` multiplies the second hidden unit
(``sigmoid(0.314) = 0.578``), and the hidden update then applies that unit's gradient to
``w11^(1) = 0.15``, which feeds the first. Their intermediate factors are rounded before they
are multiplied (0.0727 where the exact product is 0.07281). ``compute`` runs both wirings,
finds which one the slides used from their numbers, and returns every slip as data.

Example:
    >>> r = compute()
    >>> r.slide_wiring, round(float(r.slide.grads["W2"][0, 0]), 5)
    ('slide', 0.07281)
    >>> sorted({s.kind for s in r.slips})
    ['rounding', 'wiring']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy

import numnet.nn.functional as F
from numnet.lecture import _common
from numnet.lecture._common import LectureRun, Slip, check_printed, f64, matches_printed

X = (0.12, 0.3)
T = (0.1, 0.9)
W1 = ((0.15, 0.2), (0.2, 0.3))
B1 = (0.1, 0.2)
W2 = ((0.40, 0.5), (0.45, 0.55))
B2 = (0.2, 0.1)
ETA = 0.5

WIRINGS = {"consistent": (0, 1), "slide": (1, 0)}
"""Which hidden unit feeds column ``c`` of ``W2`` (``a^(2) = W2 h[order] + b2``).

'consistent' follows the notation (``w_jk^(2)`` leaves hidden unit j); 'slide' is the crossed
wiring; ``compute`` decides from the slides' numbers which one the slides used."""

SLIDE = {
    "forward": {"a1(1)": "0.178", "a2(1)": "0.314", "h1": "0.544", "h2": "0.578",
                "a1(2)": "0.703", "a2(2)": "0.659", "y1": "0.669", "y2": "0.659",
                "E": "0.191"},
    "output": {"dE/dy1": "0.569", "dy1/da1(2)": "0.221", "da1(2)/dw": "0.578",
               "dE/dw": "0.0727", "new": "0.36365"},
    "hidden": {"part1": "0.0503", "part2": "-0.0244", "dE/dh": "0.0259", "dh/da": "0.2439",
               "da/dw": "0.12", "dE/dw": "0.00075", "new": "0.149625"},
}
"""The numbers the slides print (for the "slide" column and the slip finder only)."""

PARAMETERS = ("W1", "b1", "W2", "b2")


def parameter_names() -> list:
    """``(lecture name, array name, index)`` of the 12 parameters, hidden layer first."""
    names = []
    for layer, (weight, bias) in ((1, ("W1", "b1")), (2, ("W2", "b2"))):
        for j in range(2):
            names.append((f"w0{j + 1}({layer})", bias, (j,)))
            for i in range(2):
                names.append((f"w{i + 1}{j + 1}({layer})", weight, (j, i)))
    return names


@dataclass
class Pass:
    """One forward and backward pass of one wiring, everything exact (float64, autograd).

    Attributes:
        wiring: 'consistent' or 'slide'; ``order``: the hidden unit feeding column c of W2.
        a1, h, a2, y: pre-activations and outputs of the hidden and output layers.
        error: E.
        dE_dy, dy_da2, dE_da2: output factors (``dy/da`` = ``dE/da / dE/dy`` from autograd).
        dE_dh, dh_da1, dE_da1: hidden factors.
        grads: ``dE/d`` each parameter array (``'W1'``, ``'b1'``, ``'W2'``, ``'b2'``).
        new: each parameter array after ``w <- w - eta dE/dw``.
    """

    wiring: str
    order: tuple
    a1: numpy.ndarray
    h: numpy.ndarray
    a2: numpy.ndarray
    y: numpy.ndarray
    error: float
    dE_dy: numpy.ndarray
    dy_da2: numpy.ndarray
    dE_da2: numpy.ndarray
    dE_dh: numpy.ndarray
    dh_da1: numpy.ndarray
    dE_da1: numpy.ndarray
    grads: dict
    new: dict

    def forward_values(self) -> dict:
        """The slide's forward quantities by name."""
        return {"a1(1)": self.a1[0], "a2(1)": self.a1[1], "h1": self.h[0], "h2": self.h[1],
                "a1(2)": self.a2[0], "a2(2)": self.a2[1], "y1": self.y[0], "y2": self.y[1],
                "E": self.error}

    def feeding_column(self, unit: int) -> int:
        """The column of W2 that hidden unit ``unit`` feeds."""
        return self.order.index(unit)


@dataclass
class WorkedExampleResult:
    """Both wirings, the wiring the slides used, the slips, and the 12-parameter update.

    Attributes:
        consistent, slide: the two ``Pass``es.
        slide_wiring: the wiring whose forward values match every slide number.
        forward_matches: wiring -> names of the forward quantities that match the slide.
        output_unit_used: the hidden unit (0-based) whose value the slide uses as
            ``da1(2)/dw`` for ``w11(2)``.
        hidden_unit_used: the hidden unit whose gradient factors the slide's hidden trace
            uses (from its ``dh/da`` factor and output weights).
        hidden_weight_updated: ``(j, i)`` of the W1 entry the slide updates (found from its
            new value and its gradient: ``old = new + eta * gradient``).
        output_weight_updated: ``(k, c)`` of the W2 entry the slide updates.
        slips: ``Slip``s: wiring slips and rounding slips.
    """

    consistent: Pass
    slide: Pass
    slide_wiring: str
    forward_matches: dict
    output_unit_used: int
    output_weight_updated: tuple
    hidden_unit_used: int
    hidden_weight_updated: tuple
    slips: list = field(default_factory=list)


def network(wiring: str, eta: float = ETA):
    """The 2-2-2 network as numnet tensors, run forward and backward.

    Returns:
        ``(tensors, pass)``: a dict of every named tensor of the graph (for drawing it) and
        the ``Pass`` with all values and gradients.
    """
    order = WIRINGS[wiring]
    x = f64(X)
    t = f64(T)
    params = {"W1": f64(W1, True), "b1": f64(B1, True), "W2": f64(W2, True),
              "b2": f64(B2, True)}
    a1 = params["W1"] @ x + params["b1"]
    h = F.sigmoid(a1)
    h_fed = h if order == (0, 1) else h[list(order)]
    a2 = params["W2"] @ h_fed + params["b2"]
    y = F.sigmoid(a2)
    error = 0.5 * ((t - y) ** 2).sum()
    for tensor in (a1, h, a2, y, error):
        tensor.retain_grad()
    error.backward()
    grads = {name: p.grad.data.copy() for name, p in params.items()}
    result = Pass(
        wiring=wiring, order=order, a1=a1.data.copy(), h=h.data.copy(), a2=a2.data.copy(),
        y=y.data.copy(), error=float(error.item()), dE_dy=y.grad.data.copy(),
        dy_da2=a2.grad.data / y.grad.data, dE_da2=a2.grad.data.copy(),
        dE_dh=h.grad.data.copy(), dh_da1=a1.grad.data / h.grad.data,
        dE_da1=a1.grad.data.copy(), grads=grads,
        new={name: p.data - eta * grads[name] for name, p in params.items()})
    tensors = {"x": x, "t": t, **params, "a(1) = W1 x + b1": a1, "h = sigmoid(a(1))": h,
               "a(2)": a2, "y = sigmoid(a(2))": y, "E = 1/2 sum (t - y)^2": error}
    if h_fed is not h:
        tensors["h as the slide feeds it"] = h_fed
    return tensors, result


def _nearest(values, target: float) -> int:
    return int(numpy.argmin(numpy.abs(numpy.asarray(values, dtype=float) - target)))


def _find_entry(array: numpy.ndarray, value: float) -> tuple:
    index = numpy.unravel_index(int(numpy.argmin(numpy.abs(array - value))), array.shape)
    return tuple(int(i) for i in index)


def _unit(j: int) -> str:
    return f"h{j + 1}"


def find_slips(consistent: Pass, slide: Pass, eta: float = ETA) -> tuple:
    """Work out the slides' wiring from their numbers and list where they slip.

    Returns:
        ``(slide_wiring, forward_matches, output_unit_used, output_weight_updated,
        hidden_unit_used, hidden_weight_updated, slips)`` as in ``WorkedExampleResult``.
    """
    printed = SLIDE["forward"]
    passes = {"consistent": consistent, "slide": slide}
    forward_matches = {
        name: [q for q, v in p.forward_values().items() if matches_printed(v, printed[q])]
        for name, p in passes.items()}
    slide_wiring = max(passes, key=lambda name: len(forward_matches[name]))
    used = passes[slide_wiring]
    slips = []
    out = SLIDE["output"]
    hid = SLIDE["hidden"]
    w2 = numpy.array(W2)
    w1 = numpy.array(W1)

    # Output layer: which weight is updated, which hidden value multiplies it.
    output_weight = _find_entry(w2, float(out["new"]) + eta * float(out["dE/dw"]))
    k, c = output_weight
    output_unit = _nearest(used.h, float(out["da1(2)/dw"]))
    name = f"w{c + 1}{k + 1}(2)"
    if output_unit != c:
        mismatched = [q for q in printed if q not in forward_matches["consistent"]]
        consistent_values = consistent.forward_values()
        slips.append(Slip(
            f"dE/d{name}", "wiring", out["da1(2)/dw"], float(used.h[output_unit]),
            None,
            f"output layer: {name} = {w2[k, c]:g} is multiplied by {out['da1(2)/dw']}, which "
            f"the forward pass computed as the second hidden unit {_unit(output_unit)} = "
            f"sigmoid({used.a1[output_unit]:.3f}); {name} leaves hidden unit {c + 1} "
            f"({_unit(c)} = {used.h[c]:.3f}). The slides' forward values use the same crossed "
            f"wiring: {', '.join(f'{q} = {printed[q]}' for q in mismatched)} (the consistent "
            f"network gives {', '.join(f'{consistent_values[q]:.3f}' for q in mismatched)})."))

    # Hidden layer: whose factors, which weight updated.
    hidden_unit = _nearest(used.h * (1 - used.h), float(hid["dh/da"]))
    delta1 = float(out["dE/dy1"]) * float(out["dy1/da1(2)"])
    outgoing = float(hid["part1"]) / delta1
    column = _nearest(w2[0], outgoing)
    hidden_weight = _find_entry(w1, float(hid["new"]) + eta * float(hid["dE/dw"]))
    j, i = hidden_weight
    weight_name = f"w{i + 1}{j + 1}(1)"
    if hidden_unit != j:
        fed = used.feeding_column(j)
        right = used.grads["W1"][j, i]
        own = used.grads["W1"][hidden_unit, i]
        slips.append(Slip(
            f"dE/d{weight_name}", "wiring", hid["dE/dw"], float(right), None,
            f"hidden layer: the factors {hid['part1']} = dE/da1(2) * {w2[0, column]:g}, "
            f"{hid['part2']} = dE/da2(2) * {w2[1, column]:g} and {hid['dh/da']} = "
            f"{used.h[hidden_unit]:.3f} (1 - {used.h[hidden_unit]:.3f}) belong to hidden unit "
            f"{_unit(hidden_unit)}, whose weight from x{i + 1} is w{i + 1}{hidden_unit + 1}(1) = "
            f"{w1[hidden_unit, i]:g} (exact gradient {own:.6f}); the slide applies them to "
            f"{weight_name} = {w1[j, i]:g}, which feeds {_unit(j)} = {used.h[j]:.3f}. "
            f"{weight_name}'s own gradient is {right:.6f} in the slides' wiring (via "
            f"{w2[0, fed]:g}, {w2[1, fed]:g}) and {consistent.grads['W1'][j, i]:.6f} in the "
            f"consistent network."))

    # Rounding: each printed factor against the exact one, and against the slide's own
    # rounded factors.
    f_out = [float(out[q]) for q in ("dE/dy1", "dy1/da1(2)", "da1(2)/dw")]
    exact_out = {"dE/dy1": used.dE_dy[k], "dy1/da1(2)": used.dy_da2[k],
                 "da1(2)/dw": used.h[output_unit]}
    for q, value in exact_out.items():
        slips.append(check_printed(q, value, out[q]))
    exact_grad = used.grads["W2"][k, used.feeding_column(output_unit)]
    slips.append(check_printed(f"dE/d{name}", exact_grad, out["dE/dw"],
                               float(numpy.prod(f_out)),
                               "factors " + " x ".join(out[q] for q in exact_out)))
    slips.append(check_printed(f"new {name}", w2[k, c] - eta * exact_grad, out["new"],
                               w2[k, c] - eta * float(out["dE/dw"]),
                               f"gradient {out['dE/dw']}"))
    parts_exact = used.dE_da2 * w2[:, column]
    slips.append(check_printed("dE/da1(2) * w", parts_exact[0], hid["part1"],
                               delta1 * w2[0, column],
                               f"factors {out['dE/dy1']} x {out['dy1/da1(2)']} x "
                               f"{w2[0, column]:g}"))
    slips.append(check_printed("dE/da2(2) * w", parts_exact[1], hid["part2"]))
    slips.append(check_printed(f"dE/d{_unit(hidden_unit)}", used.dE_dh[hidden_unit],
                               hid["dE/dh"], float(hid["part1"]) + float(hid["part2"]),
                               f"parts {hid['part1']} + ({hid['part2']})"))
    slips.append(check_printed("dh/da", used.dh_da1[hidden_unit], hid["dh/da"]))
    slips.append(check_printed("da/dw", X[i], hid["da/dw"]))
    hidden_exact = used.grads["W1"][hidden_unit, i]
    from_printed = float(hid["dE/dh"]) * float(hid["dh/da"]) * float(hid["da/dw"])
    traced = f"w{i + 1}{hidden_unit + 1}(1)"
    if traced != weight_name:
        traced += f", printed as dE/d{weight_name}"
    slips.append(check_printed(f"dE/d{traced}", hidden_exact, hid["dE/dw"], from_printed,
                               f"factors {hid['dE/dh']} x {hid['dh/da']} x {hid['da/dw']}"))
    slips.append(check_printed(f"new {weight_name}", w1[j, i] - eta * hidden_exact,
                               hid["new"], w1[j, i] - eta * float(hid["dE/dw"]),
                               f"gradient {hid['dE/dw']}"))
    slips = [s for s in slips if s is not None]
    return (slide_wiring, forward_matches, output_unit, output_weight, hidden_unit,
            hidden_weight, slips)


def compute(eta: float = ETA) -> WorkedExampleResult:
    """Run both wirings and find the slides' wiring and slips.

    Returns:
        A ``WorkedExampleResult``.
    """
    _, consistent = network("consistent", eta)
    _, slide = network("slide", eta)
    found = find_slips(consistent, slide, eta)
    return WorkedExampleResult(consistent, slide, found[0], found[1], found[2], found[3],
                               found[4], found[5], found[6])


# ---------------------------------------------------------------------- the printed trace
def _g(value: float, digits: int = 5) -> str:
    return f"{value:.{digits}g}"


def _forward_table(r: WorkedExampleResult) -> str:
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


def _output_trace(p: Pass, k: int, c: int, exact_only: bool) -> list:
    unit = p.order[c]
    name = f"w{c + 1}{k + 1}(2)"
    w = W2[k][c]
    grad = p.grads["W2"][k, c]
    slide_label = "slide ".rjust(len(name) + 5)
    exact_label = "exact ".rjust(len(name) + 5)
    lines = [f"dE/d{name} = dE/dy{k + 1} x dy{k + 1}/da{k + 1}(2) x da{k + 1}(2)/d{name}",
             f"{'':{len(name) + 5}}= (y{k + 1} - t{k + 1}) x y{k + 1}(1 - y{k + 1}) x "
             f"{_unit(unit)}"]
    out = SLIDE["output"]
    if not exact_only:
        lines.append(f"{slide_label}= {out['dE/dy1']} x {out['dy1/da1(2)']} x "
                     f"{out['da1(2)/dw']} = {out['dE/dw']}")
    lines.append(f"{exact_label}= {_g(p.dE_dy[k])} x {_g(p.dy_da2[k])} x {_g(p.h[unit])} = "
                 f"{_g(grad)}")
    lines.append(f"{name} <- {w:g} - {ETA:g} x dE/d{name}")
    if not exact_only:
        lines.append(f"{slide_label}= {w:g} - {ETA:g} x {SLIDE['output']['dE/dw']} = "
                     f"{SLIDE['output']['new']}")
    lines.append(f"{exact_label}= {_g(w - ETA * grad, 6)}")
    return lines


def _hidden_trace(p: Pass, unit: int, j: int, i: int, exact_only: bool) -> list:
    """Trace for the weight ``W1[j, i]``, with the factors of hidden unit ``unit``."""
    name = f"w{i + 1}{j + 1}(1)"
    column = p.feeding_column(unit)
    w_out = [W2[0][column], W2[1][column]]
    parts = p.dE_da2 * numpy.array(w_out)
    grad = p.dE_da1[unit] * X[i]
    pad = " " * (len(name) + 5)
    slide_label = "slide ".rjust(len(name) + 5)
    exact_label = "exact ".rjust(len(name) + 5)
    lines = [f"dE/d{name} = (dE/da1(2) x w{column + 1}1(2) + dE/da2(2) x w{column + 1}2(2)) x "
             f"d{_unit(unit)}/da{unit + 1}(1) x da{unit + 1}(1)/d{name}",
             f"{pad}= (dE/da1(2) x {w_out[0]:g} + dE/da2(2) x {w_out[1]:g}) x "
             f"{_unit(unit)}(1 - {_unit(unit)}) x x{i + 1}"]
    hid = SLIDE["hidden"]
    if not exact_only:
        lines.append(f"{slide_label}= ({hid['part1']} + ({hid['part2']})) x {hid['dh/da']} x "
                     f"{hid['da/dw']} = {hid['dE/dh']} x {hid['dh/da']} x {hid['da/dw']} = "
                     f"{hid['dE/dw']}")
    lines.append(f"{exact_label}= ({_g(parts[0])} + ({_g(parts[1])})) x {_g(p.dh_da1[unit])} x "
                 f"{X[i]:g} = {_g(p.dE_dh[unit])} x {_g(p.dh_da1[unit])} x {X[i]:g} = "
                 f"{_g(grad)}")
    if unit != j:
        lines.append(f"{pad}  (these are {_unit(unit)}'s factors: the gradient of "
                     f"w{i + 1}{unit + 1}(1) = {W1[unit][i]:g}, not of {name}; see the slips)")
    w = W1[j][i]
    lines.append(f"{name} <- {w:g} - {ETA:g} x dE/d{name}")
    if not exact_only:
        lines.append(f"{slide_label}= {w:g} - {ETA:g} x {hid['dE/dw']} = {hid['new']}")
    lines.append(f"{exact_label}= {_g(w - ETA * grad, 6)}   (with the gradient above)")
    return lines


def _update_table(r: WorkedExampleResult) -> str:
    rows = []
    for name, array, index in parameter_names():
        value = numpy.array({"W1": W1, "b1": B1, "W2": W2, "b2": B2}[array])[index]
        row = [name, f"{array}{list(index)}", f"{value:g}"]
        for p in (r.consistent, r.slide):
            if array == "W2":
                source = _unit(p.order[index[1]])
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


def format_table(r: WorkedExampleResult) -> str:
    """The forward table, the chain-rule traces, the slips and the 12-parameter update."""
    used = r.slide if r.slide_wiring == "slide" else r.consistent
    k, c = r.output_weight_updated
    j, i = r.hidden_weight_updated
    lines = ["2-2-2 sigmoid network: x = (0.12, 0.3), t = (0.1, 0.9), E = 1/2 sum (t - y)^2, "
             f"eta = {ETA:g}",
             "w_ij(l) links node i of layer l-1 to node j of layer l; w_0j(l) is the bias.", "",
             "Forward pass (slide vs the slides' wiring vs the consistent network):",
             _forward_table(r),
             f"-> the slides' numbers come from the '{r.slide_wiring}' wiring "
             f"(hidden units fed to the output layer in the order "
             f"{', '.join(_unit(u) for u in used.order)}).", "",
             "Chain-rule trace as the slides lay it out (the slides' wiring):"]
    lines += ["  " + line for line in _output_trace(used, k, used.feeding_column(
        r.output_unit_used), exact_only=False)]
    lines.append("")
    lines += ["  " + line for line in _hidden_trace(used, r.hidden_unit_used, j, i,
                                                     exact_only=False)]
    lines += ["", "The slips, found by comparing the slides' numbers with the exact ones:"]
    lines += [_common.bullet(f"[{s.kind}] {s.explanation}") for s in r.slips]
    lines += ["", "The consistent network (w_jk(2) leaves hidden unit j), exact:"]
    p = r.consistent
    lines += ["  " + line for line in _output_trace(p, 0, 0, exact_only=True)]
    lines.append("")
    lines += ["  " + line for line in _hidden_trace(p, 0, 0, 0, exact_only=True)]
    lines += ["", f"One step of all 12 parameters (w <- w - {ETA:g} dE/dw), "
                  f"E = {r.consistent.error:.6f} (consistent) / {r.slide.error:.6f} "
                  "(slides' wiring):",
              _update_table(r)]
    return "\n".join(lines)


def write_figures(r: WorkedExampleResult, out, run: LectureRun) -> None:
    """The network's graph (slides' wiring and consistent) with values and gradients, and
    the network drawn with each weight and its gradient."""
    for wiring, name in (("slide", "worked_example_graph.png"),
                         ("consistent", "worked_example_graph_consistent.png")):
        tensors, _ = network(wiring)
        _common.save_graph(tensors["E = 1/2 sum (t - y)^2"], out, name, run, params=tensors)
    _draw_network(r, out, run)


def _draw_network(r: WorkedExampleResult, out, run: LectureRun) -> None:
    """The 2-2-2 network drawn as the slides draw it, once per wiring, weights on links."""
    figure, axes = _common.new_figure(12, 5, 1, 2)
    for ax, p in ((axes[0, 0], r.slide), (axes[0, 1], r.consistent)):
        layers = {"x": (0.0, X), "h": (1.0, p.h), "y": (2.0, p.y)}
        position = {f"{n}{u + 1}": (x, 1.0 - u) for n, (x, _) in layers.items()
                    for u in range(2)}
        for j in range(2):
            for i in range(2):
                _link(ax, position[f"x{i + 1}"], position[f"h{j + 1}"],
                      f"{W1[j][i]:g} ({p.grads['W1'][j, i]:+.5f})")
        for k in range(2):
            for column in range(2):
                unit = p.order[column]
                _link(ax, position[f"h{unit + 1}"], position[f"y{k + 1}"],
                      f"{W2[k][column]:g} ({p.grads['W2'][k, column]:+.5f})")
        for n, (_, values) in layers.items():
            for u in range(2):
                x, y = position[f"{n}{u + 1}"]
                ax.add_patch(_pyplot_circle((x, y)))
                ax.text(x, y, f"{n}{u + 1}\n{values[u]:.3f}", ha="center", va="center",
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


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the worked example."""
    del quick  # already instant
    result = compute()
    return _common.finish(result, format_table, write_figures, out)
