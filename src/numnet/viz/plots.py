"""Training plots with matplotlib (imported lazily, Agg backend): learning curves,
confusion matrix, and the first convolution layer's filters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy


def pyplot():
    """``matplotlib.pyplot`` with the non-interactive Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, tight: bool = True, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG atomically (``numnet.serialization.atomic_write``) and close it.

    ``tight=False`` keeps the figure's own size: exactly ``dpi * figsize`` pixels.
    """
    from numnet.serialization import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi,
                                                 bbox_inches="tight" if tight else None))
    finally:
        pyplot().close(fig)
    return path


def plot_curves(history: list[dict], path, metric: str = "loss", title: str = "loss",
                ylabel: str = "cross entropy", accuracy_title: str = "accuracy",
                baseline: float | None = None, baseline_label: str = "baseline") -> Path:
    """``metric`` (``train_<metric>`` / ``val_<metric>``, default the loss) and accuracy per
    epoch, training and validation, side by side; ``baseline``, when given, as a dashed
    line beside the metric (the text task's unigram bits per character)."""
    plt = pyplot()
    epochs = [row["epoch"] for row in history]
    fig, (ax_metric, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, ax in ((f"train_{metric}", "train", ax_metric),
                           (f"val_{metric}", "validation", ax_metric),
                           ("train_accuracy", "train", ax_acc),
                           ("val_accuracy", "validation", ax_acc)):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax.plot(epochs, [numpy.nan if v is None else v for v in values], marker="o",
                    label=label)
    if baseline is not None:
        ax_metric.axhline(baseline, color="gray", linestyle="--", label=baseline_label)
    ax_metric.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax_acc.set(title=accuracy_title, xlabel="epoch", ylabel="accuracy")
    for ax in (ax_metric, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(fig, path)


def plot_confusion(confusion, path, class_names=None) -> Path:
    """The confusion matrix as a heat map, counts written in the cells."""
    plt = pyplot()
    confusion = numpy.asarray(confusion)
    n = confusion.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(n)]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    image = ax.imshow(confusion, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    threshold = confusion.max() / 2 if confusion.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if confusion[i, j] > threshold else "black")
    return save_figure(fig, path)


def plot_filters(weight, path, title="first convolution layer's filters") -> Path:
    """Each filter (K, C, F, F) as an F x F image (channels averaged, or RGB when C == 3)."""
    plt = pyplot()
    weight = numpy.asarray(weight, dtype=numpy.float64)
    count = weight.shape[0]
    columns = min(count, 8)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.3 * rows + 0.4),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= count:
            continue
        filt = weight[k]
        if filt.shape[0] == 3:
            low, high = filt.min(), filt.max()
            ax.imshow(numpy.transpose((filt - low) / (high - low + 1e-12), (1, 2, 0)))
        else:
            ax.imshow(filt.mean(axis=0), cmap="gray")
        ax.set_title(str(k), fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)
