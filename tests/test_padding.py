"""``F.pad`` in its four modes and the padding layers (ops/padding.py, nn/padding.py) against
PyTorch: values, gradients, gradcheck, and torch's rules and exception types."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

# input shape, pad; every pad valid for every mode on that shape
EDGE_CASES = [
    ((2, 3, 5), (1, 2)),
    ((3, 5), (2, 0)),
    ((3, 5), (-1, 3)),  # crop one on the left, pad three on the right
    ((2, 3, 4, 5), (1, 2, 2, 1)),
    ((3, 4, 5), (0, 3, 3, 0)),
    ((2, 2, 4, 5), (-2, 1, 1, -1)),
    ((1, 2, 4, 5), (2, -3, 0, 2)),
    ((1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2)),
    ((2, 3, 4, 5), (1, 0, 1, 2, 2, 1)),  # 3 dims of a 4-D (unbatched) input
]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pad", EDGE_CASES)
def test_pad_modes_match_torch(mode, shape, pad, check_op):
    check_op(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode), shape)


@pytest.mark.parametrize("pad", [(1, 1), (0, 2, 1, 0), (-1, 2, 2, -2), (1, 0, 0, 1, 2, 1)])
def test_constant_pad_matches_torch(pad, check_op):
    check_op(lambda x: F.pad(x, pad, value=-0.5), lambda x: TF.pad(x, pad, value=-0.5),
             (2, 3, 4), gradcheck=False)
    check_op(lambda x: F.pad(x, pad, "constant"), lambda x: TF.pad(x, pad, "constant"), (2, 3, 4))


def test_pad_reads_the_sources_torch_reads():
    x = numpy.arange(5.0).reshape(1, 1, 5)
    for mode in ("reflect", "replicate", "circular"):
        for pad in [(4, 4), (-2, 3), (3, -2), (-3, 1), (0, 0)]:
            got = F.pad(numnet.tensor(x), pad, mode=mode).data
            want = TF.pad(torch.tensor(x), pad, mode=mode).numpy()
            numpy.testing.assert_array_equal(got, want, err_msg=f"{mode} {pad}")


def test_pad_keeps_integer_dtypes():
    x = numnet.arange(12).reshape(1, 3, 4)
    y = F.pad(x, (1, 2), mode="reflect")
    assert y.dtype == numnet.int64
    assert y.tolist() == TF.pad(torch.arange(12).reshape(1, 3, 4), (1, 2), "reflect").tolist()


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (3, 3), mode="reflect"),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (1, 1, 3, 0), mode="reflect"),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (1, 4), mode="circular"),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 1, 3, 3), (1, 1), mode="replicate"),
    lambda lib: lib.nn.functional.pad(lib.ones(3), (1, 1), mode="reflect"),
    lambda lib: lib.nn.functional.pad(lib.ones(3, 3), (1, 1, 1, 1), mode="circular"),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 3), (1, 1), mode="reflect", value=2.0),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 3), (1, 1), mode="wrap"),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3, 3), (1, 1, 1)),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3), (1,) * 6),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3), (1.5, 1)),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 3), (-2, -2)),
    lambda lib: lib.nn.functional.pad(lib.ones(1, 0, 3), (1, 1, 1, 1), mode="replicate"),
    lambda lib: lib.nn.ReflectionPad2d((1, 2, 3))(lib.ones(1, 3, 3)),
    lambda lib: lib.nn.CircularPad1d(1)(lib.ones(1, 1, 3, 3)),
], ids=lambda make: "")
def test_pad_errors_have_torchs_exception_types(make):
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(Exception) as ours:
        make(numnet)
    assert type(ours.value) is type(theirs.value), (
        f"{ours.value!r} is not a {type(theirs.value).__name__}")


def test_pad_error_messages_are_torchs():
    with pytest.raises(RuntimeError, match=r"Argument #6: Padding size should be less than the "
                       r"corresponding input dimension, but got: padding \(1, 3\) at dimension "
                       r"2 of input \[1, 1, 3, 3\]"):
        F.pad(numnet.ones(1, 1, 3, 3), (1, 1, 1, 3), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        F.pad(numnet.ones(1, 1, 3, 3), (1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(numnet.ones(1, 1, 3), (0, 4), mode="circular")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(numnet.ones(1, 1, 5), (3, -3), mode="circular")  # torch reads past its buffer


LAYERS = [  # name, constructor arguments, input shape
    ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 2, 3, 3)),
    ("ConstantPad1d", ((1, 2), 3.5), (3, 4)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.25), (2, 2, 3, 3)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 4)),
    ("ReflectionPad2d", (2,), (2, 3, 4, 5)),
    ("ReflectionPad3d", ((1, 1, 0, 1, 1, 0),), (1, 2, 2, 3, 3)),
    ("ReplicationPad1d", (3,), (3, 4)),
    ("ReplicationPad2d", ((0, 3, 2, 1),), (3, 4, 5)),
    ("ReplicationPad3d", (1,), (2, 2, 2, 3)),
    ("CircularPad1d", ((1, 2),), (2, 3, 4)),
    ("CircularPad2d", (1,), (2, 3, 4, 5)),
    ("CircularPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 2, 3, 3)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_padding_layers_match_torch(name, args, shape, check_op):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    check_op(ours, theirs, shape, gradcheck=False)


def test_padding_layer_gradcheck_and_in_a_network():
    numnet.manual_seed(0)
    net = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2, 3, 3))
    x = numnet.randn(2, 2, 5, 5, dtype=numnet.float64, requires_grad=True)
    assert numnet.gradcheck(net.double(), [x])
    assert net(x).shape == (2, 3, 5, 5)
