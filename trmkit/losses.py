"""Losses and metrics of deep supervision (the official ``models/losses.py``).

The answer loss is stable-max cross entropy by default (the official code and the paper's
appendix), averaged over each sequence's supervised tokens and summed over the batch; the halting
head learns, by binary cross entropy, whether the whole answer is already right.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100


def stablemax(x: torch.Tensor) -> torch.Tensor:
    """s(x) = x + 1 for x >= 0 and 1 / (1 - x) below: positive, but grows only linearly, which
    keeps late-training logits from blowing up the way exp does.

    The negative branch reads ``min(x, 0)``: ``torch.where`` differentiates both branches, and
    at a logit of exactly 1 the unused ``1 / (1 - x)`` would be infinite, its zero-weighted
    gradient NaN (it happened: step 54 of a Sudoku run). Values are unchanged."""
    return torch.where(x < 0, 1 / (1 - x.clamp(max=0)), x + 1)


def log_stablemax(logits: torch.Tensor) -> torch.Tensor:
    s = stablemax(logits)
    return torch.log(s / s.sum(dim=-1, keepdim=True))


def token_losses(logits: torch.Tensor, labels: torch.Tensor, kind: str = "stablemax") -> torch.Tensor:
    """Per-token cross entropy [B, L] (0 where the label is IGNORE), in float64 for stable-max."""
    mask = labels != IGNORE
    safe_labels = torch.where(mask, labels, 0)
    if kind == "stablemax":
        logp = log_stablemax(logits.to(torch.float64))
    else:
        logp = F.log_softmax(logits.float(), dim=-1)
    picked = logp.gather(-1, safe_labels.unsqueeze(-1)).squeeze(-1)
    return -torch.where(mask, picked, 0)


def act_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    q_halt: torch.Tensor,
    kind: str = "stablemax",
    q_loss_weight: float = 0.5,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
    """Loss of one supervision step, summed over the batch.

    Returns (total, parts, sequence_correct): total = lm + q_loss_weight * q_halt, where lm is
    each sequence's mean token loss (summed over sequences) and q_halt is the BCE of the halting
    logit against "every supervised token is right".
    """
    counts = (labels != IGNORE).sum(-1)
    _, sequence_correct = accuracy_parts(logits, labels)
    lm = (token_losses(logits, labels, kind) / counts.clamp_min(1).unsqueeze(-1)).sum()
    q = F.binary_cross_entropy_with_logits(q_halt, sequence_correct.to(q_halt.dtype), reduction="sum")
    total = lm + q_loss_weight * q
    return total, {"lm_loss": lm.detach(), "q_halt_loss": q.detach()}, sequence_correct


def accuracy_parts(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sequence: the fraction of supervised tokens right, and whether all of them are."""
    mask = labels != IGNORE
    counts = mask.sum(-1)
    correct = (mask & (logits.argmax(-1) == labels)).sum(-1)
    return correct / counts.clamp_min(1), correct == counts
