"""Data-parallel scaling: training throughput on 1, 2, ... processes of this machine.

Each point is a real ``torchrun --standalone --nproc_per_node N -m trmkit train`` run (the same
path users take), so it measures everything a step costs: sampling, the supervision step, the
gradient all-reduce, the sparse-embedding gather and the metrics all-reduce. Throughput is read
from the run's own metrics.jsonl (examples per second between the end of the warm-up and the last
step; start-up, the final evaluation and the checkpoint are outside the window).

Strong scaling (default) keeps the global batch fixed and splits it; ``--per-rank-batch`` keeps
each rank's share fixed instead (weak scaling: the global batch grows with N, as when adding GPUs
to go faster through epochs). On the CPU, N processes share the cores (``OMP_NUM_THREADS`` =
cores / N, or ``--threads``), so little speed-up is expected there; the figure to watch is on GPUs.
On a CPU shared with other work, pass ``--threads 1``: several threads per process then mostly
wait on each other, and the 1-process figure measures that contention rather than training.

Examples::

    python benchmarks/ddp_scaling.py                                    # CPU (gloo): 1 vs 2 processes
    python benchmarks/ddp_scaling.py --device cuda --nproc 1 2 4 8 --config paper --batch 768
    python benchmarks/ddp_scaling.py --device cuda --nproc 1 8 --config paper --per-rank-batch 96 --json

Figures go to stdout (``--json``: one JSON object), progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from trmkit import dataset, get_task, load_config


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--config", default="small", help="named config of the task [small]")
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts to compare [1 2]")
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL, one GPU per process)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run (the first fifth is warm-up)")
    parser.add_argument("--batch", type=int, default=0, help="global batch for strong scaling [the config's]")
    parser.add_argument("--per-rank-batch", type=int, default=0, help="weak scaling: this many slots per process")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads per process [cores / processes]")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args()


def throughput(run_dir: Path, batch: int, warmup: int) -> float:
    """Examples per second between step ``warmup`` and the last step, from the run's metrics."""
    steps = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [record for record in steps if "loss" in record]
    first = next(record for record in steps if record["step"] >= warmup)
    last = steps[-1]
    return (last["step"] - first["step"]) * batch / (last["elapsed_s"] - first["elapsed_s"])


def run(args: argparse.Namespace, nproc: int, batch: int, data_dir: Path, out: Path) -> float:
    settings = [*args.sets, f"train.batch_size={batch}", "train.log_every=1", "train.eval_every=0", "train.eval_examples=1", "train.checkpoint_every=0"]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "-m", "trmkit", "train", args.task, "--config", args.config, "--data", str(data_dir), "--out", str(out),
        "--device", args.device, "--steps", str(args.steps), *[word for item in settings for word in ("--set", item)],
    ]
    env = dict(os.environ)
    if args.device == "cpu":  # the processes share the cores
        env["OMP_NUM_THREADS"] = str(args.threads or max(1, (os.cpu_count() or 1) // nproc))
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode:
        sys.exit(f"run with {nproc} processes failed:\n{result.stderr[-3000:]}")
    return throughput(out, batch, warmup=max(1, args.steps // 5))


def main() -> None:
    args = parse_arguments()
    task = get_task(args.task)
    config = load_config(task, args.config, args.sets)
    base_batch = args.batch or config.train.batch_size
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        print(f"building the {args.task} dataset of config '{args.config}'...", file=sys.stderr)
        data_dir = dataset.save(dataset.build(task, task.dataset_options(config.data.options), config.data.seed), Path(scratch) / "data")
        for nproc in args.nproc:
            batch = args.per_rank_batch * nproc if args.per_rank_batch else base_batch
            print(f"{nproc} process(es), global batch {batch}, {args.steps} steps...", file=sys.stderr)
            rate = run(args, nproc, batch, data_dir, Path(scratch) / f"run-{nproc}")
            rows.append({"nproc": nproc, "global_batch": batch, "examples_per_s": rate})
    reference = rows[0]["examples_per_s"] / rows[0]["nproc"]
    for row in rows:
        row["speedup"] = row["examples_per_s"] / rows[0]["examples_per_s"]
        row["efficiency"] = row["examples_per_s"] / (reference * row["nproc"])
    summary = {
        "task": args.task, "config": args.config, "device": args.device, "steps": args.steps, "cpu_count": os.cpu_count(),
        "threads_per_process": args.threads or "cores / processes", "scaling": "weak" if args.per_rank_batch else "strong", "runs": rows,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.task}/{args.config} on {args.device}, {summary['scaling']} scaling, {args.steps} steps per run")
    print(f"{'processes':>9} {'global batch':>12} {'examples/s':>11} {'speed-up':>9} {'efficiency':>10}")
    for row in rows:
        print(f"{row['nproc']:>9} {row['global_batch']:>12} {row['examples_per_s']:>11.1f} {row['speedup']:>8.2f}x {row['efficiency']:>9.0%}")


if __name__ == "__main__":
    main()
