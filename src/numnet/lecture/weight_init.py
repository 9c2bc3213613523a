"""Weight initialization: activations layer by layer for the lecture's four schemes.

The experiment of the slides: ``inputs`` (1000) vectors drawn from N(0, 1) go through
``layers`` (5) fully connected hidden layers of ``units`` (100) units (``numnet.nn.Linear``,
biases 0); the input vectors have ``units`` features, so every layer is ``units -> units``.
One histogram per layer of the activations, for each scheme:

- N(0, 1) + tanh: ``std(a) = sqrt(fan_in)`` = 10 before tanh: nearly every unit saturates
  at +-1, where tanh' ~ 0 and no gradient flows;
- N(0, 0.01) + tanh: each layer multiplies the spread by about ``0.01 sqrt(fan_in)`` = 0.1,
  so the activations (and the weight gradients, which are proportional to them) collapse
  towards 0 layer by layer;
- Xavier + tanh, ``std = sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio 2010): the spread
  stays of the same order across layers;
- He + ReLU in the lecture's form ``std = sqrt(4 / (fan_in + fan_out))``
  (``he_normal_(w, mode='fan_avg')``; He et al. 2015 use ``sqrt(2 / fan_in)``, the same when
  ``fan_in = fan_out``): ReLU halves the second moment, the factor 2 restores it, so the
  std stays roughly constant.

Any other pairing by name: ``init`` is a name of ``numnet.nn.init.INITIALIZERS`` (e.g.
``'xavier'``, ``'he_lecture'``, ``'he'``, ``'normal'``, ``'normal_0.01'``) and
``activation`` one of linear, sigmoid, tanh, relu, leaky_relu.

The gradient each layer's weights receive comes from backpropagating ``L = sum(a_L * g)``
with a fixed random ``g ~ N(0, 1)`` from the last layer: the vanishing-gradient point.

Example:
    >>> r = compute(schemes=[("xavier", "tanh")], inputs=200, units=50, layers=3)
    >>> [round(s, 1) for s in r.schemes[0].std]
    [0.6, 0.5, 0.4]
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy

import numnet
from numnet import nn
from numnet.lecture import _common
from numnet.lecture._common import LectureRun
from numnet.lecture.activations import ACTIVATIONS

LECTURE_SCHEMES = (("normal", "tanh"), ("normal_0.01", "tanh"), ("xavier", "tanh"),
                   ("he_lecture", "relu"))
"""The slides' four: N(0, 1), N(0, 0.01) and Xavier with tanh, He (lecture's form) with ReLU."""

INIT_LABELS = {"normal": "N(0,1)", "normal_0.01": "N(0,0.01)", "xavier": "Xavier",
               "he_lecture": "He (lecture)", "he": "He 2015"}

FORMULAS = {"normal": ("1", lambda n_in, n_out: 1.0),
            "normal_0.01": ("0.01", lambda n_in, n_out: 0.01),
            "xavier": ("sqrt(2 / (fan_in + fan_out))",
                       lambda n_in, n_out: (2 / (n_in + n_out)) ** 0.5),
            "he_lecture": ("sqrt(4 / (fan_in + fan_out))",
                           lambda n_in, n_out: (4 / (n_in + n_out)) ** 0.5),
            "he": ("sqrt(2 / fan_in)", lambda n_in, n_out: (2 / n_in) ** 0.5)}
"""The std each known scheme draws from, as text and as a function of the fans."""

SATURATED = 0.99
"""``|a| > SATURATED`` counts as saturated (tanh' < 0.02 there)."""


@dataclass
class SchemeResult:
    """Per layer statistics of one init x activation pairing.

    Attributes:
        init, activation: the names; ``label``: for the table and figure.
        weight_std: the std the init draws (measured on the weights).
        mean, std: of each layer's activations.
        saturated: fraction with ``|a| > 0.99``.
        zero: fraction exactly 0.
        grad_std: std of each layer's weight gradient ``dL/dW``.
        act_grad_std: std of the gradient with respect to each layer's activations
            ``dL/da`` (it shrinks towards the input when gradients vanish).
        activations: each layer's activations (for the histograms), (inputs, units).
    """

    init: str
    activation: str
    label: str
    weight_std: list
    mean: list
    std: list
    saturated: list
    zero: list
    grad_std: list
    act_grad_std: list
    activations: list


@dataclass
class WeightInitResult:
    """All schemes, with the sizes used."""

    schemes: list
    inputs: int
    units: int
    layers: int
    seed: int

    def scheme(self, init: str, activation: str) -> SchemeResult:
        """The result for one pairing."""
        for s in self.schemes:
            if (s.init, s.activation) == (init, activation):
                return s
        raise KeyError(f"no scheme {init} + {activation}; have "
                       f"{[(s.init, s.activation) for s in self.schemes]}")


def label(init: str, activation: str) -> str:
    """``'Xavier + tanh'`` style label."""
    return f"{INIT_LABELS.get(init, init)} + {activation}"


def run_scheme(init: str, activation: str, inputs: int, units: int, layers: int,
               seed: int) -> SchemeResult:
    """Push N(0, 1) inputs through ``layers`` Linear + activation layers and backpropagate.

    Args:
        init: init scheme name (``numnet.nn.init.initialize``).
        activation: a key of ``ACTIVATIONS``.
        inputs, units, layers: sizes.
        seed: the inputs, the weights and the upstream gradient all derive from it, so every
            scheme sees the same inputs.

    Returns:
        A ``SchemeResult``.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: "
                         f"{', '.join(ACTIVATIONS)}")
    act = ACTIVATIONS[activation]
    generator = numnet.Generator(seed)
    x = numnet.tensor(generator.numpy_generator.standard_normal((inputs, units))
                      .astype(numnet.get_default_dtype()))
    weights_generator = numnet.Generator(seed + 1)
    modules = []
    for _ in range(layers):
        layer = nn.Linear(units, units)
        nn.init.initialize(layer.weight, init, weights_generator)
        nn.init.zeros_(layer.bias)
        modules.append(layer)
    h = x
    outputs = []
    for layer in modules:
        h = act(layer(h))
        h.retain_grad()
        outputs.append(h)
    upstream = numnet.Generator(seed + 2).numpy_generator.standard_normal(h.shape)
    (h * numnet.tensor(upstream.astype(h.dtype))).sum().backward()
    data = [a.data for a in outputs]
    return SchemeResult(
        init=init, activation=activation, label=label(init, activation),
        weight_std=[float(m.weight.data.std()) for m in modules],
        mean=[float(a.mean()) for a in data], std=[float(a.std()) for a in data],
        saturated=[float(numpy.mean(numpy.abs(a) > SATURATED)) for a in data],
        zero=[float(numpy.mean(a == 0)) for a in data],
        grad_std=[float(m.weight.grad.data.std()) for m in modules],
        act_grad_std=[float(a.grad.data.std()) for a in outputs],
        activations=data)


def compute(schemes=None, init=None, activation=None, inputs: int = 1000, units: int = 100,
            layers: int = 5, seed: int = 0) -> WeightInitResult:
    """Run the schemes: the lecture's four, or one pairing chosen by ``init``/``activation``.

    Args:
        schemes: list of ``(init, activation)``; default the lecture's four, or one pairing
            when ``init`` or ``activation`` is given (the other defaulting to Xavier / tanh).
        inputs, units, layers: sizes; seed: the same inputs for every scheme.

    Returns:
        A ``WeightInitResult``.
    """
    for name, value in (("inputs", inputs), ("units", units), ("layers", layers)):
        if int(value) < 1:
            raise ValueError(f"weight-init: {name} must be positive, got {value}")
    if schemes is None:
        if init is None and activation is None:
            schemes = LECTURE_SCHEMES
        else:
            schemes = [(init or "xavier", activation or "tanh")]
    results = [run_scheme(i, a, inputs, units, layers, seed) for i, a in schemes]
    return WeightInitResult(results, inputs, units, layers, seed)


def format_table(r: WeightInitResult) -> str:
    """Per scheme and layer: mean, std, saturated and zero fractions, weight-gradient std."""
    lines = [f"{r.inputs} inputs from N(0, 1), {r.layers} hidden layers of {r.units} units "
             f"(Linear {r.units} -> {r.units}, bias 0); L = sum(a_last * g), g ~ N(0, 1)"]
    for s in r.schemes:
        if s.init in FORMULAS:
            text, std = FORMULAS[s.init]
            value = f" = {std(r.units, r.units):.4g}" if "fan" in text else ""
            lines.append(f"  {s.label}: weights ~ N(0, std^2), std = {text}{value}")
    for s in r.schemes:
        rows = []
        for k in range(r.layers):
            rows.append([str(k + 1), f"{s.weight_std[k]:.4f}", f"{s.mean[k]:+.5f}",
                         f"{s.std[k]:.5f}", f"{s.saturated[k]:.3f}", f"{s.zero[k]:.3f}",
                         f"{s.act_grad_std[k]:.3e}", f"{s.grad_std[k]:.3e}"])
        lines += ["", f"{s.label}:",
                  _common.table(["layer", "std(W)", "mean", "std", "|a|>0.99", "a == 0",
                                 "std dL/da", "std dL/dW"], rows)]
        lines.append(textwrap.fill(verdict(s), width=96, initial_indent="  ",
                                   subsequent_indent="  "))
    return "\n".join(lines)


def verdict(s: SchemeResult) -> str:
    """One line saying what the numbers show, from the numbers."""
    ratio = s.std[-1] / s.std[0] if s.std[0] > 0 else float("nan")
    per_layer = ratio ** (1 / max(1, len(s.std) - 1))
    grad_ratio = s.act_grad_std[0] / s.act_grad_std[-1]
    if min(s.saturated) > 0.5:
        what = (f"saturated: {min(s.saturated):.0%} to {max(s.saturated):.0%} of the units "
                "at |a| > 0.99 in every layer")
    elif per_layer < 0.5:
        what = f"collapsing: the std shrinks by x{per_layer:.2g} per layer"
    elif 0.9 <= per_layer <= 1.1:
        what = f"roughly constant: the std changes by x{per_layer:.2f} per layer"
    elif 0.7 <= per_layer < 0.9:
        what = (f"shrinking slowly: x{per_layer:.2f} per layer, the std stays within "
                f"{min(s.std):.2f}-{max(s.std):.2f}")
    else:
        what = f"the std changes by x{per_layer:.2f} per layer"
    return (f"{what}; std(a) layer {len(s.std)} / layer 1 = {ratio:.3g}; std(dL/da) "
            f"layer 1 / layer {len(s.std)} = {grad_ratio:.3g}")


def write_figures(r: WeightInitResult, out, run: LectureRun) -> None:
    """Histogram grid like the slides: rows = schemes, columns = layers."""
    rows, cols = len(r.schemes), r.layers
    figure, axes = _common.new_figure(1.0 + 2.2 * cols, 0.6 + 2.0 * rows, rows, cols)
    for i, s in enumerate(r.schemes):
        span = max(float(numpy.abs(a).max()) for a in s.activations) or 1.0
        if s.activation in ("tanh", "sigmoid"):
            span = 1.0
        lower = 0.0 if s.activation in ("relu", "sigmoid") else -span
        for k, a in enumerate(s.activations):
            ax = axes[i, k]
            counts, edges = numpy.histogram(a, bins=50, range=(lower, span))
            ax.stairs(counts, edges, fill=True, color=f"C{i}")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            ax.set_title(f"layer {k + 1}: mean {s.mean[k]:+.2f} std {s.std[k]:.3g}",
                         fontsize=8)
            if k == 0:
                ax.set_ylabel(s.label, fontsize=8)
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.04, top=0.96, wspace=0.12,
                           hspace=0.35)
    _common.save_figure(figure, out, "weight_init.png", run)
    figure, axes = _common.new_figure(11, 4, 1, 2)
    layers = numpy.arange(1, r.layers + 1)
    for ax, field, title in ((axes[0, 0], "act_grad_std", "dL/da (each layer's activations)"),
                             (axes[0, 1], "grad_std", "dL/dW (each layer's weights)")):
        for s in r.schemes:
            ax.semilogy(layers, numpy.maximum(getattr(s, field), 1e-30), marker="o",
                        label=s.label)
        ax.set_xlabel("layer")
        ax.set_ylabel("std")
        ax.set_xticks(layers)
        ax.set_title(f"Gradient std: {title}")
        ax.legend(fontsize=7)
    figure.tight_layout()
    _common.save_figure(figure, out, "weight_init_gradients.png", run)


def run(out=None, quick: bool = False, init=None, activation=None, layers=None, units=None,
        inputs=None, seed=None) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the weight-initialization experiment.

    ``quick`` uses 300 inputs; explicit sizes win over it.
    """
    result = compute(init=init, activation=activation,
                     inputs=inputs or (300 if quick else 1000), units=units or 100,
                     layers=layers or 5, seed=0 if seed is None else seed)
    return _common.finish(result, format_table, write_figures, out)
