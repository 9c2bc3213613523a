"""A training run as the command line sees it: its ``Settings``, the dataset, model,
optimizer and scheduler built from them, and the checkpoints of its run folder.

``numnet train`` makes ``Settings`` from its flags and stores them in every checkpoint of
the run folder (``config["settings"]``); ``--resume``, ``numnet evaluate`` and ``predict``
rebuild the same run from the stored settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path

import numpy

import numnet
from numnet import data, models, optim
from numnet.data import transforms

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def _setting(default, text: str, choices=None):
    """A field of ``Settings``: its default, and the help (``{default}`` is replaced by the
    default) and choices of its flag."""
    metadata = {"help": text, "choices": choices}
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
        ValueError: a non-positive ``epochs``, ``batch_size`` or ``lr``, or a
            ``val_fraction`` outside [0, 1).
    """

    model: str = _setting("lenet5", "(default {default})", choices=sorted(models.MODELS))
    dataset: str = _setting("digits", "digits, mnist, fashion-mnist or cifar10 "
                                      "(default {default})")
    data_dir: str | None = _setting(None, "folder with the dataset's files")
    epochs: int = _setting(40, "(default {default})")
    batch_size: int = _setting(32, "(default {default})")
    lr: float = _setting(0.05, "learning rate eta (default {default})")
    optimizer: str = _setting("sgd", "(default {default})", choices=OPTIMIZERS)
    momentum: float = _setting(0.9, "(default {default})")
    weight_decay: float = _setting(5e-4, "L2 penalty (default {default})")
    activation: str = _setting("relu", "(default {default})",
                               choices=("relu", "tanh", "sigmoid", "leaky_relu"))
    init: str | None = _setting(None, "weight initialization by name, e.g. xavier, he, "
                                      "he_fan_avg (default: PyTorch's)")
    seed: int = _setting(0, "(default {default})")
    scheduler: str = _setting("cosine", "learning-rate schedule (default {default})",
                              choices=SCHEDULERS)
    clip_grad: float | None = _setting(None, "clip the gradient norm to this value")
    patience: int | None = _setting(None, "early stopping after this many epochs without "
                                          "improvement of --monitor")
    monitor: str = _setting("val_loss", "metric that picks the best model (best.npz) and "
                                        "drives early stopping (default {default})",
                            choices=("val_loss", "val_accuracy", "train_loss",
                                     "train_accuracy"))
    val_fraction: float = _setting(0.1, "share of the training set held out for validation "
                                        "(default {default})")
    limit_train: int | None = _setting(None, "train on a random subset of this size")
    limit_test: int | None = _setting(None, "test on a random subset of this size")
    augment: bool = _setting(True, "random shifts (and flips for CIFAR-10) of the training "
                                   "images (default on)")
    hidden: list[int] = _setting([128, 64], "hidden sizes of --model mlp (default {default})")

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("--epochs, --batch-size and --lr must be positive")
        if not 0 <= self.val_fraction < 1:
            raise ValueError("--val-fraction must be in [0, 1)")

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
            if hint is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            elif typing.get_origin(hint) is list:
                kwargs.update(type=typing.get_args(hint)[0], nargs="+")
            else:  # T or T | None
                kwargs["type"] = next(t for t in typing.get_args(hint) or (hint,)
                                      if t is not type(None))
            parser.add_argument("--" + name.replace("_", "-"), **kwargs)

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
    raise ValueError(f"unknown model {name!r}; choose from mlp, lenet5, cifar_cnn")


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


def load_model(path):
    """(model in eval mode, training state) from a checkpoint or run folder."""
    state = numnet.load(find_checkpoint(path))
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise ValueError(f"{path} is not a numnet training checkpoint")
    model = models.build_model(state["config"]["model"])
    model.load_state_dict(state["model"])
    model.eval()
    return model, state
