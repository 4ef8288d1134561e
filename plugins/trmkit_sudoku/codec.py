"""Grids to tokens and back (the tokenizer), and model output to answers people read (the decoder).

The token layout is the reference's, so datasets and checkpoints are interchangeable with it:
cell value ``v`` (0 = blank, 1..9) is token ``v + 1``, row-major over 81 positions; token 0 is
PAD and never appears in a Sudoku example. Vocabulary 11.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trmkit import InputError, Puzzle

from .board import CELLS, GRID_DTYPE, SIZE
from .formats import checked_grid, to_color, to_rows

PAD = 0
BLANK = 1
VOCAB_SIZE = 11
OFFSET = 1  # token = value + OFFSET


def encode_grids(grids: np.ndarray) -> np.ndarray:
    """Many grids [N, 9, 9] (values 0-9) to tokens [N, 81] int64, in one step."""
    grids = np.asarray(grids)
    return grids.reshape(len(grids), CELLS).astype(np.int64) + OFFSET


class SudokuTokenizer:
    """Exact conversion between 9x9 grids (0 = blank) and 81 tokens (blank = 1, digit d = d + 1)."""

    def encode(self, grid: Any) -> np.ndarray:
        """Tokens of ``grid`` as int64[81]; InputError unless it is 9x9 (or 81) integers 0-9."""
        return checked_grid(grid).reshape(CELLS).astype(np.int64) + OFFSET

    def decode(self, tokens: Any) -> np.ndarray:
        """The int8 9x9 grid of 81 tokens; InputError on the wrong length or a token outside 1-10.

        Strict on purpose: this is the exact inverse of :meth:`encode`. Model predictions go
        through the lenient :meth:`SudokuDecoder.decode` instead.
        """
        try:
            array = np.asarray(tokens)
        except (TypeError, ValueError):
            raise InputError("Sudoku tokens must be an array of 81 integers") from None
        if array.size != CELLS or array.dtype.kind not in "iu":
            raise InputError(f"Sudoku tokens must be 81 integers, got shape {array.shape} of {array.dtype}")
        flat = array.reshape(CELLS).astype(np.int64)
        bad = np.flatnonzero((flat < BLANK) | (flat >= VOCAB_SIZE))
        if bad.size:
            position = int(bad[0])
            raise InputError(f"token {flat[position]} at position {position} is not a Sudoku cell token (1-10)")
        return (flat - OFFSET).astype(GRID_DTYPE).reshape(SIZE, SIZE)


class SudokuDecoder:
    """Reads a model's 81 predicted tokens as a grid; prints grids plainly, in colour or as JSON."""

    def decode(self, tokens: Any, puzzle: Puzzle) -> np.ndarray:
        """The predicted grid; never raises. A token that is not a digit (2-10) reads as 0 (unknown).

        The givens are not copied over the prediction: the validator should see, and report,
        a model that changed one.
        """
        grid = np.zeros(CELLS, dtype=GRID_DTYPE)
        try:
            values = np.asarray(tokens, dtype=np.float64).reshape(-1)[:CELLS]
        except (TypeError, ValueError):
            return grid.reshape(SIZE, SIZE)
        with np.errstate(invalid="ignore"):
            digit = np.isfinite(values) & (values == np.round(values)) & (values >= 2) & (values < VOCAB_SIZE)
        grid[: len(values)][digit] = values[digit].astype(np.int64) - OFFSET
        return grid.reshape(SIZE, SIZE)

    def render(self, grid: Any, *, color: bool = False) -> str:
        """Plain: 9 lines of 9 characters, '.' for blanks (parses back). Colour: a boxed ANSI grid."""
        return to_color(grid) if color else to_rows(grid)

    def to_json(self, grid: Any) -> list[list[int]]:
        """Nine lists of nine ints (0 = blank)."""
        return checked_grid(grid).astype(int).tolist()
