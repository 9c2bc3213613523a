"""The errors a command reports as one line (``numnet.cli`` prints them, exit status 2)."""

from __future__ import annotations

import contextlib


class CommandError(Exception):
    """An error the user can act on: printed as one line, exit status 2."""


@contextlib.contextmanager
def user_errors(*kinds):
    """Re-raise exceptions of ``kinds`` (bad data, bad checkpoint, ...) as a one-line
    ``CommandError``: what the user can act on, without a traceback."""
    try:
        yield
    except kinds as error:
        raise CommandError(str(error)) from None
