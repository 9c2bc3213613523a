"""``numnet summary``: a model's layer table (kind, K/F/S/P, output shape, parameters)."""

from __future__ import annotations

from numnet import data, models
from numnet.commands._errors import user_errors
from numnet.commands._runs import Settings, model_config


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary", help="layer table of a preset model",
        description="Print each layer's kind, K/F/S/P for convolutions and pooling, output "
                    "shape and parameter count, for a preset built for a dataset.")
    p.add_argument("--model", choices=sorted(models.MODELS), default="lenet5")
    p.add_argument("--dataset", default="mnist",
                   help="sets the input shape and classes (default mnist: 1x28x28)")
    p.add_argument("--activation", default="relu")
    p.set_defaults(func=run)


def run(args) -> int:
    with user_errors(KeyError, ValueError):
        info = data.get_info(args.dataset)
        settings = Settings(model=args.model, activation=args.activation)
        model = models.build_model(model_config(settings, info))
    model.summary(info.input_shape)
    return 0
