"""Softmax and cross entropy against sigmoid + normalization (the lecture's table).

Four class scores ``z = (-5, -1, 1, 5)`` for (frog, bird, dog, cat), true label cat.

- sigmoid: ``s_i = 1 / (1 + e**-z_i)``, each in (0, 1) but not summing to 1;
- sigmoid normalised: ``s_i / sum_j s_j``, a distribution, but flat: the gap between
  scores 1 and 5 shrinks to a factor 1.36;
- softmax: ``y_i = e**z_i / sum_j e**z_j``, a distribution that keeps the ratio
  ``y_cat / y_dog = e**(5 - 1)``;
- cross entropy ``H = -sum_i t_i ln y_i`` with one-hot ``t`` (only ``-ln y_cat`` is left),
  and its gradient ``dH/dz = y - t`` (from autograd), which is why softmax and cross entropy
  go together.

The slide rounds before it divides: its normalised sigmoid (0.00334, 0.49666) and its
``H = 0.020621`` come from its own 5-digit columns; the exact values are 0.00335, 0.49665 and
``H = 0.020626``. ``compute`` finds these slips and returns them (``SoftmaxResult.slips``).

Example:
    >>> r = compute()
    >>> round(r.cross_entropy, 6), [s.slide for s in r.slips if s.quantity == "H"]
    (0.020626, ['0.020621'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

import numnet.nn.functional as F
from numnet.lecture import _common
from numnet.lecture._common import LectureRun, Slip, check_printed, f64, fmt

CLASSES = ("frog", "bird", "dog", "cat")
LOGITS = (-5.0, -1.0, 1.0, 5.0)
LABEL = "cat"

SLIDE = {
    "sigmoid": ("0.00669", "0.26894", "0.73106", "0.99331"),
    "sigmoid_normalised": ("0.00334", "0.13447", "0.36553", "0.49666"),
    "softmax": ("0.00004", "0.00243", "0.01794", "0.97959"),
    "cross_entropy": "0.020621",
}
"""What the slide prints, for the "slide says" columns (never used in the computation)."""


@dataclass
class SoftmaxResult:
    """The slide's columns, computed in float64.

    Attributes:
        classes, logits, label: the lecture's inputs.
        sigmoid, sigmoid_normalised, softmax: per class, in ``classes`` order.
        cross_entropy: ``H = -sum t ln softmax(z)`` from ``F.cross_entropy``.
        cross_entropy_by_hand: the same from ``-sum(t * log(softmax))``.
        cross_entropy_sigmoid_normalised: ``H`` had the normalised sigmoid been the output.
        grad: ``dH/dz`` from autograd (equals ``softmax - t``).
        slips: where the slide's printed numbers differ from the exact ones (``Slip``s),
            for the lecture's inputs; empty for other inputs.
    """

    classes: tuple
    logits: tuple
    label: str
    sigmoid: numpy.ndarray
    sigmoid_normalised: numpy.ndarray
    softmax: numpy.ndarray
    cross_entropy: float
    cross_entropy_by_hand: float
    cross_entropy_sigmoid_normalised: float
    grad: numpy.ndarray
    slips: list


def find_slips(sigmoid, sigmoid_normalised, softmax, cross_entropy, classes) -> list[Slip]:
    """Compare each computed number with the slide's; explain the differences.

    A differing number is recomputed from the slide's own printed (rounded) inputs: the
    normalised sigmoid from the printed sigmoid column, ``H`` from the printed softmax of
    the label.
    """
    slips = []
    printed_sigmoid = numpy.array([float(v) for v in SLIDE["sigmoid"]])
    from_printed = printed_sigmoid / printed_sigmoid.sum()
    for i, name in enumerate(classes):
        for quantity, values, printed, redo, inputs in (
                (f"sigmoid({name})", sigmoid, SLIDE["sigmoid"], None, ""),
                (f"sigmoid/sum({name})", sigmoid_normalised, SLIDE["sigmoid_normalised"],
                 from_printed, "sigmoid column (divided by their sum 2.00000)"),
                (f"softmax({name})", softmax, SLIDE["softmax"], None, "")):
            slip = check_printed(quantity, values[i], printed[i],
                                 None if redo is None else redo[i], inputs)
            if slip is not None:
                slips.append(slip)
    label = classes.index(LABEL)
    h_from_printed = -numpy.log(float(SLIDE["softmax"][label]))
    slip = check_printed("H", cross_entropy, SLIDE["cross_entropy"], h_from_printed,
                         f"softmax of {LABEL} (-ln {SLIDE['softmax'][label]})")
    if slip is not None:
        slips.append(slip)
    return slips


def compute(logits=LOGITS, classes=CLASSES, label=LABEL) -> SoftmaxResult:
    """Compute the slide's table with numnet's ops (float64).

    Args:
        logits: the class scores z.
        classes: their names.
        label: the true class.

    Returns:
        A ``SoftmaxResult``.
    """
    if len(logits) != len(classes):
        raise ValueError(f"softmax: {len(logits)} logits for {len(classes)} classes")
    if label not in classes:
        raise ValueError(f"softmax: label {label!r} is not one of {classes}")
    target_index = classes.index(label)
    z = f64([logits], requires_grad=True)  # (1, C): one sample
    s = F.sigmoid(z)
    s_normalised = s / s.sum(dim=1, keepdim=True)
    y = F.softmax(z, dim=1)
    t = numpy.zeros((1, len(classes)))
    t[0, target_index] = 1.0
    h = F.cross_entropy(z, numpy.array([target_index]))
    h.backward()
    by_hand = -(f64(t) * F.log(y)).sum()
    h_normalised = -(f64(t) * F.log(s_normalised)).sum()
    lecture_inputs = tuple(logits) == LOGITS and tuple(classes) == CLASSES and label == LABEL
    slips = (find_slips(s.data[0], s_normalised.data[0], y.data[0], float(h.item()), classes)
             if lecture_inputs else [])
    return SoftmaxResult(
        classes=tuple(classes), logits=tuple(float(v) for v in logits), label=label,
        sigmoid=s.data[0].copy(), sigmoid_normalised=s_normalised.data[0].copy(),
        softmax=y.data[0].copy(), cross_entropy=float(h.item()),
        cross_entropy_by_hand=float(by_hand.item()),
        cross_entropy_sigmoid_normalised=float(h_normalised.item()),
        grad=z.grad.data[0].copy(), slips=slips)


def format_table(r: SoftmaxResult) -> str:
    """The slide's table with a "slide" column next to each computed one."""
    slide = SLIDE if r.logits == LOGITS and r.classes == CLASSES else None
    headers = ["class", "z", "sigmoid", "(slide)", "sigmoid/sum", "(slide)", "softmax",
               "(slide)", "dH/dz"]
    rows = []
    for i, name in enumerate(r.classes):
        label = f"{name} *" if name == r.label else name
        rows.append([label, fmt(r.logits[i], 0), fmt(r.sigmoid[i], 5),
                     slide["sigmoid"][i] if slide else "",
                     fmt(r.sigmoid_normalised[i], 5),
                     slide["sigmoid_normalised"][i] if slide else "",
                     fmt(r.softmax[i], 5), slide["softmax"][i] if slide else "",
                     fmt(r.grad[i], 5)])
    rows.append(["sum", "", fmt(r.sigmoid.sum(), 5), "", fmt(r.sigmoid_normalised.sum(), 5),
                 "", fmt(r.softmax.sum(), 5), "", fmt(r.grad.sum(), 5)])
    lines = [f"Softmax vs sigmoid, label {r.label} (*)", "",
             _common.table(headers, rows), "",
             f"H = -sum t ln y = -ln y_{r.label} = {r.cross_entropy:.6f}"
             + (f"   (slide: {SLIDE['cross_entropy']})" if slide else ""),
             f"  by hand from softmax: {r.cross_entropy_by_hand:.6f}; with the normalised "
             f"sigmoid as output H would be {r.cross_entropy_sigmoid_normalised:.6f}",
             f"  softmax keeps score ratios: y_{r.classes[-1]} / y_{r.classes[-2]} = "
             f"{r.softmax[-1] / r.softmax[-2]:.2f} = e^{r.logits[-1] - r.logits[-2]:g}; "
             f"normalised sigmoid: {r.sigmoid_normalised[-1] / r.sigmoid_normalised[-2]:.2f}",
             "  dH/dz (autograd) = softmax - t: the gradient of softmax + cross entropy"]
    if r.slips:
        lines += ["", "Where the slide differs from the exact numbers:"]
        lines += [_common.bullet(slip.explanation) for slip in r.slips]
    elif slide:
        lines += ["", "Every number the slide prints matches at its printed precision."]
    return "\n".join(lines)


def write_figures(r: SoftmaxResult, out, run: LectureRun) -> None:
    """Bar chart of the three columns per class."""
    figure, axes = _common.new_figure(8, 4)
    ax = axes[0, 0]
    positions = numpy.arange(len(r.classes))
    width = 0.27
    columns = (("sigmoid", r.sigmoid), ("sigmoid / sum", r.sigmoid_normalised),
               ("softmax", r.softmax))
    for k, (name, values) in enumerate(columns):
        bars = ax.bar(positions + (k - 1) * width, values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], fontsize=7)
    ax.set_xticks(positions, [f"{c}\nz = {z:g}" for c, z in zip(r.classes, r.logits)])
    ax.set_ylabel("output")
    ax.set_ylim(0, 1.1)
    ax.set_title(f"Outputs per class (label {r.label}); H = {r.cross_entropy:.6f}")
    ax.legend(loc="upper left")
    figure.tight_layout()
    _common.save_figure(figure, out, "softmax.png", run)


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the softmax experiment."""
    del quick  # already instant
    result = compute()
    return _common.finish(result, format_table, write_figures, out)
