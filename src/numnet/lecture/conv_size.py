"""Convolution arithmetic: output sizes and weight counts, checked against real layers.

An N x N input, filters of size F x F, stride S, zero padding P on each side give an
``M x M`` output with ``M = (N - F + 2P) / S + 1`` (the lecture's formula). When that is not
an integer the filter does not tile the input: numnet (like PyTorch) rounds down, and the
last ``(N - F + 2P) mod S`` rows and columns of the padded input are never seen by any
filter position. Which input pixels those are comes here from autograd: the gradient of
the output's sum with respect to the input is zero exactly where no window reaches.

Weight sharing and local receptive fields, counted: 7 inputs feeding 4 units need
``7 x 4 = 28`` weights fully connected, ``4 x 4 = 16`` with local receptive fields of size
4, and only 4 when the units share one filter (a convolution). Every count is checked against
the parameters of numnet's ``Linear`` / ``Conv2d``.

Example:
    >>> r = compute()
    >>> [(c.n, c.f, c.s, c.p, c.formula, c.conv_output) for c in r.cases][:2]
    [(24, 5, 1, 0, 20.0, 20), (7, 3, 1, 1, 7.0, 7)]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy

import numnet
from numnet import nn
from numnet.lecture import _common
from numnet.lecture._common import LectureRun

CASES = ((24, 5, 1, 0), (7, 3, 1, 1), (7, 3, 1, 0), (7, 3, 2, 0), (7, 3, 3, 0),
         (32, 5, 1, 2), (28, 5, 1, 0), (10, 3, 2, 1))
"""(N, F, S, P): the slides' cases (24/5/1/0 -> 20, the 7 x 7 input with and without
padding, strides 1, 2, 3 on 7 x 7), "same" padding P = (F - 1) / 2, LeNet's first layer."""


@dataclass
class SizeCase:
    """One (N, F, S, P) case.

    Attributes:
        n, f, s, p: input size, filter size, stride, padding.
        formula: ``(N - F + 2P) / S + 1`` as a float; ``fraction``: the same, exact.
        fits: whether it is an integer (the filter tiles the padded input).
        conv_output: the spatial size of numnet's ``Conv2d`` output.
        unused_rows: input rows (0-based) that no filter position reaches, from autograd.
        conv_params: weights of ``Conv2d(1, 1, F, S, P)`` (= F * F) plus its bias.
    """

    n: int
    f: int
    s: int
    p: int
    formula: float
    fraction: Fraction
    fits: bool
    conv_output: int
    unused_rows: list
    conv_params: int


@dataclass
class WeightCount:
    """A connectivity pattern, its weight count by hand and from numnet's layers."""

    name: str
    by_formula: int
    by_layer: int
    layer: str
    output_shape: tuple


@dataclass
class ConvSizeResult:
    """All size cases and weight-count comparisons."""

    cases: list
    counts: list


def output_size(n: int, f: int, s: int, p: int) -> Fraction:
    """``(N - F + 2P) / S + 1`` as an exact fraction.

    Example:
        >>> output_size(7, 3, 3, 0)
        Fraction(7, 3)
    """
    return Fraction(n - f + 2 * p, s) + 1


def check_case(n: int, f: int, s: int, p: int) -> SizeCase:
    """Compute the formula and run ``Conv2d(1, 1, F, stride=S, padding=P)`` on N x N."""
    fraction = output_size(n, f, s, p)
    conv = nn.Conv2d(1, 1, f, stride=s, padding=p)
    nn.init.ones_(conv.weight)
    x = numnet.zeros(1, 1, n, n, requires_grad=True)
    y = conv(x)
    if y.shape[2] != y.shape[3]:
        raise AssertionError(f"Conv2d gave a non-square output {y.shape} for a square input")
    y.sum().backward()
    reached = x.grad.data[0, 0].sum(axis=1)
    unused = [int(i) for i in numpy.nonzero(reached == 0)[0]]
    params = sum(param.numel() for param in conv.parameters())
    return SizeCase(n, f, s, p, float(fraction), fraction, fraction.denominator == 1,
                    int(y.shape[2]), unused, params)


def weight_counts() -> list:
    """The slides' comparison (7 inputs, 4 units) and a CIFAR-sized one, by layer."""
    counts = []
    dense = nn.Linear(7, 4, bias=False)
    counts.append(WeightCount("fully connected: 7 inputs -> 4 units", 7 * 4,
                              dense.weight.numel(), "Linear(7, 4, bias=False)",
                              tuple(dense(numnet.zeros(1, 7)).shape)))
    # Local receptive fields without sharing: one (1 x 4) filter per output position.
    local = [nn.Conv2d(1, 1, (1, 4), bias=False) for _ in range(4)]
    local_outputs = [conv(numnet.zeros(1, 1, 1, 4)) for conv in local]
    counts.append(WeightCount("local receptive field 4, not shared", 4 * 4,
                              sum(conv.weight.numel() for conv in local),
                              "4 x Conv2d(1, 1, (1, 4)), one per window",
                              (1, len(local_outputs))))
    shared = nn.Conv2d(1, 1, (1, 4), bias=False)
    counts.append(WeightCount("local receptive field 4, shared (convolution)", 4,
                              shared.weight.numel(), "Conv2d(1, 1, (1, 4), bias=False)",
                              tuple(shared(numnet.zeros(1, 1, 1, 7)).shape)))
    conv = nn.Conv2d(3, 6, 5)
    conv_shape = tuple(conv(numnet.zeros(1, 3, 32, 32)).shape)
    outputs = int(numpy.prod(conv_shape[1:]))
    counts.append(WeightCount("32x32x3 -> 6 filters 5x5 (conv, with biases)",
                              6 * 3 * 5 * 5 + 6, sum(q.numel() for q in conv.parameters()),
                              "Conv2d(3, 6, 5)", conv_shape))
    dense = nn.Linear(32 * 32 * 3, outputs)
    counts.append(WeightCount(f"32x32x3 -> the same {outputs} outputs, fully connected",
                              32 * 32 * 3 * outputs + outputs,
                              sum(q.numel() for q in dense.parameters()),
                              f"Linear(3072, {outputs})",
                              tuple(dense(numnet.zeros(1, 32 * 32 * 3)).shape)))
    del dense
    return counts


def compute(cases=CASES) -> ConvSizeResult:
    """Every case and count."""
    return ConvSizeResult([check_case(*case) for case in cases], weight_counts())


def _explain(c: SizeCase) -> str:
    if c.fits:
        return ""
    covered = (c.conv_output - 1) * c.s + c.f
    padded = c.n + 2 * c.p
    text = (f"(N - F + 2P)/S + 1 = {c.fraction.numerator}/{c.fraction.denominator}: the "
            f"filter does not tile the {padded}-wide padded input; Conv2d rounds down to "
            f"{c.conv_output} positions, which cover {covered} of the {padded} padded rows; ")
    if c.unused_rows:
        text += (f"input rows {', '.join(map(str, c.unused_rows))} (0-based) are never seen "
                 "(their gradient is 0)")
    else:
        text += "the rows left out are padding, so every input row is still seen"
    return text + ". Choose P or S so that S divides N - F + 2P."


def format_table(r: ConvSizeResult) -> str:
    """The size table and the weight-count table."""
    rows = []
    for c in r.cases:
        formula = (f"{c.formula:g}" if c.fits else f"{c.formula:.3f}")
        rows.append([str(c.n), str(c.f), str(c.s), str(c.p), formula,
                     "yes" if c.fits else "NO", str(c.conv_output),
                     ",".join(str(i) for i in c.unused_rows) or "-"])
    lines = ["Output size M = (N - F + 2P) / S + 1, against numnet's Conv2d(1, 1, F, S, P) "
             "on an N x N input", "",
             _common.table(["N", "F", "S", "P", "formula", "integer", "Conv2d", "unused rows"],
                           rows)]
    for c in r.cases:
        if not c.fits:
            lines.append(_common.bullet(f"N={c.n}, F={c.f}, S={c.s}, P={c.p}: {_explain(c)}"))
    lines += ["  Padding P = (F - 1) / 2 with S = 1 keeps the size (7x7 with F=3, P=1 -> 7x7).",
              "", "Weights: fully connected vs local receptive fields vs weight sharing",
              _common.table(["connectivity", "by hand", "numnet", "layer", "output"],
                            [[w.name, f"{w.by_formula:,}", f"{w.by_layer:,}", w.layer,
                              str(w.output_shape)] for w in r.counts], "lrrll")]
    return "\n".join(lines)


def write_figures(r: ConvSizeResult, out, run: LectureRun) -> None:
    """For each case, the padded input with the pixels the filter reaches."""
    cols = 4
    rows = (len(r.cases) + cols - 1) // cols
    figure, axes = _common.new_figure(3.0 * cols, 3.4 * rows + 0.4, rows, cols)
    for index, c in enumerate(r.cases):
        ax = axes[index // cols, index % cols]
        conv = nn.Conv2d(1, 1, c.f, stride=c.s, padding=c.p)
        nn.init.ones_(conv.weight)
        x = numnet.zeros(1, 1, c.n, c.n, requires_grad=True)
        conv(x).sum().backward()
        windows = x.grad.data[0, 0]
        ax.imshow(windows, cmap="Blues", vmin=0)
        ax.set_title(f"N={c.n} F={c.f} S={c.s} P={c.p}\nM = {c.formula:.3g}, Conv2d: "
                     f"{c.conv_output}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for index in range(len(r.cases), rows * cols):
        axes[index // cols, index % cols].set_axis_off()
    figure.suptitle("How many filter positions reach each input pixel (0 = never seen)")
    figure.tight_layout(h_pad=2.0)
    _common.save_figure(figure, out, "conv_size.png", run)


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the convolution arithmetic."""
    del quick  # already instant
    result = compute()
    return _common.finish(result, format_table, write_figures, out)
