"""scikit-learn's bundled 8x8 handwritten digits (1797 images, works offline).

Pixels are counts ``0..16`` (a 4x4 block of a 32x32 bitmap); they are scaled to ``[0, 1]``
by ``x / 16``. The train/test split is stratified and fixed: 1437 / 360 images with
``sklearn.model_selection.train_test_split(test_size=360, stratify=labels,
random_state=0)``, so every run and every machine sees the same split.
"""

from __future__ import annotations

import numpy

TEST_SIZE = 360
SPLIT_SEED = 0


def load_digits(split: str = "train") -> tuple:
    """The digits of one split.

    Args:
        split: ``"train"`` (1437 images) or ``"test"`` (360).

    Returns:
        ``(images, labels)``: float32 ``(N, 1, 8, 8)`` in ``[0, 1]``, int64 ``(N,)``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    from sklearn.datasets import load_digits as sklearn_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_load_digits()
    labels = bunch.target.astype(numpy.int64)
    train, test = train_test_split(numpy.arange(labels.shape[0]), test_size=TEST_SIZE,
                                   stratify=labels, random_state=SPLIT_SEED)
    indices = numpy.sort(train if split == "train" else test)
    images = numpy.divide(bunch.images[indices], 16.0).astype(numpy.float32)
    return images[:, None], labels[indices]
