"""The symmetries of Sudoku used for augmentation, one augmenter each (the reference's set).

Each maps valid grids to valid grids and puzzles with one solution to puzzles with one solution,
so a transformed (puzzle, solution) pair is another correct training example:

- relabelling the digits 1-9 (blank and PAD keep their tokens),
- transposing the grid (with probability 1/2),
- permuting the three bands and the three rows inside each band,
- permuting the three stacks and the three columns inside each stack.

All are :class:`trmkit.TokenPermutation`, so the engine folds them into one gather per example
and inverts them exactly. The engine composes them in the order the plugin lists them.
"""

from __future__ import annotations

import numpy as np

from trmkit import TokenPermutation

from .board import BOX, CELLS, SIZE
from .codec import OFFSET, VOCAB_SIZE

_INDEX = np.arange(CELLS).reshape(SIZE, SIZE)


def _check(seq_len: int) -> None:
    if seq_len != CELLS:
        raise ValueError(f"Sudoku augmenters work on {CELLS} tokens, not {seq_len}")


def _identity_values() -> np.ndarray:
    return np.arange(VOCAB_SIZE)


def _line_order(rng: np.random.Generator) -> np.ndarray:
    """A random order of 9 lines that keeps bands together: bands shuffled, lines within each."""
    return np.concatenate([band * BOX + rng.permutation(BOX) for band in rng.permutation(BOX)])


class DigitRelabel:
    """Replace the digits 1-9 by a random permutation of them (same for puzzle and solution)."""

    name = "sudoku.digits"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        _check(seq_len)
        values = _identity_values()
        values[OFFSET + 1 :] = OFFSET + 1 + rng.permutation(SIZE)
        return TokenPermutation(np.arange(CELLS), values)


class Transpose:
    """Swap rows and columns, with probability ``p`` (1/2 as in the reference)."""

    name = "sudoku.transpose"

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        _check(seq_len)
        flip = rng.random() < self.p
        positions = _INDEX.T.reshape(CELLS) if flip else np.arange(CELLS)
        return TokenPermutation(positions.copy(), _identity_values())


class BandRows:
    """Permute the three bands, and the three rows inside each band."""

    name = "sudoku.rows"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        _check(seq_len)
        return TokenPermutation(_INDEX[_line_order(rng), :].reshape(CELLS), _identity_values())


class StackColumns:
    """Permute the three stacks, and the three columns inside each stack."""

    name = "sudoku.columns"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        _check(seq_len)
        return TokenPermutation(_INDEX[:, _line_order(rng)].reshape(CELLS), _identity_values())


def augmenters() -> list[DigitRelabel | Transpose | BandRows | StackColumns]:
    """The reference's augmentation, in its order: digits, transpose, bands/rows, stacks/columns."""
    return [DigitRelabel(), Transpose(), BandRows(), StackColumns()]
