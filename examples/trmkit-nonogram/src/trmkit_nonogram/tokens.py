"""Boards as tokens: the clues sit around the cells, as on a printed Nonogram.

The sequence is a (SLOTS + SIZE) square read row by row. Its bottom-right SIZE x SIZE block
holds the cells; the SLOTS columns to their left hold each row's clue, right-aligned; the SLOTS
rows above hold each column's clue, bottom-aligned; the top-left corner is padding. An answer
has no clues: its clue slots are padding, which the loss ignores, so the model is trained on
the cells alone while it reads the clues.
"""

from __future__ import annotations

import numpy as np

import trmkit

from .board import EMPTY, FILLED, SIZE, SLOTS, UNKNOWN, Board, Clue
from .text import render, to_json

SIDE = SLOTS + SIZE
SEQ_LEN = SIDE * SIDE
PAD, UNKNOWN_ID, EMPTY_ID, FILLED_ID = 0, 1, 2, 3
CLUE_BASE = 4  # clue value v (0 for an empty line) is token CLUE_BASE + v
VOCAB_SIZE = CLUE_BASE + SIZE + 1
CELL_IDS = {UNKNOWN: UNKNOWN_ID, EMPTY: EMPTY_ID, FILLED: FILLED_ID}
CELL_OF_ID = {ids: cell for cell, ids in CELL_IDS.items()}


class Tokenizer:
    """Exact both ways for every board; tokens that no board makes decode leniently."""

    def encode(self, board: Board) -> np.ndarray:
        grid = np.full((SIDE, SIDE), PAD, dtype=np.int64)
        grid[SLOTS:, SLOTS:] = [[CELL_IDS[cell] for cell in row] for row in board.cells]
        if board.has_clues:
            for index, (row, col) in enumerate(zip(board.rows, board.cols)):
                grid[SLOTS + index, SLOTS - len(row or (0,)) : SLOTS] = clue_tokens(row)
                grid[SLOTS - len(col or (0,)) : SLOTS, SLOTS + index] = clue_tokens(col)
        return grid.reshape(-1)

    def decode(self, tokens: np.ndarray) -> Board:
        grid = np.asarray(tokens).reshape(SIDE, SIDE)
        cells = cells_of(grid)
        row_slots, col_slots = grid[SLOTS:, :SLOTS], grid[:SLOTS, SLOTS:].T
        if not (row_slots.any() or col_slots.any()):
            return Board(None, None, cells)
        return Board(tuple(map(clue_of, row_slots)), tuple(map(clue_of, col_slots)), cells)


def clue_tokens(clue: Clue) -> list[int]:
    return [CLUE_BASE + value for value in (clue or (0,))]


def clue_of(slots: np.ndarray) -> Clue:
    values = tuple(int(token) - CLUE_BASE for token in slots if token >= CLUE_BASE)
    return () if values == (0,) else values


def cells_of(grid: np.ndarray) -> tuple[str, ...]:
    return tuple("".join(CELL_OF_ID.get(int(token), UNKNOWN) for token in row) for row in grid[SLOTS:, SLOTS:])


TOKENIZER = Tokenizer()


class Decoder:
    """A model's answer is its cells; whatever it wrote in the clue slots is ignored."""

    def decode(self, tokens: np.ndarray, puzzle: trmkit.Puzzle) -> Board:
        return Board(None, None, cells_of(np.asarray(tokens).reshape(SIDE, SIDE)))

    def render(self, board: Board, *, color: bool = False) -> str:
        return render(board, color=color)

    def to_json(self, board: Board) -> dict:
        return to_json(board)
