"""numnet.nn.init: formulas, fans, the lecture's He form, the registry, layer defaults."""

from __future__ import annotations

import math

import numpy
import pytest
import torch

import numnet
from numnet import nn
from numnet.nn import init

FAN_IN, FAN_OUT = 400, 1000  # weight (fan_out, fan_in): 400k draws, std known to ~0.1%


def _weight(shape=(FAN_OUT, FAN_IN), dtype=numpy.float64):
    return numnet.zeros(*shape, dtype=dtype)


def _gen(seed=0):
    return numnet.Generator(seed)


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)),
                                        ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_calculate_gain_unknown():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(7, 3), (16, 6, 5, 5), (6, 1, 5, 5), (32, 3, 3, 3),
                                   (4, 2, 3, 5)])
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    assert init._calculate_fan_in_and_fan_out(numnet.zeros(*shape)) == expected


def test_conv_fans_are_channels_times_window():
    # K=16 filters of F=5 over C=6 channels
    assert init._calculate_fan_in_and_fan_out(numnet.zeros(16, 6, 5, 5)) == (6 * 25, 16 * 25)
    w = nn.Conv2d(6, 16, 5).weight
    assert init._calculate_fan_in_and_fan_out(w) == (150, 400)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(numnet.zeros(5))


def _std_cases():
    fi, fo = FAN_IN, FAN_OUT
    relu = math.sqrt(2.0)
    leaky = math.sqrt(2.0 / (1 + 0.1 ** 2))
    return [
        ("normal", lambda w: init.normal_(w, generator=_gen()), 1.0),
        ("normal 0.01", lambda w: init.normal_(w, std=0.01, generator=_gen()), 0.01),
        ("uniform -2 2", lambda w: init.uniform_(w, -2, 2, generator=_gen()), 4 / math.sqrt(12)),
        ("xavier_normal", lambda w: init.xavier_normal_(w, generator=_gen()),
         math.sqrt(2 / (fi + fo))),
        ("xavier_normal gain", lambda w: init.xavier_normal_(w, gain=5 / 3, generator=_gen()),
         5 / 3 * math.sqrt(2 / (fi + fo))),
        ("xavier_uniform", lambda w: init.xavier_uniform_(w, generator=_gen()),
         math.sqrt(2 / (fi + fo))),
        ("kaiming_normal relu", lambda w: init.kaiming_normal_(w, nonlinearity="relu",
                                                               generator=_gen()),
         relu / math.sqrt(fi)),
        ("kaiming_normal fan_out", lambda w: init.kaiming_normal_(
            w, mode="fan_out", nonlinearity="relu", generator=_gen()), relu / math.sqrt(fo)),
        ("kaiming_normal leaky", lambda w: init.kaiming_normal_(w, a=0.1, generator=_gen()),
         leaky / math.sqrt(fi)),
        ("kaiming_uniform relu", lambda w: init.kaiming_uniform_(w, nonlinearity="relu",
                                                                 generator=_gen()),
         relu / math.sqrt(fi)),
        ("he_normal (He 2015)", lambda w: init.he_normal_(w, generator=_gen()),
         math.sqrt(2 / fi)),
        ("he_normal fan_avg (lecture)", lambda w: init.he_normal_(w, mode="fan_avg",
                                                                  generator=_gen()),
         math.sqrt(4 / (fi + fo))),
        ("he_uniform fan_avg", lambda w: init.he_uniform_(w, mode="fan_avg", generator=_gen()),
         math.sqrt(4 / (fi + fo))),
        ("lecun_normal", lambda w: init.lecun_normal_(w, generator=_gen()), 1 / math.sqrt(fi)),
        ("lecun_uniform", lambda w: init.lecun_uniform_(w, generator=_gen()),
         1 / math.sqrt(fi)),
        ("torch default", lambda w: init.default_weight_(w, generator=_gen()),
         1 / math.sqrt(3 * fi)),
    ]


@pytest.mark.parametrize("label,fill,std", _std_cases(), ids=[c[0] for c in _std_cases()])
def test_empirical_std_matches_formula(label, fill, std):
    w = _weight()
    assert fill(w) is w
    assert abs(w.data.std() / std - 1) < 0.02, f"{label}: std {w.data.std()} vs {std}"
    assert abs(w.data.mean()) < 0.02 * std * 10


def test_uniform_bounds():
    w = init.xavier_uniform_(_weight(), generator=_gen())
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert w.data.max() <= bound and w.data.min() >= -bound
    assert w.data.max() > 0.99 * bound and w.data.min() < -0.99 * bound
    w = init.kaiming_uniform_(_weight(), a=math.sqrt(5), generator=_gen())
    assert numpy.abs(w.data).max() <= 1 / math.sqrt(FAN_IN)


def test_lecture_he_form_vs_he_2015_differ_exactly_as_documented():
    # same seed -> the same standard normal draws, scaled by each std
    for fan_in, fan_out in [(400, 1000), (784, 256), (150, 400)]:
        w_2015 = init.he_normal_(_weight((fan_out, fan_in)), mode="fan_in", generator=_gen(3))
        w_avg = init.he_normal_(_weight((fan_out, fan_in)), mode="fan_avg", generator=_gen(3))
        ratio = math.sqrt(2 * fan_in / (fan_in + fan_out))
        numpy.testing.assert_allclose(w_avg.data, ratio * w_2015.data, rtol=1e-12)
        lecture_std = math.sqrt(4 / (fan_in + fan_out))
        assert abs(w_avg.data.std() / lecture_std - 1) < 0.02
    # equal fans: the two forms coincide
    a = init.he_normal_(_weight((300, 300)), generator=_gen(1))
    b = init.he_normal_(_weight((300, 300)), mode="fan_avg", generator=_gen(1))
    numpy.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    # and He 2015 is kaiming_normal_ for ReLU
    c = init.kaiming_normal_(_weight((300, 200)), nonlinearity="relu", generator=_gen(2))
    d = init.he_normal_(_weight((300, 200)), generator=_gen(2))
    numpy.testing.assert_array_equal(c.data, d.data)


def test_conv_weight_he_std_uses_channels_times_window():
    w = numnet.zeros(64, 32, 3, 3, dtype="float64")
    init.kaiming_normal_(w, nonlinearity="relu", generator=_gen())
    assert abs(w.data.std() / math.sqrt(2 / (32 * 9)) - 1) < 0.02


def test_bad_mode():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(_weight((3, 3)), mode="fan_sum")


def test_constant_fills_and_dtype_kept():
    w = numnet.zeros(3, 4)
    assert init.ones_(w).data.sum() == 12
    assert init.constant_(w, 0.5).data.max() == 0.5
    assert init.zeros_(w).data.any() == False  # noqa: E712
    init.xavier_normal_(w)
    assert w.dtype == numpy.float32
    with pytest.raises(TypeError, match="numnet Tensor"):
        init.zeros_(numpy.zeros(3))


def test_in_place_on_parameter_keeps_identity_and_no_graph():
    layer = nn.Linear(5, 3)
    weight = layer.weight
    array = weight.data
    init.xavier_uniform_(weight)
    assert layer.weight is weight and weight.data is array
    assert weight.is_leaf and weight.requires_grad


def test_generator_reproducible_and_default_generator():
    a = init.normal_(numnet.zeros(50), generator=_gen(7))
    b = init.normal_(numnet.zeros(50), generator=_gen(7))
    numpy.testing.assert_array_equal(a.data, b.data)
    numnet.manual_seed(11)
    c = init.normal_(numnet.zeros(50))
    numnet.manual_seed(11)
    d = init.normal_(numnet.zeros(50))
    numpy.testing.assert_array_equal(c.data, d.data)
    assert not numpy.array_equal(a.data, c.data)


@pytest.mark.parametrize("name,std", [
    ("xavier", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_uniform", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he", math.sqrt(2 / FAN_IN)),
    ("kaiming", math.sqrt(2 / FAN_IN)),
    ("kaiming_uniform", math.sqrt(2 / FAN_IN)),
    ("he_fan_avg", math.sqrt(4 / (FAN_IN + FAN_OUT))),
    ("he_lecture", math.sqrt(4 / (FAN_IN + FAN_OUT))),
    ("lecun", 1 / math.sqrt(FAN_IN)),
    ("normal", 1.0),
    ("normal_0.01", 0.01),
    ("normal_0.5", 0.5),
    ("default", 1 / math.sqrt(3 * FAN_IN)),
])
def test_initialize_by_name(name, std):
    w = init.initialize(_weight(), name, generator=_gen())
    assert abs(w.data.std() / std - 1) < 0.02


def test_initialize_unknown_name_lists_known():
    with pytest.raises(ValueError, match="unknown init 'glorious'.*xavier"):
        init.initialize(_weight((3, 3)), "glorious")
    with pytest.raises(ValueError, match="unknown init"):
        init.initialize(_weight((3, 3)), "normal_minus")


def test_initialize_callable():
    w = init.initialize(_weight((3, 3)), lambda t: init.constant_(t, 2.0))
    assert (w.data == 2).all()


def test_layer_init_argument():
    numnet.manual_seed(0)
    layer = nn.Linear(FAN_IN, FAN_OUT, init="xavier", dtype="float64")
    assert abs(layer.weight.data.std() / math.sqrt(2 / (FAN_IN + FAN_OUT)) - 1) < 0.02
    assert (layer.bias.data == 0).all()
    conv = nn.Conv2d(32, 64, 3, init="he")
    assert abs(conv.weight.data.std() / math.sqrt(2 / (32 * 9)) - 1) < 0.02
    assert (conv.bias.data == 0).all()
    assert "init='he'" in repr(conv)


def test_layer_defaults_are_torchs():
    numnet.manual_seed(0)
    layer = nn.Linear(FAN_IN, FAN_OUT, dtype="float64")
    bound = 1 / math.sqrt(FAN_IN)
    assert numpy.abs(layer.weight.data).max() <= bound
    assert abs(layer.weight.data.std() / (bound / math.sqrt(3)) - 1) < 0.02
    assert numpy.abs(layer.bias.data).max() <= bound
    conv = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)
    assert numpy.abs(conv.weight.data).max() <= bound
    assert numpy.abs(conv.bias.data).max() <= bound
    assert numpy.abs(conv.weight.data).max() > 0.9 * bound
    rnn = nn.RNN(5, 16, num_layers=2)
    for name, param in rnn.named_parameters():
        assert numpy.abs(param.data).max() <= 1 / 4, name
        assert numpy.abs(param.data).max() > 0.8 / 4, name
    bn = nn.BatchNorm2d(4)
    assert (bn.weight.data == 1).all() and (bn.bias.data == 0).all()
    assert (bn.running_mean.data == 0).all() and (bn.running_var.data == 1).all()
