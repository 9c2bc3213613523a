"""predict sees images as a person gives them (numnet.data.images), and summary / graph
describe a trained run."""

import numpy
import pytest
from PIL import Image, ImageDraw

from numnet import cli
from numnet.data import load_digits
from numnet.data.images import composite, prepare_image


def draw_digit(size=(120, 90), ink="black", paper="white", mode="L", box=(30, 20, 60, 70)):
    """A '7'-like stroke pair drawn with Pillow (no anti-aliasing, so drawings compare exactly)."""
    image = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top)], fill=ink, width=5)
    draw.line([(right, top), (left + 8, bottom)], fill=ink, width=5)
    return image


def centre_of_mass(array):
    rows, cols = numpy.indices(array.shape)
    return (rows * array).sum() / array.sum(), (cols * array).sum() / array.sum()


@pytest.mark.parametrize("dataset, shape", [("digits", (1, 8, 8)), ("mnist", (1, 28, 28)),
                                            ("fashion-mnist", (1, 28, 28))])
def test_transparent_canvas_gives_the_same_input_as_white_paper(dataset, shape):
    on_white = prepare_image(draw_digit(), dataset, shape)
    transparent = prepare_image(draw_digit(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0),
                                           mode="RGBA"), dataset, shape)
    assert on_white.inverted and transparent.inverted and not transparent.blank
    numpy.testing.assert_allclose(transparent.array, on_white.array, atol=1e-6)
    assert on_white.array.max() > 0.8  # the ink is there, light on black


def test_white_ink_on_transparent_canvas_is_kept_visible():
    white = prepare_image(draw_digit(ink=(255, 255, 255, 255), paper=(255, 255, 255, 0),
                                     mode="RGBA"), "mnist", (1, 28, 28))
    black = prepare_image(draw_digit(), "mnist", (1, 28, 28))
    assert not white.blank and not white.inverted
    numpy.testing.assert_allclose(white.array, black.array, atol=1e-6)


@pytest.mark.parametrize("dataset, shape", [("digits", (1, 8, 8)), ("mnist", (1, 28, 28))])
def test_dark_on_light_is_inverted_to_the_datasets_polarity(dataset, shape):
    dark_on_light = prepare_image(draw_digit(), dataset, shape)
    light_on_dark = prepare_image(draw_digit(ink="white", paper="black"), dataset, shape)
    assert dark_on_light.inverted and not light_on_dark.inverted
    numpy.testing.assert_allclose(dark_on_light.array, light_on_dark.array, atol=1e-6)
    sides = numpy.concatenate([light_on_dark.array[0, :, 0], light_on_dark.array[0, :, -1]])
    assert sides.max() < 0.05  # background black, as in the dataset


def test_invert_forced_either_way():
    image = draw_digit()
    assert not prepare_image(image, "mnist", (1, 28, 28), invert=False).inverted
    assert prepare_image(draw_digit(ink="white", paper="black"), "mnist", (1, 28, 28),
                         invert=True).inverted


def test_mnist_small_digit_in_a_corner_is_cropped_scaled_and_centred_by_mass():
    image = draw_digit(size=(400, 300), box=(330, 240, 350, 285))  # 25x50 px, bottom right
    array = prepare_image(image, "mnist", (1, 28, 28)).array[0]
    rows = numpy.flatnonzero((array > 0.25).any(axis=1))
    cols = numpy.flatnonzero((array > 0.25).any(axis=0))
    assert 19 <= rows[-1] - rows[0] + 1 <= 21  # longer side 20 px of 28
    assert cols[-1] - cols[0] + 1 < 16  # aspect ratio kept (about 1:2)
    cy, cx = centre_of_mass(array)
    assert abs(cy - 13.5) < 1 and abs(cx - 13.5) < 1


def test_digits_8x8_ink_fills_the_frame_height_and_box_is_centred():
    image = draw_digit(size=(400, 300), box=(10, 10, 40, 70))  # top left corner
    array = prepare_image(image, "digits", (1, 8, 8)).array[0]
    ink = array > 0.1
    assert ink[0].any() and ink[-1].any()  # all 8 rows, as every bundled digit
    cols = numpy.flatnonzero(ink.any(axis=0))
    assert abs((cols[0] + cols[-1]) / 2 - 3.5) <= 0.5


def test_fashion_object_fills_the_frame():
    image = Image.new("L", (300, 200), "white")
    ImageDraw.Draw(image).rectangle([200, 20, 260, 180], fill="black")  # 61 x 161
    array = prepare_image(image, "fashion-mnist", (1, 28, 28)).array[0]
    rows = numpy.flatnonzero((array > 0.5).any(axis=1))
    cols = numpy.flatnonzero((array > 0.5).any(axis=0))
    assert (rows[0], rows[-1]) == (0, 27)
    assert 9 <= cols[-1] - cols[0] + 1 <= 12 and abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1


def test_invert_is_refused_for_colour():
    with pytest.raises(ValueError, match="invert is for grey images"):
        prepare_image(draw_digit(), "cifar10", (3, 32, 32), invert=True)


def test_colour_image_is_composited_and_resized():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle([0, 0, 31, 63], fill=(200, 0, 0, 255))
    array = prepare_image(image, "cifar10", (3, 32, 32)).array
    assert array.shape == (3, 32, 32)
    numpy.testing.assert_allclose(array[:, 4, 4], [200 / 255, 0, 0], atol=1e-3)
    numpy.testing.assert_allclose(array[:, 4, 28], [1, 1, 1], atol=1e-3)  # dark ink: white


@pytest.mark.parametrize("image", [Image.new("L", (50, 40), 250), Image.new("RGBA", (50, 40)),
                                   Image.new("RGB", (50, 40), (20, 30, 40))])
def test_blank_image_is_flagged(image):
    assert prepare_image(image, "mnist", (1, 28, 28)).blank
    assert prepare_image(image, "cifar10", (3, 32, 32)).blank
    assert not prepare_image(draw_digit(), "mnist", (1, 28, 28)).blank


def test_photo_is_turned_as_its_exif_orientation_says(tmp_path):
    upright = draw_digit()
    stored = upright.rotate(90, expand=True)  # as a camera held sideways writes it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown rotated 90 degrees clockwise
    stored.save(tmp_path / "photo.png", exif=exif)
    with Image.open(tmp_path / "photo.png") as photo:
        turned = prepare_image(photo, "mnist", (1, 28, 28))
    numpy.testing.assert_allclose(turned.array, prepare_image(upright, "mnist",
                                                              (1, 28, 28)).array, atol=1e-6)
    sideways = prepare_image(stored, "mnist", (1, 28, 28))  # the same pixels, no tag
    assert not numpy.allclose(sideways.array, turned.array, atol=0.1)


def test_large_photo_is_shrunk_before_it_is_held_as_floats():
    photo = Image.new("RGBA", (3000, 2000), (0, 0, 0, 0))
    ImageDraw.Draw(photo).rectangle([1000, 500, 1300, 1500], fill=(0, 0, 0, 255))
    assert composite(photo).shape == (683, 1024, 3)
    assert photo.size == (3000, 2000)  # the caller's image is left as it was
    array = prepare_image(photo, "mnist", (1, 28, 28)).array[0]
    assert (array > 0.5).any(axis=1).sum() in (19, 20, 21)


def test_raw_only_converts_and_resizes():
    image = draw_digit(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    raw = prepare_image(image, "mnist", (1, 28, 28), raw=True)
    expected = numpy.asarray(image.convert("L").resize((28, 28), Image.Resampling.LANCZOS),
                             dtype=numpy.float32) / 255.0
    numpy.testing.assert_array_equal(raw.array[0], expected)
    assert not raw.inverted and raw.blank  # alpha dropped: black ink on black


# --- the command line, on a tiny digits run trained once for the module ------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    assert cli.main(["train", "--model", "mlp", "--epochs", "5", "--limit-train", "600",
                     "--limit-test", "100", "--no-progress", "--out", str(out)]) == 0
    return out


def as_a_person_draws(sample, rng):
    """An 8x8 digit (light on dark, [0, 1]) as a person would give it: black ink on a
    transparent 160x120 canvas, upscaled 5..11 times, somewhere on it."""
    factor = int(rng.integers(5, 12))
    levels = Image.fromarray(numpy.round(sample * 255).astype(numpy.uint8), "L")
    ink = levels.resize((8 * factor, 8 * factor), Image.Resampling.NEAREST)
    canvas = Image.new("RGBA", (160, 120))
    top = int(rng.integers(0, 120 - 8 * factor))
    left = int(rng.integers(0, 160 - 8 * factor))
    canvas.paste(Image.new("RGBA", ink.size, (0, 0, 0, 255)), (left, top), ink)
    return canvas


def predicted(capsys, argv):
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    return [line.split(": ", 1)[1].split()[0] for line in lines]


def test_predict_agrees_with_the_raw_sample_when_given_as_a_person_would(run_dir, tmp_path,
                                                                        capsys):
    images, _ = load_digits("test")
    rng = numpy.random.default_rng(0)
    samples, drawn = [], []
    for k in range(40):
        sample = images[k * 9, 0]
        samples.append(tmp_path / f"sample{k}.png")
        Image.fromarray(numpy.round(sample * 255).astype(numpy.uint8), "L").save(samples[-1])
        drawn.append(tmp_path / f"drawn{k}.png")
        as_a_person_draws(sample, rng).save(drawn[-1])
    reference = numpy.array(predicted(capsys, ["predict", str(run_dir), "--raw", "--top", "1",
                                               *map(str, samples)]))
    seen = numpy.array(predicted(capsys, ["predict", str(run_dir), "--top", "1",
                                          *map(str, drawn)]))
    raw = numpy.array(predicted(capsys, ["predict", str(run_dir), "--raw", "--top", "1",
                                         *map(str, drawn)]))
    assert len(set(reference)) >= 5  # the model tells digits apart
    assert (seen == reference).mean() >= 0.8
    assert (raw == reference).mean() <= 0.5


def test_predict_warns_about_a_blank_image_and_still_answers(run_dir, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (64, 64)).save(blank)
    assert cli.main(["predict", str(run_dir), str(blank)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"numnet predict: warning: {blank} is blank (its brightness varies "
                            "by less than 0.05): the classes below mean nothing\n")
    assert captured.out.startswith(f"{blank}: ")


def test_predict_unreadable_image_is_one_line(run_dir, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert cli.main(["predict", str(run_dir), str(text)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"numnet predict: error: {text}: not a readable image") and \
        err.count("\n") == 1


@pytest.mark.parametrize("which", ["folder", "checkpoint"])
def test_summary_of_a_run_uses_its_input_shape(run_dir, capsys, which):
    target = run_dir if which == "folder" else run_dir / "best.npz"
    assert cli.main(["summary", str(target)]) == 0
    out = capsys.readouterr().out
    assert "mlp trained on digits" in out and "MLP on input (1, 8, 8) (per sample)" in out
    assert "Total params: 17,226" in out  # 64*128+128 + 128*64+64 + 64*10+10


def test_summary_of_a_preset_still_works(capsys):
    assert cli.main(["summary", "--model", "lenet5"]) == 0
    assert "on input (1, 28, 28)" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["summary", "graph"])
def test_run_with_preset_flags_is_one_line_error(run_dir, capsys, command):
    assert cli.main([command, str(run_dir), "--model", "lenet5"]) == 2
    assert capsys.readouterr().err == (
        f"numnet {command}: error: give RUN or --model, not both: a run brings its own "
        "model and input shape\n")


@pytest.mark.parametrize("command", ["summary", "graph"])
def test_missing_run_is_one_line_error(tmp_path, capsys, command):
    assert cli.main([command, str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err == (
        f"numnet {command}: error: {tmp_path / 'nothing'} does not exist\n")


def test_graph_of_a_run_draws_its_input_shape(run_dir, tmp_path, capsys):
    out = tmp_path / "run.dot"
    assert cli.main(["graph", str(run_dir / "model.npz"), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    dot = out.read_text()
    assert '"(2, 64) float32' in dot and "(2, 784)" not in dot  # 8x8 flattened, not 28x28


def test_graph_needs_a_run_or_a_model(capsys):
    assert cli.main(["graph"]) == 2
    assert capsys.readouterr().err == (
        "numnet graph: error: give a RUN (a run folder or checkpoint) or --model\n")


@pytest.mark.parametrize("argv, message", [
    (["--model", "lenet5", "--sizes", "3", "4"], "--sizes sets the widths of --model mlp, "
                                                 "not lenet5"),
    (["--model", "mlp", "--input-size", "8"], "--input-size is for lenet5 and cifar_cnn; "
                                              "mlp's input is the first of --sizes")])
def test_graph_preset_flags_that_do_not_apply_are_refused(capsys, argv, message):
    assert cli.main(["graph", *argv]) == 2
    assert capsys.readouterr().err == f"numnet graph: error: {message}\n"
