"""The training loop: progress, metrics, history, early stopping, checkpoints and resume.

``Trainer.fit`` runs epochs of mini-batch gradient descent (``w <- w - eta dE/dw`` through
the chosen optimizer) with a tqdm progress bar per epoch (loss, accuracy, images/s),
evaluates on the validation data after every epoch, and, when given a run folder, keeps
there after every epoch: ``history.json`` / ``history.csv``, ``last.npz`` (a resumable
checkpoint) and ``best.npz`` (the best model so far by the monitored metric); at the end
``model.npz``: the trained model (the final weights, or the best ones when early stopping
ended the run). ``Trainer.test`` then evaluates it on the test data and records the result
in ``history.json``.

Data parallelism: under a process group of K ranks (``numnet.distributed``, e.g. started by
``mpirun -n K``), give every rank the model wrapped in
``nn.parallel.DistributedDataParallel``, its share of the training data (a loader with a
``DistributedSampler``: the Trainer calls its ``set_epoch`` before every epoch) and its
shard of the evaluation data (e.g. ``Subset(dataset, range(rank, len(dataset), K))``). The
loss of every step, the epoch's metrics and the evaluations are then reduced over the
ranks, so every rank sees the global numbers and takes the same decisions (the best epoch,
early stopping, a NaN stop at the same step); only rank 0 shows progress and writes the
run folder, whose checkpoints hold the bare model's weights (no ``module.`` prefix).

Determinism: with the same seed, the same data and the same settings, two runs produce
bit-identical losses and weights; resuming from any epoch's checkpoint gives the same final
weights as an uninterrupted run (all randomness is drawn from generators whose states are
checkpointed).

Example:
    >>> import numnet, numnet.nn as nn
    >>> from numnet.data import DataLoader, TensorDataset
    >>> _ = numnet.manual_seed(0)
    >>> x = numnet.randn(64, 4); y = numnet.tensor((x.numpy()[:, 0] > 0).astype("int64"))
    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> trainer = Trainer(model, numnet.optim.SGD(model.parameters(), lr=0.5), progress=False)
    >>> history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=16, seed=0), epochs=3)
    >>> history[-1]["train_accuracy"] > 0.8
    True
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import sys
import time
from pathlib import Path

import numpy

from numnet import distributed as dist
from numnet import random as nn_random
from numnet import serialization
from numnet.autograd import no_grad
from numnet.nn import functional as F
from numnet.nn.parallel import DistributedDataParallel
from numnet.nn.utils import clip_grad_norm_
from numnet.tensor import Tensor

HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                  "seconds", "images_per_second")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the step and the first bad layer."""


def confusion_matrix(labels: numpy.ndarray, predictions: numpy.ndarray,
                     num_classes: int) -> numpy.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as class j."""
    index = labels.astype(numpy.int64) * num_classes + predictions.astype(numpy.int64)
    counts = numpy.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def metrics_from_confusion(confusion: numpy.ndarray) -> dict:
    """Accuracy (trace / total) and per-class accuracy (diagonal / row sums; NaN if absent)."""
    total = confusion.sum()
    support = confusion.sum(axis=1)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        per_class = numpy.diag(confusion) / support
    return {"accuracy": float(numpy.trace(confusion) / total) if total else float("nan"),
            "per_class_accuracy": [None if math.isnan(v) else float(v) for v in per_class]}


def _as_tensor(batch) -> Tensor:
    return batch if isinstance(batch, Tensor) else Tensor(numpy.asarray(batch), _raw=True)


class Trainer:
    """Fits a classifier with a loss, an optimizer and (optionally) a scheduler.

    Args:
        model: a ``numnet.nn.Module`` mapping a batch of inputs to class scores (N, C).
        optimizer: a ``numnet.optim`` optimizer over the model's parameters.
        loss_fn: ``loss_fn(scores, labels) -> scalar Tensor`` (default cross entropy).
        scheduler: an LR scheduler, stepped once per epoch (``scheduler_step='epoch'``) or
            once per batch (``'batch'``, e.g. OneCycleLR).
        clip_grad_norm: clip the global gradient norm to this value before each step.
        run_dir: folder for history, checkpoints and plots (nothing is written when None).
        monitor: the metric that picks the best model and drives early stopping
            (``val_accuracy``, ``val_loss``, ``train_loss``, ...; default ``val_accuracy``
            when there is validation data, else ``train_accuracy``). Losses are minimised,
            everything else maximised.
        patience: stop after this many epochs without improvement of ``monitor``.
        num_classes: classes for metrics (inferred from the scores when None).
        progress: show a tqdm progress bar per epoch.
        config: JSON-serialisable description of the run (model config, dataset, ...),
            stored in every checkpoint so ``numnet evaluate`` can rebuild the model.
    """

    def __init__(self, model, optimizer, loss_fn=F.cross_entropy, scheduler=None,
                 scheduler_step: str = "epoch", clip_grad_norm: float | None = None,
                 run_dir=None, monitor: str | None = None, patience: int | None = None,
                 num_classes: int | None = None, progress: bool = True,
                 config: dict | None = None):
        if scheduler_step not in ("epoch", "batch"):
            raise ValueError(f"scheduler_step must be 'epoch' or 'batch', got {scheduler_step!r}")
        self.model = model
        self.net = model.module if isinstance(model, DistributedDataParallel) else model
        self.world_size = dist.get_world_size() if dist.is_initialized() else 1
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.scheduler_step = scheduler_step
        self.clip_grad_norm = clip_grad_norm
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._writes = self.run_dir is not None and self.rank == 0
        self.monitor = monitor
        self.patience = patience
        self.num_classes = num_classes
        self.progress = progress and self.rank == 0
        self.config = dict(config or {})
        self.history: list[dict] = []
        self.epoch = 0
        self.global_step = 0
        self.best = None
        self.best_epoch = None
        self.epochs_without_improvement = 0
        self.stop_reason = None
        self.test_result = None
        self.wall_seconds = None
        self._step_in_epoch = 0
        self._best_weights = None

    # ------------------------------------------------------------------ one step
    def train_step(self, inputs: Tensor, labels: Tensor):
        """Forward, loss, backward, (clip), optimizer step. Returns (loss value, scores)."""
        scores = self.model(inputs)
        loss = self.loss_fn(scores, labels)
        value = float(loss.item())
        if self.world_size > 1:
            value, diverged = self._global_loss(value, labels.shape[0])
            if diverged:
                raise TrainingDiverged(self._divergence_message(value, inputs, diverged))
        elif not math.isfinite(value):
            raise TrainingDiverged(self._divergence_message(value, inputs))
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_step == "batch":
            self.scheduler.step()
        self.global_step += 1
        return value, scores

    def _global_loss(self, value: float, n: int) -> tuple:
        """(the global batch's mean loss, the ranks whose loss is not finite): one
        allreduce of ``[loss * n, n, one flag per rank]``."""
        flags = numpy.zeros(self.world_size)
        flags[self.rank] = not math.isfinite(value)
        totals = numpy.concatenate([[value * n if math.isfinite(value) else 0.0, n], flags])
        dist.all_reduce(Tensor(totals, _raw=True))
        diverged = [int(r) for r in numpy.flatnonzero(totals[2:])]
        return (float("nan") if diverged else totals[0] / totals[1]), diverged

    def _divergence_message(self, value: float, inputs: Tensor, ranks=()) -> str:
        which = (f"on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} of "
                 f"{self.world_size}")
        where = _first_nonfinite_layer(self.net, inputs)  # on every rank: SyncBatchNorm
        if ranks and self.rank not in ranks:
            where = f"{which} (the layer is named there)"
        elif ranks:
            where = f"{which}: {where}"
        return (f"loss became {value} at epoch {self.epoch + 1}, step {self.global_step + 1} "
                f"(batch {self._step_in_epoch + 1} of the epoch); {where}. Try a smaller "
                "learning rate, gradient clipping (--clip-grad), or check the input data.")

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, loader) -> dict:
        """Loss, accuracy, per-class accuracy and confusion matrix over ``loader``."""
        was_training = self.model.training
        self.model.eval()
        total_loss, count = 0.0, 0
        labels_all, predictions_all = [], []
        try:
            with no_grad():
                for inputs, labels in loader:
                    inputs, labels = _as_tensor(inputs), _as_tensor(labels)
                    scores = self.model(inputs)
                    n = labels.shape[0]
                    total_loss += float(self.loss_fn(scores, labels).item()) * n
                    count += n
                    labels_all.append(labels.data)
                    predictions_all.append(scores.data.argmax(axis=1))
        finally:
            self.model.train(was_training)
        empty = numpy.zeros(0, numpy.int64)
        labels_np = numpy.concatenate(labels_all) if labels_all else empty
        predictions = numpy.concatenate(predictions_all) if predictions_all else empty
        num_classes = self.num_classes
        if num_classes is None:
            num_classes = int(max(labels_np.max(initial=-1), predictions.max(initial=-1)) + 1)
            if self.world_size > 1:
                largest = Tensor(numpy.array([num_classes]), _raw=True)
                dist.all_reduce(largest, op=dist.ReduceOp.MAX)
                num_classes = int(largest.item())
        confusion = confusion_matrix(labels_np, predictions, num_classes)
        if self.world_size > 1:  # each rank evaluated its shard: add them up
            totals = Tensor(numpy.concatenate([[total_loss, count], confusion.reshape(-1)]),
                            _raw=True)
            dist.all_reduce(totals)
            total_loss, count = float(totals.data[0]), int(totals.data[1])
            confusion = totals.data[2:].reshape(confusion.shape).round().astype(numpy.int64)
        if count == 0:
            raise ValueError("evaluate: the loader yielded no samples")
        result = {"loss": total_loss / count, "confusion": confusion.tolist()}
        result.update(metrics_from_confusion(confusion))
        return result

    def test(self, loader, started: float | None = None) -> dict:
        """Evaluate on the test data after ``fit`` and record the result.

        The record (``evaluate``'s loss, accuracy, per-class accuracy and confusion matrix,
        with the epochs trained and the ``stop_reason``) is kept as ``test_result`` and,
        with a run folder, written into ``history.json`` as its ``test`` entry; given
        ``started`` (a ``time.perf_counter()`` reading at the start of the run), the seconds
        since then go there too as ``wall_seconds`` (kept as ``self.wall_seconds``).

        Returns:
            The record.
        """
        result = self.evaluate(loader)
        self.test_result = {"loss": result["loss"], "accuracy": result["accuracy"],
                            "per_class_accuracy": result["per_class_accuracy"],
                            "confusion": result["confusion"], "epochs": len(self.history),
                            "stop_reason": self.stop_reason}
        if started is not None:
            self.wall_seconds = time.perf_counter() - started
        if self._writes:
            self._write_history_json()
        return self.test_result

    # ------------------------------------------------------------------ the loop
    def fit(self, train_loader, val_loader=None, epochs: int = 10) -> list[dict]:
        """Train until ``epochs`` epochs are done in total (resumed runs count theirs).

        Returns the history: one dict per epoch with the keys of ``HISTORY_FIELDS``.
        When early stopping ends the run, the model gets the best weights back (like
        Keras' ``restore_best_weights``). Ctrl-C stops cleanly: the resumable checkpoint of
        the last completed epoch is kept in ``run_dir/last.npz`` and the run can go on with
        ``resume()``.
        """
        self.train_loader = train_loader
        if self.monitor is None:
            self.monitor = "val_accuracy" if val_loader is not None else "train_accuracy"
        if self._writes:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.epoch == 0:
                self.save_checkpoint(self.run_dir / "last.npz")
        self.stop_reason = None
        self.test_result = None
        self.wall_seconds = None
        try:
            while self.epoch < epochs and self.stop_reason is None:
                record = self._run_epoch(train_loader, val_loader, epochs)
                self.history.append(record)
                self.epoch += 1
                self._update_best(record)
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    self.scheduler.step()
                if self._writes:
                    self._write_history()
                    self.save_checkpoint(self.run_dir / "last.npz")
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            where = (f"; resume from {self.run_dir / 'last.npz'} (after epoch {self.epoch})"
                     if self.run_dir is not None else "")
            if self.rank == 0:
                print(f"\nInterrupted during epoch {self.epoch + 1}{where}.", file=sys.stderr)
            return self.history
        if self.stop_reason is not None and self.stop_reason.startswith("early stopping"):
            self._restore_best()
        if self._writes:
            self.save_checkpoint(self.run_dir / "model.npz")
        return self.history

    def _restore_best(self) -> None:
        best = self._best_weights
        if best is None and self.run_dir is not None and (self.run_dir / "best.npz").exists():
            best = serialization.load(self.run_dir / "best.npz")["model"]
        if best is not None:
            self.net.load_state_dict(best)

    def _run_epoch(self, train_loader, val_loader, epochs: int) -> dict:
        self.model.train()
        lr = float(self.optimizer.param_groups[0]["lr"])
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(train_loader), desc=f"epoch {self.epoch + 1}/{epochs}",
                       unit="batch", leave=True, file=sys.stderr, dynamic_ncols=True)
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # a DistributedSampler: this epoch's order
            sampler.set_epoch(self.epoch)
        start = time.perf_counter()
        total_loss, correct, seen, seen_here = 0.0, 0, 0, 0
        self._step_in_epoch = 0
        try:
            for self._step_in_epoch, (inputs, labels) in enumerate(train_loader):
                inputs, labels = _as_tensor(inputs), _as_tensor(labels)
                value, scores = self.train_step(inputs, labels)
                n = labels.shape[0] * self.world_size  # value is the global batch's loss
                total_loss += value * n
                correct += int((scores.data.argmax(axis=1) == labels.data).sum())
                seen += n
                seen_here += labels.shape[0]
                if bar is not None:
                    rate = seen / max(time.perf_counter() - start, 1e-9)
                    bar.set_postfix(loss=f"{total_loss / seen:.4f}",
                                    acc=f"{correct / seen_here:.3f}", img_s=f"{rate:.0f}",
                                    refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        if self.world_size > 1:
            correct = self._global_count(correct)
        seconds = time.perf_counter() - start
        record = {"epoch": self.epoch + 1, "lr": lr,
                  "train_loss": total_loss / max(seen, 1),
                  "train_accuracy": correct / max(seen, 1),
                  "val_loss": None, "val_accuracy": None,
                  "seconds": seconds, "images_per_second": seen / max(seconds, 1e-9)}
        if val_loader is not None:
            result = self.evaluate(val_loader)
            record["val_loss"] = result["loss"]
            record["val_accuracy"] = result["accuracy"]
        if self.progress:
            val = ("" if record["val_loss"] is None else
                   f"  val_loss {record['val_loss']:.4f}  val_acc {record['val_accuracy']:.4f}")
            print(f"epoch {record['epoch']}: loss {record['train_loss']:.4f}  "
                  f"acc {record['train_accuracy']:.4f}{val}  ({seconds:.1f} s)",
                  file=sys.stderr)
        return record

    def _global_count(self, count: int) -> int:
        total = Tensor(numpy.array([count], numpy.int64), _raw=True)
        dist.all_reduce(total)
        return int(total.item())

    def _update_best(self, record: dict) -> None:
        value = record.get(self.monitor)
        if value is None:
            raise KeyError(f"monitor {self.monitor!r} is not in the history (available: "
                           f"{', '.join(k for k, v in record.items() if v is not None)})")
        minimize = self.monitor.endswith("loss")
        better = (self.best is None or
                  (value < self.best if minimize else value > self.best))
        if better:
            self.best, self.best_epoch = value, record["epoch"]
            self.epochs_without_improvement = 0
            self._best_weights = self.net.state_dict()
            if self._writes:
                self.save_checkpoint(self.run_dir / "best.npz")
        else:
            self.epochs_without_improvement += 1
            if self.patience is not None and self.epochs_without_improvement >= self.patience:
                self.stop_reason = (f"early stopping: {self.monitor} did not improve for "
                                    f"{self.patience} epochs (best {self.best:.4f} at epoch "
                                    f"{self.best_epoch})")
                if self.progress:
                    print(self.stop_reason, file=sys.stderr)

    def _write_history(self) -> None:
        self._write_history_json()
        buffer = _io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in self.history:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in HISTORY_FIELDS})
        serialization.atomic_write_text(self.run_dir / "history.csv", buffer.getvalue())

    def _write_history_json(self) -> None:
        record = {"history": self.history, "best_epoch": self.best_epoch,
                  "monitor": self.monitor, "best": self.best}
        if self.test_result is not None:
            record["test"] = self.test_result
        if self.wall_seconds is not None:
            record["wall_seconds"] = self.wall_seconds
        serialization.atomic_write_text(self.run_dir / "history.json",
                                        json.dumps(record, indent=2) + "\n")

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything needed to resume: weights, optimizer, scheduler, RNGs, history."""
        loader_state = None
        loader = getattr(self, "train_loader", None)
        if loader is not None and hasattr(loader, "state_dict"):
            loader_state = loader.state_dict()
        return {
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "history": self.history,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
            "rng": nn_random.get_rng_state(),
            "loader": loader_state,
            "config": self.config,
        }

    def save_checkpoint(self, path) -> None:
        """Write the resumable state atomically to ``path`` (.npz of arrays + JSON)."""
        serialization.save(self.state(), path)

    def load_state(self, state: dict, train_loader=None, restore_scheduler: bool = True) -> None:
        """Restore a state produced by ``state()`` (e.g. from ``numnet.load``).

        With ``restore_scheduler=False`` (a run extended to more epochs than it was planned
        for) the new scheduler is not overwritten but fast-forwarded to the restored epoch
        (or step), so the learning rate follows the schedule of the new length.
        """
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            if restore_scheduler:
                self.scheduler.load_state_dict(state["scheduler"])
            else:
                for group in self.optimizer.param_groups:
                    group["lr"] = group["initial_lr"]
                steps = state["epoch"] if self.scheduler_step == "epoch" else state["global_step"]
                for _ in range(int(steps)):
                    self.scheduler.step()
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        nn_random.set_rng_state(state["rng"])
        if train_loader is not None and state.get("loader") is not None:
            train_loader.load_state_dict(state["loader"])

    def resume(self, path, train_loader=None) -> None:
        """Load ``path`` (a checkpoint written by ``save_checkpoint``) to continue training."""
        self.load_state(serialization.load(path), train_loader)


def _first_nonfinite_layer(model, inputs: Tensor) -> str:
    """Re-run the forward pass layer by layer and name the first non-finite parameter or
    output (the layer where the NaN/inf first appeared)."""
    for name, parameter in model.named_parameters():
        if not numpy.all(numpy.isfinite(parameter.data)):
            return f"parameter {name} is already non-finite"
    if not numpy.all(numpy.isfinite(inputs.data)):
        return "the input batch contains NaN or inf"
    found = []

    def hook(module, args, output):
        if not found and isinstance(output, Tensor) and not numpy.all(numpy.isfinite(output.data)):
            found.append(module)

    handles = []
    names = {}
    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            names[id(module)] = name
            handles.append(module.register_forward_hook(hook))
    try:
        with no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    if found:
        return f"first non-finite output in layer {names[id(found[0])]} ({found[0]!r})"
    return "every layer's output is finite: the loss itself overflowed"


def read_history(run_dir) -> dict:
    """The ``history.json`` of a run folder."""
    path = Path(run_dir) / "history.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a numnet run folder?")
    return json.loads(path.read_text())
