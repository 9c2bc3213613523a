"""``numnet datasets``: which datasets numnet knows, and where their files were found."""

from __future__ import annotations

from numnet import data


def register(subparsers) -> None:
    p = subparsers.add_parser("datasets", help="list datasets and where they were found")
    p.add_argument("--data-dir", help="also look in this folder")
    p.set_defaults(func=run)


def run(args) -> int:
    rows = []
    for name in data.dataset_names():
        info = data.get_info(name)
        where = data.locate(name, args.data_dir)
        shape = "x".join(str(n) for n in info.input_shape)
        rows.append((name, shape, f"{info.train_size}/{info.test_size}",
                     where or f"not found (get it from {info.source}; pass --data-dir)",
                     info.description))
    headers = ("name", "shape", "train/test", "found at", "description")
    widths = [max(len(r[i]) for r in rows + [headers]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  " + headers[4])
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])
    return 0
