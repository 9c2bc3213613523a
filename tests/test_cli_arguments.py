"""Every command-line value is checked before any work: one line naming the flag and the
value, exit status 2, no data loaded, nothing trained (issue 12, findings 2, 4 and 5)."""

import argparse
import math

import pytest

import numnet.commands.train
import numnet.lecture._training
from numnet.cli import main
from numnet.commands import _arguments
from numnet.commands._runs import Settings
from numnet.data import DatasetError, registry


@pytest.fixture
def no_work(monkeypatch):
    """Loading a dataset fails the test: a refused value must stop before any data."""
    def refuse(*args, **kwargs):
        raise AssertionError("data was loaded for a value that should have been refused")
    monkeypatch.setattr(numnet.commands.train, "build_data", refuse)
    monkeypatch.setattr(numnet.lecture._training, "load", refuse)


def _refused(capsys, argv) -> str:
    """The one line ``main(argv)`` prints on stderr as it exits with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


@pytest.mark.parametrize("flag, value", [
    ("--lr", "nan"), ("--lr", "inf"), ("--lr", "0"), ("--lr", "-1"), ("--lr", "abc"),
    ("--clip-grad", "-1"), ("--clip-grad", "0"), ("--clip-grad", "nan"),
    ("--threads", "0"), ("--threads", "-3"), ("--threads", "1.5"),
    ("--limit-train", "0"), ("--limit-test", "0"), ("--limit-test", "-5"),
    ("--momentum", "1"), ("--momentum", "-0.1"), ("--momentum", "nan"),
    ("--weight-decay", "-1"), ("--weight-decay", "nan"), ("--weight-decay", "inf"),
    ("--epochs", "0"), ("--epochs", "-1"), ("--epochs", "2.5"), ("--batch-size", "0"),
    ("--patience", "0"), ("--val-fraction", "1"), ("--val-fraction", "-0.1"),
    ("--val-fraction", "nan"), ("--seed", "-1"), ("--seed", "1.5"), ("--init", "bogus"),
])
def test_train_refuses_a_bad_value_before_any_work(capsys, no_work, flag, value, tmp_path):
    out = tmp_path / "run"
    line = _refused(capsys, ["train", f"{flag}={value}", "--out", str(out)])
    assert line.startswith(f"numnet train: error: argument {flag}: ")
    assert repr(value) in line
    assert not out.exists()


def test_train_refuses_a_bad_hidden_size(capsys, no_work):
    line = _refused(capsys, ["train", "--model", "mlp", "--hidden", "128", "0"])
    assert line.startswith("numnet train: error: argument --hidden: must be an integer >= 1, "
                           "got '0'")


@pytest.mark.parametrize("argv", [
    ["rnn", "--epochs", "-1"], ["rnn", "--epochs", "0"], ["rnn", "--seed", "-1"],
    ["cnn-inside", "--lr", "nan"], ["cnn-inside", "--lr", "0"], ["cnn-inside", "--epochs", "0"],
    ["relu-vs-tanh", "--epochs", "-2"], ["weight-init", "--layers", "0"],
    ["weight-init", "--units", "-1"], ["weight-init", "--inputs", "0"],
    ["weight-init", "--init", "bogus"],
])
def test_lecture_refuses_a_bad_option_before_any_work(capsys, no_work, argv, tmp_path):
    line = _refused(capsys, ["lecture", *argv, "--quick", "--out", str(tmp_path / "figures")])
    assert line.startswith(f"numnet lecture: error: argument {argv[1]}: ")
    assert repr(argv[2]) in line
    assert not (tmp_path / "figures").exists()


def test_lecture_unknown_activation_fails_before_the_data(capsys, no_work, tmp_path):
    code = main(["lecture", "cnn-inside", "--activation", "bogus", "--quick",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "unknown activation 'bogus'" in capsys.readouterr().err


def test_good_values_still_parse_and_left_out_flags_stay_unset():
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--lr", "1e-3", "--momentum", "0", "--weight-decay", "0",
                              "--val-fraction", "0", "--seed", "0", "--hidden", "1", "7",
                              "--clip-grad", "0.5", "--limit-train", "1", "--init",
                              "normal_0.01"])
    assert (args.lr, args.momentum, args.weight_decay, args.val_fraction) == (1e-3, 0, 0, 0)
    assert (args.seed, args.hidden, args.clip_grad, args.limit_train) == (0, [1, 7], 0.5, 1)
    assert args.epochs is None and args.patience is None and args.augment is None
    settings = Settings(epochs=3).from_args(args)
    assert settings.epochs == 3 and settings.lr == 1e-3 and settings.init == "normal_0.01"


@pytest.mark.parametrize("stored, message", [
    ({"lr": math.nan}, "--lr must be a finite number > 0, got nan"),
    ({"lr": 0}, "--lr must be a finite number > 0, got 0"),
    ({"epochs": 0}, "--epochs must be an integer >= 1, got 0"),
    ({"epochs": 2.5}, "--epochs invalid int value: 2.5"),
    ({"epochs": True}, "--epochs invalid int value: True"),
    ({"momentum": 1.0}, "--momentum must be a number in [0, 1), got 1.0"),
    ({"weight_decay": -1e-4}, "--weight-decay must be a finite number >= 0, got -0.0001"),
    ({"clip_grad": -1.0}, "--clip-grad must be a finite number > 0, got -1.0"),
    ({"limit_train": 0}, "--limit-train must be an integer >= 1, got 0"),
    ({"hidden": [128, 0]}, "--hidden must be an integer >= 1, got 0"),
    ({"seed": -1}, "--seed must be an integer >= 0, got -1"),
    ({"val_fraction": 1.0}, "--val-fraction must be a number in [0, 1), got 1.0"),
    ({"init": "bogus"}, "--init must be one of default, "),
])
def test_stored_settings_follow_the_same_rules(stored, message):
    with pytest.raises(ValueError) as info:
        Settings.from_dict(stored)
    assert str(info.value).startswith(message)


def test_one_rule_for_flag_and_stored_setting():
    """Every numeric setting's flag runs its field's check, so the rules cannot drift."""
    parser = argparse.ArgumentParser()
    Settings.add_arguments(parser)
    types = {action.dest: action.type for action in parser._actions}
    for field in Settings.__dataclass_fields__.values():
        if field.metadata["check"] is not None:
            assert types[field.name] is field.metadata["check"], field.name
    assert types["epochs"] is _arguments.positive_int
    assert types["lr"] is _arguments.finite_positive_float


def test_data_dir_naming_a_file_says_so(tmp_path, capsys):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"not a folder")
    for name in ("mnist", "fashion-mnist", "cifar10"):
        with pytest.raises(DatasetError, match="is a file, not a folder") as info:
            registry.load_dataset(name, path)
        assert str(path) in str(info.value)
    code = main(["train", "--dataset", "mnist", "--data-dir", str(path),
                 "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert err == (f"numnet train: error: {path}: is a file, not a folder (given as the "
                   "mnist data folder): pass the folder that holds the mnist files\n")
    assert not (tmp_path / "run").exists()


def test_data_dir_naming_the_cifar_tarball_says_to_extract_it(tmp_path):
    tarball = tmp_path / "cifar-10-python.tar.gz"
    tarball.write_bytes(b"\x1f\x8b")
    with pytest.raises(DatasetError, match="extract it with `tar xzf` and pass the folder"):
        registry.load_dataset("cifar10", tarball)


def test_a_validation_split_that_leaves_no_training_image_is_one_line(capsys, tmp_path):
    # before: --limit-train 1 trained on 0 images and exited 0
    assert main(["train", "--limit-train", "1", "--no-progress",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--val-fraction 0.1 of 1 training images" in err
    assert not (tmp_path / "run").exists()
