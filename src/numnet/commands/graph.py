"""``numnet graph``: draw a model's computation graph for one batch, one node per layer.

The model is a trained run's (its folder or a checkpoint, on its dataset's input shape) or a
preset (``--model``). It runs forward on one random batch, its cross-entropy loss runs
backward, and the graph is written as DOT (and PNG/SVG/PDF when Graphviz is installed) with
one node per layer holding its parameters, and the activations between layers showing
mean/std of their values and gradients (``numnet.viz.graph``).

Example:
    numnet graph runs/digits --out digits.svg
    numnet graph --model lenet5 --out lenet5.png
    numnet graph --model mlp --sizes 784 128 10 --expand --out mlp.svg
"""

from __future__ import annotations

import numpy

import numnet
from numnet import models, viz
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import load_model
from numnet.nn import functional as F


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph", help="draw a model's computation graph for one batch (Graphviz)",
        description="Run one random batch through a trained run's model (on its dataset's "
                    "input shape) or a preset, and its cross-entropy loss, backward, and "
                    "write the graph: .dot always, the picture when Graphviz's 'dot' is "
                    "installed.")
    parser.add_argument("run", metavar="RUN", nargs="?",
                        help="a run folder or checkpoint to draw (instead of --model)")
    parser.add_argument("--model", choices=sorted(models.MODELS), default=None,
                        help="the preset to draw (without RUN)")
    parser.add_argument("--out", default=None,
                        help="picture path: .png, .svg, .pdf or .dot (default: "
                             "<model>-graph.png)")
    parser.add_argument("--batch-size", type=int, default=2, help="samples in the batch")
    parser.add_argument("--input-size", type=int, default=None,
                        help="side of the square input images of the preset (lenet5, "
                             "cifar_cnn)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="layer widths of the preset mlp (default: 784 128 10)")
    parser.add_argument("--activation", default=None,
                        help="activation of the preset (default relu)")
    parser.add_argument("--expand", action="store_true",
                        help="draw every op instead of one node per layer")
    parser.add_argument("--no-values", action="store_true",
                        help="shapes only, no value or gradient statistics")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random batch")
    parser.set_defaults(func=run)


_PRESET_FLAGS = (("--model", "model"), ("--input-size", "input_size"), ("--sizes", "sizes"),
                 ("--activation", "activation"))


def _load_run(args):
    """(model, shape of one sample, number of classes) of the run or checkpoint ``args.run``."""
    given = [flag for flag, name in _PRESET_FLAGS if getattr(args, name) is not None]
    if given:
        raise CommandError(f"give RUN or {', '.join(given)}, not both: a run brings its "
                           "own model and input shape")
    with user_errors(OSError, ValueError):
        model, state = load_model(args.run)
    info = state["config"]["dataset"]
    return model, tuple(info["input_shape"]), info["num_classes"]


def _build(args):
    if args.model is None:
        raise CommandError("give a RUN (a run folder or checkpoint) or --model")
    if args.sizes is not None and args.model != "mlp":
        raise CommandError(f"--sizes sets the widths of --model mlp, not {args.model}")
    if args.input_size is not None and args.model == "mlp":
        raise CommandError("--input-size is for lenet5 and cifar_cnn; mlp's input is the "
                           "first of --sizes")
    config = {"name": args.model, "activation": args.activation or "relu"}
    if args.model == "mlp":
        config["sizes"] = args.sizes or [784, 128, 10]
    elif args.input_size is not None:
        config["input_size"] = args.input_size
    with user_errors(TypeError, ValueError):
        model = models.build_model(config)
    config = model.config
    if args.model == "mlp":
        return model, (config["sizes"][0],), config["sizes"][-1]
    side = config["input_size"]
    return model, (config["in_channels"], side, side), config["num_classes"]


def run(args) -> int:
    if args.batch_size < 1:
        raise CommandError(f"--batch-size must be at least 1, got {args.batch_size}")
    numnet.manual_seed(args.seed)
    if args.run is not None:
        model, sample_shape, num_classes = _load_run(args)
    else:
        model, sample_shape, num_classes = _build(args)
    rng = numpy.random.default_rng(args.seed)
    batch = numnet.tensor(rng.standard_normal((args.batch_size,) + sample_shape)
                          .astype(numnet.get_default_dtype()))
    target = numnet.tensor(rng.integers(0, num_classes, size=args.batch_size))
    activations = []  # keeps each layer's output alive (and its gradient) for the picture

    def keep(module, inputs, output):
        if output.requires_grad:
            output.retain_grad()
        activations.append(output)

    handles = [module.register_forward_hook(keep) for module in model.modules()
               if not module._modules]
    try:
        with viz.record_layers(model) as layers:
            loss = F.cross_entropy(model(batch), target)
    finally:
        for handle in handles:
            handle.remove()
    loss.backward()
    out = args.out or f"{model.config['name']}-graph.png"
    with user_errors(ValueError, RuntimeError, OSError):
        written = viz.save_graph(loss, out, params=model, show_values=not args.no_values,
                                 collapse=None if args.expand else layers)
    for path in written:
        print(f"wrote {path}")
    return 0
