"""An image as a person gives it (any size, any polarity, maybe transparent) turned into the
input a model trained on a dataset expects, made the way the dataset's own images were made.

``prepare_image(image, dataset, input_shape)`` does, on a PIL image:

0. **Orientation.** A photo whose EXIF orientation tag says it is shown rotated or mirrored
   is turned the way a viewer shows it (``PIL.ImageOps.exif_transpose``).
1. **Alpha.** A pixel of colour ``c`` and opacity ``a`` in [0, 1] is shown over a background
   ``b`` as ``a * c + (1 - a) * b``. ``b`` is white when the drawn pixels are dark (their
   ``a``-weighted mean luminance is below 0.5) and black otherwise, so a drawing on a
   transparent canvas stays visible whatever its colour. An image with a side over
   ``MAX_SIDE`` px is first shrunk to it (Lanczos, aspect ratio kept, alpha premultiplied):
   the model sees at most 32 px, and a camera's 12 megapixels need not be held as floats.
2. **Blank.** An image whose luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` spans less than
   ``BLANK_CONTRAST`` (``max Y - min Y``) shows nothing: it is flagged ``blank`` and only
   resized (there is no ink to find).
3. **Polarity** (grey datasets, all light ink on black). The background level ``b`` is the
   median of the border pixels; ``b > 0.5`` means dark ink on light paper and ``x = 1 - x``
   turns it round. Then the levels are stretched, ``x = clip((x - b) / (max x - b), 0, 1)``:
   background 0, the strongest ink 1.
4. **Layout**, per dataset, the ink being the pixels with ``x > INK``:

   - ``digits`` (scikit-learn's 8x8, UCI optdigits): the 32x32 bitmaps were cut into 4x4
     blocks whose on-pixels were counted (0..16). The ink's box is cropped, its longer side
     scaled to 32 px keeping the aspect ratio, the box centred in 32x32, and each 4x4 block
     averaged. The bundled data agrees: every one of its 1797 images has ink in all 8 rows,
     and 95% have their box's centre within half a pixel of the middle (3.5).
   - ``mnist``: the box's longer side scaled to 20 px, placed in 28x28 so that its centre of
     mass ``(sum_ij i x_ij / sum_ij x_ij, sum_ij j x_ij / sum_ij x_ij)`` lands on the
     centre (13.5, 13.5), to the nearest pixel (LeCun et al.'s description of MNIST).
   - ``fashion-mnist``: the background around the object trimmed, the longer side scaled to
     28 px, the box centred (Zalando's conversion: the object fills the frame).
   - ``cifar10`` and any other dataset: the colour image resized to the input side.

Resizing is Pillow's Lanczos filter, which averages over the source pixels when shrinking.
``raw=True`` skips steps 0, 1, 3 and 4: the image is converted to grey or RGB (alpha dropped)
and resized, as files were read before these steps existed; ``blank`` then tells whether
that resized input is uniform.

Example:
    >>> from PIL import Image, ImageDraw
    >>> canvas = Image.new("RGBA", (200, 120))                  # transparent
    >>> ImageDraw.Draw(canvas).line([(150, 20), (150, 90)], fill="black", width=9)
    >>> prepared = prepare_image(canvas, "mnist", (1, 28, 28))
    >>> prepared.array.shape, prepared.inverted, prepared.blank
    ((1, 28, 28), True, False)
"""

from __future__ import annotations

import dataclasses

import numpy
from PIL import Image, ImageOps

BLANK_CONTRAST = 0.05
"""Smallest luminance range (``max - min``, in [0, 1]; about 13 of 255 grey levels) of an
image that shows something."""

INK = 0.25
"""Level (after polarity and levels, in [0, 1]) above which a pixel is ink for cropping."""

MAX_SIDE = 1024
"""Longer side an image is shrunk to before compositing, when it is larger."""

_LUMA = numpy.array([0.299, 0.587, 0.114], dtype=numpy.float64)  # ITU-R 601, as PIL's "L"


@dataclasses.dataclass(frozen=True)
class PreparedImage:
    """The model's input for one image.

    Attributes:
        array: float32 ``(C, H, W)`` in [0, 1], before the dataset's normalisation.
        blank: the image is uniform (luminance range below ``BLANK_CONTRAST``).
        inverted: dark-on-light was turned into light-on-dark.
    """

    array: numpy.ndarray
    blank: bool
    inverted: bool


def prepare_image(image: Image.Image, dataset: str, input_shape, *, raw: bool = False,
                  invert: bool | None = None) -> PreparedImage:
    """The input of a model trained on ``dataset`` for ``image`` (the module's steps).

    Args:
        image: a PIL image of any mode and size.
        dataset: the dataset's registry name (``digits``, ``mnist``, ``fashion-mnist``,
            ``cifar10``); another name gets the plain resize of step 4.
        input_shape: ``(C, H, W)`` of one sample; ``C`` is 1 (grey) or 3 (RGB).
        raw: skip steps 0, 1, 3 and 4: only convert, resize and scale to [0, 1].
        invert: ``None`` detects the polarity (grey datasets; never with ``raw``),
            ``True`` / ``False`` inverts / keeps the grey levels whatever they are (grey
            datasets only).

    Returns:
        A ``PreparedImage``.

    Raises:
        ValueError: ``input_shape`` has neither 1 nor 3 channels, or ``invert`` is given
            for 3.
    """
    channels, height, width = (int(n) for n in input_shape)
    if channels not in (1, 3):
        raise ValueError(f"input_shape must have 1 or 3 channels, got {tuple(input_shape)}")
    if channels == 3 and invert is not None:
        raise ValueError("invert is for grey images; colour images are never inverted")
    if raw:
        resized = image.convert("L" if channels == 1 else "RGB").resize(
            (width, height), Image.Resampling.LANCZOS)
        array = numpy.asarray(resized, dtype=numpy.float32) / 255.0
        blank = bool(array.max() - array.min() < BLANK_CONTRAST)
        if channels == 3:
            return PreparedImage(numpy.transpose(array, (2, 0, 1)), blank, False)
        if invert:
            array = 1.0 - array
        return PreparedImage(array[None], blank, bool(invert))
    rgb = composite(ImageOps.exif_transpose(image))
    luma = rgb @ _LUMA
    blank = bool(luma.max() - luma.min() < BLANK_CONTRAST)
    if channels == 3:
        array = _resize(rgb, height, width)
        return PreparedImage(numpy.transpose(array, (2, 0, 1)).astype(numpy.float32),
                             blank, False)
    background = float(numpy.median(_border(luma)))
    inverted = background > 0.5 if invert is None else bool(invert)
    grey = 1.0 - luma if inverted else luma
    if blank:
        array = _resize(grey, height, width)
    else:
        background = 1.0 - background if inverted else background
        peak = grey.max()
        if peak - background < BLANK_CONTRAST:  # the forced polarity left no light ink
            array = _resize(grey, height, width)
        else:
            grey = numpy.clip((grey - background) / (peak - background), 0.0, 1.0)
            array = _layout(grey, dataset, height, width)
    return PreparedImage(array[None].astype(numpy.float32), blank, inverted)


def composite(image: Image.Image) -> numpy.ndarray:
    """``image`` (shrunk to ``MAX_SIDE``) over the background that contrasts with its drawn
    pixels (step 1), as a float64 ``(H, W, 3)`` RGB array in [0, 1]."""
    image = image.convert("RGBA")  # a new image: thumbnail below leaves the caller's alone
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    rgba = numpy.asarray(image, dtype=numpy.float64) / 255.0
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    opacity = alpha.sum()
    drawn = float((rgb @ _LUMA * alpha[..., 0]).sum() / opacity) if opacity else 0.0
    background = 1.0 if drawn < 0.5 else 0.0
    return alpha * rgb + (1.0 - alpha) * background


def _border(array: numpy.ndarray) -> numpy.ndarray:
    return numpy.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def _resize(array: numpy.ndarray, height: int, width: int) -> numpy.ndarray:
    """Lanczos resize of a float ``(H, W)`` or ``(H, W, 3)`` array, clipped to [0, 1]."""
    if array.ndim == 3:
        return numpy.stack([_resize(array[..., k], height, width) for k in range(3)], axis=-1)
    picture = Image.fromarray(numpy.ascontiguousarray(array, dtype=numpy.float32), mode="F")
    resized = picture.resize((width, height), Image.Resampling.LANCZOS)
    return numpy.clip(numpy.asarray(resized, dtype=numpy.float64), 0.0, 1.0)


def _ink_box(grey: numpy.ndarray) -> numpy.ndarray:
    """The smallest rectangle holding every pixel above ``INK``."""
    rows = numpy.flatnonzero((grey > INK).any(axis=1))
    cols = numpy.flatnonzero((grey > INK).any(axis=0))
    return grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _fit(box: numpy.ndarray, side: int) -> numpy.ndarray:
    """``box`` scaled so its longer side is ``side`` px, keeping the aspect ratio."""
    height, width = box.shape
    scale = side / max(height, width)
    return _resize(box, max(1, round(height * scale)), max(1, round(width * scale)))


def _paste(patch: numpy.ndarray, side: int, top: int, left: int) -> numpy.ndarray:
    """A black ``side`` x ``side`` canvas with ``patch`` at (top, left), clipped to it."""
    canvas = numpy.zeros((side, side))
    height, width = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, side), min(left + width, side)
    canvas[y0:y1, x0:x1] = patch[y0 - top:y1 - top, x0 - left:x1 - left]
    return canvas


def _centred(patch: numpy.ndarray, side: int) -> numpy.ndarray:
    height, width = patch.shape
    return _paste(patch, side, (side - height) // 2, (side - width) // 2)


def _layout(grey: numpy.ndarray, dataset: str, height: int, width: int) -> numpy.ndarray:
    """Step 4 on a light-on-black grey image with levels in [0, 1]."""
    if height != width or dataset not in ("digits", "mnist", "fashion-mnist"):
        return _resize(grey, height, width)
    box = _ink_box(grey)
    if dataset == "digits":
        bitmap = _centred(_fit(box, 4 * height), 4 * height)
        return bitmap.reshape(height, 4, width, 4).mean(axis=(1, 3))
    if dataset == "fashion-mnist":
        return _centred(_fit(box, height), height)
    digit = _fit(box, round(height * 20 / 28))
    rows, cols = numpy.indices(digit.shape)
    mass = digit.sum()
    centre = (height - 1) / 2
    top = round(centre - (rows * digit).sum() / mass)
    left = round(centre - (cols * digit).sum() / mass)
    return _paste(digit, height, top, left)
