"""The eight symmetries of the square, acting on clues and cells together.

Transposing moves every token to a fixed place (rows' clues become columns' clues), so it is a
:class:`trmkit.TokenPermutation`. Mirroring is not: a mirrored row reads its runs backwards,
and since clues are right-aligned, where a run's number lands depends on how many runs the row
has. :class:`Mirror` is therefore a transform of its own, which the plugin API allows: anything
with ``apply`` and ``invert`` on token arrays of shape ``[..., seq_len]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import trmkit

from .board import SLOTS
from .tokens import PAD, SEQ_LEN, SIDE, VOCAB_SIZE

TRANSPOSE = trmkit.TokenPermutation(np.arange(SEQ_LEN).reshape(SIDE, SIDE).T.reshape(-1), np.arange(VOCAB_SIZE))


@dataclass(frozen=True)
class Mirror:
    """Left-right mirror: cells and column clues swap sides, each row's clue is read backwards.
    It is its own inverse."""

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens)
        grid = tokens.reshape(*tokens.shape[:-1], SIDE, SIDE).copy()
        grid[..., SLOTS:] = grid[..., SLOTS:][..., ::-1]
        clues = grid[..., SLOTS:, :SLOTS]
        count = (clues != PAD).sum(-1, keepdims=True)
        slot = np.arange(SLOTS)
        # Right-aligned runs occupy slots SLOTS-count .. SLOTS-1; reverse exactly those.
        source = np.where(slot >= SLOTS - count, 2 * SLOTS - 1 - count - slot, slot)
        grid[..., SLOTS:, :SLOTS] = np.take_along_axis(clues, source, axis=-1)
        return grid.reshape(tokens.shape)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return self.apply(tokens)


MIRROR = Mirror()


class Dihedral:
    """One of the square's eight symmetries, uniformly: optionally transpose, mirror, flip
    (a flip is transpose, mirror, transpose)."""

    name = "nonogram-dihedral"

    def sample(self, rng: np.random.Generator, seq_len: int) -> trmkit.Transform:
        transpose, mirror, flip = rng.random(3) < 0.5
        parts: list[trmkit.Transform] = [TRANSPOSE] if transpose else []
        parts += [MIRROR] if mirror else []
        parts += [TRANSPOSE, MIRROR, TRANSPOSE] if flip else []
        return trmkit.compose(parts) if parts else trmkit.TokenPermutation.identity(seq_len, VOCAB_SIZE)
