"""The scripts in ``examples/`` run unchanged under numnet and, with ``numnet`` replaced by
``torch`` in their import lines only, under PyTorch; both runs must learn equally well."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"

# per script: its arguments, and per result key a bound both runs must meet and how far
# numnet's figure may be from torch's (the runs start from different random weights)
CASES = {
    "digits_cnn.py": (["--epochs", "4"], {"accuracy": (">=", 0.85, 0.08)}),
    "custom_dataset.py": (["--epochs", "5"], {"accuracy": (">=", 0.9, 0.05)}),
    "regression.py": (["--steps", "600"], {"val_loss": ("<=", 0.01, 0.01),
                                           "max_residual": ("<=", 0.2, 0.15)}),
}


def as_torch(source: str) -> str:
    """The script with ``numnet`` replaced by ``torch`` in its import lines, nowhere else."""
    return "\n".join(re.sub(r"\bnumnet\b", "torch", line)
                     if re.match(r"(import|from) numnet\b", line) else line
                     for line in source.splitlines())


def run(path: pathlib.Path, arguments: list) -> dict:
    done = subprocess.run([sys.executable, str(path), *arguments], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


def test_as_torch_changes_only_import_lines():
    source = "import numnet as torch\nfrom numnet.utils.data import DataLoader\nx = 'numnet'\n"
    assert as_torch(source) == ("import torch as torch\nfrom torch.utils.data import "
                                "DataLoader\nx = 'numnet'")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs_under_numnet_and_torch(name, tmp_path):
    arguments, checks = CASES[name]
    torch_script = tmp_path / name
    torch_script.write_text(as_torch((EXAMPLES / name).read_text()))
    ours = run(EXAMPLES / name, arguments)
    theirs = run(torch_script, arguments)
    for key, (direction, bound, tolerance) in checks.items():
        for library, result in (("numnet", ours), ("torch", theirs)):
            good = result[key] >= bound if direction == ">=" else result[key] <= bound
            assert good, f"{name}: {library}'s {key} {result[key]:.4f} is not {direction} {bound}"
        assert abs(ours[key] - theirs[key]) <= tolerance, (
            f"{name}: {key} {ours[key]:.4f} in numnet, {theirs[key]:.4f} in torch")
