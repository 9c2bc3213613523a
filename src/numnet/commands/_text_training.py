"""The training loop of ``numnet train --task text``: truncated backpropagation through time
over contiguous streams, with the run folder of image training (progress bar, history,
``last.npz`` / ``best.npz`` / ``model.npz``, early stopping, resume, ``curves.png``).

An epoch walks the training streams (B, L) in windows of ``bptt`` steps: the inputs are
columns ``[i, i + T)``, the targets the same columns one to the right, ``T = min(bptt,
L - 1 - i)``. The recurrent state starts at zero each epoch and is carried, detached, from
one window to the next, so the gradient flows back ``T`` steps while the state has seen the
whole stream. Validation reads the held-out tail the same way, with no gradient.

Losses are in nats per character; ``bits per character = loss / ln 2`` and ``perplexity =
e ** loss``. Each epoch's record puts the validation figures next to the unigram baseline
(``numnet.data.text.unigram_bits``).

Determinism: the streams are read in order and every random draw (dropout) comes from
numnet's default generator, checkpointed with the weights, the optimizer and the schedule;
a checkpoint is written after each epoch, where the state starts again from zero, so a
resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy

from numnet import char_lm, serialization
from numnet import random as nn_random
from numnet.autograd import no_grad
from numnet.nn import functional as F
from numnet.nn.utils import clip_grad_norm_
from numnet.tensor import Tensor
from numnet.viz import plots

HISTORY_FIELDS = ("epoch", "lr", "train_loss", "train_bpc", "train_accuracy", "val_loss",
                  "val_perplexity", "val_bpc", "val_accuracy", "unigram_bpc", "seconds",
                  "chars_per_second")
LN2 = math.log(2.0)


class TextDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and the step."""


@dataclass
class TextData:
    """The text as training sees it: training streams (B, L), validation streams (or
    None), and the unigram baseline in bits per character on the validation targets."""

    train: numpy.ndarray
    val: numpy.ndarray | None
    unigram_bpc: float | None


def windows(length: int, bptt: int) -> list:
    """``(start, steps)`` of each window over streams of ``length`` characters."""
    return [(i, min(bptt, length - 1 - i)) for i in range(0, length - 1, bptt)]


def _figures(loss: float) -> dict:
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "bpc": loss / LN2}


class TextTrainer:
    """Trains a ``numnet.char_lm.CharLM`` on ``TextData`` (see the module docs).

    Args:
        model, optimizer, scheduler, scheduler_step: as ``numnet.train.Trainer``'s.
        bptt: steps of each window.
        clip_grad_norm: clip the global gradient norm to this value before each step.
        run_dir: the run folder (nothing is written when None).
        monitor: the metric that picks the best model and drives early stopping.
        patience: stop after this many epochs without improvement of ``monitor``.
        progress: a tqdm bar per epoch.
        config: JSON-serialisable description of the run, stored in every checkpoint.
    """

    def __init__(self, model, optimizer, scheduler=None, scheduler_step: str = "epoch",
                 bptt: int = 64, clip_grad_norm: float | None = None, run_dir=None,
                 monitor: str = "val_loss", patience: int | None = None,
                 progress: bool = True, config: dict | None = None) -> None:
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scheduler_step = scheduler_step
        self.bptt = bptt
        self.clip_grad_norm = clip_grad_norm
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.monitor = monitor
        self.patience = patience
        self.progress = progress
        self.config = dict(config or {})
        self.history: list[dict] = []
        self.epoch = 0
        self.global_step = 0
        self.best = None
        self.best_epoch = None
        self.epochs_without_improvement = 0
        self.stop_reason = None
        self.final = None
        self._best_weights = None

    # ------------------------------------------------------------------ one window
    def _loss(self, streams: numpy.ndarray, start: int, steps: int, hx):
        inputs = Tensor(streams[:, start:start + steps], _raw=True)
        targets = streams[:, start + 1:start + 1 + steps]
        scores, hx = self.model(inputs, hx)
        vocab = scores.shape[-1]
        loss = F.cross_entropy(scores.reshape(-1, vocab), Tensor(targets.reshape(-1), _raw=True))
        correct = int((scores.data.argmax(axis=-1) == targets).sum())
        return loss, correct, hx

    def evaluate(self, streams: numpy.ndarray) -> dict:
        """Loss (nats per character), perplexity, bits per character and next-character
        accuracy of the model on ``streams``, the state carried over the whole of them."""
        was_training = self.model.training
        self.model.eval()
        total, correct, count, hx = 0.0, 0, 0, None
        try:
            with no_grad():
                for start, steps in windows(streams.shape[1], self.bptt):
                    loss, right, hx = self._loss(streams, start, steps, hx)
                    n = streams.shape[0] * steps
                    total += float(loss.item()) * n
                    correct += right
                    count += n
        finally:
            self.model.train(was_training)
        result = _figures(total / count)
        result["accuracy"] = correct / count
        return result

    # ------------------------------------------------------------------ the loop
    def fit(self, data: TextData, epochs: int) -> list:
        """Train until ``epochs`` epochs are done in total (a resumed run counts its own).
        Early stopping gives the model the best weights back; Ctrl-C keeps ``last.npz`` of
        the last completed epoch and sets ``stop_reason`` to 'interrupted'."""
        if self.run_dir is not None and self.epoch == 0:
            self.save_checkpoint("last.npz")
        self.stop_reason = None
        try:
            while self.epoch < epochs and self.stop_reason is None:
                record = self._run_epoch(data, epochs)
                self.history.append(record)
                self.epoch += 1
                self._update_best(record)
                if self.scheduler is not None and self.scheduler_step == "epoch":
                    self.scheduler.step()
                if self.run_dir is not None:
                    self._write_history()
                    self.save_checkpoint("last.npz")
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            print(f"\nInterrupted during epoch {self.epoch + 1}.", file=sys.stderr)
            return self.history
        if self.stop_reason is not None and self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)
        if self.run_dir is not None:
            self.save_checkpoint("model.npz")
        return self.history

    def _run_epoch(self, data: TextData, epochs: int) -> dict:
        self.model.train()
        lr = float(self.optimizer.param_groups[0]["lr"])
        spans = windows(data.train.shape[1], self.bptt)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(spans), desc=f"epoch {self.epoch + 1}/{epochs}", unit="batch",
                       leave=True, file=sys.stderr, dynamic_ncols=True)
        start_time = time.perf_counter()
        total, correct, seen, hx = 0.0, 0, 0, None
        try:
            for step, (start, steps) in enumerate(spans):
                loss, right, hx = self._loss(data.train, start, steps, hx)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise TextDiverged(f"loss became {value} at epoch {self.epoch + 1}, step "
                                       f"{self.global_step + 1} (batch {step + 1} of the "
                                       "epoch). Try a smaller --lr or --clip-grad.")
                self.optimizer.zero_grad()
                loss.backward()
                if self.clip_grad_norm is not None:
                    clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
                self.optimizer.step()
                if self.scheduler is not None and self.scheduler_step == "batch":
                    self.scheduler.step()
                self.global_step += 1
                hx = char_lm.detach_state(hx)
                n = data.train.shape[0] * steps
                total += value * n
                correct += right
                seen += n
                if bar is not None:
                    rate = seen / max(time.perf_counter() - start_time, 1e-9)
                    bar.set_postfix(loss=f"{total / seen:.4f}",
                                    bpc=f"{total / seen / LN2:.3f}", char_s=f"{rate:.0f}",
                                    refresh=False)
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start_time
        record = dict.fromkeys(HISTORY_FIELDS)
        record.update(epoch=self.epoch + 1, lr=lr, train_loss=total / seen,
                      train_bpc=total / seen / LN2, train_accuracy=correct / seen,
                      unigram_bpc=data.unigram_bpc, seconds=seconds,
                      chars_per_second=seen / max(seconds, 1e-9))
        if data.val is not None:
            result = self.evaluate(data.val)
            record.update(val_loss=result["loss"], val_perplexity=result["perplexity"],
                          val_bpc=result["bpc"], val_accuracy=result["accuracy"])
        if self.progress:
            val = ("" if data.val is None else
                   f"  val_loss {record['val_loss']:.4f}  val_ppl {record['val_perplexity']:.2f}"
                   f"  val_bpc {record['val_bpc']:.3f} (unigram {data.unigram_bpc:.3f})")
            print(f"epoch {record['epoch']}: loss {record['train_loss']:.4f}  bpc "
                  f"{record['train_bpc']:.3f}{val}  ({seconds:.1f} s)", file=sys.stderr)
        return record

    def _update_best(self, record: dict) -> None:
        value = record[self.monitor]
        minimize = self.monitor.endswith("loss")
        if self.best is None or (value < self.best if minimize else value > self.best):
            self.best, self.best_epoch = value, record["epoch"]
            self.epochs_without_improvement = 0
            self._best_weights = self.model.state_dict()
            if self.run_dir is not None:
                self.save_checkpoint("best.npz")
            return
        self.epochs_without_improvement += 1
        if self.patience is not None and self.epochs_without_improvement >= self.patience:
            self.stop_reason = (f"early stopping: {self.monitor} did not improve for "
                                f"{self.patience} epochs (best {self.best:.4f} at epoch "
                                f"{self.best_epoch})")
            if self.progress:
                print(self.stop_reason, file=sys.stderr)

    def finish(self, data: TextData, started: float | None = None) -> dict:
        """Evaluate the trained model on the validation tail (the training streams when
        there is none), record it as ``history.json``'s ``final`` entry and plot
        ``curves.png``."""
        streams = data.val if data.val is not None else data.train
        result = self.evaluate(streams)
        self.final = {"split": "validation" if data.val is not None else "train",
                      **result, "unigram_bpc": data.unigram_bpc, "epochs": len(self.history),
                      "stop_reason": self.stop_reason}
        if started is not None:
            self.final["wall_seconds"] = time.perf_counter() - started
        if self.run_dir is not None:
            self._write_history_json()
            plot_bits(self.history, self.run_dir / "curves.png")
        return self.final

    # ------------------------------------------------------------------ the run folder
    def _write_history(self) -> None:
        self._write_history_json()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in self.history:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in HISTORY_FIELDS})
        serialization.atomic_write_text(self.run_dir / "history.csv", buffer.getvalue())

    def _write_history_json(self) -> None:
        record = {"history": self.history, "best_epoch": self.best_epoch,
                  "monitor": self.monitor, "best": self.best}
        if self.final is not None:
            record["final"] = self.final
        serialization.atomic_write_text(self.run_dir / "history.json",
                                        json.dumps(record, indent=2) + "\n")

    def state(self) -> dict:
        """Everything needed to resume: weights, optimizer, scheduler, RNG, history."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "epoch": self.epoch, "global_step": self.global_step, "history": self.history,
                "best": self.best, "best_epoch": self.best_epoch,
                "epochs_without_improvement": self.epochs_without_improvement,
                "rng": nn_random.get_rng_state(), "config": self.config}

    def save_checkpoint(self, name: str) -> None:
        serialization.save(self.state(), self.run_dir / name)

    def load_state(self, state: dict) -> None:
        """Restore a state produced by ``state()``."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self.history = list(state["history"])
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        nn_random.set_rng_state(state["rng"])
        if self.run_dir is not None and (self.run_dir / "best.npz").exists():
            self._best_weights = serialization.load(self.run_dir / "best.npz")["model"]


def plot_bits(history: list, path) -> Path:
    """Bits per character per epoch, training and validation, beside the unigram
    baseline (a dashed line), and the next-character accuracy."""
    baseline = next((row["unigram_bpc"] for row in history if row.get("unigram_bpc")), None)
    return plots.plot_curves(history, path, metric="bpc", title="bits per character",
                             ylabel="cross entropy / ln 2",
                             accuracy_title="next-character accuracy", baseline=baseline,
                             baseline_label="unigram baseline")
