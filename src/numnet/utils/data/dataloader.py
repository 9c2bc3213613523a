"""``DataLoader``: batches of a dataset, PyTorch's arguments, reproducible and resumable.

What a batch is (PyTorch's rules): the sampler (``SequentialSampler``, or ``RandomSampler``
with ``shuffle=True``, or yours) gives indices, the ``BatchSampler`` groups them by
``batch_size``, and ``collate_fn`` (``default_collate``) stacks the samples ``dataset[i]``.
With ``batch_size=None`` every sample is its own item (``default_convert``). An
``IterableDataset`` is read as a stream, ``batch_size`` samples at a time.

Fast path (numnet): a dataset with ``get_batch(indices)`` (``TensorDataset``, ``Subset`` and
``ConcatDataset`` of them, numnet's own datasets) is batched by one fancy index per field
instead of ``batch_size`` calls of ``__getitem__`` and a collate: the same values, dtypes and
list structure as ``default_collate`` gives, without a Python loop over samples. It is used
when ``collate_fn`` is None; give ``collate_fn=default_collate`` to force the per-sample path.

Randomness, in one place: the loader owns a ``numnet.Generator`` (``generator=``, or its own
seeded from ``seed=``, or from numnet's default generator at construction, so
``numnet.manual_seed`` makes it reproducible). Each epoch draws one 63-bit *epoch seed* from
it; the shuffle's permutation comes from ``SeedSequence([epoch_seed, 0])``, the workers'
seeds from ``[epoch_seed, 2]``. ``state_dict()`` (JSON-safe) lets training resume
bit-identically, even in the middle of an epoch.

Workers (``num_workers=N``): N processes, started with ``fork`` where the platform has it
(Linux), so the dataset, ``collate_fn`` and ``worker_init_fn`` are inherited, never
pickled, and lambdas work; only index lists go to the workers and finished batches come
back (pickled NumPy arrays). Each worker builds whole batches, up to ``prefetch_factor``
(default 2) batches per worker are in flight, and batches come back in sampler order. An
exception in a worker is raised again in the main process, of the same type, with the
worker's traceback in its message; leaving the loop early (``break``) stops the workers;
``persistent_workers=True`` keeps them between epochs. Each worker runs numnet on one thread
(``numnet.set_num_threads(1)``) and seeds numnet's default generator and ``random`` with
``seed = base_seed + worker_id`` (``get_worker_info()``). Processes, not threads, because
measured on this machine (2 cores; batches of 32 from 1024 samples, ``benchmarks``-style
script in the change's notes)::

    per-sample NumPy work (3x64x64 FFT filter)   main 0.334 s  threads x2 0.316 s
                                                 processes x2 0.228 s
    per-sample pure-Python work                  main 0.855 s  threads x2 0.857 s
                                                 processes x2 0.450 s

Threads gain nothing where the GIL is held; processes win in both cases. Without ``fork``
(macOS, Windows: ``multiprocessing_context`` ``"spawn"``) the loader and its dataset are
pickled to each worker, as in PyTorch, and must be importable.

``pin_memory`` is accepted and has no effect: numnet's tensors live in CPU memory already.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass

import numpy

from numnet import backend
from numnet import random as nn_random
from numnet.tensor import Tensor
from numnet.utils.data.collate import default_collate, default_convert
from numnet.utils.data.dataset import IterableDataset
from numnet.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

_STATE_VERSION = 1
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a ``DataLoader`` worker: its ``WorkerInfo`` (``id``, ``num_workers``, ``seed``,
    ``dataset``, the worker's copy); in the main process: None.

    An ``IterableDataset`` uses it to split its stream between the workers.
    """
    return _worker_info


class _ExceptionWrapper:
    """An exception raised in a worker, carried back with its traceback text."""

    def __init__(self, worker_id: int, where: str = "in DataLoader worker process") -> None:
        exc_type, _, _ = sys.exc_info()
        self.exc_type = exc_type
        self.message = (f"Caught {exc_type.__name__} {where} {worker_id}.\nOriginal "
                        f"{traceback.format_exc()}")

    def reraise(self):
        try:
            exception = self.exc_type(self.message)
        except Exception:  # an exception class whose constructor wants other arguments
            raise RuntimeError(self.message) from None
        raise exception


class _End:
    """A worker's iterable stream is exhausted."""


def _payload(data, worker_id: int) -> bytes:
    """``data`` pickled in the worker (so a failure is reported, not lost in a thread)."""
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(_ExceptionWrapper(worker_id), protocol=pickle.HIGHEST_PROTOCOL)


def _worker_loop(loader, worker_id: int, num_workers: int, base_seed: int, index_queue,
                 result_queue) -> None:
    """A worker process: fetch the batches named on ``index_queue`` until None arrives."""
    global _worker_info
    backend.set_num_threads(1)
    seed = base_seed + worker_id
    nn_random.manual_seed(seed)
    random.seed(seed)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                              dataset=loader.dataset)
    result_queue.cancel_join_thread()  # exit without waiting for the main process to read
    init_error = None
    if loader.worker_init_fn is not None:
        try:
            loader.worker_init_fn(worker_id)
        except Exception:
            init_error = _ExceptionWrapper(worker_id, "in worker_init_fn of worker")
    stream, stream_tag = None, None
    while True:
        try:
            task = index_queue.get()
        except (KeyboardInterrupt, EOFError, OSError):
            return
        if task is None:
            return
        tag, send_index, batch_number, indices, loader._epoch_seed = task
        if init_error is not None:
            data = init_error
        else:
            try:
                if loader._iterable:
                    if stream_tag != tag:
                        stream, stream_tag = iter(loader.dataset), tag
                    data = loader._next_from_stream(stream, batch_number)
                else:
                    data = loader._fetch(indices, batch_number)
            except Exception:
                data = _ExceptionWrapper(worker_id)
        result_queue.put((tag, send_index, _payload(data, worker_id)))


class _WorkerPool:
    """``num_workers`` worker processes, one task queue each and one result queue."""

    def __init__(self, loader, base_seed: int) -> None:
        method = loader.multiprocessing_context
        if method is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        context = (method if isinstance(method, multiprocessing.context.BaseContext)
                   else multiprocessing.get_context(method))
        self.result_queue = context.Queue()
        self.index_queues = []
        self.workers = []
        n = loader.num_workers
        for worker_id in range(n):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            process = context.Process(target=_worker_loop, daemon=True,
                                      args=(loader, worker_id, n, base_seed, index_queue,
                                            self.result_queue))
            process.start()
            self.index_queues.append(index_queue)
            self.workers.append(process)

    def get(self, timeout: float):
        """The next result; RuntimeError when ``timeout`` (> 0) passes or a worker died."""
        waited = 0.0
        while True:
            wait = _POLL_SECONDS if timeout <= 0 else min(_POLL_SECONDS, timeout - waited)
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                waited += wait
            dead = [w.pid for w in self.workers if not w.is_alive()]
            if dead:
                self.shutdown()
                raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) "
                                   "exited unexpectedly")
            if timeout > 0 and waited >= timeout:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")

    def shutdown(self) -> None:
        """Ask every worker to stop, wait briefly, then terminate those still running."""
        for index_queue, worker in zip(self.index_queues, self.workers):
            if worker.is_alive():
                try:
                    index_queue.put(None)
                except (OSError, ValueError):
                    pass
        for worker in self.workers:
            worker.join(timeout=1)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()
        self.workers = []


class DataLoader:
    """Iterate over ``dataset`` in batches (PyTorch's ``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style ``Dataset`` (``len`` and ``[i]``) or an ``IterableDataset``.
        batch_size: samples per batch (default 1); None turns batching off (each sample
            comes alone, through ``default_convert``).
        shuffle: a new random order each epoch (map-style only; not with ``sampler``).
        sampler: the order of the indices (a ``Sampler`` or any iterable of indices).
        batch_sampler: yields whole lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: worker processes loading batches in parallel (0: in this process).
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted for PyTorch scripts; no effect (numnet is CPU memory only).
        drop_last: skip the last batch when it is shorter than ``batch_size``.
        timeout: seconds to wait for a worker's batch (0: forever); RuntimeError after.
        worker_init_fn: called with the worker id in each worker, after seeding.
        multiprocessing_context: a start method name (``"fork"``, ``"spawn"``, ...) or a
            context; default ``"fork"`` where available.
        generator: the ``numnet.Generator`` the epoch seeds are drawn from (shared with
            the caller, advanced by this loader).
        prefetch_factor: batches in flight per worker (default 2; only with workers).
        persistent_workers: keep the worker processes between epochs.
        pin_memory_device, in_order: accepted for PyTorch scripts (batches always come in
            order).
        seed: numnet: instead of ``generator``, an int: the loader gets its own
            ``Generator(seed)``.

    Yields:
        Batches as ``collate_fn`` makes them: for samples ``(image, label)``, a list
        ``[images, labels]`` of Tensors shaped ``(B, C, H, W)`` and ``(B,)``.

    Example:
        >>> import numpy
        >>> from numnet.utils.data import TensorDataset
        >>> ds = TensorDataset(numpy.zeros((10, 1, 2, 2), numpy.float32), numpy.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader), [tuple(y.shape) for _, y in loader]
        (3, [(4,), (4,), (2,)])
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None,
                 generator: nn_random.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True,
                 seed: int | None = None) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give either generator= or seed=, not both")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, (int, numpy.integer))
                                       or batch_size <= 0):
            raise ValueError("batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if generator is None:
            if seed is None:
                seed = int(nn_random.numpy_generator().integers(0, 2**63))
            generator = nn_random.Generator(seed)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.num_workers = int(num_workers)
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self.generator = generator
        # the shuffle's source: reseeded from the epoch seed at the start of every epoch
        self._epoch_generator = nn_random.Generator(0)
        if self._iterable:
            sampler = None
        elif sampler is None:
            sampler = (RandomSampler(dataset, generator=self._epoch_generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable
                                                             and batch_size is not None)
        self._fast = collate_fn is None and self._auto_collation and not self._iterable
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.epoch = 0
        self._epoch_seed = None
        self._batches_done = 0
        self._resume = False
        self._pool = None
        self._tags = itertools.count()

    @property
    def shuffle(self) -> bool:
        """Whether the loader draws its own random order each epoch."""
        return isinstance(self.sampler, RandomSampler) and (
            self.sampler.generator is self._epoch_generator)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ------------------------------------------------------------------ iteration
    def __iter__(self):
        if self._resume:
            self._resume = False
        else:
            self._epoch_seed = int(self.generator.numpy_generator.integers(0, 2**63))
            self._batches_done = 0
            self.epoch += 1
        epoch_seed = self._epoch_seed
        self._epoch_generator.numpy_generator = numpy.random.default_rng([epoch_seed, 0])
        skip = self._batches_done
        if self.num_workers == 0:
            batches = self._batches_here(skip)
        else:
            batches = self._batches_from_workers(epoch_seed, skip)
        for b, batch in enumerate(batches, start=skip):
            self._batches_done = b + 1
            yield batch
        self._epoch_seed = None
        self._batches_done = 0

    def _index_batches(self, skip: int = 0):
        """The epoch's index batches (arrays on the fast path), or single indices, without
        the first ``skip`` (already handed out before a resume)."""
        if self.batch_sampler is None:
            batches = iter(self.sampler)
        elif isinstance(self.batch_sampler, BatchSampler):
            batches = self.batch_sampler._index_batches()
        else:
            batches = iter(self.batch_sampler)
        return itertools.islice(batches, skip, None) if skip else batches

    def _batches_here(self, skip: int):
        """The epoch's batches from ``skip`` on, built in this process."""
        if self._iterable:
            stream = iter(self.dataset)
            for b in itertools.count():
                batch = self._next_from_stream(stream, b)
                if batch is _End:
                    return
                if b >= skip:
                    yield batch
        elif self._fast and hasattr(self.dataset, "get_batch"):
            # the training loop's path: kept short, a few microseconds per batch
            get_batch = self.dataset.get_batch
            finish = self._finish
            for b, indices in enumerate(self._index_batches(skip), start=skip):
                yield finish([f if isinstance(f, Tensor) else Tensor(f, _raw=True)
                              for f in get_batch(indices)], b)
        else:
            for b, indices in enumerate(self._index_batches(skip), start=skip):
                yield self._fetch(indices, b)

    def _fetch(self, indices, batch_number: int):
        """One batch (or sample) of a map-style dataset."""
        if not self._auto_collation:
            return self._finish(self.collate_fn(self.dataset[indices]), batch_number)
        if self._fast and hasattr(self.dataset, "get_batch"):
            fields = self.dataset.get_batch(numpy.asarray(indices, dtype=numpy.int64))
            return self._finish([f if isinstance(f, Tensor) else Tensor(f, _raw=True)
                                 for f in fields], batch_number)
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            samples = getitems(_as_list(indices))
        else:
            samples = [self.dataset[i] for i in _as_list(indices)]
        return self._finish(self.collate_fn(samples), batch_number)

    def _next_from_stream(self, stream, batch_number: int):
        """The next batch (or sample) of an iterable dataset's stream, or ``_End``."""
        if self.batch_size is None:
            sample = next(stream, _End)
            return _End if sample is _End else self._finish(self.collate_fn(sample),
                                                            batch_number)
        samples = list(itertools.islice(stream, self.batch_size))
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            return _End
        return self._finish(self.collate_fn(samples), batch_number)

    def _finish(self, batch, batch_number: int):
        """A hook for subclasses (``numnet.data.DataLoader`` applies its transform)."""
        return batch

    def _batches_from_workers(self, epoch_seed: int, skip: int):
        """The epoch's batches from ``skip`` on, built by the worker processes and handed
        out in order (see the module docstring)."""
        if self._pool is None:
            base_seed = int(numpy.random.default_rng([epoch_seed, 2]).integers(0, 2**62))
            self._pool = _WorkerPool(self, base_seed)
        pool = self._pool
        tag = next(self._tags)
        n = self.num_workers
        active = [True] * n
        task_worker = {}
        results = {}
        next_worker = itertools.cycle(range(n))
        # an iterable stream is read in order by each worker: skipped batches are fetched
        tasks = itertools.repeat(None) if self._iterable else self._index_batches(skip)
        first = 0 if self._iterable else skip
        sent = received = 0

        def send() -> bool:
            nonlocal sent
            if not any(active):
                return False
            indices = next(tasks, _End)
            if indices is _End:
                return False
            worker = next(next_worker)
            while not active[worker]:
                worker = next(next_worker)
            pool.index_queues[worker].put((tag, sent, first + sent, indices, epoch_seed))
            task_worker[sent] = worker
            sent += 1
            return True

        try:
            for _ in range(max(1, self.prefetch_factor) * n):
                if not send():
                    break
            handed_out = 0
            while received < sent:
                while received not in results:
                    result_tag, index, payload = pool.get(self.timeout)
                    if result_tag == tag:
                        results[index] = payload
                data = pickle.loads(results.pop(received))
                worker = task_worker.pop(received)
                received += 1
                if isinstance(data, _ExceptionWrapper):
                    self._shutdown_workers()
                    data.reraise()
                if data is _End:
                    active[worker] = False
                    send()
                    continue
                send()
                handed_out += 1
                if self._iterable and handed_out <= skip:
                    continue
                yield data
        finally:
            if not self.persistent_workers:
                self._shutdown_workers()

    def _shutdown_workers(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def __del__(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._shutdown_workers()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_pool"] = None
        state["_tags"] = None
        return state

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict:
        """Where the shuffling stream stands, as a JSON-serialisable dict.

        Taken between epochs, loading it makes the next epoch the one that would have come
        next; taken mid-epoch (after receiving batch ``k``), iterating after loading it
        continues the same epoch from batch ``k + 1`` with the same order and augmentation.
        """
        in_progress = self._epoch_seed is not None and self._batches_done < len(self)
        return {
            "version": _STATE_VERSION,
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "epoch_seed": self._epoch_seed if in_progress else None,
            "batches_done": self._batches_done if in_progress else 0,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``; the next ``iter()`` continues from there."""
        expected = {"version", "generator", "epoch", "epoch_seed", "batches_done"}
        if not isinstance(state, dict) or set(state) != expected:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"DataLoader.load_state_dict: expected keys {sorted(expected)}, "
                             f"got {got}")
        if state["version"] != _STATE_VERSION:
            raise ValueError(f"DataLoader state version {state['version']} is not supported "
                             f"(this numnet reads version {_STATE_VERSION})")
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        seed = state["epoch_seed"]
        self._epoch_seed = None if seed is None else int(seed)
        self._batches_done = int(state["batches_done"])
        self._resume = self._epoch_seed is not None and 0 < self._batches_done < len(self)

    def __repr__(self) -> str:
        workers = f", num_workers={self.num_workers}" if self.num_workers else ""
        return (f"{type(self).__name__}(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}{workers}, batches={len(self)})")


def _as_list(indices) -> list:
    return indices.tolist() if isinstance(indices, numpy.ndarray) else list(indices)
