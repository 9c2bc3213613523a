"""CIFAR-10 from the "python version" batches, read with a restricted unpickler.

The batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) are Python 2 pickles of a
dict with ``b"data"`` (``(10000, 3072)`` uint8, each row the red, green then blue 32x32 plane)
and ``b"labels"`` (a list of ints). Pickle can run arbitrary code, so ``RestrictedUnpickler``
resolves only the few globals a NumPy array needs and refuses every other one: a hostile
file raises ``DatasetError`` before anything it names is called.
"""

from __future__ import annotations

import _codecs
import io
import os
import pickle

import numpy

from numnet.data.errors import DatasetError
from numnet.data.idx import check_labels

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
SUBFOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _latin1_encode(text, encoding="latin1", errors="strict"):
    """``_codecs.encode`` as Python 3 pickles of bytes at protocol <= 2 use it, limited to
    latin-1 (any other codec is refused)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise RefusedGlobal(f"refused _codecs.encode({type(text).__name__}, "
                                     f"{encoding!r}): only latin-1 text is allowed")
    return _codecs.encode(text, "latin1")


def _numpy_globals() -> dict:
    """The globals a pickled ndarray refers to, under NumPy 1 and 2 module names, resolved
    from NumPy's own reducers (no import of deprecated paths)."""
    array = numpy.zeros(1, numpy.uint8)
    reconstruct = array.__reduce__()[0]
    frombuffer = array.__reduce_ex__(5)[0]
    allowed = {("numpy", "ndarray"): numpy.ndarray, ("numpy", "dtype"): numpy.dtype,
               ("_codecs", "encode"): _latin1_encode}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = frombuffer
    return allowed


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowlist (it may be hostile)."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, tuples, bytes, str, numbers and NumPy
    arrays: ``find_class`` admits ``numpy.ndarray``, ``numpy.dtype``, NumPy's array
    reconstructors and latin-1 ``_codecs.encode``, and refuses everything else."""

    ALLOWED = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused to load global {module}.{name}") from None

    def persistent_load(self, pid):
        raise RefusedGlobal("refused a persistent id")


def restricted_loads(data: bytes):
    """Unpickle ``data`` with ``RestrictedUnpickler`` (``encoding='bytes'``, as Python 2
    pickles need)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def _field(batch: dict, key: str):
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    return None


def read_batch(path) -> tuple:
    """One CIFAR-10 batch file as ``(data, labels)``: uint8 ``(N, 3072)``, int64 ``(N,)``.

    Raises:
        DatasetError: missing, not a pickle, a refused global, or wrong contents.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found", path) from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error.strerror or error})",
                           path) from None
    try:
        batch = restricted_loads(raw)
    except RefusedGlobal as error:
        raise DatasetError(f"{path}: unsafe pickle, {error}: a CIFAR-10 batch holds only "
                           "dicts, lists, bytes, ints and NumPy arrays; do not use this "
                           "file, download the dataset again", path) from None
    except Exception as error:  # truncated or garbled pickles raise many kinds
        raise DatasetError(f"{path}: not a readable CIFAR-10 batch "
                           f"({type(error).__name__}: {error}); download it again",
                           path) from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found a "
                           f"{type(batch).__name__}", path)
    data = _field(batch, "data")
    labels = _field(batch, "labels")
    if data is None or labels is None:
        keys = sorted(str(k) for k in batch)
        raise DatasetError(f"{path}: missing key b'data' or b'labels' (keys: {keys})", path)
    if (not isinstance(data, numpy.ndarray) or data.dtype != numpy.uint8 or data.ndim != 2
            or data.shape[1] != 3072):
        what = (f"{data.dtype} array of shape {data.shape}"
                if isinstance(data, numpy.ndarray) else type(data).__name__)
        raise DatasetError(f"{path}: b'data' should be a uint8 array of shape (N, 3072), "
                           f"found a {what}", path)
    if isinstance(labels, numpy.ndarray) and labels.dtype.kind in "iu":
        labels = labels.astype(numpy.int64).reshape(-1)
    elif isinstance(labels, list) and numpy.array(labels).dtype.kind in "iu":
        labels = numpy.array(labels, dtype=numpy.int64).reshape(-1)
    else:
        raise DatasetError(f"{path}: b'labels' should be a list of ints", path)
    if labels.shape[0] != data.shape[0]:
        raise DatasetError(f"{path}: {data.shape[0]} images but {labels.shape[0]} labels",
                           path)
    check_labels(labels, 10, path)
    return data, labels


def find_folder(data_dir, names=TRAIN_FILES + TEST_FILES) -> str | None:
    """The folder holding the batch files ``names``: ``data_dir`` or
    ``data_dir/cifar-10-batches-py``; None when neither holds them all."""
    data_dir = os.fspath(data_dir)
    for folder in (data_dir, os.path.join(data_dir, SUBFOLDER)):
        if all(os.path.isfile(os.path.join(folder, name)) for name in names):
            return folder
    return None


def _missing_error(data_dir: str, names: tuple) -> DatasetError:
    folder = os.path.join(data_dir, SUBFOLDER)
    if not os.path.isdir(folder):
        folder = data_dir
    missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
    tarball = os.path.join(data_dir, "cifar-10-python.tar.gz")
    if os.path.isfile(tarball):
        todo = f"extract {tarball} there with `tar xzf`"
    else:
        todo = f"download {URL}, extract it with `tar xzf` and pass --data-dir DIR"
    return DatasetError(f"CIFAR-10 batch {missing[0]} not found in {folder}: {todo}", folder)


def load_cifar10(data_dir, split: str = "train") -> tuple:
    """CIFAR-10 images and labels of one split.

    Args:
        data_dir: a folder holding the batches, directly or in ``cifar-10-batches-py/``.
        split: ``"train"`` (the five data batches, 50000 images) or ``"test"`` (10000).

    Returns:
        ``(images, labels)``: float32 ``(N, 3, 32, 32)`` in ``[0, 1]``, int64 ``(N,)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data_dir = os.fspath(data_dir)
    names = TRAIN_FILES if split == "train" else TEST_FILES
    folder = find_folder(data_dir, names)
    if folder is None:
        raise _missing_error(data_dir, names)
    batches = [read_batch(os.path.join(folder, name)) for name in names]
    data = numpy.concatenate([b[0] for b in batches])
    labels = numpy.concatenate([b[1] for b in batches])
    images = numpy.divide(data.reshape(-1, 3, 32, 32), numpy.float32(255),
                          dtype=numpy.float32)
    return images, labels
