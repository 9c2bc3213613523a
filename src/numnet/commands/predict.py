"""``numnet predict``: top classes with probabilities for image files (PNG, JPEG, ...)."""

from __future__ import annotations

import numpy

import numnet
import numnet.nn.functional as F
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import load_model
from numnet.data import transforms


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="classify image files with a trained model",
        description="Convert each image as the model's dataset expects (grey or RGB, resized "
                    "to its side, scaled to [0, 1], normalised) and print the top classes.")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint or a run folder")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.add_argument("--top", type=int, default=3, help="classes to show per image (default 3)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grey images (MNIST-style data is light on dark; 'auto' "
                        "inverts images whose mean is above 0.5)")
    p.set_defaults(func=run)


def load_image(path, input_shape, invert: str = "auto") -> numpy.ndarray:
    """One image file as a float32 (C, H, W) array in [0, 1], resized to ``input_shape``."""
    from PIL import Image, UnidentifiedImageError  # here: only predict needs Pillow

    channels, height, width = input_shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            image = image.resize((width, height), Image.Resampling.LANCZOS)
            array = numpy.asarray(image, dtype=numpy.float32) / 255.0
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"{path}: not a readable image ({error})") from None
    if channels == 1:
        if invert == "yes" or (invert == "auto" and array.mean() > 0.5):
            array = 1.0 - array
        return array[None]
    return numpy.transpose(array, (2, 0, 1))


def run(args) -> int:
    if args.top < 1:
        raise CommandError("--top must be at least 1")
    with user_errors(OSError, ValueError):
        model, state = load_model(args.checkpoint)
    info = state["config"]["dataset"]
    shape = tuple(info["input_shape"])
    batch = numpy.stack([load_image(path, shape, args.invert) for path in args.images])
    batch = transforms.Normalize(info["mean"], info["std"])(batch)
    with numnet.no_grad():
        probabilities = F.softmax(model(numnet.tensor(batch)), dim=1).numpy()
    classes = info["classes"]
    for path, p in zip(args.images, probabilities):
        order = numpy.argsort(-p, kind="stable")[:args.top]
        ranked = ", ".join(f"{classes[k]} {p[k]:.3f}" for k in order)
        print(f"{path}: {ranked}")
    return 0
