"""``numnet evaluate``: loss, accuracy and confusion matrix of a trained model."""

from __future__ import annotations

import json

from numnet import data
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import Settings, input_transform, load_model
from numnet.train import Trainer


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="test a trained model: loss, accuracy, confusion matrix",
        description="Evaluate a checkpoint on the test split of its dataset, or of "
                    "--dataset. Given a run folder, its model.npz: the final trained model "
                    "(the best one where early stopping ended the run); RUN/best.npz is "
                    "the best by the run's --monitor, RUN/last.npz the last completed "
                    "epoch (for a run that did not finish, best.npz, then last.npz).")
    p.add_argument("checkpoint", metavar="RUNDIR_OR_CKPT",
                   help="a run folder or one of its .npz checkpoints")
    p.add_argument("--dataset", help="dataset to test on (default: the one it was trained on)")
    p.add_argument("--data-dir", help="folder with the dataset's files")
    p.add_argument("--split", choices=("test", "train"), default="test")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    with user_errors(OSError, ValueError):
        model, state = load_model(args.checkpoint)
        settings = Settings.from_dict(state["config"]["settings"])
    name = args.dataset or settings.dataset
    data_dir = args.data_dir if args.data_dir is not None else settings.data_dir
    with user_errors(ValueError, KeyError):  # DatasetError is a ValueError too
        info = data.get_info(name)
        dataset = data.load_dataset(name, data_dir, split=args.split)
    expected = tuple(state["config"]["dataset"]["input_shape"])
    if tuple(info.input_shape) != expected:
        raise CommandError(f"the model takes inputs of shape {expected}, but {name} has "
                           f"{tuple(info.input_shape)}")
    loader = data.DataLoader(dataset, batch_size=256, transform=input_transform(info))
    trainer = Trainer(model, optimizer=None, num_classes=info.num_classes, progress=False)
    result = trainer.evaluate(loader)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{name} {args.split}: {len(dataset)} images")
    print(f"loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    width = max(len(str(v)) for row in result["confusion"] for v in row)
    label_width = max(len(c) for c in info.classes)
    for label, row, per_class in zip(info.classes, result["confusion"],
                                     result["per_class_accuracy"]):
        cells = " ".join(str(v).rjust(width) for v in row)
        accuracy = "  n/a" if per_class is None else f"{per_class:.3f}"
        print(f"  {label.rjust(label_width)}  {cells}   {accuracy}")
    return 0
