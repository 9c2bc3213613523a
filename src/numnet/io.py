"""Checkpoints without pickle, and atomic writes.

A checkpoint is one ``.npz`` (a zip of ``.npy`` files) holding arrays only. The metadata
(JSON: model config, optimizer state, epoch, RNG state, history ...) is stored inside it as
the entry ``__metadata__``: the UTF-8 bytes of ``{"format": "numnet-checkpoint",
"format_version": 1, "metadata": ...}`` as a uint8 array. Loading uses
``numpy.load(allow_pickle=False)``, so a file with an object array is refused instead of
running code.

Every write goes to a temporary file in the destination's folder, is flushed and
``os.fsync``'ed, then renamed over the destination with ``os.replace`` (atomic on POSIX
and Windows) and the folder is fsynced: a crash at any point leaves either the old file or
the new one, never a half-written one.

Example:
    >>> import numpy, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save(path, {"fc.weight": numpy.eye(2, dtype=numpy.float32)}, {"epoch": 3})
    >>> arrays, metadata = load(path)
    >>> arrays["fc.weight"].dtype, metadata
    (dtype('float32'), {'epoch': 3})
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile

import numpy

FORMAT = "numnet-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "__metadata__"


class CheckpointError(OSError, ValueError):
    """A checkpoint cannot be written or read; the message names the file and the problem."""

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------- atomic writes
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
    temp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never clobber; mode 0o666 filtered by the umask, like open(path, "w")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path, data: bytes) -> None:
    """Replace ``path``'s contents with ``data`` atomically (see ``atomic_write``)."""
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path``'s contents with ``text`` atomically (see ``atomic_write``); newlines
    are written as given."""
    atomic_write_bytes(path, text.encode(encoding))


# ---------------------------------------------------------------------- checkpoints
def _as_array(name, value) -> numpy.ndarray:
    array = numpy.asarray(value)
    if array.dtype.hasobject:
        raise CheckpointError(f"cannot save array {name!r}: dtype {array.dtype} holds Python "
                              "objects; checkpoints hold numeric arrays only (put other "
                              "values in the JSON metadata)")
    return array


def _write_npz(f, arrays: dict, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, mode="w", compression=compression, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                numpy.lib.format.write_array(member, array, allow_pickle=False)


def save(path, arrays: dict, metadata: dict | None = None, compress: bool = False) -> None:
    """Save arrays and JSON metadata to one ``.npz`` checkpoint, atomically.

    Args:
        path: the file to write (written exactly there; no suffix is added).
        arrays: name -> array (NumPy arrays, Tensors, anything ``numpy.asarray`` takes),
            e.g. a ``state_dict()``. Names are strings; ``__metadata__`` is reserved.
        metadata: a JSON-serialisable dict (config, optimizer state, epoch, history ...).
        compress: deflate the arrays (smaller, slower).

    Raises:
        CheckpointError: an object array, a bad name, or metadata that is not JSON.
    """
    path = os.fspath(path)
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == METADATA_KEY:
            raise CheckpointError(f"cannot save to {path}: array name {name!r} is not allowed "
                                  f"(names are non-empty strings other than {METADATA_KEY})")
        checked[name] = _as_array(name, value)
    document = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "metadata": {} if metadata is None else metadata}
    try:
        text = json.dumps(document)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"cannot save to {path}: metadata is not JSON-serialisable "
                              f"({error})") from None
    checked[METADATA_KEY] = numpy.frombuffer(text.encode("utf-8"), dtype=numpy.uint8)
    atomic_write(path, lambda f: _write_npz(f, checked, compress))


def load(path) -> tuple:
    """Load a checkpoint written by ``save``.

    Args:
        path: the ``.npz`` file.

    Returns:
        ``(arrays, metadata)``: a dict name -> NumPy array (in the saved order) and the
        metadata dict.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a numnet checkpoint, damaged, written by a newer numnet, or
            holding an object array (refused: loading it would need pickle).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        archive = numpy.load(path, allow_pickle=False)
    except ValueError as error:
        raise CheckpointError(f"{path}: refused to load: {error} (checkpoints are "
                              ".npz files of numeric arrays)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({error})") from None
    if not isinstance(archive, numpy.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: a single .npy array, not a numnet .npz checkpoint")
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except ValueError as error:
                raise CheckpointError(f"{path}: refused to load array {name!r}: {error} "
                                      "(an object array would need pickle, which could run "
                                      "code; checkpoints hold numeric arrays only)") from None
            except (OSError, EOFError, zipfile.BadZipFile) as error:
                raise CheckpointError(f"{path}: array {name!r} is damaged ({error})") from None
    raw = arrays.pop(METADATA_KEY, None)
    if raw is None:
        raise CheckpointError(f"{path}: no {METADATA_KEY} entry: not a numnet checkpoint")
    try:
        if raw.dtype != numpy.uint8 or raw.ndim != 1:
            raise ValueError(f"{METADATA_KEY} is a {raw.dtype} array of shape {raw.shape}")
        document = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("the format tag is missing")
    except ValueError as error:
        raise CheckpointError(f"{path}: unreadable metadata ({error}): not a numnet "
                              "checkpoint or damaged") from None
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version} is newer than "
                              f"this numnet reads ({FORMAT_VERSION}): upgrade numnet")
    return arrays, document.get("metadata", {})
