"""The datasets numnet knows: their metadata, where they are found, and ``load_dataset``.

Each entry gives the number of classes, the input shape ``(C, H, W)``, the class names and
the per-channel mean/std of the training images (for ``transforms.Normalize``). Files are
searched in ``data_dir`` and in its conventional subfolders (``data_dir/mnist``,
``data_dir/MNIST/raw`` as torchvision stores it, ``data_dir/cifar-10-batches-py``);
Fashion-MNIST is also found in ``/usr/share/datasets/fashion-mnist`` (Debian's
``dataset-fashion-mnist`` package) when no ``data_dir`` is given.

Example:
    >>> from numnet.data import get_dataset, get_info
    >>> train, test = get_dataset("digits")
    >>> len(train), len(test), train.info.input_shape, get_info("digits").num_classes
    (1437, 360, (1, 8, 8), 10)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os

from numnet.data import cifar, digits, idx
from numnet.data.dataset import TensorDataset
from numnet.data.errors import DatasetError

SYSTEM_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/ (or yann.lecun.com/exdb/mnist/)"
FASHION_MNIST_URL = "https://github.com/zalandoresearch/fashion-mnist (data/fashion/)"


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a model and its transforms need to know about a dataset.

    Attributes:
        name: the registry name, e.g. ``"fashion-mnist"``.
        description: one line for ``numnet datasets``.
        num_classes: number of label values ``0 .. num_classes - 1``.
        input_shape: ``(C, H, W)`` of one image.
        classes: the class names, indexed by label.
        mean, std: per-channel mean and standard deviation of the training images (after
            scaling to ``[0, 1]``), for ``transforms.Normalize``.
        train_size, test_size: number of images in each split of the full dataset.
        source: where to get it.
    """

    name: str
    description: str
    num_classes: int
    input_shape: tuple
    classes: tuple
    mean: tuple
    std: tuple
    train_size: int
    test_size: int
    source: str

    def to_dict(self) -> dict:
        """JSON-serialisable fields (tuples as lists), e.g. for checkpoint metadata."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


_DIGIT_NAMES = tuple(str(i) for i in range(10))

DATASETS = {
    "digits": DatasetInfo(
        "digits", "scikit-learn's 8x8 handwritten digits, bundled (works offline)",
        10, (1, 8, 8), _DIGIT_NAMES, (0.3054,), (0.3761,), 1437, 360,
        "scikit-learn (sklearn.datasets.load_digits)"),
    "mnist": DatasetInfo(
        "mnist", "MNIST handwritten digits, 28x28 grey (four IDX files)",
        10, (1, 28, 28), _DIGIT_NAMES, (0.1307,), (0.3081,), 60000, 10000, MNIST_URL),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "Zalando's Fashion-MNIST clothing images, 28x28 grey (IDX files)",
        10, (1, 28, 28),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        (0.2860,), (0.3530,), 60000, 10000, FASHION_MNIST_URL),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10 32x32 colour images (python-version batches)",
        10, (3, 32, 32),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"),
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 50000, 10000, cifar.URL),
}

_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
            "cifar-10": "cifar10", "cifar_10": "cifar10"}


def dataset_names() -> list:
    """The registered dataset names, e.g. ``['digits', 'mnist', 'fashion-mnist', 'cifar10']``."""
    return list(DATASETS)


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (case-insensitive; ``fashion_mnist`` and ``CIFAR-10``
    spellings accepted)."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}: choose one of "
                           f"{', '.join(DATASETS)}")
    return key


def get_info(name: str) -> DatasetInfo:
    """The ``DatasetInfo`` of dataset ``name``."""
    return DATASETS[canonical_name(name)]


def _idx_candidates(name: str, data_dir) -> list:
    if data_dir is None:
        return [SYSTEM_FASHION_MNIST] if name == "fashion-mnist" else []
    data_dir = os.fspath(data_dir)
    torchvision_name = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[name]
    return [data_dir, os.path.join(data_dir, name),
            os.path.join(data_dir, torchvision_name, "raw")]


def locate(name: str, data_dir=None) -> str | None:
    """Where dataset ``name`` would be read from, or None when it is not available.

    Args:
        name: a registered dataset name.
        data_dir: the folder given with ``--data-dir`` (None: the default places only).

    Returns:
        A folder, or for ``digits`` a description of the bundled copy.
    """
    name = canonical_name(name)
    if name == "digits":
        if importlib.util.find_spec("sklearn") is None:
            return None
        return "bundled with scikit-learn"
    if name == "cifar10":
        return None if data_dir is None else cifar.find_folder(data_dir)
    for folder in _idx_candidates(name, data_dir):
        if os.path.isdir(folder) and idx.has_files(folder):
            return folder
    return None


def available(name: str, data_dir=None) -> bool:
    """Whether ``load_dataset(name, data_dir)`` will find its files."""
    return locate(name, data_dir) is not None


def _missing_idx(name: str, data_dir) -> DatasetError:
    info = DATASETS[name]
    files = ", ".join(f"{n}.gz" for pair in idx.FILES.values() for n in pair)
    fetch = f"download the four IDX files ({files}) from {info.source}"
    if data_dir is None:
        if name == "fashion-mnist":
            return DatasetError(f"fashion-mnist not found in {SYSTEM_FASHION_MNIST}: install "
                                "it with `apt-get install dataset-fashion-mnist`, or "
                                f"{fetch} and pass --data-dir DIR", SYSTEM_FASHION_MNIST)
        return DatasetError(f"{name}: no data folder given: {fetch} into a folder DIR and "
                            "pass --data-dir DIR")
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        return DatasetError(f"{data_dir}: no such folder (given as the {name} data folder): "
                            f"{fetch} into it, or pass the folder that holds them", data_dir)
    searched = " or ".join(_idx_candidates(name, data_dir))
    also = ""
    if name == "fashion-mnist" and idx.has_files(SYSTEM_FASHION_MNIST):
        also = f" (or omit --data-dir to use {SYSTEM_FASHION_MNIST})"
    return DatasetError(f"{name}: the four IDX files are not all in {searched}: {fetch} and "
                        f"pass --data-dir DIR{also}", data_dir)


def _file_as_folder(name: str, data_dir: str) -> DatasetError:
    if data_dir.endswith((".tar.gz", ".tgz")):
        todo = "extract it with `tar xzf` and pass the folder it makes"
    else:
        todo = f"pass the folder that holds the {name} files"
    return DatasetError(f"{data_dir}: is a file, not a folder (given as the {name} data "
                        f"folder): {todo}", data_dir)


def load_arrays(name: str, data_dir=None, split: str = "train") -> tuple:
    """``(images, labels)`` of one split: float32 ``(N, C, H, W)`` in ``[0, 1]`` and int64
    ``(N,)``; see ``load_dataset``."""
    name = canonical_name(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name == "digits":
        return digits.load_digits(split)
    if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise _file_as_folder(name, os.fspath(data_dir))
    if name == "cifar10":
        if data_dir is None:
            raise DatasetError(f"cifar10: no data folder given: download {cifar.URL}, "
                               "extract it with `tar xzf` and pass --data-dir DIR")
        return cifar.load_cifar10(data_dir, split)
    folder = locate(name, data_dir)
    if folder is None:
        candidates = [f for f in _idx_candidates(name, data_dir) if os.path.isdir(f)]
        if candidates and any(idx.find_file(candidates[0], n) for n in idx.FILES[split]):
            folder = candidates[0]  # partly there: let the reader name the missing file
        else:
            raise _missing_idx(name, data_dir)
    hint = f": download it from {DATASETS[name].source} and pass --data-dir DIR"
    return idx.load_idx_split(folder, split, DATASETS[name].num_classes, hint)


def load_dataset(name: str, data_dir=None, split: str = "train") -> TensorDataset:
    """One split of a dataset as a ``TensorDataset`` of (images, labels).

    Args:
        name: ``"digits"``, ``"mnist"``, ``"fashion-mnist"`` or ``"cifar10"``.
        data_dir: the folder holding the files (not needed for ``digits``, nor for
            ``fashion-mnist`` when Debian's package is installed).
        split: ``"train"`` or ``"test"``.

    Returns:
        A ``TensorDataset`` of float32 images ``(N, C, H, W)`` in ``[0, 1]`` and int64
        labels ``(N,)``, with ``.info`` set to the dataset's ``DatasetInfo``.

    Raises:
        DatasetError: unknown name, or files missing or corrupt (the message names the
            file, what is wrong and what to do).
    """
    images, labels = load_arrays(name, data_dir, split)
    info = get_info(name)
    if images.shape[1:] != info.input_shape:
        raise DatasetError(f"{name} {split} images have shape {images.shape[1:]}, expected "
                           f"{info.input_shape}: the files are not {name}")
    dataset = TensorDataset(images, labels)
    dataset.info = info
    return dataset


def get_dataset(name: str, data_dir=None) -> tuple:
    """``(train, test)`` ``TensorDataset``s of dataset ``name``; see ``load_dataset``."""
    return load_dataset(name, data_dir, "train"), load_dataset(name, data_dir, "test")
