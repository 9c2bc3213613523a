"""``numnet train``: train a preset model on a dataset, with plots and checkpoints."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

import numnet
from numnet import data, models
from numnet import distributed as dist
from numnet.commands import _train_text as train_text
from numnet.commands._arguments import positive_int
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._init_from import init_from
from numnet.commands._runs import (
    WRITE_ERRNOS,
    Settings,
    build_data,
    build_optimizer,
    build_scheduler,
    check_out_folder,
    locked_run_folder,
    model_config,
    recipes_help,
    replace_old_run,
    resume_paths,
    write_failure,
)
from numnet.nn import Conv2d
from numnet.nn.parallel import DistributedDataParallel
from numnet.train import Trainer, TrainingDiverged
from numnet.utils.data import DistributedSampler
from numnet.viz import plots


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the embedded digits)",
        description="Train a preset model with a progress bar; the run folder gets "
                    "model.npz (the trained model), best.npz (best by --monitor), last.npz "
                    "(resumable), history.json/.csv, curves.png, confusion.png and, for "
                    "CNNs, filters.png. Started as `mpirun -n K numnet train ...` it trains "
                    "data-parallel on K processes: --batch-size is the global batch, split "
                    "into K equal shares (a multiple of K), the gradients are averaged over "
                    "the ranks, the metrics are those of all the data, and rank 0 shows the "
                    "progress and writes the run folder (which every rank must see, for "
                    "--resume).",
        epilog=recipes_help())
    Settings.add_arguments(p)
    train_text.add_arguments(p)
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
    p.add_argument("--init-from", metavar="FILE",
                   help="start from these weights: a .safetensors file (e.g. a PyTorch "
                        "state_dict saved with safetensors.torch.save_file), a numnet "
                        "checkpoint or state_dict .npz, or a run folder; they must fit "
                        "--model")
    p.add_argument("--threads", type=positive_int,
                   help="worker threads (default: cores, at most 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    if train_text.wanted(args):
        return train_text.run(args)
    started = time.perf_counter()
    if (dist.launched_world_size() or 1) > 1:
        return _run_on_ranks(args, started)
    if args.threads is not None:
        numnet.set_num_threads(args.threads)
    with contextlib.ExitStack() as held:  # the run folder's lock, for as long as it lasts
        return _run(args, started, held)


def _run_on_ranks(args, started: float) -> int:
    """``mpirun -n K numnet train``: every rank runs ``_run`` in the MPI process group.

    A rank that fails (an error, a NaN stop, an interrupt) ends every rank, with its exit
    status and its message, through ``MPI_Abort``: the others may be waiting for it in a
    collective, where they would otherwise wait forever. Rank 0 reports at once; another
    rank first gives rank 0 two seconds to report a failure they share (a bad flag, a NaN
    stop, which every rank meets), so that its message is shown once.
    """
    dist.init_process_group("mpi")
    numnet.set_num_threads(args.threads or _threads_per_rank())
    message = None
    try:
        with contextlib.ExitStack() as held:
            code = _run(args, started, held)
    except CommandError as error:
        code, message = 2, f"numnet train: error: {error}"
    except KeyboardInterrupt:
        code, message = 130, "numnet train: interrupted"
    except Exception:
        code, message = 1, traceback.format_exc().rstrip()
    if code == 0:
        dist.destroy_process_group()
        return 0
    rank = dist.get_rank()
    if rank != 0:
        time.sleep(2.0)
    if message is not None:
        print(message if rank == 0 else f"[rank {rank}] {message}", file=sys.stderr)
    dist.abort(code)
    return code


def _threads_per_rank() -> int:
    """Worker threads of each rank: the cores shared by the ranks on this machine, at most
    2 (one process's default)."""
    local = os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") or os.environ.get("MPI_LOCALNRANKS")
    ranks_here = int(local) if local and local.isdigit() else dist.get_world_size()
    return max(1, min(2, (os.cpu_count() or 1) // max(1, ranks_here)))


def _rank_and_world() -> tuple:
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _shard_data(settings: Settings, train_loader, val_loader, test_loader) -> tuple:
    """Each rank's loaders: a ``DistributedSampler`` share of the training set in batches
    of ``batch_size / K`` (step j's shares together are the global batch j), and every
    K-th image of the validation and test sets (``Trainer.evaluate`` adds the shards up)."""
    rank, world = _rank_and_world()
    if settings.batch_size % world:
        raise CommandError(f"--batch-size {settings.batch_size} is the global batch, split "
                           f"over the {world} ranks: give a multiple of {world}")
    sampler = DistributedSampler(train_loader.dataset, world, rank, shuffle=True,
                                 seed=settings.seed)
    train = data.DataLoader(train_loader.dataset, batch_size=settings.batch_size // world,
                            sampler=sampler, seed=settings.seed,
                            transform=train_loader.transform)

    def shard(loader):
        if loader is None:
            return None
        part = data.Subset(loader.dataset, range(rank, len(loader.dataset), world))
        return data.DataLoader(part, batch_size=loader.batch_size, transform=loader.transform)
    return train, shard(val_loader), shard(test_loader)


def _run(args, started: float, held: contextlib.ExitStack) -> int:
    state = None
    rank, world = _rank_and_world()
    if args.resume:
        if args.init_from is not None:
            raise CommandError("--init-from starts a new run from given weights; --resume "
                               "continues a run with its own: use one or the other")
        if args.out is not None or args.overwrite:
            raise CommandError("--resume continues a run in its own folder: it takes no "
                               "--out or --overwrite")
        run_dir, checkpoint = resume_paths(Path(args.resume))
        if rank == 0:
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
            settings = Settings.for_dataset(args.dataset).from_args(args)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.out or f"runs/{settings.model}-{settings.dataset}-{stamp}")
        if world > 1:  # rank 0's name: the ranks' clocks may have ticked apart
            shared = [str(run_dir)]
            dist.broadcast_object_list(shared, src=0)
            run_dir = Path(shared[0])
        if rank == 0:
            check_out_folder(run_dir, args.overwrite)
        plan = settings.epochs
    with user_errors(ValueError):  # DatasetError is a ValueError too
        info, train_loader, val_loader, test_loader = build_data(settings)
        sizes = [0 if loader is None else len(loader.dataset)
                 for loader in (train_loader, val_loader, test_loader)]
        if world > 1:
            train_loader, val_loader, test_loader = _shard_data(settings, train_loader,
                                                                val_loader, test_loader)
        numnet.manual_seed(settings.seed)
        model = models.build_model(model_config(settings, info))
        if args.init_from is not None:
            init_from(model, args.init_from, settings.model)
        optimizer = build_optimizer(settings, model.parameters())
        scheduler, step_unit = build_scheduler(dataclasses.replace(settings, epochs=plan),
                                               optimizer, len(train_loader))
    if state is None and rank == 0:
        held.enter_context(locked_run_folder(run_dir, "--out"))
        check_out_folder(run_dir, args.overwrite)  # again: now no other run can start there
    config = {"settings": settings.to_dict(), "model": model.config,
              "dataset": info.to_dict(), "schedule_epochs": plan}
    trainer = Trainer(DistributedDataParallel(model) if world > 1 else model, optimizer,
                      scheduler=scheduler, scheduler_step=step_unit,
                      clip_grad_norm=settings.clip_grad, run_dir=run_dir,
                      monitor=settings.monitor if val_loader is not None else "train_loss",
                      patience=settings.patience, num_classes=info.num_classes,
                      progress=not args.no_progress, config=config)
    try:
        if state is not None:
            planned_lr = float(state["optimizer"]["param_groups"][0]["lr"])
            replanned = plan != stored_plan
            trainer.load_state(state, train_loader, restore_scheduler=not replanned)
            if replanned and rank == 0:
                print(f"note: --extend-schedule: the {settings.scheduler} learning-rate "
                      f"schedule now spans {plan} epochs instead of {stored_plan}; the "
                      f"{trainer.epoch} epochs done keep their learning rates, the next "
                      f"step trains at lr {optimizer.param_groups[0]['lr']:.6g} instead of "
                      f"{planned_lr:.6g}", file=sys.stderr)
        elif args.overwrite and rank == 0:
            replace_old_run(run_dir, lambda: trainer.save_checkpoint(run_dir / "last.npz"))
        if rank == 0:
            ranks = f" on {world} ranks" if world > 1 else ""
            print(f"training {settings.model} ({model.num_parameters():,} parameters) on "
                  f"{info.name}: {sizes[0]} train, {sizes[1]} validation, {sizes[2]} test "
                  f"images{ranks} -> {run_dir}", file=sys.stderr)
        with user_errors(TrainingDiverged):
            trainer.fit(train_loader, val_loader, epochs=settings.epochs)
        if trainer.stop_reason == "interrupted":
            if rank == 0:
                launcher = f"mpirun -n {world} " if world > 1 else ""
                print(f"continue with: {launcher}numnet train --resume "
                      f"{shlex.quote(str(run_dir))}", file=sys.stderr)
            return 130
        test = trainer.test(test_loader, started=started)
        if rank == 0:
            _plot(run_dir, trainer, test, info)
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            raise
        raise CommandError(write_failure(error, run_dir)) from None
    if rank == 0:
        print(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
              f"({test['epochs']} epochs, {trainer.wall_seconds:.1f} s)")
        print(f"run folder: {run_dir}")
    return 0


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


def _plot(run_dir: Path, trainer: Trainer, test: dict, info) -> None:
    """curves.png, confusion.png and, for a CNN, filters.png (its first convolution's)."""
    plots.plot_curves(trainer.history, run_dir / "curves.png")
    plots.plot_confusion(test["confusion"], run_dir / "confusion.png", info.classes)
    first_conv = next((m for m in trainer.model.modules() if isinstance(m, Conv2d)), None)
    if first_conv is not None:
        plots.plot_filters(first_conv.weight.data, run_dir / "filters.png")
