"""Nonogram files in and out: one block of lines per board, blocks separated by blank lines.

A question gives its clues, and optionally its cells (``?`` unknown, ``#`` or ``.`` given)::

    rows: 2, 1 1, 0, 6, 3, 1 2
    cols: 1, 2 1, ...
    ??????
    ...

An answer is its cells alone (SIZE lines of ``#`` and ``.``). ``render`` writes exactly what
``parse`` reads, so ``trmkit solve`` output can be piped into ``trmkit check``.
"""

from __future__ import annotations

import trmkit

from .board import CELL_CHARACTERS, FILLED, SIZE, Board, Clue, blank_cells

FORMATS = (
    (
        "blocks of 'rows: 2, 1 1, 0, ...' and 'cols: ...' lines (a clue per line, 0 for none), "
        f"then optionally {SIZE} lines of cells ('?' unknown, '#' filled, '.' empty)"
    ),
    f"answers: {SIZE} lines of {SIZE} cells of '#' and '.'",
)


def parse(text: str, source: str) -> list[trmkit.Puzzle]:
    """Every board in ``text``; an :class:`trmkit.InputError` names the line of anything else."""
    puzzles, block = [], []
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if line.strip():
            block.append((number, line.strip()))
        elif block:
            puzzles.append(trmkit.Puzzle(read_block(block, source), source=f"{source}:{block[0][0]}"))
            block = []
    return puzzles


def read_block(lines: list[tuple[int, str]], source: str) -> Board:
    clues: dict[str, tuple[Clue, ...]] = {}
    cells = []
    for number, line in lines:
        where = f"{source}:{number}"
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() in ("rows", "cols"):
            if cells or key.strip().lower() in clues:
                raise trmkit.InputError(f"{where}: '{key.strip()}:' must come once, before the cells")
            clues[key.strip().lower()] = read_clues(value, where)
        elif len(line) == SIZE and all(cell in CELL_CHARACTERS for cell in line):
            cells.append(line)
        else:
            raise trmkit.InputError(
                f"{where}: expected 'rows: ...', 'cols: ...' or {SIZE} cells of '#', '.' and '?', got {line[:40]!r}"
            )
    where = f"{source}:{lines[0][0]}"
    if len(clues) == 1:
        raise trmkit.InputError(f"{where}: a puzzle needs both 'rows:' and 'cols:' clues")
    if cells and len(cells) != SIZE:
        raise trmkit.InputError(f"{where}: expected {SIZE} lines of cells, got {len(cells)}")
    if not clues:
        if not cells:
            raise trmkit.InputError(f"{where}: a board without clues needs its {SIZE} lines of cells")
        return Board(None, None, tuple(cells))
    return Board(clues["rows"], clues["cols"], tuple(cells) or blank_cells())


def read_clues(text: str, where: str) -> tuple[Clue, ...]:
    parts = text.split(",")
    if len(parts) != SIZE:
        raise trmkit.InputError(f"{where}: expected {SIZE} comma-separated clues, got {len(parts)}")
    return tuple(read_clue(part, where) for part in parts)


def read_clue(text: str, where: str) -> Clue:
    words = text.split()
    if not all(word.isdigit() for word in words) or not words:
        raise trmkit.InputError(f"{where}: a clue is run lengths separated by spaces, got {text.strip()!r}")
    values = tuple(int(word) for word in words)
    if values == (0,):
        return ()
    if min(values) < 1 or sum(values) + len(values) - 1 > SIZE:
        raise trmkit.InputError(f"{where}: the runs {text.strip()!r} do not fit in a line of {SIZE} cells")
    return values


def render(board: Board, *, color: bool = False) -> str:
    """The board as ``parse`` reads it; ``color`` highlights filled cells for a terminal."""
    lines = []
    if board.has_clues:
        for key, clues in (("rows", board.rows), ("cols", board.cols)):
            lines.append(f"{key}: " + ", ".join(" ".join(map(str, clue)) or "0" for clue in clues))
    for row in board.cells:
        lines.append(row.replace(FILLED, "\x1b[1;36m#\x1b[0m") if color else row)
    return "\n".join(lines)


def to_json(board: Board) -> dict:
    data: dict = {"cells": list(board.cells)}
    if board.has_clues:
        data.update(rows=[list(clue) for clue in board.rows], cols=[list(clue) for clue in board.cols])
    return data
