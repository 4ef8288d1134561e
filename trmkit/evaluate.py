"""Evaluation: exact and token accuracy on held-out examples, under both halting protocols.

Every step is run (the official protocol, ``halt="all"``: the answer is the last step's); from the
same pass the adaptive protocol's answer (the first step whose q_halt > 0) is read off, so one
evaluation reports both without running the model twice.

Evaluation is split in two so that it shards over data-parallel ranks: :func:`predict` runs the
model on this rank's share of the examples, the per-example predictions of every rank are gathered
on rank 0, and only then :func:`score` aggregates them. Anything that must see every prediction of
a puzzle at once (e.g. voting over the augmented versions of a task) belongs in the scoring step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import distributed
from .act import halts, solve
from .losses import IGNORE
from .model import TRM
from .sampler import evaluation_batches
from .task import Examples, Puzzle, Task


@dataclass
class Predictions:
    """Per-example outputs for a run of consecutive examples, in example order (numpy, on the CPU,
    token ids in the smallest integer type that holds the vocabulary, so gathering stays cheap)."""

    answers: np.ndarray  # [N, seq_len] the last step's answer (the official protocol)
    adaptive_answers: np.ndarray  # [N, seq_len] the answer at the first step with q_halt > threshold
    adaptive_steps: np.ndarray  # [N] steps adaptive halting takes
    q_halt: np.ndarray  # [N] the last step's halting logit (> 0: the model thinks it is right)

    @classmethod
    def concatenate(cls, parts: list[Predictions]) -> Predictions:
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in cls.__dataclass_fields__))


def evaluate(model: TRM, task: Task, examples: Examples, batch_size: int = 256, limit: int = 0, max_steps: int | None = None, threshold: float = 0.0) -> dict[str, Any]:
    """Metrics of ``model`` on ``examples`` (the first ``limit`` if > 0): exact accuracy for the
    official protocol (all steps) and for adaptive halting, token accuracy (each example's share of
    right tokens, averaged over examples as the reference does, so a large ARC grid weighs no more
    than a small one), the mean steps adaptive halting takes, the halting head's accuracy
    (q_halt >= 0 exactly when the final answer is right, the reference's test), and
    the share of final answers the task's validators accept (above exact accuracy when puzzles
    have several solutions, e.g. mazes with several shortest paths).

    In a data-parallel run every rank predicts its shard, rank 0 scores the gathered predictions
    and every rank returns rank 0's metrics."""
    count = min(len(examples), limit) if limit > 0 else len(examples)
    start, stop = distributed.shard(count)
    mine = predict(model, task, examples, start, stop, batch_size, max_steps, threshold)
    gathered = distributed.gather_objects(mine)
    metrics = score(task, examples, Predictions.concatenate(gathered), batch_size) if gathered is not None else None
    return distributed.broadcast_object(metrics)


@torch.no_grad()
def predict(model: TRM, task: Task, examples: Examples, start: int, stop: int, batch_size: int = 256, max_steps: int | None = None, threshold: float = 0.0) -> Predictions:
    """Run every supervision step on examples ``[start, stop)`` and keep what scoring needs."""
    token_type = np.min_scalar_type(max(0, model.config.vocab_size - 1))
    parts = []
    for batch in evaluation_batches(task, examples, batch_size, start, stop):
        result = solve(model, batch.inputs, batch.puzzle_identifiers, max_steps=max_steps, halt="all", return_trajectory=True)
        adaptive, adaptive_steps = adaptive_answers(result["trajectory"], threshold)
        as_numpy = lambda tensor: tensor.cpu().numpy()  # noqa: E731
        parts.append(Predictions(
            as_numpy(result["solution"]).astype(token_type),
            as_numpy(adaptive).astype(token_type),
            as_numpy(adaptive_steps),
            as_numpy(result["trajectory"][-1]["q_hat"]),
        ))
    if not parts:
        seq_len = examples.inputs.shape[1]
        empty_tokens = np.empty((0, seq_len), dtype=token_type)
        return Predictions(empty_tokens, empty_tokens, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
    return Predictions.concatenate(parts)


def score(task: Task, examples: Examples, predictions: Predictions, batch_size: int = 256) -> dict[str, Any]:
    """The metrics of :func:`evaluate` from the predictions for the first ``len(predictions)``
    examples. Examples whose answer is unknown (no supervised token: a competition's hidden test
    outputs) are not scored, as the reference counts only those with a label."""
    count = len(predictions.answers)
    totals = {"examples": 0, "exact": 0, "token_accuracy": 0.0, "adaptive_exact": 0, "adaptive_steps": 0, "q_halt_right": 0, "valid": 0}
    first = 0
    for batch in evaluation_batches(task, examples, batch_size, 0, count):
        part = np.arange(first, first + len(batch.labels))
        first += len(batch.labels)
        mask = batch.labels != IGNORE
        known = mask.any(-1)
        part, labels, mask = part[known], batch.labels[known], mask[known]
        answers = predictions.answers[part].astype(np.int64)
        right = (answers == labels) & mask
        exact = right.sum(-1) == mask.sum(-1)
        totals["examples"] += len(part)
        totals["exact"] += int(exact.sum())
        totals["token_accuracy"] += float((right.sum(-1) / mask.sum(-1)).sum())
        totals["adaptive_exact"] += int(((predictions.adaptive_answers[part] == labels) | ~mask).all(-1).sum())
        totals["adaptive_steps"] += int(predictions.adaptive_steps[part].sum())
        totals["q_halt_right"] += int(((predictions.q_halt[part] >= 0) == exact).sum())
        totals["valid"] += count_valid(task, batch.inputs[known], answers)
    n = max(1, totals["examples"])
    return {
        "examples": totals["examples"],
        "exact_accuracy": totals["exact"] / n,
        "token_accuracy": totals["token_accuracy"] / n,
        "adaptive_exact_accuracy": totals["adaptive_exact"] / n,
        "adaptive_mean_steps": totals["adaptive_steps"] / n,
        "q_halt_accuracy": totals["q_halt_right"] / n,
        "valid_accuracy": totals["valid"] / n,
    }


def count_valid(task: Task, inputs: Any, answers: Any) -> int:
    """How many predicted answers the task's validators accept for their puzzles."""
    valid = 0
    for question, answer in zip(inputs, answers):
        puzzle = Puzzle(task.tokenizer.decode(question))
        valid += task.validate(puzzle, task.decoder.decode(answer, puzzle)).ok
    return valid


def adaptive_answers(trajectory: list[dict[str, Any]], threshold: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """From an all-steps trajectory: each sample's prediction at the first step where adaptive
    halting stops it (:func:`trmkit.act.halts`; the last step if never) and the steps that took."""
    answer = trajectory[-1]["prediction"].clone()
    steps = torch.full((answer.shape[0],), len(trajectory), dtype=torch.long, device=answer.device)
    decided = torch.zeros(answer.shape[0], dtype=torch.bool, device=answer.device)
    for entry in trajectory:
        now = halts(entry["q_hat"], threshold) & ~decided
        answer[now] = entry["prediction"][now]
        steps[now] = entry["step"]
        decided |= now
    return answer, steps
