"""The rules for command-line values, one function each, written once.

Each rule takes the flag's text (as argparse hands it to a ``type=``) or a value read back
from a run folder's JSON, and returns the value (a number as an ``int`` or ``float``). A
value that breaks the rule raises ``argparse.ArgumentTypeError`` with a message naming the
value, so argparse prints one line naming the flag and exits with status 2 before any work
starts:

    numnet train: error: argument --lr: must be a finite number > 0, got 'nan' (see
    numnet train --help)

``Settings`` (``commands._runs``) runs the same rules on the settings stored in a run
folder, and ``numnet lecture`` on its options.

Example:
    >>> positive_int("3")
    3
    >>> fraction("0.1")
    0.1
    >>> finite_positive_float("inf")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a finite number > 0, got 'inf'
"""

from __future__ import annotations

import argparse
import math

import numnet
from numnet.nn import init


def _parse(value, kind: type):
    """``value`` as ``kind`` (int or float): from text, or a stored number (a bool, or for
    ``int`` a float such as 2.5, is refused, not rounded). What is not a number gets
    argparse's own words for ``type=int`` / ``type=float``."""
    numbers = (int,) if kind is int else (int, float)
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    elif isinstance(value, numbers) and not isinstance(value, bool):
        return kind(value)
    raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {value!r}")


def positive_int(value) -> int:
    """An integer >= 1 (epochs, sizes, counts, threads)."""
    number = _parse(value, int)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value!r}")
    return number


def nonnegative_int(value) -> int:
    """An integer >= 0: a seed (``numpy.random.default_rng`` takes any of them, no
    negative one)."""
    number = _parse(value, int)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value!r}")
    return number


def finite_positive_float(value) -> float:
    """A finite number > 0 (a learning rate, a maximum gradient norm); nan and inf are
    refused."""
    number = _parse(value, float)
    if not (math.isfinite(number) and number > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {value!r}")
    return number


def finite_nonnegative_float(value) -> float:
    """A finite number >= 0 (a weight decay)."""
    number = _parse(value, float)
    if not (math.isfinite(number) and number >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {value!r}")
    return number


def fraction(value) -> float:
    """A number in [0, 1) (a momentum, a share held out)."""
    number = _parse(value, float)
    if not 0 <= number < 1:  # False for nan too
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {value!r}")
    return number


def init_scheme(value) -> str:
    """A weight-initialization name that ``numnet.nn.init.initialize`` knows (``xavier``,
    ``normal_0.01``, ...)."""
    known = ", ".join(sorted(init.INITIALIZERS)) + ", normal_<std>"
    if not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"must be one of {known}, got {value!r}")
    try:  # a 1x1 weight and a generator of its own: no draw from numnet's default one
        init.initialize(numnet.zeros(1, 1), value, generator=numnet.Generator(0))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be one of {known}, got {value!r}") from None
    return value
