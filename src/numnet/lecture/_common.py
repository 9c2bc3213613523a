"""What every lecture experiment shares: text tables, figure files, float64 tensors.

Nothing here imports matplotlib at import time: ``pyplot()`` imports it (with the
non-interactive Agg backend) the first time a figure is drawn, so ``numnet lecture list``
and the computations stay fast and work without a display.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy

import numnet

DPI = 100
"""Figures are saved at this resolution: a ``(w, h)``-inch figure is ``100 w x 100 h`` px."""


@dataclass
class LectureRun:
    """What ``run`` of an experiment returns.

    Attributes:
        result: the numbers (the experiment's dataclass; tests assert on it).
        text: the printed report (tables and notes).
        figures: PNG path -> expected (width, height) in pixels, for every figure written.
        files: every file written (figures, DOT files of graphs, graph pictures).
    """

    result: object
    text: str
    figures: dict = field(default_factory=dict)
    files: list = field(default_factory=list)


def finish(result, format_table, write_figures, out) -> LectureRun:
    """``run``'s last step for every experiment: ``result`` with its printed report and,
    when ``out`` is given, its figures written there."""
    lecture_run = LectureRun(result, format_table(result))
    if out is not None:
        write_figures(result, Path(out), lecture_run)
    return lecture_run


def f64(values, requires_grad: bool = False) -> numnet.Tensor:
    """A float64 tensor: the lecture's hand computations are checked at 1e-6 and beyond."""
    return numnet.tensor(numpy.asarray(values, dtype=numpy.float64), dtype="float64",
                         requires_grad=requires_grad)


def fmt(value, decimals: int) -> str:
    """``value`` with ``decimals`` digits after the point (``-0.000`` printed as ``0.000``)."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def decimals_of(printed: str) -> int:
    """How many digits after the point a printed number has: ``'0.0727'`` -> 4."""
    return len(printed.split(".")[1]) if "." in printed else 0


def matches_printed(value: float, printed: str) -> bool:
    """True when ``value`` rounded to ``printed``'s precision reads as ``printed``."""
    return abs(value - float(printed)) <= 0.5 * 10.0 ** -decimals_of(printed) + 1e-12


@dataclass
class Slip:
    """A number the slide prints that the exact computation does not give.

    Attributes:
        quantity: what the number is, e.g. ``'softmax(cat)'`` or ``'dE/dw11(2)'``.
        kind: ``'rounding'`` (the slide computed from its own rounded numbers, or rounded
            the last digit differently) or ``'wiring'`` (a value used with the wrong unit or
            weight).
        slide: the number as the slide prints it.
        exact: the exact value (float64, numnet's autograd).
        from_slide_numbers: the value recomputed from the slide's own printed inputs, when
            that explains the slide's number (None otherwise).
        explanation: one or two sentences for the printed report.
    """

    quantity: str
    kind: str
    slide: str
    exact: float
    from_slide_numbers: float | None
    explanation: str


def check_printed(quantity: str, exact: float, printed: str, from_slide_numbers=None,
                  inputs: str = "numbers") -> Slip | None:
    """Compare an exact value with the slide's printed one; a ``Slip`` when they differ.

    Args:
        quantity: the name for the report.
        exact: the exact value.
        printed: the slide's number as printed (its digits give the precision).
        from_slide_numbers: the same quantity computed from the slide's rounded inputs.
        inputs: what those rounded inputs are, for the explanation.

    Returns:
        None when ``exact`` rounds to ``printed``; else a rounding ``Slip`` that says whether
        the slide's own rounded inputs explain its number.
    """
    if matches_printed(exact, printed):
        return None
    digits = decimals_of(printed)
    text = (f"{quantity}: the slide prints {printed}; exact {exact:.{digits + 3}f} "
            f"(= {fmt(exact, digits)} at the slide's precision)")
    if from_slide_numbers is not None:
        rounded_value = fmt(from_slide_numbers, digits)
        if matches_printed(from_slide_numbers, printed):
            text += (f". The slide computed it from its own rounded {inputs}: "
                     f"{from_slide_numbers:.{digits + 3}f} -> {printed}")
            half = 0.5 * 10.0 ** -digits
            if abs(abs(from_slide_numbers - float(printed)) - half) < 1e-12:
                text += " (exactly halfway between two printed values)"
        else:
            text += (f". From the slide's rounded {inputs} it is "
                     f"{from_slide_numbers:.{digits + 3}f}, which rounds to {rounded_value}")
            if _truncate(from_slide_numbers, digits) == float(printed):
                text += ": the slide truncated instead of rounding"
    return Slip(quantity, "rounding", printed, float(exact), from_slide_numbers, text)


def _truncate(value: float, digits: int) -> float:
    scale = 10.0 ** digits
    return float(numpy.trunc(round(value * scale, 6)) / scale)


def bullet(text: str, width: int = 96) -> str:
    """``text`` as a wrapped list item: ``'  - '`` then lines indented by four spaces."""
    return textwrap.fill(text, width=width, initial_indent="  - ", subsequent_indent="    ")


def table(headers, rows, align=None) -> str:
    """A plain-text table: a header line, a rule, one line per row.

    Args:
        headers: column titles.
        rows: sequences of cells (already formatted strings, or anything ``str`` accepts).
        align: one of ``'l'``/``'r'`` per column; default: first column left, others right.

    Example:
        >>> print(table(["class", "p"], [["cat", "0.98"], ["dog", "0.02"]]))
        class     p
        -----  ----
        cat    0.98
        dog    0.02
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or ("l" + "r" * (len(headers) - 1))
    lines = []
    for index, row in enumerate(cells):
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def group_header(text: str, groups) -> str:
    """Put a line above a ``table`` naming groups of columns.

    Args:
        text: a table from ``table``.
        groups: ``(first column, last column, title)`` triples, columns counted from 0.

    Example:
        >>> print(group_header(table(["a", "bbbb", "cccc"], [["1", "2", "3"]]), [(1, 2, "bc")]))
           |-- bc --|
        a  bbbb  cccc
        -  ----  ----
        1     2     3
    """
    lines = text.split("\n")
    spans = []
    start = None
    for position, char in enumerate(lines[1] + " "):
        if char == "-" and start is None:
            start = position
        elif char != "-" and start is not None:
            spans.append((start, position))
            start = None
    header = [" "] * len(lines[1])
    for first, last, title in groups:
        begin, end = spans[first][0], spans[last][1]
        label = "|" + f" {title} ".center(end - begin - 2, "-")[:end - begin - 2] + "|"
        header[begin:end] = list(label)
    return "\n".join(["".join(header).rstrip()] + lines)


def pyplot():
    """``matplotlib.pyplot`` with the Agg backend (imported on first use)."""
    from numnet.viz import plots
    return plots.pyplot()


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """``(figure, axes)`` of ``width x height`` inches (``DPI`` px per inch)."""
    plt = pyplot()
    return plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, squeeze=False,
                        **kwargs)


def save_figure(figure, out, name: str, run: LectureRun) -> Path:
    """Write ``figure`` to ``out/name`` as PNG, atomically, and record it in ``run``.

    The size is the figure's own (no tight bounding box), so the PNG is exactly
    ``DPI * figsize`` pixels, which ``run.figures`` records for the tests.
    """
    from numnet.viz.plots import save_figure as save_png

    width, height = figure.get_size_inches()
    path = save_png(figure, Path(out) / name, tight=False, dpi=DPI)
    run.figures[str(path)] = (int(round(width * DPI)), int(round(height * DPI)))
    run.files.append(str(path))
    return path


def save_graph(output, out, name: str, run: LectureRun, params=None) -> list:
    """Write the computation graph of ``output`` with ``numnet.viz.save_graph``.

    The ``.dot`` file is always written; the PNG when Graphviz's ``dot`` is installed.
    """
    from numnet import viz
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [str(p) for p in viz.save_graph(output, out / name, params=params)]
    run.files.extend(written)
    return written
