"""The shared part of the learning benchmarks: train for a wall-clock budget, measure as you go.

Evaluation time is not counted as training time. Each evaluation prints one tab-separated row
(and the curve is returned for a JSON summary).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from trmkit import Examples, dataset, get_task, load_config
from trmkit.train import Trainer


def arguments(doc: str, minutes: float, eval_every: float) -> argparse.ArgumentParser:
    """The options every learning benchmark takes (a script adds its own)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="small")
    parser.add_argument("--minutes", type=float, default=minutes, help="training wall-clock budget")
    parser.add_argument("--eval-every", type=float, default=eval_every, help="minutes of training between evaluations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override key=value")
    parser.add_argument("--json", type=Path, default=None, help="also write the curve here")
    parser.add_argument("--out", type=Path, default=None, help="keep the run here (checkpoint at the end; usable with --model)")
    return parser


def setup(task_name: str, args: argparse.Namespace) -> tuple[Any, Any, Any, float]:
    """The task, its resolved config, and its default dataset (with the seconds it took)."""
    task = get_task(task_name)
    config = load_config(task, args.config, args.sets + [f"train.seed={args.seed}"])
    started = time.perf_counter()
    data = dataset.build(task, task.dataset_options(config.data.options), config.data.seed)
    return task, config, data, time.perf_counter() - started


def describe(config: Any) -> str:
    model = config.model
    return (f"# torch {torch.__version__}, {torch.get_num_threads()} threads; hidden {model.hidden_size}, "
            f"T={model.T}, n={model.n}, N_sup={model.halt_max_steps}, batch {config.train.batch_size}")


def run(task: Any, config: Any, data: Any, args: argparse.Namespace, measure: Callable[[Any], dict[str, float]]) -> None:
    """Train on CPU for ``args.minutes``, measuring as it goes, then print the JSON summary."""
    trainer = Trainer(task, config, data, args.out or Path(tempfile.mkdtemp()), torch.device("cpu"))
    print(f"# parameters: {trainer.model.num_parameters():,}", flush=True)
    curve = learning_curve(trainer, args.minutes, args.eval_every, measure)
    if args.out:
        print(f"# checkpoint: {trainer.save()}", flush=True)
    summary = {"config": args.config, "overrides": args.sets, "threads": torch.get_num_threads(), "curve": curve}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


def held_out(task: Any, options: dict[str, Any], seed: int, train_inputs: np.ndarray) -> Examples:
    """The test split the task's builder makes with ``options`` and ``seed``, minus any puzzle
    that is also in the training set."""
    built = task.spec.build_dataset(task.dataset_options(options), seed)["test"]
    seen = {row.tobytes() for row in train_inputs}
    keep = np.array([row.tobytes() not in seen for row in built.inputs], dtype=bool)
    return Examples(built.inputs[keep], built.labels[keep], built.groups[keep], built.puzzle_identifiers[keep])


def learning_curve(trainer: Trainer, minutes: float, eval_every: float, measure: Callable[[Any], dict[str, float]]) -> list[dict[str, Any]]:
    """Train ``minutes`` of wall clock, calling ``measure(eval_model)`` every ``eval_every``
    minutes of training and at the end; prints and returns one row per evaluation."""
    curve: list[dict[str, Any]] = []
    trained = 0.0
    next_eval = eval_every * 60
    budget = minutes * 60
    while trained < budget:
        tick = time.perf_counter()
        while time.perf_counter() - tick < min(next_eval, budget) - trained:
            trainer.train_step()
        trained += time.perf_counter() - tick
        row = {
            "minutes": trained / 60,
            "steps": trainer.step,
            "examples_per_s": trainer.step * trainer.config.train.batch_size / trained,
            **measure(trainer.eval_model()),
        }
        if not curve:
            print("\t".join(row), flush=True)
        curve.append(row)
        print("\t".join(f"{value:.3f}" if isinstance(value, float) else str(value) for value in row.values()), flush=True)
        next_eval += eval_every * 60
    return curve
