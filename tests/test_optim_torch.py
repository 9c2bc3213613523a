"""Adagrad, Adadelta, NAdam, RAdam and the newer schedules against torch.optim, and
``numnet.load``'s torch arguments.

Optimizers: numnet and torch get the same gradients (a fixed random quadratic evaluated at
numnet's parameters) for 6 steps, with two param groups of their own options; parameters
and state must agree to 1e-6 in float64 (and stay float32 in float32). Schedules: 30-step
learning-rate sequences equal torch's float for float.
"""

from __future__ import annotations

import json
import math
import os

import numpy
import pytest
import torch
from numpy.testing import assert_allclose

import numnet
from numnet.nn.parameter import Parameter
from numnet.optim import SGD, Adadelta, Adagrad, Adam, NAdam, RAdam, lr_scheduler

OPTIMIZERS = {"Adagrad": (Adagrad, torch.optim.Adagrad),
              "Adadelta": (Adadelta, torch.optim.Adadelta),
              "NAdam": (NAdam, torch.optim.NAdam), "RAdam": (RAdam, torch.optim.RAdam)}
CASES = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.3, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.7, "eps": 1e-4, "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.1}),  # rectified from step 6
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.6), "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
]
STEPS = 6
SHAPES = [(3, 4), (5,), (2,)]  # the last parameter never gets a gradient


def case_id(case) -> str:
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _problem(seed=0):
    rng = numpy.random.default_rng(seed)
    inits = [rng.standard_normal(s) for s in SHAPES]
    mats = []
    for shape in SHAPES[:-1]:
        n = math.prod(shape)
        m = rng.standard_normal((n, n))
        mats.append((m @ m.T / n + 0.5 * numpy.eye(n), rng.standard_normal(n)))
    return inits, mats


def _grads(arrays, mats):
    return [(a @ x.astype(numpy.float64).ravel() + b).reshape(x.shape)
            for x, (a, b) in zip(arrays, mats)]


def _run(name, kwargs, dtype, seed=0):
    """Both optimizers, two groups (the second with its own lr), stepped STEPS times."""
    ours_cls, torch_cls = OPTIMIZERS[name]
    inits, mats = _problem(seed)
    tdtype = getattr(torch, numpy.dtype(dtype).name)
    ours = [Parameter(numnet.tensor(x, dtype=dtype)) for x in inits]
    theirs = [torch.nn.Parameter(torch.tensor(x, dtype=tdtype)) for x in inits]
    lr = kwargs.get("lr", ours_cls.__init__.__defaults__[0]) / 2
    opt = ours_cls([{"params": ours[:1]}, {"params": ours[1:], "lr": lr}], **kwargs)
    topt = torch_cls([{"params": theirs[:1]}, {"params": theirs[1:], "lr": lr}], **kwargs)
    history = []
    for _ in range(STEPS):
        for p, q, g in zip(ours, theirs, _grads([p.data for p in ours[:-1]], mats)):
            p.grad = numnet.tensor(g, dtype=dtype)
            q.grad = torch.tensor(g, dtype=tdtype)
        opt.step()
        topt.step()
        history.append([(p.data.copy(), q.detach().numpy().copy())
                        for p, q in zip(ours, theirs)])
    return ours, opt, topt, history, inits


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_optimizer_matches_torch_float64(case):
    ours, opt, topt, history, inits = _run(*case, numpy.float64)
    for step, pairs in enumerate(history):
        for mine, theirs in pairs:
            assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9, err_msg=f"step {step}")
    numpy.testing.assert_array_equal(ours[-1].data, inits[-1])  # no gradient: untouched
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for index, tstate in tsd["state"].items():
        assert sorted(sd["state"][index]) == sorted(tstate)
        for key, tvalue in tstate.items():
            assert_allclose(sd["state"][index][key], tvalue.detach().numpy(), rtol=1e-6,
                            err_msg=key)
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"]):
        for key, value in group.items():
            assert value == tgroup[key], key


@pytest.mark.parametrize("case", CASES[1::2], ids=case_id)
def test_optimizer_float32_stays_float32(case):
    ours, opt, _, history, _ = _run(*case, numpy.float32, seed=1)
    for mine, theirs in history[-1]:
        assert mine.dtype == numpy.float32
        assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    for p in ours:
        for value in opt.state[p].values():
            if isinstance(value, numpy.ndarray):
                assert value.dtype == numpy.float32


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_the_run(name):
    inits, mats = _problem()
    cls = OPTIMIZERS[name][0]

    def steps(opt, params, n):
        for _ in range(n):
            for p, g in zip(params, _grads([p.data for p in params[:-1]], mats)):
                p.grad = numnet.tensor(g)
            opt.step()

    straight = [Parameter(numnet.tensor(x, dtype=numpy.float64)) for x in inits]
    opt = cls(straight, lr=0.05)
    steps(opt, straight, 4)
    half = [Parameter(numnet.tensor(x, dtype=numpy.float64)) for x in inits]
    opt_half = cls(half, lr=0.05)
    steps(opt_half, half, 2)
    state = opt_half.state_dict()
    resumed = [Parameter(numnet.tensor(p.data.copy())) for p in half]
    opt_resumed = cls(resumed, lr=0.05)
    opt_resumed.load_state_dict(state)
    steps(opt_resumed, resumed, 2)
    for a, b in zip(straight, resumed):
        numpy.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("cls, message", [
    (lambda p: Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: Adadelta(p, rho=1.5), "rho"),
    (lambda p: NAdam(p, momentum_decay=-1), "momentum_decay"),
    (lambda p: RAdam(p, betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda p: NAdam(p, lr=-1), "learning rate"),
])
def test_invalid_arguments_raise_value_error(cls, message):
    with pytest.raises(ValueError, match=message):
        cls([Parameter(numnet.zeros(2))])


def test_zero_grad_defaults_to_none_and_keeps_buffers_with_false():
    w = Parameter(numnet.ones(3))
    opt = NAdam([w], lr=0.1)
    w.grad = numnet.ones(3)
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.data.any()
    opt.zero_grad()
    assert w.grad is None
    before = w.data.copy()
    opt.step()  # no gradient: skipped, as in torch
    numpy.testing.assert_array_equal(w.data, before)


def test_adagrad_state_exists_from_construction_like_torch():
    w = Parameter(numnet.ones(2))
    sd = Adagrad([w], initial_accumulator_value=0.5).state_dict()
    tsd = torch.optim.Adagrad([torch.nn.Parameter(torch.ones(2))],
                              initial_accumulator_value=0.5).state_dict()
    assert sorted(sd["state"][0]) == sorted(tsd["state"][0]) == ["step", "sum"]
    assert_allclose(sd["state"][0]["sum"], [0.5, 0.5])


def test_add_param_group_is_stepped_with_its_own_lr():
    a, b = Parameter(numnet.ones(1)), Parameter(numnet.ones(1))
    opt = Adagrad([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["lr_decay"] == 0
    a.grad, b.grad = numnet.ones(1), numnet.ones(1)
    opt.step()
    assert_allclose([a.item(), b.item()], [0.9, 0.5], rtol=1e-6)


# ---------------------------------------------------------------------- schedules
def _scheduled(lib, make):
    if lib == 0:
        params = [Parameter(numnet.zeros(2)), Parameter(numnet.zeros(3))]
        opt = SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1,
                  momentum=0.9)
        return opt, make(opt, lr_scheduler)
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}],
                          lr=0.1, momentum=0.9)
    return opt, make(opt, torch.optim.lr_scheduler)


def _sequence(opt, sched, steps=30, metrics=None):
    out = [list(sched.get_last_lr())]
    for t in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[t])
        out.append(list(sched.get_last_lr()) + [g["lr"] for g in opt.param_groups])
    return out


class Halver:
    """A callable object as lr_lambda: its fields go into the state_dict."""

    def __init__(self):
        self.base = 0.5

    def __call__(self, epoch):
        return self.base ** (epoch // 4)


SCHEDULES = {
    "LambdaLR": lambda o, s: s.LambdaLR(o, lambda t: 1 / (1 + t)),
    "LambdaLR-list": lambda o, s: s.LambdaLR(o, [lambda t: 0.9 ** t, Halver()]),
    "MultiplicativeLR": lambda o, s: s.MultiplicativeLR(o, lambda t: 0.95),
    "LinearLR": lambda o, s: s.LinearLR(o),
    "LinearLR-down": lambda o, s: s.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                             total_iters=12),
    "ConstantLR": lambda o, s: s.ConstantLR(o, factor=0.25, total_iters=7),
    "PolynomialLR": lambda o, s: s.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda o, s: s.CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-mult": lambda o, s: s.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001),
    "SequentialLR": lambda o, s: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5),
            s.CosineAnnealingLR(o, T_max=10), s.ExponentialLR(o, gamma=0.9)],
        milestones=[5, 15]),
    "SequentialLR-constant-step": lambda o, s: s.SequentialLR(
        o, [s.ConstantLR(o, factor=0.5, total_iters=3), s.StepLR(o, step_size=4, gamma=0.5)],
        milestones=[6]),
    "ChainedScheduler": lambda o, s: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.5, total_iters=4), s.ExponentialLR(o, gamma=0.9)]),
    "MultiStepLR": lambda o, s: s.MultiStepLR(o, milestones=[3, 10, 10], gamma=0.5),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_equals_torch(name):
    ours = _sequence(*_scheduled(0, SCHEDULES[name]))
    theirs = _sequence(*_scheduled(1, SCHEDULES[name]))
    assert ours == theirs


METRICS = [1.0, 0.9, 0.9, 0.95, 0.9, 0.91, 0.92, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5, 0.5,
           0.3, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]
PLATEAUS = [
    {},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.004]},
    {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs"},
    {"patience": 0, "factor": 0.5, "min_lr": 0.01, "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAUS, ids=str)
def test_reduce_lr_on_plateau_equals_torch(kwargs):
    def make(o, s):
        return s.ReduceLROnPlateau(o, **kwargs)

    ours = _sequence(*_scheduled(0, make), metrics=METRICS)
    theirs = _sequence(*_scheduled(1, make), metrics=METRICS)
    assert ours == theirs


def test_reduce_lr_on_plateau_arguments_and_tensor_metric():
    opt = SGD([Parameter(numnet.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode maximum is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="maximum")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0, 0])
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(numnet.tensor(1.0))
    sched.step(numnet.tensor(2.0))
    assert sched.get_last_lr() == [0.1]


@pytest.mark.parametrize("name", ["LambdaLR-list", "SequentialLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts-mult"])
def test_schedule_state_dict_through_json_resumes_exactly(name):
    straight = _sequence(*_scheduled(0, SCHEDULES[name]))
    opt, sched = _scheduled(0, SCHEDULES[name])
    _sequence(opt, sched, steps=12)
    saved = json.loads(json.dumps(sched.state_dict()))
    if name == "LambdaLR-list":
        assert saved["lr_lambdas"] == [None, {"base": 0.5}]
    groups = [dict(g) for g in opt.param_groups]
    opt2, sched2 = _scheduled(0, SCHEDULES[name])
    for group, saved_group in zip(opt2.param_groups, groups):
        group.update({k: v for k, v in saved_group.items() if k != "params"})
    sched2.load_state_dict(saved)
    assert _sequence(opt2, sched2, steps=18)[1:] == straight[13:]


def test_plateau_state_dict_round_trip():
    opt = SGD([Parameter(numnet.zeros(1))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1)
    for metric in (0.5, 0.4, 0.4):
        sched.step(metric)
    other = lr_scheduler.ReduceLROnPlateau(SGD([Parameter(numnet.zeros(1))], lr=1.0))
    other.load_state_dict(json.loads(json.dumps(sched.state_dict())))
    assert (other.mode, other.best, other.num_bad_epochs) == ("max", 0.5, 0)
    assert other._is_better(0.6, 0.5) and not other._is_better(0.4, 0.5)


def test_schedule_argument_errors_match_torch():
    opt = SGD([Parameter(numnet.zeros(1))], lr=1.0)
    other = SGD([Parameter(numnet.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Constant multiplicative factor"):
        lr_scheduler.ConstantLR(opt, factor=2)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Expected integer T_mult >= 1"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(opt, [abs, abs])
    with pytest.raises(TypeError, match="lr_lambda should be a function"):
        lr_scheduler.MultiplicativeLR(opt, 0.5)
    linear = lr_scheduler.LinearLR(opt)
    with pytest.raises(ValueError, match="number of milestone points"):
        lr_scheduler.SequentialLR(opt, [linear], milestones=[3])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(opt, [linear, lr_scheduler.LinearLR(other)], milestones=[3])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt)])


def test_trainer_style_scheduler_with_adam_still_resumes():
    w = Parameter(numnet.zeros(1))
    opt = Adam([w], lr=0.1)
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)
    for _ in range(2):
        opt.step()
        sched.step()
    assert sched.last_epoch == 2 and sched._step_count == 3
    assert sched.get_last_lr() == pytest.approx([0.075])


# ---------------------------------------------------------------------- numnet.load
def test_load_accepts_torchs_arguments(tmp_path):
    path = os.fspath(tmp_path / "w.npz")
    numnet.save({"w": numnet.ones(2), "step": 3}, path)
    expected = numnet.load(path)
    for kwargs in ({"map_location": "cpu"}, {"map_location": numnet.device("cpu")},
                   {"map_location": "cpu:0"}, {"map_location": {"cuda:0": "cpu"}},
                   {"map_location": lambda storage, location: storage},
                   {"weights_only": True}, {"weights_only": False}, {"mmap": True}):
        got = numnet.load(path, **kwargs)
        assert got.keys() == expected.keys() and got["step"] == 3
        numpy.testing.assert_array_equal(got["w"], expected["w"])
    assert numnet.load(path, "cpu")["step"] == 3  # map_location is positional, as in torch


@pytest.mark.parametrize("where", ["cuda", "cuda:1", numnet.device("mps"), {"cpu": "cuda"}])
def test_load_to_another_device_raises_numnets_device_error(tmp_path, where):
    path = os.fspath(tmp_path / "w.npz")
    numnet.save({"w": numnet.ones(2)}, path)
    with pytest.raises(RuntimeError, match="numnet runs on the CPU only"):
        numnet.load(path, map_location=where)


def test_load_never_unpickles(tmp_path):
    path = os.fspath(tmp_path / "w.npz")
    numnet.save({"w": numnet.ones(2)}, path)
    with pytest.raises(RuntimeError, match="never unpickles"):
        numnet.load(path, pickle_module=object())
    with pytest.raises(TypeError, match="map_location"):
        numnet.load(path, map_location=1.5)
    with pytest.raises(RuntimeError, match="Invalid device string"):
        numnet.load(path, map_location="gpu")
