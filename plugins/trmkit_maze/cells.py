"""The maze alphabet: cell codes, their characters, and the tokenizer.

A maze grid is a square ``int8`` array of cell codes. The codes are the reference's token ids
(PAD 0, ``#`` 1, space 2, ``S`` 3, ``G`` 4, ``o`` 5; ``dataset/build_maze_dataset.py``), so the
tokenizer is a reshape and a model's prediction is a grid as it stands. Code 0 never occurs in a
puzzle; it stands for a cell the model left unreadable (PAD), and renders as ``?``.
"""

from __future__ import annotations

import math

import numpy as np

from trmkit import InputError

UNKNOWN, WALL, OPEN, START, GOAL, PATH = 0, 1, 2, 3, 4, 5
VOCAB_SIZE = 6
#: Largest side the reference model reads (seq_len 900).
MAX_SIZE = 30
GRID_DTYPE = np.int8

#: The reference charset (Maze-Hard CSV files), indexed by code.
REFERENCE_CHARS = "?# SGo"
#: What trmkit writes: "." for open cells, because rows of spaces do not survive editors
#: (trailing spaces get stripped, an all-open row looks like the blank line between mazes).
PLAIN_CHARS = "?#.SGo"
#: What the parser reads: both open-cell spellings.
CHAR_CODES = {"#": WALL, " ": OPEN, ".": OPEN, "S": START, "G": GOAL, "o": PATH}
CELL_NAMES = {UNKNOWN: "unreadable", WALL: "wall", OPEN: "open", START: "S", GOAL: "G", PATH: "path"}


def where(row: int, column: int) -> str:
    """A cell's name in messages (1-based, as people count rows and columns)."""
    return f"row {row + 1}, column {column + 1}"


def side_of(cells: int) -> int:
    """The side N of a square maze of ``cells`` cells; InputError when ``cells`` is no square."""
    side = math.isqrt(cells)
    if side * side != cells or side < 1:
        raise InputError(f"{cells} cells do not make a square maze")
    return side


class Tokenizer:
    """Grid <-> token ids, row-major, length N*N; exact (the codes are the token ids)."""

    def encode(self, grid: np.ndarray) -> np.ndarray:
        grid = np.asarray(grid)
        if grid.ndim != 2 or grid.shape[0] != grid.shape[1]:
            raise InputError(f"a maze is a square grid, got shape {grid.shape}")
        return grid.astype(np.int64).reshape(-1)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens).reshape(-1)
        side = side_of(tokens.shape[0])
        codes = np.where((tokens >= 0) & (tokens < VOCAB_SIZE), tokens, UNKNOWN)
        return codes.astype(GRID_DTYPE).reshape(side, side)


TOKENIZER = Tokenizer()
