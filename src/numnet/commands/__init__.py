"""Subcommands of ``numnet``: each module here defines ``register(subparsers)``.

``register`` adds one argparse subparser and sets ``func`` to a function taking the parsed
arguments and returning the exit code. ``numnet.cli`` discovers the modules in this package;
names starting with ``_`` are helpers, not commands: ``_errors`` (``CommandError`` and
``user_errors``, the one-line errors) and ``_runs`` (a training run's ``Settings``, and the
data, model, optimizer and checkpoints built from them).

Imports run one way: ``numnet.cli`` -> the commands -> the helpers -> the library.
"""
