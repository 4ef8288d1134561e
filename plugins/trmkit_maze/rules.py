"""The maze validator: an answer keeps the maze and marks one shortest path from S to G.

Rules, checked in this order so that the reason names the first thing wrong:

1. the answer has the maze's shape and only readable cells;
2. it keeps every wall, S and G of the puzzle and adds none;
3. the ``o`` cells with S and G form one simple 4-connected path: S and G have one path
   neighbour each, every ``o`` cell two (fewer: the path is broken there; more: it branches or
   touches itself), and no ``o`` cell lies off the path from S to G (a separate loop);
4. the path is a shortest one (its moves equal the BFS distance from S to G).

A degree check suffices for 3: a connected set whose cells have two neighbours except S and G,
which have one, is a simple path from S to G, and any other component is a loop.
"""

from __future__ import annotations

import numpy as np

from trmkit import Puzzle, Verdict

from .cells import CELL_NAMES, GOAL, OPEN, PATH, START, UNKNOWN, VOCAB_SIZE, WALL, where
from .paths import UNREACHED, distances, locate


def _first(mask: np.ndarray) -> tuple[int, int]:
    r, c = np.argwhere(mask)[0]
    return int(r), int(c)


def _neighbour_counts(on: np.ndarray) -> np.ndarray:
    padded = np.pad(on.astype(np.int8), 1)
    return padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]


def _reached(on: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    grid = np.where(on, OPEN, WALL)
    return distances(grid, start) != UNREACHED


class PathRules:
    """Checks an answer against the maze rules, with the row and column of the first fault."""

    name = "maze-shortest-path"

    def validate(self, puzzle: Puzzle, answer: object) -> Verdict:
        question = np.asarray(puzzle.question)
        answer = np.asarray(answer)
        if question.ndim != 2 or answer.shape != question.shape:
            return Verdict(False, f"the answer has shape {answer.shape}, the maze {question.shape}")
        for code, name in ((START, "S"), (GOAL, "G")):
            count = int((question == code).sum())
            if count != 1:
                return Verdict(False, f"the puzzle has {count} {name} cells; a maze has exactly one")
        (start,), (goal,) = locate(question, START), locate(question, GOAL)

        unreadable = (answer <= UNKNOWN) | (answer >= VOCAB_SIZE)
        if unreadable.any():
            return Verdict(False, f"the answer's cell at {where(*_first(unreadable))} is unreadable")
        verdict = self._keeps_the_maze(question, answer, start, goal)
        if not verdict.ok:
            return verdict
        verdict = self._one_simple_path(answer, start, goal)
        if not verdict.ok:
            return verdict
        moves = int(((answer == PATH) | (answer == START) | (answer == GOAL)).sum()) - 1
        shortest = int(distances(question, start)[goal])
        if moves != shortest:
            return Verdict(False, f"the path is not a shortest one: it takes {moves} moves, the shortest takes {shortest}")
        return Verdict(True)

    @staticmethod
    def _keeps_the_maze(question: np.ndarray, answer: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> Verdict:
        walls, kept = question == WALL, answer == WALL
        broken = walls & ~kept
        if broken.any():
            cell = _first(broken)
            if answer[cell] == PATH:
                return Verdict(False, f"the path goes through the wall at {where(*cell)}")
            return Verdict(False, f"the wall at {where(*cell)} is missing (the answer has {CELL_NAMES[int(answer[cell])]} there)")
        added = kept & ~walls
        if added.any():
            return Verdict(False, f"the answer adds a wall at {where(*_first(added))}")
        for code, name, cell in ((START, "S", start), (GOAL, "G", goal)):
            if answer[cell] != code:
                return Verdict(False, f"{name} at {where(*cell)} is missing (moved or overwritten)")
            extra = answer == code
            extra[cell] = False
            if extra.any():
                return Verdict(False, f"the answer has a second {name} at {where(*_first(extra))} ({name} is at {where(*cell)})")
        return Verdict(True)

    @staticmethod
    def _one_simple_path(answer: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> Verdict:
        marks = answer == PATH
        on = marks | (answer == START) | (answer == GOAL)
        degree = _neighbour_counts(on)
        for cell, name in ((start, "S"), (goal, "G")):
            if degree[cell] == 0:
                return Verdict(False, f"the path does not {'leave' if name == 'S' else 'reach'} {name} at {where(*cell)}")
            if degree[cell] > 1:
                return Verdict(False, f"the path branches at {name} ({where(*cell)}): {degree[cell]} path cells next to it")
        dead_ends = marks & (degree < 2)
        if dead_ends.any():
            return Verdict(False, f"the path is broken at {where(*_first(dead_ends))} (a path cell with {'no' if degree[_first(dead_ends)] == 0 else 'one'} path neighbour)")
        forks = marks & (degree > 2)
        if forks.any():
            return Verdict(False, f"the path branches or touches itself at {where(*_first(forks))}")
        stray = on & ~_reached(on, start)
        if stray.any():
            return Verdict(False, f"the path cells at {where(*_first(stray))} are not on the path from S to G (a separate loop)")
        return Verdict(True)
