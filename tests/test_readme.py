"""The README's API example runs as written, and its set-up commands are the ones CI uses."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_api_example_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no python example"
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert namespace["loss"].shape == () and namespace["model"][0].weight.grad is not None


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/pip install -e '.[test]'" in readme and ".venv/bin/python -m pytest" in readme
    assert ".venv/bin/pip install -q -e '.[test]'" in ci and ".venv/bin/python -m pytest" in ci
    for package in ("graphviz", "dataset-fashion-mnist"):
        assert package in readme and package in ci
