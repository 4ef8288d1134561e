"""Every picture that fits a Nonogram's clues (up to a limit), by rows with column pruning.

The generator uses it to tell puzzles with one answer from puzzles with several, and tests use
it to find a second answer the validator must accept.
"""

from __future__ import annotations

from functools import cache
from itertools import product

from .board import EMPTY, FILLED, SIZE, UNKNOWN, Board, Clue, runs


@cache
def lines_with(clue: Clue) -> tuple[str, ...]:
    """Every line of SIZE cells whose runs are ``clue``."""
    return tuple(line for line in ("".join(cells) for cells in product(EMPTY + FILLED, repeat=SIZE)) if runs(line) == clue)


def could_continue(prefix: str, clue: Clue) -> bool:
    """Whether a column's first cells ``prefix`` can still end up with the runs ``clue``."""
    found = runs(prefix)
    open_run = prefix.endswith(FILLED)
    closed = found[:-1] if open_run else found
    if closed != clue[: len(closed)] or len(found) > len(clue):
        return False
    rest = clue[len(closed) :]
    if open_run:
        if found[-1] > rest[0]:
            return False
        needed = rest[0] - found[-1] + sum(rest[1:]) + len(rest[1:])
    else:
        needed = sum(rest) + len(rest) - 1 if rest else 0
    return needed <= SIZE - len(prefix)


def solutions(question: Board, limit: int = 2) -> list[tuple[str, ...]]:
    """Up to ``limit`` pictures with the question's clues that keep its given cells."""
    candidates = [
        [line for line in lines_with(clue) if all(g in (UNKNOWN, c) for g, c in zip(given, line))]
        for clue, given in zip(question.rows, question.cells)
    ]
    found: list[tuple[str, ...]] = []

    def extend(rows: tuple[str, ...]) -> None:
        if len(found) >= limit:
            return
        if len(rows) == SIZE:
            found.append(rows)
            return
        for line in candidates[len(rows)]:
            grown = (*rows, line)
            if all(could_continue("".join(row[c] for row in grown), question.cols[c]) for c in range(SIZE)):
                extend(grown)

    extend(())
    return found
