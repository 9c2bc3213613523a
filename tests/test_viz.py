"""Graph export: DOT nodes and edges, values and gradients, rendering with and without dot."""

import os
import re
import shutil
import subprocess
import sys

import numpy
import pytest

import numnet
from numnet import viz
from numnet.nn.module import Module
from numnet.nn.parameter import Parameter

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r"^  (n\d+) -> (n\d+);$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse(dot):
    """``({id: label}, [(source id, destination id)])``; fails on any line it cannot read."""
    lines = dot.splitlines()
    assert lines[0] == "digraph numnet {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[3:-1]:
        node = NODE.match(line)
        edge = EDGE.match(line)
        assert node or edge, f"unparsable DOT line: {line!r}"
        if node:
            label = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1),
                           node.group(2))
            nodes[node.group(1)] = label
        else:
            assert edge.group(1) in nodes and edge.group(2) in nodes
            edges.append((edge.group(1), edge.group(2)))
    return nodes, edges


def labelled_edges(dot):
    nodes, edges = parse(dot)
    return sorted((nodes[a], nodes[b]) for a, b in edges)


def toy():
    w = numnet.tensor(-2.0, requires_grad=True)
    x = numnet.tensor(5.0)
    b = numnet.tensor(3.0, requires_grad=True)
    f = w * x + b
    f.backward()
    return w, x, b, f


# ---------------------------------------------------------------------- the lecture's toy
def test_toy_graph_has_exactly_the_expected_nodes_and_edges():
    w, x, b, f = toy()
    dot = viz.graph(f, params={"w": w, "x": x, "b": b})
    nodes, _ = parse(dot)
    f_node = "scalar float32\nvalue -7"  # no grad: f is not a leaf and did not retain_grad
    g_node = "scalar float32"  # w * x is freed: only its shape and dtype are known
    assert sorted(nodes.values()) == sorted(["w\nvalue -2\ngrad 5", "x\nvalue 5", "Mul",
                                             g_node, "b\nvalue 3\ngrad 1", "Add", f_node])
    assert labelled_edges(dot) == sorted([
        ("w\nvalue -2\ngrad 5", "Mul"), ("x\nvalue 5", "Mul"), ("Mul", g_node),
        (g_node, "Add"), ("b\nvalue 3\ngrad 1", "Add"), ("Add", f_node)])


def test_toy_graph_before_backward_shows_values_only():
    w = numnet.tensor(-2.0, requires_grad=True)
    w.name = "w"
    f = w * numnet.tensor(5.0) + numnet.tensor(3.0, requires_grad=True)
    nodes, _ = parse(viz.graph(f))
    assert "w\nvalue -2" in nodes.values()
    assert not any("grad" in label for label in nodes.values())


def test_same_graph_gives_the_same_text():
    first = viz.graph(toy()[3])
    assert viz.graph(toy()[3]) == first
    assert first.splitlines()[3].startswith("  n0 ")


def test_unnamed_tensors_show_shape_and_dtype():
    x = numnet.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = (x * 2.0).sum()
    y.backward()
    nodes, _ = parse(viz.graph(y))
    assert "(3,) float64\nvalue [1, 2, 3]\ngrad [2, 2, 2]" in nodes.values()
    assert "(3,) float64" in nodes.values()  # the freed product


def test_intermediate_shows_value_while_alive_and_grad_after_retain_grad():
    w, x, b = (numnet.tensor(v, requires_grad=True) for v in (-2.0, 5.0, 3.0))
    g = w * x
    g.name = "g"
    g.retain_grad()
    f = g + b
    f.backward()
    nodes, _ = parse(viz.graph(f))
    assert "g\nvalue -10\ngrad 1" in nodes.values()


def test_large_tensors_show_shape_and_statistics():
    rng = numpy.random.default_rng(0)
    data = rng.standard_normal((3, 4)).astype(numpy.float32)
    x = numnet.tensor(data, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    nodes, _ = parse(viz.graph(loss, params={"weight": x}))
    grad = 2 * data.astype(numpy.float64)
    expected = "\n".join([
        "weight", "(3, 4) float32",
        f"mean {data.mean(dtype=numpy.float64):.4g} std {data.std(dtype=numpy.float64):.4g}",
        f"grad mean {grad.mean():.4g} std {grad.std():.4g}"])
    assert expected in nodes.values()


def test_show_values_false_shows_names_and_shapes_only():
    w, x, b, f = toy()
    nodes, _ = parse(viz.graph(f, params={"w": w}, show_values=False))
    assert "w\nscalar float32" in nodes.values()
    assert not any("value" in label or "grad" in label for label in nodes.values())


# ---------------------------------------------------------------------- names
def test_params_as_dict_pairs_generator_and_module():
    class Affine(Module):
        def __init__(self):
            super().__init__()
            self.weight = Parameter(numnet.tensor([2.0]))
            self.bias = Parameter(numnet.tensor([1.0]))

        def forward(self, x):
            return x * self.weight + self.bias

    model = Affine()
    y = model(numnet.tensor([3.0])).sum()
    y.backward()
    expected = {"weight\nvalue [2]\ngrad [3]", "bias\nvalue [1]\ngrad [1]"}
    for params in (model, dict(model.named_parameters()), list(model.named_parameters()),
                   model.named_parameters()):
        labels = set(parse(viz.graph(y, params=params))[0].values())
        assert expected <= labels
    model.weight.name = "ignored: params win"
    assert expected <= set(parse(viz.graph(y, params=model))[0].values())


def test_params_of_the_wrong_kind_are_rejected():
    _, _, _, f = toy()
    with pytest.raises(TypeError, match="'w' is a float"):
        viz.graph(f, params={"w": 1.0})
    with pytest.raises(TypeError, match="params must be"):
        viz.graph(f, params=["w"])
    with pytest.raises(TypeError, match="expects a Tensor"):
        viz.graph(3.0)


def test_labels_are_escaped_for_dot():
    w = numnet.tensor(1.0, requires_grad=True)
    w.name = 'say "hi"\\ then\nnew line'
    dot = viz.graph(w * 2.0)
    assert r'label="say \"hi\"\\ then\nnew line\nvalue 1"' in dot
    assert 'say "hi"\\ then\nnew line\nvalue 1' in parse(dot)[0].values()


# ---------------------------------------------------------------------- graph shapes
def test_diamond_has_one_node_per_tensor():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    y = (x * x + x).sum()
    y.backward()
    nodes, edges = parse(viz.graph(y))
    (x_id,) = [i for i, label in nodes.items() if label.startswith("x\n")]
    assert nodes[x_id] == "x\nvalue [1, 2]\ngrad [3, 5]"
    assert sorted(nodes[b] for a, b in edges if a == x_id) == ["Add", "Mul", "Mul"]


def test_intermediate_used_twice_has_one_node():
    x = numnet.tensor([0.5, -1.0], requires_grad=True)
    h = x.exp()
    y = h * h + h
    del h
    nodes, edges = parse(viz.graph(y))
    (exp_id,) = [i for i, label in nodes.items() if label == "Exp"]
    (h_id,) = [b for a, b in edges if a == exp_id]
    assert sorted(nodes[b] for a, b in edges if a == h_id) == ["Add", "Mul", "Mul"]
    assert len(nodes) == 7  # x, Exp, h, Mul, h*h, Add, y


def test_ten_thousand_op_chain_exports_without_recursion():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = -y
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would fail far sooner than at 10,000
    try:
        dot = viz.graph(y)
    finally:
        sys.setrecursionlimit(limit)
    nodes, edges = parse(dot)
    assert len(nodes) == 1 + 2 * 10_000
    assert len(edges) == 2 * 10_000
    assert nodes["n0"].startswith("(2,) float32\nvalue [1, 2]")  # inputs come first
    assert nodes[f"n{2 * 10_000}"] == "(2,) float32\nvalue [1, 2]"  # an even number of negs


def test_several_outputs_and_a_leaf_output():
    x = numnet.tensor([1.0, 2.0], requires_grad=True)
    a = x.exp()
    b = x.tanh()
    nodes, edges = parse(viz.graph([a, b]))
    assert sorted(label for label in nodes.values() if label[0] not in "(") == ["Exp", "Tanh"]
    assert len(nodes) == 5 and len(edges) == 4
    nodes, edges = parse(viz.graph(x))
    assert list(nodes.values()) == ["(2,) float32\nvalue [1, 2]"] and edges == []


# ---------------------------------------------------------------------- files
@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")
def test_save_graph_renders_png_and_svg(tmp_path):
    w, x, b, f = toy()
    written = viz.save_graph(f, tmp_path / "toy.png", params={"w": w, "x": x, "b": b})
    assert written == [tmp_path / "toy.dot", tmp_path / "toy.png"]
    assert (tmp_path / "toy.dot").read_text() == viz.graph(f, params={"w": w, "x": x,
                                                                       "b": b}) + "\n"
    png = (tmp_path / "toy.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    w.name = 'odd "name"\\'
    written = viz.save_graph(w * 2.0, tmp_path / "sub" / "odd.svg")
    assert "<svg" in written[1].read_text()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["odd.dot", "odd.svg", "sub",
                                                           "toy.dot", "toy.png"]


def test_save_graph_without_dot_writes_dot_and_says_how_to_render(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert shutil.which("dot") is None
    _, _, _, f = toy()
    written = viz.save_graph(f, tmp_path / "toy.png")
    assert written == [tmp_path / "toy.dot"]
    assert (tmp_path / "toy.dot").read_text().startswith("digraph numnet {")
    assert not (tmp_path / "toy.png").exists()
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "graphviz 'dot' not found" in out
    assert f"dot -Tpng {tmp_path / 'toy.dot'} -o {tmp_path / 'toy.png'}" in out


def test_save_graph_dot_suffix_writes_only_dot(tmp_path, capsys):
    written = viz.save_graph(toy()[3], tmp_path / "toy.dot")
    assert written == [tmp_path / "toy.dot"] and os.listdir(tmp_path) == ["toy.dot"]
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="suffix must be one of"):
        viz.save_graph(toy()[3], tmp_path / "toy.jpeg")


def fake_dot(tmp_path, monkeypatch, body):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dot"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_save_graph_reports_a_failing_dot(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, 'echo "Error: syntax error in line 1" >&2; exit 3')
    with pytest.raises(RuntimeError, match="exit status 3.*syntax error in line 1"):
        viz.save_graph(toy()[3], tmp_path / "out" / "toy.png")
    assert os.listdir(tmp_path / "out") == ["toy.dot"]  # no picture, no temporary file


def test_save_graph_gives_up_after_the_timeout(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, f"exec {shutil.which('sleep')} 5")
    with pytest.raises(RuntimeError, match="longer than 0.3 s"):
        viz.save_graph(toy()[3], tmp_path / "out" / "toy.svg", timeout=0.3)
    assert os.listdir(tmp_path / "out") == ["toy.dot"]


# ---------------------------------------------------------------------- layers collapsed
class Lin(Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = Parameter(numnet.randn(fan_out, fan_in))
        self.bias = Parameter(numnet.zeros(fan_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Net(Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Lin(3, 4)
        self.act = Tanh()
        self.fc2 = Lin(4, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))).sum()  # the Sum is outside every layer


def test_collapsed_graph_has_one_node_per_layer():
    net = Net()
    batch = numnet.randn(5, 3)
    with viz.record_layers(net) as layers:
        loss = net(batch)
    assert all(not m._forward_hooks for m in net.modules())  # hooks removed on exit
    loss.backward()
    nodes, edges = parse(viz.graph(loss, params=net, collapse=layers))
    fc1 = "fc1: Lin()\nfc1.weight (4, 3) float32\nfc1.bias (4,) float32"
    fc2 = "fc2: Lin()\nfc2.weight (2, 4) float32\nfc2.bias (2,) float32"
    out = f"scalar float32\nvalue {loss.item():.4g}"
    x = next(label for label in nodes.values() if label.startswith("(5, 3) float32\nmean"))
    assert sorted(nodes.values()) == sorted([x, fc1, "(5, 4) float32", "act: Tanh()",
                                             "(5, 4) float32", fc2, "(5, 2) float32", "Sum",
                                             out])
    chain = [x, fc1, "(5, 4) float32", "act: Tanh()", "(5, 4) float32", fc2,
             "(5, 2) float32", "Sum", out]
    assert [(nodes[a], nodes[b]) for a, b in edges] == list(zip(chain, chain[1:]))
    expanded, _ = parse(viz.graph(loss, params=net))
    labels = list(expanded.values())
    assert labels.count("MatMul") == 2 and labels.count("Tanh") == 1
    assert not any(":" in label for label in labels)  # no layer nodes without collapse


def test_a_layer_called_twice_is_two_nodes():
    class Twice(Module):
        def __init__(self):
            super().__init__()
            self.act = Tanh()

        def forward(self, x):
            return self.act(self.act(x) * 2.0)

    net = Twice()
    x = numnet.tensor([0.1, 0.2], requires_grad=True)
    with viz.record_layers(net) as layers:
        y = net(x)
    nodes, edges = parse(viz.graph(y, collapse=layers))
    assert sorted(label for label in nodes.values() if label[0] not in "(") == [
        "Mul", "act: Tanh()", "act: Tanh() (call 2)"]
    assert len(edges) == 6  # x -> act -> h -> Mul -> h2 -> act (call 2) -> y


# ---------------------------------------------------------------------- import
def test_numnet_imports_viz_without_matplotlib():
    code = ("import sys, numnet; from numnet import viz; "
            "assert callable(viz.graph) and callable(numnet.viz.save_graph); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------- numnet graph
def test_graph_command_draws_one_node_per_layer(tmp_path, capsys):
    from numnet.cli import main

    out = tmp_path / "mlp.dot"
    assert main(["graph", "--model", "mlp", "--sizes", "6", "5", "3", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    text = out.read_text()
    nodes, edges = parse(text)
    layers = [label for label in nodes.values() if ": " in label]
    # the flatten of an (N, D) batch that needs no grad records no op, so it has no node
    assert [label.split("\n")[0] for label in layers] == [
        "fc1: Linear(in_features=6, out_features=5)", "act1: ReLU()",
        "fc2: Linear(in_features=5, out_features=3)"]
    assert "fc1.weight (5, 6) float32" in layers[0]
    activation = next(label for label in nodes.values() if label.startswith("(2, 5) float32"))
    assert "\nmean " in activation and "\ngrad mean " in activation  # kept alive, retain_grad
    assert len(edges) == len(nodes) - 1  # a chain: batch -> layers ... -> loss
    assert main(["graph", "--model", "mlp", "--sizes", "6", "5", "3", "--out", str(out)]) == 0
    assert out.read_text() == text  # seeded: the same picture every time
    expanded = tmp_path / "expanded.dot"
    assert main(["graph", "--model", "mlp", "--sizes", "6", "5", "3", "--expand",
                 "--out", str(expanded)]) == 0
    assert not any(": " in label for label in parse(expanded.read_text())[0].values())


def test_graph_command_reports_bad_arguments(tmp_path, capsys):
    from numnet.cli import main

    assert main(["graph", "--model", "mlp", "--sizes", "6", "--out",
                 str(tmp_path / "x.dot")]) == 2
    assert "mlp needs at least" in capsys.readouterr().err
    assert main(["graph", "--model", "mlp", "--out", str(tmp_path / "x.gif")]) == 2
    assert "suffix must be one of" in capsys.readouterr().err
