"""The ARC validator: an answer is right when it equals the known output; with no known output
only its form can be checked (a grid of 1-30 x 1-30 cells of colours 0-9), and the verdict says so."""

from __future__ import annotations

import numpy as np

from trmkit import Puzzle, Verdict

from .canvas import COLOURS, MAX_SIZE


#: The note on an answer accepted for its form alone (``trmkit check`` shows it after "ok").
FORM_ONLY = "form only: no known output"


class MatchesOutput:
    """Exact match with ``puzzle.answer`` when the puzzle has one; shape and palette otherwise."""

    name = "arc-output"

    def validate(self, puzzle: Puzzle, answer: object) -> Verdict:
        grid = np.asarray(answer)
        if grid.ndim != 2 or grid.size == 0:
            return Verdict(False, "the answer is not a grid (the predicted canvas marks none)")
        height, width = grid.shape
        if height > MAX_SIZE or width > MAX_SIZE:
            return Verdict(False, f"the answer is {height}x{width}; ARC grids are at most {MAX_SIZE}x{MAX_SIZE}")
        if grid.min() < 0 or grid.max() >= COLOURS:
            return Verdict(False, f"the answer holds colour {int(grid.max() if grid.max() >= COLOURS else grid.min())}; colours are 0-9")
        if puzzle.answer is None:
            return Verdict(True, FORM_ONLY)
        expected = np.asarray(puzzle.answer)
        if grid.shape != expected.shape:
            return Verdict(False, f"the answer is {height}x{width}, the output {expected.shape[0]}x{expected.shape[1]}")
        wrong = np.argwhere(grid != expected)
        if len(wrong):
            r, c = wrong[0]
            return Verdict(False, f"{len(wrong)} cells differ from the output, first at row {r + 1}, column {c + 1} ({int(grid[r, c])}, expected {int(expected[r, c])})")
        return Verdict(True)
