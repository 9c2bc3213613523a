"""The safetensors container, read and written by numnet's own code (no pickle, no
``safetensors`` package): ``save_file`` / ``load_file`` / ``save`` / ``load`` with the names
and arguments of ``safetensors.numpy``, and the ``save_safetensors`` / ``load_safetensors``
pair that also carries the metadata.

The format (Hugging Face's, which ``safetensors.torch.save_file`` writes)::

    bytes 0..8       N, the header's length: an unsigned 64-bit little-endian integer
    bytes 8..8+N     the header: a UTF-8 JSON object
                     {NAME: {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
                      ..., "__metadata__": {str: str}}   (the metadata is optional)
    bytes 8+N..      the data: each tensor's C-order little-endian bytes at BEGIN..END,
                     offsets counted from the data's first byte

The reader checks everything before it allocates an array: ``2 <= N <= 100 MB`` and
``N <= file size - 8``; the header is a JSON object (no duplicate keys) whose entries have
exactly the keys ``dtype``, ``shape``, ``data_offsets``; the dtype is one of ``F64 F32 F16
BF16 I64 I32 I16 I8 U8 BOOL``; the shape is a list of non-negative integers; the offsets
lie in the data area; the entries, sorted by offset, cover it without gaps or overlaps;
``prod(shape) * itemsize == END - BEGIN``. A file that fails a check raises
``CheckpointError`` naming the file and what is wrong. BF16 is upcast to float32 (its 16
bits are the top half of a float32's); BOOL bytes must be 0 or 1.

The writer puts the widest dtypes first (the order they keep among themselves is the
given one) and pads the header with spaces to a multiple of 8 bytes, so every tensor
starts aligned, as the ``safetensors`` package does; the file is written atomically.

Example:
    >>> import numpy, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> save_file({"fc.weight": numpy.eye(2, dtype=numpy.float32)}, path, {"epoch": "3"})
    >>> load_file(path)["fc.weight"]
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    >>> load_safetensors(path)[1]
    {'epoch': '3'}
"""

from __future__ import annotations

import io
import json
import math
import os

import numpy

from numnet.serialization.atomic import CheckpointError, atomic_write
from numnet.serialization.npz import METADATA_KEY, _check_arrays, _read_into
from numnet.tensor import Tensor

MAX_HEADER_SIZE = 100_000_000
"""The longest header read, in bytes (the limit of the ``safetensors`` package)."""
DTYPES = {"F64": numpy.dtype("<f8"), "F32": numpy.dtype("<f4"), "F16": numpy.dtype("<f2"),
          "BF16": numpy.dtype("<u2"), "I64": numpy.dtype("<i8"), "I32": numpy.dtype("<i4"),
          "I16": numpy.dtype("<i2"), "I8": numpy.dtype("i1"), "U8": numpy.dtype("u1"),
          "BOOL": numpy.dtype("u1")}
"""The dtype codes read, each with the dtype of its stored bytes (BF16 is read as its bit
patterns, then upcast; BOOL as bytes, then checked)."""
_CODES = {("f", 8): "F64", ("f", 4): "F32", ("f", 2): "F16", ("i", 8): "I64",
          ("i", 4): "I32", ("i", 2): "I16", ("i", 1): "I8", ("u", 1): "U8", ("b", 1): "BOOL"}
"""(dtype kind, itemsize) -> the code written (numpy has no bfloat16: BF16 is never written)."""
_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_BYTES = "<bytes>"
"""How errors name a buffer given to ``load``."""


# ---------------------------------------------------------------------- writing
def _flat_tensors(tensors, path: str) -> dict:
    """name -> NumPy array of a flat mapping of arrays and Tensors, every dtype writable."""
    if not hasattr(tensors, "items"):
        raise TypeError(f"cannot save to {path}: a safetensors file holds a flat dict of "
                        f"name -> tensor (e.g. a state_dict), got {type(tensors).__name__}")
    for name, value in tensors.items():
        if not isinstance(value, (Tensor, numpy.ndarray, numpy.generic)):
            raise TypeError(f"cannot save {name!r} to {path}: a safetensors file holds "
                            f"tensors only, got {type(value).__name__} (save nested objects "
                            "to a .npz file)")
    arrays = _check_arrays(tensors, path)
    for name, array in arrays.items():
        if (array.dtype.kind, array.dtype.itemsize) not in _CODES:
            raise CheckpointError(f"cannot save array {name!r} to {path}: safetensors files "
                                  f"written by numnet hold {' '.join(_CODES.values())}, not "
                                  f"{array.dtype}")
    return arrays


def _check_metadata(metadata, path: str) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"cannot save to {path}: safetensors metadata is a dict of "
                              f"str -> str, got {metadata!r:.100}")


def _serialize(tensors, metadata, path: str) -> tuple:
    """``(header bytes with its length in front, [little-endian arrays in file order])``."""
    arrays = _flat_tensors(tensors, path)
    _check_metadata(metadata, path)
    order = sorted(arrays, key=lambda name: -arrays[name].dtype.itemsize)  # stable
    header = {} if metadata is None else {METADATA_KEY: metadata}
    stored = []
    offset = 0
    for name in order:
        array = arrays[name]
        little = numpy.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        header[name] = {"dtype": _CODES[array.dtype.kind, array.dtype.itemsize],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + little.nbytes]}
        offset += little.nbytes
        stored.append(little)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if len(text) > MAX_HEADER_SIZE:
        raise CheckpointError(f"cannot save to {path}: its header would be {len(text)} "
                              f"bytes, more than the {MAX_HEADER_SIZE} safetensors allows")
    return len(text).to_bytes(8, "little") + text, stored


def _write(f, header: bytes, stored: list) -> None:
    f.write(header)
    for array in stored:
        f.write(array.reshape(-1).view(numpy.uint8))


def save_safetensors(arrays, path, metadata: dict | None = None) -> None:
    """Write arrays and string metadata to a ``.safetensors`` file, atomically.

    Args:
        arrays: name -> NumPy array or Tensor (e.g. a ``state_dict()``), of dtype float64,
            float32, float16, int64, int32, int16, int8, uint8 or bool.
        path: the file to write (written exactly there; an existing file is replaced).
        metadata: stored as the header's ``__metadata__``: a dict of str -> str.

    Raises:
        TypeError: ``arrays`` is not a flat mapping of arrays.
        CheckpointError: a bad name, an unsupported dtype, or metadata not str -> str.
    """
    path = os.fspath(path)
    header, stored = _serialize(arrays, metadata, path)
    atomic_write(path, lambda f: _write(f, header, stored))


def save_file(tensors, filename, metadata: dict | None = None) -> None:
    """``safetensors.numpy.save_file``: write ``tensors`` (name -> array) to ``filename``.

    See ``save_safetensors``.
    """
    save_safetensors(tensors, filename, metadata)


def save(tensors, metadata: dict | None = None) -> bytes:
    """``safetensors.numpy.save``: the bytes of a safetensors file holding ``tensors``.

    Example:
        >>> import numpy
        >>> data = save({"b": numpy.zeros(2, numpy.int8)})
        >>> int.from_bytes(data[:8], "little"), data[8:25]
        (56, b'{"b":{"dtype":"I8')
    """
    header, stored = _serialize(tensors, metadata, _BYTES)
    buffer = io.BytesIO()
    _write(buffer, header, stored)
    return buffer.getvalue()


# ---------------------------------------------------------------------- reading
def _unique_keys(pairs: list) -> dict:
    """A JSON object's ``object_pairs_hook`` refusing a key given twice."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r:.100} appears twice")
        out[key] = value
    return out


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(name: str, info, data_size: int, path: str) -> tuple:
    """``(code, shape, begin, end)`` of header entry ``name``, every field checked."""
    where = f"{path}: tensor {name!r:.100}"
    if not isinstance(info, dict) or set(info) != _ENTRY_KEYS:
        keys = sorted(info) if isinstance(info, dict) else type(info).__name__
        raise CheckpointError(f"{where}: its entry has {keys}, not exactly the keys "
                              "data_offsets, dtype, shape: not a safetensors file or damaged")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in DTYPES:
        raise CheckpointError(f"{where}: dtype {code!r:.20} is not one numnet reads "
                              f"({' '.join(DTYPES)})")
    if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
        raise CheckpointError(f"{where}: shape {shape!r:.100} is not a list of "
                              "non-negative integers: the file is damaged")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_count(n) for n in offsets) or offsets[0] > offsets[1]):
        raise CheckpointError(f"{where}: data_offsets {offsets!r:.100} are not "
                              "[begin, end] with 0 <= begin <= end: the file is damaged")
    begin, end = offsets
    if end > data_size:
        raise CheckpointError(f"{where}: its bytes {begin}..{end} run past the end of the "
                              f"{data_size} data bytes: the file is damaged or truncated")
    nbytes = math.prod(shape) * DTYPES[code].itemsize
    if nbytes != end - begin:
        raise CheckpointError(f"{where}: shape {shape} of {code} is {nbytes} bytes, but its "
                              f"offsets span {end - begin}: the file is damaged")
    return code, tuple(shape), begin, end


def _header(f, length: int, path: str) -> tuple:
    """``(entries in file order, metadata)`` from the header of a file of ``length`` bytes,
    positioned at its start; every check made, nothing allocated beyond the header."""
    if length < 10:
        raise CheckpointError(f"{path}: {length} bytes, too short for a safetensors file "
                              "(an 8-byte header length, then a JSON header of 2 or more)")
    size = int.from_bytes(f.read(8), "little")
    if size < 2 or size > min(MAX_HEADER_SIZE, length - 8):
        raise CheckpointError(f"{path}: its header length {size} is not between 2 and "
                              f"{min(MAX_HEADER_SIZE, length - 8)} (the smaller of 100 MB and "
                              "the file size - 8): not a safetensors file, or truncated")
    raw = f.read(size)
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("it does not start with '{'")
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as error:
        reason = "it is nested too deeply" if isinstance(error, RecursionError) else error
        raise CheckpointError(f"{path}: its header is not a JSON object ({str(reason):.200}):"
                              " not a safetensors file or damaged") from None
    metadata = document.pop(METADATA_KEY, None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(value, str) for value in metadata.values())):
        raise CheckpointError(f"{path}: its {METADATA_KEY} is not an object of strings: "
                              "the file is damaged")
    data_size = length - 8 - size
    entries = sorted(((name, *_entry(name, info, data_size, path))
                      for name, info in document.items()), key=lambda e: (e[3], e[4]))
    covered = 0
    for name, _, _, begin, end in entries:
        if begin != covered:
            problem = "overlap" if begin < covered else f"leave bytes {covered}..{begin} unused"
            raise CheckpointError(f"{path}: tensor {name!r:.100} begins at data byte {begin}"
                                  f" where the one before it ends at {covered}: the tensors "
                                  f"{problem}; the file is damaged")
        covered = end
    if covered != data_size:
        raise CheckpointError(f"{path}: the tensors fill {covered} of its {data_size} data "
                              "bytes: the file is damaged")
    return entries, metadata


def _array(f, code: str, shape: tuple, path: str, name: str) -> numpy.ndarray:
    """The next tensor's bytes from ``f`` as a native-order array (sizes already checked)."""
    stored = DTYPES[code]
    array = numpy.empty(math.prod(shape), stored)
    nbytes = array.nbytes
    filled = _read_into(f, memoryview(array.view(numpy.uint8)) if nbytes else None)
    if filled != nbytes:
        raise CheckpointError(f"{path}: tensor {name!r:.100} is cut short ({filled} of "
                              f"{nbytes} bytes): the file changed while it was read")
    if code == "BF16":
        array = (array.astype(numpy.uint32) << 16).view(numpy.float32)
    elif code == "BOOL":
        if (array > 1).any():
            raise CheckpointError(f"{path}: tensor {name!r:.100} is BOOL but holds bytes "
                                  "other than 0 and 1: the file is damaged")
        array = array.view(numpy.bool_)
    return array.astype(array.dtype.newbyteorder("="), copy=False).reshape(shape)


def _read(f, length: int, path: str) -> tuple:
    entries, metadata = _header(f, length, path)
    arrays = {name: _array(f, code, shape, path, name) for name, code, shape, _, _ in entries}
    return arrays, metadata


def load_safetensors(path) -> tuple:
    """Read a ``.safetensors`` file (every check of the module docstring made first).

    Args:
        path: the file.

    Returns:
        ``(arrays, metadata)``: name -> NumPy array in the file's order (BF16 as float32),
        and the ``__metadata__`` dict (None when the file has none).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors file, or damaged; the message says how.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        with open(path, "rb") as f:
            return _read(f, os.fstat(f.fileno()).st_size, path)
    except CheckpointError:
        raise
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read it ({error.strerror or error})") from error


def load_file(filename) -> dict:
    """``safetensors.numpy.load_file``: name -> NumPy array of a ``.safetensors`` file.

    See ``load_safetensors``.
    """
    return load_safetensors(filename)[0]


def load(data: bytes) -> dict:
    """``safetensors.numpy.load``: name -> NumPy array of the bytes of a safetensors file.

    Example:
        >>> import numpy
        >>> load(save({"w": numpy.arange(3, dtype=numpy.int64)}))
        {'w': array([0, 1, 2])}
    """
    data = bytes(data)
    return _read(io.BytesIO(data), len(data), _BYTES)[0]
