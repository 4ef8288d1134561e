"""The shared part of the learning benchmarks: train for a wall-clock budget, measure as you go.

Evaluation time is not counted as training time. Each evaluation prints one tab-separated row
(and the curve is returned for a JSON summary).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from trmkit import Examples
from trmkit.train import Trainer


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
