"""Fuzzed readers: IDX (raw and gzip), CIFAR-10 batches and ``.npz`` checkpoints.

Each property starts from a small valid file written in the real format, damages it
(truncation at any byte, any flipped bit, a header field set to 0, huge or negative) and
reads it back. The reader either returns something consistent with what the file says, or
raises its own error type (``DatasetError``, ``CheckpointError``) naming the file; never
another exception, never a MemoryError, and a header promising more than the file holds is
refused before anything that size is allocated (``tracemalloc`` measures the peak).
The safetensors reader is fuzzed the same way, with these helpers, in test_safetensors.py.
"""

import gzip
import io
import os
import pickle
import pickletools
import struct
import tracemalloc
import zipfile

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from numnet import serialization
from numnet.data import DatasetError, cifar, idx

FUZZ = settings(max_examples=60, deadline=10_000, database=None,
                derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.function_scoped_fixture])
"""A hang fails the 10 s deadline (a read here takes well under 1 s, on a loaded machine
too); 60 examples per property keep the file to a few seconds. Under CI the examples are
drawn from a fixed seed, so a run there is repeatable; elsewhere every run draws anew."""

HUGE = (0, 1, 2**31 - 1, 2**32 - 1, 10**6, 10**12)
SMALL_PEAK = 4 << 20
"""The most a reader may allocate on a file of a few kilobytes: 4 MiB."""


def _peak(function, *args):
    """``(result or exception, peak traced allocation in bytes)`` of ``function(*args)``."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args)
        except Exception as error:
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _flip(data: bytes, bit: int) -> bytes:
    damaged = bytearray(data)
    damaged[bit // 8] ^= 1 << (bit % 8)
    return bytes(damaged)


# ---------------------------------------------------------------------- IDX
IMAGES = numpy.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=numpy.uint8)
IDX = bytes([0, 0, 0x08, 3]) + numpy.array(IMAGES.shape, ">u4").tobytes() + IMAGES.tobytes()
IDX_GZ = gzip.compress(IDX, mtime=0)


def _write_idx(folder, content: bytes, gz: bool) -> str:
    path = os.path.join(folder, "images-idx3-ubyte" + (".gz" if gz else ""))
    with open(path, "wb") as f:
        f.write(content)
    return path


def _read_idx_checked(path: str, content: bytes):
    """Read ``path``; a result must match the header of ``content`` (the uncompressed
    bytes), an error must be a DatasetError naming the file."""
    try:
        array = idx.read_idx(path)
    except DatasetError as error:
        assert path in str(error)
        return None
    ndim = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    assert array.shape == shape
    assert array.nbytes == len(content) - 4 - 4 * ndim
    return array


@FUZZ
@given(cut=st.integers(0, len(IDX_GZ) - 1), gz=st.booleans())
def test_idx_truncated_at_any_byte_is_refused(tmp_path, cut, gz):
    whole = IDX_GZ if gz else IDX
    path = _write_idx(tmp_path, whole[:cut % len(whole)], gz)
    with pytest.raises(DatasetError) as info:
        idx.read_idx(path)
    assert path in str(info.value)


@FUZZ
@given(bit=st.integers(0, 8 * len(IDX_GZ) - 1), gz=st.booleans())
def test_idx_with_any_bit_flipped_loads_consistently_or_is_refused(tmp_path, bit, gz):
    whole = IDX_GZ if gz else IDX
    path = _write_idx(tmp_path, _flip(whole, bit % (8 * len(whole))), gz)
    try:
        content = gzip.decompress(open(path, "rb").read()) if gz else open(path, "rb").read()
    except Exception:
        content = None
    if content is None:  # not even gzip can read it
        with pytest.raises(DatasetError, match="images-idx3-ubyte"):
            idx.read_idx(path)
        return
    array = _read_idx_checked(path, content)
    if gz and array is not None:  # the gzip CRC guards the data
        numpy.testing.assert_array_equal(array, IMAGES)


@FUZZ
@given(field=st.integers(0, 2), value=st.sampled_from(HUGE), gz=st.booleans())
@example(field=0, value=2**32 - 1, gz=False)
def test_idx_header_sizes_set_to_zero_or_huge(tmp_path, field, value, gz):
    content = bytearray(IDX)
    content[4 + 4 * field:8 + 4 * field] = min(value, 2**32 - 1).to_bytes(4, "big")
    content = bytes(content)
    path = _write_idx(tmp_path, gzip.compress(content) if gz else content, gz)
    outcome, peak = _peak(_read_idx_checked, path, content)
    assert not isinstance(outcome, BaseException), outcome
    assert peak < SMALL_PEAK


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("ndim, sizes, payload", [
    (2, (10**6, 10**6), 6),       # 10**12 items, 6 bytes of data
    (4, (2**16,) * 4, 0),         # 2**64 items: wrapped to 0 in int64 before the fix
    (100, (1,) * 100, 1),         # more dimensions than an array can have
    (255, (1,) * 255, 1),
])
def test_idx_header_promising_more_than_the_file_fails_fast(tmp_path, gz, ndim, sizes,
                                                            payload):
    content = (bytes([0, 0, 0x08, ndim]) + numpy.array(sizes, ">u4").tobytes()
               + b"\x01" * payload)
    path = _write_idx(tmp_path, gzip.compress(content) if gz else content, gz)
    outcome, peak = _peak(idx.read_idx, path)
    assert isinstance(outcome, DatasetError), repr(outcome)
    assert path in str(outcome)
    assert peak < SMALL_PEAK


def test_idx_gzip_bomb_is_not_decompressed_beyond_what_the_header_promises(tmp_path):
    content = IDX + bytes(64 << 20)  # 64 MiB of trailing zeros, ~64 KiB compressed
    path = _write_idx(tmp_path, gzip.compress(content, compresslevel=1), True)
    outcome, peak = _peak(idx.read_idx, path)
    assert isinstance(outcome, DatasetError) and "unexpected bytes" in str(outcome)
    assert peak < 8 << 20


# ---------------------------------------------------------------------- CIFAR-10
CIFAR_DATA = numpy.random.default_rng(1).integers(0, 256, (2, 3072), dtype=numpy.uint8)
CIFAR = {p: pickle.dumps({b"batch_label": b"testing batch", b"labels": [3, 7],
                          b"data": CIFAR_DATA}, protocol=p) for p in (2, 4, 5)}


def _read_batch_checked(folder, blob: bytes):
    """Read ``blob`` as a batch; a result must be a well-formed batch, an error a
    DatasetError naming the file."""
    path = os.path.join(folder, "test_batch")
    with open(path, "wb") as f:
        f.write(blob)
    try:
        data, labels = cifar.read_batch(path)
    except DatasetError as error:
        assert path in str(error)
        return None
    assert data.dtype == numpy.uint8 and data.ndim == 2 and data.shape[1] == 3072
    assert labels.dtype == numpy.int64 and labels.shape == (data.shape[0],)
    assert ((labels >= 0) & (labels < 10)).all()
    return data, labels


@FUZZ
@given(protocol=st.sampled_from([2, 4, 5]), cut=st.integers(0, 10**6))
def test_cifar_truncated_at_any_byte_is_refused(tmp_path, protocol, cut):
    blob = CIFAR[protocol]
    assert _read_batch_checked(tmp_path, blob[:cut % len(blob)]) is None


@FUZZ
@given(protocol=st.sampled_from([2, 4, 5]), bit=st.integers(0, 10**7))
def test_cifar_with_any_bit_flipped_loads_consistently_or_is_refused(tmp_path, protocol, bit):
    blob = CIFAR[protocol]
    outcome, peak = _peak(_read_batch_checked, tmp_path, _flip(blob, bit % (8 * len(blob))))
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK


def _length_fields(blob: bytes) -> list:
    """``(offset, width)`` of every length or memo-index argument in ``blob``'s opcodes."""
    widths = {"BINBYTES": 4, "BINSTRING": 4, "BINUNICODE": 4, "BINBYTES8": 8,
              "BINUNICODE8": 8, "BYTEARRAY8": 8, "FRAME": 8, "LONG_BINPUT": 4,
              "LONG_BINGET": 4}
    return [(position + 1, widths[op.name]) for op, _, position in pickletools.genops(blob)
            if op.name in widths]


def _with_long_fields(protocol: int) -> bytes:
    """The protocol's batch with its big strings spelled with 4- or 8-byte lengths and its
    memo indices with 4 bytes, so every kind of length field is there to damage."""
    blob = CIFAR[protocol]
    if protocol == 2:  # memo indices as LONG_BINPUT / LONG_BINGET, as a big pickle has
        parts, last = [], 0
        for op, arg, position in pickletools.genops(blob):
            if op.name in ("BINPUT", "BINGET"):
                parts.append(blob[last:position])
                parts.append((b"r" if op.name == "BINPUT" else b"j") + struct.pack("<I", arg))
                last = position + 2
        parts.append(blob[last:])
        return b"".join(parts)
    return blob


@FUZZ
@given(protocol=st.sampled_from([2, 4, 5]), which=st.integers(0, 10**6),
       value=st.sampled_from(HUGE + (2**63 - 1, 2**64 - 1)))
@example(protocol=2, which=0, value=10**6)  # memo index: the C unpickler grew its memo
@example(protocol=4, which=1, value=2**32 - 1)  # BINBYTES: allocated 4 GiB before reading
def test_cifar_length_fields_set_to_zero_or_huge(tmp_path, protocol, which, value):
    blob = _with_long_fields(protocol)
    fields = _length_fields(blob)
    offset, width = fields[which % len(fields)]
    damaged = bytearray(blob)
    damaged[offset:offset + width] = min(value, 2**(8 * width) - 1).to_bytes(width, "little")
    outcome, peak = _peak(_read_batch_checked, tmp_path, bytes(damaged))
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK


_RECONSTRUCT = CIFAR_DATA.__reduce__()[0]


class _ArrayState:
    """Pickles as NumPy pickles an array, with the state's shape, dtype and bytes given."""

    def __init__(self, shape, dtype, raw):
        self.state = (1, shape, dtype, False, raw)

    def __reduce__(self):
        return (_RECONSTRUCT, (numpy.ndarray, (0,), b"b"), self.state)


@pytest.mark.parametrize("shape, dtype, raw", [
    ((10**12, 3072), numpy.dtype(numpy.uint8), b"\x00" * 3072),   # 10**12 images promised
    ((2**31 - 1, 3072), numpy.dtype(numpy.uint8), b"\x00" * 3072),
    ((-1, 3072), numpy.dtype(numpy.uint8), b"\x00" * 3072),       # negative size
    ((0, 3072), numpy.dtype(numpy.uint8), b""),                    # zero: a valid empty batch
    ((10**9,), numpy.dtype(object), []),                           # an object array, short list
])
def test_cifar_array_shape_set_to_zero_huge_or_negative(tmp_path, shape, dtype, raw):
    blob = pickle.dumps({b"data": _ArrayState(shape, dtype, raw),
                         b"labels": [] if shape[0] == 0 else [1]}, protocol=4)
    outcome, peak = _peak(_read_batch_checked, tmp_path, blob)
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK
    if shape[0] == 0:
        assert outcome[0].shape == (0, 3072)
    else:
        assert outcome is None


@pytest.mark.parametrize("flags", [1, 63, 255])
def test_cifar_dtype_state_with_object_flags_is_refused(tmp_path, flags):
    blob = pickle.dumps({b"data": CIFAR_DATA, b"labels": [3, 7]}, protocol=2)
    plain = b"K\x03X\x01\x00\x00\x00|q\x13NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"
    position = blob.find(plain[:-2])
    assert position > 0
    end = position + len(plain) - 2
    damaged = blob[:end] + bytes([flags]) + blob[end + 1:]
    outcome, _ = _peak(_read_batch_checked, tmp_path, damaged)
    assert outcome is None, repr(outcome)


def test_cifar_huge_label_is_named_not_an_overflow(tmp_path):
    blob = pickle.dumps({b"data": CIFAR_DATA, b"labels": [3, 2**70]}, protocol=2)
    path = os.path.join(tmp_path, "test_batch")
    with open(path, "wb") as f:
        f.write(blob)
    with pytest.raises(DatasetError, match="test_batch: the label at index 1 does not fit"):
        cifar.read_batch(path)
    blob = pickle.dumps({b"data": CIFAR_DATA, b"labels": [[3], [7, 1]]}, protocol=2)
    with open(path, "wb") as f:
        f.write(blob)
    with pytest.raises(DatasetError, match="test_batch: b'labels' should be a list of ints"):
        cifar.read_batch(path)


# ---------------------------------------------------------------------- .npz checkpoints
WEIGHT = numpy.arange(12, dtype=numpy.float32).reshape(3, 4)
BIAS = numpy.array([-1, 0, 2**40], dtype=numpy.int64)


def _npz(folder, compress: bool) -> bytes:
    path = os.path.join(folder, "base.npz")
    serialization.save_npz({"w": WEIGHT, "b": BIAS}, path, {"epoch": 3}, compress=compress)
    with open(path, "rb") as f:
        return f.read()


def _load_checked(folder, content: bytes):
    """Load ``content`` as a checkpoint: a result must equal what was saved (the zip CRC
    guards every entry), an error must be a CheckpointError naming the file and never
    suggesting pickle."""
    path = os.path.join(folder, "model.npz")
    with open(path, "wb") as f:
        f.write(content)
    try:
        arrays, metadata = serialization.load_npz(path)
    except serialization.CheckpointError as error:
        assert path in str(error)
        assert "allow_pickle" not in str(error) and "pickle.load" not in str(error)
        return None
    assert list(arrays) == ["w", "b"] and metadata == {"epoch": 3}
    numpy.testing.assert_array_equal(arrays["w"], WEIGHT)
    numpy.testing.assert_array_equal(arrays["b"], BIAS)
    assert arrays["w"].dtype == WEIGHT.dtype and arrays["b"].dtype == BIAS.dtype
    return arrays


@FUZZ
@given(compress=st.booleans(), cut=st.integers(0, 10**6))
def test_npz_truncated_at_any_byte_is_refused(tmp_path, compress, cut):
    content = _npz(tmp_path, compress)
    assert _load_checked(tmp_path, content[:cut % len(content)]) is None


@FUZZ
@given(compress=st.booleans(), bit=st.integers(0, 10**7))
@example(compress=False, bit=0)  # "PK" -> "QK": reported as pickled data, allow_pickle=
def test_npz_with_any_bit_flipped_loads_exactly_or_is_refused(tmp_path, compress, bit):
    content = _npz(tmp_path, compress)
    outcome, peak = _peak(_load_checked, tmp_path, _flip(content, bit % (8 * len(content))))
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK


def _zip_fields(content: bytes) -> list:
    """``(offset, width)`` of the size, count and offset fields of the zip's central
    directory entries and end record."""
    fields = []
    start = content.find(b"PK\x01\x02")
    while start >= 0:
        fields += [(start + 20, 4), (start + 24, 4), (start + 28, 2), (start + 30, 2),
                   (start + 42, 4)]
        start = content.find(b"PK\x01\x02", start + 4)
    end = content.rfind(b"PK\x05\x06")
    fields += [(end + 8, 2), (end + 10, 2), (end + 12, 4), (end + 16, 4)]
    return fields


@FUZZ
@given(compress=st.booleans(), which=st.integers(0, 10**6), value=st.sampled_from(HUGE))
def test_npz_zip_fields_set_to_zero_or_huge(tmp_path, compress, which, value):
    content = _npz(tmp_path, compress)
    fields = _zip_fields(content)
    offset, width = fields[which % len(fields)]
    damaged = bytearray(content)
    damaged[offset:offset + width] = min(value, 2**(8 * width) - 1).to_bytes(width, "little")
    outcome, peak = _peak(_load_checked, tmp_path, bytes(damaged))
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK


def _npz_with_header(folder, header: bytes, data: bytes) -> str:
    """A checkpoint whose entry ``w.npy`` has the raw .npy ``header`` and ``data``."""
    path = os.path.join(folder, "model.npz")
    metadata = io.BytesIO()
    text = b'{"format": "numnet-checkpoint", "format_version": 1, "metadata": {}}'
    numpy.lib.format.write_array(metadata, numpy.frombuffer(text, numpy.uint8))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", header + data)
        archive.writestr("__metadata__.npy", metadata.getvalue())
    return path


def _npy_header(descr: str, shape, pad: int = 0) -> bytes:
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}) + " " * pad + "\n"
    body = text.encode("latin1")
    if len(body) + 10 < 65536:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("descr, shape, needle", [
    ("<f4", (10**12,), "promises shape (1000000000000,)"),
    ("<f4", (2**31 - 1,), "promises shape (2147483647,)"),
    ("<f8", (10**6, 10**6), "promises shape"),
    ("<f4", (-1,), "promises shape (-1,)"),
    ("<f4", (0,), None),                       # zero items: loads as an empty array
    ("|O", (2,), "holds Python objects"),
])
def test_npy_header_shape_set_to_zero_huge_or_negative(tmp_path, descr, shape, needle):
    path = _npz_with_header(tmp_path, _npy_header(descr, shape), b"\x00" * 8 * (needle is not None))
    outcome, peak = _peak(serialization.load_npz, path)
    assert peak < SMALL_PEAK
    if needle is None:
        assert outcome[0]["w"].shape == shape and outcome[0]["w"].dtype == numpy.float32
        return
    assert isinstance(outcome, serialization.CheckpointError), repr(outcome)
    assert needle in str(outcome) and path in str(outcome)
    assert "allow_pickle" not in str(outcome)


def test_npy_header_too_long_does_not_suggest_allow_pickle(tmp_path):
    path = _npz_with_header(tmp_path, _npy_header("<f4", (2,), pad=20000), b"\x00" * 8)
    with pytest.raises(serialization.CheckpointError) as info:
        serialization.load_npz(path)
    message = str(info.value)
    assert path in message and "damaged .npy header" in message
    assert "allow_pickle" not in message


def test_npz_entry_without_npy_magic_is_refused_not_returned_as_bytes(tmp_path):
    path = _npz_with_header(tmp_path, b"", b"just some bytes, no .npy magic")
    with pytest.raises(serialization.CheckpointError, match="entry 'w.npy' is not a .npy"):
        serialization.load_npz(path)


@pytest.mark.parametrize("content, needle", [
    (b"epoch 3: loss 0.21, accuracy 0.93\n", "not a .npz checkpoint: it starts with b'epoch"),
    (b"", "the file is empty"),
    (b"\x00" * 100, "not a .npz checkpoint"),
])
def test_a_file_that_is_not_a_zip_is_named_and_pickle_is_never_suggested(tmp_path, content,
                                                                         needle):
    path = os.path.join(tmp_path, "notes.npz")
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(serialization.CheckpointError) as info:
        serialization.load_npz(path)
    message = str(info.value)
    assert needle in message and path in message
    assert "pickle" not in message


def test_load_of_a_damaged_object_tree_is_a_checkpoint_error(tmp_path):
    path = os.path.join(tmp_path, "state.npz")
    serialization.save_npz({}, path, {"format": serialization.OBJECT_FORMAT,
                                      "object": {"w": {"__array__": "a7"}}})
    with pytest.raises(serialization.CheckpointError, match="state.npz: the saved object"):
        serialization.load(path)
    serialization.save_npz({}, path, {"format": serialization.OBJECT_FORMAT})
    with pytest.raises(serialization.CheckpointError, match="not written by numnet.save"):
        serialization.load(path)
