"""A training run as the command line sees it: its ``Settings``, the dataset, model,
optimizer and scheduler built from them, and the checkpoints of its run folder.

``numnet train`` makes ``Settings`` from its flags and stores them in every checkpoint of
the run folder (``config["settings"]``); ``--resume``, ``numnet evaluate`` and ``predict``
rebuild the same run from the stored settings.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import fcntl
import os
import shlex
import sys
import time
import typing
from pathlib import Path

import numpy

import numnet
from numnet import data, models, optim, serialization
from numnet.commands._arguments import (
    finite_nonnegative_float,
    finite_positive_float,
    fraction,
    init_scheme,
    nonnegative_int,
    positive_int,
)
from numnet.commands._errors import CommandError
from numnet.data import transforms

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def _setting(default, text: str, choices=None, check=None):
    """A field of ``Settings``: its default, and the help (``{default}`` is replaced by the
    default), choices and check of its flag. ``check`` (a rule of ``commands._arguments``)
    is the flag's argparse ``type=`` (for a list, each item's) and is run again on settings
    read back from a run folder."""
    metadata = {"help": text, "choices": choices, "check": check}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings of a training run, one ``numnet train`` flag each (``--batch-size`` for
    ``batch_size``): a field's type is its flag's type, its default the flag's default.

    A run folder's checkpoints store them as ``config["settings"]`` (``to_dict``), in the
    order of the fields; ``from_dict`` reads them back to resume or evaluate the run.

    Raises:
        ValueError: a setting that breaks its flag's rule (its ``check``: a non-positive
            ``epochs`` or ``lr``, a ``momentum`` outside [0, 1), an unknown ``init``, ...);
            the message names the flag and the value.
    """

    model: str = _setting("lenet5", "(default {default})", choices=sorted(models.MODELS))
    dataset: str = _setting("digits", "digits, mnist, fashion-mnist or cifar10 "
                                      "(default {default})")
    data_dir: str | None = _setting(None, "folder with the dataset's files")
    epochs: int = _setting(40, "(default {default})", check=positive_int)
    batch_size: int = _setting(32, "(default {default}); under mpirun the global batch, "
                                   "split over the ranks", check=positive_int)
    lr: float = _setting(0.05, "learning rate eta (default {default})",
                         check=finite_positive_float)
    optimizer: str = _setting("sgd", "(default {default})", choices=OPTIMIZERS)
    momentum: float = _setting(0.9, "(default {default})", check=fraction)
    weight_decay: float = _setting(5e-4, "L2 penalty (default {default})",
                                   check=finite_nonnegative_float)
    activation: str = _setting("relu", "(default {default})",
                               choices=("relu", "tanh", "sigmoid", "leaky_relu"))
    init: str | None = _setting(None, "weight initialization by name, e.g. xavier, he, "
                                      "he_fan_avg (default: PyTorch's)", check=init_scheme)
    seed: int = _setting(0, "(default {default})", check=nonnegative_int)
    scheduler: str = _setting("cosine", "learning-rate schedule (default {default})",
                              choices=SCHEDULERS)
    clip_grad: float | None = _setting(None, "clip the gradient norm to this value",
                                       check=finite_positive_float)
    patience: int | None = _setting(None, "early stopping after this many epochs without "
                                          "improvement of --monitor", check=positive_int)
    monitor: str = _setting("val_loss", "metric that picks the best model (best.npz) and "
                                        "drives early stopping (default {default})",
                            choices=("val_loss", "val_accuracy", "train_loss",
                                     "train_accuracy"))
    val_fraction: float = _setting(0.1, "share of the training set held out for validation "
                                        "(default {default})", check=fraction)
    limit_train: int | None = _setting(None, "train on a random subset of this size",
                                       check=positive_int)
    limit_test: int | None = _setting(None, "test on a random subset of this size",
                                      check=positive_int)
    augment: bool = _setting(True, "random shifts (and flips for CIFAR-10) of the training "
                                   "images (default on)")
    hidden: list[int] = _setting([128, 64], "hidden sizes of --model mlp (default {default})",
                                 check=positive_int)

    def __post_init__(self) -> None:
        """The rules of the flags, again: settings also come from a run folder's JSON."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            check = field.metadata["check"]
            if value is None or check is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                try:
                    check(item)
                except argparse.ArgumentTypeError as error:
                    flag = "--" + field.name.replace("_", "-")
                    raise ValueError(f"{flag} {error}") from None

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One flag per field. A flag that is not given parses as None (``from_args`` keeps
        the base setting then), so a resumed run keeps what it was started with."""
        hints = typing.get_type_hints(cls)
        fields = {field.name: field for field in dataclasses.fields(cls)}
        order = list(fields)
        order.remove("monitor")  # --help lists --monitor before --patience, which names it
        order.insert(order.index("patience"), "monitor")
        for name in order:
            field, hint = fields[name], hints[name]
            default = (field.default_factory() if field.default is dataclasses.MISSING
                       else field.default)
            shown = " ".join(map(str, default)) if isinstance(default, list) else default
            kwargs = {"dest": name, "default": None,
                      "help": field.metadata["help"].format(default=shown)}
            if field.metadata["choices"] is not None:
                kwargs["choices"] = field.metadata["choices"]
            check = field.metadata["check"]
            if hint is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif typing.get_origin(hint) is list:
                kwargs.update(type=check or typing.get_args(hint)[0], nargs="+")
            else:  # T or T | None
                kwargs["type"] = check or next(t for t in typing.get_args(hint) or (hint,)
                                               if t is not type(None))
            parser.add_argument("--" + name.replace("_", "-"), **kwargs)

    @classmethod
    def for_dataset(cls, dataset: str | None) -> Settings:
        """The default settings of a run on ``dataset``: the base defaults with the
        dataset's recipe (``RECIPES``) in place of them; an unknown name keeps the base
        defaults (building the data names the error then)."""
        dataset = cls.dataset if dataset is None else dataset
        try:
            recipe = RECIPES.get(data.canonical_name(dataset), {})
        except ValueError:
            recipe = {}
        return cls(dataset=dataset, **recipe)

    def from_args(self, args: argparse.Namespace) -> Settings:
        """These settings with the flags given in ``args`` (parsed with ``add_arguments``)
        replacing them."""
        given = {field.name: getattr(args, field.name) for field in dataclasses.fields(self)
                 if getattr(args, field.name, None) is not None}
        return dataclasses.replace(self, **given)

    def to_dict(self) -> dict:
        """The JSON form stored in checkpoints: field name -> value, in field order."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, stored: dict) -> Settings:
        """Settings from their stored form (``to_dict``)."""
        names = [field.name for field in dataclasses.fields(cls)]
        unknown = [key for key in stored if key not in names]
        if unknown:
            raise ValueError(f"unknown training settings {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(names)}")
        return cls(**stored)


RECIPES = {
    # dataset: the settings its default run uses instead of the base defaults, chosen by
    # measured runs (README, "Default recipes"); every flag given still overrides them.
    "fashion-mnist": {"model": "cnn_bn", "epochs": 10, "batch_size": 128, "augment": False},
    "mnist": {"model": "cnn_bn", "epochs": 10, "batch_size": 128, "augment": False},
}


def recipes_help() -> str:
    """The per-dataset defaults, as ``numnet train --help`` lists them (one paragraph)."""
    parts = []
    for name, recipe in RECIPES.items():
        flags = [f"--{key.replace('_', '-')} {value}" if not isinstance(value, bool)
                 else f"--{'' if value else 'no-'}{key.replace('_', '-')}"
                 for key, value in recipe.items()]
        parts.append(f"{name}: {' '.join(flags)}")
    return ("Per-dataset defaults, in place of the defaults above (a flag given wins): "
            + "; ".join(parts) + ".")


def model_config(settings: Settings, info) -> dict:
    """The model's JSON config for a dataset (channels, side, classes from its metadata)."""
    channels, side, _ = info.input_shape
    name = settings.model
    if name == "mlp":
        sizes = [int(numpy.prod(info.input_shape)), *settings.hidden, info.num_classes]
        return {"name": "mlp", "sizes": sizes, "activation": settings.activation,
                "init": settings.init, "dropout": 0.0}
    if name in ("lenet5", "cifar_cnn"):
        return {"name": name, "in_channels": channels, "num_classes": info.num_classes,
                "activation": settings.activation, "input_size": side,
                "init": settings.init}
    if name in ("cnn_bn", "resnet"):
        if settings.activation != "relu":
            raise ValueError(f"--model {name} is a ReLU network: it takes no --activation "
                             f"{settings.activation}")
        return {"name": name, "in_channels": channels, "num_classes": info.num_classes,
                "input_size": side, "init": settings.init}
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(sorted(models.MODELS))}")


def input_transform(info) -> transforms.Transform:
    """Per-channel normalisation with the dataset's training mean and std."""
    return transforms.Normalize(info.mean, info.std)


def train_transform(settings: Settings, info) -> transforms.Transform:
    """Normalisation, plus random shifts (crops with padding side/8: 1 pixel for 8x8 digits,
    4 for CIFAR-10) and, for CIFAR-10, horizontal flips when ``augment`` is set."""
    normalize = input_transform(info)
    if not settings.augment:
        return normalize
    side = info.input_shape[1]
    steps = [transforms.RandomCrop(side, padding=max(1, side // 8))]
    if info.name == "cifar10":
        steps.append(transforms.RandomHorizontalFlip())
    return transforms.Compose(steps + [normalize])


def _limit(dataset, count, generator):
    if count is None or count >= len(dataset):
        return dataset
    return data.random_split(dataset, [count, len(dataset) - count], generator=generator)[0]


def build_data(settings: Settings):
    """(info, train loader, validation loader or None, test loader) for the settings."""
    info = data.get_info(settings.dataset)
    train_set, test_set = data.get_dataset(settings.dataset, settings.data_dir)
    split_generator = numnet.Generator(settings.seed)
    train_set = _limit(train_set, settings.limit_train, split_generator)
    test_set = _limit(test_set, settings.limit_test, split_generator)
    val_loader = None
    fraction = settings.val_fraction
    if fraction:
        n_val = max(1, int(round(len(train_set) * fraction)))
        if n_val >= len(train_set):
            raise ValueError(f"--val-fraction {fraction} of {len(train_set)} training images "
                             f"leaves none to train on: use a larger --limit-train or a "
                             f"smaller --val-fraction (0 for no validation)")
        train_set, val_set = data.random_split(train_set, [len(train_set) - n_val, n_val],
                                               generator=split_generator)
        val_loader = data.DataLoader(val_set, batch_size=256, transform=input_transform(info))
    train_loader = data.DataLoader(train_set, batch_size=settings.batch_size, shuffle=True,
                                   seed=settings.seed,
                                   transform=train_transform(settings, info))
    test_loader = data.DataLoader(test_set, batch_size=256, transform=input_transform(info))
    return info, train_loader, val_loader, test_loader


def build_optimizer(settings: Settings, parameters):
    name = settings.optimizer
    lr, decay = settings.lr, settings.weight_decay
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=settings.momentum, weight_decay=decay)
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=decay)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr, weight_decay=decay or 0.01)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=settings.momentum,
                             weight_decay=decay)
    raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def build_scheduler(settings: Settings, optimizer, steps_per_epoch: int):
    """(scheduler or None, 'epoch' or 'batch')."""
    name, epochs = settings.scheduler, settings.epochs
    if name == "none":
        return None, "epoch"
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3),
                                         gamma=0.1), "epoch"
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), "epoch"
    if name == "onecycle":
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings.lr, epochs=epochs,
                                             steps_per_epoch=steps_per_epoch), "batch"
    raise ValueError(f"unknown scheduler {name!r}; choose from {', '.join(SCHEDULERS)}")


def find_checkpoint(path) -> Path:
    """A checkpoint path from a run folder (its trained ``model.npz``; for a run that did
    not finish, its ``best.npz`` or ``last.npz``) or a ``.npz`` file."""
    path = Path(path)
    if path.is_dir():
        for name in ("model.npz", "best.npz", "last.npz"):
            if (path / name).exists():
                return path / name
        raise FileNotFoundError(f"no model.npz, best.npz or last.npz in {path}: is it a "
                                "numnet run folder?")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return path


def load_model(path, task: str = "image"):
    """(model in eval mode, training state) from a checkpoint or run folder of a ``task``
    ("image" or "text") run."""
    state = numnet.load(find_checkpoint(path))
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise ValueError(f"{path} is not a numnet training checkpoint")
    found = state["config"].get("task", "image")
    if found != task:
        hint = (f"numnet sample {path} generates text from it" if found == "text" else
                "numnet sample takes runs of numnet train --task text")
        raise ValueError(f"{path} is a run of numnet train --task {found}, not of --task "
                         f"{task}: {hint}")
    model = models.build_model(state["config"]["model"])
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


# ---------------------------------------------------------------------- run folders
RUN_FILES = ("model.npz", "best.npz", "last.npz", "history.json")
"""The files that make a folder a run folder: ``train --out`` refuses a folder holding any
of them unless ``--overwrite`` is given."""
RUN_OUTPUTS = RUN_FILES + ("history.csv", "curves.png", "confusion.png", "filters.png")
"""Everything ``numnet train`` writes into a run folder (``--overwrite`` replaces them)."""
LOCK_NAME = ".lock"
"""The lock file of a run folder: ``flock``'ed by the process training in it, its pid
inside."""


WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                 errno.EPERM)
"""Failed writes that are the machine's state, not a bug: reported in one line."""


def write_failure(error: OSError, run_dir: Path) -> str:
    """The one-line report of a failed write: what failed, what is left, what to do."""
    full = error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    fix = "make room on the disk" if full else "make the folder writable"
    where = shlex.quote(str(run_dir))
    then = (f"then continue with: numnet train --resume {where}"
            if (run_dir / "last.npz").exists() else "then start the run again")
    return (f"cannot write {error.filename or run_dir}: {error.strerror}; the files already "
            f"in {run_dir} are intact (no partial file is left): {fix}, {then}")


def resume_paths(path: Path) -> tuple:
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


def replace_old_run(run_dir: Path, save_last) -> None:
    """``--overwrite``: ``save_last()`` writes the new run's first checkpoint over the old
    ``last.npz``, then the old run's other files go (nothing of the old run is removed
    before the new one has written)."""
    old = [name for name in RUN_OUTPUTS if (run_dir / name).exists()]
    if not old:
        return
    save_last()
    for name in old:
        if name != "last.npz":
            (run_dir / name).unlink(missing_ok=True)
    print(f"--overwrite: replacing the run in {run_dir} ({', '.join(old)})", file=sys.stderr)


def run_files(path: Path) -> list:
    """The names of ``RUN_FILES`` present in the folder ``path``."""
    return [name for name in RUN_FILES if (path / name).exists()]


def check_out_folder(path: Path, overwrite: bool) -> None:
    """Refuse, as a one-line ``CommandError``, an ``--out`` that cannot take a new run:
    an existing file, a path under a file, a folder that cannot be written, or one that
    holds a run already (unless ``overwrite``). Reads only: nothing is created."""
    if path.exists() and not path.is_dir():
        raise CommandError(f"--out {path} is a file, not a folder: choose another --out")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(f"--out {path}: {existing} is a file, so no folder can be made "
                           "under it: choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"--out {path}: cannot write in {existing} (permission denied): "
                           "choose another --out")
    found = run_files(path) if path.is_dir() else []
    if found and not overwrite:
        raise CommandError(f"--out {path} already holds a run ({', '.join(found)}): "
                           f"continue it with --resume {path}, replace it with --overwrite, "
                           "or choose another --out")


def _lock_holder(fd: int) -> str:
    """The pid written in a lock file held by another process (it writes it right after
    taking the lock: wait a moment for it)."""
    for _ in range(50):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text:
            return text
        time.sleep(0.01)
    return "unknown"


@contextlib.contextmanager
def locked_run_folder(path: Path, flag: str):
    """Hold the run folder ``path`` (created if missing) for this process alone.

    An exclusive ``fcntl.flock`` on ``path/.lock`` (which gets this process's pid) for the
    duration of the ``with``; the operating system releases it when the process ends, even
    by SIGKILL, so a crashed run never leaves the folder locked. A second process refuses
    with a ``CommandError`` naming the holder's pid. Once the lock is held, the temporary
    files that killed atomic saves left in the folder are removed (no other writer can be
    using them then).

    Args:
        path: the run folder.
        flag: the flag that named it (``--out`` or ``--resume``), for the messages.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise CommandError(f"{flag} {path}: cannot write there "
                           f"({error.strerror or error})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CommandError(f"{path} is in use by another numnet process (pid "
                               f"{_lock_holder(fd)}): wait for it to finish, or choose "
                               "another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        removed = serialization.remove_temporaries(path)
        if removed:
            print(f"note: removed {len(removed)} temporary file(s) of an interrupted save "
                  f"from {path}: {', '.join(removed)}", file=sys.stderr)
        yield
    finally:
        os.close(fd)  # releases the lock
