"""Data: datasets, the DataLoader, batch transforms, and readers for real dataset formats.

``load_dataset(name, data_dir, split)`` / ``get_dataset(name, data_dir)`` give
``TensorDataset``s of float32 NCHW images in ``[0, 1]`` and int64 labels for ``digits``
(bundled), ``mnist``, ``fashion-mnist`` (IDX files) and ``cifar10`` (python batches);
``DataLoader`` batches them; ``transforms`` augments and normalises whole batches.
"""

from numnet.data import transforms
from numnet.data.cifar import RestrictedUnpickler, load_cifar10, read_batch
from numnet.data.dataloader import DataLoader
from numnet.data.dataset import Dataset, Subset, TensorDataset, random_split
from numnet.data.digits import load_digits
from numnet.data.errors import DatasetError
from numnet.data.idx import read_idx
from numnet.data.registry import (
                                  DATASETS,
                                  DatasetInfo,
                                  available,
                                  canonical_name,
                                  dataset_names,
                                  get_dataset,
                                  get_info,
                                  load_arrays,
                                  load_dataset,
                                  locate,
)
from numnet.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToFloat

__all__ = ["DATASETS", "Compose", "DataLoader", "Dataset", "DatasetError", "DatasetInfo",
           "Normalize", "RandomCrop", "RandomHorizontalFlip", "RestrictedUnpickler", "Subset",
           "TensorDataset", "ToFloat", "available", "canonical_name", "dataset_names",
           "get_dataset", "get_info", "load_arrays", "load_cifar10", "load_digits",
           "load_dataset", "locate", "random_split", "read_batch", "read_idx", "transforms"]
