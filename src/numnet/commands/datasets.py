"""``numnet datasets``: which datasets numnet knows, and where their files were found."""

from __future__ import annotations

import textwrap

from numnet import data


def register(subparsers) -> None:
    p = subparsers.add_parser("datasets", help="list datasets and where they were found")
    p.add_argument("--data-dir", help="also look in this folder")
    p.set_defaults(func=run)


def run(args) -> int:
    """One line per dataset (name, shape, train/test sizes), then its description and where
    its files were found (or how to get them), wrapped to 80 columns."""
    print(f"{'name':<15}{'shape':<10}train/test")
    for name in data.dataset_names():
        info = data.get_info(name)
        where = data.locate(name, args.data_dir)
        shape = "x".join(str(n) for n in info.input_shape)
        print(f"{name:<15}{shape:<10}{info.train_size}/{info.test_size}")
        found = (f"found: {where}" if where else
                 f"not found: get it from {info.source} and pass --data-dir")
        for text in (info.description, found):
            print(textwrap.fill(text, width=80, initial_indent="  ", subsequent_indent="    ",
                                break_on_hyphens=False))
    return 0
