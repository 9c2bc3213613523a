"""ReLU vs tanh: how fast does the same CNN reach a training-error threshold?

The lecture cites Krizhevsky, Sutskever & Hinton (2012, Figure 1): a four-layer CNN with
ReLUs reaches 25% training error on CIFAR-10 six times faster than the same network with
tanh units. This experiment repeats the comparison with numnet:

- the same network for both activations (LeNet-5 for grey images, ``cifar_cnn`` for colour
  ones), the same initial weights (same seed; the activation has no parameters), the same
  data order;
- each activation with its own best learning rate from a small sweep (SGD, momentum 0.9,
  ``sweep_epochs`` on a subset), as Krizhevsky et al. picked each network's rate;
- training error measured during each epoch (as in their Figure 1), and the epochs and
  seconds each activation needs to reach the threshold.

The dataset is CIFAR-10 when ``data_dir`` holds it, else Fashion-MNIST (``data_dir`` or
Debian's ``dataset-fashion-mnist``), else the bundled digits. The threshold is 25% for
CIFAR-10 (the paper's); for the other datasets it is a level the CNN passes after a few
epochs (``THRESHOLDS``), stated in the output. The measured ratio is reported as it comes
out, whatever it is: the factor six is a claim about one network and dataset, and a
small network on easy data may show little or no difference.

Example:
    >>> r = compute(dataset="digits", epochs=1, lrs=(0.05,), train_size=300, sweep_size=100,
    ...             threshold=0.99)
    >>> sorted(r.runs), r.threshold
    (['relu', 'tanh'], 0.99)
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy

from numnet import optim
from numnet.lecture import _common, _training
from numnet.lecture._common import LectureRun
from numnet.train import Trainer, TrainingDiverged

ACTIVATIONS = ("relu", "tanh")
LRS = (0.01, 0.03, 0.1)

THRESHOLDS = {
    "cifar10": (0.25, "Krizhevsky et al. (2012)'s threshold"),
    "fashion-mnist": (0.13, "LeNet-5 passes it after a few epochs on a 12,000-image subset, "
                            "where the curves start to flatten"),
    "mnist": (0.03, "LeNet-5 passes it within a few epochs"),
    "digits": (0.05, "LeNet-5 on the 8x8 digits passes it after about ten epochs"),
}
"""Training-error threshold per dataset, with the reason."""

SETTINGS = {"cifar10": (10000, 64, 15), "fashion-mnist": (12000, 64, 10),
            "mnist": (12000, 64, 10), "digits": (None, 32, 30)}
"""Per dataset: (training images, a random subset so that a run takes minutes (None: all);
batch size; most epochs)."""


@dataclass
class ActivationRun:
    """One activation's sweep and training run.

    Attributes:
        activation: 'relu' or 'tanh'.
        sweep: lr -> ``(training error, training loss)`` of the sweep's last epoch
            (``inf`` when training diverged); the lowest loss picks the rate.
        lr: the chosen learning rate.
        train_error: training error per epoch (measured during the epoch).
        seconds: cumulative training seconds at the end of each epoch.
        epochs_to_threshold: the first epoch whose training error is at most the
            threshold (None: not reached).
        seconds_to_threshold: cumulative seconds at the end of that epoch (None: not
            reached).
        crossing: the fractional epoch where the training-error curve (linear between
            the epoch ends, from 1.0 at epoch 0) crosses the threshold (None: not reached).
    """

    activation: str
    sweep: dict
    lr: float
    train_error: list
    seconds: list
    epochs_to_threshold: int | None
    seconds_to_threshold: float | None
    crossing: float | None = None


def crossing_epoch(errors, threshold: float) -> float | None:
    """Where the curve through ``(0, 1.0), (1, e_1), (2, e_2), ...`` first reaches
    ``threshold``, by linear interpolation between its points.

    Example:
        >>> crossing_epoch([0.5, 0.3, 0.1], 0.2)
        2.5
    """
    previous = 1.0
    for epoch, error in enumerate(errors, start=1):
        if error <= threshold:
            step = previous - error
            return epoch - 1 + ((previous - threshold) / step if step > 0 else 1.0)
        previous = error
    return None


@dataclass
class ReluVsTanhResult:
    """Both runs and the measured ratios (tanh / ReLU; > 1 means ReLU is faster):
    ``epoch_ratio`` in whole epochs, ``crossing_ratio`` in interpolated epochs,
    ``seconds_ratio`` in training seconds."""

    dataset: str
    model: str
    train_size: int
    threshold: float
    threshold_reason: str
    max_epochs: int
    batch_size: int
    runs: dict
    epoch_ratio: float | None
    seconds_ratio: float | None
    crossing_ratio: float | None = None


def _after(data, activation: str, lr: float, epochs: int, batch_size: int,
           seed: int) -> tuple:
    model = _training.build_cnn(data.info, activation, seed)
    try:
        _, history = _training.fit(model, data, lr, epochs, batch_size, seed=seed)
    except TrainingDiverged:
        return float("inf"), float("inf")
    loss = history[-1]["train_loss"]
    if not numpy.isfinite(loss):
        return float("inf"), float("inf")
    return 1.0 - history[-1]["train_accuracy"], float(loss)


def sweep(data, activation: str, lrs, epochs: int, batch_size: int, seed: int,
          log=None) -> dict:
    """lr -> (training error, training loss) of the last of ``epochs`` epochs."""
    results = {}
    for lr in lrs:
        start = time.perf_counter()
        results[lr] = _after(data, activation, lr, epochs, batch_size, seed)
        if log is not None:
            log(f"  sweep {activation} lr {lr:g}: training error {results[lr][0]:.4f}, "
                f"loss {results[lr][1]:.4f} ({time.perf_counter() - start:.1f} s)")
    return results


def train_until(data, activation: str, lr: float, max_epochs: int, threshold: float,
                batch_size: int, seed: int, stop_at_threshold: bool, progress: bool = False,
                log=None) -> ActivationRun:
    """Train epoch by epoch; stop at ``max_epochs`` (or at the threshold, if asked)."""
    model = _training.build_cnn(data.info, activation, seed)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr, momentum=0.9),
                      progress=progress, num_classes=data.info.num_classes)
    loader = data.loader("train", batch_size, seed=seed)
    errors, seconds = [], []
    reached = None
    total = 0.0
    for epoch in range(1, max_epochs + 1):
        try:
            history = trainer.fit(loader, epochs=epoch)
        except TrainingDiverged:
            break
        record = history[-1]
        total += record["seconds"]
        errors.append(1.0 - record["train_accuracy"])
        seconds.append(total)
        if log is not None:
            log(f"  {activation} lr {lr:g} epoch {epoch}: training error {errors[-1]:.4f} "
                f"({total:.1f} s)")
        if reached is None and errors[-1] <= threshold:
            reached = epoch
            if stop_at_threshold:
                break
    return ActivationRun(activation, {}, lr, errors, seconds, reached,
                         None if reached is None else seconds[reached - 1],
                         crossing_epoch(errors, threshold))


def compute(dataset=None, data_dir=None, epochs=None, lrs=LRS, threshold=None,
            train_size="default", sweep_size: int = 4000, sweep_epochs: int = 2,
            batch_size=None, seed: int = 0, stop_at_threshold: bool = False,
            progress: bool = False, log=None) -> ReluVsTanhResult:
    """Sweep the learning rate for each activation, then train both and compare.

    Args:
        dataset: a dataset name, or None to choose (CIFAR-10 / Fashion-MNIST / digits).
        data_dir: where the dataset's files are.
        epochs: the most epochs each activation trains (default: ``SETTINGS``).
        lrs: learning rates of the sweep.
        threshold: training error to reach (default: ``THRESHOLDS`` of the dataset).
        train_size: training images (a random subset); 'default': ``SETTINGS``.
        sweep_size: training images of the sweep runs; sweep_epochs: their length.
        batch_size: images per step (default: ``SETTINGS``). seed: weights, subsets and
            data order.
        stop_at_threshold: stop an activation's run once it reaches the threshold.
        progress: show the trainer's progress bars; log: a callable for progress lines.

    Returns:
        A ``ReluVsTanhResult``.
    """
    name = _training.pick_dataset(dataset, data_dir)
    default_size, default_batch, default_epochs = SETTINGS.get(name, (None, 64, 10))
    if train_size == "default":
        train_size = default_size
    batch_size = batch_size or default_batch
    epochs = epochs or default_epochs
    default_threshold, reason = THRESHOLDS.get(name, (0.1, "a generic level"))
    if threshold is None:
        threshold = default_threshold
    else:
        reason = "given by the caller"
    data = _training.load(name, data_dir, train_size=train_size, test_size=1, seed=seed)
    sweep_data = _training.load(name, data_dir, train_size=min(sweep_size, len(data.y_train)),
                                test_size=1, seed=seed + 1)
    runs = {}
    for activation in ACTIVATIONS:
        errors = sweep(sweep_data, activation, lrs, sweep_epochs, batch_size, seed, log)
        best = min(errors, key=lambda lr: (errors[lr][1], lr))
        run = train_until(data, activation, best, epochs, threshold, batch_size, seed,
                          stop_at_threshold, progress, log)
        run.sweep = errors
        runs[activation] = run
    relu, tanh = runs["relu"], runs["tanh"]
    epoch_ratio = seconds_ratio = crossing_ratio = None
    if relu.epochs_to_threshold and tanh.epochs_to_threshold:
        epoch_ratio = tanh.epochs_to_threshold / relu.epochs_to_threshold
        seconds_ratio = tanh.seconds_to_threshold / relu.seconds_to_threshold
        crossing_ratio = tanh.crossing / relu.crossing
    model = "LeNet-5" if data.info.input_shape[0] == 1 else "cifar_cnn"
    return ReluVsTanhResult(name, model, len(data.y_train), threshold, reason, epochs,
                            batch_size, runs, epoch_ratio, seconds_ratio, crossing_ratio)


def _reached(run: ActivationRun, threshold: float) -> str:
    if run.epochs_to_threshold is None:
        return (f"{run.activation}: does not reach {threshold:.0%} within "
                f"{len(run.train_error)} epochs")
    per_epoch = numpy.median(numpy.diff([0.0] + list(run.seconds)))
    return (f"{run.activation}: reaches {threshold:.0%} at epoch {run.epochs_to_threshold} "
            f"(interpolated {run.crossing:.2f}), after {run.seconds_to_threshold:.1f} s "
            f"(median {per_epoch:.1f} s per epoch)")


def format_table(r: ReluVsTanhResult) -> str:
    """Sweep, per-epoch training error, and the ratios."""
    lines = [f"{r.model} on {r.dataset} ({r.train_size:,} training images, batch "
             f"{r.batch_size}, SGD momentum 0.9); same initial weights and data order",
             f"threshold: {r.threshold:.0%} training error ({r.threshold_reason})", "",
             "Learning-rate sweep (training error / loss of the sweep's last epoch; the "
             "lowest loss wins):"]
    lrs = sorted({lr for run in r.runs.values() for lr in run.sweep})
    rows = [[a] + [f"{run.sweep[lr][0]:.3f} / {run.sweep[lr][1]:.3f}" if lr in run.sweep
                   else "-" for lr in lrs] + [f"{run.lr:g}"]
            for a, run in r.runs.items()]
    lines.append(_common.table(["activation"] + [f"lr {lr:g}" for lr in lrs] + ["chosen"],
                               rows))
    lines += ["", "Training error per epoch (cumulative seconds):"]
    longest = max(len(run.train_error) for run in r.runs.values())
    rows = []
    for e in range(longest):
        row = [str(e + 1)]
        for run in r.runs.values():
            if e < len(run.train_error):
                row.append(f"{run.train_error[e]:.4f} ({run.seconds[e]:.1f} s)")
            else:
                row.append("-")
        rows.append(row)
    lines.append(_common.table(["epoch"] + list(r.runs), rows))
    lines.append("")
    for run in r.runs.values():
        lines.append(_reached(run, r.threshold))
    if r.epoch_ratio is None:
        lines.append("ratio: not measurable (an activation did not reach the threshold)")
    else:
        lines.append(f"measured ratio tanh / ReLU: {r.epoch_ratio:.2f} in epochs "
                     f"({r.crossing_ratio:.2f} interpolated), {r.seconds_ratio:.2f} in seconds "
                     "(Krizhevsky et al. 2012: about 6 on CIFAR-10)")
        lines.append("  (seconds depend on the machine and on what else runs on it; epochs "
                     "do not)")
    return "\n".join(lines)


def write_figures(r: ReluVsTanhResult, out, run: LectureRun) -> None:
    """Training error per epoch and per second for both activations."""
    figure, axes = _common.new_figure(11, 4, 1, 2)
    for name, a in r.runs.items():
        style = "-" if name == "relu" else "--"
        epochs = numpy.arange(1, len(a.train_error) + 1)
        axes[0, 0].plot(epochs, a.train_error, style, marker="o", label=f"{name} (lr {a.lr:g})")
        axes[0, 1].plot(a.seconds, a.train_error, style, marker="o", label=name)
    for ax, xlabel in ((axes[0, 0], "epoch"), (axes[0, 1], "seconds")):
        ax.axhline(r.threshold, color="black", linewidth=1, linestyle=":",
                   label=f"threshold {r.threshold:.0%}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("training error")
        ax.legend(fontsize=8)
    axes[0, 0].set_title(f"{r.model} on {r.dataset}: training error per epoch")
    axes[0, 1].set_title("against training time")
    figure.tight_layout()
    _common.save_figure(figure, out, "relu_vs_tanh.png", run)


def run(out=None, quick: bool = False, dataset=None, data_dir=None, epochs=None, seed=None,
        progress: bool = False) -> LectureRun:
    """Compute, format and (when ``out`` is given) draw the ReLU vs tanh comparison.

    ``quick``: the digits (unless a dataset is named), 3 epochs, 2 sweep rates on 400 images,
    a 50% threshold: it checks the pipeline, it does not measure the ratio.
    """
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    if quick:
        result = compute(dataset=dataset or "digits", data_dir=data_dir, epochs=epochs or 3,
                         lrs=(0.03, 0.1), threshold=0.5,
                         train_size=1000 if dataset not in (None, "digits") else None,
                         sweep_size=400, sweep_epochs=1, batch_size=32, seed=seed or 0,
                         log=log)
    else:
        result = compute(dataset=dataset, data_dir=data_dir, epochs=epochs, seed=seed or 0,
                         progress=progress, log=log)
    return _common.finish(result, format_table, write_figures, out)
