"""Upsampling layers: ``Upsample``, ``UpsamplingNearest2d``, ``UpsamplingBilinear2d``, as in
PyTorch: each is ``F.interpolate`` with its arguments fixed (formulas in
``numnet.ops.interpolate``)."""

from __future__ import annotations

from numnet.nn.module import Module
from numnet.ops.interpolate import interpolate


class Upsample(Module):
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` or by
    ``scale_factor``: ``F.interpolate(x, size, scale_factor, mode, align_corners,
    recompute_scale_factor)``.

    Output size per spatial axis: ``size``, or ``floor(N * scale_factor)`` for an axis of
    size N.

    Args:
        size: the output's spatial size (an int or one per axis).
        scale_factor: multiplier of the spatial size (a float or one per axis).
        mode: 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear' |
            'area'.
        align_corners: for the linear modes: line up the corner pixels of input and output
            instead of their pixel grids (default False).
        recompute_scale_factor: sample by ``n_in / n_out`` even when a scale factor is given.

    Shape:
        - Input: (N, C, *spatial)
        - Output: (N, C, *out_spatial)

    Example:
        >>> import numnet
        >>> Upsample(scale_factor=2, mode='bilinear')(numnet.zeros(1, 3, 4, 5)).shape
        (1, 3, 8, 10)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners=None, recompute_scale_factor=None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            text = f"scale_factor={self.scale_factor!r}"
        else:
            text = f"size={self.size!r}"
        return text + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for (N, C, H, W) input (PyTorch
    deprecates it in favour of ``F.interpolate``).

    Example:
        >>> import numnet
        >>> UpsamplingNearest2d(scale_factor=2)(numnet.zeros(1, 1, 2, 3)).shape
        (1, 1, 4, 6)
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for
    (N, C, H, W) input (PyTorch deprecates it in favour of ``F.interpolate``).

    Example:
        >>> import numnet
        >>> UpsamplingBilinear2d(size=3)(numnet.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        tensor([[[[1.0000, 1.5000, 2.0000],
                  [2.0000, 2.5000, 3.0000],
                  [3.0000, 3.5000, 4.0000]]]])
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
