"""numnet against itself: the training step of ``compare_torch.py``'s models at two git
revisions, each in its own subprocess, alternating, so that a change can show it is not
slower (and keeps no more memory) on the path it did not mean to touch.

For each model and thread count (1 and ``--threads``), ``--rounds`` rounds of: the
numnet worker of ``compare_torch.py`` from revision BEFORE, then from AFTER (each
``git archive``-d into a temporary folder, its own ``src`` first on ``PYTHONPATH``); printed:
the median ms per step of each, AFTER / BEFORE, and the median peak memory of a step (MiB,
as ``compare_torch.py`` measures it).

Usage:
    python benchmarks/compare_revisions.py BEFORE [AFTER] [--models mlp,lenet5,...]
        [--threads 2] [--rounds 3] [--steps 20] [--smoke]

AFTER defaults to the working tree (uncommitted changes included). ``OPENBLAS_CORETYPE``
and ``OPENBLAS_L2_SIZE`` are passed on as they are: unset them for the command to measure
at the BLAS's full speed.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def export(revision: str, into: pathlib.Path) -> pathlib.Path:
    """``src`` and ``benchmarks`` of ``revision`` under ``into``; returns that folder."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src", "benchmarks"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def step_ms(tree: pathlib.Path, model: str, threads: int, steps: int,
            smoke: bool = False) -> tuple:
    """``(median ms per step, peak MiB)`` of one worker subprocess of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    command = [sys.executable, str(tree / "benchmarks" / "compare_torch.py"), "--worker",
               "numnet", "--model", model, "--threads", str(threads), "--steps", str(steps),
               "--warmup", "3"] + (["--smoke"] if smoke else [])
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"{tree} {model} worker failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return statistics.median(result["times"]), result.get("peak_mib") or 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="git revision to compare against")
    parser.add_argument("after", nargs="?", help="git revision (default: the working tree)")
    parser.add_argument("--models", default="mlp,lenet5,cifar_cnn,resnet,mnist_example,"
                        "transformer,depthwise_sep,lstm_lm,gru")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--smoke", action="store_true",
                        help="the tiny models (checks that it runs)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        trees = {"before": export(args.before, pathlib.Path(folder, "before").resolve())}
        if args.after:
            trees["after"] = export(args.after, pathlib.Path(folder, "after").resolve())
        else:
            trees["after"] = ROOT
        print(f"median ms per step over {args.rounds} round(s) of {args.steps} steps; "
              f"before = {args.before}, after = {args.after or 'working tree'}")
        print(f"{'model':<14} {'thr':>3} {'before':>9} {'after':>9} {'ratio':>6} "
              f"{'peak MiB before / after':>24}")
        for model in args.models.split(","):
            for threads in sorted({1, args.threads}):
                times = {name: [] for name in trees}
                peaks = {name: [] for name in trees}
                for _ in range(args.rounds):
                    for name, tree in trees.items():
                        ms, peak = step_ms(tree, model, threads, args.steps, args.smoke)
                        times[name].append(ms)
                        peaks[name].append(peak)
                before, after = (statistics.median(times[n]) for n in ("before", "after"))
                peak_before, peak_after = (statistics.median(peaks[n])
                                           for n in ("before", "after"))
                print(f"{model:<14} {threads:>3} {before:9.2f} {after:9.2f} "
                      f"{after / before:6.3f} {peak_before:11.1f} / {peak_after:<10.1f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
