"""Evaluation: exact and token accuracy on held-out examples, under both halting protocols.

Every step is run (the official protocol, ``halt="all"``: the answer is the last step's); from the
same pass the adaptive protocol's answer (the first step whose q_halt > 0) is read off, so one
evaluation reports both without running the model twice.
"""

from __future__ import annotations

from typing import Any

import torch

from .act import solve
from .losses import IGNORE
from .model import TRM
from .sampler import evaluation_batches
from .task import Examples, Puzzle, Task


def evaluate(model: TRM, task: Task, examples: Examples, batch_size: int = 256, limit: int = 0, max_steps: int | None = None) -> dict[str, Any]:
    """Metrics of ``model`` on ``examples``: exact / token accuracy for the official protocol
    (all steps) and for adaptive halting, the mean steps adaptive halting takes, the halting
    head's accuracy (q_halt > 0 exactly when the final answer is right), and the share of final
    answers the task's validators accept (above exact accuracy when puzzles have several
    solutions, e.g. mazes with several shortest paths)."""
    device = model.y_init.device
    totals = {"examples": 0, "exact": 0, "tokens_right": 0, "tokens": 0, "adaptive_exact": 0, "adaptive_steps": 0, "q_halt_right": 0, "valid": 0}
    for batch in evaluation_batches(task, examples, batch_size, limit):
        labels = torch.as_tensor(batch.labels, device=device)
        result = solve(model, batch.inputs, batch.puzzle_identifiers, max_steps=max_steps, halt="all", return_trajectory=True)
        mask = labels != IGNORE
        right = (result["solution"] == labels) & mask
        exact = right.sum(-1) == mask.sum(-1)
        adaptive, adaptive_steps = adaptive_answers(result["trajectory"])
        totals["examples"] += len(labels)
        totals["exact"] += int(exact.sum())
        totals["tokens_right"] += int(right.sum())
        totals["tokens"] += int(mask.sum())
        totals["adaptive_exact"] += int((((adaptive == labels) | ~mask).all(-1)).sum())
        totals["adaptive_steps"] += int(adaptive_steps.sum())
        totals["q_halt_right"] += int(((result["trajectory"][-1]["q_hat"] > 0) == exact).sum())
        totals["valid"] += count_valid(task, batch.inputs, result["solution"].cpu().numpy())
    n = max(1, totals["examples"])
    return {
        "examples": totals["examples"],
        "exact_accuracy": totals["exact"] / n,
        "token_accuracy": totals["tokens_right"] / max(1, totals["tokens"]),
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


def adaptive_answers(trajectory: list[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """From an all-steps trajectory: each sample's prediction at the first step with q_halt > 0
    (the last step if it never halts) and the number of steps that took."""
    answer = trajectory[-1]["prediction"].clone()
    steps = torch.full((answer.shape[0],), len(trajectory), dtype=torch.long, device=answer.device)
    decided = torch.zeros(answer.shape[0], dtype=torch.bool, device=answer.device)
    for entry in trajectory:
        now = (entry["q_hat"] > 0) & ~decided
        answer[now] = entry["prediction"][now]
        steps[now] = entry["step"]
        decided |= now
    return answer, steps
