"""Layer fusion: which runs of layers in a ``Sequential`` execute as one op, and how.

``Conv2d, ReLU, MaxPool2d`` (a pooling with stride = kernel and no padding) runs as one
``conv2d_relu`` with pooling, ``Conv2d, ReLU`` as one ``conv2d_relu``, and ``ReLU,
MaxPool2d`` elsewhere (after a BatchNorm, say) as one ``relu_max_pool2d``: the same output
and gradients as the separate layers, bit for bit, without the tensors between them and
their passes over memory. Every ``Conv2d`` option fuses (groups, dilation, padding strings
and modes: ``conv2d_relu`` is ``conv2d`` with the ReLU in its output step); a pooling with
``ceil_mode``, ``dilation`` or ``return_indices`` does not. Nothing outside the run could
see those tensors; a hook would, so hooks (and subclasses, which may change ``forward``)
turn the fusion off.
"""

from __future__ import annotations

import functools

from numnet.nn import functional as F
from numnet.nn.activations import ReLU
from numnet.nn.layers import Conv2d
from numnet.nn.pooling import MaxPool2d


def _fusable(modules) -> int:
    """How many of ``modules`` run as one op: 3 for ``Conv2d, ReLU, MaxPool2d`` (a pooling
    with stride = kernel and no padding, ``_pool_fuses``), 2 for ``Conv2d, ReLU`` and for
    ``ReLU, MaxPool2d`` (a ReLU that is not in place), else 0."""
    kinds = [type(module) for module in modules]
    if _relu_pool_fuses(modules[:2]):
        return 2
    if kinds[:2] != [Conv2d, ReLU] or any(m.has_hooks() for m in modules[:2]):
        return 0
    if len(modules) < 3 or kinds[2] is not MaxPool2d or modules[2].has_hooks():
        return 2
    return 3 if _pool_fuses(modules[2]) else 2


def _pool_fuses(pool) -> bool:
    """Whether ``conv2d_relu``'s pooling computes what ``pool`` does: windows side by side
    (``pool.tiles()``), no ``ceil_mode``, no dilation, no indices returned."""
    return (pool.tiles() is not None and not getattr(pool, "ceil_mode", False)
            and getattr(pool, "dilation", 1) in (1, (1, 1))
            and not getattr(pool, "return_indices", False))


def _relu_pool_fuses(modules) -> bool:
    """Whether ``modules`` are ``ReLU, MaxPool2d`` that ``relu_max_pool2d`` computes: no
    hooks, a ReLU not in place (in place it would also change its input), a pooling that
    ``_pool_fuses``."""
    return (len(modules) == 2 and [type(m) for m in modules] == [ReLU, MaxPool2d]
            and not any(m.has_hooks() for m in modules) and not modules[0].inplace
            and _pool_fuses(modules[1]))


def _relu_then_pool(pool, x):
    """``pool(relu(x))`` as one op (``F.relu_max_pool2d``)."""
    return F.relu_max_pool2d(x, pool.tiles())


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
        elif fused == 2 and type(modules[index]) is ReLU:
            yield functools.partial(_relu_then_pool, modules[index + 1])
        elif fused == 2:
            yield modules[index].forward_relu
        else:
            yield modules[index]
        index += max(fused, 1)
