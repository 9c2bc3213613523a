"""Containers and parameters (issue 14.6) against torch's behaviour: ``Unflatten``,
``ParameterList``, ``ParameterDict`` (methods, registration, state_dict keys, repr, an
optimizer step), and Module's ``named_modules / named_parameters / named_buffers /
modules / children / get_submodule / get_parameter / get_buffer / set_submodule /
register_module`` (order, prefixes, duplicates, error types and messages)."""

from __future__ import annotations

import collections

import numpy
import pytest
import torch

import numnet
from numnet import nn


def _repr_as_torch(module) -> str:
    """numnet's repr in torch's words (``numnet.float32`` -> ``torch.float32``)."""
    return repr(module).replace("numnet.", "torch.")


# ---------------------------------------------------------------------- Unflatten
@pytest.mark.parametrize("dim, sizes, shape", [(1, (2, 5), (3, 10)), (-1, [2, -1], (3, 4, 6)),
                                               (0, (1, 3), (3, 2)), (1, (2, 2, 2), (2, 8))])
def test_unflatten_like_torch(dim, sizes, shape):
    layer, reference = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    x = numpy.random.default_rng(0).standard_normal(shape)
    xt = numnet.tensor(x, requires_grad=True)
    y = layer(xt)
    assert y.shape == tuple(reference(torch.tensor(x)).shape)
    numpy.testing.assert_array_equal(y.data, reference(torch.tensor(x)).numpy())
    assert repr(layer) == repr(reference)
    (y * y).sum().backward()
    numpy.testing.assert_allclose(xt.grad.data, 2 * x)


def test_unflatten_round_trips_flatten_and_checks_its_arguments():
    net = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)))
    assert net(numnet.zeros(2, 3, 4)).shape == (2, 3, 4)
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                                        "type int"):
        nn.Unflatten(1, 4)
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        nn.Unflatten(1, (2, 2.0))
    with pytest.raises(TypeError, match="invalid argument type for dim parameter"):
        nn.Unflatten(1.0, (2, 2))
    with pytest.raises(NotImplementedError, match="named dims"):
        nn.Unflatten("features", (("a", 2), ("b", 2)))
    with pytest.raises(RuntimeError, match="don't multiply up"):
        nn.Unflatten(1, (3, 3))(numnet.zeros(2, 8))


# ---------------------------------------------------------------------- ParameterList
def test_parameter_list_like_torch():
    ours = nn.ParameterList([numnet.zeros(2), nn.Parameter(numnet.ones(3, 2))])
    theirs = torch.nn.ParameterList([torch.zeros(2), torch.nn.Parameter(torch.ones(3, 2))])
    for lst, lib, zeros in [(ours, nn, numnet.zeros), (theirs, torch.nn, torch.zeros)]:
        lst.append(zeros(4))
        lst.extend([zeros(1), lib.Parameter(zeros(5))])
        lst += [zeros(2, 2)]
        lst[0] = zeros(7)
    assert len(ours) == len(theirs) == 6
    assert all(isinstance(p, nn.Parameter) for p in ours)
    assert [tuple(p.shape) for p in ours] == [tuple(p.shape) for p in theirs]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours[-1] is ours[5] and [p.shape for p in ours[1:4]] == [(3, 2), (4,), (1,)]
    assert type(ours[::2]) is nn.ParameterList and len(ours[::2]) == 3
    assert _repr_as_torch(ours) == repr(theirs)
    assert _repr_as_torch(nn.ParameterList([numnet.zeros(3)])) == repr(
        torch.nn.ParameterList([torch.zeros(3)]))


def test_parameter_list_shares_the_tensor_and_errors():
    t = numnet.zeros(3)
    params = nn.ParameterList([t])
    assert params[0].data is t.data and params[0].requires_grad
    with pytest.raises(IndexError, match="index 1 is out of range"):
        params[1]
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an "
                                        "iterable, but got Tensor"):
        params.extend(numnet.zeros(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        params(1)
    params.append("not a tensor")
    assert params[1] == "not a tensor" and len(list(params.parameters())) == 1
    assert "(1): Object of type: str" in repr(params)


def test_parameter_containers_train_with_an_optimizer():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.ParameterList([numnet.ones(3), numnet.ones(3)])
            self.biases = nn.ParameterDict({"b": numnet.zeros(3)})

        def forward(self, x):
            return (x * self.weights[0] * self.weights[1] + self.biases["b"]).sum()

    model = Model()
    assert list(model.state_dict()) == ["weights.0", "weights.1", "biases.b"]
    optimizer = numnet.optim.SGD(model.parameters(), lr=0.5)
    model(numnet.ones(3)).backward()
    optimizer.step()
    numpy.testing.assert_allclose(model.weights[1].data, 0.5)
    numpy.testing.assert_allclose(model.biases["b"].data, -0.5)
    fresh = Model()
    fresh.load_state_dict(model.state_dict())
    numpy.testing.assert_allclose(fresh.biases["b"].data, -0.5)


# ---------------------------------------------------------------------- ParameterDict
def _both_dicts(values_of):
    return (nn.ParameterDict(values_of(numnet.zeros, nn.Parameter)),
            torch.nn.ParameterDict(values_of(torch.zeros, torch.nn.Parameter)))


@pytest.mark.parametrize("values_of", [
    lambda z, P: {"b": z(2), "a": P(z(3)), "c": z(1)},  # a plain dict: sorted, as torch
    lambda z, P: collections.OrderedDict([("b", z(2)), ("a", z(3))]),
    lambda z, P: [("z", z(1)), ("y", z(2, 2))],
])
def test_parameter_dict_order_keys_and_repr_like_torch(values_of):
    ours, theirs = _both_dicts(values_of)
    assert list(ours) == list(theirs) == list(ours.keys())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert all(isinstance(v, nn.Parameter) for v in ours.values())
    assert _repr_as_torch(ours) == repr(theirs)


def test_parameter_dict_methods_like_torch():
    ours, theirs = _both_dicts(lambda z, P: {"a": z(1), "b": z(2), "c": z(3)})
    for d, zeros in [(ours, numnet.zeros), (theirs, torch.zeros)]:
        d["d"] = zeros(4)
        d.update([("e", zeros(5))])
        del d["a"]
        d.setdefault("f", zeros(6))
        d.setdefault("b", zeros(9))
    assert list(ours) == list(theirs) == ["b", "c", "d", "e", "f"]
    assert ours.pop("c").shape == (3,) and theirs.pop("c").shape == (3,)
    key, value = ours.popitem()
    assert key == theirs.popitem()[0] == "f" and value.shape == (6,)
    assert ours.get("x", 5) == 5 and ours.get("b").shape == (2,)
    assert "b" in ours and "x" not in ours and len(ours) == 3
    assert list(reversed(ours)) == list(reversed(theirs))
    copy = ours.copy()
    assert list(copy) == list(ours) and copy["b"] is ours["b"]
    merged = ours | nn.ParameterDict({"a": numnet.zeros(1)})
    assert list(merged) == list(theirs | torch.nn.ParameterDict({"a": torch.zeros(1)}))
    assert list(ours.fromkeys(["p", "q"])) == ["p", "q"]
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []


def test_parameter_dict_errors_like_torch():
    d = nn.ParameterDict()
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key "
                                        r"as it is not a string \(type is 'int'\)"):
        d[1]
    with pytest.raises(TypeError, match="ParametersDict.update should be called with an "
                                        "iterable of key/value pairs, but got int"):
        d.update(3)
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        d.update([("a", numnet.zeros(1), 3)])
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        d(numnet.zeros(1))
    with pytest.raises(AttributeError, match="'ParameterDict' object has no attribute "
                                             "'missing'"):
        d["missing"]


# ---------------------------------------------------------------------- Module traversal
def _build(lib, zeros):
    """The same nested model in numnet or torch: shared modules, containers, buffers."""
    shared = lib.Linear(2, 2)

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc = shared
            self.bn = lib.BatchNorm1d(2)
            self.register_buffer("scale", zeros(2))
            self.extra = lib.ParameterList([lib.Parameter(zeros(2))])

    net = lib.Sequential(collections.OrderedDict([
        ("first", shared), ("block", Block()),
        ("heads", lib.ModuleDict({"a": lib.Linear(2, 1), "b": shared})),
        ("stack", lib.ModuleList([lib.ReLU(), Block()]))]))
    net.tied = net.block.extra[0]
    return net


@pytest.fixture(name="nets")
def nets_fixture():
    return _build(nn, numnet.zeros), _build(torch.nn, torch.zeros)


def _names(pairs):
    return [name for name, _ in pairs]


def test_named_modules_order_prefix_and_duplicates_like_torch(nets):
    ours, theirs = nets
    assert _names(ours.named_modules()) == _names(theirs.named_modules())
    assert _names(ours.named_modules(prefix="net")) == _names(theirs.named_modules(prefix="net"))
    assert (_names(ours.named_modules(remove_duplicate=False))
            == _names(theirs.named_modules(remove_duplicate=False)))
    memo = {ours.block}
    assert (_names(ours.named_modules(memo=memo))
            == _names(theirs.named_modules(memo={theirs.block})))
    assert ours.first in memo
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__
                                                          for m in theirs.modules()]
    assert _names(ours.named_children()) == _names(theirs.named_children())
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__
                                                           for m in theirs.children()]


@pytest.mark.parametrize("kwargs", [{}, {"prefix": "model"}, {"recurse": False},
                                    {"remove_duplicate": False},
                                    {"prefix": "m", "remove_duplicate": False}])
def test_named_parameters_and_buffers_like_torch(nets, kwargs):
    ours, theirs = nets
    assert _names(ours.named_parameters(**kwargs)) == _names(theirs.named_parameters(**kwargs))
    assert _names(ours.named_buffers(**kwargs)) == _names(theirs.named_buffers(**kwargs))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_get_submodule_parameter_buffer_like_torch(nets):
    ours, theirs = nets
    assert ours.get_submodule("") is ours
    assert ours.get_submodule("stack.1.bn") is ours.stack[1].bn
    assert ours.get_parameter("heads.a.weight") is ours.heads["a"].weight
    assert ours.get_parameter("block.extra.0") is ours.block.extra[0]
    assert ours.get_buffer("block.bn.running_mean") is ours.block.bn.running_mean
    assert ours.get_buffer("stack.1.scale") is ours.stack[1].scale
    failing = [("get_submodule", "block.missing"), ("get_submodule", "block.fc.weight"),
               ("get_submodule", "heads.c"), ("get_parameter", "block.bn.running_mean"),
               ("get_parameter", "block.nothing"), ("get_parameter", "nope.weight"),
               ("get_buffer", "block.fc.weight"), ("get_buffer", "block.zzz"),
               ("get_buffer", "block.training")]
    for method, target in failing:
        with pytest.raises(AttributeError) as mine:
            getattr(ours, method)(target)
        with pytest.raises(AttributeError) as reference:
            getattr(theirs, method)(target)
        assert str(mine.value) == str(reference.value), (method, target)


def test_set_submodule_and_register_module_like_torch(nets):
    ours, theirs = nets
    for net, lib in [(ours, nn), (theirs, torch.nn)]:
        net.set_submodule("block.bn", lib.Identity())
        net.set_submodule("stack.new", lib.Tanh())
        net.register_module("tail", lib.Sigmoid())
    assert type(ours.block.bn).__name__ == "Identity"
    assert _names(ours.named_modules()) == _names(theirs.named_modules())
    for target, module, kwargs, error in [("", nn.ReLU(), {}, ValueError),
                                          ("block.bn", 3, {}, ValueError),
                                          ("block.absent", nn.ReLU(), {"strict": True},
                                           AttributeError),
                                          ("block.scale", nn.ReLU(), {}, AttributeError)]:
        torch_module = torch.nn.ReLU() if isinstance(module, nn.Module) else module
        with pytest.raises(error) as mine:
            ours.set_submodule(target, module, **kwargs)
        with pytest.raises(error) as reference:
            theirs.set_submodule(target, torch_module, **kwargs)
        if error is AttributeError:
            assert str(mine.value) == str(reference.value)


def test_train_reaches_every_module_once(nets):
    ours, _ = nets
    ours.eval()
    assert not any(m.training for m in ours.modules())
    ours.train()
    assert all(m.training for m in ours.modules())
