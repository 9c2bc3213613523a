"""``numnet.utils.data``: datasets, samplers, collation and the ``DataLoader``, with the
names, arguments and behaviour of ``torch.utils.data``.

Example:
    >>> import numpy, numnet
    >>> from numnet.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(numpy.arange(6, dtype=numpy.float32), numpy.arange(6))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=4)]
    [[0, 1, 2, 3], [4, 5]]
"""

from numnet.utils.data.collate import default_collate, default_convert
from numnet.utils.data.dataloader import DataLoader, WorkerInfo, get_worker_info
from numnet.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from numnet.utils.data.distributed import DistributedSampler
from numnet.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "WorkerInfo", "default_collate", "default_convert", "get_worker_info",
           "random_split"]
