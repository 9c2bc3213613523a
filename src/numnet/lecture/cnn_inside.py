"""Inside a trained CNN: the first layer's filters, the feature maps, the class scores.

The "How does it work?" slides, regenerated: LeNet-5 (``numnet.models.lenet5``: conv 6@5x5
- act - max pool 2 - conv 16@5x5 - act - max pool 2 - fc 120 - fc 84 - fc 10) is trained
briefly (SGD with momentum, cross entropy; the bundled 8x8 digits by default, any dataset
by name), then one test image goes through it layer by layer:

- the 6 first-layer filters (5x5 weights: the local patterns the layer looks for);
- the feature maps after each convolution (+ activation) and each pooling: every filter's
  response at every position (weight sharing), then subsampled;
- the fully connected head's class scores (logits) and their softmax.

Example:
    >>> r = compute(epochs=1, train_size=300)
    >>> [(name, shape) for name, shape in r.shapes][:3]
    [('input', (1, 8, 8)), ('conv1', (6, 8, 8)), ('act1', (6, 8, 8))]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

import numnet
import numnet.nn.functional as F
from numnet.lecture import _common, _training
from numnet.lecture._common import LectureRun
from numnet.nn.activations import get_activation


@dataclass
class CNNInsideResult:
    """A briefly trained CNN and one image's trip through it.

    Attributes:
        dataset, activation, epochs, lr: the settings.
        train_accuracy, val_accuracy: per epoch.
        test_accuracy: after training.
        shapes: ``(layer name, output shape of one image)`` in order, from the input.
        filters: the first conv layer's weights (K, C, F, F).
        maps: layer name -> that layer's output for the image (conv and pool layers and
            the activations after the convs), each (C, H, W).
        image, label: the image (C, H, W, normalised) and its true class.
        scores, probabilities: the head's logits and their softmax (num_classes,).
        predicted: the arg max class. ``classes``: class names.
    """

    dataset: str
    activation: str
    epochs: int
    lr: float
    train_accuracy: list
    val_accuracy: list
    test_accuracy: float
    shapes: list
    filters: numpy.ndarray
    maps: dict
    image: numpy.ndarray
    label: int
    scores: numpy.ndarray
    probabilities: numpy.ndarray
    predicted: int
    classes: tuple


def trace(model, image: numpy.ndarray) -> tuple:
    """Run one image through the model's layers in order; ``(shapes, outputs)``.

    ``outputs`` maps each layer name to its output for the image (batch dim removed).
    """
    shapes = [("input", tuple(image.shape))]
    outputs = {}
    with numnet.no_grad():
        x = numnet.tensor(image[None])
        for name, layer in model.named_children():
            x = layer(x)
            outputs[name] = x.data[0].copy()
            shapes.append((name, tuple(x.shape[1:])))
    return shapes, outputs


def compute(dataset: str = "digits", data_dir=None, epochs: int = 12, lr: float = 0.05,
            activation: str = "relu", train_size=None, seed: int = 0, image_index: int = 0,
            batch_size: int = 32, progress: bool = False) -> CNNInsideResult:
    """Train LeNet-5 briefly and trace one test image through it.

    Args:
        dataset: a ``numnet.data`` dataset name (digits, mnist, fashion-mnist, cifar10; a
            colour dataset gets the CIFAR CNN instead).
        data_dir: where its files are.
        epochs, lr: SGD (momentum 0.9) settings.
        activation: after each conv and hidden fc layer.
        train_size: train on a random subset of this many images (None: all).
        batch_size: images per SGD step.
        seed: weights, subset and data order.
        image_index: which test image to trace.

    Returns:
        A ``CNNInsideResult``.
    """
    get_activation(activation)  # an unknown name fails here, before the data is loaded
    data = _training.load(dataset, data_dir, train_size=train_size, seed=seed)
    model = _training.build_cnn(data.info, activation, seed)
    trainer, history = _training.fit(model, data, lr, epochs, batch_size, seed=seed,
                                     progress=progress, validate=True)
    model.eval()
    test_accuracy = trainer.evaluate(data.loader("test", 256, shuffle=False))["accuracy"]
    if not 0 <= image_index < len(data.y_test):
        raise ValueError(f"cnn-inside: image_index {image_index} is outside the "
                         f"{len(data.y_test)} test images")
    image = data.x_test[image_index]
    shapes, outputs = trace(model, image)
    names = list(outputs)
    scores = outputs[names[-1]]
    probabilities = F.softmax(numnet.tensor(scores[None]), dim=1).data[0]
    maps = {name: out for name, out in outputs.items() if out.ndim == 3}
    first_conv = next(layer for _, layer in model.named_children() if hasattr(layer, "kernel_size"))
    return CNNInsideResult(
        data.name, activation, epochs, lr, [h["train_accuracy"] for h in history],
        [h["val_accuracy"] for h in history], float(test_accuracy), shapes,
        first_conv.weight.data.copy(), maps, image, int(data.y_test[image_index]), scores,
        probabilities, int(numpy.argmax(scores)), tuple(data.info.classes))


def format_table(r: CNNInsideResult) -> str:
    """Training progress, the layer shapes, and the image's class scores."""
    epochs = [[str(e + 1), f"{r.train_accuracy[e]:.4f}", f"{r.val_accuracy[e]:.4f}"]
              for e in range(len(r.train_accuracy))]
    shapes = [[name, " x ".join(str(s) for s in shape)] for name, shape in r.shapes]
    order = numpy.argsort(r.scores)[::-1]
    scores = [[("* " if c == r.label else "  ") + r.classes[c], f"{r.scores[c]:+.3f}",
               f"{r.probabilities[c]:.4f}"] for c in order]
    return "\n".join([
        f"{'LeNet-5' if r.filters.shape[1] == 1 else 'CIFAR CNN'} ({r.activation}) on "
        f"{r.dataset}: {r.epochs} epochs of SGD (lr {r.lr:g}, momentum 0.9)", "",
        _common.table(["epoch", "train acc", "test acc"], epochs), "",
        f"test accuracy {r.test_accuracy:.4f}", "",
        "One test image through the network (output shape per layer, C x H x W):",
        _common.table(["layer", "output"], shapes), "",
        f"Class scores of the image (true class marked *; predicted "
        f"{r.classes[r.predicted]}):",
        _common.table(["class", "score", "softmax"], scores)])


def _image_panel(ax, array: numpy.ndarray, title: str, fontsize: int = 7) -> None:
    if array.ndim == 3 and array.shape[0] == 3:
        low, high = array.min(), array.max()
        ax.imshow(((array - low) / (high - low + 1e-12)).transpose(1, 2, 0))
    else:
        ax.imshow(array if array.ndim == 2 else array.mean(axis=0), cmap="gray")
    ax.set_title(title, fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])


def write_figures(r: CNNInsideResult, out, run: LectureRun) -> None:
    """Filters, feature maps, and class scores: three PNGs."""
    k = r.filters.shape[0]
    figure, axes = _common.new_figure(1.6 * k, 2.0, 1, k)
    for i in range(k):
        _image_panel(axes[0, i], r.filters[i], f"filter {i + 1}", 9)
    figure.suptitle("First-layer filters (conv1 weights)", fontsize=10)
    figure.tight_layout()
    _common.save_figure(figure, out, "cnn_filters.png", run)

    layers = [name for name in r.maps if not name.startswith("act")]
    layers = [("input", r.image[None] if r.image.ndim == 2 else r.image)] + [
        (name, r.maps[_shown(name, r.maps)]) for name in layers]
    cols = max(m.shape[0] for _, m in layers[1:])
    figure, axes = _common.new_figure(1.0 * cols + 0.5, 1.2 * len(layers), len(layers), cols)
    for row, (name, maps) in enumerate(layers):
        if name == "input":
            _image_panel(axes[row, 0], maps, f"input ({r.classes[r.label]})")
            count = 1
        else:
            count = maps.shape[0]
            for c in range(count):
                label = _shown(name, r.maps)
                _image_panel(axes[row, c], maps[c], f"{label} #{c + 1}" if c == 0 else f"#{c + 1}")
        for c in range(count, cols):
            axes[row, c].set_axis_off()
    figure.suptitle("Feature maps of one image after each convolution (+ activation) and "
                    "pooling", fontsize=10)
    figure.tight_layout()
    _common.save_figure(figure, out, "cnn_feature_maps.png", run)

    figure, axes = _common.new_figure(10, 3.5, 1, 2)
    positions = numpy.arange(len(r.classes))
    colors = ["C2" if c == r.label else "C0" for c in positions]
    axes[0, 0].bar(positions, r.scores, color=colors)
    axes[0, 0].set_title("class scores (logits of the last fc layer)")
    axes[0, 1].bar(positions, r.probabilities, color=colors)
    axes[0, 1].set_title("softmax")
    for ax in axes[0]:
        ax.set_xticks(positions, [str(c)[:8] for c in r.classes], rotation=45, fontsize=7)
    figure.suptitle(f"true class {r.classes[r.label]} (green), predicted "
                    f"{r.classes[r.predicted]}", fontsize=10)
    figure.tight_layout()
    _common.save_figure(figure, out, "cnn_scores.png", run)


def _shown(name: str, maps: dict) -> str:
    """A conv layer is shown after its activation (``conv1`` -> ``act1``) when there is one."""
    if name.startswith("conv"):
        activation = "act" + name[len("conv"):]
        if activation in maps:
            return activation
    return name


def run(out=None, quick: bool = False, dataset=None, data_dir=None, epochs=None,
        activation=None, lr=None, seed=None, progress: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the CNN inspection.

    ``quick``: 3 epochs (on at most 2000 training images for a dataset larger than digits).
    """
    result = compute(dataset=dataset or "digits", data_dir=data_dir,
                     epochs=epochs or (3 if quick else 12), lr=lr or 0.05,
                     activation=activation or "relu",
                     train_size=2000 if quick else None, seed=seed or 0, progress=progress)
    return _common.finish(result, format_table, write_figures, out)
