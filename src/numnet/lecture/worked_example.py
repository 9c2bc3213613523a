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
finds which one the slides used from their numbers, and returns every slip as data
(the finder: ``_worked_example_errata``; the printed trace: ``_worked_example_trace``).

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
from numnet.lecture._common import LectureRun, f64
from numnet.lecture._worked_example_errata import find_slips
from numnet.lecture._worked_example_trace import draw_network, format_trace

X = (0.12, 0.3)
T = (0.1, 0.9)
W1 = ((0.15, 0.2), (0.2, 0.3))
B1 = (0.1, 0.2)
W2 = ((0.40, 0.5), (0.45, 0.55))
B2 = (0.2, 0.1)
ETA = 0.5

PARAMETERS = ("W1", "b1", "W2", "b2")
INITIAL = dict(zip(PARAMETERS, (W1, B1, W2, B2)))
"""The parameters before the step, by array name."""

WIRINGS = {"consistent": (0, 1), "slide": (1, 0)}
"""Which hidden unit feeds column ``c`` of ``W2`` (``a^(2) = W2 h[order] + b2``).

'consistent' follows the notation (``w_jk^(2)`` leaves hidden unit j); 'slide' is the crossed
wiring; ``compute`` decides from the slides' numbers which one the slides used."""


def network(wiring: str, eta: float = ETA):
    """The 2-2-2 network as numnet tensors, run forward and backward.

    Returns:
        ``(tensors, pass)``: a dict of every named tensor of the graph (for drawing it) and
        the ``Pass`` with all values and gradients.
    """
    order = WIRINGS[wiring]
    x = f64(X)
    t = f64(T)
    params = {name: f64(value, True) for name, value in INITIAL.items()}
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


def compute(eta: float = ETA) -> WorkedExampleResult:
    """Run both wirings and find the slides' wiring and slips.

    Returns:
        A ``WorkedExampleResult``.
    """
    _, consistent = network("consistent", eta)
    _, slide = network("slide", eta)
    found = find_slips(consistent, slide, X, INITIAL, eta)
    return WorkedExampleResult(consistent, slide, *found)


def format_table(r: WorkedExampleResult) -> str:
    """The forward table, the chain-rule traces, the slips and the 12-parameter update."""
    return format_trace(r, X, INITIAL, ETA)


def write_figures(r: WorkedExampleResult, out, run: LectureRun) -> None:
    """The network's graph (slides' wiring and consistent) with values and gradients, and
    the network drawn with each weight and its gradient."""
    for wiring, name in (("slide", "worked_example_graph.png"),
                         ("consistent", "worked_example_graph_consistent.png")):
        tensors, _ = network(wiring)
        _common.save_graph(tensors["E = 1/2 sum (t - y)^2"], out, name, run, params=tensors)
    draw_network(r, X, INITIAL, out, run)


def run(out=None, quick: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the worked example."""
    del quick  # already instant
    result = compute()
    return _common.finish(result, format_table, write_figures, out)
