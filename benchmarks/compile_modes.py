"""Training speed with and without ``train.compile`` (or any other setting), side by side in one run.

One :class:`trmkit.train.Trainer` per mode, ``eager`` or ``compiled`` (same config, same random
tokens of the task's shape), or either with more settings joined by ``+`` (``compiled+data.workers=1``),
warmed up (compiling happens there, timed apart), then their
optimizer steps alternate, the order flipping every round, so that a noisy machine slows every
mode alike. The figure that counts is the *paired* speed-up: for each round, the first mode's
step time over the other mode's, then the median (with quartiles) over rounds.

Examples::

    python benchmarks/compile_modes.py --config small --reps 40
    python benchmarks/compile_modes.py --config paper --batch 16 --reps 8
    python benchmarks/compile_modes.py --task maze --config small --seq-len 81    # 9x9 mazes
    python benchmarks/compile_modes.py --config tiny --modes eager,eager      # the noise floor
    python benchmarks/compile_modes.py --modes compiled,compiled+data.workers=1   # batches built ahead

Figures go to stdout (``--json``: one JSON object), progress to stderr.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from throughput import add_run_arguments, measure_and_print, processor, processor_label, random_dataset, synchronize
from trmkit import get_task, load_config
from trmkit.train import Trainer, resolve_device


#: mode -> train.compile
MODES = {"eager": "false", "compiled": "true"}


def mode_overrides(mode: str) -> list[str]:
    """The config overrides of a mode: ``eager`` or ``compiled``, then any ``+key=value``."""
    base, *settings = mode.split("+")
    if base not in MODES or not all("=" in setting for setting in settings):
        raise SystemExit(f"error: unknown mode {mode!r} (eager or compiled, then any +key=value settings)")
    return [f"train.compile={MODES[base]}", *settings]


def paired_speedups(base: list[float], other: list[float]) -> dict[str, float]:
    """Median and quartiles of base[i] / other[i]: above 1, ``other`` is faster."""
    ratios = [b / o for b, o in zip(base, other)]
    low, median, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {"median": median, "q1": low, "q3": high}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    task = get_task(args.task)
    modes = [(mode, mode_overrides(mode)) for mode in args.modes.split(",")]  # a mode may come twice
    trainers, warmup_s = {}, {}
    for index, (mode, settings) in enumerate(modes):
        overrides = settings + ([f"train.batch_size={args.batch}"] if args.batch else [])
        config = load_config(task, args.config, overrides)
        data = random_dataset(task, args.seq_len or config.model.seq_len, max(config.train.batch_size, 64), seed=0)
        key = f"{mode}#{index}"  # a mode may be given twice, to see the noise floor
        trainers[key] = Trainer(task, config, data, Path(tempfile.gettempdir()), device)
        print(f"{key}: {args.warmup} warm-up steps", file=sys.stderr, flush=True)
        start = time.perf_counter()
        for _ in range(args.warmup):
            trainers[key].train_step()
        warmup_s[key] = time.perf_counter() - start
    keys = list(trainers)
    seconds: dict[str, list[float]] = {key: [] for key in keys}
    print(f"timing {args.reps} rounds", file=sys.stderr, flush=True)
    for round_ in range(args.reps):
        for key in keys if round_ % 2 == 0 else keys[::-1]:
            synchronize(device)
            start = time.perf_counter()
            trainers[key].train_step()
            synchronize(device)
            seconds[key].append(time.perf_counter() - start)
    batch = trainers[keys[0]].config.train.batch_size
    return {
        "task": task.name,
        "config": args.config,
        "device": str(device),
        **processor(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": batch,
        "seq_len": trainers[keys[0]].config.model.seq_len,
        "rounds": args.reps,
        "modes": {
            key: {"warmup_s": warmup_s[key], "step_s": statistics.median(seconds[key]), "examples_per_s": batch / statistics.median(seconds[key])}
            for key in keys
        },
        "speedup_over_first": {key: paired_speedups(seconds[keys[0]], seconds[key]) for key in keys[1:]},
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{result['task']} '{result['config']}', batch {result['batch']}, {result['seq_len']} tokens, {result['device']}{processor_label(result)} ({result['threads']} threads), {result['rounds']} rounds"]
    for key, figures in result["modes"].items():
        lines.append(f"  {key:15s} {figures['step_s'] * 1000:9.1f} ms/step  {figures['examples_per_s']:8.2f} examples/s  (warm-up {figures['warmup_s']:.1f} s)")
    first = next(iter(result["modes"]))
    for key, speedup in result["speedup_over_first"].items():
        lines.append(f"  {key} vs {first}: {speedup['median']:.3f}x paired median (quartiles {speedup['q1']:.3f}-{speedup['q3']:.3f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, config="small")
    parser.add_argument("--modes", default="eager,compiled", help=f"comma-separated modes ({', '.join(MODES)}, each maybe followed by +key=value settings), one trainer each; the first is the baseline")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=30, help="rounds (one step of every mode each)")
    measure_and_print(parser, measure, report, argv)


if __name__ == "__main__":
    main()
