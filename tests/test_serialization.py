"""numnet.serialization: checkpoints as .npz + JSON metadata (no pickle), and atomic writes."""

import json
import os
import pickle
import select
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy
import pytest

import numnet
from numnet import serialization


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_round_trip_keeps_arrays_dtypes_order_and_metadata(tmp_path):
    rng = numpy.random.default_rng(0)
    arrays = {
        "conv1.weight": rng.standard_normal((4, 1, 3, 3)).astype(numpy.float32),
        "fc.bias": rng.standard_normal(7),
        "steps": numpy.array(12, dtype=numpy.int64),
        "mask": numpy.array([True, False]),
        "pixels": numpy.arange(6, dtype=numpy.uint8).reshape(2, 3),
        "fortran": numpy.asfortranarray(rng.standard_normal((3, 2))),
        "strided": numpy.arange(10.0)[::3],
        "empty": numpy.zeros((0, 3), numpy.float32),
        "file": numpy.ones(1),             # names that clash with numpy.savez's arguments
        "allow_pickle": numpy.zeros(1),
        "tensor": numnet.tensor([1.0, 2.0], requires_grad=True),
    }
    metadata = {"epoch": 3, "config": {"model": "lenet5", "sizes": [6, 16]},
                "rng": numnet.Generator(5).get_state(), "note": "Überprüft ✓",
                "history": [{"loss": 0.5, "acc": None}]}
    path = tmp_path / "model.npz"
    serialization.save_npz(arrays, path, metadata)
    loaded, meta = serialization.load_npz(path)
    assert list(loaded) == list(arrays)
    for name, value in arrays.items():
        expected = numpy.asarray(value)
        assert loaded[name].dtype == expected.dtype and loaded[name].shape == expected.shape
        numpy.testing.assert_array_equal(loaded[name], expected)
    assert meta == metadata
    assert meta["rng"]["state"]["state"] > 2**64  # 128-bit ints survive the JSON
    assert _leftovers(tmp_path) == []
    with zipfile.ZipFile(path) as archive:  # plain .npz: readable by numpy alone
        assert "__metadata__.npy" in archive.namelist()
    with numpy.load(path, allow_pickle=False) as npz:
        document = json.loads(npz["__metadata__"].tobytes())
    assert document["format"] == "numnet-checkpoint" and document["format_version"] == 1


def test_compressed_round_trip_and_overwrite(tmp_path):
    path = tmp_path / "ckpt.npz"
    serialization.save_npz({"w": numpy.zeros((100, 100), numpy.float32)}, path, {"v": 1},
                           compress=True)
    assert path.stat().st_size < 100 * 100 * 4 // 10
    serialization.save_npz({"w": numpy.ones(3)}, path, {"v": 2})
    arrays, meta = serialization.load_npz(path)
    numpy.testing.assert_array_equal(arrays["w"], numpy.ones(3))
    assert meta == {"v": 2} and _leftovers(tmp_path) == []


def _write_object_npz(path):
    header = json.dumps({"format": "numnet-checkpoint", "format_version": 1, "metadata": {}})
    objects = numpy.array([{"a": 1}, "text"], dtype=object)
    numpy.savez(path, w=numpy.ones(2), evil=objects,
                __metadata__=numpy.frombuffer(header.encode(), numpy.uint8))


def test_object_array_is_refused_on_load_and_on_save(tmp_path):
    path = str(tmp_path / "evil.npz")
    _write_object_npz(path)
    with pytest.raises(serialization.CheckpointError,
                       match=r"evil.npz: refused to load array 'evil'.*pickle"):
        serialization.load_npz(path)
    good = tmp_path / "good.npz"
    serialization.save_npz({"w": numpy.arange(3)}, good, {"epoch": 1})
    with pytest.raises(serialization.CheckpointError,
                       match="cannot save array 'bad': dtype object"):
        serialization.save_npz({"w": numpy.arange(4), "bad": numpy.array([None])}, good,
                               {"epoch": 2})
    arrays, meta = serialization.load_npz(good)  # the failed save left the old checkpoint alone
    numpy.testing.assert_array_equal(arrays["w"], numpy.arange(3))
    assert meta == {"epoch": 1} and _leftovers(tmp_path) == []


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_a_pickle_posing_as_a_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(serialization.CheckpointError, match="model.npz: refused to load"):
        serialization.load_npz(path)
    assert not marker.exists()


def test_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        serialization.load_npz(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 this is no zip")
    with pytest.raises(serialization.CheckpointError, match="garbage.npz"):
        serialization.load_npz(garbage)
    plain = tmp_path / "plain.npz"
    numpy.savez(plain, w=numpy.ones(2))
    with pytest.raises(serialization.CheckpointError, match="no __metadata__ entry"):
        serialization.load_npz(plain)
    single = tmp_path / "single.npy"
    numpy.save(single, numpy.ones(2))
    with pytest.raises(serialization.CheckpointError, match="single .npy array"):
        serialization.load_npz(single)
    newer = tmp_path / "newer.npz"
    header = json.dumps({"format": "numnet-checkpoint", "format_version": 99, "metadata": {}})
    numpy.savez(newer, __metadata__=numpy.frombuffer(header.encode(), numpy.uint8))
    with pytest.raises(serialization.CheckpointError, match="version 99 is newer"):
        serialization.load_npz(newer)


def test_save_argument_errors_leave_no_file(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(serialization.CheckpointError, match="not JSON-serialisable"):
        serialization.save_npz({"w": numpy.ones(1)}, path, {"when": object()})
    with pytest.raises(serialization.CheckpointError, match="'__metadata__' is not allowed"):
        serialization.save_npz({"__metadata__": numpy.ones(1)}, path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="folder .*nowhere does not exist"):
        serialization.save_npz({"w": numpy.ones(1)}, tmp_path / "nowhere" / "x.npz")


def test_atomic_text_and_bytes(tmp_path):
    path = tmp_path / "history.json"
    serialization.atomic_write_text(path, '{"epoch": 1}\n')
    assert path.read_text() == '{"epoch": 1}\n'
    serialization.atomic_write_bytes(path, b"a,b\n1,2\n")
    assert path.read_bytes() == b"a,b\n1,2\n"

    def failing(f):
        f.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        serialization.atomic_write(path, failing)
    assert path.read_bytes() == b"a,b\n1,2\n" and _leftovers(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


# Kill points for the writer subprocess: it pauses at one, says READY, and is SIGKILLed.
_WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy
    import numnet
    from numnet import serialization

    path, point = sys.argv[1], sys.argv[2]

    def pause():
        print("READY", flush=True)
        time.sleep(60)

    if point == "mid-array":  # part of the second array's bytes are on disk
        original = numpy.lib.format.write_array
        calls = []

        def write_array(fp, array, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                numpy.lib.format.write_array_header_1_0(
                    fp, numpy.lib.format.header_data_from_array_1_0(array))
                fp.write(array.tobytes()[: array.nbytes // 2])
                fp.flush()
                pause()
            return original(fp, array, *args, **kwargs)

        numpy.lib.format.write_array = write_array
    elif point == "before-rename":  # the new file is complete and fsynced, not yet renamed
        original_replace = os.replace

        def replace(src, dst):
            pause()
            return original_replace(src, dst)

        serialization.atomic.os.replace = replace
    arrays = {"a": numpy.full(1 << 20, 2.0), "b": numpy.full(1 << 20, 3.0)}
    serialization.save_npz(arrays, path, {"version": 2})
    print("SAVED", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and select on pipes are POSIX")
@pytest.mark.parametrize("point", ["mid-array", "before-rename"])
def test_writer_killed_mid_save_leaves_the_previous_checkpoint(tmp_path, point):
    path = tmp_path / "model.npz"
    old = {"a": numpy.arange(5.0), "b": numpy.ones((2, 2), numpy.float32)}
    serialization.save_npz(old, path, {"version": 1})
    before = path.read_bytes()
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), point],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline().strip() if ready else ""
        assert line == "READY", f"writer did not reach {point}: {process.stderr.read()}"
        temps = _leftovers(tmp_path)
        assert len(temps) == 1 and os.path.getsize(tmp_path / temps[0]) > 1 << 20
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert path.read_bytes() == before
    arrays, meta = serialization.load_npz(path)
    assert meta == {"version": 1}
    for name, value in old.items():
        numpy.testing.assert_array_equal(arrays[name], value)
    if point == "mid-array":  # what the killed writer left behind is not a checkpoint
        with pytest.raises(serialization.CheckpointError):
            serialization.load_npz(tmp_path / _leftovers(tmp_path)[0])


def test_numnet_save_load_round_trips_nested_objects(tmp_path):
    state = {"model": {"fc.weight": numnet.ones(2, 3), "fc.bias": numpy.zeros(2)},
             "optimizer": {"state": {0: {"step": 3, "exp_avg": numpy.full(2, 0.5)}},
                           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
             "epoch": 4, "history": [{"loss": 0.25, "acc": None}], "name": "run"}
    path = tmp_path / "state.npz"
    numnet.save(state, path)
    loaded = numnet.load(path)
    assert loaded["model"]["fc.weight"].dtype == numpy.float32
    assert numpy.array_equal(loaded["model"]["fc.weight"], numpy.ones((2, 3)))
    assert list(loaded["optimizer"]["state"]) == [0]  # integer keys stay integers
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["history"] == state["history"] and loaded["epoch"] == 4
    with pytest.raises(TypeError, match="cannot store"):
        numnet.save({"bad": object()}, tmp_path / "bad.npz")
    serialization.save_npz({"w": numpy.ones(1)}, tmp_path / "raw.npz", {"v": 1})
    with pytest.raises(serialization.CheckpointError, match="not written by numnet.save"):
        numnet.load(tmp_path / "raw.npz")
