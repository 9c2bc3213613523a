"""Run folders on the command line: never overwritten by accident, one process at a time,
one-line errors for every expected failure, resume from the folder or any checkpoint in
it, the learning-rate schedule's plan kept on resume, and real processes killed at several
points (during a save too) resuming bit for bit."""

import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy
import pytest

import numnet
from numnet import serialization
from numnet.cli import build_parser, main
from numnet.commands import train as train_command
from numnet.commands._runs import locked_run_folder

TINY = ["--model", "mlp", "--limit-train", "200", "--limit-test", "50", "--batch-size", "32",
        "--no-progress"]


def _train(capsys, *args):
    """``numnet train ARGS`` in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    code = main(["train", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, *parts):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("numnet train: error: "), err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def _weights(path):
    return numnet.load(path)["model"]


def _same_weights(a, b):
    return a.keys() == b.keys() and all(numpy.array_equal(a[k], b[k]) for k in a)


def _temporaries(folder):
    return [name for name in os.listdir(folder) if name.endswith(serialization.TEMP_SUFFIX)]


# ---------------------------------------------------------------- the output folder
def test_out_refuses_a_folder_that_holds_a_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(capsys, *TINY, "--epochs", "2", "--out", run)[0] == 0
    before = {name: (run / name).read_bytes() for name in ("model.npz", "best.npz")}
    code, _, err = _train(capsys, *TINY, "--epochs", "1", "--out", run)
    _one_line_error(code, err, f"--out {run} already holds a run", f"--resume {run}",
                    "--overwrite", "choose another --out")
    assert "training" not in err  # refused before any work
    for name, data in before.items():
        assert (run / name).read_bytes() == data, name


def test_overwrite_replaces_the_whole_run(tmp_path, capsys):
    run = tmp_path / "run"
    small = [a for a in TINY if a != "mlp" and a != "--model"]  # lenet5: writes filters.png
    assert _train(capsys, *small, "--epochs", "2", "--out", run)[0] == 0
    assert (run / "filters.png").exists()
    code, _, err = _train(capsys, *TINY, "--epochs", "1", "--out", run, "--overwrite")
    assert code == 0, err
    assert "--overwrite: replacing the run" in err
    assert not (run / "filters.png").exists()  # the old run's files do not linger
    record = json.loads((run / "history.json").read_text())
    assert len(record["history"]) == 1
    assert numnet.load(run / "model.npz")["config"]["settings"]["model"] == "mlp"


def test_overwrite_keeps_the_old_run_when_the_new_one_fails_before_writing(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(capsys, *TINY, "--epochs", "1", "--out", run)[0] == 0
    before = (run / "model.npz").read_bytes()
    code, _, err = _train(capsys, *TINY, "--dataset", "mnist", "--data-dir", tmp_path,
                          "--out", run, "--overwrite")
    assert code == 2 and "Traceback" not in err
    assert (run / "model.npz").read_bytes() == before


def test_out_naming_a_file_or_a_path_under_a_file_is_one_line(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("not a folder")
    code, _, err = _train(capsys, *TINY, "--out", afile)
    _one_line_error(code, err, f"--out {afile} is a file, not a folder")
    code, _, err = _train(capsys, *TINY, "--out", afile / "run")
    _one_line_error(code, err, f"{afile} is a file, so no folder can be made under it")
    assert afile.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = _train(capsys, *TINY, "--out", locked / "run")
        _one_line_error(code, err, "cannot write in", "permission denied")
    finally:
        locked.chmod(0o755)


def test_disk_full_during_a_save_is_one_line_and_keeps_the_checkpoints(tmp_path, capsys,
                                                                       monkeypatch):
    run = tmp_path / "run"
    original = serialization.npz._write_npz
    calls = []

    def write_then_fill_the_disk(f, arrays, compress):
        calls.append(1)
        if len(calls) == 4:  # last.npz of epoch 0, best.npz, last.npz of epoch 1, best.npz
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(f, arrays, compress)

    monkeypatch.setattr(serialization.npz, "_write_npz", write_then_fill_the_disk)
    code, _, err = _train(capsys, *TINY, "--epochs", "3", "--out", run)
    err = "".join(line for line in err.splitlines(True) if not line.startswith("training "))
    _one_line_error(code, err, f"cannot write {run.resolve()}", "No space left on device",
                    "intact (no partial file is left)",
                    f"then continue with: numnet train --resume {run}")
    monkeypatch.setattr(serialization.npz, "_write_npz", original)
    assert numnet.load(run / "last.npz")["epoch"] == 1
    assert numnet.load(run / "best.npz")["epoch"] == 1
    assert not _temporaries(run) and not (run / "model.npz").exists()


def test_an_unexpected_error_keeps_its_traceback(tmp_path, capsys, monkeypatch):
    def broken(f, arrays, compress):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(serialization.npz, "_write_npz", broken)
    with pytest.raises(OSError, match="Input/output error"):
        main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "run")])


def test_atomic_write_errors_name_the_destination(tmp_path):
    def fill(f):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as caught:
        serialization.atomic_write(tmp_path / "x.npz", fill)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- the lock
def test_a_locked_folder_refuses_a_second_run_naming_the_holder(tmp_path, capsys):
    run = tmp_path / "run"
    with locked_run_folder(run, "--out"):
        assert (run / ".lock").read_text().strip() == str(os.getpid())
        code, _, err = _train(capsys, *TINY, "--epochs", "1", "--out", run)
        _one_line_error(code, err, f"{run} is in use by another numnet process "
                                   f"(pid {os.getpid()})")
        assert not (run / "last.npz").exists()
    assert _train(capsys, *TINY, "--epochs", "1", "--out", run)[0] == 0  # released
    with locked_run_folder(run, "--resume"):
        code, _, err = _train(capsys, "--resume", run, "--no-progress")
        _one_line_error(code, err, f"(pid {os.getpid()})")


def _numnet(*args):
    return subprocess.Popen([sys.executable, "-m", "numnet", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def test_two_runs_started_together_into_one_folder_exactly_one_proceeds(tmp_path):
    run = tmp_path / "run"
    slow = ["--limit-train", "600", "--limit-test", "50", "--epochs", "4", "--no-progress"]
    processes = [_numnet("train", *slow, "--out", run) for _ in range(2)]
    results = [(p, *p.communicate(timeout=120)) for p in processes]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [err for _, _, err in results]
    winner = next(p for p, _, _ in results if p.returncode == 0)
    loser_err = next(err for p, _, err in results if p.returncode == 2)
    assert f"is in use by another numnet process (pid {winner.pid})" in loser_err
    assert len(loser_err.strip().splitlines()) == 1, loser_err
    model = numnet.load(run / "model.npz")
    best = numnet.load(run / "best.npz")
    assert model["config"] == best["config"] and len(model["history"]) == 4


def test_stale_temporary_files_are_swept_when_a_run_starts(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(capsys, *TINY, "--epochs", "1", "--out", run)[0] == 0
    stale = run / ".last.npz.0123456789ab.tmp"
    stale.write_bytes(b"PK\x03\x04 killed mid-save")
    keep = run / "notes.tmp"
    keep.write_text("mine")
    code, _, err = _train(capsys, "--resume", run, "--epochs", "1", "--no-progress")
    assert code == 0, err
    assert "removed 1 temporary file(s)" in err and not stale.exists() and keep.exists()


# ---------------------------------------------------------------- resume
def test_resume_takes_the_folder_or_any_checkpoint_in_it(tmp_path, capsys):
    plain = [*TINY, "--scheduler", "none"]
    full = tmp_path / "full"
    assert _train(capsys, *plain, "--epochs", "3", "--out", full)[0] == 0
    for target in ("", "last.npz", "best.npz"):
        part = tmp_path / f"part{target}"
        assert _train(capsys, *plain, "--epochs", "1", "--out", part)[0] == 0
        code, _, err = _train(capsys, "--resume", part / target, "--epochs", "3",
                              "--no-progress")
        assert code == 0, err
        assert ("not from best.npz" in err) == (target == "best.npz")
        assert _same_weights(_weights(full / "model.npz"), _weights(part / "model.npz"))
    code, _, err = _train(capsys, "--resume", tmp_path / "nothing", "--no-progress")
    _one_line_error(code, err, "no such run folder or checkpoint")


def test_the_ctrl_c_hint_prints_a_command_that_works(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    original = train_command.Trainer._run_epoch

    def interrupt_in_epoch_2(self, *args):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(train_command.Trainer, "_run_epoch", interrupt_in_epoch_2)
    code, _, err = _train(capsys, *TINY, "--epochs", "3", "--out", run)
    assert code == 130
    hint = next(line for line in err.splitlines() if line.startswith("continue with: "))
    command = shlex.split(hint.removeprefix("continue with: "))
    assert command[:2] == ["numnet", "train"]
    monkeypatch.setattr(train_command.Trainer, "_run_epoch", original)
    code, _, err = _train(capsys, *command[2:], "--no-progress")
    assert code == 0, err
    assert numnet.load(run / "last.npz")["epoch"] == 3


def test_resume_a_truncated_or_foreign_checkpoint_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(capsys, *TINY, "--epochs", "1", "--out", run)[0] == 0
    data = (run / "last.npz").read_bytes()
    (run / "last.npz").write_bytes(data[: len(data) // 2])
    code, _, err = _train(capsys, "--resume", run, "--no-progress")
    _one_line_error(code, err, "cannot resume: ", str(run / "last.npz"))
    numnet.save({"weights": numpy.zeros(3)}, run / "last.npz")
    code, _, err = _train(capsys, "--resume", run, "--no-progress")
    _one_line_error(code, err, "is not a numnet training checkpoint")


def test_resume_with_another_model_or_dataset_is_refused_before_building(tmp_path, capsys,
                                                                        monkeypatch):
    run = tmp_path / "run"
    small = [a for a in TINY if a not in ("--model", "mlp")]
    assert _train(capsys, *small, "--epochs", "1", "--out", run)[0] == 0
    assert _train(capsys, "--resume", run, "--dataset", "DIGITS", "--no-progress")[0] == 0

    def never(*args, **kwargs):
        raise AssertionError("built the data of a mismatched resume")

    monkeypatch.setattr(train_command, "build_data", never)
    code, _, err = _train(capsys, "--resume", run, "--model", "mlp")
    _one_line_error(code, err, "the run was trained with model lenet5 on digits; --model mlp "
                               "does not match")
    code, _, err = _train(capsys, "--resume", run, "--dataset", "mnist")
    _one_line_error(code, err, "the run was trained with model lenet5 on digits; --dataset "
                               "mnist does not match")
    code, _, err = _train(capsys, "--resume", run, "--activation", "tanh")
    _one_line_error(code, err, "with --activation relu; --activation tanh does not match")


# ---------------------------------------------------------------- the schedule on resume
def _lrs(run):
    return [row["lr"] for row in json.loads((run / "history.json").read_text())["history"]]


def test_resume_past_the_schedule_needs_extend_schedule(tmp_path, capsys):
    run, planned5 = tmp_path / "run", tmp_path / "planned5"
    assert _train(capsys, *TINY, "--epochs", "2", "--out", run)[0] == 0
    code, _, err = _train(capsys, "--resume", run, "--epochs", "4", "--no-progress")
    _one_line_error(code, err, "--epochs 4 goes past the run's cosine learning-rate schedule, "
                               "planned for 2 epochs", "--extend-schedule")
    assert numnet.load(run / "last.npz")["epoch"] == 2  # untouched

    code, _, err = _train(capsys, "--resume", run, "--epochs", "4", "--extend-schedule",
                          "--no-progress")
    assert code == 0, err
    assert "schedule now spans 4 epochs instead of 2" in err
    assert _train(capsys, *TINY, "--epochs", "4", "--out", planned5)[0] == 0
    resumed, planned = _lrs(run), _lrs(planned5)
    lr = 0.05
    assert resumed[:2] == pytest.approx([lr, lr / 2])  # the 2-epoch plan: 0.05, 0.025
    assert resumed[2:] == pytest.approx(planned[2:])  # the 4-epoch plan from epoch 3 on
    # the extended plan is the run's now: resuming it further needs the flag again
    code, _, err = _train(capsys, "--resume", run, "--epochs", "6", "--no-progress")
    _one_line_error(code, err, "planned for 4 epochs")


def test_extend_schedule_is_refused_where_it_means_nothing(tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = _train(capsys, *TINY, "--extend-schedule", "--out", run)
    _one_line_error(code, err, "--extend-schedule re-plans the schedule of a resumed run")
    assert _train(capsys, *TINY, "--epochs", "1", "--out", run)[0] == 0
    code, _, err = _train(capsys, "--resume", run, "--extend-schedule")
    _one_line_error(code, err, "already spans 1 epochs")
    code, _, err = _train(capsys, "--resume", run, "--out", tmp_path / "other")
    _one_line_error(code, err, "it takes no --out or --overwrite")


# ---------------------------------------------------------------- fault trials
KILLER = textwrap.dedent("""
    import io, os, signal, sys
    from numnet import serialization
    from numnet.cli import main

    name, count, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    original = serialization.atomic_write
    seen = []

    def atomic_write(path, write):
        if os.path.basename(os.fspath(path)) == name:
            seen.append(path)
            if len(seen) == count:
                if when == "during":
                    def half(f):
                        buffer = io.BytesIO()
                        write(buffer)
                        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                        f.flush()
                        os.kill(os.getpid(), signal.SIGKILL)
                    original(path, half)
                original(path, write)
                os.kill(os.getpid(), signal.SIGKILL)
        original(path, write)

    serialization.npz.atomic_write = atomic_write  # where save_npz looks it up
    sys.exit(main(sys.argv[4:]))
""")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert main(["train", *TINY, "--epochs", "3", "--out", str(run)]) == 0
    return run


@pytest.mark.parametrize("name, count, when", [
    ("last.npz", 2, "after"),     # right after the first epoch's checkpoint
    ("last.npz", 3, "during"),    # half-way through writing the second epoch's
    ("best.npz", 1, "during"),    # during the first best-model save
    ("model.npz", 1, "during"),   # during the final save, all epochs done
])
def test_sigkill_then_resume_is_bit_identical(tmp_path, capsys, uninterrupted, name, count,
                                              when):
    run = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLER, name, str(count), when, "train",
                             *TINY, "--epochs", "3", "--out", str(run)],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if when == "during":
        assert _temporaries(run), os.listdir(run)  # what a killed save leaves behind
    code, _, err = _train(capsys, "--resume", run, "--no-progress")
    assert code == 0, err
    assert not _temporaries(run)
    for checkpoint in ("model.npz", "last.npz"):
        assert _same_weights(_weights(run / checkpoint),
                             _weights(uninterrupted / checkpoint)), checkpoint
    assert _lrs(run) == _lrs(uninterrupted)
    losses = [[r["train_loss"] for r in json.loads((folder / "history.json").read_text())
               ["history"]] for folder in (run, uninterrupted)]
    assert losses[0] == losses[1]


# ---------------------------------------------------------------- the docs
def _help(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_readme_and_help_say_what_model_and_best_npz_are(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    prose = " ".join(readme.split())
    assert "best by validation loss" not in prose
    assert "`model.npz` (the final trained model" in prose
    assert "`best.npz` (the best epoch by `--monitor`" in prose
    evaluate = _help(capsys, "evaluate")
    assert "best model.npz" not in evaluate
    assert "its model.npz: the final trained model" in evaluate
    assert "RUN/best.npz is the best by the run's --monitor" in evaluate
    train = _help(capsys, "train")
    for text in ("--overwrite replace the run already in --out",
                 "--extend-schedule with --resume: re-plan the learning-rate schedule",
                 "refused unless --overwrite"):
        assert text in train, text


def test_the_readme_command_lines_parse():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("## The command line", 1)[1].split("```bash\n", 1)[1].split("```")[0]
    lines = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    parser = build_parser()
    for words in lines:
        if words[:2] == ["mpirun", "-n"]:  # mpirun -n K numnet ...
            words = words[3:]
        assert words[0] == "numnet"
        parser.parse_args(words[1:])  # exits (status 2) on an unknown flag
