"""From a model's tokens to an answer, and answers to people (text, colour) and to JSON."""

from __future__ import annotations

from typing import Any

import numpy as np

from trmkit import InputError, Puzzle

from .cells import GRID_DTYPE, TOKENIZER, UNKNOWN
from .text import plain_rows, render


class Decoder:
    """Reads a predicted grid as it stands (the validator says what is wrong with it)."""

    def decode(self, tokens: np.ndarray, puzzle: Puzzle) -> np.ndarray:
        try:
            return TOKENIZER.decode(tokens)
        except InputError:  # a prediction of the wrong length: show it as unreadable cells
            shape = np.asarray(puzzle.question).shape
            return np.full(shape, UNKNOWN, dtype=GRID_DTYPE)

    def render(self, grid: Any, *, color: bool = False) -> str:
        return render(grid, color=color)

    def to_json(self, grid: Any) -> list[str]:
        """Rows as strings, ``.`` for open cells (as the plain rendering)."""
        return plain_rows(grid)
