"""Data and training shared by the experiments that train a CNN (cnn-inside, relu-vs-tanh).

A thin layer over the public API: ``numnet.data.load_arrays`` for the images,
``numnet.data.DataLoader`` over a ``TensorDataset``, ``numnet.models`` for the networks,
``numnet.optim.SGD`` and ``numnet.train.Trainer`` for the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

import numnet
from numnet import models, optim
from numnet.data import DataLoader, TensorDataset, available, canonical_name, get_info, load_arrays
from numnet.train import Trainer


@dataclass
class Data:
    """Normalised arrays of one dataset (``x``: float32 NCHW, ``y``: int64)."""

    name: str
    info: object
    x_train: numpy.ndarray
    y_train: numpy.ndarray
    x_test: numpy.ndarray
    y_test: numpy.ndarray

    def loader(self, split: str = "train", batch_size: int = 64, shuffle: bool = True,
               seed: int = 0) -> DataLoader:
        """A ``DataLoader`` over one split (shuffled with its own seed)."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
                          seed=seed)


def pick_dataset(dataset=None, data_dir=None) -> str:
    """``dataset`` if given; else CIFAR-10 when ``data_dir`` has it, else Fashion-MNIST when
    it is found (``data_dir`` or Debian's ``/usr/share/datasets/fashion-mnist``), else the
    bundled digits."""
    if dataset is not None:
        return canonical_name(dataset)
    if data_dir is not None and available("cifar10", data_dir):
        return "cifar10"
    if available("fashion-mnist", data_dir) or available("fashion-mnist", None):
        return "fashion-mnist"
    return "digits"


def _subset(x, y, size, rng):
    if size is None or size >= len(y):
        return x, y
    keep = numpy.sort(rng.choice(len(y), size=int(size), replace=False))
    return x[keep], y[keep]


def load(dataset: str, data_dir=None, train_size=None, test_size=None, seed: int = 0) -> Data:
    """Load a dataset (a random subset of each split when sizes are given), normalised with
    its per-channel mean and std: ``x <- (x - mean) / std``."""
    name = canonical_name(dataset)
    folder = data_dir
    if name == "fashion-mnist" and data_dir is not None and not available(name, data_dir):
        folder = None  # fall back to the system copy
    info = get_info(name)
    rng = numpy.random.default_rng(seed)
    mean = numpy.asarray(info.mean, dtype=numpy.float32).reshape(1, -1, 1, 1)
    std = numpy.asarray(info.std, dtype=numpy.float32).reshape(1, -1, 1, 1)
    arrays = []
    for split, size in (("train", train_size), ("test", test_size)):
        x, y = load_arrays(name, folder, split)
        x, y = _subset(x, y, size, rng)
        arrays += [((x - mean) / std).astype(numpy.float32), y.astype(numpy.int64)]
    return Data(name, info, *arrays)


def build_cnn(info, activation: str, seed: int = 0):
    """LeNet-5 for grey images, the CIFAR CNN for colour ones; weights drawn after
    ``numnet.manual_seed(seed)``, so two activations start from the same weights."""
    numnet.manual_seed(seed)
    channels, side, _ = info.input_shape
    if channels == 1:
        return models.lenet5(in_channels=1, num_classes=info.num_classes,
                             activation=activation, input_size=side)
    return models.cifar_cnn(in_channels=channels, num_classes=info.num_classes,
                            activation=activation, input_size=side)


def fit(model, data: Data, lr: float, epochs: int, batch_size: int = 64, seed: int = 0,
        momentum: float = 0.9, progress: bool = False, validate: bool = False):
    """Train with SGD (momentum) and cross entropy; returns ``(trainer, history)``.

    Each history record has ``train_accuracy`` (measured during the epoch, as in
    Krizhevsky et al.'s training-error curves) and ``seconds``.
    """
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    trainer = Trainer(model, optimizer, progress=progress, num_classes=data.info.num_classes)
    val = data.loader("test", batch_size=256, shuffle=False) if validate else None
    history = trainer.fit(data.loader("train", batch_size, seed=seed), val, epochs=epochs)
    return trainer, history
