"""MNIST and Fashion-MNIST from the four standard IDX files (``.gz`` or raw).

The IDX format (LeCun's): a 4-byte big-endian magic number ``0x00 0x00 TYPE NDIM``
(``2051 = 0x00000803``: uint8 with 3 dims, images; ``2049 = 0x00000801``: uint8 with
1 dim, labels), then ``NDIM`` big-endian uint32 sizes, then the data, row-major. Every
field is checked: magic, dims, payload length against the header, image and label counts,
label range.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy

from numnet.data.errors import DatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# IDX type byte -> big-endian dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_MAX_DIMS = 32
"""The most sizes an IDX header may list (NumPy 1's limit on dimensions; NumPy 2 has 64)."""
_DEFLATE_MAX_RATIO = 1032
"""Deflate expands at most about 1032-fold: the most data a ``.gz`` of a given size holds."""
_CHUNK = 1 << 20


def _read_exactly(f, n: int) -> bytes:
    """Up to ``n`` bytes from ``f``, fewer only at its end, read in chunks (so ``n`` is
    never allocated in one go on the word of a header)."""
    chunks = []
    left = n
    while left > 0:
        chunk = f.read(min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _count_rest(f, limit: int) -> int:
    """How many bytes are left in ``f``, counting at most ``limit`` (then ``limit + 1``)."""
    count = 0
    while count <= limit:
        chunk = f.read(_CHUNK)
        if not chunk:
            break
        count += len(chunk)
    return count


def _parse_idx(f, path: str, length: int, gz: bool, expected_magic) -> numpy.ndarray:
    """The array in the open IDX stream ``f`` (``length``: the file's size on disk)."""
    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise DatasetError(f"{path}: only {len(head)} bytes, too short for an IDX header: "
                           "the file is truncated; download it again", path)
    magic = int.from_bytes(head, "big")
    if expected_magic is not None and magic != expected_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(expected_magic, "")
        raise DatasetError(f"{path}: wrong magic number {magic} (expected {expected_magic} "
                           f"for an IDX {kind} file): is it the right file, not damaged?",
                           path)
    type_code, ndim = head[2], head[3]
    if head[:2] != b"\x00\x00" or type_code not in _IDX_TYPES or ndim == 0:
        raise DatasetError(f"{path}: not an IDX file (magic number {magic:#010x})", path)
    if ndim > _MAX_DIMS:
        raise DatasetError(f"{path}: the IDX header lists {ndim} sizes, more than the "
                           f"{_MAX_DIMS} an array can have: the file is corrupt", path)
    header = 4 + 4 * ndim
    sizes = _read_exactly(f, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(f"{path}: truncated header ({4 + len(sizes)} bytes, the {ndim} "
                           f"sizes need {header}); download it again", path)
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = numpy.dtype(_IDX_TYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    # the file's size bounds the payload: checked before anything is allocated
    most = _DEFLATE_MAX_RATIO * length if gz else length - header
    if expected > most:
        held = (f"a {length}-byte gzip file can hold at most {most}" if gz
                else f"only {most} follow")
        raise DatasetError(f"{path}: truncated: the header promises {shape} = {expected} "
                           f"bytes of data but {held}; download it again", path)
    data = _read_exactly(f, expected)
    if len(data) < expected:
        raise DatasetError(f"{path}: truncated: the header promises {shape} = {expected} "
                           f"bytes of data but only {len(data)} follow; download it again",
                           path)
    extra = _count_rest(f, most - expected)
    if extra:
        raise DatasetError(f"{path}: {extra} unexpected bytes after the {shape} data the "
                           "header describes: the file is corrupt", path)
    array = numpy.frombuffer(data, dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path, expected_magic: int | None = None) -> numpy.ndarray:
    """Read one IDX file (raw or ``.gz``) into an array in native byte order.

    The header is read first and the size it promises checked against the file's (for a
    ``.gz``, against the most its compressed size can expand to) before the data is read,
    so a damaged header never makes the reader allocate what the file cannot hold.

    Args:
        path: the file.
        expected_magic: e.g. ``2051`` for images, ``2049`` for labels; None accepts any
            valid IDX header.

    Returns:
        The array, shaped by the header's sizes.

    Raises:
        DatasetError: missing or unreadable, a damaged gzip stream, wrong magic number,
            unknown type, too many sizes, or a payload whose length differs from what the
            header promises (truncated or with trailing bytes).
    """
    path = os.fspath(path)
    gz = path.endswith(".gz")
    try:
        with open(path, "rb") as raw:
            length = os.fstat(raw.fileno()).st_size
            if not gz:
                return _parse_idx(raw, path, length, gz, expected_magic)
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _parse_idx(f, path, length, gz, expected_magic)
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found", path) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: not a valid gzip file ({error or 'truncated'}): the "
                           "download is damaged or incomplete; download it again",
                           path) from error
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error.strerror or error})",
                           path) from error


def find_file(folder, name: str) -> str | None:
    """``folder/name`` or ``folder/name.gz`` (also the ``name.idx`` spelling with a dot,
    e.g. ``train-images.idx3-ubyte``), raw preferred; None when absent."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, name + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def has_files(folder) -> bool:
    """Whether ``folder`` holds all four IDX files."""
    return all(find_file(folder, name) is not None
               for pair in FILES.values() for name in pair)


def load_idx_split(folder, split: str, num_classes: int = 10, hint: str = ""):
    """Images and labels of one split from ``folder``.

    Args:
        folder: holds the IDX files.
        split: ``"train"`` or ``"test"``.
        num_classes: labels must lie in ``0 .. num_classes - 1``.
        hint: what to do when a file is missing (appended to the message).

    Returns:
        ``(images, labels)``: float32 ``(N, 1, H, W)`` in ``[0, 1]``, int64 ``(N,)``.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    paths = []
    for name in FILES[split]:
        path = find_file(folder, name)
        if path is None:
            raise DatasetError(f"{name} (or {name}.gz) not found in {folder}{hint}", folder)
        paths.append(path)
    raw_images = read_idx(paths[0], IMAGES_MAGIC)
    raw_labels = read_idx(paths[1], LABELS_MAGIC)
    if raw_images.ndim != 3:
        raise DatasetError(f"{paths[0]}: images need 3 sizes (count, rows, columns), the "
                           f"header has {raw_images.shape}", paths[0])
    if raw_labels.ndim != 1:
        raise DatasetError(f"{paths[1]}: labels need 1 size, the header has "
                           f"{raw_labels.shape}", paths[1])
    if raw_images.shape[0] != raw_labels.shape[0]:
        raise DatasetError(f"{paths[0]} holds {raw_images.shape[0]} images but {paths[1]} "
                           f"holds {raw_labels.shape[0]} labels: the files do not belong "
                           "together; download both again", paths[1])
    labels = raw_labels.astype(numpy.int64)
    check_labels(labels, num_classes, paths[1])
    images = numpy.divide(raw_images[:, None], numpy.float32(255), dtype=numpy.float32)
    return images, labels


def check_labels(labels: numpy.ndarray, num_classes: int, path) -> None:
    """Raise ``DatasetError`` naming the first label outside ``0 .. num_classes - 1``."""
    bad = numpy.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DatasetError(f"{path}: label {int(labels[bad[0]])} at index {int(bad[0])} is "
                           f"out of range 0..{num_classes - 1} ({bad.size} bad labels): the "
                           "file is corrupt or not from this dataset", path)
