"""The rules of Sudoku: a validator that says which cell breaks which rule, and vectorised checks.

The validator judges answers from anywhere (a model, a file, a user), so it accepts any object
and explains the first problem in Sudoku terms ("r2c7 changes given 4 to 6") instead of raising.
The vectorised checks answer "which of these N grids break a rule?" for the parser and the
dataset builder, which see up to millions of grids; the per-grid functions then explain the
first offender.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trmkit import Puzzle, Verdict

from .board import CELLS, SIZE, UNIT_INDEX, UNIT_NAMES, UNITS, cell_name


def as_grid(value: Any) -> np.ndarray | None:
    """``value`` as a flat int64 array of 81 integers, or None if it cannot be one.

    Accepts 9x9 or flat grids of integers (or of integral floats); anything else (ragged lists,
    strings, None, NaN) is None, so the validator can say so instead of raising.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.shape not in ((SIZE, SIZE), (CELLS,)):
        return None
    if array.dtype.kind in "iu":
        return array.reshape(CELLS).astype(np.int64)
    if array.dtype.kind == "f":
        flat = array.reshape(CELLS)
        if np.all(np.isfinite(flat)) and np.all(flat == np.round(flat)) and np.all(np.abs(flat) < 2**31):
            return flat.astype(np.int64)
    return None


def _describe(value: Any) -> str:
    try:
        return f"{type(value).__name__} of shape {np.shape(value)}"
    except Exception:  # noqa: BLE001 - describing a bad answer must not fail
        return type(value).__name__


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


def first_duplicate(grid: Any) -> str | None:
    """The first digit repeated in a row, column or box (blanks ignored), described; else None.

    Example: ``"digit 5 appears twice in row 3 (r3c1, r3c8)"``.
    """
    flat = as_grid(grid)
    if flat is None:
        return "not a 9x9 grid"
    for unit, name in zip(UNITS, UNIT_NAMES):
        seen: dict[int, list[int]] = {}
        for cell in unit:
            if flat[cell]:
                seen.setdefault(int(flat[cell]), []).append(cell)
        for digit, cells in sorted(seen.items()):
            if len(cells) > 1:
                places = ", ".join(cell_name(cell) for cell in cells)
                return f"digit {digit} appears {_times(len(cells))} in {name} ({places})"
    return None


def solution_problem(question: Any, answer: Any) -> str | None:
    """Why ``answer`` does not solve ``question`` (the first problem found), or None if it does.

    Checks, in order: the answer is a 9x9 grid of digits 1-9 (no blanks), it keeps every given
    of the question, and no row, column or box repeats a digit (so each holds 1-9 exactly once).
    ``question`` may be None when only the rules matter.
    """
    flat = as_grid(answer)
    if flat is None:
        return f"the answer is not a 9x9 grid of digits (got {_describe(answer)})"
    outside = np.flatnonzero((flat < 0) | (flat > SIZE))
    if outside.size:
        cell = int(outside[0])
        return f"{cell_name(cell)} holds {flat[cell]}, not a digit 1-9"
    empty = np.flatnonzero(flat == 0)
    if empty.size:
        more = f" (and {empty.size - 1} more empty cells)" if empty.size > 1 else ""
        return f"{cell_name(int(empty[0]))} is empty{more}"
    if question is not None:
        givens = as_grid(question)
        if givens is None:
            return "the puzzle is not a 9x9 grid"
        changed = np.flatnonzero((givens != 0) & (givens != flat))
        if changed.size:
            cell = int(changed[0])
            return f"{cell_name(cell)} changes given {givens[cell]} to {flat[cell]}"
    return first_duplicate(flat)


def duplicate_mask(grids: np.ndarray) -> np.ndarray:
    """For grids [N, 9, 9] (0 = blank), which ones repeat a digit within a row, column or box."""
    grids = np.asarray(grids).reshape(-1, CELLS)
    units = np.sort(grids[:, UNIT_INDEX], axis=-1)  # [N, 27, 9]
    repeated = (units[..., 1:] == units[..., :-1]) & (units[..., 1:] > 0)
    return repeated.any(axis=(1, 2))


def solved_mask(questions: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """For N puzzles and answers [N, 9, 9], which answers are complete, valid and keep the givens."""
    questions = np.asarray(questions).reshape(-1, CELLS)
    answers = np.asarray(answers).reshape(-1, CELLS)
    filled = ((answers >= 1) & (answers <= SIZE)).all(axis=1)
    kept = ((questions == 0) | (questions == answers)).all(axis=1)
    units = np.sort(answers[:, UNIT_INDEX], axis=-1)
    complete = (units == np.arange(1, SIZE + 1)).all(axis=(1, 2))
    return filled & kept & complete


class SudokuValidator:
    """The Sudoku rules: a full grid of 1-9, every row, column and box complete, givens kept.

    Any valid completion is accepted, not only the answer stored with the puzzle: a proper
    puzzle has just one, and for an improper one every completion is a correct answer.
    """

    name = "sudoku.rules"

    def validate(self, puzzle: Puzzle, answer: Any) -> Verdict:
        problem = solution_problem(puzzle.question, answer)
        return Verdict(True) if problem is None else Verdict(False, problem)
