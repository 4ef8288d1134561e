"""Deep supervision with learned halting (adaptive computation time), for training and inference.

Training follows the official scheme (the ACT wrapper of ``models/recursive_reasoning/trm.py``): a
*carry* of batch slots persists across optimizer steps. Every step runs one supervision step for
every slot; a slot that halted takes a fresh sample from the incoming batch and restarts from the
init vectors, the others keep their sample and their (y, z). A slot halts when q_halt > 0 or at the
step cap; with probability ``halt_exploration_prob`` it is first made to run a random minimum of
2..N_sup steps.

Inference halts each sample as soon as q_halt > 0 (``halt="adaptive"``; the threshold can be
raised) and gives its batch slot to the next waiting puzzle, or runs every step as the official
evaluation does (``halt="all"``).
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


def as_tokens(puzzle: Any, model: TRM, what: str = "puzzle", vocabulary: bool = True) -> torch.Tensor:
    """Token ids [B, seq_len] on the model's device from an array, tensor or (nested) list, or
    one puzzle's [seq_len]. Anything else is a ValueError saying what is wrong, raised here
    rather than as an index or shape error from deep inside the network; ``vocabulary``: the ids
    must also be tokens of the model's vocabulary."""
    given = _integers(puzzle, what)
    tokens = given.unsqueeze(0) if given.dim() == 1 else given
    seq_len = model.config.seq_len
    if tokens.dim() != 2 or tokens.shape[1] != seq_len:
        raise ValueError(f"{what} must be token ids of shape [batch, {seq_len}] or [{seq_len}] for this model, got {list(given.shape)}")
    if vocabulary:
        _check_range(tokens, model.config.vocab_size, f"{what} token ids")
    return tokens.to(model.y_init.device)


def puzzle_rows(identifiers: Any, model: TRM, count: int) -> torch.Tensor:
    """The puzzle-embedding rows of ``count`` puzzles, checked as :func:`as_tokens` checks tokens."""
    rows = _integers(identifiers, "puzzle_identifiers").reshape(-1)
    if rows.numel() != count:
        raise ValueError(f"puzzle_identifiers needs one entry per puzzle ({count}), got {rows.numel()}")
    _check_range(rows, model.config.num_puzzle_identifiers, "puzzle_identifiers")
    return rows.to(model.y_init.device)


def _integers(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{what} must be token ids, not text: read text with the task's parser (task.spec.parse) and encode it with its tokenizer")
    if torch.is_tensor(value):
        integral, kind = not (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool), str(value.dtype)
    else:
        value = np.asarray(value)
        integral, kind = bool(np.issubdtype(value.dtype, np.integer)), str(value.dtype)
    if not integral:
        raise ValueError(f"{what} must hold integers, got {kind}")
    return torch.as_tensor(value, dtype=torch.long)


def _check_range(values: torch.Tensor, size: int, what: str) -> None:
    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= size):
        raise ValueError(f"{what} must lie in 0..{size - 1} for this model, got {int(values.min())}..{int(values.max())}")


@torch.inference_mode()
def solve(
    model: TRM,
    puzzle: Any,
    puzzle_identifiers: Any = None,
    max_steps: int | None = None,
    halt: str = "adaptive",
    return_trajectory: bool = False,
    threshold: float = 0.0,
    batch_size: int = 0,
) -> dict[str, Any]:
    """Answer a batch of puzzles (token ids [B, seq_len]).

    Returns ``solution`` (token ids), ``confidence`` (sigmoid of q_halt when the sample stopped),
    ``steps`` (supervision steps used) and, if asked, ``trajectory``: one entry per step with
    ``step``, ``q_hat`` [B] and ``prediction`` [B, seq_len] (samples that already stopped keep
    their final values, ``active`` marks those still thinking).
    With ``halt="adaptive"`` a sample stops once q_halt > ``threshold`` (see :func:`halts`) and
    leaves the batch, so finished samples cost nothing; ``halt="all"`` runs every step (the
    official evaluation protocol). ``batch_size`` (0: all at once) caps how many puzzles run
    together: a stopped puzzle's place goes to the next waiting one, so the batch stays full.
    """
    if halt not in ("adaptive", "all"):
        raise ValueError(f"halt must be 'adaptive' or 'all', not {halt!r}")
    device = model.y_init.device
    inputs = as_tokens(puzzle, model)
    count = inputs.shape[0]
    ids = torch.zeros(count, dtype=torch.long, device=device) if puzzle_identifiers is None else puzzle_rows(puzzle_identifiers, model, count)
    max_steps = max_steps or model.config.halt_max_steps
    slots = count if batch_size <= 0 else min(batch_size, count)

    solution = torch.zeros_like(inputs)
    q_hat = torch.zeros(count, device=device)
    steps = torch.zeros(count, dtype=torch.long, device=device)
    history: list[tuple[torch.Tensor, ...]] = []
    running = torch.arange(slots, device=device)  # the puzzle in each slot
    waiting = slots  # the next puzzle to take a free slot
    slot_steps = torch.zeros(slots, dtype=torch.long, device=device)
    y, z = (t.to(device) for t in model.initial_carry(slots))
    was_training = model.training
    model.eval()
    try:
        while running.numel():
            y, z, logits, q_halt, _ = model(y, z, inputs[running], ids[running])
            slot_steps += 1
            prediction = logits.argmax(-1)
            solution[running], q_hat[running], steps[running] = prediction, q_halt, slot_steps
            if return_trajectory:
                history.append((running, slot_steps.clone(), q_halt, prediction))
            done = slot_steps >= max_steps
            if halt == "adaptive":
                done |= halts(q_halt, threshold)
            if done.any():
                keep = ~done
                fresh = min(int(done.sum()), count - waiting)
                running = torch.cat([running[keep], torch.arange(waiting, waiting + fresh, device=device)])
                waiting += fresh
                y_init, z_init = model.initial_carry(fresh)
                y, z = torch.cat([y[keep], y_init.to(y)]), torch.cat([z[keep], z_init.to(z)])
                slot_steps = torch.cat([slot_steps[keep], slot_steps.new_zeros(fresh)])
    finally:
        model.train(was_training)
    result = {"solution": solution, "confidence": torch.sigmoid(q_hat), "steps": steps}
    if return_trajectory:
        result["trajectory"] = trajectory_entries(history, steps, inputs)
    return result


def halts(q_halt: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """The adaptive stopping rule: the halting head is sure enough, q_halt > ``threshold``.

    The official code halts on q_halt > 0 while training (``no_ACT_continue``; q_continue gets
    no loss in TRM, so it is no reference to compare with) and never early when evaluating; a
    higher threshold trades steps for accuracy (benchmarks/halting.py measures the trade).
    """
    return q_halt > threshold


def trajectory_entries(history: list[tuple[torch.Tensor, ...]], steps: torch.Tensor, inputs: torch.Tensor) -> list[dict[str, Any]]:
    """Per step k, every puzzle's state after its own k-th step (puzzles that stopped earlier keep
    their final values) from the (puzzles, their steps, q_halt, prediction) of each forward pass."""
    prediction = torch.zeros_like(inputs)
    q_hat = torch.zeros(inputs.shape[0], device=inputs.device)
    by_step: dict[int, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {}
    for running, slot_steps, q_halt, predicted in history:
        for k in slot_steps.unique().tolist():
            at = slot_steps == k
            by_step.setdefault(k, []).append((running[at], q_halt[at], predicted[at]))
    entries = []
    for k in sorted(by_step):
        for puzzles, q_halt, predicted in by_step[k]:
            q_hat[puzzles], prediction[puzzles] = q_halt, predicted
        entries.append({"step": k, "q_hat": q_hat.clone(), "prediction": prediction.clone(), "active": steps >= k})
    return entries


def deep_supervision(
    model: TRM,
    puzzle: Any,
    solution: Any,
    optimizer: torch.optim.Optimizer,
    max_steps: int = 16,
    loss: str = "stablemax",
    q_loss_weight: float = 0.5,
) -> dict[str, Any]:
    """The paper's pseudocode loop (its Figure 3) on one batch: up to ``max_steps`` supervision
    steps, each followed by its own backward pass and optimizer step, so every step improves on
    the weights the previous one left; the carry is detached between steps. A sample stops once
    its q_halt > 0 (its loss no longer counts), the batch once every sample has. Returns
    ``losses`` (each step's loss, divided by the batch size as the reference divides by its
    batch), ``loss`` (their mean), ``accuracy`` (exact answers at each sample's last step) and
    ``steps`` (how many steps each sample ran)."""
    device = model.y_init.device
    inputs = as_tokens(puzzle, model)
    labels = as_tokens(solution, model, "solution", vocabulary=False)  # may hold the ignore label
    if labels.shape != inputs.shape:
        raise ValueError(f"solution must have the puzzle's shape {list(inputs.shape)}, got {list(labels.shape)}")
    batch = inputs.shape[0]
    ids = torch.zeros(batch, dtype=torch.long, device=device)
    y, z = model.initial_carry(batch)
    running = torch.ones(batch, dtype=torch.bool, device=device)
    exact = torch.zeros(batch, dtype=torch.bool, device=device)
    steps = torch.zeros(batch, dtype=torch.long, device=device)
    losses = []
    for _ in range(max_steps):
        y, z, logits, q_halt, _ = model(y, z, inputs, ids)
        step_loss, _, _ = act_loss(logits[running], labels[running], q_halt[running], loss, q_loss_weight)
        (step_loss / batch).backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(step_loss.item() / batch)
        _, correct = accuracy_parts(logits.detach(), labels)
        exact = torch.where(running, correct, exact)
        steps = steps + running
        running = running & (q_halt.detach() <= 0)
        if not running.any():
            break
    return {"loss": sum(losses) / len(losses), "losses": losses, "accuracy": exact.float().mean().item(), "steps": steps}
