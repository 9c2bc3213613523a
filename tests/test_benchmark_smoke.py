"""``benchmarks/compare_torch.py --smoke`` and ``compare_revisions.py --smoke`` run end to
end (tiny models, one round).

Not a timing test: it only checks that the benchmark still works and prints its table.
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "compare_torch.py"


def test_compare_torch_smoke():
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "numnet ms" in out and "torch ms" in out and "ratio" in out
    for model in ("mlp", "lenet5", "cifar_cnn", "resnet", "cnn_bn", "mnist_example", "transformer",
                  "depthwise_sep"):
        assert f"\n{model} " in out, model
        assert f"numnet per-op time, {model}" in out
    assert "Conv2dReLU" in out  # conv, ReLU and pooling fused by nn.Sequential
    assert "numnet's BLAS:" in out
    assert "tiny op a*b" in out and "10x10 Linear training step" in out
    floors = out.split("numnet convolutions against the GEMM floor", 1)
    assert len(floors) == 2, "no GEMM-floor section"
    for layer in ("conv1", "conv2"):  # lenet5's fused Conv2dReLU layers are nn.Conv2d ones
        line = re.search(rf"^  lenet5 +{layer} .*$", floors[1], re.MULTILINE)
        assert line is not None, layer
        numnet_ms, floor_ms, ratio, gflops = map(float, line.group(0).split()[-5:-1])
        assert numnet_ms > 0 and floor_ms > 0 and gflops > 0
        rounding = ratio * (0.0005 / floor_ms + 0.0005 / numnet_ms) + 0.005  # printed digits
        assert abs(ratio - numnet_ms / floor_ms) <= rounding


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_compare_revisions_smoke():
    """HEAD against the working tree, one tiny model: a table row with both times and
    their ratio."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_revisions.py"),
                           "HEAD", "--smoke", "--models", "mlp", "--rounds", "1", "--steps",
                           "2", "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    row = re.search(r"^mlp +1 +([\d.]+) +([\d.]+) +([\d.]+) ", done.stdout, re.MULTILINE)
    assert row is not None, done.stdout
    before, after, ratio = map(float, row.groups())
    assert before > 0 and after > 0
    assert abs(ratio - after / before) <= 0.001 + ratio * (0.005 / before + 0.005 / after)


@pytest.mark.skipif(not pathlib.Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="needs Debian's dataset-fashion-mnist")
def test_epoch_vs_torch_smoke():
    """numnet's CLI and the PyTorch loop each train on 300 images, one round, 1 thread: a
    row with both wall times, their ratio and both test accuracies."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "epoch_vs_torch.py"),
                           "--limit-train", "300", "--rounds", "1", "--threads", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    row = re.search(r"^ +1 \| +([\d.]+) +[\d.]+ \| +([\d.]+) +[\d.]+ \| +([\d.]+) .*\| "
                    r"(0\.\d{4}) / (0\.\d{4})$", done.stdout, re.MULTILINE)
    assert row is not None, done.stdout
    numnet_s, torch_s, ratio = map(float, row.groups()[:3])
    assert numnet_s > 0 and torch_s > 0
    assert abs(ratio - numnet_s / torch_s) <= 0.005 + ratio * (0.05 / numnet_s + 0.05 / torch_s)
