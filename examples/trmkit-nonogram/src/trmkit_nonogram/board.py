"""What a Nonogram is: a square of cells and the run lengths ("clues") of its rows and columns.

A puzzle gives the clues (and perhaps a few cells); an answer gives the cells. Several pictures
can share the same clues, so an answer is right when its runs match the clues, not when it
equals the picture the puzzle was made from. Values are tuples and strings so that two boards
compare with ``==`` and can be dictionary keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

#: Side of the square. Fixed, because a task declares one sequence length.
SIZE = 6
#: Clue slots per row or column: a line of SIZE cells holds at most this many runs.
SLOTS = (SIZE + 1) // 2

FILLED, EMPTY, UNKNOWN = "#", ".", "?"
CELL_CHARACTERS = FILLED + EMPTY + UNKNOWN

Clue = tuple[int, ...]  # run lengths in reading order; () for a line without filled cells


@dataclass(frozen=True)
class Board:
    """A Nonogram question (clues, cells ``?`` or given) or an answer (cells, no clues).

    ``rows`` and ``cols`` are both None (an answer) or both SIZE clues; ``cells`` is SIZE
    strings of SIZE characters of ``#``, ``.`` and ``?``.
    """

    rows: tuple[Clue, ...] | None
    cols: tuple[Clue, ...] | None
    cells: tuple[str, ...]

    @property
    def has_clues(self) -> bool:
        return self.rows is not None

    def column(self, index: int) -> str:
        return "".join(row[index] for row in self.cells)


def runs(line: Iterable[str]) -> Clue:
    """The clue of a line of cells: the lengths of its runs of filled cells."""
    return tuple(len(list(group)) for filled, group in groupby(line, key=lambda cell: cell == FILLED) if filled)


def blank_cells() -> tuple[str, ...]:
    return (UNKNOWN * SIZE,) * SIZE


def question_of(cells: tuple[str, ...]) -> Board:
    """The puzzle whose clues are those of the picture ``cells``, with every cell unknown."""
    rows = tuple(runs(row) for row in cells)
    cols = tuple(runs(row[index] for row in cells) for index in range(SIZE))
    return Board(rows, cols, blank_cells())


def answer_of(cells: tuple[str, ...]) -> Board:
    return Board(None, None, tuple(cells))
