"""Saving and loading without pickle: ``numnet.save`` / ``numnet.load``, the ``.npz``
container under them, and atomic writes.

Three layers, each built on the one below:

1. **Atomic writes** (``atomic_write``, ``atomic_write_bytes``, ``atomic_write_text``):
   every write goes to a temporary file in the destination's folder, is flushed and
   ``os.fsync``'ed, then renamed over the destination with ``os.replace`` (atomic on POSIX
   and Windows) and the folder is fsynced: a crash at any point leaves either the old file
   or the new one, never a half-written one.
2. **Containers: flat arrays + JSON metadata in one file** (``save_npz`` / ``load_npz``).
   A ``.npz`` (a zip of ``.npy`` files) holds arrays only; the metadata is stored inside it
   as the entry ``__metadata__``: the UTF-8 bytes of ``{"format": "numnet-checkpoint",
   "format_version": 1, "metadata": ...}`` as a uint8 array. Loading uses
   ``numpy.load(allow_pickle=False)``, so a file with an object array is refused instead
   of running code.
3. **Nested objects** (``save`` / ``load``, exported as ``numnet.save`` / ``numnet.load``,
   like ``torch.save(obj, f)`` / ``torch.load(f)``): a nested state (dicts, lists, tuples,
   arrays, Tensors, numbers) is split by ``encode`` into flat arrays and a JSON tree that
   refers to them, and written as one container.

What is saved comes first and the path second, as in ``torch.save(obj, f)``:
``save(obj, path)`` and ``save_npz(arrays, path, metadata)``. The atomic writers of layer 1
are file primitives and take the path first, as ``open`` and ``Path.write_text`` do.

A second container format (e.g. safetensors) joins at layer 2: a ``save_<format>(arrays,
path, metadata)`` / ``load_<format>(path) -> (arrays, metadata)`` pair beside the npz one,
reusing ``_check_arrays`` and the JSON document helpers, and a choice of pair in ``save`` /
``load``; layers 1 and 3 stay as they are.

Example:
    >>> import numpy, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save_npz({"fc.weight": numpy.eye(2, dtype=numpy.float32)}, path, {"epoch": 3})
    >>> arrays, metadata = load_npz(path)
    >>> arrays["fc.weight"].dtype, metadata
    (dtype('float32'), {'epoch': 3})
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile

import numpy

from numnet.tensor import Tensor

FORMAT = "numnet-checkpoint"
"""Format tag of a container's metadata document."""
FORMAT_VERSION = 1
METADATA_KEY = "__metadata__"
OBJECT_FORMAT = "numnet-object"
"""Format tag of the metadata of a file written by ``save`` (a nested object)."""


class CheckpointError(OSError, ValueError):
    """A checkpoint cannot be written or read; the message names the file and the problem."""

    def __str__(self) -> str:
        return str(self.args[0])


# ---------------------------------------------------------------------- 1. atomic writes
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


# ---------------------------------------------------------------------- 2. containers
def _as_array(name, value) -> numpy.ndarray:
    array = numpy.asarray(value)
    if array.dtype.hasobject:
        raise CheckpointError(f"cannot save array {name!r}: dtype {array.dtype} holds Python "
                              "objects; checkpoints hold numeric arrays only (put other "
                              "values in the JSON metadata)")
    return array


def _check_arrays(arrays: dict, path: str) -> dict:
    """name -> NumPy array, refusing reserved or non-string names and object arrays."""
    checked = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == METADATA_KEY:
            raise CheckpointError(f"cannot save to {path}: array name {name!r} is not allowed "
                                  f"(names are non-empty strings other than {METADATA_KEY})")
        checked[name] = _as_array(name, value)
    return checked


def _metadata_document(metadata: dict | None, path: str) -> str:
    """The JSON text stored as ``__metadata__``: the format tag, its version, ``metadata``."""
    document = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "metadata": {} if metadata is None else metadata}
    try:
        return json.dumps(document)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"cannot save to {path}: metadata is not JSON-serialisable "
                              f"({error})") from None


def _read_metadata_document(raw: numpy.ndarray, path: str) -> dict:
    """Inverse of ``_metadata_document`` (from the stored uint8 bytes): the metadata."""
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
    return document.get("metadata", {})


def _write_npz(f, arrays: dict, compress: bool) -> None:
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, mode="w", compression=compression, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                numpy.lib.format.write_array(member, array, allow_pickle=False)


def save_npz(arrays: dict, path, metadata: dict | None = None, compress: bool = False) -> None:
    """Save arrays and JSON metadata to one ``.npz`` checkpoint, atomically.

    Args:
        arrays: name -> array (NumPy arrays, Tensors, anything ``numpy.asarray`` takes),
            e.g. a ``state_dict()``. Names are strings; ``__metadata__`` is reserved.
        path: the file to write (written exactly there; no suffix is added).
        metadata: a JSON-serialisable dict (config, optimizer state, epoch, history ...).
        compress: deflate the arrays (smaller, slower).

    Raises:
        CheckpointError: an object array, a bad name, or metadata that is not JSON.
    """
    path = os.fspath(path)
    checked = _check_arrays(arrays, path)
    text = _metadata_document(metadata, path)
    checked[METADATA_KEY] = numpy.frombuffer(text.encode("utf-8"), dtype=numpy.uint8)
    atomic_write(path, lambda f: _write_npz(f, checked, compress))


def load_npz(path) -> tuple:
    """Load a checkpoint written by ``save_npz``.

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
    return arrays, _read_metadata_document(raw, path)


# ---------------------------------------------------------------------- 3. nested objects
def encode(value, arrays: dict):
    """Return a JSON-serialisable form of ``value``, moving arrays into ``arrays``.

    Every array goes into ``arrays`` under a generated key and is referenced from the JSON
    as ``{"__array__": key}``; dicts with non-string keys (optimizer state is keyed by
    parameter index) and tuples are tagged so they come back exactly as they were.
    """
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, numpy.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v, arrays) for k, v in value.items()}
        return {"__items__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint")


def decode(value, arrays: dict):
    """Inverse of ``encode``."""
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__items__" in value:
            return {_hashable(decode(k, arrays)): decode(v, arrays)
                    for k, v in value["__items__"]}
        if "__tuple__" in value:
            return tuple(decode(v, arrays) for v in value["__tuple__"])
        return {k: decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def save(obj, path) -> None:
    """Atomically write ``obj`` (e.g. a ``state_dict`` or a whole training state) to ``path``.

    Tensors are stored as their arrays; everything else must be JSON-representable.

    Example:
        >>> import numnet, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> numnet.save({"w": numnet.ones(2), "step": 3, "betas": (0.9, 0.99)}, path)
        >>> numnet.load(path)
        {'w': array([1., 1.], dtype=float32), 'step': 3, 'betas': (0.9, 0.99)}
    """
    arrays: dict = {}
    metadata = {"format": OBJECT_FORMAT, "object": encode(obj, arrays)}
    save_npz(arrays, path, metadata)


def load(path):
    """Read an object written by ``save`` (no pickle: arrays and JSON only; arrays come
    back as NumPy arrays)."""
    arrays, metadata = load_npz(path)
    if metadata.get("format") != OBJECT_FORMAT:
        raise CheckpointError(f"{path} was not written by numnet.save "
                              f"(format {metadata.get('format')!r})")
    return decode(metadata["object"], arrays)
