"""PyTorch weights in and out through safetensors: a torch model's ``state_dict`` saved with
``safetensors.torch.save_file`` loads into the numnet model of the same architecture with
``load_state_dict(numnet.load(path))`` and gives the same outputs, and the reverse (numnet.save
-> ``safetensors.torch.load_file`` -> torch ``load_state_dict``), for the presets, user-style
models with their own ``forward``, and every layer with weights or statistics; dtype casts and
mismatch errors as torch's."""

import collections
import os
import subprocess
import sys

import numpy
import pytest
import safetensors.torch
import torch

import numnet
from numnet import models
from numnet.cli import main
from numnet.commands._errors import CommandError
from numnet.commands._init_from import read_weights

N_ = numnet.nn, numnet.nn.functional
T_ = torch.nn, torch.nn.functional


def _perturb(model) -> None:
    """Move every floating parameter a little off its initial value (LayerNorm and
    BatchNorm start at exactly 1 and 0, which would hide a swapped weight and bias)."""
    rng = numpy.random.default_rng(1)
    for param in model.parameters():
        noise = 0.05 * rng.standard_normal(tuple(param.shape))
        if isinstance(param, torch.Tensor):
            with torch.no_grad():
                param.add_(torch.from_numpy(noise).to(param.dtype))
        else:
            param.data += noise.astype(param.dtype)


def _numnet_out(model, x):
    with numnet.no_grad():
        return model(numnet.tensor(x)).numpy()


def _torch_out(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def _states_equal(numnet_state, torch_state) -> None:
    assert list(numnet_state) == list(torch_state)
    for key, value in torch_state.items():
        assert numnet_state[key].dtype == value.numpy().dtype, key
        numpy.testing.assert_array_equal(numnet_state[key], value.numpy(), err_msg=key)


def _both_ways(make_numnet, make_torch, x, tmp_path, rtol=1e-5, atol=1e-5) -> None:
    """torch -> safetensors -> numnet and numnet -> safetensors -> torch: equal outputs (in
    eval mode, after a training-mode forward has moved any running statistics), and the
    loaded state equal to the saved one key by key, dtypes included."""
    path = tmp_path / "from_torch.safetensors"
    source = make_torch()
    _perturb(source)
    source.train()
    with torch.no_grad():
        source(torch.from_numpy(x))  # BatchNorm running stats and num_batches_tracked move
    source.eval()
    safetensors.torch.save_file(source.state_dict(), path)
    target = make_numnet()
    assert target.load_state_dict(numnet.load(path)) == ([], [])
    target.eval()
    _states_equal(target.state_dict(), source.state_dict())
    numpy.testing.assert_allclose(_numnet_out(target, x), _torch_out(source, x),
                                  rtol=rtol, atol=atol)

    path = tmp_path / "from_numnet.safetensors"
    source = make_numnet()
    _perturb(source)
    source.train()
    with numnet.no_grad():
        source(numnet.tensor(x))
    source.eval()
    numnet.save(source.state_dict(), path)
    target = make_torch()
    target.load_state_dict(safetensors.torch.load_file(path))  # strict: every key, no other
    target.eval()
    _states_equal(source.state_dict(), target.state_dict())
    numpy.testing.assert_allclose(_numnet_out(source, x), _torch_out(target, x),
                                  rtol=rtol, atol=atol)


def _images(*shape):
    return numpy.random.default_rng(0).standard_normal(shape).astype(numpy.float32)


def _named(nn, *layers):
    return nn.Sequential(collections.OrderedDict(layers))


# ---------------------------------------------------------------------- the presets
def _torch_mlp():
    nn = torch.nn
    return _named(nn, ("flatten", nn.Flatten()), ("fc1", nn.Linear(64, 32)),
                  ("act1", nn.Tanh()), ("fc2", nn.Linear(32, 10)))


def _torch_lenet5():
    nn = torch.nn
    return _named(nn, ("conv1", nn.Conv2d(1, 6, 5, padding=2)), ("act1", nn.ReLU()),
                  ("pool1", nn.MaxPool2d(2)), ("conv2", nn.Conv2d(6, 16, 5)),
                  ("act2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
                  ("fc1", nn.Linear(400, 120)), ("act3", nn.ReLU()), ("fc2", nn.Linear(120, 84)),
                  ("act4", nn.ReLU()), ("fc3", nn.Linear(84, 10)))


def _torch_cifar_cnn():
    nn = torch.nn
    return _named(nn, ("conv1", nn.Conv2d(3, 32, 3, padding=1)), ("act1", nn.ReLU()),
                  ("conv2", nn.Conv2d(32, 32, 3, padding=1)), ("act2", nn.ReLU()),
                  ("pool1", nn.MaxPool2d(2)), ("conv3", nn.Conv2d(32, 64, 3, padding=1)),
                  ("act3", nn.ReLU()), ("conv4", nn.Conv2d(64, 64, 3, padding=1)),
                  ("act4", nn.ReLU()), ("pool2", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
                  ("fc1", nn.Linear(64 * 8 * 8, 512)), ("act5", nn.ReLU()),
                  ("fc2", nn.Linear(512, 10)))


def _torch_cnn_bn():
    nn = torch.nn
    return _named(nn, ("conv1", nn.Conv2d(1, 32, 3, padding=1, bias=False)),
                  ("bn1", nn.BatchNorm2d(32)), ("act1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                  ("conv2", nn.Conv2d(32, 64, 3, padding=1, bias=False)),
                  ("bn2", nn.BatchNorm2d(64)), ("act2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                  ("drop1", nn.Dropout(0.25)), ("flatten", nn.Flatten()),
                  ("fc1", nn.Linear(64 * 7 * 7, 128, bias=False)),
                  ("bn_fc", nn.BatchNorm1d(128)), ("act_fc", nn.ReLU()),
                  ("drop2", nn.Dropout(0.5)), ("fc2", nn.Linear(128, 10)))


class _TorchBlock(torch.nn.Module):
    """The BasicBlock of numnet's resnet preset, in torch (He et al., 2016)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class _TorchResNet(torch.nn.Module):
    def __init__(self, width=4, blocks=(1, 1)):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        previous = width
        for stage, count in enumerate(blocks):
            channels = width * 2 ** stage
            layer = [_TorchBlock(previous if i == 0 else channels, channels,
                                 2 if stage and i == 0 else 1) for i in range(count)]
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
            previous = channels
        self.fc = nn.Linear(previous, 10)
        self.stages = len(blocks)

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        for stage in range(self.stages):
            y = getattr(self, f"layer{stage + 1}")(y)
        return self.fc(y.mean(dim=(2, 3)))


PRESETS = {
    "mlp": (lambda: models.mlp([64, 32, 10], activation="tanh"), _torch_mlp, (3, 1, 8, 8)),
    "lenet5": (models.lenet5, _torch_lenet5, (2, 1, 28, 28)),
    "cifar_cnn": (models.cifar_cnn, _torch_cifar_cnn, (2, 3, 32, 32)),
    "cnn_bn": (models.cnn_bn, _torch_cnn_bn, (4, 1, 28, 28)),
    "resnet": (lambda: models.resnet(input_size=8, width=4, blocks=(1, 1)), _TorchResNet,
               (4, 3, 8, 8)),
}


@pytest.mark.parametrize("name", PRESETS)
def test_presets_take_torch_weights_and_give_theirs(tmp_path, name):
    make_numnet, make_torch, shape = PRESETS[name]
    _both_ways(make_numnet, make_torch, _images(*shape), tmp_path)


# ---------------------------------------------------------------------- models and layers
def _user_model(nn, F):
    """A model written the way PyTorch users write them; the same source builds it in torch
    (``nn, F = torch.nn, torch.nn.functional``) and in numnet."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8 * 4 * 4, 16)
            self.norm = nn.LayerNorm(16)
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            y = F.relu(self.stem(x))
            y = y + F.relu(self.bn(self.conv(y)))  # a residual addition
            y = F.max_pool2d(y, 2).flatten(1)
            return self.head(F.gelu(self.norm(self.fc(y))))

    return Net()


def _batchnorm(nn, F):
    return nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(),
                         nn.BatchNorm1d(5, momentum=None), nn.Linear(5, 3))


def _grouped_conv(nn, F):
    return nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2),
                         nn.Conv2d(8, 8, 3, groups=8, bias=False), nn.Flatten(),
                         nn.Linear(8 * 4 * 4, 3))


def _attention(nn, F):
    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.norm = nn.LayerNorm(8)

        def forward(self, x):
            out, weights = self.attn(x, x, x)
            return self.norm(out + x) + weights[:, :, :1]

    return Attend()


def _encoder(nn, F):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                       batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(8),
                                 enable_nested_tensor=False)


def _encoder_norm_first(nn, F):
    return nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                      activation="gelu", batch_first=True, norm_first=True)


def _embedding(nn, F):
    return nn.Sequential(nn.Embedding(11, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2))


def _recurrent(kind):
    def build(nn, F):
        class Sequence(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, kind)(5, 6, num_layers=2, batch_first=True,
                                             bidirectional=True)
                self.fc = nn.Linear(12, 3)

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.fc(out[:, -1])

        return Sequence()

    return build


def _more_layers(nn, F):
    return nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.Flatten(), nn.Unflatten(1, (4, 2, 4)),
                         nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1),
                         nn.GroupNorm(2, 4), nn.PReLU(4),
                         nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
                         nn.Flatten(), nn.Linear(4 * 4 * 8, 3))


def _cells(nn, F):
    class Cells(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTMCell(5, 4)
            self.gru = nn.GRUCell(4, 4)
            self.rnn = nn.RNNCell(4, 3, nonlinearity="relu")

        def forward(self, x):
            h, c = self.lstm(x)
            return self.rnn(self.gru(h + c))

    return Cells()


TOKENS = numpy.array([[1, 0, 5], [10, 3, 3]], dtype=numpy.int64)
LAYERS = {
    "user_model": (_user_model, _images(2, 3, 8, 8)),
    "batchnorm_running_stats": (_batchnorm, _images(8, 6)),
    "conv_groups": (_grouped_conv, _images(2, 4, 6, 6)),
    "multihead_attention": (_attention, _images(2, 5, 8)),
    "transformer_encoder": (_encoder, _images(2, 5, 8)),
    "transformer_layer_norm_first": (_encoder_norm_first, _images(2, 5, 8)),
    "embedding": (_embedding, TOKENS),
    "lstm": (_recurrent("LSTM"), _images(2, 4, 5)),
    "gru": (_recurrent("GRU"), _images(2, 4, 5)),
    "rnn": (_recurrent("RNN"), _images(2, 4, 5)),
    "conv1d_transpose_group_instance_norm_prelu": (_more_layers, _images(2, 3, 8)),
    "lstm_gru_rnn_cells": (_cells, _images(3, 5)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_models_built_from_the_same_source_exchange_weights(tmp_path, name):
    build, x = LAYERS[name]
    _both_ways(lambda: build(*N_), lambda: build(*T_), x, tmp_path)


def test_momentum_none_batchnorm_continues_from_the_loaded_batch_count(tmp_path):
    source = torch.nn.BatchNorm1d(3, momentum=None)
    x = _images(6, 3)
    for _ in range(3):
        source(torch.from_numpy(x) * 2 + 1)
    path = tmp_path / "bn.safetensors"
    safetensors.torch.save_file(source.state_dict(), path)
    target = numnet.nn.BatchNorm1d(3, momentum=None)
    target.load_state_dict(numnet.load(path))
    assert target.state_dict()["num_batches_tracked"] == 3
    source(torch.from_numpy(x))  # the cumulative average weighs this batch 1/4
    target(numnet.tensor(x))
    for key, value in source.state_dict().items():
        numpy.testing.assert_allclose(target.state_dict()[key], value.numpy(), rtol=1e-6,
                                      err_msg=key)


# ---------------------------------------------------------------------- dtypes and errors
def test_a_float64_file_loads_into_a_float32_model_cast_as_torch_casts(tmp_path):
    path = tmp_path / "double.safetensors"
    safetensors.torch.save_file(_torch_lenet5().double().state_dict(), path)
    target = models.lenet5()
    target.load_state_dict(numnet.load(path))
    twin = _torch_lenet5()
    twin.load_state_dict(safetensors.torch.load_file(path))
    assert {v.dtype for v in target.state_dict().values()} == {numpy.dtype(numpy.float32)}
    _states_equal(target.state_dict(), twin.state_dict())


def _load_errors(numnet_model, torch_model, state):
    with pytest.raises(RuntimeError) as numnet_error:
        numnet_model.load_state_dict({k: v.numpy() for k, v in state.items()})
    with pytest.raises(RuntimeError) as torch_error:
        torch_model.load_state_dict(state)
    return str(numnet_error.value), str(torch_error.value)


def test_shape_and_key_mismatches_are_runtime_errors_listing_the_keys_as_torch():
    state = torch.nn.Linear(3, 4).state_dict()
    ours, theirs = _load_errors(numnet.nn.Linear(3, 5), torch.nn.Linear(3, 5), state)
    for message in ours, theirs:
        assert message.startswith("Error(s) in loading state_dict for Linear:")
        assert "size mismatch for weight: copying a param with shape" in message
        assert "size mismatch for bias" in message
        assert "the shape in current model is" in message
    assert "(4, 3) from checkpoint, the shape in current model is (5, 3)." in ours

    state = _torch_mlp().state_dict()
    state["fc3.weight"] = torch.zeros(2, 2)
    del state["fc1.bias"]
    ours, theirs = _load_errors(models.mlp([64, 32, 10]), _torch_mlp(), state)
    for message in ours, theirs:
        assert 'Missing key(s) in state_dict: "fc1.bias".' in message
        assert 'Unexpected key(s) in state_dict: "fc3.weight".' in message


# ---------------------------------------------------------------------- numnet train --init-from
DIGITS_RUN = ["--dataset", "digits", "--model", "mlp", "--hidden", "32", "--epochs", "1",
              "--limit-train", "100", "--limit-test", "30", "--no-augment", "--no-progress"]


def _digits_twin(hidden=32):
    nn = torch.nn
    return _named(nn, ("flatten", nn.Flatten()), ("fc1", nn.Linear(64, hidden)),
                  ("act1", nn.ReLU()), ("fc2", nn.Linear(hidden, 10)))


def test_train_init_from_a_torch_safetensors_file_starts_from_its_weights(tmp_path):
    source = _digits_twin()
    weights = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(source.state_dict(), weights)
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "numnet", "train", *DIGITS_RUN,
                           "--lr", "1e-12", "--momentum", "0", "--weight-decay", "0",
                           "--init-from", str(weights), "--out", str(run)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trained = numnet.load(run / "model.npz")["model"]
    assert list(trained) == list(source.state_dict())
    for key, value in source.state_dict().items():  # one step at lr 1e-12 moved nothing
        numpy.testing.assert_allclose(trained[key], value.numpy(), rtol=0, atol=1e-7)
    assert not numpy.allclose(models.mlp([64, 32, 10]).state_dict()["fc1.weight"],
                              trained["fc1.weight"], atol=1e-3)


def _train(capsys, *args):
    capsys.readouterr()
    code = main(["train", *map(str, args)])
    return code, capsys.readouterr().err.strip()


def test_train_init_from_refuses_what_does_not_fit_in_one_line(tmp_path, capsys):
    wrong = tmp_path / "wrong.safetensors"
    safetensors.torch.save_file(_digits_twin(hidden=16).state_dict(), wrong)
    run = str(tmp_path / "run")
    code, err = _train(capsys, *DIGITS_RUN, "--init-from", wrong, "--out", run)
    assert code == 2 and "\n" not in err
    assert err.endswith(f"--init-from {wrong}: its weights do not fit the mlp model "
                        "(fc1.weight is (16, 64) in the file but (32, 64) in the model): "
                        "use the --model, --hidden and --dataset they were trained for")
    state = _torch_lenet5().state_dict()
    safetensors.torch.save_file(state, wrong)
    code, err = _train(capsys, *DIGITS_RUN, "--init-from", wrong, "--out", run)
    assert code == 2 and "\n" not in err
    assert ("mlp model (unexpected conv1.bias, conv1.weight, conv2.bias (+3 more); "
            "fc1.weight is (120, 400) in the file but (32, 64) in the model)") in err
    torch.save(state, tmp_path / "lenet.pt")
    with pytest.raises(CommandError) as refused:
        read_weights(tmp_path / "lenet.pt")
    assert str(refused.value).startswith(f"--init-from: {tmp_path / 'lenet.pt'}: refused")
    assert str(refused.value).endswith('safetensors.torch.save_file(model.state_dict(), '
                                       '"model.safetensors")')
    with pytest.raises(CommandError, match="nothing.safetensors not found"):
        read_weights(tmp_path / "nothing.safetensors")
    numnet.save({"step": 3}, tmp_path / "state.npz")
    with pytest.raises(CommandError, match="state.npz: it holds no state_dict"):
        read_weights(tmp_path / "state.npz")
    assert not os.path.exists(run)


def test_train_init_from_a_numnet_run_folder_and_not_with_resume(tmp_path, capsys):
    folder, run = tmp_path / "earlier", tmp_path / "run"
    folder.mkdir()
    start = {key: value.numpy() for key, value in _digits_twin().state_dict().items()}
    numnet.save({"model": start, "epoch": 4}, folder / "model.npz")  # as numnet train saves
    assert read_weights(folder).keys() == start.keys()
    code, err = _train(capsys, *DIGITS_RUN, "--lr", "1e-12", "--momentum", "0",
                       "--weight-decay", "0", "--init-from", folder, "--out", run)
    assert code == 0, err
    end = numnet.load(run / "model.npz")["model"]
    for key, value in start.items():
        numpy.testing.assert_allclose(end[key], value, rtol=0, atol=1e-7)
    code, err = _train(capsys, "--resume", run, "--init-from", folder)
    assert code == 2 and err.endswith("--init-from starts a new run from given weights; "
                                      "--resume continues a run with its own: use one or "
                                      "the other")
