"""numnet.utils.data against torch.utils.data: collation (values, dtypes, shapes, errors),
samplers, datasets, the DataLoader's arguments, batches and lengths, the array fast path, and
worker processes (ordered, exceptions re-raised with the worker's traceback, shutdown)."""

from __future__ import annotations

import collections
import os
import time

import numpy
import pytest
import torch
import torch.utils.data as tud

import numnet
import numnet.data
from numnet.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

Point = collections.namedtuple("Point", ["x", "y"])


def same(ours, theirs) -> None:
    """The same nested structure; Tensors equal torch's in values, dtype and shape."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, numnet.Tensor), type(ours)
        expected = theirs.numpy()
        assert ours.data.dtype == expected.dtype and ours.shape == tuple(theirs.shape)
        numpy.testing.assert_array_equal(ours.data, expected)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and ours.keys() == theirs.keys()
        for key in theirs:
            same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
    else:
        assert ours == theirs


def to_torch(sample):
    """The sample with numnet Tensors replaced by torch tensors."""
    if isinstance(sample, numnet.Tensor):
        return torch.from_numpy(sample.data.copy())
    if isinstance(sample, dict):
        return {k: to_torch(v) for k, v in sample.items()}
    if isinstance(sample, Point):
        return Point(*(to_torch(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(to_torch(v) for v in sample)
    return sample


BATCHES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "bools": [True, False],
    "ints-then-float": [1, 2.5],
    "numpy-float32-scalars": [numpy.float32(1), numpy.float32(2)],
    "numpy-int32-scalars": [numpy.int32(1), numpy.int32(-2)],
    "numpy-arrays-uint8": [numpy.arange(4, dtype=numpy.uint8).reshape(2, 2)] * 3,
    "numpy-arrays-float64": [numpy.ones(3), numpy.zeros(3)],
    "tensors": [numnet.tensor([1.0, 2.0]), numnet.tensor([3.0, 4.0])],
    "0-d tensors": [numnet.tensor(1), numnet.tensor(2)],
    "tuples": [(numpy.zeros(2, numpy.float32), 1, "a"), (numpy.ones(2, numpy.float32), 0, "b")],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"x": 1, "y": [1.0, 2.0], "name": "p"}, {"x": 2, "y": [3.0, 4.0], "name": "q"}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "strings": ["a", "bc"],
    "nested": [{"a": (numpy.float64(1), [numnet.tensor([1])])},
               {"a": (numpy.float64(2), [numnet.tensor([2])])}],
}


@pytest.mark.parametrize("name", BATCHES)
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    same(default_collate(batch), tud.default_collate(to_torch(batch)))


@pytest.mark.parametrize("batch, error, message", [
    ([[1, 2], [1]], RuntimeError, "each element in list of batch should be of equal size"),
    ([object()], TypeError, "batch must contain tensors, numpy arrays, numbers, dicts or lists"),
    ([numpy.array(["a"])], TypeError, "found <U1"),
    ([numpy.zeros(2), numpy.zeros(3)], RuntimeError, "stack expects each tensor to be equal size"),
])
def test_default_collate_errors_match_torch(batch, error, message):
    with pytest.raises(error, match=message):
        default_collate(batch)
    with pytest.raises(error, match=message):
        tud.default_collate(to_torch(batch))


@pytest.mark.parametrize("data", [numpy.arange(3), numpy.float32(2.5), (numpy.ones(2), 1),
                                  {"a": numpy.zeros(1)}, [1, "x"], Point(numpy.ones(1), 2)],
                         ids=str)
def test_default_convert_matches_torch(data):
    same(default_convert(data), tud.default_convert(data))


# ---------------------------------------------------------------------- datasets
class Items(Dataset):
    """Per-item samples of every kind: an image array, a Python int and float, a dict."""

    def __init__(self, n=11):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        image = numpy.arange(6, dtype=numpy.float32).reshape(1, 2, 3) + i
        return image, i, 0.5 * i, {"id": numpy.int32(i), "tag": f"s{i}"}


class TorchItems(tud.Dataset):
    def __init__(self, n=11):
        self.ours = Items(n)

    def __len__(self):
        return len(self.ours)

    def __getitem__(self, i):
        return self.ours[i]


@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_size": 4, "drop_last": True},
                                    {"batch_size": None}, {"batch_size": 3,
                                                           "sampler": [5, 3, 9, 0, 1]},
                                    {"batch_sampler": [[1, 2], [7], [0, 10, 4]]}], ids=str)
def test_per_item_dataset_batches_like_torch(kwargs):
    ours = list(DataLoader(Items(), **kwargs))
    theirs = list(tud.DataLoader(TorchItems(), **kwargs))
    assert len(ours) == len(theirs) == len(DataLoader(Items(), **kwargs))
    for a, b in zip(ours, theirs):
        same(a, b)


def test_tensor_dataset_fast_path_equals_per_item_collation_and_torch():
    x = numpy.random.default_rng(0).standard_normal((13, 2, 3)).astype(numpy.float32)
    y = numpy.arange(13)
    ds = TensorDataset(x, y)
    fast = DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    slow = DataLoader(ds, batch_size=5, shuffle=True, seed=3, collate_fn=default_collate)
    assert fast._fast and not slow._fast
    for a, b in zip(fast, slow, strict=True):
        assert isinstance(a, list) and isinstance(b, list)
        for fa, fb in zip(a, b):
            assert fa.dtype == fb.dtype and fa.shape == fb.shape
            numpy.testing.assert_array_equal(fa.data, fb.data)
    theirs = list(tud.DataLoader(tud.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                 batch_size=5))
    for a, b in zip(DataLoader(ds, batch_size=5), theirs, strict=True):
        same(a, b)


def test_shuffle_is_a_fresh_permutation_each_epoch_and_follows_manual_seed():
    ds = TensorDataset(numpy.arange(20))
    numnet.manual_seed(5)
    loader = DataLoader(ds, batch_size=20, shuffle=True)
    orders = [next(iter(loader))[0].data.tolist() for _ in range(3)]
    assert all(sorted(o) == list(range(20)) for o in orders)
    assert orders[0] != orders[1] != orders[2]
    numnet.manual_seed(5)
    again = DataLoader(ds, batch_size=20, shuffle=True)
    assert [next(iter(again))[0].data.tolist() for _ in range(3)] == orders
    assert isinstance(loader.sampler, RandomSampler)
    assert isinstance(loader.batch_sampler, BatchSampler)


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle": True, "sampler": [0]}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching"),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"batch_size": 0}, "batch_size should be a positive integer value"),
])
def test_argument_errors_match_torch(kwargs, message):
    ds = TensorDataset(numpy.arange(4))
    with pytest.raises(ValueError, match=message):
        DataLoader(ds, **kwargs)
    with pytest.raises(ValueError, match=message):
        tud.DataLoader(tud.TensorDataset(torch.arange(4)), **kwargs)


class Stream(IterableDataset):
    """0..n-1, split between workers by ``get_worker_info`` (PyTorch's documented way)."""

    def __init__(self, n=10):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class TorchStream(tud.IterableDataset):
    def __init__(self, n=10):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}], ids=str)
def test_iterable_dataset_like_torch(kwargs):
    for a, b in zip(DataLoader(Stream(), **kwargs), tud.DataLoader(TorchStream(), **kwargs),
                    strict=True):
        same(a, b)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(), sampler=[0])
    with pytest.raises(TypeError):
        len(DataLoader(Stream()))


def test_iterable_dataset_with_workers_interleaves_like_torch():
    batches = [b.tolist() for b in DataLoader(Stream(10), batch_size=3, num_workers=2)]
    # worker 0 reads 0 2 4 6 8, worker 1 reads 1 3 5 7 9; their batches alternate
    assert batches == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]


# ---------------------------------------------------------------------- samplers
def test_samplers_like_torch():
    assert list(SequentialSampler(range(4))) == list(tud.SequentialSampler(range(4)))
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(range(10)), 3, drop_last))
        assert ours == list(tud.BatchSampler(tud.SequentialSampler(range(10)), 3, drop_last))
        assert len(BatchSampler(range(10), 3, drop_last)) == len(ours)
    assert list(BatchSampler([5, 1, 2], 2, False)) == [[5, 1], [2]]  # any iterable
    g = numnet.Generator(0)
    perm = list(RandomSampler(range(7), generator=g))
    assert sorted(perm) == list(range(7)) and perm != list(RandomSampler(range(7), generator=g))
    chained = list(RandomSampler(range(3), num_samples=7, generator=g))
    assert len(chained) == 7 and sorted(chained[:6]) == [0, 0, 1, 1, 2, 2]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([10, 20, 30], generator=g)) == [10, 20, 30]
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40, generator=g))
    assert set(weighted) == {1, 3} and len(weighted) == 40
    unique = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(unique) == [0, 1, 2, 3]


@pytest.mark.parametrize("make, error, message", [
    (lambda lib: lib.RandomSampler(range(3), num_samples=0), ValueError, "num_samples should be"),
    (lambda lib: lib.RandomSampler(range(3), replacement=1), TypeError, "replacement should be"),
    (lambda lib: lib.BatchSampler(range(3), 0, False), ValueError, "batch_size should be"),
    (lambda lib: lib.BatchSampler(range(3), 2, 1), ValueError, "drop_last should be"),
    (lambda lib: lib.WeightedRandomSampler([[1.0]], 1), ValueError, "weights should be a 1d"),
], ids=["num_samples", "replacement", "batch_size", "drop_last", "weights"])
def test_sampler_errors_match_torch(make, error, message):
    import numnet.utils.data as ours
    for lib in (ours, tud):
        with pytest.raises(error, match=message):
            make(lib)


def test_user_sampler_and_getitems_are_used():
    class Evens(numnet.utils.data.Sampler):
        def __iter__(self):
            return iter([4, 2, 0])

        def __len__(self):
            return 3

    class Batched(Items):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]

    loader = DataLoader(Batched(), batch_size=2, sampler=Evens())
    assert [b[1].tolist() for b in loader] == [[4, 2], [0]] and Batched.calls == 2
    assert len(loader) == 2


# ---------------------------------------------------------------------- datasets
def test_subset_concat_chain_stack_like_torch():
    a = TensorDataset(numpy.arange(3), numpy.arange(3) * 10)
    b = TensorDataset(numpy.arange(3, 8), numpy.arange(3, 8) * 10)
    both = a + b
    assert isinstance(both, ConcatDataset) and both.cumulative_sizes == [3, 8]
    assert both[-1][0].item() == 7 and both[3][1].item() == 30
    with pytest.raises(ValueError, match="absolute value of index"):
        both[-9]
    with pytest.raises(AssertionError, match="empty iterable"):
        ConcatDataset([])
    index = numpy.array([7, 0, 4, 2, 3])
    for field, expected in zip(both.get_batch(index), ([7, 0, 4, 2, 3], [70, 0, 40, 20, 30])):
        assert field.tolist() == expected
    sub = Subset(both, [6, 1])
    assert [s[0].item() for s in (sub[0], sub[1])] == [6, 1]
    assert [f.tolist() for f in sub.get_batch(numpy.array([1, 0]))] == [[1, 6], [10, 60]]
    assert not hasattr(Subset(Items(), [0]), "get_batch")
    assert list(Stream(3) + Stream(2)) == [0, 1, 2, 0, 1]
    assert isinstance(Stream(1) + Stream(1), ChainDataset)
    stacked = StackDataset(a, [5, 6, 7])
    assert stacked[2][1] == 7 and len(stacked) == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, [1])
    loader = DataLoader(both, batch_size=3, shuffle=True, seed=0)
    assert loader._fast
    values = sorted(v for x, _ in loader for v in x.tolist())
    assert values == list(range(8))


def test_random_split_fractions_follow_torch():
    for lengths in ([0.5, 0.5], [0.3, 0.3, 0.4], [1], [0.25, 0.75], [3, 8]):
        ours = [len(s) for s in random_split(TensorDataset(numpy.arange(11)), lengths)]
        theirs = [len(s) for s in tud.random_split(range(11), lengths)]
        assert ours == theirs, lengths
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(TensorDataset(numpy.arange(4)), [0.5, 1.5, -1.0])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(TensorDataset(numpy.arange(2)), [0.9, 0.1])
    a = random_split(TensorDataset(numpy.arange(9)), [4, 5], generator=numnet.Generator(2))
    b = random_split(TensorDataset(numpy.arange(9)), [4, 5], generator=numnet.Generator(2))
    assert a[0].indices.tolist() == b[0].indices.tolist()


def test_numnet_data_loader_is_the_same_loader_with_transforms():
    assert issubclass(numnet.data.DataLoader, DataLoader)
    assert numnet.data.TensorDataset is TensorDataset and numnet.data.Subset is Subset
    ds = numnet.data.TensorDataset(numpy.ones((4, 1, 2, 2), numpy.float32), numpy.arange(4))
    loader = numnet.data.DataLoader(ds, batch_size=2, transform=lambda x: x * 2, pin_memory=True)
    x, y = next(iter(loader))
    assert x.data.tolist() == (numpy.ones((2, 1, 2, 2)) * 2).tolist() and y.tolist() == [0, 1]


# ---------------------------------------------------------------------- workers
_INIT = {"value": 0}


class WorkerItems(Dataset):
    """Per-item NumPy work; item 13 fails; ``_INIT`` is set by ``worker_init_fn``."""

    def __init__(self, n=24, fail=None, sleep=0.0, die=None):
        self.n, self.fail, self.sleep, self.die = n, fail, sleep, die

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail:
            raise KeyError(f"item {i} is broken")
        if i == self.die:
            os._exit(3)
        time.sleep(self.sleep)
        info = get_worker_info()
        return (numpy.full((2, 2), float(i), numpy.float32), i,
                -1 if info is None else info.id, _INIT["value"])


def _set_init(worker_id):
    _INIT["value"] = 100 + worker_id


def test_workers_give_the_batches_of_the_main_process_in_order():
    kwargs = {"batch_size": 5, "shuffle": True, "seed": 7,
              "collate_fn": lambda samples: default_collate(samples)}  # a lambda is fine
    main = list(DataLoader(WorkerItems(), **kwargs))
    loader = DataLoader(WorkerItems(), num_workers=2, worker_init_fn=_set_init, **kwargs)
    parallel = list(loader)
    assert len(parallel) == len(main) == 5
    for (xa, ia, wa, _), (xb, ib, wb, init) in zip(main, parallel):
        numpy.testing.assert_array_equal(xa.data, xb.data)
        assert ia.tolist() == ib.tolist()
        assert set(wa.tolist()) == {-1} and len(set(wb.tolist())) == 1
        assert set(init.tolist()) == {100 + wb.tolist()[0]}
    assert sorted({int(b[2].data[0]) for b in parallel}) == [0, 1]
    assert loader._pool is None and get_worker_info() is None


def test_worker_exception_is_reraised_with_its_traceback():
    loader = DataLoader(WorkerItems(fail=13), batch_size=4, num_workers=2)
    with pytest.raises(KeyError) as caught:
        list(loader)
    text = str(caught.value)
    assert "Caught KeyError in DataLoader worker process" in text
    assert "Traceback (most recent call last)" in text and "item 13 is broken" in text
    assert "__getitem__" in text and loader._pool is None


def test_leaving_the_loop_early_stops_the_workers():
    loader = DataLoader(WorkerItems(), batch_size=2, num_workers=2)
    iterator = iter(loader)
    next(iterator)
    workers = list(loader._pool.workers)
    assert all(w.is_alive() for w in workers)
    del iterator
    assert loader._pool is None
    assert not any(w.is_alive() for w in workers)


def test_persistent_workers_are_kept_between_epochs():
    loader = DataLoader(WorkerItems(8), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b[1].tolist() for b in loader]
    pids = [w.pid for w in loader._pool.workers]
    for i, _ in enumerate(loader):  # abandon an epoch half-way: stale batches are dropped
        if i == 1:
            break
    second = [b[1].tolist() for b in loader]
    assert first == second == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [w.pid for w in loader._pool.workers] == pids
    workers = loader._pool.workers
    loader._shutdown_workers()
    assert not any(w.is_alive() for w in workers)


def test_timeout_and_a_dead_worker_raise_runtime_error():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        list(DataLoader(WorkerItems(4, sleep=1.0), batch_size=2, num_workers=1, timeout=0.2))
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(WorkerItems(4, die=0), batch_size=2, num_workers=1))


def test_resume_mid_epoch_with_workers_matches_without():
    def make(workers):
        return DataLoader(TensorDataset(numpy.arange(12)), batch_size=3, shuffle=True, seed=1,
                          num_workers=workers)

    straight = [b[0].tolist() for b in make(0)]
    loader = make(2)
    iterator = iter(loader)
    head = [next(iterator)[0].tolist() for _ in range(2)]
    state = loader.state_dict()
    del iterator
    resumed = make(2)
    resumed.load_state_dict(state)
    assert head + [b[0].tolist() for b in resumed] == straight
