"""Reading and writing Sudoku puzzle files.

Accepted (a file may hold many puzzles):

- one puzzle per line, 81 characters;
- 9 lines of 9 characters per puzzle (blank lines between puzzles optional);
- printed grids: spaces between cells, ``|`` between boxes, lines of ``-``, ``+``, ``=`` or
  box-drawing characters between bands, as books and websites print them;
- CSV in the Sudoku-Extreme layout ``source,question,answer,rating`` (header optional), which
  also carries answers.

Digits are 1-9; ``.`` or ``0`` is a blank. Lines starting with ``#`` are comments (not in CSV).
Whatever the input, parsing either returns puzzles or raises :class:`trmkit.InputError` saying
``source:line`` (and the column, for an illegal character): it never raises anything else, since
``trmkit solve`` hands it whatever file a user points it at.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

import trmkit.grids as grids
from trmkit import InputError, Puzzle

from .board import CELLS, GRID_DTYPE, SIZE
from .rules import as_grid, duplicate_mask, first_duplicate, solution_problem, solved_mask

#: Characters of a cell and their value (0 = blank).
CHARMAP: dict[str, int] = {".": 0, "0": 0, **{str(d): d for d in range(1, SIZE + 1)}}
ALLOWED = "digits 1-9, and '.' or '0' for a blank"
#: Dropped between the cells of a row: spacing and the bars between boxes.
_CELL_SEPARATORS = " \t\f\v|│┃║"
#: A line made only of these (and spacing) separates bands of a printed grid.
_RULE_CHARS = set("-+|=_" "─━│┃┼╋┿╂├┤┠┨┝┥┌┐└┘┏┓┗┛┬┴┯┷┳┻═║╬╠╣╦╩╔╗╚╝") | set(_CELL_SEPARATORS)
_DROP = str.maketrans("", "", _CELL_SEPARATORS)
_VALID = frozenset(CHARMAP)
_CHUNK = 65536  # grids checked at once by the vectorised rules (bounds temporary memory)


def parse_puzzles(text: str, source: str) -> list[Puzzle]:
    """Every puzzle in ``text`` (any format listed above); ``source`` names it in errors.

    Questions are int8 9x9 grids (0 = blank); answers come only from CSV. Givens of a puzzle
    (a grid with blanks) that break a rule (two 5s in a row) are refused here, since no answer
    could ever satisfy them; a full grid may be an answer ('trmkit check' reads answers with
    this parser), which the rules judge.
    """
    grids.check_text(text, source)
    if not text.strip():
        raise InputError(f"{source}: no puzzles found (the text is empty)")
    if grids.looks_like_csv(text):
        return _parse_csv(text, source)
    return _parse_grids(text, source)


def _parse_grids(text: str, source: str) -> list[Puzzle]:
    strings: list[str] = []
    starts: list[int] = []
    for block in grids.split_blocks(text):
        pending: list[str] = []
        pending_start = 0
        for number, raw in enumerate(block.lines, block.line):
            stripped = raw.strip()
            if stripped.startswith("#") or _RULE_CHARS.issuperset(stripped):
                continue  # comment, or a rule between bands
            cells = raw.translate(_DROP)
            if not _VALID.issuperset(cells):
                column = next(i for i, ch in enumerate(raw) if ch not in _CELL_SEPARATORS and ch not in _VALID)
                raise InputError(
                    f"{source}:{number}:{column + 1}: illegal character {raw[column]!r} (allowed: {ALLOWED})"
                )
            if len(cells) == SIZE:
                if not pending:
                    pending_start = number
                pending.append(cells)
                if len(pending) == SIZE:
                    strings.append("".join(pending))
                    starts.append(pending_start)
                    pending = []
            elif len(cells) == CELLS and not pending:
                strings.append(cells)
                starts.append(number)
            elif len(cells) == CELLS:
                raise InputError(
                    f"{source}:{number}: a whole puzzle on one line inside a grid that has "
                    f"{len(pending)} of its 9 rows so far"
                )
            else:
                raise InputError(
                    f"{source}:{number}: {len(cells)} cells; expected a row of 9, or a puzzle of 81 on one line"
                )
            if len(strings) > grids.MAX_PUZZLES:
                raise InputError(f"{source}: more than {grids.MAX_PUZZLES:,} puzzles; split it into smaller files")
        if pending:
            raise InputError(
                f"{source}:{pending_start}: a grid with only {len(pending)} of its 9 rows "
                "(a grid has 9 rows of 9 cells)"
            )
    if not strings:
        raise InputError(f"{source}: no puzzles found (only comments and separator lines)")
    where = [f"{source}:{line}" for line in starts]
    questions = grids.strings_to_grids(strings, CHARMAP, (SIZE, SIZE), where=where.__getitem__, allowed=ALLOWED)
    _check_givens(questions, where)
    return [Puzzle(question, None, place) for question, place in zip(questions, where)]


def _parse_csv(text: str, source: str) -> list[Puzzle]:
    rows = grids.read_csv_rows(text, source)
    where = [f"{source}:{row.line}" for row in rows]
    questions = grids.strings_to_grids(
        [row.question.strip() for row in rows],
        CHARMAP,
        (SIZE, SIZE),
        where=lambda i: f"{where[i]} (question)",
        allowed=ALLOWED,
    )
    answered = [i for i, row in enumerate(rows) if row.answer is not None]
    answers: list[np.ndarray | None] = [None] * len(rows)
    if answered:
        solved = grids.strings_to_grids(
            [rows[i].answer.strip() for i in answered],  # type: ignore[union-attr]
            CHARMAP,
            (SIZE, SIZE),
            where=lambda k: f"{where[answered[k]]} (answer)",
            allowed=ALLOWED,
        )
        index = np.array(answered)
        for start in range(0, len(index), _CHUNK):
            part = index[start : start + _CHUNK]
            ok = solved_mask(questions[part], solved[start : start + _CHUNK])
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                i = int(part[k])
                problem = solution_problem(questions[i], solved[start + k])
                raise InputError(f"{where[i]}: the answer does not solve the question: {problem}")
        for k, i in enumerate(answered):
            answers[i] = solved[k]
    unanswered = [i for i, answer in enumerate(answers) if answer is None]
    if unanswered:
        _check_givens(questions[unanswered], [where[i] for i in unanswered])
    return [Puzzle(question, answer, place) for question, answer, place in zip(questions, answers, where)]


def _check_givens(questions: np.ndarray, where: list[str]) -> None:
    """Refuse puzzles whose givens contradict each other; full grids (answers) pass."""
    for start in range(0, len(questions), _CHUNK):
        part = questions[start : start + _CHUNK]
        bad = np.flatnonzero(duplicate_mask(part) & (part == 0).any(axis=(1, 2)))
        if bad.size:
            i = start + int(bad[0])
            raise InputError(f"{where[i]}: contradictory givens: {first_duplicate(questions[i])}")


# -- writing ------------------------------------------------------------------------------------
def checked_grid(grid: Any) -> np.ndarray:
    """``grid`` as a 9x9 int8 array of 0-9, or InputError: what the writers accept."""
    flat = as_grid(grid)
    if flat is None or flat.min() < 0 or flat.max() > SIZE:
        raise InputError("a Sudoku grid is a 9x9 array of integers 0-9 (0 = blank)")
    return flat.astype(GRID_DTYPE).reshape(SIZE, SIZE)


def _rows(grid: Any) -> list[str]:
    flat = checked_grid(grid).reshape(CELLS)
    line = "".join("." if v == 0 else str(v) for v in flat.tolist())
    return [line[r * SIZE : (r + 1) * SIZE] for r in range(SIZE)]


def to_line(grid: Any) -> str:
    """One line of 81 characters, '.' for blanks (the densest format)."""
    return "".join(_rows(grid))


def to_rows(grid: Any) -> str:
    """9 lines of 9 characters, '.' for blanks (what ``render`` prints without colour)."""
    return "\n".join(_rows(grid))


def to_pretty(grid: Any) -> str:
    """A printed grid: spaces between cells, '|' between boxes, '------+-------+------' rules."""
    lines = []
    for r, row in enumerate(_rows(grid)):
        if r and r % 3 == 0:
            lines.append("------+-------+------")
        lines.append(" | ".join(" ".join(row[c : c + 3]) for c in range(0, SIZE, 3)))
    return "\n".join(lines)


_RESET = "\x1b[0m"
_DIGIT = "\x1b[1m{}" + _RESET  # bold
_BLANK = "\x1b[2m." + _RESET  # dim
_LINE = "\x1b[90m{}" + _RESET  # grey


def to_color(grid: Any) -> str:
    """A boxed grid for a terminal, with ANSI colours (the CLI echoes it when stdout is a tty).

    Digits are bold, blanks dim dots, box lines grey. With the escape codes removed the text
    still parses back (box-drawing lines are separators, '│' separates boxes).
    """

    def rule(left: str, middle: str, right: str) -> str:
        return _LINE.format(left + middle.join(["───────"] * 3) + right)

    bar = _LINE.format("│")
    lines = [rule("┌", "┬", "┐")]
    for r, row in enumerate(_rows(grid)):
        if r and r % 3 == 0:
            lines.append(rule("├", "┼", "┤"))
        cells = [_BLANK if char == "." else _DIGIT.format(char) for char in row]
        boxes = [" ".join(cells[c : c + 3]) for c in range(0, SIZE, 3)]
        lines.append(bar + " " + f" {bar} ".join(boxes) + " " + bar)
    lines.append(rule("└", "┴", "┘"))
    return "\n".join(lines)


def to_csv(puzzles: Iterable[Puzzle], origin: str = "trmkit") -> str:
    """Puzzles as Sudoku-Extreme CSV (with header); the answer column is empty when unknown."""
    lines = ["source,question,answer,rating"]
    for puzzle in puzzles:
        answer = to_line(puzzle.answer) if puzzle.answer is not None else ""
        lines.append(f"{origin},{to_line(puzzle.question)},{answer},")
    return "\n".join(lines) + "\n"
