"""Dropout: ``dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout``,
with PyTorch's arguments, input-rank rules and warnings.

Inverted dropout (Srivastava et al., 2014): in training each element is kept with
probability ``1 - p`` and scaled by ``1 / (1 - p)``, so ``E[y] = x`` and evaluation is the
identity. The feature ("channel") forms draw one keep/drop per ``(sample, channel)``: the
mask has shape ``(N, C, 1, ..., 1)`` and zeroes whole feature maps (Tompson et al., 2015).

Alpha dropout (Klambauer et al., 2017, for SELU networks) sends a dropped element to SELU's
negative saturation ``-alpha' = -1.7581`` instead of 0, then scales and shifts so that a
standardised input keeps mean 0 and variance 1: with ``m`` the 0/1 keep mask,
``y = a x m + b``, ``b = alpha' a (m - 1 + p)``, ``a = 1 / sqrt((alpha'**2 p + 1)(1 - p))``;
``gx = gy a m``.

Masks come from numnet's default generator (``numnet.manual_seed``) or ``generator=``
(numnet's addition). ``inplace=True`` goes through ``numnet.ops.inplace``.
"""

from __future__ import annotations

import math
import warnings

import numpy

from numnet import random as nn_random
from numnet.ops import inplace as inplace_ops
from numnet.ops._util import as_tensor
from numnet.ops.arithmetic import add, mul
from numnet.tensor import Tensor

_ALPHA = 1.7580993408473766
"""SELU's ``scale * alpha``: its outputs' negative saturation is ``-_ALPHA``."""


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_shape(shape: tuple) -> tuple:
    """The mask shape of feature dropout: ``(N, C, 1, ..., 1)``."""
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return shape[:2] + (1,) * (len(shape) - 2)


def _apply(x: Tensor, p: float, training: bool, mask_shape_of, alpha: bool, generator):
    """PyTorch's ``_dropout_impl``: the identity when not training, ``p = 0`` or empty
    input; ``x * 0`` for ``p = 1``; else ``x`` times the scaled keep mask of shape
    ``mask_shape_of(x.shape)`` (plus the shift ``b`` for alpha dropout)."""
    if p == 0 or not training or x.numel() == 0:
        return x
    if p == 1:
        return mul(x, Tensor(numpy.zeros((), x.dtype), _raw=True))
    rng = nn_random.numpy_generator(generator)
    keep = rng.random(mask_shape_of(x.shape), dtype=numpy.float64) >= p
    dtype = x.dtype.type
    if not alpha:
        return mul(x, Tensor(keep * dtype(1.0 / (1.0 - p)), _raw=True))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    scale = Tensor(keep * dtype(a), _raw=True)
    shift = Tensor(((keep - dtype(1 - p)) * dtype(_ALPHA * a)).astype(x.dtype), _raw=True)
    return add(mul(x, scale), shift)


def _run(input, p, training, inplace, generator, mask_shape_of, alpha: bool) -> Tensor:
    _check_p(p)
    x = as_tensor(input)
    if not inplace:
        return _apply(x, p, training, mask_shape_of, alpha, generator)
    return _INPLACE[alpha](x, p, training, mask_shape_of, alpha, generator)


_INPLACE = {False: inplace_ops.inplace(_apply, "dropout_"),
            True: inplace_ops.inplace(_apply, "alpha_dropout_")}


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False,  # noqa: A002
            *, generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Example:
        >>> import numnet
        >>> y = dropout(numnet.ones(1000), 0.25, generator=numnet.Generator(0))
        >>> sorted(set(y.tolist())), round(float((y == 0).float().mean()), 1)
        ([0.0, 1.3333333730697632], 0.2)
    """
    return _run(input, p, training, inplace, generator, lambda shape: shape, False)


def _channels(name: str, ndim: int, batched_rank: int) -> bool:
    """Whether ``dropout{1,2,3}d`` reads the input as batched (PyTorch's rules and
    warnings; the channel dim is 1 when batched, else 0)."""
    spatial = batched_rank - 2
    if name == "dropout1d":
        if ndim not in (2, 3):
            raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {ndim}D "
                               "input. Note that dropout1d exists to provide channel-wise "
                               "dropout on inputs with 1 spatial dimension, a channel "
                               "dimension, and an optional batch dimension (i.e. 2D or 3D "
                               "inputs).")
        return ndim == 3
    if ndim not in (batched_rank - 1, batched_rank):
        warnings.warn(f"{name}: Received a {ndim}-D input to {name}, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that "
                      f"{name} exists to provide channel-wise dropout on inputs with {spatial} "
                      "spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. {batched_rank - 1}D or {batched_rank}D inputs).",
                      UserWarning, stacklevel=4)
    if name == "dropout2d":
        if ndim == 3:
            warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                          "channel-wise 1D dropout behavior is desired - input is interpreted "
                          "as shape (N, C, L), where C is the channel dim. This behavior will "
                          "change in a future release to interpret the input as one without a "
                          "batch dimension, i.e. shape (C, H, W). To maintain the 1D "
                          "channel-wise dropout behavior, please switch to using dropout1d "
                          "instead.", UserWarning, stacklevel=4)
        return True
    return ndim == batched_rank


def _channel_dropout(name, batched_rank, input, p, training, inplace, generator) -> Tensor:
    _check_p(p)
    batched = _channels(name, as_tensor(input).ndim, batched_rank)

    def mask_shape(shape):
        if batched:
            return _feature_shape(shape)
        return _feature_shape((1,) + shape)[1:]

    return _run(input, p, training, inplace, generator, mask_shape, False)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False,  # noqa: A002
              *, generator=None) -> Tensor:
    """Zero whole channels: each ``input[n, c]`` (a 1-D feature map) with probability ``p``;
    scale the rest by ``1 / (1 - p)``.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``; output the same.

    Example:
        >>> import numnet
        >>> y = dropout1d(numnet.ones(2, 8, 3), generator=numnet.Generator(0))
        >>> bool(((y == 0).all(2) | (y == 2).all(2)).all())
        True
    """
    return _channel_dropout("dropout1d", 3, input, p, training, inplace, generator)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False,  # noqa: A002
              *, generator=None) -> Tensor:
    """Zero whole channels: each ``input[n, c]`` (a 2-D feature map) with probability ``p``;
    scale the rest by ``1 / (1 - p)``.

    As in PyTorch, a 3-D input is read as ``(N, C, L)`` (with a warning), and any rank other
    than 3 or 4 gives a deprecation warning.

    Shape:
        - Input: ``(N, C, H, W)``; output the same.

    Example:
        >>> import numnet
        >>> y = dropout2d(numnet.ones(2, 8, 3, 3), generator=numnet.Generator(0))
        >>> bool(((y == 0).all((2, 3)) | (y == 2).all((2, 3))).all())
        True
    """
    return _channel_dropout("dropout2d", 4, input, p, training, inplace, generator)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False,  # noqa: A002
              *, generator=None) -> Tensor:
    """Zero whole channels: each ``input[n, c]`` (a 3-D feature map) with probability ``p``;
    scale the rest by ``1 / (1 - p)``. A 4-D input is one unbatched ``(C, D, H, W)``.

    Shape:
        - Input: ``(N, C, D, H, W)`` or ``(C, D, H, W)``; output the same.

    Example:
        >>> import numnet
        >>> y = dropout3d(numnet.ones(4, 2, 2, 2), p=0.0)
        >>> bool((y == 1).all())
        True
    """
    return _channel_dropout("dropout3d", 5, input, p, training, inplace, generator)


def alpha_dropout(input, p: float = 0.5, training: bool = False,  # noqa: A002
                  inplace: bool = False, *, generator=None) -> Tensor:
    """Alpha dropout: each element dropped with probability ``p`` to SELU's saturation, then
    scaled and shifted so a zero-mean unit-variance input keeps its mean and variance (the
    formulas in this module's docstring). ``training`` defaults to False, as in PyTorch.

    Example:
        >>> import numnet
        >>> x = numnet.randn(100000, generator=numnet.Generator(0))
        >>> y = alpha_dropout(x, 0.2, training=True, generator=numnet.Generator(1))
        >>> abs(float(y.mean())) < 0.01, abs(float(y.std()) - 1) < 0.01
        (True, True)
    """
    return _run(input, p, training, inplace, generator, lambda shape: shape, True)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False,  # noqa: A002
                          inplace: bool = False, *, generator=None) -> Tensor:
    """Alpha dropout of whole channels: one draw per ``input[n, c]`` (mask
    ``(N, C, 1, ..., 1)``); see ``alpha_dropout``. ``training`` defaults to False.

    Example:
        >>> import numnet
        >>> feature_alpha_dropout(numnet.ones(2, 3, 4), 0.5).shape
        (2, 3, 4)
    """
    return _run(input, p, training, inplace, generator, _feature_shape, True)
