"""``numnet train``: train a preset model on a dataset, with plots and checkpoints."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import shlex
import sys
import time
from pathlib import Path

import numnet
from numnet import data, models
from numnet.commands._arguments import positive_int
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import (
    RUN_OUTPUTS,
    Settings,
    build_data,
    build_optimizer,
    build_scheduler,
    check_out_folder,
    locked_run_folder,
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
    p.add_argument("--out", metavar="DIR",
                   help="run folder (default runs/MODEL-DATASET-TIME); a folder that "
                        "already holds a run is refused unless --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out: its files are replaced or "
                        "removed once the new run has written its first checkpoint")
    p.add_argument("--resume", metavar="RUN",
                   help="continue the run in the folder RUN (or the folder of the checkpoint "
                        "RUN names) from its last.npz; --epochs sets the new total, which "
                        "may not go past the epochs its learning-rate schedule was planned "
                        "for unless --extend-schedule is given")
    p.add_argument("--extend-schedule", action="store_true",
                   help="with --resume: re-plan the learning-rate schedule over the new "
                        "--epochs total (the epochs done keep their learning rates; the "
                        "rest follow a schedule of the new length from where the run is)")
    p.add_argument("--threads", type=positive_int,
                   help="worker threads (default: cores, at most 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    started = time.perf_counter()
    if args.threads is not None:
        numnet.set_num_threads(args.threads)
    with contextlib.ExitStack() as held:  # the run folder's lock, for as long as it lasts
        return _run(args, started, held)


def _run(args, started: float, held: contextlib.ExitStack) -> int:
    state = None
    if args.resume:
        if args.out is not None or args.overwrite:
            raise CommandError("--resume continues a run in its own folder: it takes no "
                               "--out or --overwrite")
        run_dir, checkpoint = _resume_paths(Path(args.resume))
        held.enter_context(locked_run_folder(run_dir, "--resume"))
        state, planned = _read_resumable(checkpoint)
        _check_same_run(args, planned)
        with user_errors(ValueError):
            settings = planned.from_args(args)
        stored_plan = state["config"].get("schedule_epochs", planned.epochs)
        plan = _schedule_plan(args, settings, stored_plan)
    else:
        if args.extend_schedule:
            raise CommandError("--extend-schedule re-plans the schedule of a resumed run: "
                               "use it with --resume RUN")
        with user_errors(ValueError):
            settings = Settings().from_args(args)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.out or f"runs/{settings.model}-{settings.dataset}-{stamp}")
        check_out_folder(run_dir, args.overwrite)
        plan = settings.epochs
    with user_errors(ValueError):  # DatasetError is a ValueError too
        info, train_loader, val_loader, test_loader = build_data(settings)
        numnet.manual_seed(settings.seed)
        model = models.build_model(model_config(settings, info))
        optimizer = build_optimizer(settings, model.parameters())
        scheduler, step_unit = build_scheduler(dataclasses.replace(settings, epochs=plan),
                                               optimizer, len(train_loader))
    if state is None:
        held.enter_context(locked_run_folder(run_dir, "--out"))
        check_out_folder(run_dir, args.overwrite)  # again: now no other run can start there
    config = {"settings": settings.to_dict(), "model": model.config,
              "dataset": info.to_dict(), "schedule_epochs": plan}
    trainer = Trainer(model, optimizer, scheduler=scheduler, scheduler_step=step_unit,
                      clip_grad_norm=settings.clip_grad, run_dir=run_dir,
                      monitor=settings.monitor if val_loader is not None else "train_loss",
                      patience=settings.patience, num_classes=info.num_classes,
                      progress=not args.no_progress, config=config)
    try:
        if state is not None:
            planned_lr = float(state["optimizer"]["param_groups"][0]["lr"])
            replanned = plan != stored_plan
            trainer.load_state(state, train_loader, restore_scheduler=not replanned)
            if replanned:
                print(f"note: --extend-schedule: the {settings.scheduler} learning-rate "
                      f"schedule now spans {plan} epochs instead of {stored_plan}; the "
                      f"{trainer.epoch} epochs done keep their learning rates, the next "
                      f"step trains at lr {optimizer.param_groups[0]['lr']:.6g} instead of "
                      f"{planned_lr:.6g}", file=sys.stderr)
        elif args.overwrite:
            _replace_old_run(trainer, run_dir)
        print(f"training {settings.model} ({model.num_parameters():,} parameters) on "
              f"{info.name}: {len(train_loader.dataset)} train, "
              f"{0 if val_loader is None else len(val_loader.dataset)} validation, "
              f"{len(test_loader.dataset)} test images -> {run_dir}", file=sys.stderr)
        with user_errors(TrainingDiverged):
            trainer.fit(train_loader, val_loader, epochs=settings.epochs)
        if trainer.stop_reason == "interrupted":
            print(f"continue with: numnet train --resume {shlex.quote(str(run_dir))}",
                  file=sys.stderr)
            return 130
        test = trainer.test(test_loader, started=started)
        _plot(run_dir, trainer, test, info)
    except OSError as error:
        if error.errno not in _WRITE_ERRNOS:
            raise
        raise CommandError(_write_failure(error, run_dir)) from None
    print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
          f"({test['epochs']} epochs, {trainer.wall_seconds:.1f} s)")
    print(f"run folder: {run_dir}")
    return 0


_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                 errno.EPERM)
"""Failed writes that are the machine's state, not a bug: reported in one line."""


def _write_failure(error: OSError, run_dir: Path) -> str:
    """The one-line report of a failed write: what failed, what is left, what to do."""
    full = error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    fix = "make room on the disk" if full else "make the folder writable"
    where = shlex.quote(str(run_dir))
    then = (f"then continue with: numnet train --resume {where}"
            if (run_dir / "last.npz").exists() else "then start the run again")
    return (f"cannot write {error.filename or run_dir}: {error.strerror}; the files already "
            f"in {run_dir} are intact (no partial file is left): {fix}, {then}")


def _resume_paths(path: Path) -> tuple:
    """(run folder, its last.npz) for ``--resume PATH``: the folder, or any file in it."""
    if path.is_dir():
        run_dir = path
    elif path.is_file():
        run_dir = path.parent
    else:
        raise CommandError(f"--resume {path}: no such run folder or checkpoint")
    checkpoint = run_dir / "last.npz"
    if not checkpoint.exists():
        raise CommandError(f"nothing to resume: {checkpoint} does not exist")
    if path.is_file() and path.name != "last.npz":
        print(f"note: resuming the run in {run_dir} from its last.npz (the state after its "
              f"last completed epoch), not from {path.name}", file=sys.stderr)
    return run_dir, checkpoint


_RESUMABLE_KEYS = ("model", "optimizer", "scheduler", "epoch", "global_step", "history",
                   "best", "best_epoch", "epochs_without_improvement", "rng", "config")


def _read_resumable(checkpoint: Path) -> tuple:
    """(training state, the run's Settings) from a run's last.npz, or a one-line error."""
    try:
        state = numnet.load(checkpoint)
    except (OSError, ValueError) as error:  # CheckpointError is both
        raise CommandError(f"cannot resume: {error}") from None
    missing = ([key for key in _RESUMABLE_KEYS if key not in state]
               if isinstance(state, dict) else list(_RESUMABLE_KEYS))
    settings = state.get("config", {}).get("settings") if not missing else None
    if missing or not isinstance(settings, dict):
        raise CommandError(f"cannot resume: {checkpoint} is not a numnet training "
                           f"checkpoint (no {', '.join(missing or ['config settings'])})")
    with user_errors(ValueError):
        planned = Settings.from_dict(settings)
    return state, planned


_SAME_RUN = ("model", "dataset", "hidden", "activation", "init", "optimizer", "scheduler")
"""The settings a resumed run cannot change: they make its model, its data, or the shape
of its optimizer's and scheduler's state."""


def _check_same_run(args, planned: Settings) -> None:
    """Refuse flags that ask a resumed run for another model, dataset, optimizer or
    schedule, before anything is built from them."""
    for name in _SAME_RUN:
        given = getattr(args, name, None)
        stored = getattr(planned, name)
        if given is None or _same_setting(name, given, stored):
            continue
        flag = "--" + name.replace("_", "-")
        shown = " ".join(map(str, given)) if isinstance(given, list) else given
        extra = ""
        if stored is None:
            extra = f" without {flag}"
        elif name not in ("model", "dataset"):
            kept = " ".join(map(str, stored)) if isinstance(stored, list) else stored
            extra = f" with {flag} {kept}"
        raise CommandError(f"the run was trained with model {planned.model} on "
                           f"{planned.dataset}{extra}; {flag} {shown} does not match (a "
                           "resumed run keeps them: start a new run with --out to change it)")


def _same_setting(name: str, given, stored) -> bool:
    if name == "dataset":  # fashion_mnist is fashion-mnist
        try:
            return data.canonical_name(given) == data.canonical_name(stored)
        except ValueError:
            return False
    return given == stored


def _schedule_plan(args, settings: Settings, stored_plan: int) -> int:
    """The epochs the learning-rate schedule of a resumed run spans: the stored plan, or,
    with ``--extend-schedule``, the new ``--epochs``. A run cannot go past its schedule's
    plan without that flag (what the lr would be there depends on the schedule: cosine
    climbs back up, one-cycle has no steps left)."""
    if args.extend_schedule:
        if settings.scheduler == "none":
            raise CommandError("--extend-schedule: the run has no learning-rate schedule "
                               "(--scheduler none): --epochs alone continues it")
        if settings.epochs == stored_plan:
            raise CommandError(f"--extend-schedule: the {settings.scheduler} schedule "
                               f"already spans {stored_plan} epochs: give the new total "
                               "with --epochs")
        return settings.epochs
    if settings.scheduler != "none" and settings.epochs > stored_plan:
        planned = f"{stored_plan} epoch" + ("s" if stored_plan != 1 else "")
        raise CommandError(f"--epochs {settings.epochs} goes past the run's "
                           f"{settings.scheduler} learning-rate schedule, planned for "
                           f"{planned}: add --extend-schedule to re-plan it over "
                           f"{settings.epochs} epochs (the learning rates still to come "
                           f"change), or resume with --epochs {stored_plan} or fewer")
    return stored_plan


def _replace_old_run(trainer: Trainer, run_dir: Path) -> None:
    """``--overwrite``: the new run's first checkpoint replaces the old ``last.npz``, then
    the old run's other files go (nothing of the old run is removed before the new one
    has written)."""
    old = [name for name in RUN_OUTPUTS if (run_dir / name).exists()]
    if not old:
        return
    trainer.save_checkpoint(run_dir / "last.npz")
    for name in old:
        if name != "last.npz":
            (run_dir / name).unlink(missing_ok=True)
    print(f"--overwrite: replacing the run in {run_dir} ({', '.join(old)})", file=sys.stderr)


def _plot(run_dir: Path, trainer: Trainer, test: dict, info) -> None:
    """curves.png, confusion.png and, for a CNN, filters.png (its first convolution's)."""
    plots.plot_curves(trainer.history, run_dir / "curves.png")
    plots.plot_confusion(test["confusion"], run_dir / "confusion.png", info.classes)
    first_conv = next((m for m in trainer.model.modules() if isinstance(m, Conv2d)), None)
    if first_conv is not None:
        plots.plot_filters(first_conv.weight.data, run_dir / "filters.png")
