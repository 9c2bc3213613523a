"""The lecture reproduced: every slide number, every slip, the statistical claims, the CLI.

Slide numbers are asserted at the precision the slide prints them; exact values at 1e-6
(and against PyTorch where it can compute the same thing). Figures and the command line are
checked by running every experiment with ``--quick`` in a subprocess.
"""

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import torch
from PIL import Image

from numnet.lecture import (
    EXPERIMENTS,
    _worked_example_errata,
    _worked_example_trace,
    activations,
    cnn_inside,
    conv_size,
    relu_vs_tanh,
    rnn,
    softmax,
    toy_backprop,
    weight_init,
    worked_example,
)
from numnet.lecture._common import check_printed, matches_printed

ROOT = Path(__file__).resolve().parents[1]


def printed_ok(value, printed):
    """``value`` reads as ``printed`` at the printed precision."""
    return matches_printed(value, printed)


# ---------------------------------------------------------------------- helpers
def test_matches_printed_and_check_printed():
    assert matches_printed(0.07268, "0.0727")
    assert not matches_printed(0.07281, "0.0727")
    assert check_printed("x", 0.5444, "0.544") is None
    slip = check_printed("x", 0.00076244, "0.00075", 0.0259 * 0.2439 * 0.12, "factors")
    assert slip.kind == "rounding" and "truncated" in slip.explanation


# ---------------------------------------------------------------------- softmax
def test_softmax_slide_columns_and_exact_values():
    r = softmax.compute()
    slips = {s.quantity: s for s in r.slips}
    for i, name in enumerate(r.classes):
        assert printed_ok(r.sigmoid[i], softmax.SLIDE["sigmoid"][i])
        assert printed_ok(r.softmax[i], softmax.SLIDE["softmax"][i])
        printed = softmax.SLIDE["sigmoid_normalised"][i]
        if name in ("bird", "dog"):
            assert printed_ok(r.sigmoid_normalised[i], printed)
        else:  # the slide divided its rounded sigmoids: 0.00669 / 2, 0.99331 / 2
            slip = slips[f"sigmoid/sum({name})"]
            assert not printed_ok(r.sigmoid_normalised[i], printed)
            assert printed_ok(slip.from_slide_numbers, printed)
    z = torch.tensor([[-5.0, -1.0, 1.0, 5.0]], dtype=torch.float64)
    numpy.testing.assert_allclose(r.sigmoid, torch.sigmoid(z)[0].numpy(), atol=1e-12)
    numpy.testing.assert_allclose(r.softmax, torch.softmax(z, 1)[0].numpy(), atol=1e-12)
    numpy.testing.assert_allclose(r.sigmoid, [0.00669285, 0.26894142, 0.73105858, 0.99330715],
                                  atol=1e-6)
    numpy.testing.assert_allclose(r.sigmoid_normalised,
                                  [0.00334643, 0.13447071, 0.36552929, 0.49665357], atol=1e-6)
    numpy.testing.assert_allclose(r.softmax, [0.00004447, 0.00242815, 0.01794174, 0.97958564],
                                  atol=1e-6)
    # dH/dz = softmax - t, from autograd
    numpy.testing.assert_allclose(r.grad, r.softmax - numpy.array([0, 0, 0, 1.0]), atol=1e-12)


def test_softmax_cross_entropy_slip():
    r = softmax.compute()
    torch_h = torch.nn.functional.cross_entropy(
        torch.tensor([[-5.0, -1.0, 1.0, 5.0]], dtype=torch.float64), torch.tensor([3]))
    assert r.cross_entropy == pytest.approx(torch_h.item(), abs=1e-12)
    assert r.cross_entropy == pytest.approx(0.02062561, abs=1e-6)
    assert r.cross_entropy_by_hand == pytest.approx(r.cross_entropy, abs=1e-12)
    h = next(s for s in r.slips if s.quantity == "H")
    assert h.slide == "0.020621" and not printed_ok(r.cross_entropy, "0.020621")
    assert printed_ok(h.from_slide_numbers, "0.020621")  # -ln 0.97959, the rounded softmax
    assert len(r.slips) == 3
    assert "0.020621" in softmax.format_table(r)


# ---------------------------------------------------------------------- toy backprop
def test_toy_backprop_gradients_and_slide_updates():
    r = toy_backprop.compute()
    assert (r.g, r.f) == (-10.0, -7.0)
    assert r.grads == {"w": 5.0, "x": -2.0, "b": 1.0, "g": 1.0}
    for update in r.first_updates:
        w_slide, b_slide = toy_backprop.SLIDE[update.eta]
        assert update.w == pytest.approx(float(w_slide), abs=1e-12)
        assert update.b == pytest.approx(float(b_slide), abs=1e-12)
    assert [u.f for u in r.first_updates] == pytest.approx([-4.4, 0.8, 6.0])


def test_toy_backprop_convergence_and_overshoot():
    r = toy_backprop.compute(steps=6)
    numpy.testing.assert_allclose(r.trajectories[0.1][:5], [-7, -4.4, -1.8, 0.8, 3.4])
    numpy.testing.assert_allclose(r.trajectories[0.5], [-7, 6, -7, 6, -7, 6, -7])
    assert r.squared_threshold == pytest.approx(2 / 26)
    converging = r.squared_trajectories[0.05]
    assert abs(converging[-1] - 3) < 0.01
    diverging = r.squared_trajectories[0.1]
    assert abs(diverging[-1] - 3) > abs(diverging[0] - 3)


# ---------------------------------------------------------------------- worked example
FORWARD_EXACT_SLIDE = {"a1(1)": 0.178, "a2(1)": 0.314, "h1": 0.544383, "h2": 0.577861,
                       "a1(2)": 0.703336, "a2(2)": 0.659448, "y1": 0.668927, "y2": 0.659136,
                       "E": 0.190847}
FORWARD_EXACT_CONSISTENT = {"a1(2)": 0.706684, "a2(2)": 0.662796, "y1": 0.669668,
                            "y2": 0.659888, "E": 0.191088}


@pytest.fixture(scope="module")
def worked():
    return worked_example.compute()


def test_worked_example_forward_values(worked):
    slide = worked.slide.forward_values()
    for name, printed in _worked_example_errata.SLIDE["forward"].items():
        assert printed_ok(slide[name], printed), name
        assert slide[name] == pytest.approx(FORWARD_EXACT_SLIDE[name], abs=1e-6)
    consistent = worked.consistent.forward_values()
    for name, value in FORWARD_EXACT_CONSISTENT.items():
        assert consistent[name] == pytest.approx(value, abs=1e-6)
    assert worked.slide_wiring == "slide"
    assert len(worked.forward_matches["slide"]) == 9
    assert sorted(set(_worked_example_errata.SLIDE["forward"]) - set(worked.forward_matches[
        "consistent"])) == ["a1(2)", "a2(2)", "y1", "y2"]


def test_worked_example_backward_factors(worked):
    p = worked.slide
    out = _worked_example_errata.SLIDE["output"]
    assert printed_ok(p.dE_dy[0], out["dE/dy1"])
    assert printed_ok(p.dy_da2[0], out["dy1/da1(2)"])
    assert printed_ok(p.h[1], out["da1(2)/dw"])
    assert p.grads["W2"][0, 0] == pytest.approx(0.0728086, abs=1e-6)  # exact, slide 0.0727
    assert 0.40 - 0.5 * p.grads["W2"][0, 0] == pytest.approx(0.3635957, abs=1e-6)
    hid = _worked_example_errata.SLIDE["hidden"]
    parts = p.dE_da2 * numpy.array([0.40, 0.45])
    assert parts[0] == pytest.approx(0.0503987, abs=1e-6)
    assert printed_ok(parts[1], hid["part2"])
    assert p.dE_dh[1] == pytest.approx(parts.sum(), abs=1e-12)  # the chain rule's sum
    assert p.dE_dh[1] == pytest.approx(0.0260464, abs=1e-6)
    assert printed_ok(p.dh_da1[1], hid["dh/da"])
    assert p.grads["W1"][1, 0] == pytest.approx(0.00076244, abs=1e-8)
    assert p.grads["W1"][0, 0] == pytest.approx(0.00098918, abs=1e-8)
    assert worked.consistent.grads["W1"][0, 0] == pytest.approx(0.00077852, abs=1e-8)
    assert worked.consistent.grads["W2"][0, 0] == pytest.approx(0.0686020, abs=1e-6)


def test_worked_example_slips_detected(worked):
    assert worked.output_weight_updated == (0, 0)  # w11(2) = 0.40
    assert worked.output_unit_used == 1  # ... multiplied by h2 = 0.578
    assert worked.hidden_unit_used == 1  # the hidden trace uses h2's factors
    assert worked.hidden_weight_updated == (0, 0)  # ... and updates w11(1) = 0.15
    wiring = [s for s in worked.slips if s.kind == "wiring"]
    assert [s.quantity for s in wiring] == ["dE/dw11(2)", "dE/dw11(1)"]
    assert wiring[1].exact == pytest.approx(0.00098918, abs=1e-8)  # 0.15's own gradient
    rounding = {s.slide: s for s in worked.slips if s.kind == "rounding"}
    assert sorted(rounding) == sorted(["0.0727", "0.36365", "0.0503", "0.0259", "0.00075",
                                       "0.149625"])
    for printed, slip in rounding.items():
        assert not printed_ok(slip.exact, printed)
        if printed == "0.00075":  # 0.0259 x 0.2439 x 0.12 = 0.000758: truncated
            assert not printed_ok(slip.from_slide_numbers, printed)
            assert "truncated" in slip.explanation
        else:  # each follows from the slide's own rounded factors
            assert printed_ok(slip.from_slide_numbers, printed), printed
    assert rounding["0.0727"].exact == pytest.approx(0.07281, abs=1e-5)
    assert rounding["0.149625"].from_slide_numbers == pytest.approx(0.149625, abs=1e-12)
    assert rounding["0.36365"].from_slide_numbers == pytest.approx(0.36365, abs=1e-12)


def _torch_step(order):
    x = torch.tensor([0.12, 0.3], dtype=torch.float64)
    t = torch.tensor([0.1, 0.9], dtype=torch.float64)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in
              (worked_example.W1, worked_example.B1, worked_example.W2, worked_example.B2)]
    w1, b1, w2, b2 = params
    h = torch.sigmoid(w1 @ x + b1)
    y = torch.sigmoid(w2 @ h[list(order)] + b2)
    (0.5 * ((t - y) ** 2).sum()).backward()
    return {name: p.grad.numpy() for name, p in zip(worked_example.PARAMETERS, params)}


def test_worked_example_all_twelve_parameters_against_torch(worked):
    names = _worked_example_trace.parameter_names()
    assert len(names) == 12
    for p in (worked.consistent, worked.slide):
        expected = _torch_step(p.order)
        for name, array, index in names:
            assert p.grads[array][index] == pytest.approx(expected[array][index], abs=1e-12)
            value = numpy.array({"W1": worked_example.W1, "b1": worked_example.B1,
                                 "W2": worked_example.W2, "b2": worked_example.B2}[array])
            assert p.new[array][index] == pytest.approx(
                value[index] - 0.5 * expected[array][index], abs=1e-12), name


def test_worked_example_trace_is_laid_out_like_the_slides(worked):
    text = worked_example.format_table(worked)
    assert "dE/dw11(2) = dE/dy1 x dy1/da1(2) x da1(2)/dw11(2)" in text
    assert "= 0.569 x 0.221 x 0.578 = 0.0727" in text
    assert "= 0.4 - 0.5 x 0.0727 = 0.36365" in text
    assert "(0.0503 + (-0.0244)) x 0.2439 x 0.12 = 0.0259 x 0.2439 x 0.12 = 0.00075" in text
    assert "= 0.15 - 0.5 x 0.00075 = 0.149625" in text
    assert "= 0.56893 x 0.22146 x 0.57786 = 0.072809" in text
    assert text.count("[wiring]") == 2 and text.count("[rounding]") == 6
    for name, _, _ in _worked_example_trace.parameter_names():
        assert re.search(rf"^{re.escape(name)}\s", text, re.M), name


# ---------------------------------------------------------------------- activations
def test_activations_gradients_and_centring():
    r = activations.compute(n_samples=50_000, cost_size=20_000, repeats=1)
    s5 = 1 / (1 + math.exp(-5))
    assert r.grad_at["sigmoid"][5.0] == pytest.approx(s5 * (1 - s5), abs=1e-10)
    assert r.grad_at["sigmoid"][-5.0] == pytest.approx(s5 * (1 - s5), abs=1e-10)
    assert r.grad_at["tanh"][5.0] == pytest.approx(1 - math.tanh(5) ** 2, abs=1e-10)
    assert r.grad_at["relu"] == {-5.0: 0.0, 5.0: 1.0}
    assert r.grad_at["leaky_relu"] == {-5.0: pytest.approx(0.01), 5.0: 1.0}
    assert r.grad_at["linear"] == {-5.0: 1.0, 5.0: 1.0}
    assert r.mean_output["sigmoid"] == pytest.approx(0.5, abs=0.01)
    assert abs(r.mean_output["tanh"]) < 0.01 and abs(r.mean_output["linear"]) < 0.02
    assert r.mean_output["relu"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=0.01)
    assert r.dead_fraction["relu"] == pytest.approx(0.5, abs=0.01)
    assert r.dead_fraction["leaky_relu"] == 0.0
    # autograd derivatives against central differences on the grid (away from the kink)
    away = numpy.abs(r.x) > 0.05
    for name, fn in activations.ACTIVATIONS.items():
        plus, _ = activations.derivative(fn, r.x + 1e-6)
        minus, _ = activations.derivative(fn, r.x - 1e-6)
        numeric = (plus - minus) / 2e-6
        numpy.testing.assert_allclose(r.derivatives[name][away], numeric[away], atol=1e-6)
    assert all(math.isfinite(v) and v > 0 for v in r.relative_cost.values())


# ---------------------------------------------------------------------- weight init
@pytest.fixture(scope="module")
def init_result():
    return weight_init.compute()  # the slides' sizes: 1000 inputs, 5 layers of 100 units


def test_weight_init_normal_1_tanh_saturates(init_result):
    s = init_result.scheme("normal", "tanh")
    assert min(s.saturated) > 0.7  # most units at |a| > 0.99 in every layer
    assert min(s.std) > 0.9


def test_weight_init_small_normal_collapses(init_result):
    s = init_result.scheme("normal_0.01", "tanh")
    for before, after in zip(s.std, s.std[1:]):
        assert after < before / 5  # the spread falls by ~0.01 sqrt(100) = 0.1 per layer
    assert s.std[-1] < 1e-4
    assert s.act_grad_std[0] < 1e-3 * s.act_grad_std[-1]  # vanishing towards the input


def test_weight_init_xavier_tanh_stays_in_a_band(init_result):
    s = init_result.scheme("xavier", "tanh")
    assert all(0.2 < v < 0.8 for v in s.std)
    assert all(after / before > 0.7 for before, after in zip(s.std, s.std[1:]))
    assert max(s.saturated) < 0.05
    assert max(s.weight_std) == pytest.approx(0.1, rel=0.05)  # sqrt(2 / (100 + 100))


def test_weight_init_he_relu_keeps_the_std(init_result):
    s = init_result.scheme("he_lecture", "relu")
    assert max(s.std) / min(s.std) < 1.5
    assert all(0.4 < z < 0.6 for z in s.zero)  # half of the ReLUs are exactly 0
    assert s.weight_std[0] == pytest.approx(math.sqrt(4 / 200), rel=0.05)


def test_weight_init_any_pairing_by_flag():
    r = weight_init.compute(init="xavier", activation="relu", inputs=200, layers=3)
    assert [(s.init, s.activation) for s in r.schemes] == [("xavier", "relu")]
    assert len(r.schemes[0].std) == 3
    with pytest.raises(ValueError, match="unknown activation"):
        weight_init.compute(activation="swish", inputs=10, layers=1)


# ---------------------------------------------------------------------- conv size
def test_conv_size_slide_cases_and_torch():
    r = conv_size.compute()
    by_case = {(c.n, c.f, c.s, c.p): c for c in r.cases}
    assert by_case[(24, 5, 1, 0)].formula == 20 and by_case[(24, 5, 1, 0)].conv_output == 20
    assert by_case[(7, 3, 1, 1)].conv_output == 7 and by_case[(7, 3, 1, 1)].fits
    odd = by_case[(7, 3, 3, 0)]
    assert not odd.fits and odd.formula == pytest.approx(7 / 3)
    assert odd.conv_output == 2 and odd.unused_rows == [6]
    padded = by_case[(10, 3, 2, 1)]
    assert not padded.fits and padded.conv_output == 5 and padded.unused_rows == []
    for c in r.cases:
        conv = torch.nn.Conv2d(1, 1, c.f, stride=c.s, padding=c.p)
        assert conv(torch.zeros(1, 1, c.n, c.n)).shape[-1] == c.conv_output
        assert c.conv_params == c.f * c.f + 1
        if c.fits:
            assert c.conv_output == c.formula


def test_conv_size_weight_counts():
    counts = conv_size.compute().counts
    assert [c.by_layer for c in counts[:3]] == [28, 16, 4]
    assert all(c.by_formula == c.by_layer for c in counts)
    assert counts[2].output_shape == (1, 1, 1, 4)  # 7 inputs, shared 4-weight filter -> 4
    assert counts[3].by_layer == 456 and counts[4].by_layer == 3073 * 4704


# ---------------------------------------------------------------------- rnn
def test_rnn_learns_and_gradients_through_time_check():
    r = rnn.compute(epochs=12, train_sequences=96, seq_len=30)
    assert r.gradcheck_passed and r.gradcheck_max_error < 1e-6
    assert r.losses[-1] < 0.5 * r.losses[0]
    assert r.test_loss < 0.6 * r.persistence_loss
    assert r.test_loss > r.noise_floor * 0.8  # nothing predicts the target's own noise
    assert r.prediction.shape == r.truth.shape == (30,)
    assert r.input_sensitivity[-1] > r.input_sensitivity[0]  # recent inputs matter more


# ---------------------------------------------------------------------- trained CNNs
def test_cnn_inside_traces_one_image():
    r = cnn_inside.compute(epochs=3)
    assert r.test_accuracy > 0.5
    assert r.filters.shape == (6, 1, 5, 5)
    shapes = dict(r.shapes)
    assert shapes["conv1"] == (6, 8, 8) and shapes["pool1"] == (6, 8, 8)
    assert shapes["pool2"] == (16, 4, 4) and shapes["fc3"] == (10,)
    assert r.maps["act1"].min() >= 0  # ReLU
    assert r.maps["pool1"].max() == pytest.approx(r.maps["act1"].max())
    assert r.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert r.predicted == int(numpy.argmax(r.probabilities))


def test_relu_vs_tanh_quick_pipeline():
    r = relu_vs_tanh.run(quick=True).result
    assert r.dataset == "digits" and set(r.runs) == {"relu", "tanh"}
    for a in r.runs.values():
        assert a.lr in a.sweep and len(a.train_error) == 3
        assert all(0 <= e <= 1 for e in a.train_error)
        assert all(s2 > s1 for s1, s2 in zip(a.seconds, a.seconds[1:]))
        if a.epochs_to_threshold is not None:
            assert a.train_error[a.epochs_to_threshold - 1] <= r.threshold
            assert all(e > r.threshold for e in a.train_error[:a.epochs_to_threshold - 1])
    relu, tanh = r.runs["relu"], r.runs["tanh"]
    if relu.epochs_to_threshold and tanh.epochs_to_threshold:
        assert r.epoch_ratio == tanh.epochs_to_threshold / relu.epochs_to_threshold


def test_relu_vs_tanh_dataset_choice(tmp_path):
    assert relu_vs_tanh.THRESHOLDS["cifar10"][0] == 0.25
    from numnet.data import available
    chosen = relu_vs_tanh._training.pick_dataset(None, tmp_path)
    assert chosen == ("fashion-mnist" if available("fashion-mnist") else "digits")
    assert relu_vs_tanh._training.pick_dataset("digits", tmp_path) == "digits"


# ---------------------------------------------------------------------- command line
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "numnet", "lecture", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_list(tmp_path):
    result = _cli("list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(EXPERIMENTS)


def test_cli_rejects_options_an_experiment_does_not_take(tmp_path):
    result = _cli("softmax", "--init", "xavier", cwd=tmp_path)
    assert result.returncode == 2 and "applies to weight-init" in result.stderr
    result = _cli("no-such-experiment", cwd=tmp_path)
    assert result.returncode == 2 and "unknown experiment" in result.stderr


EXPECTED_FIGURES = {
    "softmax": ["softmax.png"],
    "toy-backprop": ["toy_backprop.png"],
    "worked-example": ["worked_example_network.png"],
    "activations": ["activations.png"],
    "weight-init": ["weight_init.png", "weight_init_gradients.png"],
    "conv-size": ["conv_size.png"],
    "cnn-inside": ["cnn_filters.png", "cnn_feature_maps.png", "cnn_scores.png"],
    "relu-vs-tanh": ["relu_vs_tanh.png"],
    "rnn": ["rnn.png"],
    "curvature": ["curvature.png"],
}
GRAPHS = {"toy-backprop": ["toy_backprop_graph"],
          "worked-example": ["worked_example_graph", "worked_example_graph_consistent"]}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_cli_quick_run_writes_its_figures(name, tmp_path):
    result = _cli(name, "--quick", "--out", "tmp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "tmp"
    sizes = dict(re.findall(r"^\s+(\S+\.png)\s+\((\d+ x \d+) px\)$", result.stdout, re.M))
    assert sorted(Path(p).name for p in sizes) == sorted(EXPECTED_FIGURES[name])
    for path, size in sizes.items():
        png = out / Path(path).name
        assert png.stat().st_size > 5000
        width, height = (int(v) for v in size.split(" x "))
        assert width >= 600 and height >= 200
        with Image.open(png) as image:
            assert image.size == (width, height)
            assert len(image.getcolors(1 << 16) or range(1 << 16)) > 10  # not blank
    for stem in GRAPHS.get(name, []):
        dot = (out / f"{stem}.dot").read_text()
        assert dot.startswith("digraph numnet")
        if shutil.which("dot"):
            assert (out / f"{stem}.png").stat().st_size > 1000
    if name == "toy-backprop":
        dot = (out / "toy_backprop_graph.dot").read_text()
        assert "w\\nvalue -2\\ngrad 5" in dot and "b\\nvalue 3\\ngrad 1" in dot
        assert "value -7" in dot
    if name == "softmax":
        assert sizes[str(Path("tmp") / "softmax.png")] == "800 x 400"


def test_curvature_hessians_and_newton_by_double_backward():
    from numnet.lecture import curvature, worked_example

    r = curvature.compute(steps=6)
    assert (r.first_derivative, r.second_derivative) == (24.0, 44.0)
    numpy.testing.assert_allclose(r.toy_hessian, [[25.0, 5.0], [5.0, 1.0]], atol=1e-12)
    numpy.testing.assert_allclose(r.toy_eigenvalues, [0.0, 26.0], atol=1e-12)
    assert r.toy_bound == pytest.approx(r.toy_formula_bound, rel=1e-12)

    def torch_error(w1, b1, w2, b2):
        x = torch.tensor(worked_example.X, dtype=torch.float64)
        t = torch.tensor(worked_example.T, dtype=torch.float64)
        y = torch.sigmoid(w2 @ torch.sigmoid(w1 @ x + b1) + b2)
        return 0.5 * ((t - y) ** 2).sum()

    params = tuple(torch.tensor(worked_example.INITIAL[n], dtype=torch.float64)
                   for n in worked_example.PARAMETERS)
    blocks = torch.autograd.functional.hessian(torch_error, params)
    sizes = [p.numel() for p in params]
    expected = numpy.block([[blocks[a][b].reshape(sizes[a], sizes[b]).numpy()
                             for b in range(4)] for a in range(4)])
    assert r.network_hessian.shape == (12, 12)
    numpy.testing.assert_allclose(r.network_hessian, expected, rtol=1e-10, atol=1e-14)
    numpy.testing.assert_allclose(r.network_hessian, r.network_hessian.T, atol=1e-14)
    assert r.network_bound == pytest.approx(2 / numpy.linalg.eigvalsh(expected)[-1])
    assert r.newton[1] == pytest.approx(2 - 24 / 44)
    assert abs(r.newton[6] - 1) < 1e-11 and abs(r.descent[6] - 1) > 0.1
    assert "eta < 2 / lambda_max = 0.0769" in curvature.format_table(r)
