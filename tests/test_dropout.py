"""Dropout variants (issue 14.4): ``Dropout1d/2d/3d`` drop whole channels with torch's rank
rules and warnings, ``AlphaDropout`` / ``FeatureAlphaDropout`` keep mean 0 and variance 1
with torch's scale and shift, eval mode and ``training=False`` are the identity, and
``inplace=True`` writes into the input."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn


def _warnings_of(fn):
    """The messages of the warnings ``fn()`` emits, and its result."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return [str(w.message) for w in caught], result


def _channels_all_dropped_or_kept(y: numpy.ndarray, channel_axes: int, kept: float) -> bool:
    flat = y.reshape(y.shape[:channel_axes] + (-1,))
    return bool(((flat == 0).all(-1) | numpy.isclose(flat, kept).all(-1)).all())


# ---------------------------------------------------------------------- channel dropout
@pytest.mark.parametrize("fn, shape, channel_axes", [
    (F.dropout1d, (40, 50, 3), 2), (F.dropout1d, (400, 3), 1),
    (F.dropout2d, (40, 50, 2, 3), 2), (F.dropout3d, (40, 50, 2, 2, 2), 2),
    (F.dropout3d, (400, 2, 2, 2), 1)])
def test_channel_dropout_zeroes_whole_channels_at_rate_p(fn, shape, channel_axes):
    p = 0.3
    x = numnet.ones(*shape, dtype="float64", requires_grad=True)
    y = fn(x, p, generator=numnet.Generator(0))
    assert y.shape == x.shape
    assert _channels_all_dropped_or_kept(y.data, channel_axes, 1 / (1 - p))
    per_channel = y.data.reshape(y.shape[:channel_axes] + (-1,))[..., 0]
    assert abs((per_channel == 0).mean() - p) < 0.04
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad.data, y.data, rtol=1e-12)  # the scaled mask


def test_channel_dropout_matches_torchs_kept_scale():
    x = numpy.ones((8, 16, 4, 4), dtype=numpy.float32)
    ours = F.dropout2d(numnet.tensor(x), 0.25, generator=numnet.Generator(1)).data
    theirs = TF.dropout2d(torch.tensor(x), 0.25).numpy()
    assert set(numpy.unique(ours)) == set(numpy.unique(theirs)) == {0.0, numpy.float32(4 / 3)}


def test_dropout1d_rank_error_like_torch():
    for shape in [(3,), (2, 3, 4, 5)]:
        with pytest.raises(RuntimeError) as ours:
            F.dropout1d(numnet.ones(*shape))
        with pytest.raises(RuntimeError) as theirs:
            TF.dropout1d(torch.ones(*shape))
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name, shape", [("dropout2d", (2, 3)), ("dropout2d", (2, 3, 4)),
                                         ("dropout2d", (2, 3, 4, 5, 6)),
                                         ("dropout3d", (2, 3, 4)), ("dropout3d", (6,)),
                                         ("dropout2d", (2, 3, 4, 5)),
                                         ("dropout3d", (2, 3, 4, 5))])
def test_rank_warnings_like_torch(name, shape):
    ours, y = _warnings_of(lambda: getattr(F, name)(numnet.ones(*shape)))
    theirs, _ = _warnings_of(lambda: getattr(TF, name)(torch.ones(*shape)))
    assert ours == theirs
    assert y.shape == shape


def test_dropout3d_on_a_4d_input_is_one_unbatched_sample():
    y = F.dropout3d(numnet.ones(300, 2, 2, 2), 0.5, generator=numnet.Generator(2)).data
    assert _channels_all_dropped_or_kept(y, 1, 2.0)


def test_dropout2d_on_a_3d_input_drops_dim_1_like_torch():
    x = numnet.ones(20, 30, 4)
    with pytest.warns(UserWarning, match="channel-wise 1D dropout"):
        y = F.dropout2d(x, 0.5, generator=numnet.Generator(3)).data
    assert _channels_all_dropped_or_kept(y, 2, 2.0)


def test_feature_dropout_needs_two_dims():
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        F.feature_alpha_dropout(numnet.ones(5), 0.5, True)
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        TF.feature_alpha_dropout(torch.ones(5), 0.5, True)
    x = numnet.ones(5)  # not training: the input itself, as torch (no rank check)
    assert F.feature_alpha_dropout(x, 0.5, False) is x
    with pytest.warns(UserWarning, match="Received a 1-D input to dropout3d"):
        assert F.dropout3d(x, 0.5, False) is x


# ---------------------------------------------------------------------- alpha dropout
def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal():
    x = numnet.randn(400, 500, dtype="float64", generator=numnet.Generator(4))
    for p in (0.1, 0.5):
        y = F.alpha_dropout(x, p, training=True, generator=numnet.Generator(5))
        assert abs(float(y.mean())) < 0.01
        assert abs(float(y.var()) - 1) < 0.02


def test_alpha_dropout_values_and_gradient_are_torchs():
    p = 0.2
    ones = numpy.ones(20000)
    ours = F.alpha_dropout(numnet.tensor(ones), p, True, generator=numnet.Generator(6))
    theirs = TF.alpha_dropout(torch.tensor(ones), p, True)
    numpy.testing.assert_allclose(numpy.unique(ours.data), numpy.unique(theirs.numpy()),
                                  rtol=1e-12)
    assert abs((ours.data < 0).mean() - p) < 0.02
    x = numnet.tensor(numpy.random.default_rng(7).standard_normal(1000), requires_grad=True)
    y = F.alpha_dropout(x, p, True, generator=numnet.Generator(8))
    y.sum().backward()
    a = (1 / ((1.7580993408473766 ** 2 * p + 1) * (1 - p))) ** 0.5
    kept = x.grad.data != 0
    numpy.testing.assert_allclose(x.grad.data[kept], a, rtol=1e-12)
    numpy.testing.assert_allclose(y.data[~kept], -1.7580993408473766 * a * (1 - p), rtol=1e-12)


def test_feature_alpha_dropout_drops_whole_channels():
    x = numnet.tensor(numpy.random.default_rng(9).standard_normal((30, 40, 5)))
    p = 0.5
    y = F.feature_alpha_dropout(x, p, True, generator=numnet.Generator(10)).data
    a = (1 / ((1.7580993408473766 ** 2 * p + 1) * (1 - p))) ** 0.5
    saturated = numpy.isclose(y, -1.7580993408473766 * a * (1 - p), rtol=1e-12)
    assert (saturated.all(-1) | ~saturated.any(-1)).all()
    assert abs(saturated.all(-1).mean() - 0.5) < 0.05


def test_alpha_dropouts_default_to_not_training():
    x = numnet.randn(3, 4)
    assert F.alpha_dropout(x) is x and F.feature_alpha_dropout(x, 0.9) is x


# ---------------------------------------------------------------------- shared behaviour
FUNCTIONS = [(F.dropout, (3, 4, 2, 2)), (F.dropout1d, (3, 4, 5)), (F.dropout2d, (3, 4, 2, 2)),
             (F.dropout3d, (3, 4, 2, 2, 2)), (F.alpha_dropout, (3, 4, 2, 2)),
             (F.feature_alpha_dropout, (3, 4, 2, 2))]
MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]
SHAPES = {"Dropout": (4, 6), "Dropout1d": (4, 6, 5), "Dropout2d": (4, 6, 3, 3),
          "Dropout3d": (4, 6, 2, 2, 2), "AlphaDropout": (4, 6), "FeatureAlphaDropout": (4, 6, 5)}


@pytest.mark.parametrize("name", MODULES)
def test_module_eval_is_identity_and_train_drops(name):
    layer = getattr(nn, name)(0.5)
    x = numnet.randn(*SHAPES[name])
    assert layer.eval()(x) is x
    layer.train()
    numnet.manual_seed(11)
    a = layer(x)
    numnet.manual_seed(11)
    b = layer(x)
    numpy.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == numpy.float32 and not numpy.array_equal(a.data, x.data)


@pytest.mark.parametrize("name", MODULES)
def test_module_arguments_and_repr(name):
    layer = getattr(nn, name)(0.2, True)
    reference = getattr(torch.nn, name)(0.2, True)
    assert (layer.p, layer.inplace) == (reference.p, reference.inplace)
    assert repr(layer) == f"{name}(p=0.2, inplace=True)" == repr(reference)
    assert repr(getattr(nn, name)()) == f"{name}(p=0.5)"
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            getattr(nn, name)(p)


@pytest.mark.parametrize("fn, shape", FUNCTIONS)
def test_p_zero_and_one(fn, shape):
    x = numnet.randn(*shape, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fn(x, 0.0, True) is x
        y = fn(x, 1.0, True)
    assert (y.data == 0).all()
    y.sum().backward()
    assert (x.grad.data == 0).all()
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        fn(x, 1.5, True)


@pytest.mark.parametrize("fn, shape", FUNCTIONS)
def test_inplace_writes_into_the_input(fn, shape):
    x = numnet.ones(*shape)
    array = x.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(x, 0.5, True, True, generator=numnet.Generator(12))
    assert out is x and x.data is array
    assert len(numpy.unique(x.data)) == 2


def test_inplace_on_a_graph_node_records():
    w = numnet.ones(6, 4, requires_grad=True)
    h = w * 3
    out = nn.Dropout(0.5, inplace=True, generator=numnet.Generator(13))(h)
    assert out is h
    h.sum().backward()
    numpy.testing.assert_allclose(w.grad.data, h.data, rtol=1e-6)  # 3 * 2 where kept


def test_dropout_functional_signature_is_torchs():
    x = numnet.ones(1000)
    assert F.dropout(x, 0.5, False) is x
    y = F.dropout(x, p=0.25, training=True, inplace=False)
    assert set(numpy.unique(y.data)) == {0.0, numpy.float32(4 / 3)}
