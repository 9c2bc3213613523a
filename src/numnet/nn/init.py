"""Weight initialization, in place, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills ``tensor.data`` in place (without recording a graph) and returns the
tensor. Random draws come from numnet's default generator, or from ``generator=``.

The schemes the lecture compares, for a weight with ``fan_in`` inputs and ``fan_out``
outputs per unit:

- N(0, 1): ``normal_(w)``; N(0, 0.01): ``normal_(w, std=0.01)``.
- Xavier (Glorot & Bengio 2010): ``std = gain sqrt(2 / (fan_in + fan_out))``,
  ``xavier_normal_`` / ``xavier_uniform_``.
- He (He et al. 2015): ``std = gain / sqrt(fan_in)``, gain sqrt(2) for ReLU, so
  ``sqrt(2 / fan_in)``: ``kaiming_normal_(w, nonlinearity='relu')`` = ``he_normal_(w)``.
- He, the lecture's form: ``std = sqrt(4 / (fan_in + fan_out))`` = He with the fans averaged:
  ``he_normal_(w, mode='fan_avg')``.
- LeCun: ``std = 1 / sqrt(fan_in)``: ``lecun_normal_``.

The uniform variants draw from U(-bound, bound) with ``bound = sqrt(3) std`` (same variance).

Fans (``_calculate_fan_in_and_fan_out``): a Linear weight (out_features, in_features) has
``fan_in = in_features``, ``fan_out = out_features``; a Conv2d weight (K, C, F, F) has
``fan_in = C F F`` and ``fan_out = K F F`` (channels times the receptive field).

``initialize(weight, name)`` picks a scheme by name (see ``INITIALIZERS``), so layers take
``init='xavier'`` and an experiment can switch schemes in one word.

Example:
    >>> import numnet
    >>> from numnet.nn import init
    >>> w = numnet.zeros(256, 512)
    >>> _ = init.xavier_normal_(w, generator=numnet.Generator(0))
    >>> round(float(w.data.std()), 3), round((2 / (256 + 512)) ** 0.5, 3)
    (0.051, 0.051)
"""

from __future__ import annotations

import math

import numpy

from numnet import random as nn_random
from numnet.tensor import Tensor

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid", "identity")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain that keeps the activations' variance through ``nonlinearity`` (PyTorch's).

    ===========================  ==========================================
    nonlinearity                 gain
    ===========================  ==========================================
    linear / conv / sigmoid      1
    tanh                         5 / 3
    relu                         sqrt(2)
    leaky_relu                   sqrt(2 / (1 + negative_slope**2)), slope ``param``
                                 (default 0.01)
    selu                         3 / 4
    ===========================  ==========================================

    Example:
        >>> round(calculate_gain('relu'), 6)
        1.414214
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple:
    """``(fan_in, fan_out)`` of a weight: ``(size(1) * rf, size(0) * rf)``.

    ``rf`` is the receptive field, the product of the dims after the first two (``F * F``
    for a Conv2d weight (K, C, F, F)), so a conv weight has ``fan_in = C F F`` and
    ``fan_out = K F F``.

    Example:
        >>> import numnet
        >>> _calculate_fan_in_and_fan_out(numnet.zeros(16, 6, 5, 5))
        (150, 400)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         f"2 dimensions (got shape {shape})")
    receptive_field = int(numpy.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode: str) -> float:
    """``fan_in``, ``fan_out``, or (numnet's addition) ``fan_avg = (fan_in + fan_out) / 2``."""
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out, "
                         "fan_avg")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    return (fan_in + fan_out) / 2


def _fill(tensor, values: numpy.ndarray):
    """Write ``values`` into ``tensor``'s array in place, keeping its dtype."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init functions expect a numnet Tensor, got {type(tensor).__name__}")
    tensor.data[...] = values
    return tensor


def _rng(generator):
    return nn_random.numpy_generator(generator)


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with draws from U(a, b)."""
    return _fill(tensor, _rng(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with draws from N(mean, std**2)."""
    return _fill(tensor, _rng(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, val: float):
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    """Fill with 1."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """Fill with 0."""
    return _fill(tensor, 0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a), ``a = gain sqrt(6 / (fan_in + fan_out))``.

    That is the uniform distribution with ``std = gain sqrt(2 / (fan_in + fan_out))``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std**2), ``std = gain sqrt(2 / (fan_in + fan_out))``.

    The lecture's Xavier initialization (gain 1). It keeps the variance of activations and
    of gradients roughly constant across layers for linear/tanh units.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): U(-bound, bound), ``bound = gain sqrt(3 / fan)``.

    ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` is fan_in (default), fan_out, or
    fan_avg. The std is ``gain / sqrt(fan)``. PyTorch's default for Linear and Conv2d
    weights is ``kaiming_uniform_(w, a=sqrt(5))``, i.e. ``bound = 1 / sqrt(fan_in)``.
    """
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He et al. (2015): N(0, std**2), ``std = gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)`` (sqrt(2) for ReLU, so ``std = sqrt(2 /
    fan_in)``); ``fan`` is fan_in (default: keeps the forward variance), fan_out (keeps the
    backward variance) or fan_avg.
    """
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def he_normal_(tensor, mode: str = "fan_in", a: float = 0, nonlinearity: str = "relu",
               generator=None):
    """He initialization for ReLU networks, in He 2015's form or the lecture's.

    ``std = gain / sqrt(fan)`` with ``gain = sqrt(2)`` for ReLU:

    - ``mode='fan_in'`` (default): He et al. (2015), ``std = sqrt(2 / fan_in)``; the same as
      ``kaiming_normal_(w, nonlinearity='relu')``.
    - ``mode='fan_avg'``: the lecture's form. It averages the fans,
      ``sqrt(2 / ((fan_in + fan_out) / 2)) = sqrt(4 / (fan_in + fan_out))``, as Xavier does.
      The two agree when ``fan_in == fan_out``; otherwise they differ by the factor
      ``std_lecture / std_he2015 = sqrt(2 fan_in / (fan_in + fan_out))``.

    Example:
        >>> import numnet
        >>> w = numnet.zeros(500, 500)
        >>> _ = he_normal_(w, mode='fan_avg', generator=numnet.Generator(0))
        >>> round(float(w.data.std()), 3), round((4 / 1000) ** 0.5, 3)
        (0.063, 0.063)
    """
    return kaiming_normal_(tensor, a=a, mode=mode, nonlinearity=nonlinearity,
                           generator=generator)


def he_uniform_(tensor, mode: str = "fan_in", a: float = 0, nonlinearity: str = "relu",
                generator=None):
    """``he_normal_``'s std with a uniform draw: U(-sqrt(3) std, sqrt(3) std)."""
    return kaiming_uniform_(tensor, a=a, mode=mode, nonlinearity=nonlinearity,
                            generator=generator)


def lecun_normal_(tensor, generator=None):
    """LeCun (1998): N(0, std**2), ``std = 1 / sqrt(fan_in)``."""
    return kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def lecun_uniform_(tensor, generator=None):
    """LeCun (1998): U(-sqrt(3 / fan_in), sqrt(3 / fan_in)), std ``1 / sqrt(fan_in)``."""
    return kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def default_weight_(tensor, generator=None):
    """PyTorch's default for Linear and Conv2d weights: ``kaiming_uniform_(a=sqrt(5))``.

    With ``a = sqrt(5)`` the gain is ``sqrt(2 / 6) = sqrt(1 / 3)``, so this is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    return kaiming_uniform_(tensor, a=math.sqrt(5), generator=generator)


def default_bias_(bias, weight, generator=None):
    """PyTorch's default for Linear and Conv2d biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    fan_in, _ = _calculate_fan_in_and_fan_out(weight)
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    return uniform_(bias, -bound, bound, generator)


def _normal_std(std):
    return lambda w, generator=None: normal_(w, 0.0, std, generator)


INITIALIZERS = {
    "default": default_weight_,
    "torch": default_weight_,
    "normal": _normal_std(1.0),
    "xavier": xavier_normal_,
    "xavier_normal": xavier_normal_,
    "glorot": xavier_normal_,
    "xavier_uniform": xavier_uniform_,
    "he": he_normal_,
    "he_normal": he_normal_,
    "kaiming": he_normal_,
    "kaiming_normal": he_normal_,
    "he_uniform": he_uniform_,
    "kaiming_uniform": he_uniform_,
    "he_fan_avg": lambda w, generator=None: he_normal_(w, mode="fan_avg", generator=generator),
    "he_lecture": lambda w, generator=None: he_normal_(w, mode="fan_avg", generator=generator),
    "he_fan_avg_uniform": (lambda w, generator=None:
                           he_uniform_(w, mode="fan_avg", generator=generator)),
    "lecun": lecun_normal_,
    "lecun_normal": lecun_normal_,
    "lecun_uniform": lecun_uniform_,
    "zeros": lambda w, generator=None: zeros_(w),
}
"""Schemes by name. 'he' / 'kaiming' are He 2015 for ReLU (``std = sqrt(2 / fan_in)``),
'he_fan_avg' / 'he_lecture' the lecture's ``sqrt(4 / (fan_in + fan_out))``, 'xavier' the
normal Xavier, 'normal' N(0, 1), and ``'normal_<std>'`` (e.g. ``'normal_0.01'``) N(0, std**2)."""


def initialize(weight, name, generator=None):
    """Fill ``weight`` in place with the scheme called ``name`` (or a callable ``fn(weight)``).

    Args:
        weight: the Tensor to fill.
        name: a key of ``INITIALIZERS``, ``'normal_<std>'`` such as ``'normal_0.01'``, or a
            callable taking the weight.
        generator: optional numnet Generator for the draw.

    Returns:
        ``weight``.

    Example:
        >>> import numnet
        >>> w = initialize(numnet.zeros(300, 300), 'normal_0.01', numnet.Generator(0))
        >>> round(float(w.data.std()), 3)
        0.01
    """
    if callable(name):
        name(weight)
        return weight
    if not isinstance(name, str):
        raise TypeError(f"init must be a name or a callable, got {type(name).__name__}")
    key = name.lower()
    if key in INITIALIZERS:
        return INITIALIZERS[key](weight, generator=generator)
    if key.startswith("normal_"):
        try:
            std = float(key[len("normal_"):])
        except ValueError:
            std = -1.0
        if std > 0:
            return normal_(weight, 0.0, std, generator)
    known = ", ".join(sorted(INITIALIZERS)) + ", normal_<std>"
    raise ValueError(f"unknown init {name!r}; known: {known}")
