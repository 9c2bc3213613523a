"""A training run as the command line sees it: dataset + model + optimizer from settings,
and a run folder holding the settings, the checkpoints, the history and the plots.

``numnet train`` builds a run from its flags; ``numnet evaluate`` / ``predict`` /
``--resume`` rebuild the same run from the settings stored in a checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy

import numnet
from numnet import data, models, optim
from numnet.data import transforms

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")


def default_settings() -> dict:
    """The settings ``numnet train`` uses when no flag is given."""
    return {"model": "lenet5", "dataset": "digits", "data_dir": None, "epochs": 40,
            "batch_size": 32, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
            "weight_decay": 5e-4, "activation": "relu", "init": None, "seed": 0,
            "scheduler": "cosine", "clip_grad": None, "patience": None, "monitor": "val_loss",
            "val_fraction": 0.1, "limit_train": None, "limit_test": None, "augment": True,
            "hidden": [128, 64]}


def model_config(settings: dict, info) -> dict:
    """The model's JSON config for a dataset (channels, side, classes from its metadata)."""
    channels, side, _ = info.input_shape
    name = settings["model"]
    if name == "mlp":
        sizes = [int(numpy.prod(info.input_shape)), *settings["hidden"], info.num_classes]
        return {"name": "mlp", "sizes": sizes, "activation": settings["activation"],
                "init": settings["init"], "dropout": 0.0}
    if name in ("lenet5", "cifar_cnn"):
        return {"name": name, "in_channels": channels, "num_classes": info.num_classes,
                "activation": settings["activation"], "input_size": side,
                "init": settings["init"]}
    raise ValueError(f"unknown model {name!r}; choose from mlp, lenet5, cifar_cnn")


def input_transform(info) -> transforms.Transform:
    """Per-channel normalisation with the dataset's training mean and std."""
    return transforms.Normalize(info.mean, info.std)


def train_transform(settings: dict, info) -> transforms.Transform:
    """Normalisation, plus random shifts (crops with padding side/8: 1 pixel for 8x8 digits,
    4 for CIFAR-10) and, for CIFAR-10, horizontal flips when ``augment`` is set."""
    normalize = input_transform(info)
    if not settings.get("augment"):
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


def build_data(settings: dict):
    """(info, train loader, validation loader or None, test loader) for the settings."""
    info = data.get_info(settings["dataset"])
    train_set, test_set = data.get_dataset(settings["dataset"], settings["data_dir"])
    split_generator = numnet.Generator(settings["seed"])
    train_set = _limit(train_set, settings["limit_train"], split_generator)
    test_set = _limit(test_set, settings["limit_test"], split_generator)
    val_loader = None
    fraction = settings["val_fraction"]
    if fraction:
        n_val = max(1, int(round(len(train_set) * fraction)))
        train_set, val_set = data.random_split(train_set, [len(train_set) - n_val, n_val],
                                               generator=split_generator)
        val_loader = data.DataLoader(val_set, batch_size=256, transform=input_transform(info))
    train_loader = data.DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True,
                                   seed=settings["seed"],
                                   transform=train_transform(settings, info))
    test_loader = data.DataLoader(test_set, batch_size=256, transform=input_transform(info))
    return info, train_loader, val_loader, test_loader


def build_optimizer(settings: dict, parameters):
    name = settings["optimizer"]
    lr, decay = settings["lr"], settings["weight_decay"]
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=settings["momentum"], weight_decay=decay)
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=decay)
    if name == "adamw":
        return optim.AdamW(parameters, lr=lr, weight_decay=decay or 0.01)
    if name == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=settings["momentum"],
                             weight_decay=decay)
    raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def build_scheduler(settings: dict, optimizer, steps_per_epoch: int):
    """(scheduler or None, 'epoch' or 'batch')."""
    name, epochs = settings["scheduler"], settings["epochs"]
    if name == "none":
        return None, "epoch"
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3),
                                         gamma=0.1), "epoch"
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), "epoch"
    if name == "onecycle":
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["lr"], epochs=epochs,
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
