"""Devices like PyTorch's: ``numnet.device``, ``Tensor.device / .to / .cpu``, ``Module.to``,
``device=`` on the creation functions, ``numnet.cuda`` and ``numnet.accelerator``; every
device but the CPU fails at once with an error of the type PyTorch raises."""

from __future__ import annotations

import pickle

import numpy
import pytest
import torch

import numnet
from numnet import nn

CPU_SPELLINGS = ["cpu", "cpu:0", ("cpu", 0), ("cpu", 1), None]
OTHER_DEVICES = ["cuda", "cuda:0", "cuda:1", "mps", 0]


def _both(spec):
    """The same device spelling in numnet and in torch."""
    if isinstance(spec, tuple):
        return numnet.device(*spec), torch.device(*spec)
    return spec, spec


def _torch_error(fn):
    with pytest.raises(Exception) as caught:
        fn()
    return type(caught.value)


@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",),
                                  ("cuda", 2), ("mps",)])
def test_device_objects_match_torch(args):
    n, t = numnet.device(*args), torch.device(*args)
    assert (n.type, n.index, repr(n), str(n)) == (t.type, t.index, repr(t), str(t))
    assert numnet.device(n) is n
    assert pickle.loads(pickle.dumps(n)) == n
    assert hash(n) == hash(numnet.device(*args))


def test_device_equality_matches_torch():
    pairs = [("cpu", "cpu"), ("cpu", "cpu:0"), ("cpu:0", "cpu:0"), ("cpu", "cuda")]
    for a, b in pairs:
        assert (numnet.device(a) == numnet.device(b)) == (torch.device(a) == torch.device(b))
    assert (numnet.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")


@pytest.mark.parametrize("args", [("foo",), ("cuda:x",), ("cpu:-1",), ("cpu", -1),
                                  ("cpu:0", 0), (3.5,)])
def test_bad_device_strings_raise_torch_s_type(args):
    expected = _torch_error(lambda: torch.device(*args))
    with pytest.raises(expected):
        numnet.device(*args)


def test_every_tensor_is_on_the_cpu():
    x = numnet.ones(2)
    assert x.device == numnet.device("cpu")
    assert repr(x.device) == repr(torch.ones(2).device) == "device(type='cpu')"
    assert (x.is_cpu, x.is_cuda) == (torch.ones(2).is_cpu, torch.ones(2).is_cuda)
    assert x.cpu() is x
    assert (x * 2).device == x.device


@pytest.mark.parametrize("spec", CPU_SPELLINGS)
def test_to_a_cpu_device_is_the_tensor_itself_or_a_copy_like_torch(spec):
    # torch returns the tensor itself for "cpu" and None, a copy for "cpu:0" (an index)
    n_device, t_device = _both(spec)
    x, t = numnet.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    for y, u in [(x.to(n_device), t.to(t_device)),
                 (x.to(device=n_device), t.to(device=t_device))]:
        assert (y is x) == (u is t)
        assert y.device == numnet.device("cpu") and u.device == torch.device("cpu")
        assert y.requires_grad == u.requires_grad
        numpy.testing.assert_array_equal(y.data, u.detach().numpy())
    assert x.to("cpu") is x


def test_to_none_leaves_the_tensor_unchanged():
    # numnet used to read None as a dtype: numpy.dtype(None) is float64
    for dtype in (numnet.float32, numnet.int64):
        x = numnet.ones(2, dtype=dtype)
        assert x.to(None) is x
        assert x.to() is x
        assert x.to(None).dtype == dtype
    assert torch.ones(2).to(None).dtype == torch.float32


@pytest.mark.parametrize("n_call, t_call", [
    (lambda x: x.to(numnet.float64), lambda x: x.to(torch.float64)),
    (lambda x: x.to("cpu", numnet.float64), lambda x: x.to("cpu", torch.float64)),
    (lambda x: x.to(numnet.device("cpu"), dtype=numnet.float64),
     lambda x: x.to(torch.device("cpu"), dtype=torch.float64)),
    (lambda x: x.to(device="cpu", dtype=numnet.float64),
     lambda x: x.to(device="cpu", dtype=torch.float64)),
    (lambda x: x.to(dtype=numnet.float64), lambda x: x.to(dtype=torch.float64)),
    (lambda x: x.to(numnet.zeros(1, dtype=numnet.float64)),
     lambda x: x.to(torch.zeros(1, dtype=torch.float64))),
    (lambda x: x.to(float), lambda x: x.to(float)),
])
def test_to_a_dtype_casts_with_a_gradient_like_torch(n_call, t_call):
    x = numnet.tensor([1.5, -2.0, 3.25], requires_grad=True)
    t = torch.tensor([1.5, -2.0, 3.25], requires_grad=True)
    y, u = n_call(x), t_call(t)
    assert str(y.dtype) == str(u.dtype).removeprefix("torch.")
    numpy.testing.assert_array_equal(y.data, u.detach().numpy())
    (y * numnet.tensor([1.0, 2.0, 3.0], dtype=numnet.float64)).sum().backward()
    (u * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert x.grad.dtype == numnet.float32
    numpy.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_to_an_integer_dtype_is_cut_from_the_graph_like_torch():
    x = numnet.tensor([1.5, -2.7], requires_grad=True)
    t = torch.tensor([1.5, -2.7], requires_grad=True)
    for n_arg, t_arg in [(numnet.int64, torch.int64), (numnet.zeros(1, dtype=numnet.int64),
                                                       torch.zeros(1, dtype=torch.int64))]:
        y, u = x.to(n_arg), t.to(t_arg)
        assert (y.requires_grad, y.grad_fn is None) == (u.requires_grad, u.grad_fn is None)
        numpy.testing.assert_array_equal(y.data, u.numpy())


def test_to_with_copy_makes_a_new_tensor_like_torch(check_op):
    x, t = numnet.ones(2), torch.ones(2)
    assert (x.to(numnet.float32, copy=True) is x) == (t.to(torch.float32, copy=True) is t)
    y = x.to("cpu", copy=True)
    y.data[0] = 5.0
    assert x.data[0] == 1.0
    check_op(lambda a: a.to(a.dtype, copy=True) * 2, lambda a: a.to(a.dtype, copy=True) * 2,
             (2, 3))
    check_op(lambda a: a.to("cpu", non_blocking=True) * a,
             lambda a: a.to("cpu", non_blocking=True) * a, (4,))


@pytest.mark.parametrize("args, kwargs", [
    ((numnet.float64, numnet.float32), {}),
    ((numnet.float64,), {"dtype": numnet.float32}),
    (("cpu",), {"device": "cpu"}),
    (("cpu", numnet.float64), {"dtype": numnet.float64}),
])
def test_conflicting_to_arguments_are_a_type_error(args, kwargs):
    to_torch = {numnet.float64: torch.float64, numnet.float32: torch.float32}
    t_args = tuple(to_torch.get(a, a) for a in args)
    t_kwargs = {k: to_torch.get(v, v) for k, v in kwargs.items()}
    expected = _torch_error(lambda: torch.ones(2).to(*t_args, **t_kwargs))
    assert expected is TypeError
    with pytest.raises(TypeError):
        numnet.ones(2).to(*args, **kwargs)


def test_a_string_that_is_neither_a_device_nor_a_dtype_is_an_invalid_device_like_torch():
    for text in ("gpu", "cuda:x", "cpu:-1"):
        expected = _torch_error(lambda: torch.ones(2).to(text))  # noqa: B023 - called here
        with pytest.raises(expected, match="Invalid device string"):
            numnet.ones(2).to(text)


def test_a_numpy_dtype_name_is_a_dtype_as_everywhere_in_numnet():
    # torch has no dtype strings (it reads "float64" as a bad device); numnet's dtype=
    # arguments take NumPy's names, and to() keeps taking them
    x = numnet.ones(2)
    assert x.to("float64").dtype == numnet.float64
    assert nn.Linear(2, 2).to("float64").weight.dtype == numnet.float64


@pytest.mark.parametrize("spec", OTHER_DEVICES + [numnet.device("cuda")])
def test_an_unavailable_device_fails_at_once_with_torch_s_type(spec):
    t_spec = torch.device("cuda") if isinstance(spec, numnet.device) else spec
    expected = _torch_error(lambda: torch.ones(2).to(t_spec))
    with pytest.raises(expected, match="numnet runs on the CPU only"):
        numnet.ones(2).to(spec)
    with pytest.raises(RuntimeError, match="numnet runs on the CPU only"):
        numnet.ones(2).to(spec)
    with pytest.raises(_torch_error(lambda: torch.zeros(2, device=t_spec)),
                       match="numnet runs on the CPU only"):
        numnet.zeros(2, device=spec)


def test_the_unavailable_device_message_is_one_line():
    with pytest.raises(RuntimeError) as caught:
        numnet.ones(2).to("cuda")
    assert str(caught.value) == ("device 'cuda' is not available: numnet runs on the CPU only "
                                 "(use 'cpu', or check numnet.cuda.is_available())")
    with pytest.raises(_torch_error(lambda: torch.ones(2).cuda()), match="'cuda'"):
        numnet.ones(2).cuda()
    with pytest.raises(_torch_error(lambda: torch.nn.Linear(1, 1).cuda()), match="'cuda:1'"):
        nn.Linear(1, 1).cuda(1)


def test_cuda_and_accelerator_report_no_device_like_torch_without_one():
    assert numnet.cuda.is_available() is torch.cuda.is_available() is False
    assert numnet.cuda.device_count() == torch.cuda.device_count() == 0
    assert numnet.accelerator.is_available() is torch.accelerator.is_available() is False
    assert numnet.accelerator.device_count() == torch.accelerator.device_count() == 0
    assert numnet.accelerator.current_accelerator() is None
    assert torch.accelerator.current_accelerator() is None
    device = numnet.device("cuda" if numnet.cuda.is_available() else "cpu")
    assert numnet.randn(2, 3).to(device).shape == (2, 3)
    assert {"device", "cuda", "accelerator"} <= set(numnet.__all__)


CREATORS = {
    "tensor": lambda lib, d: lib.tensor([1.0, 2.0], device=d),
    "zeros": lambda lib, d: lib.zeros(2, 3, device=d),
    "ones": lambda lib, d: lib.ones((2, 3), device=d),
    "full": lambda lib, d: lib.full((2,), 7, device=d),
    "zeros_like": lambda lib, d: lib.zeros_like(lib.ones(2), device=d),
    "ones_like": lambda lib, d: lib.ones_like(lib.ones(2), device=d),
    "full_like": lambda lib, d: lib.full_like(lib.ones(2), 3.0, device=d),
    "arange": lambda lib, d: lib.arange(5, device=d),
    "linspace": lambda lib, d: lib.linspace(0, 1, 5, device=d),
    "eye": lambda lib, d: lib.eye(3, device=d),
    "rand": lambda lib, d: lib.rand(2, device=d),
    "randn": lambda lib, d: lib.randn(2, device=d),
    "randint": lambda lib, d: lib.randint(0, 5, (3,), device=d),
    "randperm": lambda lib, d: lib.randperm(4, device=d),
}


@pytest.mark.parametrize("name", sorted(CREATORS))
def test_creation_functions_take_device_like_torch(name):
    make = CREATORS[name]
    for spec in CPU_SPELLINGS:
        n_device, t_device = _both(spec)
        n, t = make(numnet, n_device), make(torch, t_device)
        assert n.device == numnet.device("cpu") and t.device == torch.device("cpu")
        assert tuple(n.shape) == tuple(t.shape)
        assert str(n.dtype) == str(t.dtype).removeprefix("torch.")
    with pytest.raises(_torch_error(lambda: make(torch, "cuda")), match="CPU only"):
        make(numnet, "cuda")


@pytest.mark.parametrize("start, end, steps", [(-5, 0.5, 7), (-2.5, 2.5, 6), (3, -3, 9),
                                               (-10, -1, 4), (0.5, 10, 13), (-7, 7, 15)])
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_linspace_truncates_toward_zero_like_torch(start, end, steps, dtype):
    n = numnet.linspace(start, end, steps, dtype=numpy.dtype(dtype))
    t = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
    assert n.dtype == numpy.dtype(dtype)
    numpy.testing.assert_array_equal(n.data, t.numpy())


def test_integer_linspace_matches_torch_over_random_ranges():
    rng = numpy.random.default_rng(0)
    for _ in range(300):
        start, end = rng.uniform(-500, 500, 2).round(int(rng.integers(0, 3)))
        steps = int(rng.integers(0, 80))
        n = numnet.linspace(float(start), float(end), steps, dtype=numnet.int64)
        t = torch.linspace(float(start), float(end), steps, dtype=torch.int64)
        numpy.testing.assert_array_equal(n.data, t.numpy(), err_msg=f"{start, end, steps}")


def _pair():
    numnet.manual_seed(0)
    n = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    t = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    return n, t


@pytest.mark.parametrize("n_args, n_kwargs, t_args, t_kwargs", [
    (("cpu",), {}, ("cpu",), {}),
    ((numnet.device("cpu"),), {}, (torch.device("cpu"),), {}),
    ((None,), {}, (None,), {}),
    ((numnet.float64,), {}, (torch.float64,), {}),
    (("cpu", numnet.float64), {}, ("cpu", torch.float64), {}),
    ((), {"device": "cpu", "dtype": numnet.float64}, (),
     {"device": "cpu", "dtype": torch.float64}),
    ((numnet.zeros(1, dtype=numnet.float64),), {}, (torch.zeros(1, dtype=torch.float64),), {}),
    ((), {"dtype": numnet.float64, "non_blocking": True}, (),
     {"dtype": torch.float64, "non_blocking": True}),
])
def test_module_to_casts_floating_parameters_and_buffers_like_torch(n_args, n_kwargs, t_args,
                                                                   t_kwargs):
    n, t = _pair()
    params = list(n.parameters())
    assert n.to(*n_args, **n_kwargs) is n
    assert t.to(*t_args, **t_kwargs) is t
    n_dtypes = {k: str(v.dtype) for k, v in n.state_dict().items()}
    t_dtypes = {k: str(v.dtype).removeprefix("torch.") for k, v in t.state_dict().items()}
    assert n_dtypes == t_dtypes
    assert list(n.parameters()) == params
    assert n.cpu() is n and t.cpu() is t


def test_module_to_an_unavailable_device_or_an_integer_dtype_raises_torch_s_type():
    n, t = _pair()
    with pytest.raises(_torch_error(lambda: t.to("cuda")), match="CPU only"):
        n.to("cuda")
    with pytest.raises(_torch_error(lambda: t.to(torch.int64))):
        n.to(numnet.int64)
    assert n[0].weight.dtype == numnet.float32
