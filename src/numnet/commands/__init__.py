"""Subcommands of ``numnet``: each module here defines ``register(subparsers)``.

``register`` adds one argparse subparser and sets ``func`` to a function taking the parsed
arguments and returning the exit code. ``numnet.cli`` discovers the modules in this package (names starting with ``_`` are
helpers, not commands).
"""
