"""Atomic writes, and the error every reader and writer of ``numnet.serialization`` raises.

Every write goes to a temporary file in the destination's folder, is flushed and
``os.fsync``'ed, then renamed over the destination with ``os.replace`` (atomic on POSIX and
Windows) and the folder is fsynced: a crash at any point leaves either the old file or the
new one, never a half-written one. A process killed mid-write leaves only its temporary
file (``.NAME.<hex>.tmp``), which ``remove_temporaries`` sweeps; a failed write (ENOSPC:
disk full) raises the ``OSError`` naming the destination.

These are file primitives and take the path first, as ``open`` and ``Path.write_text`` do.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> atomic_write_text(path, "epoch 1\\n")
    >>> open(path).read()
    'epoch 1\\n'
"""

from __future__ import annotations

import os
import re
import secrets


class CheckpointError(OSError, ValueError):
    """A checkpoint cannot be written or read; the message names the file and the problem."""

    def __str__(self) -> str:
        return str(self.args[0])


TEMP_SUFFIX = ".tmp"
"""The temporary file of an atomic write of ``folder/NAME`` is ``folder/.NAME.<12 hex
digits>.tmp`` until it is renamed over ``NAME``."""
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}" + re.escape(TEMP_SUFFIX))


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write) -> None:
    """Write ``path`` atomically: ``write(f)`` fills a temporary binary file next to it,
    which is flushed, fsynced and renamed over ``path``; the folder is fsynced after.

    On any error the temporary file is removed and ``path`` is left as it was.

    Args:
        path: the destination file.
        write: a function taking the open binary file object.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    name = f".{os.path.basename(path)}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    temp = os.path.join(folder, name)
    try:
        # O_EXCL: never clobber; mode 0o666 filtered by the umask, like open(path, "w")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as error:
        named = _naming(error, path)
        if named is error:
            raise
        raise named from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        named = _naming(error, path) if isinstance(error, OSError) else error
        if named is error:
            raise
        raise named from None
    _fsync_folder(folder)


def _naming(error: OSError, path: str) -> OSError:
    """``error`` (a failed write of ``path``, e.g. ENOSPC: disk full) naming ``path`` rather
    than no file or the temporary one; the same error when it is not a plain OS error."""
    if (type(error).__module__ != "builtins" or error.errno is None
            or error.filename == path):
        return error
    return OSError(error.errno, error.strerror, path)  # the errno's subclass, as open() gives


def remove_temporaries(folder) -> list:
    """Remove the temporary files of atomic writes that never finished (the writing process
    was killed) from ``folder``: the ``.NAME.<12 hex digits>.tmp`` files of ``atomic_write``.

    Call it only while no other process writes into ``folder`` (``numnet train`` holds the
    run folder's lock): a live writer's temporary file looks the same.

    Returns:
        The names of the files removed, sorted.
    """
    removed = []
    for name in sorted(os.listdir(folder)):
        if _TEMPORARY.fullmatch(name):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            removed.append(name)
    return removed


def atomic_write_bytes(path, data: bytes) -> None:
    """Replace ``path``'s contents with ``data`` atomically (see ``atomic_write``)."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path``'s contents with ``text`` atomically (see ``atomic_write``); newlines
    are written as given."""
    atomic_write_bytes(path, text.encode(encoding))


