"""numnet.serialization.safetensors: numnet's own safetensors reader and writer, cross-checked
with the ``safetensors`` package both ways, every malformed header refused before anything is
allocated, fuzzed like the other readers; numnet.save / numnet.load by extension, and
PyTorch's pickles refused."""

import json
import os
import struct

import numpy
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numnet
from numnet import serialization
from numnet.serialization import safetensors as nst
from test_fuzz_readers import FUZZ, HUGE, SMALL_PEAK, _flip, _peak

CheckpointError = serialization.CheckpointError

ARRAYS = {
    "fc.weight": numpy.arange(6, dtype=numpy.float32).reshape(2, 3) / 7,
    "fc.bias": numpy.array([-1.5, 2.25], dtype=numpy.float64),
    "half": numpy.array([[0.5, -3.0]], dtype=numpy.float16),
    "bn.num_batches_tracked": numpy.array(7, dtype=numpy.int64),
    "i32": numpy.array([-(2**31), 2**31 - 1], dtype=numpy.int32),
    "i16": numpy.array([-3, 4], dtype=numpy.int16),
    "i8": numpy.array([-128, 127], dtype=numpy.int8),
    "u8": numpy.arange(5, dtype=numpy.uint8),
    "mask": numpy.array([True, False, True]),
    "empty": numpy.zeros((0, 4), dtype=numpy.float32),
}


def _assert_same(loaded: dict, expected: dict) -> None:
    assert sorted(loaded) == sorted(expected)
    for name, value in expected.items():
        got = numpy.asarray(loaded[name])
        assert got.dtype == value.dtype and got.shape == value.shape, name
        numpy.testing.assert_array_equal(got, value)


# ---------------------------------------------------------------------- round trips
def test_every_dtype_round_trips_with_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    nst.save_file(ARRAYS, path, metadata={"format": "pt", "epoch": "3"})
    arrays, metadata = serialization.load_safetensors(path)
    _assert_same(arrays, ARRAYS)
    assert metadata == {"format": "pt", "epoch": "3"}
    nst.save_file({"w": ARRAYS["fc.weight"]}, path)  # replaced, as torch.save replaces
    assert serialization.load_safetensors(path)[1] is None
    assert list(nst.load_file(path)) == ["w"]


def test_numnet_files_read_by_the_safetensors_package(tmp_path):
    path = tmp_path / "m.safetensors"
    nst.save_file(ARRAYS, path, metadata={"format": "pt"})
    _assert_same(safetensors.numpy.load_file(path), ARRAYS)
    from_torch = safetensors.torch.load_file(path)
    _assert_same({k: v.numpy() for k, v in from_torch.items()}, ARRAYS)
    with safetensors.safe_open(path, "np") as f:
        assert f.metadata() == {"format": "pt"}


def test_files_of_the_safetensors_package_read_by_numnet(tmp_path):
    path = tmp_path / "m.safetensors"
    safetensors.numpy.save_file(ARRAYS, path, metadata={"note": "numpy"})
    arrays, metadata = serialization.load_safetensors(path)
    _assert_same(arrays, ARRAYS)
    assert metadata == {"note": "numpy"}
    tensors = {"w": torch.randn(3, 2), "idx": torch.tensor([1, 2], dtype=torch.int64)}
    safetensors.torch.save_file(tensors, path)
    _assert_same(numnet.load(path), {k: v.numpy() for k, v in tensors.items()})


def test_big_endian_and_non_contiguous_arrays_are_written_little_endian_in_c_order():
    arrays = {"big": numpy.arange(6, dtype=">f4").reshape(2, 3),
              "fortran": numpy.asfortranarray(numpy.arange(6.0).reshape(2, 3)),
              "strided": numpy.arange(20, dtype=numpy.int16)[::3]}
    for loaded in nst.load(nst.save(arrays)), safetensors.numpy.load(nst.save(arrays)):
        for name, value in arrays.items():
            assert loaded[name].dtype.isnative and loaded[name].dtype.kind == value.dtype.kind
            numpy.testing.assert_array_equal(loaded[name], value)


def test_bfloat16_is_upcast_to_float32(tmp_path):
    values = torch.tensor([[1.5, -2.25, 3e38], [1e-40, 0.0, float("-inf")]],
                          dtype=torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": values}, path)
    loaded = nst.load_file(path)["w"]
    assert loaded.dtype == numpy.float32 and loaded.shape == (2, 3)
    numpy.testing.assert_array_equal(loaded, values.float().numpy())


def test_bytes_api_matches_the_safetensors_package_byte_for_byte():
    arrays = {"a": ARRAYS["fc.bias"], "b": numpy.ones((2, 2)), "c": ARRAYS["i8"]}
    metadata = {"k": "v"}
    assert nst.save(arrays, metadata) == safetensors.numpy.save(arrays, metadata)
    _assert_same(nst.load(safetensors.numpy.save(ARRAYS)), ARRAYS)
    _assert_same(safetensors.numpy.load(nst.save(ARRAYS)), ARRAYS)


def test_writer_aligns_every_tensor_and_keeps_the_given_order_within_a_width():
    data = nst.save({"z": numpy.ones(3, numpy.int8), "y": numpy.ones(1, numpy.float32),
                     "a": numpy.ones(1), "b": numpy.ones(1, numpy.float32)})
    size = struct.unpack("<Q", data[:8])[0]
    assert (8 + size) % 8 == 0
    header = json.loads(data[8:8 + size])
    assert list(header) == ["a", "y", "b", "z"]  # by width, then as given (not by name)
    widths = {"F64": 8, "F32": 4, "I8": 1}
    assert all((8 + size + entry["data_offsets"][0]) % widths[entry["dtype"]] == 0
               for entry in header.values())


@FUZZ
@given(arrays=st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda s: s != "__metadata__"),
    hnp.arrays(st.sampled_from([numpy.float64, numpy.float32, numpy.float16, numpy.int64,
                                numpy.int32, numpy.int16, numpy.int8, numpy.uint8,
                                numpy.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)),
    max_size=5))
def test_any_dict_of_arrays_crosses_both_ways(arrays):
    _assert_same(safetensors.numpy.load(nst.save(arrays)), arrays)
    _assert_same(nst.load(safetensors.numpy.save(arrays)), arrays)


# ---------------------------------------------------------------------- numnet.save / load
def test_numnet_save_and_load_choose_safetensors_by_extension(tmp_path):
    model = numnet.nn.Sequential(numnet.nn.Linear(3, 2), numnet.nn.BatchNorm1d(2))
    path = tmp_path / "model.SAFETENSORS"
    numnet.save(model.state_dict(), path)
    assert path.read_bytes()[8:9] == b"{"
    loaded = numnet.load(path, map_location="cpu", weights_only=True)
    _assert_same(loaded, model.state_dict())
    assert loaded["1.num_batches_tracked"].dtype == numpy.int64
    numnet.save({"w": numnet.ones(2, 2)}, path)  # Tensors are stored as their arrays
    assert list(numnet.load(path)) == ["w"]
    named_bin = tmp_path / "pytorch_model.bin"  # content decides: safetensors under .bin
    safetensors.numpy.save_file({"w": ARRAYS["fc.bias"]}, named_bin)
    _assert_same(numnet.load(named_bin), {"w": ARRAYS["fc.bias"]})
    npz_named_safetensors = tmp_path / "other.safetensors"
    serialization.objects.save({"step": 3}, tmp_path / "x.npz")
    os.replace(tmp_path / "x.npz", npz_named_safetensors)
    assert numnet.load(npz_named_safetensors) == {"step": 3}


@pytest.mark.parametrize("obj, error, needle", [
    ({"model": {"w": numpy.ones(2)}}, TypeError, "holds tensors only, got dict"),
    ({"step": 3}, TypeError, "got int"),
    ([numpy.ones(2)], TypeError, "flat dict of name -> tensor"),
    ({"z": numpy.ones(2, numpy.complex64)}, CheckpointError, "not complex64"),
    ({"u": numpy.ones(2, numpy.uint16)}, CheckpointError, "not uint16"),
    ({"__metadata__": numpy.ones(2)}, CheckpointError, "'__metadata__' is not allowed"),
    ({"": numpy.ones(2)}, CheckpointError, "'' is not allowed"),
])
def test_what_safetensors_cannot_hold_is_refused_and_nothing_is_written(tmp_path, obj, error,
                                                                         needle):
    path = tmp_path / "m.safetensors"
    with pytest.raises(error, match=needle):
        numnet.save(obj, path)
    assert os.listdir(tmp_path) == []


def test_metadata_must_be_str_to_str(tmp_path):
    with pytest.raises(CheckpointError, match="dict of str -> str"):
        nst.save_file({"w": numpy.ones(1)}, tmp_path / "m.safetensors", {"epoch": 3})


def _one_line_refusal(path, kind):
    with pytest.raises(CheckpointError) as info:
        numnet.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and kind in message
    assert message.endswith('safetensors.torch.save_file(model.state_dict(), '
                            '"model.safetensors")')


def test_pytorch_files_are_refused_in_one_line_saying_how_to_write_safetensors(tmp_path):
    state = torch.nn.Linear(2, 2).state_dict()
    torch.save(state, tmp_path / "model.pt")                          # a zip with data.pkl
    _one_line_refusal(tmp_path / "model.pt", "a torch.save file")
    torch.save(state, tmp_path / "model.pth", _use_new_zipfile_serialization=False)
    _one_line_refusal(tmp_path / "model.pth", "a Python pickle")      # pickle opcodes
    os.replace(tmp_path / "model.pt", tmp_path / "renamed.npz")
    _one_line_refusal(tmp_path / "renamed.npz", "a torch.save file")  # sniffed, not named
    (tmp_path / "weights.bin").write_bytes(b"\x00\x01garbage")
    _one_line_refusal(tmp_path / "weights.bin", "PyTorch's .bin files")
    with pytest.raises(FileNotFoundError, match="missing.pt not found"):
        numnet.load(tmp_path / "missing.pt")


# ---------------------------------------------------------------------- malformed files
def _file(header, data: bytes = b"", size: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if size is None else size) + text + data


GOOD = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
W = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("content, needle", [
    (b"", "0 bytes, too short"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x00{", "9 bytes, too short"),
    (_file(b"{}", size=1), "header length 1 is not between 2 and 2"),
    (_file(b"{}", size=10**8 + 1), "header length 100000001 is not between 2 and 2"),
    (_file(b"{}", size=2**64 - 1), "header length 18446744073709551615"),
    (_file(b"{}  ", size=5), "header length 5 is not between 2 and 4"),
    (_file(b"\xff{}"), "not a JSON object ('utf-8' codec"),
    (_file(b' {"w": 1}'), "does not start with '{'"),
    (_file(b"[1, 2]"), "does not start with '{'"),
    (_file(b"{} trailing"), "Extra data"),
    (_file(b'{"w": 1, "w": 2}'), "the key 'w' appears twice"),
    (_file(b'{"a":' * 100000 + b"1" + b"}" * 100000), "nested too deeply"),
    (_file({"w": [1]}), "its entry has list"),
    (_file({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8), "has ['dtype', 'shape']"),
    (_file({"w": dict(W, extra=1)}, b"\0" * 8), "not exactly the keys"),
    (_file({"w": dict(W, dtype="U16")}, b"\0" * 8), "dtype 'U16' is not one numnet reads"),
    (_file({"w": dict(W, dtype="f32")}, b"\0" * 8), "dtype 'f32'"),
    (_file({"w": dict(W, shape=[-2])}, b"\0" * 8), "shape [-2] is not a list"),
    (_file({"w": dict(W, shape=[2.0])}, b"\0" * 8), "shape [2.0]"),
    (_file({"w": dict(W, shape=[True, 2])}, b"\0" * 8), "shape [True, 2]"),
    (_file({"w": dict(W, shape=2)}, b"\0" * 8), "shape 2 is not"),
    (_file({"w": dict(W, data_offsets=[8, 0])}, b"\0" * 8), "are not [begin, end]"),
    (_file({"w": dict(W, data_offsets=[0, 8, 9])}, b"\0" * 8), "[0, 8, 9] are not"),
    (_file({"w": dict(W, data_offsets=[-8, 0])}, b"\0" * 8), "[-8, 0] are not"),
    (_file({"w": dict(W, data_offsets=[0, 10**12])}, b"\0" * 8), "run past the end"),
    (_file({"w": dict(W, shape=[10**12], data_offsets=[0, 8])}, b"\0" * 8),
     "shape [1000000000000] of F32 is 4000000000000 bytes, but its offsets span 8"),
    (_file({"w": dict(W, shape=[3])}, b"\0" * 8), "is 12 bytes, but its offsets span 8"),
    (_file({"w": dict(W, data_offsets=[4, 12])}, b"\0" * 12), "leave bytes 0..4 unused"),
    (_file({"w": W, "v": dict(W, data_offsets=[4, 12])}, b"\0" * 12), "the tensors overlap"),
    (_file({"w": W}, b"\0" * 9), "fill 8 of its 9 data bytes"),
    (_file({"w": W}, b"\0" * 7), "run past the end of the 7 data bytes"),
    (_file({"w": W, "__metadata__": {"epoch": 3}}, b"\0" * 8), "not an object of strings"),
    (_file({"w": W, "__metadata__": ["x"]}, b"\0" * 8), "not an object of strings"),
    (_file({"m": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x02"),
     "holds bytes other than 0 and 1"),
])
def test_malformed_files_are_refused_naming_the_file_and_the_problem(tmp_path, content,
                                                                     needle):
    path = str(tmp_path / "bad.safetensors")
    with open(path, "wb") as f:
        f.write(content)
    outcome, peak = _peak(numnet.load, path)
    assert isinstance(outcome, CheckpointError), repr(outcome)
    message = str(outcome)
    assert message.startswith(path + ":") and needle in message, message
    assert "\n" not in message
    assert peak < SMALL_PEAK + 2 * len(content)
    with pytest.raises(CheckpointError, match="<bytes>"):
        nst.load(content)


@pytest.mark.parametrize("size", [0x80, 0x280, 0x8080])
def test_a_header_length_starting_with_the_pickle_opcode_is_still_safetensors(tmp_path, size):
    text = json.dumps({"w": W}).encode()
    content = _file(text + b" " * (size - len(text)), b"\0" * 8)
    assert content[:1] == b"\x80"
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(content)
    _assert_same(numnet.load(path), {"w": numpy.zeros(2, numpy.float32)})


def test_edge_cases_the_format_allows(tmp_path):
    assert nst.load(_file(b"{}")) == {}
    assert nst.load(_file(b'{"__metadata__": {}}      ')) == {}
    zero = {"a": {"dtype": "F64", "shape": [0, 3], "data_offsets": [0, 0]},
            "b": {"dtype": "I8", "shape": [], "data_offsets": [0, 1]},
            "c": {"dtype": "F16", "shape": [0], "data_offsets": [1, 1]}}
    loaded = nst.load(_file(zero, b"\xfe"))
    assert list(loaded) == ["a", "b", "c"]
    assert loaded["a"].shape == (0, 3) and loaded["b"].shape == () and loaded["b"] == -2
    _assert_same(safetensors.numpy.load(_file(zero, b"\xfe")), loaded)
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors not found"):
        nst.load_file(tmp_path / "nowhere.safetensors")


# ---------------------------------------------------------------------- fuzzing
BASE = nst.save({"w": ARRAYS["fc.weight"], "n": ARRAYS["bn.num_batches_tracked"],
                 "m": ARRAYS["mask"]}, {"epoch": "3"})
BASE_DATA_START = 8 + struct.unpack("<Q", BASE[:8])[0]
BASE_HEADER = json.loads(BASE[8:BASE_DATA_START])
BOOL_BYTE = BASE_DATA_START + BASE_HEADER["m"]["data_offsets"][0]


def _read_checked(folder, content: bytes):
    """Read ``content``: an error must be a CheckpointError naming the file; a result must be
    what the safetensors package reads too (numnet accepts no file the reference refuses)."""
    path = os.path.join(folder, "model.safetensors")
    with open(path, "wb") as f:
        f.write(content)
    try:
        arrays = nst.load_file(path)
    except CheckpointError as error:
        assert str(error).startswith(path + ":")
        return None
    _assert_same(arrays, safetensors.numpy.load(content))
    return arrays


@FUZZ
@given(cut=st.integers(0, 10**6))
def test_safetensors_truncated_at_any_byte_is_refused(tmp_path, cut):
    assert _read_checked(tmp_path, BASE[:cut % len(BASE)]) is None


@FUZZ
@given(bit=st.integers(0, 10**7))
@example(bit=8 * BOOL_BYTE + 1)       # a BOOL byte 1 -> 3: refused
@example(bit=8 * 8 + 7)                 # '{' -> 0xfb: not UTF-8
def test_safetensors_with_any_bit_flipped_loads_consistently_or_is_refused(tmp_path, bit):
    bit %= 8 * len(BASE)
    outcome, peak = _peak(_read_checked, tmp_path, _flip(BASE, bit))
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK
    if outcome is not None and bit >= 8 * BASE_DATA_START:  # the header is intact
        assert {k: (v.shape, v.dtype) for k, v in outcome.items()} == {
            "w": ((2, 3), numpy.float32), "n": ((), numpy.int64), "m": ((3,), numpy.bool_)}


@FUZZ
@given(value=st.sampled_from(HUGE + (2**64 - 1, 9, 7)))
def test_safetensors_header_length_set_to_zero_or_huge(tmp_path, value):
    outcome, peak = _peak(_read_checked, tmp_path, struct.pack("<Q", value) + BASE[8:])
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert outcome is None and peak < SMALL_PEAK


NUMBERS = st.one_of(st.sampled_from(HUGE + (-1, 2**63, 2**64)), st.integers(-10, 100),
                    st.floats(allow_nan=False), st.text(max_size=3), st.none(),
                    st.lists(st.integers(-2, 2**40), max_size=3))


@FUZZ
@given(name=st.sampled_from(["w", "n", "m"]), field=st.sampled_from(["shape", "data_offsets"]),
       index=st.integers(0, 2), value=NUMBERS)
def test_safetensors_header_numbers_set_to_zero_huge_negative_or_wrong(tmp_path, name, field,
                                                                       index, value):
    header = json.loads(json.dumps(BASE_HEADER))
    numbers = header[name][field]
    if index < len(numbers):
        numbers[index] = value
    else:
        header[name][field] = value
    content = _file(header, BASE[BASE_DATA_START:])
    outcome, peak = _peak(_read_checked, tmp_path, content)
    assert not isinstance(outcome, BaseException), repr(outcome)
    assert peak < SMALL_PEAK
