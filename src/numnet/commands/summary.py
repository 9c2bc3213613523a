"""``numnet summary``: a model's layer table (kind, K/F/S/P, output shape, parameters), of a
trained run (its folder or a checkpoint) or of a preset built for a dataset."""

from __future__ import annotations

from numnet import data, models
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import Settings, find_checkpoint, load_model, model_config


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary", help="layer table of a trained run or a preset model",
        description="Print each layer's kind, K/F/S/P for convolutions and pooling, output "
                    "shape and parameter count: of the model of a run folder or checkpoint "
                    "(on its dataset's input shape), or of a preset built for a dataset.")
    p.add_argument("run", metavar="RUN", nargs="?",
                   help="a run folder or checkpoint to describe (instead of --model)")
    p.add_argument("--model", choices=sorted(models.MODELS), default=None,
                   help="a preset to describe (default lenet5 when no RUN is given)")
    p.add_argument("--dataset", default=None,
                   help="sets the preset's input shape and classes (default mnist: 1x28x28)")
    p.add_argument("--activation", default=None, help="the preset's activation (default relu)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.run is not None:
        given = [flag for flag, value in (("--model", args.model), ("--dataset", args.dataset),
                                          ("--activation", args.activation)) if value]
        if given:
            raise CommandError(f"give RUN or {', '.join(given)}, not both: a run brings its "
                               "own model and input shape")
        with user_errors(OSError, ValueError):
            model, state = load_model(args.run)
            checkpoint = find_checkpoint(args.run)
        info = state["config"]["dataset"]
        print(f"{checkpoint}: {model.config['name']} trained on {info['name']}")
        model.summary(tuple(info["input_shape"]))
        return 0
    with user_errors(KeyError, ValueError):
        info = data.get_info(args.dataset or "mnist")
        settings = Settings(model=args.model or "lenet5", activation=args.activation or "relu")
        model = models.build_model(model_config(settings, info))
    model.summary(info.input_shape)
    return 0
