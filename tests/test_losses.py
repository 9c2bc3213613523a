"""Loss functions and modules against PyTorch: l1, smooth L1, Huber, KL divergence, the
unbatched forms of cross_entropy / nll_loss, and the ``nn.*Loss`` modules (arguments,
defaults, buffers, repr, reduction checks)."""

from __future__ import annotations

import warnings

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn

REDUCTIONS = ["none", "mean", "sum"]


# ---------------------------------------------------------------------- elementwise losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs", [
    ("l1_loss", {}), ("mse_loss", {}),
    ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {}), ("huber_loss", {"delta": 2.0}),
])
def test_elementwise_losses(name, kwargs, reduction, check_op):
    check_op(lambda x, t: getattr(F, name)(x, t, reduction=reduction, **kwargs),
             lambda x, t: getattr(TF, name)(x, t, reduction=reduction, **kwargs),
             (3, 4), (3, 4))


@pytest.mark.parametrize("name, kwargs, edge", [
    ("l1_loss", {}, 1.0), ("smooth_l1_loss", {"beta": 0.5}, 0.5),
    ("smooth_l1_loss", {"beta": 0.0}, 1.0), ("huber_loss", {"delta": 2.0}, 2.0),
])
def test_elementwise_losses_gradient_at_the_kinks(name, kwargs, edge, check_op):
    """x - t exactly 0 and exactly +-beta / +-delta: PyTorch's one-sided choices."""
    x = numpy.array([0.0, edge, -edge, 3.0, -0.25, 1.5])
    t = numpy.array([0.0, 0.0, 0.0, 3.0, 0.0, 1.5 - edge])
    check_op(lambda a, b: getattr(F, name)(a, b, reduction="sum", **kwargs),
             lambda a, b: getattr(TF, name)(a, b, reduction="sum", **kwargs),
             x, t, gradcheck=False)


def test_elementwise_losses_broadcast_target(check_op):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns about the broadcast
        check_op(lambda x, t: F.smooth_l1_loss(x, t), lambda x, t: TF.smooth_l1_loss(x, t),
                 (3, 4), (4,))


def test_beta_and_delta_checked_like_torch():
    x = numnet.zeros(3)
    with pytest.raises(RuntimeError, match="beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="delta"):
        F.huber_loss(x, x, delta=0.0)
    t = torch.zeros(3)
    with pytest.raises(RuntimeError):
        TF.smooth_l1_loss(t, t, beta=-1.0)
    with pytest.raises(RuntimeError):
        TF.huber_loss(t, t, delta=0.0)


# ---------------------------------------------------------------------- KL divergence
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target, check_op):
    rng = numpy.random.default_rng(1)
    logp = numpy.log(rng.dirichlet(numpy.ones(4), size=3))
    q = rng.dirichlet(numpy.ones(4), size=3)
    target = numpy.log(q) if log_target else q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'mean': both libraries warn
        check_op(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
                 lambda x, t: TF.kl_div(x, t, reduction=reduction, log_target=log_target),
                 logp, target)


def test_kl_div_zero_target_and_mean_warning(check_op):
    target = numpy.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    check_op(lambda x, t: F.kl_div(x, t, reduction="batchmean"),
             lambda x, t: TF.kl_div(x, t, reduction="batchmean"),
             (2, 3), target, grad=[True, False])
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(numnet.zeros(2, 3), numnet.tensor(target), reduction="mean")
    with pytest.raises(ValueError, match="reduction"):
        F.kl_div(numnet.zeros(2, 3), numnet.tensor(target), reduction="average")
    with pytest.raises(ValueError):
        TF.kl_div(torch.zeros(2, 3), torch.tensor(target), reduction="average")


# ---------------------------------------------------------------------- unbatched inputs
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_unbatched_index(reduction, smoothing, weighted, check_op):
    w = numpy.array([0.5, 2.0, 1.0, 1.5]) if weighted else None

    def ours(x):
        weight = None if w is None else numnet.tensor(w.astype(x.dtype))
        return F.cross_entropy(x, numnet.tensor(2), weight=weight, reduction=reduction,
                               label_smoothing=smoothing)

    def theirs(x):
        weight = None if w is None else torch.tensor(w, dtype=x.dtype)
        return TF.cross_entropy(x, torch.tensor(2), weight=weight, reduction=reduction,
                                label_smoothing=smoothing)
    check_op(ours, theirs, (4,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched_probabilities(reduction, check_op):
    p = numpy.random.default_rng(2).dirichlet(numpy.ones(5))
    check_op(lambda x, t: F.cross_entropy(x, t, reduction=reduction),
             lambda x, t: TF.cross_entropy(x, t, reduction=reduction), (5,), p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_unbatched(reduction, check_op):
    check_op(lambda x: F.nll_loss(x, numnet.tensor(1), reduction=reduction),
             lambda x: TF.nll_loss(x, torch.tensor(1), reduction=reduction), (3,))


def test_unbatched_target_shape_checked():
    with pytest.raises(ValueError, match="1D target must have size 1"):
        F.nll_loss(numnet.zeros(3), numnet.tensor([1, 2]))
    with pytest.raises(ValueError, match="1D target must have size 1"):
        F.cross_entropy(numnet.zeros(3), numnet.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="0-d"):
        F.cross_entropy(numnet.tensor(1.0), numnet.tensor(0))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(numnet.zeros(3, 4), numnet.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="targets of shape"):
        F.cross_entropy(numnet.zeros(3, 4, 5), numnet.tensor([1, 2, 0]))
    # a (1,) target with a (C,) input: a 0-d loss, as in PyTorch
    for fn, tfn in ((F.nll_loss, TF.nll_loss), (F.cross_entropy, TF.cross_entropy)):
        x = numpy.array([0.5, -1.0, 2.0])
        got = fn(numnet.tensor(x), numnet.tensor([1]))
        want = tfn(torch.tensor(x), torch.tensor([1]))
        assert got.shape == () and abs(got.item() - want.item()) < 1e-12


# ---------------------------------------------------------------------- legacy arguments
@pytest.mark.parametrize("size_average, reduce", [(None, False), (False, None), (True, True),
                                                  (False, True), (True, False)])
def test_size_average_and_reduce_become_torch_reduction(size_average, reduce):
    with pytest.warns(UserWarning, match="deprecated"):
        ours = nn.MSELoss(size_average=size_average, reduce=reduce).reduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.nn.MSELoss(size_average=size_average, reduce=reduce).reduction
    assert ours == theirs
    x, t = numpy.arange(6.0).reshape(2, 3), numpy.ones((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = F.l1_loss(numnet.tensor(x), numnet.tensor(t), size_average, reduce)
        want = TF.l1_loss(torch.tensor(x), torch.tensor(t), size_average, reduce)
    numpy.testing.assert_allclose(got.data, want.numpy())


# ---------------------------------------------------------------------- modules
_W = numpy.array([1.0, 2.0, 0.5])

MODULE_CASES = [
    # name, constructor kwargs (as numpy; weights become tensors), input, target
    ("CrossEntropyLoss", {}, (4, 3), numpy.array([0, 2, 1, 2])),
    ("CrossEntropyLoss", {"weight": _W, "label_smoothing": 0.1, "reduction": "sum"},
     (4, 3), numpy.array([0, 2, 1, 2])),
    ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "none"}, (4, 3),
     numpy.array([0, 1, 1, 2])),
    ("NLLLoss", {"weight": _W}, (4, 3), numpy.array([0, 2, 1, 2])),
    ("MSELoss", {}, (4, 3), (4, 3)),
    ("L1Loss", {"reduction": "sum"}, (4, 3), (4, 3)),
    ("SmoothL1Loss", {"beta": 0.5}, (4, 3), (4, 3)),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, (4, 3), (4, 3)),
    ("BCELoss", {"weight": _W}, numpy.full((4, 3), 0.3), numpy.full((4, 3), 0.8)),
    ("BCEWithLogitsLoss", {"pos_weight": _W, "weight": _W}, (4, 3), numpy.full((4, 3), 0.6)),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, (4, 3), (4, 3)),
]


def _kwargs(kwargs, to_tensor):
    return {k: to_tensor(v) if isinstance(v, numpy.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("name, kwargs, x, t", MODULE_CASES)
def test_loss_modules_match_torch(name, kwargs, x, t, check_op):
    ours = getattr(nn, name)(**_kwargs(kwargs, numnet.tensor))
    theirs = getattr(torch.nn, name)(**_kwargs(kwargs, torch.tensor))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.reduction == theirs.reduction
    index_target = isinstance(t, numpy.ndarray) and t.dtype.kind == "i"

    def run_ours(a, b):  # weights in the input's dtype, as a user would make them
        return getattr(nn, name)(**_kwargs(kwargs, lambda w: numnet.tensor(
            w.astype(a.dtype))))(a, b)

    def run_theirs(a, b):
        return getattr(torch.nn, name)(**_kwargs(kwargs, lambda w: torch.tensor(
            w, dtype=a.dtype)))(a, b)
    check_op(run_ours, run_theirs, x, t, grad=[True, not index_target])


def test_loss_module_defaults_and_buffers():
    for name in ("CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
                 "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"):
        ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
        for attr in ("reduction", "ignore_index", "label_smoothing", "beta", "delta",
                     "log_target"):
            assert getattr(ours, attr, None) == getattr(theirs, attr, None), (name, attr)
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
        assert repr(ours) == repr(theirs)
    weighted = nn.BCEWithLogitsLoss(weight=numnet.ones(3), pos_weight=numnet.ones(3))
    assert list(weighted.state_dict()) == ["weight", "pos_weight"]
    assert list(weighted.parameters()) == []


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss",
                                  "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
                                  "KLDivLoss"])
def test_loss_module_reduction_validated(name):
    with pytest.raises(ValueError, match="reduction"):
        getattr(nn, name)(reduction="average")
    x = torch.rand(2, 3)
    target = torch.tensor([0, 1]) if name in ("CrossEntropyLoss", "NLLLoss") else x
    with pytest.raises(ValueError):  # torch: the same type, when called
        getattr(torch.nn, name)(reduction="average")(x, target)


def test_weight_must_be_a_tensor_like_torch():
    with pytest.raises(TypeError):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])
    with pytest.raises(TypeError):
        torch.nn.CrossEntropyLoss(weight=[1.0, 2.0])
