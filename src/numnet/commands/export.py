"""``numnet export``: a trained run's model as ONNX (to run anywhere ONNX Runtime runs) or
its weights as safetensors (for PyTorch's ``load_state_dict``)."""

from __future__ import annotations

from pathlib import Path

import numpy

import numnet
import numnet.onnx
from numnet.commands._errors import CommandError, user_errors
from numnet.commands._runs import find_checkpoint, load_model
from numnet.onnx._graph import OPSETS

FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a trained run's model as ONNX or its weights as safetensors",
        description="Export the model of a run folder or checkpoint: --format onnx writes "
                    "the network as an ONNX graph with a dynamic batch axis (input 'input' "
                    "of shape (N, C, H, W), output 'output' (N, classes)); --format "
                    "safetensors writes its state_dict, which PyTorch loads with "
                    "safetensors.torch.load_file. An existing file is kept unless "
                    "--overwrite is given.")
    p.add_argument("run", metavar="RUN", help="a run folder or checkpoint")
    p.add_argument("--format", choices=tuple(FORMATS), default="onnx",
                   help="onnx (default) or safetensors")
    p.add_argument("--output", metavar="PATH", default=None,
                   help="the file to write (default: model.onnx or model.safetensors in the "
                        "run folder, or beside the checkpoint)")
    p.add_argument("--opset", type=int, choices=tuple(OPSETS), default=17, metavar="N",
                   help=f"ONNX opset, {OPSETS.start} to {OPSETS.stop - 1} (default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run)


def default_output(run_path, suffix: str) -> Path:
    """``model<suffix>`` in a run folder, or the checkpoint's name with ``suffix``."""
    run_path = Path(run_path)
    if run_path.is_dir():
        return run_path / f"model{suffix}"
    return run_path.with_suffix(suffix)


def run(args) -> int:
    with user_errors(OSError, ValueError):
        checkpoint = find_checkpoint(args.run)
        model, state = load_model(args.run)
    suffix = FORMATS[args.format]
    output = Path(args.output) if args.output else default_output(args.run, suffix)
    if output.is_dir():
        raise CommandError(f"--output {output} is a folder: give a file name")
    if output.exists() and not args.overwrite:
        raise CommandError(f"{output} exists: replace it with --overwrite, or choose another "
                           "--output")
    if args.format == "safetensors":
        if output.suffix != suffix:
            raise CommandError(f"--output {output}: a safetensors file must end in {suffix}")
        with user_errors(OSError):
            numnet.save(model.state_dict(), output)
        print(f"wrote {output} ({len(model.state_dict())} tensors of {checkpoint})")
        return 0
    input_shape = tuple(state["config"]["dataset"]["input_shape"])
    example = numnet.tensor(numpy.random.default_rng(0).standard_normal(
        (2,) + input_shape).astype(numpy.float32))
    with user_errors(OSError, numnet.onnx.ExportError, ImportError):
        proto = numnet.onnx.export(model, example, output, input_names=["input"],
                                   output_names=["output"], opset_version=args.opset,
                                   dynamic_axes={"input": {0: "batch"},
                                                 "output": {0: "batch"}})
    classes = proto.graph.output[0].type.tensor_type.shape.dim[1].dim_value
    print(f"wrote {output} (ONNX opset {args.opset}: input (batch, "
          f"{', '.join(map(str, input_shape))}) -> output (batch, {classes})) from "
          f"{checkpoint}")
    return 0
