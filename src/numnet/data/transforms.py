"""Batch transforms on NCHW arrays: ``ToFloat``, ``Normalize``, ``RandomCrop``,
``RandomHorizontalFlip``, ``Compose``.

Each transform maps a whole batch ``(N, C, H, W)`` to a new array in one vectorised NumPy
expression (the input is never modified). Random ones take a ``generator`` (a
``numnet.Generator``) when called; ``DataLoader`` passes its own, so augmentation is
reproducible under a seed. Without one they use the generator given at construction, or
numnet's default generator.

Example:
    >>> import numpy, numnet
    >>> x = numpy.full((2, 1, 4, 4), 255, numpy.uint8)
    >>> t = Compose([ToFloat(), RandomCrop(4, padding=1), Normalize((0.5,), (0.5,))])
    >>> y = t(x, generator=numnet.Generator(0))
    >>> y.shape, y.dtype, float(y.max())
    ((2, 1, 4, 4), dtype('float32'), 1.0)
"""

from __future__ import annotations

import numpy

from numnet import random as nn_random
from numnet.ops._grid import int_pair
from numnet.tensor import Tensor


def _check_nchw(x: numpy.ndarray, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects a batch of images shaped (N, C, H, W), got an array "
                         f"of shape {x.shape}")


class Transform:
    """Base class: subclasses implement ``apply(x, rng)`` on a NumPy batch.

    ``__call__(x, generator=None)`` accepts an array or a Tensor and returns the same kind.
    """

    def __call__(self, x, generator: nn_random.Generator | None = None):
        if isinstance(x, Tensor):
            return Tensor(self(x.data, generator), _raw=True)
        rng = nn_random.numpy_generator(generator or getattr(self, "generator", None))
        return self.apply(numpy.asarray(x), rng)

    def apply(self, x: numpy.ndarray, rng: numpy.random.Generator) -> numpy.ndarray:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class ToFloat(Transform):
    """uint8 pixels ``0..255`` to float32 in ``[0, 1]``: ``y = x / 255``.

    Floating input is returned unchanged (it is taken to be scaled already).
    """

    def apply(self, x, rng):
        if x.dtype == numpy.uint8:
            return numpy.divide(x, numpy.float32(255), dtype=numpy.float32)
        if x.dtype.kind == "f":
            return x
        raise TypeError(f"ToFloat expects uint8 pixels (0..255) or floats, got {x.dtype}")


class Normalize(Transform):
    """Per-channel standardisation: ``y[:, c] = (x[:, c] - mean[c]) / std[c]``.

    Args:
        mean: one value per channel (or one value for all channels).
        std: one positive value per channel (or one for all).

    Shape:
        (N, C, H, W) -> (N, C, H, W), same floating dtype.
    """

    def __init__(self, mean, std) -> None:
        self.mean = tuple(float(m) for m in numpy.atleast_1d(mean))
        self.std = tuple(float(s) for s in numpy.atleast_1d(std))
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values but std has "
                             f"{len(self.std)}")
        if min(self.std) <= 0:
            raise ValueError(f"Normalize: std must be positive, got {self.std}")

    def apply(self, x, rng):
        _check_nchw(x, "Normalize")
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize expects floating images, got {x.dtype}: put "
                            "ToFloat() before it")
        channels = x.shape[1]
        if len(self.mean) not in (1, channels):
            raise ValueError(f"Normalize has {len(self.mean)} channel means but the batch "
                             f"{x.shape} has {channels} channels")
        mean = numpy.asarray(self.mean, dtype=x.dtype).reshape(1, -1, 1, 1)
        std = numpy.asarray(self.std, dtype=x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


class RandomCrop(Transform):
    """Pad each image by ``padding`` zeros on every side, then cut a ``size`` window at an
    offset drawn uniformly and independently per image.

    Args:
        size: output ``(H, W)``, or one int for a square.
        padding: zeros added on each side before cropping (e.g. 4 for CIFAR's 32 -> 40).
        fill: the padding value.
        generator: used when none is passed at call time.

    Shape:
        (N, C, H, W) -> (N, C, size_h, size_w).
    """

    def __init__(self, size, padding: int = 0, fill: float = 0,
                 generator: nn_random.Generator | None = None) -> None:
        self.size = int_pair(size, "RandomCrop size", minimum=0)
        self.padding = int(padding)
        if self.padding < 0:
            raise ValueError(f"RandomCrop padding must be >= 0, got {padding}")
        self.fill = fill
        self.generator = generator

    def apply(self, x, rng):
        _check_nchw(x, "RandomCrop")
        p = self.padding
        if p:
            x = numpy.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.fill)
        n, _, height, width = x.shape
        out_h, out_w = self.size
        if out_h > height or out_w > width:
            raise ValueError(f"RandomCrop size {self.size} is larger than the padded images "
                             f"({height}, {width})")
        top = rng.integers(0, height - out_h + 1, size=n)
        left = rng.integers(0, width - out_w + 1, size=n)
        windows = numpy.lib.stride_tricks.sliding_window_view(x, (out_h, out_w), axis=(2, 3))
        # windows: (N, C, H - out_h + 1, W - out_w + 1, out_h, out_w); one window per image
        return windows[numpy.arange(n), :, top, left]

    def extra_repr(self) -> str:
        text = f"size={self.size}"
        if self.padding:
            text += f", padding={self.padding}"
        return text


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``, independently per image.

    Shape:
        (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, p: float = 0.5, generator: nn_random.Generator | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip p must lie in [0, 1], got {p}")
        self.p = float(p)
        self.generator = generator

    def apply(self, x, rng):
        _check_nchw(x, "RandomHorizontalFlip")
        flip = rng.random(x.shape[0]) < self.p
        return numpy.where(flip[:, None, None, None], x[..., ::-1], x)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Compose(Transform):
    """Apply transforms in order, all drawing from the same generator.

    Args:
        transforms: a list of transforms (or plain functions of one array).
    """

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, x, generator: nn_random.Generator | None = None):
        for transform in self.transforms:
            x = apply_transform(transform, x, generator)
        return x

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{lines}\n])"


def apply_transform(transform, x, generator: nn_random.Generator | None = None):
    """Call ``transform`` on batch ``x``, passing ``generator`` to numnet transforms (plain
    functions get only ``x``)."""
    if isinstance(transform, Transform):
        return transform(x, generator)
    return transform(x)
