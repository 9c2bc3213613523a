"""The ``.npz`` container: flat arrays + JSON metadata in one file (``save_npz`` /
``load_npz``), read without pickle.

A ``.npz`` (a zip of ``.npy`` files) holds arrays only; the metadata is stored inside it as
the entry ``__metadata__``: the UTF-8 bytes of ``{"format": "numnet-checkpoint",
"format_version": 1, "metadata": ...}`` as a uint8 array. The reader never calls
``numpy.load``: it parses each ``.npy`` header with NumPy's header parser and checks every
size against the file before it allocates, so a file with an object array is refused
instead of running code, and a damaged one is a ``CheckpointError`` naming the file.

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
import struct
import zipfile
import zlib

import numpy

from numnet.serialization.atomic import CheckpointError, atomic_write

FORMAT = "numnet-checkpoint"
"""Format tag of a container's metadata document."""
FORMAT_VERSION = 1
METADATA_KEY = "__metadata__"


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


