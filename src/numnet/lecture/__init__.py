"""The lecture's experiments, one module each, every number computed by numnet.

Each experiment module has ``compute(...)`` returning its numbers (a dataclass the tests
assert on), ``format_table(result)`` for the printed report, ``write_figures(result, out,
run)`` for its PNGs, and ``run(out=None, quick=False, **options)`` doing all three and
returning a ``LectureRun``. ``EXPERIMENTS`` maps each command-line name to ``(run, one-line
description)``; ``numnet lecture NAME`` runs one.

Example:
    >>> from numnet.lecture import EXPERIMENTS
    >>> run, description = EXPERIMENTS["softmax"]
    >>> print(run().text.splitlines()[0])
    Softmax vs sigmoid, label cat (*)
"""

from numnet.lecture import (
    activations,
    cnn_inside,
    conv_size,
    curvature,
    relu_vs_tanh,
    rnn,
    softmax,
    toy_backprop,
    weight_init,
    worked_example,
)
from numnet.lecture._common import LectureRun, Slip

EXPERIMENTS = {
    "softmax": (softmax.run,
                "softmax vs sigmoid (+ normalization) on scores -5, -1, 1, 5; cross entropy H"),
    "toy-backprop": (toy_backprop.run,
                     "f = w x + b: gradients by autograd, steps for eta 0.1/0.3/0.5, the graph"),
    "worked-example": (worked_example.run,
                       "the 2-2-2 sigmoid network: chain-rule trace, the slides' slips, "
                       "all 12 updates"),
    "activations": (activations.run,
                    "linear, sigmoid, tanh, ReLU, leaky ReLU: derivatives, saturation, "
                    "centring, cost"),
    "weight-init": (weight_init.run,
                    "activation histograms through 5 layers for N(0,1), N(0,0.01), Xavier, He"),
    "conv-size": (conv_size.run,
                  "output size (N - F + 2P)/S + 1 and weight counts, checked on real layers"),
    "cnn-inside": (cnn_inside.run,
                   "train LeNet-5 briefly; its filters, feature maps and class scores"),
    "relu-vs-tanh": (relu_vs_tanh.run,
                     "epochs and seconds to a training-error threshold, ReLU vs tanh"),
    "rnn": (rnn.run, "a vanilla RNN predicts a noisy sine; gradients through time checked"),
    "curvature": (curvature.run,
                  "Hessians by double backward: eta < 2 / lambda_max for the toy and the "
                  "2-2-2 network; Newton's method on x^4 - 2x^2"),
}
"""name -> (run function, one-line description), in the lecture's order."""


def run(name: str, out=None, quick: bool = False, **options) -> LectureRun:
    """Run experiment ``name`` (see ``EXPERIMENTS``) with its options."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown lecture experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name][0](out=out, quick=quick, **options)


__all__ = ["EXPERIMENTS", "LectureRun", "Slip", "run"]
