"""``numnet graph``: draw a preset model's computation graph for one batch, one node per layer.

The model runs forward on one random batch, its cross-entropy loss runs backward, and the
graph is written as DOT (and PNG/SVG/PDF when Graphviz is installed) with one node per layer
holding its parameters, and the activations between layers showing mean/std of their
values and gradients (``numnet.viz.graph``).

Example:
    numnet graph --model lenet5 --out lenet5.png
    numnet graph --model mlp --sizes 784 128 10 --expand --out mlp.svg
"""

from __future__ import annotations

import numpy

import numnet
from numnet import models, viz
from numnet.commands._errors import CommandError, user_errors
from numnet.nn import functional as F


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph", help="draw a model's computation graph for one batch (Graphviz)",
        description="Run one random batch through a preset model and its cross-entropy "
                    "loss, backward, and write the graph: .dot always, the picture when "
                    "Graphviz's 'dot' is installed.")
    parser.add_argument("--model", required=True, choices=sorted(models.MODELS),
                        help="the preset to draw")
    parser.add_argument("--out", default=None,
                        help="picture path: .png, .svg, .pdf or .dot (default: "
                             "<model>-graph.png)")
    parser.add_argument("--batch-size", type=int, default=2, help="samples in the batch")
    parser.add_argument("--input-size", type=int, default=None,
                        help="side of the square input images (lenet5, cifar_cnn)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[784, 128, 10],
                        help="layer widths of mlp (default: 784 128 10)")
    parser.add_argument("--activation", default="relu", help="activation of the preset")
    parser.add_argument("--expand", action="store_true",
                        help="draw every op instead of one node per layer")
    parser.add_argument("--no-values", action="store_true",
                        help="shapes only, no value or gradient statistics")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random batch")
    parser.set_defaults(func=run)


def _build(args):
    config = {"name": args.model, "activation": args.activation}
    if args.model == "mlp":
        config["sizes"] = args.sizes
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
    out = args.out or f"{args.model}-graph.png"
    with user_errors(ValueError, RuntimeError, OSError):
        written = viz.save_graph(loss, out, params=model, show_values=not args.no_values,
                                 collapse=None if args.expand else layers)
    for path in written:
        print(f"wrote {path}")
    return 0
