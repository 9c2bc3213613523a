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
import math
import os
import pickle
import pickletools

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


_PLAIN_DTYPES = frozenset(
    ("b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"))
"""The dtypes a pickled array may have: plain numbers (no objects, fields or subarrays)."""
_PLAIN_DTYPE_STATE = (None, None, None, -1, -1, 0)
"""``dtype.__reduce__()[2][2:]`` of every plain dtype: no subarray, names, fields, sizes."""
_MAX_DIMS = 32


def _text(value):
    """``value`` as ``str`` when it is ``bytes`` (Python 2 pickles read with
    ``encoding='bytes'`` give their strings as bytes)."""
    return value.decode("latin1") if isinstance(value, bytes) else value


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowlist (it may be hostile)."""


class PickledDType:
    """Stands for ``numpy.dtype`` in a pickle. Only a plain numeric dtype is admitted, and
    ``__setstate__`` only its byte order: NumPy's own ``dtype.__setstate__`` would accept a
    hostile state (object flags, fields) that later crashes the array built on it."""

    def __init__(self, spec, align=False, copy=False):
        spec = _text(spec)
        if (not isinstance(spec, str) or spec not in _PLAIN_DTYPES
                or not isinstance(align, bool) or not isinstance(copy, bool)):
            raise RefusedGlobal(f"refused dtype {repr(spec)[:40]}: only uint8 arrays and "
                                "other plain numeric dtypes are allowed")
        self.dtype = numpy.dtype(spec)

    def __setstate__(self, state):
        order = _text(state[1]) if isinstance(state, tuple) and len(state) == 8 else None
        if (order not in ("<", ">", "|", "=") or state[0] != 3
                or tuple(state[2:]) != _PLAIN_DTYPE_STATE):
            raise RefusedGlobal(f"refused the state of dtype {self.dtype}: only a plain "
                                "numeric dtype's byte order may be set")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


def _checked_shape(shape, dtype, nbytes: int) -> tuple:
    """``shape``, when it describes exactly ``nbytes`` of ``dtype`` (checked with Python
    ints, before anything is allocated)."""
    if (not isinstance(shape, tuple) or len(shape) > _MAX_DIMS
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise pickle.UnpicklingError(f"bad array shape {shape!r}"[:200])
    if not isinstance(dtype, PickledDType):
        raise pickle.UnpicklingError(f"an array's dtype is a {type(dtype).__name__}")
    need = math.prod(shape) * dtype.dtype.itemsize
    if need != nbytes:
        raise pickle.UnpicklingError(f"an array of shape {shape} and dtype {dtype.dtype} "
                                     f"needs {need} bytes, the pickle holds {nbytes}")
    return shape


class PickledArray:
    """An ndarray from ``_reconstruct``, filled in by ``__setstate__`` (the pickle's BUILD):
    the state's shape is checked against the length of its bytes, then the array is built
    from those bytes in ``.array``. NumPy's own ``ndarray.__setstate__`` would allocate
    whatever shape the state names, and crashes on an object state with a short list."""

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        if self.array is not None:
            raise pickle.UnpicklingError("an array's state is set twice")
        if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise pickle.UnpicklingError("bad array state")
        shape, dtype, fortran, raw = state
        if not isinstance(fortran, bool) or not isinstance(raw, bytes):
            raise pickle.UnpicklingError("bad array state")
        shape = _checked_shape(shape, dtype, len(raw))
        flat = numpy.frombuffer(bytearray(raw), dtype.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C")


class _NDArrayName:
    """Stands for ``numpy.ndarray`` in a pickle: only ever ``_reconstruct``'s first
    argument, never called."""


def _reconstruct(cls, shape, typecode):
    """``numpy._core.multiarray._reconstruct`` as NumPy's pickles call it,
    ``(ndarray, (0,), b'b')``: an empty array whose state comes next."""
    if not isinstance(cls, _NDArrayName) or shape != (0,) or _text(typecode) != "b":
        raise RefusedGlobal("refused _reconstruct with arguments other than NumPy's "
                            "(ndarray, (0,), b'b')")
    return PickledArray()


def _frombuffer(buffer, dtype, shape, order):
    """``numpy._core.numeric._frombuffer`` (protocol 5 pickles), with the shape checked
    against the buffer's length first."""
    if not isinstance(buffer, (bytes, bytearray)) or _text(order) not in ("C", "F"):
        raise pickle.UnpicklingError("bad in-band array buffer")
    shape = _checked_shape(shape, dtype, len(buffer))
    return numpy.frombuffer(buffer, dtype.dtype).reshape(shape, order=_text(order))


def _numpy_globals() -> dict:
    """The globals a pickled ndarray refers to, under NumPy 1 and 2 module names, each
    mapped to numnet's checked stand-in (no NumPy reconstructor ever sees the pickle)."""
    allowed = {("numpy", "ndarray"): _NDArrayName(), ("numpy", "dtype"): PickledDType,
               ("_codecs", "encode"): _latin1_encode}
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = _reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = _frombuffer
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, tuples, bytes, str, numbers and NumPy
    arrays: ``find_class`` admits ``numpy.ndarray``, ``numpy.dtype``, NumPy's array
    reconstructors and latin-1 ``_codecs.encode`` (each as a checked stand-in), and refuses
    everything else."""

    ALLOWED = _numpy_globals()

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused to load global {module}.{name}") from None

    def persistent_load(self, pid):
        raise RefusedGlobal("refused a persistent id")


_MEMO_OPCODES = frozenset(("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"))


def check_opcodes(data: bytes) -> None:
    """Walk ``data``'s opcodes with ``pickletools.genops`` (which checks every
    length-prefixed argument against the bytes that are there) and refuse memo indices and
    frames beyond the pickle's size: the C unpickler allocates what these promise before
    it reads."""
    for opcode, arg, position in pickletools.genops(data):
        if opcode.name in _MEMO_OPCODES and not 0 <= arg <= len(data):
            raise pickle.UnpicklingError(f"memo index {arg} at byte {position} is beyond "
                                         f"the pickle's {len(data)} bytes")
        if opcode.name == "FRAME" and arg > len(data) - position:
            raise pickle.UnpicklingError(f"a frame of {arg} bytes at byte {position} runs "
                                         "past the end")


def restricted_loads(data: bytes):
    """Unpickle ``data`` with ``RestrictedUnpickler`` (``encoding='bytes'``, as Python 2
    pickles need) after ``check_opcodes``; arrays come back as NumPy arrays."""
    check_opcodes(data)
    return _resolve(RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load())


def _resolve(value):
    """``value`` with every ``PickledArray`` replaced by its array, through dicts and lists
    (a pickle's memo makes a graph, so each container is visited once)."""
    if isinstance(value, PickledArray):
        return value.array
    seen = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen or not isinstance(item, (dict, list)):
            continue
        seen.add(id(item))
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in list(pairs):
            if isinstance(child, PickledArray):
                item[key] = child.array
            else:
                stack.append(child)
    return value


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
                           "file, download the dataset again", path) from error
    except Exception as error:  # truncated or garbled pickles raise many kinds
        raise DatasetError(f"{path}: not a readable CIFAR-10 batch "
                           f"({type(error).__name__}: {str(error)[:200]}); download it "
                           "again", path) from error
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found a "
                           f"{type(batch).__name__}", path)
    data = _field(batch, "data")
    labels = _field(batch, "labels")
    if data is None or labels is None:
        keys = sorted(repr(k)[:40] if isinstance(k, (bytes, str)) else type(k).__name__
                      for k in batch)
        raise DatasetError(f"{path}: missing key b'data' or b'labels' (keys: {keys})", path)
    if (not isinstance(data, numpy.ndarray) or data.dtype != numpy.uint8 or data.ndim != 2
            or data.shape[1] != 3072):
        what = (f"{data.dtype} array of shape {data.shape}"
                if isinstance(data, numpy.ndarray) else type(data).__name__)
        raise DatasetError(f"{path}: b'data' should be a uint8 array of shape (N, 3072), "
                           f"found a {what}", path)
    if isinstance(labels, numpy.ndarray) and labels.dtype.kind in "iu":
        labels = labels.astype(numpy.int64).reshape(-1)
    elif isinstance(labels, list) and all(type(v) is int for v in labels):
        huge = [i for i, v in enumerate(labels) if not -2**63 <= v < 2**63]
        if huge:  # beyond int64: not a class index, and numpy.array would overflow
            raise DatasetError(f"{path}: the label at index {huge[0]} does not fit in 64 "
                               "bits, out of range 0..9: the file is corrupt", path)
        labels = numpy.array(labels, dtype=numpy.int64)
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
