"""MNIST and Fashion-MNIST from the four standard IDX files (``.gz`` or raw).

The IDX format (LeCun's): a 4-byte big-endian magic number ``0x00 0x00 TYPE NDIM``
(``2051 = 0x00000803``: uint8 with 3 dims, images; ``2049 = 0x00000801``: uint8 with
1 dim, labels), then ``NDIM`` big-endian uint32 sizes, then the data, row-major. Every
field is checked: magic, dims, payload length against the header, image and label counts,
label range.
"""

from __future__ import annotations

import gzip
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


def read_bytes(path) -> bytes:
    """The contents of ``path``, gunzipped when it ends in ``.gz``."""
    path = os.fspath(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found", path) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: not a valid gzip file ({error}): the download is "
                           "damaged or incomplete; download it again", path) from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error.strerror or error})",
                           path) from None


def read_idx(path, expected_magic: int | None = None) -> numpy.ndarray:
    """Read one IDX file (raw or ``.gz``) into an array in native byte order.

    Args:
        path: the file.
        expected_magic: e.g. ``2051`` for images, ``2049`` for labels; None accepts any
            valid IDX header.

    Returns:
        The array, shaped by the header's sizes.

    Raises:
        DatasetError: wrong magic number, unknown type, or a payload whose length differs
            from what the header promises (truncated or with trailing bytes).
    """
    path = os.fspath(path)
    data = read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: only {len(data)} bytes, too short for an IDX header: "
                           "the file is truncated; download it again", path)
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(expected_magic, "")
        raise DatasetError(f"{path}: wrong magic number {magic} (expected {expected_magic} "
                           f"for an IDX {kind} file): is it the right file, not damaged?",
                           path)
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in _IDX_TYPES or ndim == 0:
        raise DatasetError(f"{path}: not an IDX file (magic number {magic:#010x})", path)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated header ({len(data)} bytes, the {ndim} sizes "
                           f"need {header}); download it again", path)
    shape = tuple(int(s) for s in numpy.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = numpy.dtype(_IDX_TYPES[type_code])
    expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    payload = len(data) - header
    if payload < expected:
        raise DatasetError(f"{path}: truncated: the header promises {shape} = {expected} "
                           f"bytes of data but only {payload} follow; download it again", path)
    if payload > expected:
        raise DatasetError(f"{path}: {payload - expected} unexpected bytes after the "
                           f"{shape} data the header describes: the file is corrupt", path)
    array = numpy.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


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
