"""The validator: an answer is right when every row and column has the runs its clue gives.

A Nonogram's clues may fit several pictures, and every one of them is a right answer; so this
checks the rules, never equality with the picture the puzzle was made from.
"""

from __future__ import annotations

import trmkit

from .board import SIZE, UNKNOWN, Board, Clue, runs


def show(clue: Clue) -> str:
    return " ".join(map(str, clue)) or "0"


class ClueRules:
    name = "nonogram-clues"

    def validate(self, puzzle: trmkit.Puzzle, answer: Board) -> trmkit.Verdict:
        question = puzzle.question
        if not isinstance(question, Board) or not question.has_clues:
            return trmkit.Verdict(False, "the puzzle has no clues to check against")
        cells = getattr(answer, "cells", None)
        if not isinstance(cells, tuple) or len(cells) != SIZE or any(len(row) != SIZE for row in cells):
            return trmkit.Verdict(False, f"the answer is not {SIZE} rows of {SIZE} cells")
        for r, (given, row) in enumerate(zip(question.cells, cells)):
            for c, (want, got) in enumerate(zip(given, row)):
                if got == UNKNOWN:
                    return trmkit.Verdict(False, f"cell r{r + 1}c{c + 1} is left undecided")
                if want != UNKNOWN and want != got:
                    return trmkit.Verdict(False, f"cell r{r + 1}c{c + 1} changes the given '{want}'")
        board = Board(None, None, cells)
        for kind, clues, line in (("row", question.rows, lambda i: cells[i]), ("column", question.cols, board.column)):
            for index, clue in enumerate(clues):
                found = runs(line(index))
                if found != clue:
                    return trmkit.Verdict(False, f"{kind} {index + 1} has runs {show(found)}, its clue is {show(clue)}")
        return trmkit.Verdict(True)
