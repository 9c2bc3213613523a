"""``numnet train --task text``: a character-level language model on a UTF-8 text.

The text (``--data-file``, or the default text ``numnet.data.text.DEFAULT_TEXT``) gives the
vocabulary (its distinct characters); its last ``--val-fraction`` is held out, the rest cut
into ``--batch-size`` contiguous streams that truncated backpropagation through time walks
``--bptt`` steps at a time (``commands._text_training``). The model is a preset of
``numnet.char_lm`` (``--model lstm``, ``gru`` or ``rnn``; ``--embedding-size``,
``--layers``, ``--hidden-size``, ``--dropout``). The run folder is the one of image
training; its checkpoints hold the vocabulary and the settings in their JSON metadata, so
``numnet sample RUN`` and ``--resume RUN`` need nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shlex
import sys
import time
from pathlib import Path

import numnet
from numnet import models, serialization
from numnet.commands._arguments import fraction, positive_int
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import (
    WRITE_ERRNOS,
    Settings,
    build_optimizer,
    build_scheduler,
    check_out_folder,
    locked_run_folder,
    replace_old_run,
    resume_paths,
    write_failure,
)
from numnet.commands._text_training import TextData, TextDiverged, TextTrainer, windows
from numnet.data import text as text_data

TEXT_MODELS = ("lstm", "gru", "rnn")
RECIPE = {"model": "lstm", "optimizer": "adam", "lr": 3e-3, "weight_decay": 0.0,
          "epochs": 20, "batch_size": 16, "clip_grad": 1.0, "scheduler": "cosine"}
"""The settings of a text run in place of the image defaults (a flag given wins); 16 streams
rather than 32 give a small text twice the updates per epoch (the default text: 2.86 bits
per character after 20 epochs instead of 3.11, in the same time)."""
IMAGE_ONLY = ("dataset", "data_dir", "init", "limit_train", "limit_test", "augment", "hidden",
              "init_from")
"""Flags of image training that a text run refuses rather than ignores."""
RESUMABLE = ("epochs", "patience")
"""The settings a resumed text run may change."""


@dataclasses.dataclass(frozen=True)
class TextOptions:
    """The flags of ``--task text`` beside ``Settings``; stored as ``config["text"]``.

    Raises:
        ValueError: a value that breaks its flag's rule, naming the flag.
    """

    data_file: str | None = None
    embedding_size: int = 64
    layers: int = 2
    hidden_size: int = 128
    bptt: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        """The rules of the flags, again: options also come from a run folder's JSON."""
        for name, rule, _ in _FLAGS:
            try:
                rule(getattr(self, name))
            except argparse.ArgumentTypeError as error:
                raise ValueError(f"--{name.replace('_', '-')} {error}") from None

    @classmethod
    def from_args(cls, args) -> TextOptions:
        """The options given in ``args``, ``--data-file`` made absolute (a resumed run finds
        its text from any folder)."""
        given = {field.name: getattr(args, field.name) for field in dataclasses.fields(cls)
                 if getattr(args, field.name, None) is not None}
        if "data_file" in given:
            given["data_file"] = str(Path(given["data_file"]).absolute())
        return cls(**given)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``--task text`` on the ``numnet train`` parser."""
    group = parser.add_argument_group(
        "text task", "--task text trains a character-level language model; its defaults: "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in RECIPE.items()))
    group.add_argument("--task", choices=("image", "text"),
                       help="image classification (default) or a character-level language "
                            "model on --data-file")
    group.add_argument("--data-file", metavar="FILE",
                       help=f"a UTF-8 text (default: {text_data.DEFAULT_TEXT})")
    defaults = TextOptions()
    for name, rule, text in _FLAGS:
        group.add_argument(_flag(name), type=rule, metavar="P" if rule is fraction else "N",
                           help=f"{text} (default {getattr(defaults, name)})")


_FLAGS = (
    ("embedding_size", positive_int, "size of each character's embedding"),
    ("layers", positive_int, "stacked recurrent layers"),
    ("hidden_size", positive_int, "size of the recurrent state"),
    ("bptt", positive_int, "steps of truncated backpropagation through time"),
    ("dropout", fraction, "dropout on the embeddings, between the layers and before the "
                          "decoder"),
)
"""The numeric flags of ``TextOptions``: name, rule (argparse type), help."""


def _given(args, names) -> list:
    return [name for name in names if getattr(args, name, None) is not None]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _stored_config(path: Path) -> dict | None:
    """The config of the run ``--resume PATH`` names, or None when it cannot be read."""
    run_dir = path if path.is_dir() else path.parent
    try:
        state = serialization.load(run_dir / "last.npz")
    except (OSError, ValueError):
        return None
    return state.get("config") if isinstance(state, dict) else None


def wanted(args) -> bool:
    """Whether ``numnet train ARGS`` is a text run (``--task text``, or ``--resume`` of
    one); refuses, as a ``CommandError``, the text flags on an image run."""
    task = args.task
    if task is None and args.resume:
        config = _stored_config(Path(args.resume))
        task = "text" if isinstance(config, dict) and config.get("task") == "text" else None
    if task == "text":
        return True
    text_flags = _given(args, [field.name for field in dataclasses.fields(TextOptions)])
    if text_flags:
        raise CommandError(f"{_flag(text_flags[0])} is an option of --task text")
    if args.model in TEXT_MODELS:
        raise CommandError(f"--model {args.model} is a character language model: train it "
                           "with --task text")
    return False


def run(args) -> int:
    started = time.perf_counter()
    if args.threads is not None:
        numnet.set_num_threads(args.threads)
    with contextlib.ExitStack() as held:  # the run folder's lock, for as long as it lasts
        return _run(args, started, held)


def _new_settings(args) -> tuple:
    """(Settings, TextOptions) of a new text run from its flags."""
    refused = _given(args, IMAGE_ONLY) + (["extend_schedule"] if args.extend_schedule else [])
    if refused:
        raise CommandError(f"{_flag(refused[0])} is an option of image training; --task text "
                           "takes --data-file")
    if args.model is not None and args.model not in TEXT_MODELS:
        raise CommandError(f"--model {args.model} is an image model; --task text trains "
                           f"{', '.join(TEXT_MODELS)}")
    with user_errors(ValueError):
        settings = Settings(dataset="text", activation="tanh", **RECIPE).from_args(args)
        options = TextOptions.from_args(args)
    if args.activation is not None and (settings.model != "rnn"
                                        or settings.activation not in ("tanh", "relu")):
        raise CommandError(f"--activation {args.activation}: --task text takes --activation "
                           "tanh or relu for --model rnn only (an LSTM or GRU has its gates)")
    return settings, options


def _resumed_settings(args, config: dict) -> tuple:
    """(Settings, TextOptions) of a resumed text run: the stored ones, with ``--epochs``
    and ``--patience`` as given; any other setting given must be the stored one."""
    if args.init_from is not None or args.extend_schedule:
        flag = "--init-from" if args.init_from is not None else "--extend-schedule"
        raise CommandError(f"{flag} is not available for a resumed text run")
    with user_errors(ValueError, TypeError):
        stored = Settings.from_dict(config["settings"])
        options = TextOptions(**config["text"])
    for name in [f.name for f in dataclasses.fields(Settings)] + ["data_file", "embedding_size",
                                                                  "layers", "hidden_size",
                                                                  "bptt", "dropout"]:
        given = getattr(args, name, None)
        if name == "data_file" and given is not None:
            given = str(Path(given).absolute())
        kept = getattr(stored if hasattr(stored, name) else options, name)
        if given is None or name in RESUMABLE or given == kept:
            continue
        raise CommandError(f"the run was trained with {_flag(name)} {kept}; {_flag(name)} "
                           f"{given} does not match (a resumed run keeps its settings but "
                           "--epochs and --patience: start a new run with --out to change "
                           "it)")
    changes = {name: getattr(args, name) for name in _given(args, RESUMABLE)}
    return dataclasses.replace(stored, **changes), options


def _resume_checkpoint(args) -> tuple:
    """(run folder, its last.npz) of ``--resume``."""
    if args.out is not None or args.overwrite:
        raise CommandError("--resume continues a run in its own folder: it takes no --out "
                           "or --overwrite")
    return resume_paths(Path(args.resume))


def load_text(options: TextOptions) -> tuple:
    """(the text, its name) of ``--data-file`` or the default text."""
    with user_errors(ValueError):  # DatasetError is a ValueError too
        if options.data_file is None:
            return text_data.default_text(), text_data.DEFAULT_TEXT
        return text_data.read_text(options.data_file), options.data_file


def prepare(text: str, settings: Settings) -> tuple:
    """(vocabulary, TextData, description) of the text for the settings' batch size and
    validation fraction; a text too short for them is a one-line error."""
    vocabulary = text_data.Vocabulary.from_text(text)
    ids = vocabulary.encode(text)
    head, tail = text_data.split_tail(ids, settings.val_fraction)
    batch = settings.batch_size
    if len(head) // batch < 2:
        raise CommandError(f"the text's {len(head)} training characters make streams of "
                           f"fewer than 2 characters for --batch-size {batch}: give a longer "
                           "text or a smaller --batch-size")
    val = None
    unigram = None
    if settings.val_fraction:
        if len(tail) < 2:
            raise CommandError(f"--val-fraction {settings.val_fraction} holds out "
                               f"{len(tail)} of {len(ids)} characters: at least 2 are "
                               "needed (a larger --val-fraction, or 0 for no validation)")
        val = text_data.streams(tail, min(batch, len(tail) // 2))
        unigram = text_data.unigram_bits(head, val[:, 1:], len(vocabulary))
    train = text_data.streams(head, batch)
    summary = {"characters": len(ids), "vocabulary_size": len(vocabulary),
               "train_characters": int(len(head)), "val_characters": int(len(tail)),
               "sha256": text_data.fingerprint(text)}
    return vocabulary, TextData(train, val, unigram), summary


def model_config(settings: Settings, options: TextOptions, vocab_size: int) -> dict:
    """The ``numnet.char_lm`` preset's config for the settings."""
    config = {"name": settings.model, "vocab_size": vocab_size,
              "embedding_dim": options.embedding_size, "hidden_size": options.hidden_size,
              "num_layers": options.layers, "dropout": options.dropout}
    if settings.model == "rnn":
        config["nonlinearity"] = settings.activation
    return config


def _run(args, started: float, held: contextlib.ExitStack) -> int:
    state = None
    if args.resume:
        run_dir, checkpoint = _resume_checkpoint(args)
        held.enter_context(locked_run_folder(run_dir, "--resume"))
        with user_errors(OSError, ValueError):  # CheckpointError is both
            state = numnet.load(checkpoint)
        stored = state.get("config") if isinstance(state, dict) else None
        if not isinstance(stored, dict) or stored.get("task") != "text":
            raise CommandError(f"cannot resume: {checkpoint} is not a text training "
                               "checkpoint")
        settings, options = _resumed_settings(args, stored)
        plan = stored["schedule_epochs"]
        if settings.scheduler != "none" and settings.epochs > plan:
            raise CommandError(f"--epochs {settings.epochs} goes past the run's "
                               f"{settings.scheduler} learning-rate schedule, planned for "
                               f"{plan} epochs: resume with --epochs {plan} or fewer")
        model_spec = stored["model"]
    else:
        settings, options = _new_settings(args)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.out or f"runs/{settings.model}-text-{stamp}")
        check_out_folder(run_dir, args.overwrite)
        plan = settings.epochs
        model_spec = None
    text, name = load_text(options)
    vocabulary, data, summary = prepare(text, settings)
    if state is not None and summary["sha256"] != stored["data"]["sha256"]:
        raise CommandError(f"cannot resume: {name} is not the text the run was trained on "
                           "(its SHA-256 differs)")
    numnet.manual_seed(settings.seed)
    with user_errors(ValueError):
        model = models.build_model(model_spec or model_config(settings, options,
                                                              len(vocabulary)))
    optimizer = build_optimizer(settings, model.parameters())
    scheduler, step_unit = build_scheduler(dataclasses.replace(settings, epochs=plan),
                                           optimizer,
                                           len(windows(data.train.shape[1], options.bptt)))
    if state is None:
        held.enter_context(locked_run_folder(run_dir, "--out"))
        check_out_folder(run_dir, args.overwrite)  # again: now no other run can start there
    config = {"task": "text", "settings": settings.to_dict(),
              "text": dataclasses.asdict(options), "model": model.config,
              "vocabulary": vocabulary.chars, "data": {"name": name, **summary},
              "schedule_epochs": plan}
    monitor = settings.monitor if data.val is not None else "train_loss"
    trainer = TextTrainer(model, optimizer, scheduler, step_unit, bptt=options.bptt,
                          clip_grad_norm=settings.clip_grad, run_dir=run_dir,
                          monitor=monitor, patience=settings.patience,
                          progress=not args.no_progress, config=config)
    if state is not None:
        trainer.load_state(state)
    baseline = ("" if data.unigram_bpc is None else
                f"; unigram baseline {data.unigram_bpc:.3f} bits/char on the validation tail")
    print(f"training {settings.model} ({model.num_parameters():,} parameters) on {name}: "
          f"{summary['characters']:,} characters ({len(vocabulary)} distinct), "
          f"{summary['train_characters']:,} train in {data.train.shape[0]} streams, "
          f"{summary['val_characters']:,} validation{baseline} -> {run_dir}", file=sys.stderr)
    try:
        if state is None and args.overwrite:
            replace_old_run(run_dir, lambda: trainer.save_checkpoint("last.npz"))
        with user_errors(TextDiverged):
            trainer.fit(data, epochs=settings.epochs)
        if trainer.stop_reason == "interrupted":
            print(f"continue with: numnet train --resume {shlex.quote(str(run_dir))}",
                  file=sys.stderr)
            return 130
        final = trainer.finish(data, started=started)
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            raise
        raise CommandError(write_failure(error, run_dir)) from None
    versus = ("" if final["unigram_bpc"] is None else
              f" (unigram baseline {final['unigram_bpc']:.3f})")
    print(f"{final['split']} loss {final['loss']:.4f}  perplexity {final['perplexity']:.3f}  "
          f"bits/char {final['bpc']:.3f}{versus}  ({final['epochs']} epochs, "
          f"{final['wall_seconds']:.1f} s)")
    print(f"run folder: {run_dir}")
    return 0
