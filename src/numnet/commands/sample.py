"""``numnet sample``: generate text from a run of ``numnet train --task text``."""

from __future__ import annotations

import sys

from numnet import char_lm
from numnet.commands._arguments import finite_positive_float, nonnegative_int
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import load_model
from numnet.data.text import Vocabulary
from numnet.random import Generator


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="generate text from a character language model (train --task text)",
        description="Generate text from the model of a text run folder (its model.npz, else "
                    "best.npz or last.npz) or a checkpoint: the prompt, then --length "
                    "characters drawn one at a time from softmax(scores / --temperature). "
                    "The same --seed gives the same text.")
    p.add_argument("run", metavar="RUN", help="a run folder of numnet train --task text, or "
                                              "one of its checkpoints")
    p.add_argument("--prompt", default="", help="text the model reads first (default: none; "
                                                "the first character is then drawn at random)")
    p.add_argument("--length", type=nonnegative_int, default=500,
                   help="characters to generate (default 500)")
    p.add_argument("--temperature", type=finite_positive_float, default=1.0,
                   help="below 1: likelier characters, above 1: more varied (default 1.0)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="(default 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    with user_errors(OSError, ValueError):  # CheckpointError is both
        model, state = load_model(args.run, task="text")
    vocabulary = state["config"].get("vocabulary")
    if not isinstance(vocabulary, str):
        raise CommandError(f"{args.run} is not a run of numnet train --task text (it has no "
                           "vocabulary): sample generates text from a character language "
                           "model")
    vocabulary = Vocabulary(vocabulary)
    with user_errors(ValueError):
        prompt = vocabulary.encode(args.prompt)
    ids = char_lm.generate(model, prompt, args.length, temperature=args.temperature,
                           generator=Generator(args.seed))
    sys.stdout.write(args.prompt + vocabulary.decode(ids) + "\n")
    return 0
