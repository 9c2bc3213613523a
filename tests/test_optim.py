"""numnet.optim and numnet.nn.utils against torch.optim and torch.nn.utils.

Optimizers: both libraries get the same gradients every step (a fixed random quadratic
loss evaluated at numnet's current parameters plus seeded noise) and their parameters must
agree after every one of 50 steps. Schedulers: 50-step learning-rate (and momentum)
trajectories equal torch's exactly. Checkpoints: state_dict through JSON + .npz and back,
mid-run, continues exactly as an uninterrupted run.
"""

from __future__ import annotations

import io
import json
import math

import numpy
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

import numnet
from numnet.nn.parameter import Parameter
from numnet.nn.utils import clip_grad_norm_, clip_grad_value_
from numnet.optim import SGD, Adam, AdamW, Optimizer, RMSprop, lr_scheduler

STEPS = 50
SHAPES = [(3, 4), (5,), (2,)]  # the last parameter never gets a gradient
OPTIMIZERS = {"SGD": (SGD, torch.optim.SGD), "Adam": (Adam, torch.optim.Adam),
              "AdamW": (AdamW, torch.optim.AdamW), "RMSprop": (RMSprop, torch.optim.RMSprop)}

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.3, 0.99), "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "eps": 1e-3, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "eps": 1e-4}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.005, "maximize": True}),
]


def case_id(case) -> str:
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


# ---------------------------------------------------------------------- the shared problem
class Quadratic:
    """``loss = sum_i 1/2 x_i' A_i x_i + b_i' x_i`` per parameter, plus seeded noise."""

    def __init__(self, seed: int = 0) -> None:
        rng = numpy.random.default_rng(seed)
        self.inits = [rng.standard_normal(s) for s in SHAPES]
        self.a, self.b = [], []
        for shape in SHAPES[:-1]:
            n = math.prod(shape)
            m = rng.standard_normal((n, n))
            self.a.append(m @ m.T / n + 0.5 * numpy.eye(n))
            self.b.append(rng.standard_normal(n))
        self.seed = seed

    def grads(self, arrays, step: int) -> list:
        """Gradients at ``arrays`` (float64), with noise that depends only on ``step``."""
        rng = numpy.random.default_rng((self.seed, step))
        out = []
        for x, a, b in zip(arrays, self.a, self.b):
            g = a @ x.astype(numpy.float64).ravel() + b + 0.1 * rng.standard_normal(b.shape)
            out.append(g.reshape(x.shape))
        return out

    def params(self, dtype=numpy.float64):
        ours = [Parameter(numnet.tensor(x, dtype=dtype)) for x in self.inits]
        theirs = [torch.nn.Parameter(torch.tensor(x, dtype=getattr(torch, str(numpy.dtype(dtype)))))
                  for x in self.inits]
        return ours, theirs


def feed(problem, ours, theirs, step: int) -> None:
    """Give both libraries the gradient computed at numnet's current parameters."""
    grads = problem.grads([p.data for p in ours[:-1]], step)
    for p, q, g in zip(ours, theirs, grads):
        p.grad = numnet.tensor(g, dtype=p.dtype)
        q.grad = torch.tensor(g, dtype=q.dtype)


def run(problem, ours, theirs, opt, topt, steps, rtol, atol, first=0):
    for step in range(first, first + steps):
        feed(problem, ours, theirs, step)
        opt.step()
        topt.step()
        for p, q in zip(ours, theirs):
            assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol,
                            err_msg=f"step {step}")


# ---------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch_float64(case):
    name, kwargs = case
    ours_cls, torch_cls = OPTIMIZERS[name]
    problem = Quadratic()
    ours, theirs = problem.params(numpy.float64)
    opt = ours_cls(ours, **kwargs)
    topt = torch_cls(theirs, **kwargs)
    run(problem, ours, theirs, opt, topt, STEPS, rtol=1e-6, atol=1e-8)
    # the parameter without a gradient was skipped, as in torch
    assert_array_equal(ours[-1].data, problem.inits[-1])
    assert ours[-1] not in opt.state
    # the state itself equals torch's
    check_state_matches_torch(opt.state_dict(), topt.state_dict())


def check_state_matches_torch(sd, tsd) -> None:
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for index, tstate in tsd["state"].items():
        state = sd["state"][index]
        assert sorted(state) == sorted(tstate)
        for key, tvalue in tstate.items():
            tvalue = tvalue.detach().numpy()
            if key == "step":
                assert isinstance(state[key], int) and state[key] == tvalue
            else:
                assert_allclose(state[key], tvalue, rtol=1e-6, atol=1e-8, err_msg=key)
    assert len(sd["param_groups"]) == len(tsd["param_groups"])
    for group, tgroup in zip(sd["param_groups"], tsd["param_groups"]):
        for key, value in group.items():
            assert value == tgroup[key], key


@pytest.mark.parametrize("case", CASES[1::3], ids=case_id)
def test_float32_stays_float32_and_matches_torch(case):
    name, kwargs = case
    ours_cls, torch_cls = OPTIMIZERS[name]
    problem = Quadratic(seed=1)
    ours, theirs = problem.params(numpy.float32)
    opt = ours_cls(ours, **kwargs)
    topt = torch_cls(theirs, **kwargs)
    run(problem, ours, theirs, opt, topt, STEPS, rtol=1e-4, atol=1e-5)
    for p in ours:
        assert p.dtype == numpy.float32
        for value in opt.state[p].values():
            if isinstance(value, numpy.ndarray):
                assert value.dtype == numpy.float32


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_param_groups_with_their_own_options(name):
    ours_cls, torch_cls = OPTIMIZERS[name]
    extra = {"SGD": {"momentum": 0.5}, "Adam": {"betas": (0.5, 0.9)},
             "AdamW": {"weight_decay": 0.3}, "RMSprop": {"centered": True}}[name]
    problem = Quadratic(seed=2)
    ours, theirs = problem.params()

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.03}, {"params": ps[1:], "lr": 0.01, **extra}]

    opt = ours_cls(groups(ours), lr=0.1)
    topt = torch_cls(groups(theirs), lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.03 and opt.param_groups[1]["lr"] == 0.01
    run(problem, ours, theirs, opt, topt, STEPS, rtol=1e-6, atol=1e-8)
    check_state_matches_torch(opt.state_dict(), topt.state_dict())


def test_add_param_group_takes_defaults_and_is_stepped():
    problem = Quadratic(seed=3)
    ours, theirs = problem.params()
    opt = SGD(ours[:1], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(theirs[:1], lr=0.1, momentum=0.9)
    run(problem, ours, theirs, opt, topt, 5, rtol=1e-6, atol=1e-8)
    opt.add_param_group({"params": ours[1:], "lr": 0.02})
    topt.add_param_group({"params": theirs[1:], "lr": 0.02})
    assert opt.param_groups[1]["momentum"] == 0.9
    run(problem, ours, theirs, opt, topt, 10, rtol=1e-6, atol=1e-8, first=5)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": ours[:1]})


def test_closure_is_evaluated_and_its_loss_returned():
    w = Parameter(numnet.tensor([1.0, 2.0], dtype=numpy.float64))
    opt = Adam([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with numnet.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert_allclose(w.data, [0.9, 1.9])


# ---------------------------------------------------------------------- zero_grad
def test_zero_grad_set_to_none_and_to_zero():
    ours, theirs = Quadratic().params()
    opt = SGD(ours, lr=0.1, weight_decay=0.5)
    for p in ours:
        p.grad = numnet.ones_like(p)
    grad_array = ours[0].grad.data
    opt.zero_grad(set_to_none=False)
    assert ours[0].grad.data is grad_array
    assert all(not p.grad.data.any() for p in ours)
    before = [p.data.copy() for p in ours]
    opt.step()  # a zero gradient is still a step: weight decay moves the weights
    assert_allclose(ours[0].data, before[0] * (1 - 0.1 * 0.5))
    opt.zero_grad()
    assert all(p.grad is None for p in ours)
    after = [p.data.copy() for p in ours]
    opt.step()  # no gradients: nothing moves
    for p, a in zip(ours, after):
        assert_array_equal(p.data, a)


# ---------------------------------------------------------------------- checkpoints
def to_checkpoint(sd: dict) -> tuple[str, bytes]:
    """state_dict -> (JSON text, .npz bytes), the way a checkpoint stores it."""
    arrays = {}

    def pack(value):
        if isinstance(value, numpy.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, dict):
            return {k: pack(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [pack(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), type(value)
        return value

    text = json.dumps(pack(sd))
    buffer = io.BytesIO()
    numpy.savez(buffer, **arrays)
    return text, buffer.getvalue()


def from_checkpoint(text: str, blob: bytes) -> dict:
    with numpy.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}

    def unpack(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return arrays[value["__array__"]]
            return {k: unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value

    return unpack(json.loads(text))


ROUND_TRIP_CASES = [c for c in CASES if c[1].get("momentum") or c[0] != "SGD"][::2]


@pytest.mark.parametrize("case", ROUND_TRIP_CASES, ids=case_id)
def test_state_dict_round_trip_mid_run(case):
    name, kwargs = case
    ours_cls, _ = OPTIMIZERS[name]
    problem = Quadratic(seed=4)

    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": kwargs["lr"] / 2}]

    straight, _ = problem.params()
    opt = ours_cls(groups(straight), **kwargs)
    for step in range(STEPS):
        grads = problem.grads([p.data for p in straight[:-1]], step)
        for p, g in zip(straight, grads):
            p.grad = numnet.tensor(g, dtype=numpy.float64)
        opt.step()

    first, _ = problem.params()
    opt1 = ours_cls(groups(first), **kwargs)
    for step in range(STEPS // 2):
        grads = problem.grads([p.data for p in first[:-1]], step)
        for p, g in zip(first, grads):
            p.grad = numnet.tensor(g, dtype=numpy.float64)
        opt1.step()
    sd = opt1.state_dict()
    text, blob = to_checkpoint(sd)
    second = [Parameter(numnet.tensor(p.data, dtype=numpy.float64)) for p in first]
    # the dict is a snapshot: stepping on does not change it
    saved = {k: v.copy() for k, v in sd["state"][0].items() if isinstance(v, numpy.ndarray)}
    opt1.step()
    for key, value in saved.items():
        assert_array_equal(sd["state"][0][key], value)

    opt2 = ours_cls(groups(second), lr=123.0)  # hyperparameters come from the checkpoint
    opt2.load_state_dict(from_checkpoint(text, blob))
    for group, saved_group in zip(opt2.param_groups, sd["param_groups"]):
        for key, value in saved_group.items():
            if key != "params":
                assert repr(group[key]) == repr(value), key  # betas stay a tuple
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    assert opt2.param_groups[1]["lr"] == kwargs["lr"] / 2
    assert opt2.param_groups[0]["params"] == [second[0]]
    for step in range(STEPS // 2, STEPS):
        grads = problem.grads([p.data for p in second[:-1]], step)
        for p, g in zip(second, grads):
            p.grad = numnet.tensor(g, dtype=numpy.float64)
        opt2.step()
    for p, q in zip(second, straight):
        assert_array_equal(p.data, q.data)


def test_load_state_dict_casts_to_parameter_dtype_and_checks_shapes():
    ours, _ = Quadratic().params(numpy.float32)
    opt = Adam(ours, lr=0.1)
    for p in ours:
        p.grad = numnet.ones_like(p)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].astype(numpy.float64)
    sd["state"] = {str(k): v for k, v in sd["state"].items()}  # JSON keys
    opt.load_state_dict(sd)
    assert opt.state[ours[0]]["exp_avg"].dtype == numpy.float32
    assert opt.state[ours[0]]["step"] == 1
    sd["state"]["0"]["exp_avg"] = numpy.zeros((4, 3))
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(4, 3\), but "
                                         r"the parameter has shape \(3, 4\)"):
        opt.load_state_dict(sd)


def test_load_state_dict_rejects_other_groups():
    ours, _ = Quadratic().params()
    opt = SGD(ours, lr=0.1)
    two_groups = SGD([{"params": ours[:1]}, {"params": ours[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    smaller = SGD(ours[:2], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(smaller.state_dict())


# ---------------------------------------------------------------------- argument checks
BAD_ARGS = [
    ("SGD", {"lr": -1}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-4}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"lr": -0.5}),
    ("Adam", {"eps": -1.0}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("AdamW", {"weight_decay": -0.01}),
    ("RMSprop", {"alpha": -0.9}),
    ("RMSprop", {"momentum": -0.1}),
    ("RMSprop", {"eps": -1e-8}),
]


@pytest.mark.parametrize("case", BAD_ARGS, ids=case_id)
def test_invalid_arguments_raise_torchs_errors(case):
    name, kwargs = case
    ours_cls, torch_cls = OPTIMIZERS[name]
    ours, theirs = Quadratic().params()
    with pytest.raises(ValueError) as torch_error:
        torch_cls(theirs, **kwargs)
    with pytest.raises(ValueError) as our_error:
        ours_cls(ours, **kwargs)
    assert str(our_error.value) == str(torch_error.value)


def test_invalid_params_raise():
    ours, _ = Quadratic().params()
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(ours[0], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": set(ours)}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([ours[0], numpy.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([ours[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": ours[:2]}, {"params": ours[1:]}], lr=0.1)
    with pytest.raises(NotImplementedError):
        Optimizer(ours, {"lr": 0.1}).step()


# ---------------------------------------------------------------------- schedulers
SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 12, 30], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 20, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 49}),
    ("OneCycleLR", {"max_lr": [1.0, 0.5], "total_steps": 50}),
    ("OneCycleLR", {"max_lr": 0.8, "epochs": 5, "steps_per_epoch": 10, "pct_start": 0.25,
                    "anneal_strategy": "linear", "three_phase": True, "div_factor": 10.0,
                    "final_div_factor": 100.0, "base_momentum": 0.8, "max_momentum": 0.9}),
    ("OneCycleLR", {"max_lr": 0.4, "total_steps": 50, "cycle_momentum": False}),
]
SCHEDULER_OPTIMIZERS = ["SGD", "Adam"]


def make_scheduled(lib: int, name: str, kwargs: dict, optimizer: str):
    """(optimizer, scheduler) in numnet (lib 0) or torch (lib 1), two param groups."""
    if lib == 0:
        params = [Parameter(numnet.zeros(2)), Parameter(numnet.zeros(3))]
        sched_cls = getattr(lr_scheduler, name)
    else:
        params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
        sched_cls = getattr(torch.optim.lr_scheduler, name)
    opt_cls = OPTIMIZERS[optimizer][lib]
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    opt = opt_cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.02}], lr=0.1,
                  **extra)
    return opt, sched_cls(opt, **kwargs)


def trajectory(opt, sched, steps: int) -> list:
    """After construction and after each of ``steps`` steps: lrs and momenta of every group."""
    def snapshot():
        momenta = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
        return sched.get_last_lr(), [g["lr"] for g in opt.param_groups], momenta

    out = [snapshot()]
    for _ in range(steps):
        opt.step()  # no gradients: a no-op that keeps torch from warning about the order
        sched.step()
        out.append(snapshot())
    return out


@pytest.mark.parametrize("optimizer", SCHEDULER_OPTIMIZERS)
@pytest.mark.parametrize("case", SCHEDULERS, ids=case_id)
def test_scheduler_trajectory_equals_torch(case, optimizer):
    name, kwargs = case
    ours = trajectory(*make_scheduled(0, name, kwargs, optimizer), STEPS)
    theirs = trajectory(*make_scheduled(1, name, kwargs, optimizer), STEPS)
    assert ours == theirs  # exactly, float for float


@pytest.mark.parametrize("case", SCHEDULERS, ids=case_id)
def test_scheduler_state_dict_round_trip(case):
    name, kwargs = case
    opt, sched = make_scheduled(0, name, kwargs, "SGD")
    straight = trajectory(opt, sched, STEPS)
    opt, sched = make_scheduled(0, name, kwargs, "SGD")
    trajectory(opt, sched, 20)
    opt_text, opt_blob = to_checkpoint(opt.state_dict())
    sched_text = json.dumps(sched.state_dict())
    opt2, sched2 = make_scheduled(0, name, kwargs, "SGD")
    opt2.load_state_dict(from_checkpoint(opt_text, opt_blob))
    sched2.load_state_dict(json.loads(sched_text))
    assert sched2.last_epoch == 20
    assert trajectory(opt2, sched2, STEPS - 20)[1:] == straight[21:]


def test_one_cycle_stops_after_total_steps():
    opt, sched = make_scheduled(0, "OneCycleLR", {"max_lr": 1.0, "total_steps": 10}, "SGD")
    topt, tsched = make_scheduled(1, "OneCycleLR", {"max_lr": 1.0, "total_steps": 10}, "SGD")
    for _ in range(10):
        opt.step()
        sched.step()
        topt.step()
        tsched.step()
    with pytest.raises(ValueError) as torch_error:
        tsched.step()
    with pytest.raises(ValueError) as our_error:
        sched.step()
    assert str(our_error.value) == str(torch_error.value)


def test_one_cycle_argument_errors():
    opt = SGD([Parameter(numnet.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="positive integer total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=10)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=3)


def test_scheduler_resume_needs_initial_lr():
    opt = SGD([Parameter(numnet.zeros(1))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=3, last_epoch=5)


# ---------------------------------------------------------------------- gradient clipping
def clip_pair(dtype=numpy.float64, scale=1.0, seed=5):
    rng = numpy.random.default_rng(seed)
    grads = [scale * rng.standard_normal(s) for s in [(4, 3), (6,), (2, 2)]]
    ours = [Parameter(numnet.zeros(g.shape, dtype=dtype)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=getattr(torch, str(numpy.dtype(
        dtype))))) for g in grads]
    for p, q, g in zip(ours[:-1], theirs[:-1], grads):  # the last one has no gradient
        p.grad = numnet.tensor(g, dtype=dtype)
        q.grad = torch.tensor(g, dtype=q.dtype)
    return ours, theirs


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, -math.inf, 0.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = clip_pair()
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, numnet.Tensor) and total.shape == ()
    assert_allclose(total.data, ttotal.numpy(), rtol=1e-12)
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_float32_and_inputs():
    ours, theirs = clip_pair(numpy.float32, scale=10.0)
    total = clip_grad_norm_(iter(ours), 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == numpy.float32
    assert_allclose(total.data, ttotal.numpy(), rtol=1e-6)
    for p, q in zip(ours[:-1], theirs[:-1]):
        assert p.grad.dtype == numpy.float32
        assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5, atol=1e-7)
    single = Parameter(numnet.zeros(2))
    single.grad = numnet.tensor([3.0, 4.0])
    assert clip_grad_norm_(single, 10.0).item() == 5.0
    assert_array_equal(single.grad.data, [3.0, 4.0])  # under max_norm: unchanged
    assert clip_grad_norm_([], 1.0).dtype == numpy.float32


def test_clip_grad_norm_nonfinite():
    ours, theirs = clip_pair()
    ours[0].grad.data[0, 0] = numpy.inf
    theirs[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError) as torch_error:
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as our_error:
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert str(our_error.value) == str(torch_error.value)
    ours[1].grad.data[0] = numpy.nan
    theirs[1].grad[0] = math.nan
    with numpy.errstate(invalid="ignore"):
        total = clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert_array_equal(total.data, ttotal.numpy())  # nan
    for p, q in zip(ours[:-1], theirs[:-1]):
        assert_array_equal(p.grad.data, q.grad.numpy())


def test_clip_grad_value_matches_torch():
    ours, theirs = clip_pair(scale=2.0)
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours[:-1], theirs[:-1]):
        assert_array_equal(p.grad.data, q.grad.numpy())
    assert ours[-1].grad is None
    assert numpy.abs(ours[0].grad.data).max() == 0.7


def test_numnet_namespaces():
    assert numnet.optim.SGD is SGD
    assert numnet.optim.lr_scheduler.OneCycleLR is lr_scheduler.OneCycleLR
    assert numnet.nn.utils.clip_grad_norm_ is clip_grad_norm_


@pytest.mark.parametrize("name,options", [
    ("SGD", {"momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.5, "dampening": 0.3, "maximize": True}),
    ("SGD", {}),
    ("Adam", {"weight_decay": 0.01, "amsgrad": True}),
    ("AdamW", {"maximize": True}),
    ("RMSprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", {}),
])
def test_updates_in_pieces_on_threads_give_the_same_bits(name, options, monkeypatch):
    """Updates in pieces of 64 numbers on 2 threads equal the one-piece update (and a
    non-contiguous gradient takes the whole-array path)."""
    from numnet import backend
    rng = numpy.random.default_rng(0)
    start = rng.standard_normal((40, 30)).astype(numpy.float32)
    grads = [rng.standard_normal((30, 40)).astype(numpy.float32).T for _ in range(3)]
    results = []
    previous = numnet.get_num_threads()
    try:
        for piece, threads, contiguous in ((10 ** 9, 1, True), (64, 2, True), (64, 2, False)):
            monkeypatch.setattr(backend, "_PIECE_ELEMENTS", piece)
            numnet.set_num_threads(threads)
            param = numnet.nn.Parameter(numnet.tensor(start.copy()))
            opt = getattr(numnet.optim, name)([param], lr=0.1, **options)
            for grad in grads:
                param.grad = numnet.tensor(numpy.ascontiguousarray(grad) if contiguous
                                           else grad)
                opt.step()
            results.append(param.detach().numpy().copy())
    finally:
        numnet.set_num_threads(previous)
    numpy.testing.assert_array_equal(results[0], results[1])
    numpy.testing.assert_array_equal(results[0], results[2])
