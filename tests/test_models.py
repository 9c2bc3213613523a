"""numnet.models: LeNet-5, the CIFAR CNN and the MLP equal their torch twins, step by step."""

from __future__ import annotations

import collections
import json

import numpy
import pytest
import torch

import numnet
import numnet.nn.functional as F
from numnet import models, nn

TOL = dict(rtol=1e-6, atol=1e-9)



def _torch_lenet5(activation, in_channels=1, num_classes=10, pad2=0, flat=400,
                  first_pool=True):
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[activation]
    return torch.nn.Sequential(collections.OrderedDict([
        ("conv1", torch.nn.Conv2d(in_channels, 6, 5, padding=2)), ("act1", act()),
        ("pool1", torch.nn.MaxPool2d(2) if first_pool else torch.nn.Identity()),
        ("conv2", torch.nn.Conv2d(6, 16, 5, padding=pad2)), ("act2", act()),
        ("pool2", torch.nn.MaxPool2d(2)),
        ("flatten", torch.nn.Flatten()),
        ("fc1", torch.nn.Linear(flat, 120)), ("act3", act()),
        ("fc2", torch.nn.Linear(120, 84)), ("act4", act()),
        ("fc3", torch.nn.Linear(84, num_classes)),
    ])).double()


def _torch_cifar_cnn(in_channels=3, num_classes=10, flat=64 * 8 * 8):
    return torch.nn.Sequential(collections.OrderedDict([
        ("conv1", torch.nn.Conv2d(in_channels, 32, 3, padding=1)), ("act1", torch.nn.ReLU()),
        ("conv2", torch.nn.Conv2d(32, 32, 3, padding=1)), ("act2", torch.nn.ReLU()),
        ("pool1", torch.nn.MaxPool2d(2)),
        ("conv3", torch.nn.Conv2d(32, 64, 3, padding=1)), ("act3", torch.nn.ReLU()),
        ("conv4", torch.nn.Conv2d(64, 64, 3, padding=1)), ("act4", torch.nn.ReLU()),
        ("pool2", torch.nn.MaxPool2d(2)),
        ("flatten", torch.nn.Flatten()),
        ("fc1", torch.nn.Linear(flat, 512)), ("act5", torch.nn.ReLU()),
        ("fc2", torch.nn.Linear(512, num_classes)),
    ])).double()


def _copy(numnet_model, torch_model) -> None:
    state = numnet_model.state_dict()
    assert list(state) == list(torch_model.state_dict()), "architectures differ"
    for key, value in torch_model.state_dict().items():
        assert tuple(value.shape) == state[key].shape, key
    torch_model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})


def _optimizers(kind, numnet_model, torch_model):
    if kind == "sgd":
        return (numnet.optim.SGD(numnet_model.parameters(), lr=0.05, momentum=0.9),
                torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9))
    return (numnet.optim.Adam(numnet_model.parameters(), lr=1e-3),
            torch.optim.Adam(torch_model.parameters(), lr=1e-3))


def _train_and_compare(numnet_model, torch_model, input_shape, optimizer, steps=3, seed=0):
    numnet_model.double()
    _copy(numnet_model, torch_model)
    rng = numpy.random.default_rng(seed)
    n_opt, t_opt = _optimizers(optimizer, numnet_model, torch_model)
    for step in range(steps):
        x = rng.standard_normal(input_shape)
        y = rng.integers(0, 10, size=input_shape[0])
        n_logits = numnet_model(numnet.tensor(x))
        t_logits = torch_model(torch.tensor(x))
        numpy.testing.assert_allclose(n_logits.data, t_logits.detach().numpy(), **TOL,
                                      err_msg=f"logits at step {step}")
        n_loss = F.cross_entropy(n_logits, numnet.tensor(y))
        t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(y))
        assert n_loss.item() == pytest.approx(t_loss.item(), rel=1e-9)
        n_opt.zero_grad()
        t_opt.zero_grad()
        n_loss.backward()
        t_loss.backward()
        n_opt.step()
        t_opt.step()
    t_params = dict(torch_model.named_parameters())
    for name, param in numnet_model.named_parameters():
        numpy.testing.assert_allclose(param.data, t_params[name].detach().numpy(), **TOL,
                                      err_msg=f"{name} after {steps} {optimizer} steps")
        assert param.grad is not None


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_lenet5_matches_torch(optimizer, activation):
    numnet.manual_seed(0)
    _train_and_compare(models.lenet5(activation=activation), _torch_lenet5(activation),
                       (4, 1, 28, 28), optimizer)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_cifar_cnn_matches_torch(optimizer):
    numnet.manual_seed(1)
    _train_and_compare(models.cifar_cnn(), _torch_cifar_cnn(), (2, 3, 32, 32), optimizer)


def test_lenet5_on_8x8_digits():
    # no first pooling, conv2 padded by 2: 8 -> 8 -> 8 -> 8 -> 4, 16 * 4 * 4 = 256
    net = models.lenet5(input_size=8)
    assert net.conv2.padding == (2, 2) and net.fc1.in_features == 256
    assert type(net.pool1).__name__ == "Identity"
    rows = net.summary((1, 8, 8), file=False)
    assert [r["output_shape"] for r in rows[:6]] == [(6, 8, 8), (6, 8, 8), (6, 8, 8),
                                                      (16, 8, 8), (16, 8, 8), (16, 4, 4)]
    _train_and_compare(net, _torch_lenet5("relu", pad2=2, flat=256, first_pool=False),
                       (5, 1, 8, 8), "sgd")


@pytest.mark.parametrize("input_size,pad2,flat", [(28, 0, 400), (32, 0, 576), (16, 0, 64),
                                                  (12, 2, 576), (8, 2, 256), (4, 2, 64)])
def test_lenet5_sizes(input_size, pad2, flat):
    net = models.lenet5(input_size=input_size)
    assert net.conv2.padding == (pad2, pad2)
    assert net.fc1.in_features == flat
    with pytest.raises(ValueError, match="at least 4x4"):
        models.lenet5(input_size=3)


def test_lenet5_layers_and_params():
    net = models.lenet5()
    assert [type(m).__name__ for m in net] == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear",
        "ReLU", "Linear", "ReLU", "Linear"]
    # 156 + 2416 + 48120 + 10164 + 850
    assert net.num_parameters() == 61706
    assert isinstance(net, models.LeNet5)
    with pytest.raises(RuntimeError, match="Error.s. in loading state_dict for LeNet5"):
        net.load_state_dict({})


def test_cifar_cnn_layers_and_params():
    net = models.cifar_cnn()
    assert [type(m).__name__ for m in net] == [
        "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Conv2d", "ReLU",
        "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"]
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1)
               for m in net if isinstance(m, nn.Conv2d))
    assert net.fc1.in_features == 4096
    assert models.cifar_cnn(input_size=16).fc1.in_features == 64 * 4 * 4


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mlp_matches_torch(optimizer):
    numnet.manual_seed(2)
    net = models.mlp([12, 16, 8, 10], activation="tanh")
    twin = torch.nn.Sequential(collections.OrderedDict([
        ("flatten", torch.nn.Flatten()),
        ("fc1", torch.nn.Linear(12, 16)), ("act1", torch.nn.Tanh()),
        ("fc2", torch.nn.Linear(16, 8)), ("act2", torch.nn.Tanh()),
        ("fc3", torch.nn.Linear(8, 10))])).double()
    _train_and_compare(net, twin, (6, 3, 4), optimizer)


def test_mlp_structure():
    net = models.mlp([784, 256, 128, 10], dropout=0.2, init="xavier")
    assert [type(m).__name__ for m in net] == [
        "Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert (net.fc1.bias.data == 0).all() and net.fc1.init == "xavier"
    with pytest.raises(ValueError, match="at least"):
        models.mlp([10])
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        models.mlp([3, 2], activation="swish")


@pytest.mark.parametrize("build", [
    lambda: models.mlp([6, 5, 3], activation="sigmoid", init="he", dropout=0.1),
    lambda: models.lenet5(activation="tanh", input_size=8, num_classes=4),
    lambda: models.cifar_cnn(in_channels=1, input_size=8, activation="leaky_relu"),
])
def test_build_model_round_trip(build):
    net = build()
    config = json.loads(json.dumps(net.config))
    assert config == net.config
    rebuilt = models.build_model(config)
    assert type(rebuilt) is type(net) and rebuilt.config == net.config
    assert repr(rebuilt) == repr(net)
    rebuilt.load_state_dict(net.state_dict())
    if "conv1" in net._modules:
        x = numnet.randn(2, net.config["in_channels"], net.config["input_size"],
                         net.config["input_size"])
    else:
        x = numnet.randn(2, 6)
    net.eval()
    rebuilt.eval()
    numpy.testing.assert_array_equal(net(x).data, rebuilt(x).data)


def test_build_model_errors():
    with pytest.raises(ValueError, match="unknown model 'vgg16'.*lenet5"):
        models.build_model({"name": "vgg16"})
    with pytest.raises(ValueError, match="does not take 'depth'"):
        models.build_model({"name": "lenet5", "depth": 3})
    with pytest.raises(ValueError, match="'name'"):
        models.build_model({"activation": "relu"})
    with pytest.raises(TypeError, match="JSON"):
        models.lenet5(init=lambda w: w)


def test_lenet5_wrong_input_size_names_layer():
    net = models.lenet5()
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=400, out_features=120\): "
                                           r"expected input with last dimension 400, got shape "
                                           r"\(2, 576\)"):
        net(numnet.zeros(2, 1, 32, 32))
