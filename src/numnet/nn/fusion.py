"""Layer fusion: which runs of layers in a ``Sequential`` execute as one op, and how.

``Conv2d, ReLU, MaxPool2d`` (a pooling with stride = kernel and no padding) runs as one
``conv2d_relu`` with pooling, and ``Conv2d, ReLU`` as one ``conv2d_relu``: the same output
and gradients as the separate layers, bit for bit, without the tensors between them and
their passes over memory. Nothing outside the run could see those tensors; a hook would, so
hooks (and subclasses, which may change ``forward``) turn the fusion off.
"""

from __future__ import annotations

import functools

from numnet.nn.activations import ReLU
from numnet.nn.layers import Conv2d, MaxPool2d


def _fusable(modules) -> int:
    """How many of ``modules`` run as one op: 3 for ``Conv2d, ReLU, MaxPool2d`` (a pooling
    with stride = kernel and no padding), 2 for ``Conv2d, ReLU``, else 0."""
    kinds = [type(module) for module in modules]
    if kinds[:2] != [Conv2d, ReLU] or any(m.has_hooks() for m in modules[:2]):
        return 0
    if len(modules) < 3 or kinds[2] is not MaxPool2d or modules[2].has_hooks():
        return 2
    return 3 if modules[2].tiles() is not None else 2


def fused_steps(modules):
    """The steps that apply ``modules`` in order: a fusable run as one callable (the
    ``Conv2d``'s ``forward_relu``), every other module itself.

    A generator: each run is decided when the step before it has run, as a plain loop over
    the modules would see them.
    """
    modules = list(modules)
    index = 0
    while index < len(modules):
        fused = _fusable(modules[index:index + 3])
        if fused == 3:
            yield functools.partial(modules[index].forward_relu, pool=modules[index + 2])
        elif fused == 2:
            yield modules[index].forward_relu
        else:
            yield modules[index]
        index += max(fused, 1)
