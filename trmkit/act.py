"""Deep supervision with learned halting (adaptive computation time), for training and inference.

Training follows the official scheme (trm-reference.md section 1, "ACT wrapper"): a *carry* of
batch slots persists across optimizer steps. Every step runs one supervision step for every slot;
a slot that halted takes a fresh sample from the incoming batch and restarts from the init
vectors, the others keep their sample and their (y, z). A slot halts when q_halt > 0 or at the
step cap; with probability ``halt_exploration_prob`` it is first made to run a random minimum of
2..N_sup steps.

Inference halts each sample as soon as q_halt > 0 (``halt="adaptive"``) and drops it from the
batch, or runs every step as the official evaluation does (``halt="all"``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from .losses import IGNORE, accuracy_parts, act_loss
from .model import TRM


@dataclass
class Carry:
    """The state that travels between supervision steps, one row per batch slot."""

    y: torch.Tensor
    z: torch.Tensor
    steps: torch.Tensor  # supervision steps the slot's current sample has had
    halted: torch.Tensor  # the slot takes a new sample at the next step
    inputs: torch.Tensor
    labels: torch.Tensor
    puzzle_identifiers: torch.Tensor

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def empty_carry(model: TRM, batch_size: int, device: torch.device | str = "cpu") -> Carry:
    """A carry whose slots are all halted, so the first step fills every slot from the batch."""
    y, z = model.initial_carry(batch_size)
    seq_len = model.config.seq_len
    return Carry(
        y=y.to(device),
        z=z.to(device),
        steps=torch.zeros(batch_size, dtype=torch.int32, device=device),
        halted=torch.ones(batch_size, dtype=torch.bool, device=device),
        inputs=torch.zeros(batch_size, seq_len, dtype=torch.long, device=device),
        labels=torch.full((batch_size, seq_len), IGNORE, dtype=torch.long, device=device),
        puzzle_identifiers=torch.zeros(batch_size, dtype=torch.long, device=device),
    )


def supervision_step(
    model: TRM,
    carry: Carry,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    puzzle_identifiers: torch.Tensor,
    exploration: torch.Generator | None = None,
    slots: tuple[int, int] | None = None,
) -> tuple[Carry, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of the official ACT loop. Returns (new carry, logits, q_halt, q_continue).

    Halted slots take the batch's sample at their position; the rest of the batch is dropped.
    In training mode a slot halts on q_halt > 0 (subject to exploration); in eval mode only at the
    step cap. ``exploration`` (a CPU generator) makes the exploration draws reproducible.
    ``slots`` = (first slot, global batch size) when this carry is one rank's part of a global
    batch: the draws are made for the whole batch and this part kept, so a slot's exploration
    does not depend on how many processes share the batch.
    """
    fresh = carry.halted
    row = fresh.view(-1, 1)
    y, z = model.reset_carry(fresh, carry.y, carry.z)
    steps = torch.where(fresh, 0, carry.steps)
    inputs = torch.where(row, inputs, carry.inputs)
    labels = torch.where(row, labels, carry.labels)
    puzzle_identifiers = torch.where(fresh, puzzle_identifiers, carry.puzzle_identifiers)

    y, z, logits, q_halt, q_continue = model(y, z, inputs, puzzle_identifiers)

    with torch.no_grad():
        max_steps = model.config.halt_max_steps
        steps = steps + 1
        halted = steps >= max_steps
        if model.training and max_steps > 1:
            halted = halted | (q_halt > 0)
            first, batch = slots if slots is not None else (0, steps.shape[0])
            mine = slice(first, first + steps.shape[0])
            explore = (torch.rand(batch, generator=exploration) < model.config.halt_exploration_prob)[mine]
            minimum = torch.randint(2, max_steps + 1, (batch,), generator=exploration, dtype=steps.dtype)[mine]
            minimum = torch.where(explore, minimum, 0).to(steps.device)
            halted = halted & (steps >= minimum)
    return Carry(y, z, steps, halted, inputs, labels, puzzle_identifiers), logits, q_halt, q_continue


def as_tokens(puzzle: Any, device: torch.device) -> torch.Tensor:
    tokens = torch.as_tensor(np.asarray(puzzle) if not torch.is_tensor(puzzle) else puzzle, dtype=torch.long)
    return (tokens.unsqueeze(0) if tokens.dim() == 1 else tokens).to(device)


@torch.inference_mode()
def solve(
    model: TRM,
    puzzle: Any,
    puzzle_identifiers: Any = None,
    max_steps: int | None = None,
    halt: str = "adaptive",
    return_trajectory: bool = False,
) -> dict[str, Any]:
    """Answer a batch of puzzles (token ids [B, seq_len]).

    Returns ``solution`` (token ids), ``confidence`` (sigmoid of q_halt when the sample stopped),
    ``steps`` (supervision steps used) and, if asked, ``trajectory``: one entry per step with
    ``step``, ``q_hat`` [B] and ``prediction`` [B, seq_len] (samples that already stopped keep
    their final values, ``active`` marks those still thinking).
    With ``halt="adaptive"`` a sample stops once q_halt > 0 and leaves the batch, so finished
    samples cost nothing; ``halt="all"`` runs every step (the official evaluation protocol).
    """
    if halt not in ("adaptive", "all"):
        raise ValueError(f"halt must be 'adaptive' or 'all', not {halt!r}")
    was_training = model.training
    model.eval()
    device = model.y_init.device
    inputs = as_tokens(puzzle, device)
    batch = inputs.shape[0]
    ids = torch.zeros(batch, dtype=torch.long, device=device) if puzzle_identifiers is None else as_tokens(puzzle_identifiers, device).view(-1)
    max_steps = max_steps or model.config.halt_max_steps

    solution = torch.zeros_like(inputs)
    q_hat = torch.zeros(batch, device=device)
    steps = torch.zeros(batch, dtype=torch.long, device=device)
    trajectory = []
    active = torch.arange(batch, device=device)
    y, z = (t.to(device) for t in model.initial_carry(batch))
    for step in range(1, max_steps + 1):
        y, z, logits, q_halt, _ = model(y, z, inputs[active], ids[active])
        solution[active] = logits.argmax(-1)
        q_hat[active] = q_halt
        steps[active] = step
        if return_trajectory:
            still = torch.zeros(batch, dtype=torch.bool, device=device)
            still[active] = True
            trajectory.append({"step": step, "q_hat": q_hat.clone(), "prediction": solution.clone(), "active": still})
        if halt == "adaptive":
            keep = q_halt <= 0
            if not keep.all():
                active, y, z = active[keep], y[keep], z[keep]
            if active.numel() == 0:
                break
    model.train(was_training)
    result = {"solution": solution, "confidence": torch.sigmoid(q_hat), "steps": steps}
    if return_trajectory:
        result["trajectory"] = trajectory
    return result


def deep_supervision(
    model: TRM,
    puzzle: Any,
    solution: Any,
    max_steps: int = 16,
    loss: str = "stablemax",
    q_loss_weight: float = 0.5,
) -> dict[str, Any]:
    """The paper's pseudocode loop on one batch: supervision steps until every sample's q_halt
    says stop (or ``max_steps``). Each step's loss counts only samples still running; the carry
    is detached between steps. Returns ``loss`` (sum over steps, divided by the batch size),
    ``accuracy`` (exact answers at each sample's last step) and ``steps``."""
    device = model.y_init.device
    inputs, labels = as_tokens(puzzle, device), as_tokens(solution, device)
    batch = inputs.shape[0]
    ids = torch.zeros(batch, dtype=torch.long, device=device)
    y, z = model.initial_carry(batch)
    running = torch.ones(batch, dtype=torch.bool, device=device)
    exact = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = torch.zeros(batch, dtype=torch.long, device=device)
    total = torch.zeros((), device=device, dtype=torch.float64)
    for _ in range(max_steps):
        y, z, logits, q_halt, _ = model(y, z, inputs, ids)
        step_loss, _, _ = act_loss(logits[running], labels[running], q_halt[running], loss, q_loss_weight)
        total = total + step_loss
        _, correct = accuracy_parts(logits.detach(), labels)
        exact = torch.where(running, correct, exact)
        steps = steps + running
        running = running & (q_halt.detach() <= 0)
        if not running.any():
            break
    return {"loss": total / batch, "accuracy": exact.float().mean().item(), "steps": steps}
