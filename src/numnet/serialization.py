"""Saving and loading without pickle: ``numnet.save`` / ``numnet.load``, the ``.npz``
container under them, and atomic writes.

Three layers, each built on the one below:

1. **Atomic writes** (``atomic_write``, ``atomic_write_bytes``, ``atomic_write_text``):
   every write goes to a temporary file in the destination's folder, is flushed and
   ``os.fsync``'ed, then renamed over the destination with ``os.replace`` (atomic on POSIX
   and Windows) and the folder is fsynced: a crash at any point leaves either the old file
   or the new one, never a half-written one. A process killed mid-write leaves only its
   temporary file (``.NAME.<hex>.tmp``), which ``remove_temporaries`` sweeps; a failed
   write (ENOSPC: disk full) raises the ``OSError`` naming the destination.
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
import math
import os
import re
import secrets
import struct
import zipfile
import zlib

import numpy

from numnet import devices
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
        if not isinstance(document.get("metadata", {}), dict):
            raise ValueError("the metadata is not a JSON object")
    except (ValueError, RecursionError) as error:
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


_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip file (a ``.npz``) begins: a local file header, or the end record of an empty one."""
_NPY_SIGNATURE = b"\x93NUMPY"
_DEFLATE_MAX_RATIO = 1032
"""Deflate expands at most about 1032-fold, so a member claiming more is damaged."""
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error,
           ValueError, TypeError, SyntaxError, OverflowError, RecursionError,
           NotImplementedError)
"""What zipfile, zlib and NumPy's header parser raise on a damaged file (zipfile raises
NotImplementedError for flag bits it does not support, e.g. a flipped one)."""


def _reason(error: BaseException) -> str:
    """What a zipfile/zlib/NumPy error says is wrong, in words a user can act on."""
    if isinstance(error, zlib.error):
        return "its compressed data is corrupt"
    if isinstance(error, EOFError):
        return "it ends in the middle of an entry"
    if isinstance(error, struct.error):
        return "its zip directory is damaged"
    if isinstance(error, RecursionError):
        return "its metadata is nested too deeply"
    text = str(error)
    if "allow_pickle" in text or not text:
        return type(error).__name__
    return text


def _refuse_non_zip(start: bytes, path: str) -> None:
    """Refuse a file that cannot be a ``.npz``, saying what it is instead."""
    if start.startswith(_ZIP_SIGNATURES):
        return
    if start.startswith(_NPY_SIGNATURE):
        raise CheckpointError(f"{path}: a single .npy array, not a numnet .npz checkpoint")
    if start[:1] == b"\x80":
        raise CheckpointError(f"{path}: refused to load: it is a Python pickle, not a .npz "
                              "checkpoint (numnet never loads pickles: they can run code)")
    if not start:
        raise CheckpointError(f"{path}: the file is empty, not a .npz checkpoint")
    raise CheckpointError(f"{path}: not a .npz checkpoint: it starts with {start[:8]!r}, "
                          "not the zip signature b'PK\\x03\\x04'; is it the right file?")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, length: int,
                 path: str) -> numpy.ndarray:
    """One ``.npy`` entry as an array; its sizes are checked against the file's ``length``
    before anything is allocated, and its CRC when it has been read."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise CheckpointError(f"{path}: entry {name!r} is encrypted; numnet writes none")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(f"{path}: entry {name!r} uses compression method "
                              f"{info.compress_type}; numnet writes stored or deflated entries")
    limit = info.compress_size
    if info.compress_type == zipfile.ZIP_DEFLATED:
        limit = _DEFLATE_MAX_RATIO * info.compress_size + 1024
    if info.compress_size > length or info.file_size > limit:
        raise CheckpointError(f"{path}: entry {name!r} claims {info.file_size} bytes "
                              f"({info.compress_size} stored) in a file of {length} bytes: "
                              "the file is damaged or truncated")
    with archive.open(info) as member:
        try:
            version = numpy.lib.format.read_magic(member)
        except ValueError:
            raise CheckpointError(f"{path}: entry {name!r} is not a .npy array") from None
        readers = {(1, 0): numpy.lib.format.read_array_header_1_0,
                   (2, 0): numpy.lib.format.read_array_header_2_0}
        if version not in readers:
            raise CheckpointError(f"{path}: entry {name!r} is a .npy of version "
                                  f"{version[0]}.{version[1]}, which numnet does not write")
        try:
            shape, fortran_order, dtype = readers[version](member)
        except (ValueError, TypeError, SyntaxError, RecursionError) as error:
            reason = str(error)
            if "allow_pickle" in reason:  # NumPy's advice for long headers: never ours
                reason = "the header is longer than the 10000 bytes NumPy parses safely"
            raise CheckpointError(f"{path}: array {name[:-4]!r} has a damaged .npy header "
                                  f"({reason[:200]}): the file is damaged") from error
        if dtype.hasobject:
            raise CheckpointError(f"{path}: refused to load array {name[:-4]!r}: its dtype "
                                  f"{dtype} holds Python objects, which only pickle could "
                                  "load, and pickle can run code; checkpoints hold numeric "
                                  "arrays only")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        held = info.file_size - member.tell()
        if nbytes != held:
            raise CheckpointError(f"{path}: array {name[:-4]!r}: its header promises shape "
                                  f"{shape} of {dtype} = {nbytes} bytes, but the entry holds "
                                  f"{held}: the file is damaged")
        array = numpy.empty(count, dtype)  # its size is checked against the file above
        filled = _read_into(member, memoryview(array.view(numpy.uint8)) if nbytes else None)
        if filled != nbytes or member.read(1):  # reading to the end checks the CRC-32
            raise CheckpointError(f"{path}: array {name[:-4]!r}: {filled} bytes of data "
                                  f"where its header promises {nbytes}: the file is damaged")
    return array.reshape(shape, order="F" if fortran_order else "C")


def _read_into(member, buffer) -> int:
    """Fill ``buffer`` (a byte memoryview, or None for no bytes) from ``member`` in 1 MiB
    chunks; the number of bytes read (fewer at the member's end)."""
    if buffer is None:
        return 0
    filled = 0
    while filled < len(buffer):
        chunk = member.read(min(len(buffer) - filled, 1 << 20))
        if not chunk:
            break
        buffer[filled:filled + len(chunk)] = chunk
        filled += len(chunk)
    return filled


def load_npz(path) -> tuple:
    """Load a checkpoint written by ``save_npz``.

    Only zip files of ``.npy`` entries are read, and each entry with NumPy's header parser
    and plain byte reads (never ``numpy.load``, so never pickle): every size a header
    promises is checked against the file before anything is allocated, and every entry's
    CRC-32 is verified.

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
    arrays = {}
    try:
        with open(path, "rb") as f:
            length = os.fstat(f.fileno()).st_size
            _refuse_non_zip(f.read(8), path)
            f.seek(0)
            with zipfile.ZipFile(f) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".npy"):
                        raise CheckpointError(f"{path}: entry {info.filename!r} is not a "
                                              ".npy array: not a numnet checkpoint")
                    name = info.filename[:-4]
                    if name in arrays:
                        raise CheckpointError(f"{path}: two entries named {info.filename!r}:"
                                              " the file is damaged")
                    arrays[name] = _read_member(archive, info, length, path)
    except CheckpointError:
        raise
    except _DAMAGE as error:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({_reason(error)}): "
                              "the file is damaged or truncated") from error
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read it ({error.strerror or error})") from error
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


def _check_map_location(map_location) -> None:
    """Accept what ``torch.load`` accepts as ``map_location`` when it maps to the CPU."""
    if map_location is None or callable(map_location):
        return  # a callable (storage, location) -> storage: every array is already on the CPU
    if isinstance(map_location, dict):
        for source, target in map_location.items():
            if devices.device(source).type == "cpu":
                devices.check(target)
        return
    if not isinstance(map_location, (str, devices.device)):
        raise TypeError("map_location should be None, a device, a string, a dict or a "
                        f"callable, got {type(map_location).__name__}")
    devices.check(map_location)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None):
    """Read an object written by ``save`` (no pickle: arrays and JSON only; arrays come
    back as NumPy arrays), with ``torch.load``'s arguments.

    Args:
        f: the file written by ``save`` (a path).
        map_location: None, ``"cpu"``, ``numnet.device("cpu")``, a dict of locations or a
            callable: everything numnet saves is on the CPU, so these load it unchanged;
            any other device raises numnet's device error (numnet runs on the CPU only).
        pickle_module: must be None: numnet never unpickles.
        weights_only: accepted for PyTorch scripts. numnet always loads weights only
            (arrays and JSON); ``False`` does *not* enable pickle.
        mmap: accepted; no effect (the arrays are read into memory).
    """
    if pickle_module is not None:
        raise RuntimeError("numnet.load never unpickles: pickle_module must be None")
    _check_map_location(map_location)
    path = f
    arrays, metadata = load_npz(path)
    if metadata.get("format") != OBJECT_FORMAT or "object" not in metadata:
        raise CheckpointError(f"{path} was not written by numnet.save "
                              f"(format {metadata.get('format')!r})")
    try:
        return decode(metadata["object"], arrays)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the saved object refers to arrays or values that are "
                              f"not there ({type(error).__name__}: {error}): the file is "
                              "damaged") from error
