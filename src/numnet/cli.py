"""The ``numnet`` command line (also ``python -m numnet``).

Each subcommand lives in ``numnet/commands/<name>.py`` with a ``register(subparsers)``
function; this module only collects them, parses, and turns expected errors into one line.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import numnet
from numnet import commands
from numnet.commands._errors import CommandError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="numnet",
        description="numnet: deep learning from first principles, in NumPy.")
    parser.add_argument("--version", action="version", version=f"numnet {numnet.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"numnet.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CommandError as error:
        print(f"numnet {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"numnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
