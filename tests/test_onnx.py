"""ONNX export and import (``numnet.onnx``): every preset and user-style models exported,
checked by ``onnx.checker``, run in ONNX Runtime for two batch sizes and imported back into
numnet, each time with numnet's outputs; fine-tuning the imported model; the errors; the
``numnet export`` command; a model exported by PyTorch imported into numnet."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy
import pytest

import numnet
import numnet.nn.functional as F
from numnet import models, nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import numnet.onnx  # noqa: E402 - after the skips: the module needs onnx at export time

ATOL = 1e-5


def _outputs(result) -> list:
    return [t.data for t in (result if isinstance(result, tuple) else (result,))]


def _session(data: bytes):
    return ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def roundtrip(model, shape, batches=(2, 3), seed=0, dtype=numpy.float32, examples=None,
              **options):
    """Export ``model`` with a dynamic batch axis; compare ONNX Runtime and the imported
    model with numnet for each batch size; return (proto, imported model)."""
    rng = numpy.random.default_rng(seed)
    if examples is None:
        examples = [numnet.tensor(rng.standard_normal((n,) + shape).astype(dtype))
                    for n in batches]
    buffer = io.BytesIO()
    proto = numnet.onnx.export(model, examples[0], buffer, input_names=["x"],
                               dynamic_axes={"x": {0: "batch"}}, **options)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    session = _session(buffer.getvalue())
    back = numnet.onnx.load(buffer.getvalue())
    if isinstance(model, nn.Module):
        model.eval()
    for x in examples:
        expected = _outputs(model(x))
        got = session.run(None, {"x": x.data})
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert g.shape == e.shape and g.dtype == e.dtype
            numpy.testing.assert_allclose(g, e, atol=ATOL, rtol=1e-5)
        for e, g in zip(expected, _outputs(back(x))):
            assert g.shape == e.shape and g.dtype == e.dtype
            numpy.testing.assert_allclose(g, e, atol=ATOL, rtol=1e-5)
    return proto, back


def _trained_statistics(model, shape, steps=2):
    """Run a few training-mode batches so BatchNorm's running statistics are not 0 and 1."""
    model.train()
    rng = numpy.random.default_rng(1)
    for _ in range(steps):
        model(numnet.tensor(rng.standard_normal((4,) + shape).astype(numpy.float32)))
    return model


PRESETS = [
    ("mlp", lambda: models.mlp([64, 32, 10]), (1, 8, 8)),
    ("lenet5", lambda: models.lenet5(), (1, 28, 28)),
    ("lenet5_tanh", lambda: models.lenet5(activation="tanh"), (1, 28, 28)),
    ("cifar_cnn", lambda: models.cifar_cnn(), (3, 32, 32)),
    ("cnn_bn", lambda: models.MODELS["cnn_bn"](input_size=16, channels=(4, 8), hidden=16),
     (1, 16, 16)),
    ("resnet", lambda: models.MODELS["resnet"](width=4, blocks=(1, 1), input_size=8),
     (3, 8, 8)),
]


@pytest.mark.parametrize("name, build, shape", PRESETS, ids=[p[0] for p in PRESETS])
def test_presets_run_in_onnxruntime_and_come_back(name, build, shape):
    model = _trained_statistics(build(), shape)
    proto, back = roundtrip(model, shape)
    assert list(back.state_dict()) == [k for k in model.state_dict()
                                       if not k.endswith("num_batches_tracked")]
    initializers = {t.name for t in proto.graph.initializer}
    assert initializers <= set(model.state_dict())


class UserNet(nn.Module):
    """A model with its own forward: F.* calls, a residual addition, BatchNorm, LayerNorm,
    pooling, dropout, flatten, cat, slicing, reductions and both softmaxes."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.conv3 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
        self.fc = nn.Linear(8 * 2 * 2, 16)
        self.ln = nn.LayerNorm(16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = y + F.leaky_relu(self.conv2(y), 0.2) * 0.5
        y = F.max_pool2d(self.conv3(y), 2)
        y = F.avg_pool2d(y, 2)
        y = F.dropout(y, 0.3, self.training)
        y = y.flatten(1)
        h = self.ln(F.gelu(self.fc(y)))
        h = numnet.cat([h[:, :8].sigmoid(), numnet.tanh(h[:, 8:])], dim=1)
        h = h - h.mean(dim=1, keepdim=True) + h.sum(-1, keepdim=True) / 10
        logits = self.fc2(h)
        return logits.softmax(-1) + F.log_softmax(logits, dim=1)


class MatrixNet(nn.Module):
    """matmul, transpose, reshape/view, permute, unsqueeze/squeeze, sqrt/exp/abs/clamp,
    max along a dim, tril/triu, flip, repeat, index_select, prod, the tanh GELU."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(numpy.random.default_rng(0).standard_normal(
            (6, 6)).astype(numpy.float32))

    def forward(self, x):
        n = x.shape[0]
        a = x.reshape(n, 4, 6) @ self.w
        b = a.transpose(1, 2).view(n, -1).reshape(n, 2, 12).permute(0, 2, 1)
        c = numnet.sqrt(b.abs() + 1) * numnet.exp(b.clamp(-1, 1))
        d = c.unsqueeze(1).squeeze(1).amax(dim=1) + numnet.max(c, dim=2).values.mean()
        e = numnet.triu(c[:, :2, :2], 1) + numnet.tril(c[:, :2, :2]).flip(1).repeat(1, 1, 2)[
            ..., :2] + numnet.index_select(c[:, :2, :2], 2, numnet.tensor([1, 0]))
        d = d + numnet.prod(e, dim=2).sum(1, keepdim=True)
        return F.gelu(d, approximate="tanh"), numnet.stack([d, -d], dim=1)


class PoolNet(nn.Module):
    """The pooling options: divisor_override, count_include_pad=False, ceil_mode, dilation,
    and an unbatched (C, H, W) convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        y = F.avg_pool2d(x, 3, 2, 1, divisor_override=5)
        y = y + F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        y = y + F.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True)[..., :4, :4]
        return y + F.max_pool2d(self.conv(x[0]), 2)


class AttentionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.encoder = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)

    def forward(self, x):
        out, weights = self.mha(x, x, x)
        return self.encoder(out), weights


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("build, shape", [
    (UserNet, (3, 16, 16)), (MatrixNet, (24,)), (PoolNet, (3, 8, 8)), (AttentionNet, (5, 8)),
], ids=["user", "matrix", "pool", "attention"])
def test_user_models_run_in_onnxruntime_and_come_back(build, shape, opset):
    model = build()
    if isinstance(model, UserNet):
        _trained_statistics(model, shape)
    proto, _ = roundtrip(model, shape, opset_version=opset)
    if isinstance(model, UserNet):
        assert "Gelu" in {node.op_type for node in proto.graph.node} or opset < 20


class Recurrent(nn.Module):
    def __init__(self, kind, **options):
        super().__init__()
        self.rnn = getattr(nn, kind)(6, 5, batch_first=True, **options)
        self.fc = nn.Linear(5 * (2 if options.get("bidirectional") else 1), 3)

    def forward(self, x):
        y, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        return self.fc(y[:, -1]), h


@pytest.mark.parametrize("kind, options", [
    ("LSTM", {}), ("GRU", {"num_layers": 2}), ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {"bidirectional": True, "num_layers": 2}), ("GRU", {"bidirectional": True}),
], ids=["lstm", "gru-2-layers", "rnn-relu", "lstm-bidirectional", "gru-bidirectional"])
def test_recurrent_layers_run_in_onnxruntime_and_come_back(kind, options):
    proto, _ = roundtrip(Recurrent(kind, **options), (7, 6))
    assert kind in {node.op_type for node in proto.graph.node}


class Activations(nn.Module):
    """The activations of issue 14, PReLU, a transposed convolution, reflect and replicate
    padding, cumsum."""

    def __init__(self):
        super().__init__()
        self.prelu = nn.PReLU(4)
        self.up = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=2)

    def forward(self, x):
        y = F.hardtanh(x, -0.5, 0.5) + F.hardsigmoid(x) + F.hardswish(x) + self.prelu(x)
        y = y + F.threshold(x, 0.1, 2.0) + F.softshrink(x, 0.3) + F.hardshrink(x, 0.3)
        y = y + F.silu(x) + F.elu(x, 0.7) + F.selu(x) + F.celu(x, 1.3)
        y = y + F.softplus(x, 2.0, 1.0) + F.mish(x) + F.logsigmoid(x)
        y = y + F.glu(numnet.cat([x, x * 2], 1), 1)
        y = F.pad(F.pad(y, (1, 2, 2, 1), mode="reflect"), (1, 1, 1, 1), mode="replicate")
        return self.up(y), numnet.cumsum(y, 2)


@pytest.mark.parametrize("opset", [17, 21, 23])
def test_activations_and_layers_of_issue_14_run_in_onnxruntime(opset):
    roundtrip(Activations(), (4, 5, 5), opset_version=opset)


class Norms(nn.Module):
    """In-place ReLU and ``+=``, instance, group and local response normalization, batch
    normalization with the batch's statistics, ``F.normalize`` with p = 2, 1 and 3."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU(inplace=True)
        self.instance = nn.InstanceNorm2d(4, affine=True)
        self.group = nn.GroupNorm(2, 4)
        self.lrn = nn.LocalResponseNorm(3)
        self.batch = nn.BatchNorm2d(4, track_running_stats=False)

    def forward(self, x):
        y = self.relu(self.conv(x))
        y += 1
        y = self.batch(self.lrn(self.group(self.instance(y))))
        return F.normalize(y, dim=1) + F.normalize(y, p=1, dim=2) + F.normalize(y, p=3, dim=3)


@pytest.mark.parametrize("opset", [17, 18])
def test_normalization_layers_run_in_onnxruntime(opset):
    roundtrip(Norms(), (3, 6, 6), opset_version=opset)


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, tokens):
        return self.fc(self.emb(tokens)).sum(1)


def test_embedding_takes_its_indices_from_the_graph_input():
    rng = numpy.random.default_rng(0)
    examples = [numnet.tensor(rng.integers(0, 10, (n, 3))) for n in (2, 4)]
    proto, _ = roundtrip(Embedder(), None, examples=examples)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_a_function_exports_too():
    weight = numnet.randn(4, 3, requires_grad=True)
    proto, back = roundtrip(lambda x: numnet.tanh(x @ weight).sum(-1, keepdim=True), (4,))
    assert [node.op_type for node in proto.graph.node] == ["Constant", "MatMul", "Tanh",
                                                           "Constant", "ReduceSum"]
    assert list(back.state_dict()) == []  # the captured weight is a constant


class ShiftedTokens(Embedder):
    def forward(self, tokens):
        return self.fc(self.emb(tokens + 1))


def test_indices_computed_from_the_input_outside_the_graph_are_refused():
    tokens = numnet.tensor([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(numnet.onnx.ExportError, match="Embedding holds an index array"):
        numnet.onnx.export(ShiftedTokens(), tokens, io.BytesIO())


def test_float64_model_exports_in_float64():
    model = models.mlp([12, 8, 3]).double()
    proto, back = roundtrip(model, (12,), dtype=numpy.float64)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(t.dtype == numpy.float64 for t in back.state_dict().values())


def test_export_keeps_the_training_mode_and_names_inputs_outputs_and_axes(tmp_path):
    model = models.mlp([12, 8, 3], dropout=0.5)
    assert model.training
    path = tmp_path / "m.onnx"
    numnet.onnx.export(model, numnet.randn(2, 12), path, output_names=["logits"],
                       dynamic_axes={"x": [0], "logits": {0: "n"}}, opset_version=18)
    assert model.training and all(m.training for m in model.modules())
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 18
    assert [i.name for i in proto.graph.input] == ["x"]  # forward's argument name
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    assert proto.graph.output[0].name == "logits"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    assert "Dropout" not in {n.op_type for n in proto.graph.node}


def test_reshape_keeps_the_batch_axis_dynamic():
    from numnet.onnx._export_ops import reshape_target

    assert reshape_target((8, 16, 5, 5), (8, 400)) == [0, -1]
    assert reshape_target((6, 4), (2, 3, 4)) == [-1, 3, 4]
    assert reshape_target((2, 5, 8), (2, 5, 2, 4)) == [0, 0, -1, 4]


class ShapeInPython(nn.Module):
    def forward(self, x):
        return x * numnet.ones(x.shape[0], 1)


class NoGradStatistics(nn.Module):
    def forward(self, x):
        with numnet.no_grad():
            mean = x.mean()
        return x - mean


def test_a_constant_computed_from_the_input_is_refused():
    x = numnet.randn(2, 3)
    with pytest.raises(numnet.onnx.ExportError, match="Mul .*depends on the input"):
        numnet.onnx.export(ShapeInPython(), x, io.BytesIO(), dynamic_axes={"x": [0]})
    numnet.onnx.export(ShapeInPython(), x, io.BytesIO())  # a fixed batch size is fine
    with pytest.raises(numnet.onnx.ExportError, match="Sub .*depends on the input"):
        numnet.onnx.export(NoGradStatistics(), x, io.BytesIO())


def test_imported_model_fine_tunes_with_the_gradients_of_the_original():
    model = _trained_statistics(models.lenet5(), (1, 28, 28)).eval()
    x = numnet.randn(3, 1, 28, 28)
    target = numnet.tensor([1, 2, 3])
    buffer = io.BytesIO()
    numnet.onnx.export(model, x, buffer)
    back = numnet.onnx.load(buffer.getvalue())
    F.cross_entropy(model(x), target).backward()
    loss = F.cross_entropy(back(x), target)
    loss.backward()
    grads = dict(model.named_parameters())
    for name, p in back.named_parameters():
        numpy.testing.assert_allclose(p.grad.data, grads[name].grad.data, atol=1e-6)
    optimizer = numnet.optim.SGD(back.parameters(), lr=0.1)
    optimizer.step()
    assert float(F.cross_entropy(back(x), target)) < float(loss)


class Cumulative(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return numnet.cumprod(self.fc(x), dim=1)


def test_an_op_without_mapping_is_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "m.onnx"
    model = nn.Sequential(nn.Linear(4, 4), Cumulative())
    with pytest.raises(numnet.onnx.ExportError) as error:
        numnet.onnx.export(model, numnet.randn(2, 4), path)
    message = str(error.value)
    assert "\n" not in message and "no ONNX mapping" in message
    assert "CumProd" in message and "module '1'" in message
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_unsupported_operator_on_load_names_it_and_its_node():
    helper = onnx.helper
    node = helper.make_node("Hardmax", ["x"], ["y"], name="the_hardmax")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3])])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(numnet.onnx.UnsupportedError,
                       match="operator Hardmax \\(node 0 'the_hardmax'\\) is not supported"):
        numnet.onnx.load(proto.SerializeToString())


@pytest.mark.parametrize("options, kind", [
    ({"opset_version": 12}, ValueError), ({"export_params": False}, NotImplementedError),
    ({"do_constant_folding": False}, NotImplementedError),
    ({"training": numnet.onnx.TrainingMode.TRAINING}, NotImplementedError),
    ({"training": "eval"}, TypeError),
])
def test_options_numnet_does_not_honour_are_errors(options, kind):
    with pytest.raises(kind):
        numnet.onnx.export(nn.Linear(3, 2), numnet.randn(1, 3), io.BytesIO(), **options)


def test_verify_runs_onnxruntime_and_refuses_a_wrong_graph(monkeypatch, tmp_path):
    from numnet.onnx import _export_ops, exporter
    from numnet.ops import activation

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    x = numnet.randn(5, 3)
    proto = numnet.onnx.export(model, x, verify=True)  # f=None: nothing written
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Relu"]
    monkeypatch.setitem(exporter.EXPORTERS, activation.ReLU, _export_ops._single("Sigmoid"))
    path = tmp_path / "m.onnx"
    with pytest.raises(numnet.onnx.ExportError, match="output 0 differs"):
        numnet.onnx.export(model, x, path, verify=True)
    assert not path.exists()


def test_import_numnet_works_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; import numnet, numnet.onnx\n"
            "try:\n    numnet.onnx.export(numnet.nn.Linear(2, 1), numnet.ones(1, 2), 'x.onnx')\n"
            "except ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install numnet[onnx]" in done.stdout


def test_numnet_export_command_end_to_end(tmp_path, capsys):
    from numnet import cli

    run = tmp_path / "run"
    assert cli.main(["train", "--model", "mlp", "--epochs", "1", "--limit-train", "200",
                     "--limit-test", "50", "--no-progress", "--out", str(run)]) == 0
    done = subprocess.run([sys.executable, "-m", "numnet", "export", str(run), "--format",
                           "onnx", "--opset", "18"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (run / "model.onnx").exists() and "opset 18" in done.stdout
    capsys.readouterr()
    assert cli.main(["export", str(run)]) == 2
    error = capsys.readouterr().err
    assert "--overwrite" in error and len(error.strip().splitlines()) == 1
    assert cli.main(["export", str(run), "--overwrite"]) == 0
    assert cli.main(["export", str(run / "model.npz"), "--format", "safetensors", "--output",
                     str(tmp_path / "w.safetensors")]) == 0

    from numnet.commands._runs import load_model

    model, _ = load_model(run)
    images = numnet.randn(5, 1, 8, 8)
    got = _session((run / "model.onnx").read_bytes()).run(None, {"input": images.data})[0]
    numpy.testing.assert_allclose(got, model(images).data, atol=ATOL)
    weights = numnet.load(tmp_path / "w.safetensors")
    assert weights.keys() == model.state_dict().keys()


def test_a_model_exported_by_torch_imports_with_equal_outputs():
    torch = pytest.importorskip("torch")

    class TorchLeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = torch.nn.Conv2d(6, 16, 5)
            self.bn = torch.nn.BatchNorm2d(16)
            self.fc1 = torch.nn.Linear(400, 120)
            self.fc2 = torch.nn.Linear(120, 84)
            self.fc3 = torch.nn.Linear(84, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.nn.functional.avg_pool2d(torch.tanh(self.bn(self.conv2(x))), 2)
            x = x.view(x.size(0), -1)
            x = torch.nn.functional.gelu(self.fc2(torch.relu(self.fc1(x))))
            return torch.log_softmax(self.fc3(x), 1)

    torch.manual_seed(0)
    model = TorchLeNet().eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 1, 28, 28),), buffer, dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n"}}, opset_version=17)
    back = numnet.onnx.load(buffer.getvalue())
    assert {"conv1.weight", "fc3.bias"} <= set(back.state_dict())
    for n in (2, 3):
        x = torch.randn(n, 1, 28, 28)
        with torch.no_grad():
            expected = model(x).numpy()
        numpy.testing.assert_allclose(back(numnet.tensor(x.numpy())).data, expected,
                                      atol=ATOL)
