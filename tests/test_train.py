"""The fit loop and the command line: determinism, resume, divergence, Ctrl-C, real runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest

import numnet
import numnet.nn as nn
from numnet import optim
from numnet.data import DataLoader, TensorDataset
from numnet.train import Trainer, TrainingDiverged, confusion_matrix, metrics_from_confusion

FASHION = Path("/usr/share/datasets/fashion-mnist")


def _blobs(n=240, seed=0):
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = numpy.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centres[labels] + rng.standard_normal((n, 2)) * 0.6
    return TensorDataset(x.astype(numpy.float32), labels.astype(numpy.int64))


def _trainer(run_dir=None, seed=0, dropout=0.2, **kwargs):
    numnet.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    loader = DataLoader(_blobs(), batch_size=32, shuffle=True, seed=seed)
    val = DataLoader(_blobs(seed=1), batch_size=64)
    trainer = Trainer(model, optimizer, scheduler=scheduler, run_dir=run_dir, progress=False,
                      num_classes=3, **kwargs)
    return trainer, loader, val


def _weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_metrics_from_confusion():
    confusion = confusion_matrix(numpy.array([0, 0, 1, 2, 2, 2]),
                                 numpy.array([0, 1, 1, 2, 2, 0]), 4)
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    metrics = metrics_from_confusion(confusion)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["per_class_accuracy"][:3] == pytest.approx([0.5, 1.0, 2 / 3])
    assert metrics["per_class_accuracy"][3] is None


def test_fit_learns_and_records_history(tmp_path):
    trainer, loader, val = _trainer(tmp_path)
    history = trainer.fit(loader, val, epochs=4)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["val_accuracy"] > 0.9
    assert [row["lr"] for row in history] == pytest.approx([0.1, 0.1, 0.05, 0.05])
    saved = json.loads((tmp_path / "history.json").read_text())
    assert saved["history"] == json.loads(json.dumps(history))
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_loss") and len(lines) == 5
    for name in ("model.npz", "best.npz", "last.npz"):
        assert (tmp_path / name).exists(), name
    result = trainer.evaluate(val)
    assert sum(map(sum, result["confusion"])) == 240


def test_same_seed_gives_bit_identical_history_and_weights():
    runs = []
    for _ in range(2):
        trainer, loader, val = _trainer()
        history = trainer.fit(loader, val, epochs=3)
        runs.append(([(r["train_loss"], r["val_loss"], r["train_accuracy"]) for r in history],
                     _weights(trainer.model)))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        assert numpy.array_equal(runs[0][1][key], runs[1][1][key])


def test_resume_gives_the_same_final_weights_bit_for_bit(tmp_path):
    full, loader, val = _trainer(tmp_path / "full")
    full.fit(loader, val, epochs=5)

    first, loader, val = _trainer(tmp_path / "split")
    first.fit(loader, val, epochs=2)
    numnet.manual_seed(12345)  # disturb the global generator: resume must restore it
    second, loader, val = _trainer(seed=99)  # different init, replaced by the checkpoint
    second.run_dir = tmp_path / "split"
    second.resume(tmp_path / "split" / "last.npz", loader)
    second.fit(loader, val, epochs=5)

    assert [r["train_loss"] for r in second.history] == [r["train_loss"] for r in full.history]
    final, expected = _weights(second.model), _weights(full.model)
    for key in expected:
        assert numpy.array_equal(final[key], expected[key]), key


def test_ctrl_c_keeps_a_resumable_checkpoint(tmp_path, capsys):
    trainer, loader, val = _trainer(tmp_path)

    class Interrupting:
        def __init__(self, inner, after):
            self.inner, self.after, self.seen = inner, after, 0

        def __len__(self):
            return len(self.inner)

        def __iter__(self):
            for batch in self.inner:
                self.seen += 1
                if self.seen == self.after:
                    raise KeyboardInterrupt
                yield batch

        def state_dict(self):
            return self.inner.state_dict()

    trainer.fit(Interrupting(loader, after=len(loader) + 3), val, epochs=4)
    assert trainer.stop_reason == "interrupted" and len(trainer.history) == 1
    assert "resume from" in capsys.readouterr().err
    state = numnet.load(tmp_path / "last.npz")
    assert state["epoch"] == 1

    reference, ref_loader, ref_val = _trainer()
    reference.fit(ref_loader, ref_val, epochs=3)
    resumed, loader, val = _trainer(seed=7)
    resumed.resume(tmp_path / "last.npz", loader)
    resumed.fit(loader, val, epochs=3)
    for key, value in _weights(reference.model).items():
        assert numpy.array_equal(_weights(resumed.model)[key], value)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_nan_loss_stops_with_step_and_layer():
    trainer, loader, val = _trainer(dropout=0.0)
    trainer.model[0].weight.data[0, 0] = numpy.inf
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step 1 .*parameter 0\.weight"):
        trainer.fit(loader, val, epochs=1)

    trainer, loader, val = _trainer(dropout=0.0)
    trainer.model[2].p = 0.0

    class Overflow(nn.Module):
        def forward(self, x):
            return x * 1e30 * 1e30

    trainer.model.append(Overflow())
    with pytest.raises(TrainingDiverged, match=r"first non-finite output in layer 4"):
        trainer.fit(loader, val, epochs=1)


def test_early_stopping_restores_the_best_weights(tmp_path):
    # monitor the learning rate (StepLR halves it after epoch 2): best at epoch 1, no
    # improvement in epoch 2, so patience 1 stops there, after epoch 2 changed the weights
    trainer, loader, val = _trainer(tmp_path, monitor="lr", patience=1)
    after_epoch_1 = {}
    original = trainer._update_best

    def spy(record):
        original(record)
        if record["epoch"] == 1:
            after_epoch_1.update(_weights(trainer.model))

    trainer._update_best = spy
    trainer.fit(loader, val, epochs=6)
    assert len(trainer.history) == 2 and trainer.stop_reason.startswith("early stopping")
    assert trainer.best_epoch == 1
    best = numnet.load(tmp_path / "best.npz")["model"]
    final = numnet.load(tmp_path / "model.npz")["model"]
    for key, value in trainer.model.state_dict().items():
        assert numpy.array_equal(value, after_epoch_1[key]), key
        assert numpy.array_equal(best[key], value) and numpy.array_equal(final[key], value)
    last = numnet.load(tmp_path / "last.npz")["model"]
    assert any(not numpy.array_equal(last[k], v) for k, v in after_epoch_1.items())


def _numnet(*args, cwd=None, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "numnet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.mark.slow
def test_numnet_train_default_reaches_97_percent_on_digits(tmp_path):
    run_dir = tmp_path / "run"
    result = _numnet("train", "--out", str(run_dir), "--no-progress")
    assert result.returncode == 0, result.stderr
    for name in ("model.npz", "best.npz", "last.npz", "history.json", "history.csv",
                 "curves.png", "confusion.png", "filters.png"):
        assert (run_dir / name).stat().st_size > 0, name
    record = json.loads((run_dir / "history.json").read_text())
    assert record["test"]["accuracy"] >= 0.97
    evaluated = _numnet("evaluate", str(run_dir), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(record["test"]["accuracy"])


def test_cli_train_resume_equals_uninterrupted(tmp_path):
    common = ["--model", "mlp", "--no-progress", "--seed", "3", "--limit-train", "400",
              "--scheduler", "step"]
    full = _numnet("train", *common, "--epochs", "3", "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr
    part = _numnet("train", *common, "--epochs", "1", "--out", str(tmp_path / "part"))
    assert part.returncode == 0, part.stderr
    # the 1-epoch run's step schedule is re-planned over 3 epochs: that of the full run
    resumed = _numnet("train", "--resume", str(tmp_path / "part"), "--epochs", "3",
                      "--extend-schedule", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    a = numnet.load(tmp_path / "full" / "last.npz")
    b = numnet.load(tmp_path / "part" / "last.npz")
    assert b["epoch"] == 3
    for key in a["model"]:
        assert numpy.array_equal(a["model"][key], b["model"][key]), key
    assert ([r["train_loss"] for r in a["history"]] == [r["train_loss"] for r in b["history"]])


def test_cli_predict_summary_datasets_and_errors(tmp_path):
    run_dir = tmp_path / "run"
    trained = _numnet("train", "--model", "mlp", "--epochs", "2", "--no-progress",
                      "--out", str(run_dir))
    assert trained.returncode == 0, trained.stderr
    from PIL import Image

    image = Image.new("L", (32, 32), 0)
    image.paste(255, (14, 4, 18, 28))
    image.save(tmp_path / "one.png")
    predicted = _numnet("predict", str(run_dir), str(tmp_path / "one.png"), "--top", "2")
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.count(",") == 1 and "one.png: " in predicted.stdout

    summary = _numnet("summary", "--model", "lenet5")
    assert summary.returncode == 0, summary.stderr
    assert "K=6 F=5 S=1 P=2" in summary.stdout and "61,706" in summary.stdout

    listing = _numnet("datasets")
    assert listing.returncode == 0 and "digits" in listing.stdout

    for args, message in ((["train", "--dataset", "mnist", "--data-dir", str(tmp_path)],
                           "pass --data-dir"),
                          (["train", "--epochs", "0"],
                           "--epochs: must be an integer >= 1, got '0'"),
                          (["evaluate", str(tmp_path / "nothing")], "does not exist"),
                          (["predict", str(run_dir), str(tmp_path / "missing.png")],
                           "no such file"),
                          (["train", "--model", "vgg16"], "invalid choice: 'vgg16'"),
                          (["train", "--epochs", "x"], "invalid int value"),
                          (["bogus"], "invalid choice: 'bogus'")):
        result = _numnet(*args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.exists(), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_lenet5_one_epoch_beats_80_percent(tmp_path):
    result = _numnet("train", "--model", "lenet5", "--dataset", "fashion-mnist", "--epochs",
                     "1", "--limit-test", "5000", "--batch-size", "64", "--lr", "0.05",
                     "--optimizer", "sgd", "--weight-decay", "5e-4", "--scheduler", "none",
                     "--no-augment", "--no-progress", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "run" / "history.json").read_text())
    assert record["test"]["accuracy"] > 0.80


def test_datasets_listing_fits_80_columns(capsys):
    # before: one table row per dataset, 169-220 columns wide
    from numnet.cli import main
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "found: bundled with scikit-learn" in out
    assert max(len(line) for line in out.splitlines()) <= 80
