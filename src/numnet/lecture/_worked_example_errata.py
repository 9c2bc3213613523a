"""The worked example's slide errata: the slides' printed numbers against the exact ones.

``find_slips`` takes both exact passes of the 2-2-2 network (``worked_example.network``)
and works out, from the slides' numbers alone, what the slides computed:

- the wiring: the pass whose forward values round to the most printed ones;
- the output weight updated: the ``W2`` entry nearest to ``old = new + eta * dE/dw``
  (both as printed), and the hidden value nearest to the one the slide multiplies it by;
- the hidden unit traced: the one whose ``h (1 - h)`` is nearest to the printed ``dh/da``,
  and the ``W1`` entry updated, again from ``old = new + eta * dE/dw``.

A weight multiplied by the wrong unit's value is a wiring slip; each printed factor,
gradient and new weight that differs from the exact one is a rounding slip, recomputed
from the slide's own rounded factors when that explains it (``_common.check_printed``).
This module prints nothing; ``_worked_example_trace`` does.
"""

from __future__ import annotations

import numpy

from numnet.lecture._common import Slip, check_printed, matches_printed

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


def unit_name(j: int) -> str:
    """The lecture's name of hidden unit ``j`` (0-based): ``'h1'``, ``'h2'``."""
    return f"h{j + 1}"


def _nearest(values, target: float) -> int:
    return int(numpy.argmin(numpy.abs(numpy.asarray(values, dtype=float) - target)))


def _find_entry(array: numpy.ndarray, value: float) -> tuple:
    index = numpy.unravel_index(int(numpy.argmin(numpy.abs(array - value))), array.shape)
    return tuple(int(i) for i in index)


def find_slips(consistent, slide, x, params: dict, eta: float) -> tuple:
    """Work out the slides' wiring from their numbers and list where they slip.

    Args:
        consistent, slide: the ``worked_example.Pass`` of each wiring.
        x: the network's input ``(x1, x2)``.
        params: the parameters before the step, ``{'W1': ..., 'W2': ...}`` as nested
            sequences (``'b1'``, ``'b2'`` may be there too).
        eta: the learning rate of ``w <- w - eta dE/dw``.

    Returns:
        ``(slide_wiring, forward_matches, output_unit_used, output_weight_updated,
        hidden_unit_used, hidden_weight_updated, slips)`` as in
        ``worked_example.WorkedExampleResult``.
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
    w2 = numpy.array(params["W2"])
    w1 = numpy.array(params["W1"])

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
            f"the forward pass computed as the second hidden unit {unit_name(output_unit)} = "
            f"sigmoid({used.a1[output_unit]:.3f}); {name} leaves hidden unit {c + 1} "
            f"({unit_name(c)} = {used.h[c]:.3f}). The slides' forward values use the same "
            f"crossed wiring: {', '.join(f'{q} = {printed[q]}' for q in mismatched)} (the "
            f"consistent network gives "
            f"{', '.join(f'{consistent_values[q]:.3f}' for q in mismatched)})."))

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
            f"{unit_name(hidden_unit)}, whose weight from x{i + 1} is "
            f"w{i + 1}{hidden_unit + 1}(1) = {w1[hidden_unit, i]:g} (exact gradient "
            f"{own:.6f}); the slide applies them to {weight_name} = {w1[j, i]:g}, which feeds "
            f"{unit_name(j)} = {used.h[j]:.3f}. {weight_name}'s own gradient is {right:.6f} "
            f"in the slides' wiring (via {w2[0, fed]:g}, {w2[1, fed]:g}) and "
            f"{consistent.grads['W1'][j, i]:.6f} in the consistent network."))

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
    slips.append(check_printed(f"dE/d{unit_name(hidden_unit)}", used.dE_dh[hidden_unit],
                               hid["dE/dh"], float(hid["part1"]) + float(hid["part2"]),
                               f"parts {hid['part1']} + ({hid['part2']})"))
    slips.append(check_printed("dh/da", used.dh_da1[hidden_unit], hid["dh/da"]))
    slips.append(check_printed("da/dw", x[i], hid["da/dw"]))
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
