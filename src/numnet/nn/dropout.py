"""Dropout layers: ``Dropout Dropout1d Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout``
with PyTorch's arguments (``p``, ``inplace``); the formulas are in ``numnet.ops.dropout``.

In training mode each layer drops (elements, or whole channels for the ``Nd`` and
``Feature`` forms) and rescales; in eval mode it returns its input itself. Masks are drawn
from numnet's default generator (``numnet.manual_seed``) or the layer's ``generator``
(numnet's addition).
"""

from __future__ import annotations

from numnet.nn import functional as F
from numnet.nn.module import Module


class _DropoutNd(Module):
    """The arguments every dropout layer shares.

    Args:
        p: probability of dropping an element (or a channel), in [0, 1] (default 0.5).
        inplace: overwrite the input (default False).
        generator: a ``numnet.Generator`` for the masks (keyword only; default: numnet's).
    """

    _function = None

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.generator = generator

    def forward(self, x):
        return self._function(x, self.p, self.training, self.inplace,
                              generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale survivors by
    ``1 / (1 - p)``; the scaling keeps the expected value, so eval mode is the identity.

    Shape:
        - Input: any; output the same.

    Example:
        >>> import numnet
        >>> layer = Dropout(0.5).eval()
        >>> x = numnet.ones(3)
        >>> layer(x) is x
        True
    """

    _function = staticmethod(F.dropout)


class Dropout1d(_DropoutNd):
    """Zero whole channels ``x[n, c]`` (1-D feature maps, e.g. after ``Conv1d``) with
    probability ``p``; scale the rest by ``1 / (1 - p)``.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``; output the same.
    """

    _function = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels ``x[n, c]`` (2-D feature maps, e.g. after ``Conv2d``) with
    probability ``p``; scale the rest by ``1 / (1 - p)``.

    Shape:
        - Input: ``(N, C, H, W)`` (a 3-D input is read as ``(N, C, L)``, with PyTorch's
          warning); output the same.

    Example:
        >>> import numnet
        >>> y = Dropout2d(0.5)(numnet.ones(4, 6, 2, 2))
        >>> bool(((y == 0).all((2, 3)) | (y == 2).all((2, 3))).all())
        True
    """

    _function = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels ``x[n, c]`` (3-D feature maps) with probability ``p``; scale
    the rest by ``1 / (1 - p)``.

    Shape:
        - Input: ``(N, C, D, H, W)`` or ``(C, D, H, W)``; output the same.
    """

    _function = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: dropped elements become SELU's saturation value and
    the output is scaled and shifted so that mean 0 and variance 1 are kept.

    Shape:
        - Input: any; output the same.
    """

    _function = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels ``x[n, c]`` (one draw per sample and channel).

    Shape:
        - Input: ``(N, C, *)``; output the same.
    """

    _function = staticmethod(F.feature_alpha_dropout)


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]
