"""``DataLoader``: batches of a dataset, shuffled reproducibly, resumable mid-epoch.

Randomness, in one place: the loader owns a ``numnet.Generator``. Each epoch draws one 63-bit
*epoch seed* from it; the epoch's permutation comes from ``SeedSequence([epoch_seed, 0])`` and
batch ``b``'s transforms draw from ``SeedSequence([epoch_seed, 1, b])``. So the epoch's whole
stream is fixed by its seed, and ``state_dict()`` (JSON-safe: the generator state, the epoch
seed, the number of batches already handed out) lets training resume bit-identically, even
in the middle of an epoch.
"""

from __future__ import annotations

import numpy

from numnet import random as nn_random
from numnet.data.transforms import apply_transform
from numnet.tensor import Tensor

_STATE_VERSION = 1


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` (PyTorch's ``DataLoader``,
    single process).

    Array-backed datasets (``TensorDataset``, ``Subset`` of one) are batched by one fancy
    index per field; other datasets fall back to ``dataset[i]`` per sample, stacked.

    Args:
        dataset: a map-style dataset whose samples are tuples of arrays/Tensors.
        batch_size: samples per batch.
        shuffle: visit the samples in a new random order each epoch.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        generator: the ``numnet.Generator`` to draw epoch seeds from (shared, advanced by
            this loader).
        seed: alternatively, an int: the loader gets its own ``Generator(seed)``. With
            neither, its own generator is seeded from numnet's default generator at
            construction, so ``numnet.manual_seed`` makes it reproducible.
        transform: applied to the first field (the images) of each batch, e.g. a
            ``transforms.Compose``; random transforms draw from the loader's stream.

    Yields:
        A tuple of Tensors per batch, e.g. ``(images, labels)`` shaped ``(B, C, H, W)``
        and ``(B,)``.

    Example:
        >>> import numpy
        >>> from numnet.data import TensorDataset
        >>> ds = TensorDataset(numpy.zeros((10, 1, 2, 2), numpy.float32), numpy.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader), [tuple(y.shape) for _, y in loader]
        (3, [(4,), (4,), (2,)])
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: nn_random.Generator | None = None,
                 seed: int | None = None, transform=None) -> None:
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give either generator= or seed=, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        if generator is None:
            if seed is None:
                seed = int(nn_random.numpy_generator().integers(0, 2**63))
            generator = nn_random.Generator(seed)
        self.generator = generator
        self.epoch = 0
        self._epoch_seed = None
        self._batches_done = 0
        self._resume = False

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self):
        if self._resume:
            self._resume = False
        else:
            self._epoch_seed = int(self.generator.numpy_generator.integers(0, 2**63))
            self._batches_done = 0
            self.epoch += 1
        epoch_seed = self._epoch_seed
        n = len(self.dataset)
        if self.shuffle:
            order = numpy.random.default_rng([epoch_seed, 0]).permutation(n)
        else:
            order = numpy.arange(n)
        for b in range(self._batches_done, len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            fields = self._fetch(indices)
            if self.transform is not None:
                batch_generator = nn_random.Generator()
                batch_generator.numpy_generator = numpy.random.default_rng([epoch_seed, 1, b])
                fields = (apply_transform(self.transform, fields[0], batch_generator),
                          *fields[1:])
            self._batches_done = b + 1
            yield tuple(f if isinstance(f, Tensor) else Tensor(f, _raw=True) for f in fields)
        self._epoch_seed = None
        self._batches_done = 0

    def _fetch(self, indices: numpy.ndarray) -> tuple:
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return tuple(get_batch(indices))
        # NOTE: generic datasets have no batch access; one __getitem__ per sample, stacked.
        samples = [self.dataset[int(i)] for i in indices]
        if not isinstance(samples[0], (tuple, list)):
            samples = [(s,) for s in samples]
        return tuple(numpy.stack([numpy.asarray(s[k]) for s in samples])
                     for k in range(len(samples[0])))

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
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, batches={len(self)})")
