"""Maze files: reading them (text blocks or Maze-Hard CSV) and writing them (plain or colour).

Text format: one maze is N lines of N characters (``#`` wall, space or ``.`` open, ``S`` start,
``G`` goal, ``o`` path), N <= 30; mazes are separated by blank lines. trmkit writes ``.`` for
open cells so that files survive editors; a row shortened by an editor that stripped its
trailing spaces is padded back with open cells (when another row shows the maze's width), and a
row of spaces inside a maze, as wide as the rows above it, is a row (not the blank line between
mazes). A maze whose first row is all spaces needs ``.``.
Lines that start with ``#`` and carry ``:`` or a lower-case letter other than ``o`` are comments
(what ``trmkit solve`` prints above each answer), so its output can be piped into ``trmkit
check``.

CSV format (Maze-Hard, ``sapientinc/maze-30x30-hard-1k``): ``source,question,answer,rating``
with a header, each grid a row-major string of N*N reference characters. A file whose first
line (comments aside) holds a comma is read as CSV.
"""

from __future__ import annotations

import math
import re

import numpy as np

import trmkit.grids as grids
from trmkit import InputError, Puzzle

from .cells import CHAR_CODES, GRID_DTYPE, MAX_SIZE, OPEN, PLAIN_CHARS

LEGEND = "'#' wall, ' ' or '.' open, 'S' start, 'G' goal, 'o' path"
_COMMENT = re.compile(r"^#.*[:a-np-z]")


def parse(text: str, source: str) -> list[Puzzle]:
    """Every maze in ``text`` (text blocks or CSV); raises InputError, naming the line, on
    anything else."""
    grids.check_text(text, source)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Not grids.looks_like_csv: a comment line above the mazes (``trmkit solve`` output) may
    # hold a comma.
    first = next((line for line in text.split("\n") if line.strip() and not _COMMENT.match(line)), "")
    if "," in first:
        return parse_csv(text, source)
    return parse_blocks(text, source)


def parse_blocks(text: str, source: str) -> list[Puzzle]:
    """Mazes written as N lines of N characters, separated by blank or comment lines."""
    puzzles: list[Puzzle] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if block and line and not line.strip(" ") and len(line) == max(len(row) for _, row in block):
            block.append((number, line))  # a row of open cells written as spaces, inside a maze
            continue
        if not line.strip() or _COMMENT.match(line):
            if block:
                puzzles.append(_block_puzzle(block, source))
                block = []
            continue
        block.append((number, line))
    if block:
        puzzles.append(_block_puzzle(block, source))
    return puzzles


def _block_puzzle(block: list[tuple[int, str]], source: str) -> Puzzle:
    first = block[0][0]
    side = len(block)
    codes = [_codes(line.rstrip(" ") if len(line) > side else line, f"{source}:{number}") for number, line in block]
    if side > MAX_SIZE:
        raise InputError(f"{source}:{first}: a maze of {side} rows; mazes have at most {MAX_SIZE} (separate mazes with a blank line)")
    widest = max(len(row) for row in codes)
    if widest != side:
        rows = f"{side} row{'s' if side != 1 else ''}"
        raise InputError(
            f"{source}:{first}: a maze of {rows} must have {side} characters per row, but its longest row has "
            f"{widest} (mazes are square; write open cells as '.' so that rows of spaces survive editors)"
        )
    grid = np.full((side, side), OPEN, dtype=GRID_DTYPE)
    for r, row in enumerate(codes):
        grid[r, : len(row)] = row
    return Puzzle(question=grid, answer=None, source=f"{source}:{first}")


def _codes(cells: str, where: str) -> list[int]:
    try:
        return [CHAR_CODES[c] for c in cells]
    except KeyError:
        bad = next(i for i, c in enumerate(cells) if c not in CHAR_CODES)
        raise InputError(f"{where}: unexpected character {cells[bad]!r} at column {bad + 1} (mazes use {LEGEND})") from None


def parse_csv(text: str, source: str) -> list[Puzzle]:
    """Rows of ``source,question,answer,rating`` (the Maze-Hard layout, read by
    :func:`trmkit.grids.read_csv_rows`); every grid of a file has the first row's size."""
    rows = grids.read_csv_rows(text, source)
    length = len(rows[0].question)
    side = math.isqrt(length)
    if side * side != length or not 1 <= side <= MAX_SIZE:
        raise InputError(
            f"{source}:{rows[0].line}: the question has {length} characters; a maze is N*N of them with "
            f"N <= {MAX_SIZE} (read as CSV because its first line holds a comma)"
        )
    where = lambda i: f"{source}:{rows[i].line}"  # noqa: E731
    questions = grids.strings_to_grids([row.question for row in rows], CHAR_CODES, (side, side), where=where, allowed=LEGEND)
    answered = [i for i, row in enumerate(rows) if row.answer is not None]
    answers = grids.strings_to_grids(
        [rows[i].answer for i in answered], CHAR_CODES, (side, side), where=lambda j: f"{where(answered[j])} (answer)", allowed=LEGEND
    )
    answer_of = dict(zip(answered, answers))
    return [Puzzle(question=questions[i], answer=answer_of.get(i), source=where(i)) for i in range(len(rows))]


# -- writing ---------------------------------------------------------------------------------

_RESET = "\x1b[0m"
#: Two characters per cell, so that the maze looks square in a terminal.
_COLOUR_CELLS = (
    "\x1b[1;35m??" + _RESET,  # unreadable
    "\x1b[47m  " + _RESET,  # wall
    "  ",  # open
    "\x1b[1;30;42mS " + _RESET,  # start
    "\x1b[1;30;41mG " + _RESET,  # goal
    "\x1b[1;33m()" + _RESET,  # path
)


def render(grid: np.ndarray, *, color: bool = False) -> str:
    """The maze as text: plain (parseable again, ``.`` for open) or coloured for a terminal."""
    codes = np.clip(np.asarray(grid, dtype=np.int64), 0, len(PLAIN_CHARS) - 1)
    if color:
        return "\n".join("".join(_COLOUR_CELLS[c] for c in row) for row in codes.tolist())
    return "\n".join(plain_rows(codes))


def plain_rows(grid: np.ndarray) -> list[str]:
    """The maze's rows as plain strings (also its JSON form)."""
    codes = np.clip(np.asarray(grid, dtype=np.int64), 0, len(PLAIN_CHARS) - 1)
    return grids.grids_to_strings(codes, PLAIN_CHARS)  # each row as a 1-row "grid"
