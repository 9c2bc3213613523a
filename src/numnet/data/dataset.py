"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``, from
``numnet.utils.data`` (where they live, with PyTorch's API), kept here for the readers.

Array-backed datasets also implement ``get_batch(indices)``, which returns whole batches by
fancy indexing (one NumPy call per field, no Python loop over samples); ``DataLoader`` uses it
whenever a dataset has it.
"""

from numnet.utils.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)

__all__ = ["ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset",
           "random_split"]
