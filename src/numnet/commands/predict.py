"""``numnet predict``: top classes with probabilities for image files (PNG, JPEG, ...).

Each image is first made to look like the model's training images (``numnet.data.images``):
transparency composited, dark-on-light turned light-on-dark for the grey datasets, and the
ink cropped, scaled and centred as the digit datasets were (filling the frame for
Fashion-MNIST); ``--raw`` only converts and resizes. A blank or uniform image still gets its
answer, with a warning on stderr: the model has to name a class, but nothing was drawn.
"""

from __future__ import annotations

import sys

import numpy

import numnet
import numnet.nn.functional as F
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import load_model
from numnet.data import transforms
from numnet.data.images import BLANK_CONTRAST, prepare_image

_INVERT = {"auto": None, "yes": True, "no": False}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="classify image files with a trained model",
        description="Make each image look like the model's dataset (transparency "
                    "composited, polarity detected, digits cropped to their ink, scaled and "
                    "centred as MNIST and the 8x8 digits were), normalise it and print the "
                    "top classes.")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint or a run folder")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.add_argument("--top", type=int, default=3, help="classes to show per image (default 3)")
    p.add_argument("--invert", choices=tuple(_INVERT), default="auto",
                   help="invert grey images (the grey datasets are light on dark; 'auto' "
                        "inverts images whose border is light; with --raw, 'auto' is 'no'); "
                        "not for colour datasets")
    p.add_argument("--raw", action="store_true",
                   help="no preprocessing: only convert to grey or RGB (dropping "
                        "transparency), resize and normalise")
    p.set_defaults(func=run)


def load_image(path, dataset: str, input_shape, raw: bool = False, invert: str = "auto"):
    """One image file as the model's ``PreparedImage`` (``numnet.data.images``)."""
    from PIL import Image, UnidentifiedImageError  # here: only predict needs Pillow

    try:
        with Image.open(path) as image:
            image.load()
            return prepare_image(image, dataset, input_shape, raw=raw,
                                 invert=_INVERT[invert])
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not an image") from None
    except (UnidentifiedImageError, OSError) as error:
        raise CommandError(f"{path}: not a readable image ({error})") from None


def run(args) -> int:
    if args.top < 1:
        raise CommandError("--top must be at least 1")
    with user_errors(OSError, ValueError):
        model, state = load_model(args.checkpoint)
    info = state["config"]["dataset"]
    shape = tuple(info["input_shape"])
    if args.invert != "auto" and shape[0] != 1:
        raise CommandError(f"--invert is for grey images; the run's {info['name']} images "
                           "are colour")
    prepared = [load_image(path, info["name"], shape, args.raw, args.invert)
                for path in args.images]
    for path, image in zip(args.images, prepared):
        if image.blank:
            print(f"numnet predict: warning: {path} is blank (its brightness varies by less "
                  f"than {BLANK_CONTRAST:g}): the classes below mean nothing", file=sys.stderr)
    batch = numpy.stack([image.array for image in prepared])
    batch = transforms.Normalize(info["mean"], info["std"])(batch)
    with numnet.no_grad():
        probabilities = F.softmax(model(numnet.tensor(batch)), dim=1).numpy()
    classes = info["classes"]
    for path, p in zip(args.images, probabilities):
        order = numpy.argsort(-p, kind="stable")[:args.top]
        ranked = ", ".join(f"{classes[k]} {p[k]:.3f}" for k in order)
        print(f"{path}: {ranked}")
    return 0
