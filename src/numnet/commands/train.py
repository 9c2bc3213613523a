"""``numnet train``: train a preset model on a dataset, with plots and checkpoints."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numnet
from numnet import models
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import (
    Settings,
    build_data,
    build_optimizer,
    build_scheduler,
    model_config,
)
from numnet.nn import Conv2d
from numnet.train import Trainer, TrainingDiverged
from numnet.viz import plots


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the embedded digits)",
        description="Train a preset model with a progress bar; the run folder gets "
                    "model.npz (the trained model), best.npz (best by --monitor), last.npz "
                    "(resumable), history.json/.csv, curves.png, confusion.png and, for "
                    "CNNs, filters.png.")
    Settings.add_arguments(p)
    p.add_argument("--out", help="run folder (default runs/MODEL-DATASET-TIME)")
    p.add_argument("--resume", metavar="RUNDIR",
                   help="continue the run in RUNDIR from its last checkpoint "
                        "(--epochs sets the new total)")
    p.add_argument("--threads", type=int, help="worker threads (default: cores, at most 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


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
        with user_errors(ValueError):
            planned = Settings.from_dict(state["config"]["settings"])
            settings = planned.from_args(args)
    else:
        with user_errors(ValueError):
            settings = Settings().from_args(args)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.out or f"runs/{settings.model}-{settings.dataset}-{stamp}")
    with user_errors(ValueError):  # DatasetError is a ValueError too
        info, train_loader, val_loader, test_loader = build_data(settings)
        numnet.manual_seed(settings.seed)
        model = models.build_model(model_config(settings, info))
        optimizer = build_optimizer(settings, model.parameters())
        scheduler, step_unit = build_scheduler(settings, optimizer, len(train_loader))
    config = {"settings": settings.to_dict(), "model": model.config,
              "dataset": info.to_dict()}
    trainer = Trainer(model, optimizer, scheduler=scheduler, scheduler_step=step_unit,
                      clip_grad_norm=settings.clip_grad, run_dir=run_dir,
                      monitor=settings.monitor if val_loader is not None else "train_loss",
                      patience=settings.patience, num_classes=info.num_classes,
                      progress=not args.no_progress, config=config)
    if state is not None:
        extended = planned.epochs != settings.epochs
        trainer.load_state(state, train_loader, restore_scheduler=not extended)
        if extended and scheduler is not None:
            print(f"note: the run was planned for {planned.epochs} epochs; its "
                  f"{settings.scheduler} learning-rate schedule now follows {settings.epochs} "
                  "epochs", file=sys.stderr)
    print(f"training {settings.model} ({model.num_parameters():,} parameters) on "
          f"{info.name}: {len(train_loader.dataset)} train, "
          f"{0 if val_loader is None else len(val_loader.dataset)} validation, "
          f"{len(test_loader.dataset)} test images -> {run_dir}", file=sys.stderr)
    with user_errors(TrainingDiverged):
        trainer.fit(train_loader, val_loader, epochs=settings.epochs)
    if trainer.stop_reason == "interrupted":
        return 130
    test = trainer.test(test_loader, started=started)
    _plot(run_dir, trainer, test, info)
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
          f"({test['epochs']} epochs, {trainer.wall_seconds:.1f} s)")
    print(f"run folder: {run_dir}")
    return 0


def _plot(run_dir: Path, trainer: Trainer, test: dict, info) -> None:
    """curves.png, confusion.png and, for a CNN, filters.png (its first convolution's)."""
    plots.plot_curves(trainer.history, run_dir / "curves.png")
    plots.plot_confusion(test["confusion"], run_dir / "confusion.png", info.classes)
    first_conv = next((m for m in trainer.model.modules() if isinstance(m, Conv2d)), None)
    if first_conv is not None:
        plots.plot_filters(first_conv.weight.data, run_dir / "filters.png")
