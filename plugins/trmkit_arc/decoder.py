"""From a model's canvas to an answer, votes to attempts, attempts to a Kaggle submission."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trmkit import Puzzle
from trmkit.voting import rank_by_votes

from .build import ArcOptions, task_names
from .canvas import crop
from .text import render


def grid_key(grid: np.ndarray) -> tuple:
    """Identical grids vote together (shape and cells)."""
    grid = np.asarray(grid)
    return grid.shape, grid.tobytes()


class Decoder:
    """Reads a prediction as the reference evaluator does (the largest top-left rectangle of
    colour tokens) and ranks the answers of a task's augmented versions by votes."""

    def decode(self, tokens: np.ndarray, puzzle: Puzzle) -> np.ndarray:
        return crop(tokens)

    def render(self, grid: Any, *, color: bool = False) -> str:
        return render(grid, color=color)

    def to_json(self, grid: Any) -> list[list[int]]:
        return np.asarray(grid).astype(int).tolist()

    def aggregate(self, candidates: Sequence[tuple[Any, float]]) -> list[Any]:
        """Distinct answers of one test input's versions: most votes first, ties broken by the
        higher mean confidence (the reference's rule); unreadable canvases get no vote."""
        readable = [(grid, confidence) for grid, confidence in candidates if np.asarray(grid).size]
        return rank_by_votes(readable, key=grid_key)

    def submission(self, attempts: dict[int, list[list[Any]]], builder_options: dict[str, Any]) -> dict[str, Any]:
        """The Kaggle ``submission.json``: for every task, one ``{"attempt_1", "attempt_2"}`` per
        test input, in order. ``attempts`` maps a group (task) to its test inputs' ranked answers;
        a missing attempt is filled with the first one, or ``[[0]]`` when there is none."""
        names = task_names(ArcOptions(**builder_options))
        result: dict[str, Any] = {}
        for group in sorted(attempts):
            entries = []
            for ranked in attempts[group]:
                grids = [self.to_json(grid) for grid in ranked[:2]] or [[[0]]]
                entries.append({"attempt_1": grids[0], "attempt_2": grids[1] if len(grids) > 1 else grids[0]})
            result[names[group]] = entries
        return result
