"""The ``cnn_bn`` and ``resnet`` presets against torch twins written here, and the
per-dataset default recipes of ``numnet train``."""

from __future__ import annotations

import collections
import json

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F
from numnet import cli, models
from numnet.commands._runs import RECIPES, Settings, model_config, recipes_help
from numnet.data import get_info

TOL = dict(rtol=1e-6, atol=1e-9)


class TorchBasicBlock(torch.nn.Module):
    """torchvision's ``BasicBlock``, as the oracle of numnet's."""

    def __init__(self, in_channels, channels, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(channels)
        self.relu = torch.nn.ReLU()
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                torch.nn.BatchNorm2d(channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchResNet(torch.nn.Module):
    def __init__(self, in_channels, num_classes, width, blocks):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(width)
        self.relu = torch.nn.ReLU()
        previous, self.stages = width, []
        for stage, count in enumerate(blocks):
            channels = width * 2 ** stage
            layer = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                layer.append(TorchBasicBlock(previous, channels, stride))
                previous = channels
            setattr(self, f"layer{stage + 1}", torch.nn.Sequential(*layer))
            self.stages.append(f"layer{stage + 1}")
        self.fc = torch.nn.Linear(previous, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for name in self.stages:
            x = getattr(self, name)(x)
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _torch_cnn_bn(in_channels, channels, side, hidden, dropout, num_classes=10):
    layers, previous = [], in_channels
    for stage, width in enumerate(channels, 1):
        layers += [(f"conv{stage}", torch.nn.Conv2d(previous, width, 3, padding=1, bias=False)),
                   (f"bn{stage}", torch.nn.BatchNorm2d(width)),
                   (f"act{stage}", torch.nn.ReLU()), (f"pool{stage}", torch.nn.MaxPool2d(2))]
        previous = width
    final = side // 2 ** len(channels)
    layers += [("drop1", torch.nn.Dropout(dropout)), ("flatten", torch.nn.Flatten()),
               ("fc1", torch.nn.Linear(previous * final * final, hidden, bias=False)),
               ("bn_fc", torch.nn.BatchNorm1d(hidden)), ("act_fc", torch.nn.ReLU()),
               ("drop2", torch.nn.Dropout(min(0.5, 2 * dropout))),
               ("fc2", torch.nn.Linear(hidden, num_classes))]
    return torch.nn.Sequential(collections.OrderedDict(layers))


def _load(numnet_model, torch_model):
    state = numnet_model.state_dict()
    assert list(state) == list(torch_model.state_dict()), "architectures differ"
    torch_model.load_state_dict({k: torch.tensor(numpy.asarray(v)) for k, v in state.items()})


def _compare_steps(net, twin, shape, steps=2, seed=0):
    """Two SGD steps in train mode, then eval-mode outputs: equal in float64."""
    net.double()
    twin.double()
    _load(net, twin)
    n_opt = numnet.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    t_opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    rng = numpy.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        y = rng.integers(0, 10, size=shape[0])
        n_loss = F.cross_entropy(net(numnet.tensor(x)), numnet.tensor(y))
        t_loss = torch.nn.functional.cross_entropy(twin(torch.tensor(x)), torch.tensor(y))
        assert n_loss.item() == pytest.approx(t_loss.item(), rel=1e-9)
        for opt, loss in ((n_opt, n_loss), (t_opt, t_loss)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    t_state = twin.state_dict()
    for key, value in net.state_dict().items():
        numpy.testing.assert_allclose(numpy.asarray(value), t_state[key].numpy(), **TOL,
                                      err_msg=key)
    net.eval()
    twin.eval()
    x = rng.standard_normal(shape)
    numpy.testing.assert_allclose(net(numnet.tensor(x)).detach().numpy(),
                                  twin(torch.tensor(x)).detach().numpy(), **TOL)


@pytest.mark.parametrize("in_channels, side", [(3, 32), (1, 28)])
def test_resnet_trains_like_torchs(in_channels, side):
    net = models.resnet(in_channels=in_channels, input_size=side, width=4)
    twin = TorchResNet(in_channels, 10, 4, (2, 2, 2, 2))
    _compare_steps(net, twin, (3, in_channels, side, side))


def test_resnet_float32_outputs_within_1e_5_of_torch():
    numnet.manual_seed(1)
    net = models.resnet()
    twin = TorchResNet(3, 10, 16, (2, 2, 2, 2))
    _load(net, twin)
    x = numpy.random.default_rng(2).standard_normal((4, 3, 32, 32)).astype(numpy.float32)
    for mode in ("eval", "train"):
        getattr(net, mode)()
        getattr(twin, mode)()
        numpy.testing.assert_allclose(net(numnet.tensor(x)).detach().numpy(),
                                      twin(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_resnet_structure():
    net = models.resnet()
    assert sum(p.numel() for p in net.parameters()) == sum(
        p.numel() for p in TorchResNet(3, 10, 16, (2, 2, 2, 2)).parameters()) == 701466
    assert net.layer2[0].downsample is not None and net.layer1[0].downsample is None
    assert net(numnet.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert models.resnet(blocks=(1, 1), width=8)(numnet.zeros(2, 3, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="at least"):
        models.resnet(input_size=4)
    with pytest.raises(ValueError, match="at least one block"):
        models.resnet(blocks=(2, 0))


def test_cnn_bn_trains_like_torchs():
    net = models.cnn_bn(dropout=0.0)
    twin = _torch_cnn_bn(1, (32, 64), 28, 128, 0.0)
    _compare_steps(net, twin, (4, 1, 28, 28))


def test_cnn_bn_structure_and_dropout():
    net = models.cnn_bn(in_channels=3, input_size=32, channels=(8, 16, 32), hidden=64)
    twin = _torch_cnn_bn(3, (8, 16, 32), 32, 64, 0.25)
    assert list(net.state_dict()) == list(twin.state_dict())
    assert net.drop1.p == 0.25 and net.drop2.p == 0.5
    assert net.conv1.bias is None and net.fc1.bias is None and net.fc2.bias is not None
    with pytest.raises(ValueError, match="cnn_bn needs"):
        models.cnn_bn(input_size=2)


@pytest.mark.parametrize("name", ["cnn_bn", "resnet"])
def test_new_presets_rebuild_from_their_json_config(name):
    net = models.MODELS[name]()
    config = json.loads(json.dumps(net.config))
    rebuilt = models.build_model(config)
    assert type(rebuilt) is type(net) and rebuilt.config == net.config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in net.state_dict().items()}


# --- recipes ---------------------------------------------------------------------------

def test_each_recipe_is_made_of_settings_and_known_models():
    fields = set(Settings.__dataclass_fields__)
    for name, recipe in RECIPES.items():
        assert set(recipe) <= fields, name
        assert recipe["model"] in models.MODELS
        get_info(name)  # a registered dataset
        assert recipe["epochs"] <= 10


def test_defaults_follow_the_dataset_and_flags_still_win():
    assert Settings.for_dataset(None) == Settings()
    assert Settings.for_dataset("digits") == Settings()
    fashion = Settings.for_dataset("Fashion_MNIST")
    assert fashion.model == RECIPES["fashion-mnist"]["model"]
    assert fashion.epochs == RECIPES["fashion-mnist"]["epochs"]
    assert Settings.for_dataset("no-such-set").dataset == "no-such-set"
    parser = __import__("argparse").ArgumentParser()
    Settings.add_arguments(parser)
    args = parser.parse_args(["--dataset", "fashion-mnist", "--model", "lenet5",
                              "--epochs", "3"])
    chosen = Settings.for_dataset(args.dataset).from_args(args)
    assert (chosen.model, chosen.epochs) == ("lenet5", 3)
    assert chosen.batch_size == RECIPES["fashion-mnist"]["batch_size"]
    text = recipes_help()
    assert all(f"{name}: --model {recipe['model']}" in text for name, recipe in RECIPES.items())


def test_relu_presets_refuse_another_activation():
    info = get_info("digits")
    with pytest.raises(ValueError, match="ReLU network"):
        model_config(Settings(model="resnet", activation="tanh"), info)
    assert model_config(Settings(model="cnn_bn"), info) == {
        "name": "cnn_bn", "in_channels": 1, "num_classes": 10, "input_size": 8, "init": None}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn_bn", "resnet"])
def test_cli_trains_evaluates_and_summarises_the_new_presets(tmp_path, capsys, name):
    out = tmp_path / name
    assert cli.main(["train", "--model", name, "--epochs", "1", "--limit-train", "200",
                     "--limit-test", "50", "--batch-size", "50", "--no-progress",
                     "--out", str(out)]) == 0
    assert (out / "model.npz").exists() and (out / "last.npz").exists()
    capsys.readouterr()
    assert cli.main(["evaluate", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert cli.main(["summary", str(out)]) == 0
    assert name in capsys.readouterr().out
