"""numnet.data: datasets, DataLoader, transforms, and the real-format readers.

Reader tests write small files in the real formats (IDX with true headers, raw and gzip;
CIFAR-10 batches pickled as dicts like the real ones) and read them back exactly; each kind
of damage must raise a DatasetError that names the file.
"""

import gzip
import json
import os
import pickle
import pickletools

import numpy
import pytest

import numnet
from numnet.data import (
    DataLoader,
    Dataset,
    DatasetError,
    Subset,
    TensorDataset,
    cifar,
    idx,
    random_split,
    transforms,
)

# ---------------------------------------------------------------------- IDX helpers


def idx_bytes(array: numpy.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file: magic ``0 0 type ndim``, big-endian uint32 sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[type_code]
    header = bytes([0, 0, type_code, array.ndim]) + numpy.array(array.shape, ">u4").tobytes()
    return header + array.astype(dtype).tobytes()


def write(path, data: bytes, gz: bool = False) -> str:
    path = str(path) + (".gz" if gz else "")
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return path


def make_idx_dir(folder, gz=True, n_train=6, n_test=4, seed=0):
    """The four MNIST-format files in ``folder``; returns the raw arrays per split."""
    os.makedirs(folder, exist_ok=True)
    rng = numpy.random.default_rng(seed)
    raw = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=numpy.uint8)
        images[0, 0, 0] = 255
        labels = rng.integers(0, 10, size=n).astype(numpy.uint8)
        image_name, label_name = idx.FILES[split]
        write(os.path.join(folder, image_name), idx_bytes(images), gz)
        write(os.path.join(folder, label_name), idx_bytes(labels), gz)
        raw[split] = (images, labels)
    return raw


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip_raw_and_gz(tmp_path, gz):
    images = numpy.arange(2 * 3 * 5, dtype=numpy.uint8).reshape(2, 3, 5)
    ints = numpy.array([[-7, 1 << 20], [3, -1]], dtype=numpy.int32)
    floats = numpy.array([1.5, -2.25, 1e-3], dtype=numpy.float32)
    p1 = write(tmp_path / "images", idx_bytes(images), gz)
    p2 = write(tmp_path / "ints", idx_bytes(ints, 0x0C), gz)
    p3 = write(tmp_path / "floats", idx_bytes(floats, 0x0D), gz)
    out = numnet.data.read_idx(p1, expected_magic=idx.IMAGES_MAGIC)
    assert out.dtype == numpy.uint8 and out.shape == (2, 3, 5)
    numpy.testing.assert_array_equal(out, images)
    out = numnet.data.read_idx(p2)
    assert out.dtype == numpy.int32 and out.dtype.isnative
    numpy.testing.assert_array_equal(out, ints)
    numpy.testing.assert_array_equal(numnet.data.read_idx(p3), floats)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_the_four_files_exactly(tmp_path, gz):
    raw = make_idx_dir(tmp_path, gz=gz)
    for split, n in (("train", 6), ("test", 4)):
        ds = numnet.data.load_dataset("mnist", tmp_path, split)
        images, labels = ds.arrays
        assert images.shape == (n, 1, 28, 28) and images.dtype == numpy.float32
        assert labels.shape == (n,) and labels.dtype == numpy.int64
        expected = raw[split][0][:, None].astype(numpy.float32) / numpy.float32(255)
        numpy.testing.assert_array_equal(images, expected)
        numpy.testing.assert_array_equal(labels, raw[split][1])
        assert images.min() >= 0 and images.max() == 1.0
        assert ds.info.name == "mnist" and ds.info.input_shape == (1, 28, 28)


def test_fashion_mnist_from_data_dir_and_torchvision_layout(tmp_path):
    raw = make_idx_dir(tmp_path / "FashionMNIST" / "raw", gz=False)
    assert numnet.data.locate("fashion-mnist", tmp_path) == str(tmp_path / "FashionMNIST"
                                                                    / "raw")
    train, test = numnet.data.get_dataset("fashion_mnist", tmp_path)
    numpy.testing.assert_array_equal(test.arrays[1], raw["test"][1])
    assert train.info.classes[0] == "T-shirt/top" and train.info.classes[9] == "Ankle boot"


def _truncate(data):
    return data[:-5]


def _trailing(data):
    return data + b"\x00\x00"


def _wrong_magic(data):
    return (2049).to_bytes(4, "big") + data[4:]


def _wrong_count(data):
    return data[:4] + (7).to_bytes(4, "big") + data[8:] + bytes(28 * 28)  # 7 images, 6 labels


@pytest.mark.parametrize("damage, needle", [
    (_truncate, "truncated"),
    (_trailing, "unexpected bytes"),
    (_wrong_magic, "wrong magic number 2049 (expected 2051"),
    (_wrong_count, "holds 7 images but"),
])
def test_damaged_image_file_raises_clear_error(tmp_path, damage, needle):
    make_idx_dir(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetError) as info:
        numnet.data.load_dataset("mnist", tmp_path, "train")
    assert needle in str(info.value)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_labels_out_of_range_are_refused(tmp_path):
    make_idx_dir(tmp_path, gz=True)
    labels = numpy.array([1, 2, 12, 3], numpy.uint8)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(labels), gz=True)
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: label 12 at index 2 "
                                           r"is out of range 0..9"):
        numnet.data.load_dataset("mnist", tmp_path, "test")
    numnet.data.load_dataset("mnist", tmp_path, "train")  # the other split is fine


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_bad_gzip_is_refused(tmp_path, damage):
    make_idx_dir(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    data = path.read_bytes()
    path.write_bytes(b"this is not gzip at all" if damage == "garbage" else data[:-12])
    with pytest.raises(DatasetError, match="not a valid gzip file") as info:
        numnet.data.load_dataset("mnist", tmp_path, "train")
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_missing_file_is_named_with_what_to_do(tmp_path):
    make_idx_dir(tmp_path, gz=True)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    assert not numnet.data.available("mnist", tmp_path)
    with pytest.raises(DatasetError) as info:
        numnet.data.load_dataset("mnist", tmp_path, "test")
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message and str(tmp_path) in message
    assert "--data-dir" in message
    with pytest.raises(DatasetError, match="no data folder given.*--data-dir"):
        numnet.data.load_dataset("mnist", None, "train")
    with pytest.raises(DatasetError, match="no such folder"):
        numnet.data.load_dataset("mnist", tmp_path / "nowhere")


def test_dataset_error_is_an_oserror_and_a_valueerror():
    error = DatasetError("x: bad", "x")
    assert isinstance(error, OSError) and isinstance(error, ValueError)
    assert str(error) == "x: bad" and error.path == "x"


# ---------------------------------------------------------------------- CIFAR-10


def make_cifar_dir(folder, n=3, protocol=2, seed=0, numpy1_paths=False):
    """Six batch files pickled like the real ones: dicts with bytes keys."""
    os.makedirs(folder, exist_ok=True)
    rng = numpy.random.default_rng(seed)
    raw = {}
    for name in cifar.TRAIN_FILES + cifar.TEST_FILES:
        data = rng.integers(0, 256, size=(n, 3072), dtype=numpy.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        batch = {b"batch_label": b"training batch", b"labels": labels, b"data": data,
                 b"filenames": [b"img_%d.png" % i for i in range(n)]}
        blob = pickle.dumps(batch, protocol=protocol)
        if numpy1_paths:  # as NumPy 1 wrote it (the real files name numpy.core.multiarray)
            assert b"numpy._core.multiarray\n" in blob
            blob = blob.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
        (folder / name).write_bytes(blob)
        raw[name] = (data, labels)
    return raw


@pytest.mark.parametrize("protocol, numpy1_paths, sub", [
    (2, False, False), (2, True, True), (4, False, False), (5, False, True)])
def test_cifar10_reads_batches_exactly(tmp_path, protocol, numpy1_paths, sub):
    folder = tmp_path / "cifar-10-batches-py" if sub else tmp_path
    raw = make_cifar_dir(folder, protocol=protocol, numpy1_paths=numpy1_paths)
    assert numnet.data.locate("cifar10", tmp_path) == str(folder)
    train, test = numnet.data.get_dataset("cifar10", tmp_path)
    images, labels = train.arrays
    assert images.shape == (15, 3, 32, 32) and images.dtype == numpy.float32
    assert labels.dtype == numpy.int64
    data = numpy.concatenate([raw[n][0] for n in cifar.TRAIN_FILES])
    expected = data.reshape(15, 3, 32, 32).astype(numpy.float32) / numpy.float32(255)
    numpy.testing.assert_array_equal(images, expected)
    numpy.testing.assert_array_equal(labels, sum((raw[n][1] for n in cifar.TRAIN_FILES), []))
    # channel planes: the first 1024 values of a row are red, row-major 32x32
    numpy.testing.assert_array_equal(test.arrays[0][1, 0, 0, :],
                                     raw["test_batch"][0][1, :32] / numpy.float32(255))
    assert train.info.classes[0] == "airplane" and train.info.classes[9] == "truck"


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Eval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def _globals_in(blob: bytes) -> list:
    """The globals a pickle names (static: pickletools, nothing is loaded)."""
    names, strings = [], []
    for op, arg, _ in pickletools.genops(blob):
        if op.name == "GLOBAL":
            names.append(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            names.append(".".join(strings[-2:]))
        elif isinstance(arg, str):
            strings.append(arg)
    return names


@pytest.mark.parametrize("kind, protocol", [("system", 2), ("system", 4), ("eval", 2),
                                            ("eval", 4)])
def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, kind, protocol):
    make_cifar_dir(tmp_path)
    marker = tmp_path / "pwned"
    if kind == "system":
        payload = _System(f"touch {marker}")
    else:
        payload = _Eval(f"open({str(marker)!r}, 'w').close()")
    batch = {b"data": numpy.zeros((1, 3072), numpy.uint8), b"labels": [0], b"x": payload}
    blob = pickle.dumps(batch, protocol=protocol)
    # the payload really names the dangerous call (protocol 2 spells builtins __builtin__)
    expected = {"system": (f"{os.system.__module__}.system",),
                "eval": ("builtins.eval", "__builtin__.eval")}[kind]
    named = [g for g in _globals_in(blob) if g in expected]
    assert len(named) == 1
    expected = named[0]
    (tmp_path / "data_batch_2").write_bytes(blob)
    with pytest.raises(DatasetError) as info:
        numnet.data.load_dataset("cifar10", tmp_path, "train")
    assert f"refused to load global {expected}" in str(info.value)
    assert "data_batch_2" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("module, name", [
    ("builtins", "getattr"), ("numpy", "load"), ("numpy.core.multiarray", "scalar"),
    ("numpy.lib.npyio", "NpzFile"), ("subprocess", "Popen"), ("copyreg", "_reconstructor")])
def test_restricted_unpickler_admits_nothing_else(module, name):
    unpickler = cifar.RestrictedUnpickler(__import__("io").BytesIO(b"."))
    with pytest.raises(pickle.UnpicklingError, match=f"refused to load global {module}"):
        unpickler.find_class(module, name)


def test_codecs_encode_is_limited_to_latin1():
    with pytest.raises(cifar.RefusedGlobal, match="only latin-1"):
        cifar._latin1_encode("abc", "rot13")
    assert cifar._latin1_encode("\xff\x00", "latin1") == b"\xff\x00"


def _bad_batch(tmp_path, batch_or_blob):
    blob = batch_or_blob if isinstance(batch_or_blob, bytes) else pickle.dumps(batch_or_blob,
                                                                               protocol=2)
    (tmp_path / "test_batch").write_bytes(blob)
    with pytest.raises(DatasetError) as info:
        numnet.data.load_dataset("cifar10", tmp_path, "test")
    assert "test_batch" in str(info.value)
    return str(info.value)


def test_damaged_cifar_batches_raise_clear_errors(tmp_path):
    make_cifar_dir(tmp_path)
    good = (tmp_path / "test_batch").read_bytes()
    data = numpy.zeros((2, 3072), numpy.uint8)
    assert "not a readable CIFAR-10 batch" in _bad_batch(tmp_path, good[:len(good) // 2])
    assert "expected a pickled dict" in _bad_batch(tmp_path, [1, 2])
    assert "missing key" in _bad_batch(tmp_path, {b"data": data})
    assert "shape (N, 3072)" in _bad_batch(tmp_path, {b"data": data[:, :100],
                                                      b"labels": [0, 1]})
    assert "2 images but 3 labels" in _bad_batch(tmp_path, {b"data": data,
                                                            b"labels": [0, 1, 2]})
    assert "label 10 at index 1" in _bad_batch(tmp_path, {b"data": data, b"labels": [0, 10]})
    assert "list of ints" in _bad_batch(tmp_path, {b"data": data, b"labels": ["a", "b"]})
    assert "uint8 array" in _bad_batch(tmp_path, {b"data": data.astype(object),
                                                  b"labels": [0, 1]})


def test_missing_cifar_batch_is_named(tmp_path):
    make_cifar_dir(tmp_path / "cifar-10-batches-py")
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    assert not numnet.data.available("cifar10", tmp_path)
    numnet.data.load_dataset("cifar10", tmp_path, "test")  # the test split is all there
    with pytest.raises(DatasetError, match="data_batch_3 not found in .*cifar-10-batches-py.*"
                                           "cifar-10-python.tar.gz"):
        numnet.data.load_dataset("cifar10", tmp_path, "train")
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"")
    with pytest.raises(DatasetError, match="extract .*cifar-10-python.tar.gz there"):
        numnet.data.load_dataset("cifar10", tmp_path, "train")
    with pytest.raises(DatasetError, match="no data folder given"):
        numnet.data.load_dataset("cifar10")


# ---------------------------------------------------------------------- digits


def test_digits_split_is_stratified_deterministic_and_complete():
    from sklearn.datasets import load_digits

    train, test = numnet.data.get_dataset("digits")
    assert len(train) == 1437 and len(test) == 360
    for ds in (train, test):
        images, labels = ds.arrays
        assert images.dtype == numpy.float32 and images.shape[1:] == (1, 8, 8)
        assert labels.dtype == numpy.int64
        assert images.min() == 0.0 and images.max() == 1.0
    test_counts = numpy.bincount(test.arrays[1], minlength=10)
    assert test_counts.min() >= 35 and test_counts.max() <= 37  # 10% of each class
    again = numnet.data.load_dataset("digits", split="test")
    numpy.testing.assert_array_equal(again.arrays[0], test.arrays[0])
    numpy.testing.assert_array_equal(again.arrays[1], test.arrays[1])
    # together the splits are exactly sklearn's 1797 images /16, each once
    full = load_digits()
    ours = numpy.concatenate([train.arrays[0], test.arrays[0]]).reshape(1797, 64)
    ours = numpy.concatenate([ours, numpy.concatenate([train.arrays[1], test.arrays[1]])
                              [:, None].astype(numpy.float32)], axis=1)
    theirs = numpy.concatenate([full.data / 16.0, full.target[:, None]], axis=1)
    numpy.testing.assert_array_equal(ours[numpy.lexsort(ours.T)],
                                     theirs[numpy.lexsort(theirs.T)].astype(numpy.float32))
    info = train.info
    assert abs(train.arrays[0].mean() - info.mean[0]) < 1e-3
    assert abs(train.arrays[0].std() - info.std[0]) < 1e-3


@pytest.mark.skipif(not os.path.isdir(numnet.data.registry.SYSTEM_FASHION_MNIST),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_system_fashion_mnist_is_found_and_read():
    assert numnet.data.available("fashion-mnist")
    assert numnet.data.locate("fashion-mnist") == numnet.data.registry.SYSTEM_FASHION_MNIST
    train, test = numnet.data.get_dataset("fashion-mnist")
    assert train.arrays[0].shape == (60000, 1, 28, 28) and len(test) == 10000
    assert train.arrays[0].dtype == numpy.float32 and test.arrays[1].dtype == numpy.int64
    numpy.testing.assert_array_equal(numpy.bincount(train.arrays[1]), [6000] * 10)
    assert abs(train.arrays[0].mean(dtype=numpy.float64) - train.info.mean[0]) < 1e-3
    assert abs(train.arrays[0].std(dtype=numpy.float64) - train.info.std[0]) < 1e-3


def test_registry_names_metadata_and_errors(tmp_path):
    assert numnet.data.dataset_names() == ["digits", "mnist", "fashion-mnist", "cifar10"]
    assert numnet.data.canonical_name("CIFAR-10") == "cifar10"
    assert numnet.data.available("digits")
    assert not numnet.data.available("mnist") and not numnet.data.available("cifar10")
    make_idx_dir(tmp_path / "mnist")
    assert numnet.data.locate("mnist", tmp_path) == str(tmp_path / "mnist")
    for name in numnet.data.dataset_names():
        info = numnet.data.get_info(name)
        assert len(info.classes) == info.num_classes == 10
        assert len(info.mean) == len(info.std) == info.input_shape[0]
        assert json.loads(json.dumps(info.to_dict()))["input_shape"] == list(info.input_shape)
    with pytest.raises(DatasetError, match="unknown dataset 'svhn': choose one of digits, "
                                           "mnist, fashion-mnist, cifar10"):
        numnet.data.load_dataset("svhn")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        numnet.data.load_dataset("digits", split="val")


# ---------------------------------------------------------------------- datasets


def test_tensor_dataset_and_subset():
    x = numpy.arange(20, dtype=numpy.float32).reshape(10, 2)
    y = numpy.arange(10)
    ds = TensorDataset(numnet.tensor(x), y)
    assert len(ds) == 10 and ds.arrays[0] is ds.tensors[0].data
    xi, yi = ds[3]
    numpy.testing.assert_array_equal(xi.data, x[3])
    assert yi.item() == 3
    sub = Subset(ds, [7, 2, 5])
    bx, by = sub.get_batch(numpy.array([2, 0]))
    numpy.testing.assert_array_equal(by, [5, 7])
    numpy.testing.assert_array_equal(bx, x[[5, 7]])
    assert sub[1][1].item() == 2 and len(sub) == 3
    with pytest.raises(ValueError, match=r"Size mismatch.*\(10, 2\), \(9,\)"):
        TensorDataset(x, y[:9])
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        Subset(ds, [10])


def test_random_split_is_disjoint_complete_and_seeded():
    ds = TensorDataset(numpy.arange(50))
    a, b, c = random_split(ds, [30, 15, 5], generator=numnet.Generator(1))
    assert (len(a), len(b), len(c)) == (30, 15, 5)
    allidx = numpy.concatenate([a.indices, b.indices, c.indices])
    assert sorted(allidx.tolist()) == list(range(50))
    again = random_split(ds, [30, 15, 5], generator=numnet.Generator(1))
    numpy.testing.assert_array_equal(again[0].indices, a.indices)
    other = random_split(ds, [30, 15, 5], generator=numnet.Generator(2))
    assert not numpy.array_equal(other[0].indices, a.indices)
    assert [len(s) for s in random_split(ds, [0.7, 0.3])] == [35, 15]
    assert [len(s) for s in random_split(TensorDataset(numpy.arange(11)), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="Sum of input lengths 49"):
        random_split(ds, [30, 19])


# ---------------------------------------------------------------------- DataLoader


def _dataset(n=23):
    images = numpy.arange(n * 4, dtype=numpy.float32).reshape(n, 1, 2, 2)
    return TensorDataset(images, numpy.arange(n))


def _epoch(loader):
    return [(x.data.copy(), y.data.copy()) for x, y in loader]


def test_every_sample_exactly_once_and_a_new_order_each_epoch():
    ds = _dataset(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=0)
    assert len(loader) == 5
    orders = []
    for _ in range(3):
        batches = _epoch(loader)
        assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
        labels = numpy.concatenate([y for _, y in batches])
        assert sorted(labels.tolist()) == list(range(23))
        for x, y in batches:  # images stay with their labels
            numpy.testing.assert_array_equal(x, ds.arrays[0][y])
            assert x.dtype == numpy.float32 and y.dtype == numpy.int64
        orders.append(labels)
    assert not numpy.array_equal(orders[0], orders[1])
    assert not numpy.array_equal(orders[1], orders[2])
    assert not numpy.array_equal(orders[0], numpy.arange(23))


def test_same_seed_same_sequence_other_seed_other_sequence():
    ds = _dataset()
    a = DataLoader(ds, batch_size=4, shuffle=True, seed=7)
    b = DataLoader(ds, batch_size=4, shuffle=True, seed=7)
    c = DataLoader(ds, batch_size=4, shuffle=True, seed=8)
    for _ in range(3):
        ya = numpy.concatenate([y for _, y in _epoch(a)])
        numpy.testing.assert_array_equal(ya, numpy.concatenate([y for _, y in _epoch(b)]))
        assert not numpy.array_equal(ya, numpy.concatenate([y for _, y in _epoch(c)]))
    numnet.manual_seed(3)
    d = DataLoader(ds, batch_size=4, shuffle=True)
    numnet.manual_seed(3)
    e = DataLoader(ds, batch_size=4, shuffle=True, generator=numnet.Generator(9))
    numnet.manual_seed(3)
    f = DataLoader(ds, batch_size=4, shuffle=True)
    yd = numpy.concatenate([y for _, y in _epoch(d)])
    numpy.testing.assert_array_equal(yd, numpy.concatenate([y for _, y in _epoch(f)]))
    assert not numpy.array_equal(yd, numpy.concatenate([y for _, y in _epoch(e)]))


def test_no_shuffle_drop_last_and_argument_errors():
    ds = _dataset(10)
    batches = _epoch(DataLoader(ds, batch_size=4))
    numpy.testing.assert_array_equal(numpy.concatenate([y for _, y in batches]),
                                     numpy.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True, drop_last=True, seed=0)
    assert len(loader) == 2
    batches = _epoch(loader)
    assert [len(y) for _, y in batches] == [4, 4]
    assert len(set(numpy.concatenate([y for _, y in batches]).tolist())) == 8
    assert len(DataLoader(ds, batch_size=11, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=11, drop_last=True)) == []
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="not both"):
        DataLoader(ds, seed=1, generator=numnet.Generator(1))


class _NoItemAccess(TensorDataset):
    def __getitem__(self, index):
        raise AssertionError("the loader must batch by index arrays, not per sample")


class _PlainDataset(Dataset):
    def __init__(self, ds):
        self.ds = ds

    def __getitem__(self, i):
        return self.ds.arrays[0][i], self.ds.arrays[1][i]

    def __len__(self):
        return len(self.ds)


def test_batched_access_and_generic_fallback_agree():
    ds = _dataset(13)
    fast = DataLoader(_NoItemAccess(*ds.arrays), batch_size=5, shuffle=True, seed=4)
    slow = DataLoader(_PlainDataset(ds), batch_size=5, shuffle=True, seed=4)
    for (xa, ya), (xb, yb) in zip(_epoch(fast), _epoch(slow), strict=True):
        numpy.testing.assert_array_equal(xa, xb)
        numpy.testing.assert_array_equal(ya, yb)
    sub = Subset(_NoItemAccess(*ds.arrays), [3, 1, 4, 1, 5])
    ys = numpy.concatenate([y for _, y in _epoch(DataLoader(sub, batch_size=2))])
    numpy.testing.assert_array_equal(ys, [3, 1, 4, 1, 5])


def _augmenting_loader(seed=0):
    transform = transforms.Compose([transforms.RandomCrop(2, padding=1),
                                    transforms.RandomHorizontalFlip()])
    return DataLoader(_dataset(23), batch_size=4, shuffle=True, seed=seed,
                      transform=transform)


def test_state_round_trip_between_epochs_through_json():
    loader = _augmenting_loader(seed=0)
    _epoch(loader)
    state = json.loads(json.dumps(loader.state_dict()))
    expected = [_epoch(loader) for _ in range(2)]
    resumed = _augmenting_loader(seed=123)
    resumed.load_state_dict(state)
    got = [_epoch(resumed) for _ in range(2)]
    for epoch_a, epoch_b in zip(expected, got, strict=True):
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b, strict=True):
            numpy.testing.assert_array_equal(xa, xb)
            numpy.testing.assert_array_equal(ya, yb)
    assert resumed.epoch == loader.epoch == 3


def test_state_round_trip_mid_epoch_is_bit_identical():
    loader = _augmenting_loader(seed=5)
    _epoch(loader)
    iterator = iter(loader)
    first = [next(iterator) for _ in range(2)]
    assert len(first) == 2
    state = json.loads(json.dumps(loader.state_dict()))
    assert state["batches_done"] == 2
    rest = [(x.data.copy(), y.data.copy()) for x, y in iterator] + _epoch(loader)
    resumed = _augmenting_loader(seed=99)
    resumed.load_state_dict(state)
    got = _epoch(resumed) + _epoch(resumed)
    assert len(got) == len(rest) == 4 + 6
    for (xa, ya), (xb, yb) in zip(rest, got, strict=True):
        numpy.testing.assert_array_equal(xa, xb)
        numpy.testing.assert_array_equal(ya, yb)
    with pytest.raises(ValueError, match="expected keys"):
        resumed.load_state_dict({"generator": {}})


def test_augmentation_differs_per_epoch_and_follows_the_seed():
    a = _epoch(_augmenting_loader(seed=1))
    b = _epoch(_augmenting_loader(seed=1))
    loader = _augmenting_loader(seed=1)
    _epoch(loader)
    c = _epoch(loader)
    assert all(numpy.array_equal(xa, xb) for (xa, _), (xb, _) in zip(a, b))
    assert not all(numpy.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


# ---------------------------------------------------------------------- transforms


def test_to_float_and_normalize_values():
    x = numpy.array([0, 51, 255, 128], numpy.uint8).reshape(1, 1, 2, 2)
    y = transforms.ToFloat()(x)
    assert y.dtype == numpy.float32
    numpy.testing.assert_array_equal(y.ravel(), numpy.array([0, 51, 255, 128],
                                                            numpy.float32) / 255)
    assert transforms.ToFloat()(y) is y
    with pytest.raises(TypeError, match="uint8"):
        transforms.ToFloat()(numpy.zeros((1, 1, 1, 1), numpy.int32))
    rng = numpy.random.default_rng(0)
    x = rng.random((4, 3, 5, 5)).astype(numpy.float32)
    before = x.copy()
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.25, 0.5)
    y = transforms.Normalize(mean, std)(x)
    assert y.dtype == numpy.float32 and y.shape == x.shape
    for c in range(3):
        numpy.testing.assert_allclose(y[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-6)
    numpy.testing.assert_array_equal(x, before)  # input untouched
    out = transforms.Normalize((0.5,), (0.5,))(numnet.tensor(x))
    assert isinstance(out, numnet.Tensor)
    numpy.testing.assert_allclose(out.data, (x - 0.5) / 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match=r"3 channel means but the batch \(2, 2, 1, 1\)"):
        transforms.Normalize(mean, std)(numpy.zeros((2, 2, 1, 1), numpy.float32))
    with pytest.raises(ValueError, match="positive"):
        transforms.Normalize((0.5,), (0.0,))


def test_random_crop_takes_per_image_windows_of_the_padded_batch():
    rng = numpy.random.default_rng(1)
    x = rng.random((64, 2, 6, 5)).astype(numpy.float32)
    crop = transforms.RandomCrop((4, 3), padding=2)
    y = crop(x, generator=numnet.Generator(0))
    assert y.shape == (64, 2, 4, 3) and y.dtype == numpy.float32
    padded = numpy.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    draw = numpy.random.default_rng(0)
    top = draw.integers(0, 10 - 4 + 1, size=64)
    left = draw.integers(0, 9 - 3 + 1, size=64)
    for n in range(64):  # a reference loop, in the test only
        numpy.testing.assert_array_equal(y[n], padded[n, :, top[n]:top[n] + 4,
                                                      left[n]:left[n] + 3])
    assert len(set(zip(top.tolist(), left.tolist()))) > 10
    numpy.testing.assert_array_equal(transforms.RandomCrop((6, 5))(x), x)  # full size: same
    with pytest.raises(ValueError, match="larger than the padded images"):
        transforms.RandomCrop(9)(x)


def test_random_horizontal_flip():
    rng = numpy.random.default_rng(2)
    x = rng.random((200, 1, 3, 4)).astype(numpy.float32)
    numpy.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0)(x), x)
    numpy.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    y = transforms.RandomHorizontalFlip(0.5)(x, generator=numnet.Generator(0))
    flipped = numpy.array([numpy.array_equal(y[n], x[n, ..., ::-1]) for n in range(200)])
    kept = numpy.array([numpy.array_equal(y[n], x[n]) for n in range(200)])
    assert numpy.all(flipped ^ kept)
    assert 70 < flipped.sum() < 130
    z = transforms.RandomHorizontalFlip(0.5)(x, generator=numnet.Generator(0))
    numpy.testing.assert_array_equal(y, z)


def test_compose_applies_in_order():
    x = numpy.full((2, 1, 2, 2), 255, numpy.uint8)
    t = transforms.Compose([transforms.ToFloat(), transforms.Normalize((0.5,), (0.25,)),
                            lambda a: a + 1])
    numpy.testing.assert_array_equal(t(x), numpy.full((2, 1, 2, 2), 3.0, numpy.float32))
    assert "Normalize(mean=(0.5,), std=(0.25,))" in repr(t)
