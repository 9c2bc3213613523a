"""``benchmarks/compare_torch.py --smoke`` runs end to end (tiny models, one round).

Not a timing test: it only checks that the benchmark still works and prints its table.
"""

import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "compare_torch.py"


def test_compare_torch_smoke():
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "numnet ms" in out and "torch ms" in out and "ratio" in out
    for model in ("mlp", "lenet5", "cifar_cnn", "resnet", "mnist_example", "transformer",
                  "depthwise_sep"):
        assert f"\n{model} " in out, model
        assert f"numnet per-op time, {model}" in out
    assert "Conv2dReLU" in out  # conv, ReLU and pooling fused by nn.Sequential
    assert "numnet's BLAS:" in out
    assert "tiny op a*b" in out and "10x10 Linear training step" in out
