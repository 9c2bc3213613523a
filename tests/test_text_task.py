"""The text task: ``numnet.data.text`` (vocabulary, streams, unigram baseline, reading),
``numnet.char_lm`` against PyTorch's word-language-model composition, and ``numnet train
--task text`` / ``numnet sample`` end to end: the bits per character fall below the unigram
baseline, sampling is deterministic for a seed, resume is bit-identical, bad input is a
one-line error."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy
import pytest
import torch

import numnet
from numnet import char_lm, models
from numnet.cli import main
from numnet.commands import _text_training
from numnet.data import DatasetError
from numnet.data import text as text_data

# ---------------------------------------------------------------------- numnet.data.text


def test_vocabulary_encodes_decodes_and_names_an_unknown_character():
    vocabulary = text_data.Vocabulary.from_text("héllo wörld\n")
    assert vocabulary.chars == "".join(sorted(set("héllo wörld\n")))
    ids = vocabulary.encode("wörld héllo")
    assert ids.dtype == numpy.int64
    assert [vocabulary.chars[i] for i in ids] == list("wörld héllo")
    assert vocabulary.decode(ids) == "wörld héllo"
    with pytest.raises(ValueError, match=r"character 'X' \(position 3\) is not in the "
                                         r"vocabulary of 10 characters"):
        vocabulary.encode("hélXo")
    with pytest.raises(ValueError, match="'~'"):  # past the largest code point
        vocabulary.encode("~")


def test_streams_are_contiguous_rows_like_torch_batchify():
    ids = numpy.arange(23)
    got = text_data.streams(ids, 4)
    # torch's word_language_model: data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t()
    expected = torch.arange(23).narrow(0, 0, 20).view(4, -1).numpy()
    numpy.testing.assert_array_equal(got, expected)
    head, tail = text_data.split_tail(ids, 0.1)
    assert list(tail) == [21, 22] and len(head) == 21
    assert len(text_data.split_tail(ids, 0.0)[1]) == 0


def test_windows_cover_every_target_once():
    spans = _text_training.windows(10, 4)
    assert spans == [(0, 4), (4, 4), (8, 1)]
    targets = [t for start, steps in spans for t in range(start + 1, start + 1 + steps)]
    assert targets == list(range(1, 10))


def test_unigram_bits_is_the_add_one_cross_entropy():
    train = numpy.array([0, 0, 0, 1])  # counts 3, 1, 0 -> smoothed 4, 2, 1 of 7
    targets = numpy.array([[0, 2], [1, 0]])
    expected = -(2 * math.log2(4 / 7) + math.log2(1 / 7) + math.log2(2 / 7)) / 4
    assert text_data.unigram_bits(train, targets, 3) == pytest.approx(expected, rel=1e-12)


def test_read_text_errors_name_the_file(tmp_path):
    good = tmp_path / "good.txt"
    good.write_bytes("\ufeffcafé".encode())
    assert text_data.read_text(good) == "café"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DatasetError, match="empty.txt is empty"):
        text_data.read_text(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin.txt is not UTF-8 text: byte 0xe9 at "
                                           r"offset 3"):
        text_data.read_text(latin)
    with pytest.raises(DatasetError, match="missing.txt: no such file"):
        text_data.read_text(tmp_path / "missing.txt")


def test_default_text_is_installed_and_large_enough():
    text = text_data.default_text()
    assert len(text.encode("utf-8")) >= 20_000
    assert "digits" in text.lower()
    assert text_data.fingerprint(text) == text_data.fingerprint(text_data.default_text())


# ---------------------------------------------------------------------- numnet.char_lm


class TorchRNNModel(torch.nn.Module):
    """PyTorch's word_language_model RNNModel (without weight tying), batch first."""

    def __init__(self, cell, vocab_size, embedding_dim, hidden_size, num_layers, **extra):
        super().__init__()
        self.encoder = torch.nn.Embedding(vocab_size, embedding_dim)
        layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.rnn = layer(embedding_dim, hidden_size, num_layers, batch_first=True, **extra)
        self.decoder = torch.nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, hx=None):
        output, hx = self.rnn(self.encoder(ids), hx)
        return self.decoder(output), hx


@pytest.mark.parametrize("cell, extra, num_layers, shape", [
    ("lstm", {}, 2, (3, 7)), ("gru", {}, 1, (2, 5)), ("rnn", {"nonlinearity": "relu"}, 2, (4, 3)),
])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_char_lm_matches_torch_outputs_states_and_every_gradient(cell, extra, num_layers,
                                                                 shape, dtype):
    _ = numnet.manual_seed(1)
    model = char_lm.PRESETS[cell](vocab_size=6, embedding_dim=5, hidden_size=4,
                                  num_layers=num_layers, **extra)
    model.to(dtype)
    reference = TorchRNNModel(cell, 6, 5, 4, num_layers, **extra).to(getattr(torch,
                                                                        dtype.__name__))
    reference.load_state_dict({k: torch.tensor(numpy.asarray(v))
                               for k, v in model.state_dict().items()})
    rng = numpy.random.default_rng(0)
    ids = rng.integers(0, 6, shape)
    targets = rng.integers(0, 6, shape)
    scores, hx = model(numnet.tensor(ids))
    loss = numnet.nn.functional.cross_entropy(scores.reshape(-1, 6),
                                              numnet.tensor(targets.reshape(-1)))
    loss.backward()
    t_scores, t_hx = reference(torch.tensor(ids))
    t_loss = torch.nn.functional.cross_entropy(t_scores.reshape(-1, 6),
                                               torch.tensor(targets.reshape(-1)))
    t_loss.backward()
    tol = {"atol": 1e-10, "rtol": 1e-8} if dtype == numpy.float64 else {"atol": 1e-5,
                                                                          "rtol": 1e-4}
    assert scores.dtype == dtype and scores.shape == tuple(t_scores.shape)
    numpy.testing.assert_allclose(scores.detach().numpy(), t_scores.detach().numpy(), **tol)
    for mine, theirs in zip(hx if cell == "lstm" else (hx,), t_hx if cell == "lstm" else (t_hx,)):
        numpy.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), **tol)
    grads = dict(reference.named_parameters())
    for name, parameter in model.named_parameters():
        assert parameter.grad.dtype == dtype
        numpy.testing.assert_allclose(parameter.grad.numpy(), grads[name].grad.numpy(), **tol,
                                      err_msg=name)


def test_char_lm_config_rebuilds_it_and_detach_cuts_the_graph():
    model = char_lm.gru(vocab_size=7, embedding_dim=3, hidden_size=5, num_layers=2,
                        dropout=0.25)
    rebuilt = models.build_model(json.loads(json.dumps(model.config)))
    assert list(rebuilt.state_dict()) == list(model.state_dict())
    assert rebuilt.rnn.dropout == 0.25 and rebuilt.drop.p == 0.25
    _, hx = model(numnet.tensor([[1, 2, 3]]))
    assert hx.requires_grad and not char_lm.detach_state(hx).requires_grad
    with pytest.raises(ValueError, match="nonlinearity"):
        char_lm.CharLM(5, "lstm", nonlinearity="relu")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        char_lm.lstm(5, hidden_size=0)


def test_generate_is_deterministic_for_a_seed():
    _ = numnet.manual_seed(0)
    model = char_lm.lstm(vocab_size=9, embedding_dim=4, hidden_size=8, num_layers=1)
    first = char_lm.generate(model, [1, 2, 3], 40, generator=numnet.Generator(5))
    again = char_lm.generate(model, [1, 2, 3], 40, generator=numnet.Generator(5))
    other = char_lm.generate(model, [1, 2, 3], 40, generator=numnet.Generator(6))
    assert first.shape == (40,) and first.dtype == numpy.int64
    assert numpy.array_equal(first, again) and not numpy.array_equal(first, other)
    assert char_lm.generate(model, [], 5, generator=numnet.Generator(0)).shape == (5,)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        char_lm.generate(model, [1], 3, temperature=0.0)


# ---------------------------------------------------------------------- the command line

TINY = ["--embedding-size", "8", "--hidden-size", "32", "--layers", "1", "--bptt", "16",
        "--batch-size", "8", "--no-progress"]


def _pattern_text(n=400, seed=0) -> str:
    """Sentences of a small grammar, with 2% of the characters replaced by noise."""
    rng = numpy.random.default_rng(seed)
    words = ["the cat sat on the mat. ", "a dog ran in the fog. ", "my hat is red. "]
    text = "".join(words[i] for i in rng.integers(0, len(words), n))
    noise = rng.random(len(text)) < 0.02
    return "".join(rng.choice(list("xyzq")) if bad else c for c, bad in zip(text, noise))


def _cli(capsys, *args):
    capsys.readouterr()
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _error(result, command, *parts):
    """``result`` (``_cli``'s) is exit status 2 and one error line holding ``parts``."""
    code, _, err = result
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"numnet {command}: error: "), err
    for part in parts:
        assert part in lines[0], err


def test_train_and_sample_end_to_end_beat_the_unigram_baseline(tmp_path, capsys):
    data_file = tmp_path / "pattern.txt"
    data_file.write_text(_pattern_text(), encoding="utf-8")
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "numnet"]
    trained = subprocess.run([*command, "train", "--task", "text", "--data-file", str(data_file),
                              "--epochs", "4", "--out", str(run_dir), *TINY],
                             capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    for name in ("model.npz", "best.npz", "last.npz", "history.json", "history.csv",
                 "curves.png"):
        assert (run_dir / name).stat().st_size > 0, name
    record = json.loads((run_dir / "history.json").read_text())
    final = record["final"]
    assert final["split"] == "validation"
    assert final["bpc"] < final["unigram_bpc"] - 1.0, final
    assert final["bpc"] == pytest.approx(final["loss"] / math.log(2))
    assert final["perplexity"] == pytest.approx(math.exp(final["loss"]))
    assert record["history"][-1]["val_bpc"] < record["history"][0]["val_bpc"]
    assert f"unigram baseline {final['unigram_bpc']:.3f}" in trained.stdout
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert header.split(",") == list(_text_training.HISTORY_FIELDS)
    state = numnet.load(run_dir / "model.npz")
    assert state["config"]["vocabulary"] == "".join(sorted(set(data_file.read_text())))

    sample = [*command, "sample", str(run_dir), "--prompt", "the ", "--length", "60"]
    first = subprocess.run([*sample, "--seed", "1"], capture_output=True, text=True, timeout=60)
    again = subprocess.run([*sample, "--seed", "1"], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert first.stdout.startswith("the ") and len(first.stdout) == len("the ") + 60 + 1
    code, other, err = _cli(capsys, *sample[3:], "--seed", "2")
    assert code == 0, err
    assert other.startswith("the ") and other != first.stdout
    size = len(set(data_file.read_text()))
    _error(_cli(capsys, *sample[3:], "--prompt", "The"), "sample",
           f"character 'T' (position 0) is not in the vocabulary of {size} characters the "
           "model was trained on")
    for image_command in ("evaluate", "summary", "predict"):
        extra = [str(data_file)] if image_command == "predict" else []
        _error(_cli(capsys, image_command, run_dir, *extra), image_command,
               "is a run of numnet train --task text, not of --task image",
               f"numnet sample {run_dir} generates text from it")


def test_resume_after_an_interruption_is_bit_identical(tmp_path, capsys, monkeypatch):
    data_file = tmp_path / "pattern.txt"
    data_file.write_text(_pattern_text(200, seed=1), encoding="utf-8")
    common = ["train", "--task", "text", "--data-file", data_file, "--epochs", 3, "--model",
              "lstm", "--layers", 2, "--dropout", 0.2, *TINY]
    code, _, err = _cli(capsys, *common, "--out", tmp_path / "full")
    assert code == 0, err
    run_epoch = _text_training.TextTrainer._run_epoch

    def interrupted_in_epoch_3(self, data, epochs):
        if self.epoch == 2:
            raise KeyboardInterrupt
        return run_epoch(self, data, epochs)

    monkeypatch.setattr(_text_training.TextTrainer, "_run_epoch", interrupted_in_epoch_3)
    code, _, err = _cli(capsys, *common, "--out", tmp_path / "part")
    assert code == 130 and "continue with: numnet train --resume" in err
    monkeypatch.setattr(_text_training.TextTrainer, "_run_epoch", run_epoch)
    code, out, err = _cli(capsys, "train", "--resume", tmp_path / "part", "--no-progress")
    assert code == 0, err
    a = numnet.load(tmp_path / "full" / "model.npz")
    b = numnet.load(tmp_path / "part" / "model.npz")
    assert b["epoch"] == 3
    for key in a["model"]:
        assert numpy.array_equal(a["model"][key], b["model"][key]), key
    assert ([r["val_loss"] for r in a["history"]] == [r["val_loss"] for r in b["history"]])
    _error(_cli(capsys, "train", "--resume", tmp_path / "part", "--lr", "0.1"), "train",
           "the run was trained with --lr 0.003; --lr 0.1 does not match")


def test_bad_text_input_and_misplaced_flags_are_one_line_errors(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"na\xefve " * 100)
    short = tmp_path / "short.txt"
    short.write_text("abc")
    out = ["--out", tmp_path / "run"]
    _error(_cli(capsys, "train", "--task", "text", "--data-file", empty, *out), "train",
           "empty.txt is empty")
    _error(_cli(capsys, "train", "--task", "text", "--data-file", latin, *out), "train",
           "latin.txt is not UTF-8 text: byte 0xef at offset 2")
    _error(_cli(capsys, "train", "--task", "text", "--data-file", short, *out), "train",
           "fewer than 2 characters for --batch-size 16")
    _error(_cli(capsys, "train", "--task", "text", "--model", "lenet5", *out), "train",
           "--model lenet5 is an image model")
    _error(_cli(capsys, "train", "--task", "text", "--augment", *out), "train",
           "--augment is an option of image training")
    _error(_cli(capsys, "train", "--task", "text", "--activation", "relu", *out), "train",
           "--activation tanh or relu for --model rnn only")
    _error(_cli(capsys, "train", "--bptt", "8", *out), "train",
           "--bptt is an option of --task text")
    _error(_cli(capsys, "train", "--model", "gru", *out), "train",
           "--model gru is a character language model")
    assert not (tmp_path / "run").exists()
