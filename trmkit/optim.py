"""Optimisers and schedules of the official recipe (``pretrain.py``, ``config/cfg_pretrain.yaml``;
the puzzle embeddings' sign-SGD: ``models/sparse_embedding.py``).

- AdamATan2: Adam whose update is atan2(m, sqrt(v)) instead of m / (sqrt(v) + eps), so it needs
  no epsilon and is bounded; decoupled weight decay. Pure PyTorch (the official kernel is
  CUDA-only).
- Sign-SGD for the sparse puzzle-embedding table, with decoupled weight decay on the rows seen.
- Linear warm-up then cosine decay to ``lr_min_ratio`` (1.0 = constant, the official default).
- EMA of the weights; evaluation and checkpoints use the averaged weights.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from . import distributed


class AdamATan2(torch.optim.Optimizer):
    """p <- p (1 - lr wd) - (lr / bc1) atan2(m, sqrt(v / bc2)), with bias corrections bc1, bc2."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.95), weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"].item()
                m, v = state["exp_avg"], state["exp_avg_sq"]
                grad = p.grad
                p.mul_(1 - lr * wd)
                m.lerp_(grad, 1 - beta1)
                v.lerp_(grad.square(), 1 - beta2)
                bias1 = 1 - beta1**t
                bias2 = 1 - beta2**t
                p.add_(torch.atan2(m, v.sqrt() / math.sqrt(bias2)), alpha=-lr / bias1)


class SparseSignSGD:
    """Updates only the puzzle-embedding rows the batch used: w <- w (1 - lr wd) - lr sign(g),
    where g sums the gradients of every slot that used the row.

    In a data-parallel run each rank holds a copy of the table and sees only its own slots, so the
    (identifier, gradient) pairs of every rank are gathered first, as the reference does: every
    rank then applies the same update of the global batch and the copies stay identical."""

    def __init__(self, embedding: nn.Module, lr: float, weight_decay: float) -> None:
        self.embedding = embedding
        self.lr = lr
        self.weight_decay = weight_decay

    @torch.no_grad()
    def step(self) -> None:
        local = self.embedding.local
        if local is None:
            return
        identifiers, rows = local
        self.embedding.local = None
        if rows.grad is None:
            return
        identifiers, row_grads = distributed.gather_rows(identifiers), distributed.gather_rows(rows.grad)
        unique, inverse = identifiers.unique(return_inverse=True)
        grad = torch.zeros(len(unique), rows.shape[-1], dtype=row_grads.dtype, device=rows.device)
        grad.index_add_(0, inverse, row_grads)
        table = self.embedding.weight
        updated = table[unique] * (1 - self.lr * self.weight_decay) - self.lr * grad.sign()
        table[unique] = updated.to(table.dtype)


def learning_rate(step: int, base: float, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to ``base`` over ``warmup`` steps, then cosine down to ``base * min_ratio``.
    ``step`` counts from 1 (the first optimizer step)."""
    if step < warmup:
        return base * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (min_ratio + max(0.0, (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))))


class EMA:
    """Exponential moving average of a model's parameters: shadow <- d shadow + (1 - d) p."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            self.shadow[name].lerp_(p.detach(), 1 - self.decay)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            p.copy_(self.shadow[name])
