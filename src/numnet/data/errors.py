"""``DatasetError``: a dataset file is missing or not what it should be."""

from __future__ import annotations


class DatasetError(OSError, ValueError):
    """A dataset is missing, unreadable or corrupt; the message says which file, what is
    wrong, and what to do about it.

    It is both an ``OSError`` (a file problem) and a ``ValueError`` (bad contents), like
    ``io.UnsupportedOperation``, so either ``except`` clause catches it.

    Args:
        message: the whole message, one line, naming the file.
        path: the file or folder concerned (kept as ``.path``), if there is one.
    """

    def __init__(self, message: str, path=None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return str(self.args[0])
