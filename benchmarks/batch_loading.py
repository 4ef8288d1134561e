"""Can the batch loader keep a device fed? Time the training process waits for each batch.

Building a training batch (every example's seeded augmentation) is CPU work in Python and numpy.
With ``data.workers`` = 0 the training process does it between steps and the device idles
meanwhile; with worker processes (:mod:`trmkit.loader`) it is done ahead, during the device's
step. This script stands a sleep in for the device's step (a process waiting on a GPU sleeps too,
leaving the CPU to the workers) and measures, for each worker count, how long each request for
a batch blocks, on random tokens of the task's shape with the config's augmentations (the same
work per example as real data), one puzzle per example, so every batch is a new epoch.

Examples::

    python benchmarks/batch_loading.py --config paper --workers 0,1,2          # Sudoku, batch 768
    python benchmarks/batch_loading.py --task arc --config paper --batch 192 --step-ms 220

Figures go to stdout (``--json``: one JSON object), progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

from throughput import measure_and_print, random_dataset
from trmkit import get_task, load_config
from trmkit.loader import BatchLoader
from trmkit.processes import cores_per_process
from trmkit.sampler import Sampler
from trmkit.versions import Versions


def measure_workers(sampler: Sampler, workers: int, step_s: float, steps: int) -> dict[str, float]:
    """Seconds each ``next_batch`` blocks while a ``step_s`` step runs between requests (after
    two untimed batches: the workers' start)."""
    loader = BatchLoader(sampler, workers)
    for _ in range(2):
        loader.next_batch()
    waits = []
    for _ in range(steps):
        time.sleep(step_s)
        start = time.perf_counter()
        loader.next_batch()
        waits.append(time.perf_counter() - start)
    loader.close()
    return {"wait_s": statistics.median(waits), "max_wait_s": max(waits), "device_idle_fraction": sum(waits) / (sum(waits) + steps * step_s)}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    task = get_task(args.task)
    config = load_config(task, args.config, [f"train.batch_size={args.batch}"] if args.batch else [])
    batch = config.train.batch_size
    examples = random_dataset(task, args.seq_len or config.model.seq_len, batch, seed=0).splits["train"]
    versions = Versions(task, config.train.seed, config.data.augmentations, [examples])
    if versions.deduplicated:  # as `trmkit train` does before training, on every core
        print(f"finding the distinct augmented versions of {batch} puzzles", file=sys.stderr, flush=True)
        for _ in versions.work_out(np.unique(examples.groups).tolist(), cores_per_process()):
            pass
    results = {}
    for workers in (int(count) for count in args.workers.split(",")):
        print(f"{workers} workers: {args.steps} steps of {args.step_ms:g} ms", file=sys.stderr, flush=True)
        sampler = Sampler(task, examples, batch, config.data.augmentations, config.train.seed, jitter=config.data.jitter, versions=versions)
        results[str(workers)] = measure_workers(sampler, workers, args.step_ms / 1000, args.steps)
    return {
        "task": task.name, "config": args.config, "batch": batch, "augmentations": config.data.augmentations,
        "step_ms": args.step_ms, "steps": args.steps, "cpu_count": os.cpu_count(), "workers": results,
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{result['task']} '{result['config']}', batch {result['batch']}, {result['augmentations']} augmentations, "
             f"a {result['step_ms']:g} ms device step, {result['steps']} steps, {result['cpu_count']} CPUs"]
    for workers, figures in result["workers"].items():
        lines.append(f"  {workers:>2} workers: waits {figures['wait_s'] * 1000:7.1f} ms per batch (max {figures['max_wait_s'] * 1000:.1f}), "
                     f"device idle {100 * figures['device_idle_fraction']:.0f}% of the time")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--config", default="paper", help="a config name of the task or a YAML file")
    parser.add_argument("--batch", type=int, default=0, help="batch [default: the config's]")
    parser.add_argument("--seq-len", type=int, default=0, help="tokens per example [default: the task's full size]")
    parser.add_argument("--workers", default="0,1,2", help="comma-separated worker counts to time")
    parser.add_argument(
        "--step-ms", type=float, default=95.0,
        help="the device step the sleep stands for [default: 95, the paper Sudoku step (batch 768, 42.7 GFLOP an example) at 35%% bf16 MFU on an H200]",
    )
    parser.add_argument("--steps", type=int, default=20)
    measure_and_print(parser, measure, report, argv)


if __name__ == "__main__":
    main()
