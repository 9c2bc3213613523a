"""``DataLoader`` with numnet's batch augmentation: ``numnet.utils.data.DataLoader`` (one
implementation: PyTorch's arguments, samplers, workers, the array fast path, resumable
state) plus ``transform=``, applied to the first field of every batch.

Random transforms draw from the loader's own stream: batch ``b`` of an epoch uses a
generator seeded with ``SeedSequence([epoch_seed, 1, b])``, so augmentation is fixed by the
epoch's seed, resumes bit-identically from ``state_dict()``, and is the same with or without
worker processes.
"""

from __future__ import annotations

import numpy

from numnet import random as nn_random
from numnet.data.transforms import apply_transform
from numnet.tensor import Tensor
from numnet.utils.data.dataloader import DataLoader as _TorchLikeDataLoader


class DataLoader(_TorchLikeDataLoader):
    """``numnet.utils.data.DataLoader`` (every argument of it, see there) with ``transform``.

    Args:
        dataset, batch_size, shuffle, ...: as ``numnet.utils.data.DataLoader``.
        transform: applied to the first field (the images) of each batch, e.g. a
            ``transforms.Compose``; numnet's random transforms draw from the loader's
            stream, plain functions get only the batch (a NumPy array).

    Example:
        >>> import numpy
        >>> from numnet.data import TensorDataset
        >>> ds = TensorDataset(numpy.zeros((10, 1, 2, 2), numpy.float32), numpy.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader), [tuple(y.shape) for _, y in loader]
        (3, [(4,), (4,), (2,)])
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 *args, transform=None, **kwargs) -> None:
        super().__init__(dataset, batch_size, shuffle, *args, **kwargs)
        self.transform = transform

    def _finish(self, batch, batch_number: int):
        if self.transform is None:
            return batch
        generator = nn_random.Generator()
        generator.numpy_generator = numpy.random.default_rng(
            [self._epoch_seed, 1, batch_number])
        images = batch[0].data if isinstance(batch[0], Tensor) else batch[0]
        first = apply_transform(self.transform, images, generator)
        if not isinstance(first, Tensor):
            first = Tensor(numpy.asarray(first), _raw=True)
        return [first, *batch[1:]] if isinstance(batch, list) else (first, *batch[1:])
