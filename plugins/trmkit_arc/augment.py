"""ARC augmentation (trm-reference.md section 4): a dihedral transform and a permutation of the
colours 1-9 (black, 0, stays), one of each per task version, applied to every pair of the task.

The engine draws both from one seeded generator per (seed, task, version) and composes them
(colours first; undone in reverse order, as the reference evaluator does), so a version is the
same on every run and never stored. Colours are a :class:`trmkit.TokenPermutation` of the token
values; a dihedral transform moves a grid whose size varies from pair to pair, so it reads the
grid off the canvas, turns it with :mod:`trmkit.symmetry` and writes it back in the top-left
corner with its EOS border.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trmkit import TokenPermutation
from trmkit.symmetry import DIHEDRAL_INVERSE, dihedral_transform

from .canvas import COLOUR_OFFSET, PAD, VOCAB_SIZE, crop, encode, side_of


class Colours:
    """Draws a permutation of the colours 1-9 (PAD, EOS and black keep their tokens)."""

    name = "colours"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        side_of(seq_len)
        return self.transform(np.concatenate([[0], 1 + rng.permutation(9)]), seq_len)

    @staticmethod
    def transform(mapping: np.ndarray, seq_len: int) -> TokenPermutation:
        """Colour ``c`` becomes ``mapping[c]``, as a token permutation."""
        values = np.arange(VOCAB_SIZE)
        values[COLOUR_OFFSET:] = np.asarray(mapping) + COLOUR_OFFSET
        return TokenPermutation(np.arange(seq_len), values)


@dataclass(frozen=True)
class DihedralTransform:
    """Dihedral transform ``k`` (ids of :mod:`trmkit.symmetry`) of the grid on each canvas.

    Exact on canvases that encode a grid; a model's messy prediction is read the lenient way
    (:func:`trmkit_arc.canvas.crop`) first, so that undoing a version never fails.
    """

    k: int

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return _per_canvas(tokens, self.k)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return _per_canvas(tokens, DIHEDRAL_INVERSE[self.k])


def _per_canvas(tokens: np.ndarray, k: int) -> np.ndarray:
    tokens = np.asarray(tokens)
    rows = tokens.reshape(-1, tokens.shape[-1])
    side = side_of(rows.shape[-1])
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        grid = crop(row)
        out[i] = encode(dihedral_transform(grid, k), side) if grid.size else np.full_like(row, PAD)
    return out.reshape(tokens.shape)


class Dihedral:
    """Draws one of the 8 dihedral transforms uniformly."""

    name = "dihedral"

    def sample(self, rng: np.random.Generator, seq_len: int) -> DihedralTransform:
        side_of(seq_len)
        return DihedralTransform(int(rng.integers(8)))
