"""``numnet lecture``: rerun the lecture's experiments (``numnet lecture list`` lists them).

``numnet lecture NAME`` prints the experiment's table and writes its figures (PNG) to
``--out`` (default ``./lecture-out``); ``--quick`` uses small sizes. Experiment options
(``--init xavier --activation relu`` for weight-init, ``--dataset`` / ``--data-dir`` /
``--epochs`` for the trained ones, ...) apply to the experiments that take them.
"""

from __future__ import annotations

import inspect
import sys

from numnet.commands._arguments import (
    finite_positive_float,
    init_scheme,
    nonnegative_int,
    positive_int,
)
from numnet.commands._errors import CommandError, user_errors

OPTIONS = (
    ("--init", "init", init_scheme, "weight-init: initialization scheme (e.g. normal, "
                                    "normal_0.01, xavier, he_lecture, he)"),
    ("--activation", "activation", str, "weight-init: linear, sigmoid, tanh, relu, leaky_relu; "
                                        "cnn-inside: the CNN's activation"),
    ("--layers", "layers", positive_int, "weight-init: hidden layers (default 5)"),
    ("--units", "units", positive_int, "weight-init: units per layer (default 100)"),
    ("--inputs", "inputs", positive_int, "weight-init: input vectors from N(0, 1) "
                                         "(default 1000)"),
    ("--dataset", "dataset", str, "cnn-inside, relu-vs-tanh: digits, mnist, fashion-mnist, "
                                  "cifar10"),
    ("--data-dir", "data_dir", str, "cnn-inside, relu-vs-tanh: folder with the dataset's files"),
    ("--epochs", "epochs", positive_int, "cnn-inside, relu-vs-tanh, rnn: training epochs"),
    ("--lr", "lr", finite_positive_float, "cnn-inside: learning rate"),
    ("--seed", "seed", nonnegative_int, "random seed (weight-init, cnn-inside, relu-vs-tanh, "
                                        "rnn)"),
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lecture", help="rerun the lecture's experiments: tables and figures",
        description="Rerun one of the lecture's experiments: print its numbers and write its "
                    "figures. `numnet lecture list` lists the experiments.")
    p.add_argument("name", metavar="NAME", help="an experiment (see `numnet lecture list`), "
                                                 "or 'list'")
    p.add_argument("--out", default="lecture-out",
                   help="folder for the figures (default: ./lecture-out)")
    p.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    p.add_argument("--progress", action="store_true",
                   help="show training progress on stderr (default: when it is a terminal)")
    for flag, dest, kind, text in OPTIONS:
        p.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    p.set_defaults(func=run)


def _list(experiments) -> int:
    width = max(len(name) for name in experiments)
    for name, (_, description) in experiments.items():
        print(f"{name.ljust(width)}  {description}")
    return 0


def _takers(experiments, dest: str) -> list:
    return [name for name, (fn, _) in experiments.items()
            if dest in inspect.signature(fn).parameters]


def run(args) -> int:
    # imported here: ``numnet.cli`` imports every command at start-up, and the experiments
    # would add about 35 ms to each ``numnet`` call (there is no cycle to avoid)
    from numnet import lecture
    experiments = lecture.EXPERIMENTS
    if args.name == "list":
        return _list(experiments)
    if args.name not in experiments:
        raise CommandError(f"unknown experiment {args.name!r}; choose one of "
                           f"{', '.join(experiments)} (or 'list')")
    fn, _ = experiments[args.name]
    accepted = inspect.signature(fn).parameters
    options = {}
    for flag, dest, _, _ in OPTIONS:
        value = getattr(args, dest)
        if value is None:
            continue
        if dest not in accepted:
            takers = _takers(experiments, dest)
            raise CommandError(f"{flag} does not apply to {args.name}; it applies to "
                               f"{', '.join(takers) or 'no experiment'}")
        options[dest] = value
    if "progress" in accepted:
        options["progress"] = bool(args.progress or sys.stderr.isatty())
    with user_errors(ValueError):  # DatasetError is a ValueError too
        result = fn(out=args.out, quick=args.quick, **options)
    print(result.text)
    if result.files:
        print()
        print(f"written to {args.out}:")
        for path in result.files:
            size = result.figures.get(path)
            print(f"  {path}" + (f"  ({size[0]} x {size[1]} px)" if size else ""))
    return 0
