"""``numnet train``: train a preset model on a dataset, with plots and checkpoints."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numnet
from numnet import models, runs
from numnet.cli import CommandError, user_errors
from numnet.io import atomic_write_text
from numnet.train import Trainer, TrainingDiverged

FLAGS = ("model", "dataset", "data_dir", "epochs", "batch_size", "lr", "optimizer", "momentum",
         "weight_decay", "activation", "init", "seed", "scheduler", "clip_grad", "patience", "monitor",
         "val_fraction", "limit_train", "limit_test", "augment", "hidden")


def register(subparsers) -> None:
    defaults = runs.default_settings()
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the embedded digits)",
        description="Train a preset model with a progress bar; the run folder gets "
                    "model.npz (the trained model), best.npz (best by --monitor), last.npz "
                    "(resumable), history.json/.csv, curves.png, confusion.png and, for "
                    "CNNs, filters.png.")
    p.add_argument("--model", choices=sorted(models.MODELS), help=f"(default {defaults['model']})")
    p.add_argument("--dataset", help="digits, mnist, fashion-mnist or cifar10 "
                                     f"(default {defaults['dataset']})")
    p.add_argument("--data-dir", help="folder with the dataset's files")
    p.add_argument("--epochs", type=int, help=f"(default {defaults['epochs']})")
    p.add_argument("--batch-size", type=int, help=f"(default {defaults['batch_size']})")
    p.add_argument("--lr", type=float, help=f"learning rate eta (default {defaults['lr']})")
    p.add_argument("--optimizer", choices=runs.OPTIMIZERS,
                   help=f"(default {defaults['optimizer']})")
    p.add_argument("--momentum", type=float, help=f"(default {defaults['momentum']})")
    p.add_argument("--weight-decay", type=float, help="L2 penalty (default 0)")
    p.add_argument("--activation", choices=("relu", "tanh", "sigmoid", "leaky_relu"),
                   help=f"(default {defaults['activation']})")
    p.add_argument("--init", help="weight initialization by name, e.g. xavier, he, "
                                  "he_fan_avg (default: PyTorch's)")
    p.add_argument("--seed", type=int, help=f"(default {defaults['seed']})")
    p.add_argument("--scheduler", choices=runs.SCHEDULERS,
                   help=f"learning-rate schedule (default {defaults['scheduler']})")
    p.add_argument("--clip-grad", type=float, help="clip the gradient norm to this value")
    p.add_argument("--monitor", choices=("val_loss", "val_accuracy", "train_loss",
                                          "train_accuracy"),
                   help="metric that picks the best model (best.npz) and drives early "
                        f"stopping (default {defaults['monitor']})")
    p.add_argument("--patience", type=int, help="early stopping after this many epochs "
                                                "without improvement of --monitor")
    p.add_argument("--val-fraction", type=float,
                   help=f"share of the training set held out for validation "
                        f"(default {defaults['val_fraction']})")
    p.add_argument("--limit-train", type=int, help="train on a random subset of this size")
    p.add_argument("--limit-test", type=int, help="test on a random subset of this size")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random shifts (and flips for CIFAR-10) of the training images "
                        "(default on)")
    p.add_argument("--hidden", type=int, nargs="+", help="hidden sizes of --model mlp "
                                                         "(default 128 64)")
    p.add_argument("--out", help="run folder (default runs/MODEL-DATASET-TIME)")
    p.add_argument("--resume", metavar="RUNDIR",
                   help="continue the run in RUNDIR from its last checkpoint "
                        "(--epochs sets the new total)")
    p.add_argument("--threads", type=int, help="worker threads (default: cores, at most 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _settings(args, base: dict) -> dict:
    settings = dict(base)
    for flag in FLAGS:
        value = getattr(args, flag, None)
        if value is not None:
            settings[flag] = value
    if settings["epochs"] < 1 or settings["batch_size"] < 1 or settings["lr"] <= 0:
        raise CommandError("--epochs, --batch-size and --lr must be positive")
    if not 0 <= settings["val_fraction"] < 1:
        raise CommandError("--val-fraction must be in [0, 1)")
    return settings


def run(args) -> int:
    started = time.perf_counter()
    if args.threads:
        numnet.set_num_threads(args.threads)
    state = None
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "last.npz").exists():
            raise CommandError(f"nothing to resume: {run_dir / 'last.npz'} does not exist")
        state = numnet.load(run_dir / "last.npz")
        settings = _settings(args, state["config"]["settings"])
    else:
        settings = _settings(args, runs.default_settings())
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.out or f"runs/{settings['model']}-{settings['dataset']}-{stamp}")
    with user_errors(ValueError):  # DatasetError is a ValueError too
        info, train_loader, val_loader, test_loader = runs.build_data(settings)
        numnet.manual_seed(settings["seed"])
        model = models.build_model(runs.model_config(settings, info))
        optimizer = runs.build_optimizer(settings, model.parameters())
        scheduler, step_unit = runs.build_scheduler(settings, optimizer, len(train_loader))
    config = {"settings": settings, "model": model.config, "dataset": info.to_dict()}
    trainer = Trainer(model, optimizer, scheduler=scheduler, scheduler_step=step_unit,
                      clip_grad_norm=settings["clip_grad"], run_dir=run_dir,
                      monitor=settings["monitor"] if val_loader is not None else "train_loss",
                      patience=settings["patience"], num_classes=info.num_classes,
                      progress=not args.no_progress, config=config)
    if state is not None:
        planned = state["config"]["settings"]["epochs"]
        trainer.load_state(state, train_loader, restore_scheduler=planned == settings["epochs"])
        if planned != settings["epochs"] and scheduler is not None:
            print(f"note: the run was planned for {planned} epochs; its {settings['scheduler']} "
                  f"learning-rate schedule now follows {settings['epochs']} epochs",
                  file=sys.stderr)
    print(f"training {settings['model']} ({model.num_parameters():,} parameters) on "
          f"{info.name}: {len(train_loader.dataset)} train, "
          f"{0 if val_loader is None else len(val_loader.dataset)} validation, "
          f"{len(test_loader.dataset)} test images -> {run_dir}", file=sys.stderr)
    with user_errors(TrainingDiverged):
        trainer.fit(train_loader, val_loader, epochs=settings["epochs"])
    if trainer.stop_reason == "interrupted":
        return 130
    test = trainer.evaluate(test_loader)
    _finish(run_dir, trainer, test, info, settings, time.perf_counter() - started)
    return 0


def _finish(run_dir: Path, trainer, test: dict, info, settings: dict, seconds: float) -> None:
    from numnet.viz import plots

    history_path = run_dir / "history.json"
    record = json.loads(history_path.read_text())
    record["test"] = {"loss": test["loss"], "accuracy": test["accuracy"],
                      "per_class_accuracy": test["per_class_accuracy"],
                      "confusion": test["confusion"], "epochs": len(trainer.history),
                      "stop_reason": trainer.stop_reason}
    record["wall_seconds"] = seconds
    atomic_write_text(history_path, json.dumps(record, indent=2) + "\n")
    plots.plot_curves(trainer.history, run_dir / "curves.png")
    plots.plot_confusion(test["confusion"], run_dir / "confusion.png", info.classes)
    if settings["model"] != "mlp":
        first_conv = next(m for m in trainer.model.modules() if type(m).__name__ == "Conv2d")
        plots.plot_filters(first_conv.weight.data, run_dir / "filters.png")
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
          f"({len(trainer.history)} epochs, {seconds:.1f} s)")
    print(f"run folder: {run_dir}")
