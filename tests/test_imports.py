"""numnet's imports run one way, down its layers: the graph of its modules' imports, imports
inside functions included, has no cycle, and no module imports a layer below its own."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "numnet"


def module_files(root: Path) -> dict:
    """``{dotted name: path}`` of every module of the package in the folder ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(name: str, path: Path, node, modules: dict) -> list:
    """The modules of ``modules`` that the import statement ``node`` in ``name`` loads.

    ``import a.b`` and ``from a import b`` load ``a.b`` when it is a module; ``from a import
    f`` (f not a module) loads ``a``. The parent packages that Python also runs first are
    not counted: every submodule would otherwise depend on its package's ``__init__``.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in modules]
    if node.level:
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        source = f"{base}.{node.module}" if node.module else base
    else:
        source = node.module
    if source not in modules:
        return []
    targets = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        targets.append(submodule if submodule in modules else source)
    return targets


def import_graph(root: Path) -> dict:
    """``{module: {imported module: line}}`` for every module under ``root``, counting every
    import statement anywhere in the file (in functions, in ``if`` blocks, ...)."""
    modules = module_files(root)
    graph = {}
    for name, path in modules.items():
        edges = graph[name] = {}
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(name, path, node, modules):
                    edges.setdefault(target, node.lineno)
    return graph


def find_cycle(graph: dict) -> list | None:
    """A cycle ``[m0, m1, ..., m0]`` of ``graph`` (each importing the next), or None.

    Depth-first search with an explicit stack; a module met again while it is still on the
    current path closes a cycle.
    """
    done = set()
    for start in sorted(graph):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        pending = [iter(sorted(graph[start]))]
        while pending:
            for target in pending[-1]:
                if target in on_path:
                    return path[path.index(target):] + [target]
                if target not in done:
                    path.append(target)
                    on_path.add(target)
                    pending.append(iter(sorted(graph[target])))
                    break
            else:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
    return None


def describe(cycle: list, graph: dict) -> str:
    steps = [f"{a} -> {b} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])]
    return "import cycle:\n  " + "\n  ".join(steps)


# The layers, each importing only those before it (and modules of its own layer): the order
# of DESIGN.md, with the small modules it does not name put where they belong. "numnet" is
# the package's __init__, the public API that the scripts on top of it import.
LAYERS = ("backend", "devices", "cuda", "accelerator", "random", "autograd", "tensor_repr",
          "tensor", "creation", "gradcheck", "distributed",
          "ops", "autograd.functional", "nn", "optim", "utils", "data", "serialization", "onnx",
          "char_lm", "models", "train", "viz",
          "numnet", "lecture", "commands", "cli", "__main__")


def layer_of(module: str) -> str:
    """``numnet.ops.conv`` -> ``ops``; the package itself -> ``numnet``;
    ``numnet.autograd.functional`` (derivatives of whole functions, built on the ops) is a
    layer of its own above the ops."""
    if module == "numnet.autograd.functional":
        return "autograd.functional"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_import_runs_up_the_layer_list():
    graph = import_graph(SRC)
    assert {layer_of(module) for module in graph} == set(LAYERS)
    upward = [f"{a} -> {b} (line {line})" for a, targets in graph.items()
              for b, line in targets.items()
              if LAYERS.index(layer_of(b)) > LAYERS.index(layer_of(a))]
    assert not upward, "imports of a later layer:\n  " + "\n  ".join(upward)


def test_numnet_has_no_import_cycle():
    graph = import_graph(SRC)
    assert graph["numnet.tensor"].keys() >= {"numnet.autograd", "numnet.backend"}
    cycle = find_cycle(graph)
    assert cycle is None, describe(cycle, graph)


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg import low\n")
    (package / "low.py").write_text("def f():\n    from .sub import high\n    return high\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "high.py").write_text("from pkg.low import f\n")
    graph = import_graph(package)
    assert graph["pkg.low"] == {"pkg.sub.high": 2}
    assert describe(find_cycle(graph), graph) == (
        "import cycle:\n  pkg.low -> pkg.sub.high (line 2)\n  pkg.sub.high -> pkg.low (line 1)")
    (package / "low.py").write_text("import os\n")
    assert find_cycle(import_graph(package)) is None
