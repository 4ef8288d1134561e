"""Seeded generation of proper Sudoku puzzles (exactly one solution) with a chosen number of blanks.

Method: fill a random full grid with the randomised solver and blank ``blanks`` random cells
(never all four corners of a swappable rectangle, the commonest cause of a second solution). Ask
the solver for a second solution; while there is one, give back a cell where the two differ,
which rules it out. Then blank that many other cells again one at a time, keeping each only if
the puzzle stays proper. Up to about 50 blanks a puzzle is proper at once or after a few
repairs; beyond that the one-at-a-time phase does more of the work, and a fresh grid is drawn
when it runs out of cells to try.

Randomness comes from a ``random.Random`` (the solver's inner loop calls it per branch, where a
numpy generator would be slower); :func:`puzzle_rng` derives one from a seed and an index so
that puzzle ``i`` of a seed is the same whatever else is generated.
"""

from __future__ import annotations

import random

import numpy as np

from .board import BOX, CELLS, COLUMNS, GRID_DTYPE, ROWS, SIZE
from .options import MAX_BLANKS
from .solver import random_full_grid_flat, solutions_flat


def puzzle_rng(seed: int, stream: str, index: int) -> random.Random:
    """The generator for puzzle ``index`` of ``stream`` ("train", "test") under ``seed``.

    String seeds are hashed with SHA-512 by ``random``, so this is stable across processes and
    Python versions (unlike ``hash()``).
    """
    return random.Random(f"trmkit-sudoku:{seed}:{stream}:{index}")


def generate_flat(rng: random.Random, blanks: int) -> tuple[list[int], list[int]]:
    """One proper puzzle with exactly ``blanks`` blank cells and its solution, as flat lists."""
    if not 0 <= blanks <= MAX_BLANKS:
        raise ValueError(f"blanks must lie in 0..{MAX_BLANKS}, got {blanks}")
    while True:
        solution = random_full_grid_flat(rng)
        order = list(range(CELLS))
        rng.shuffle(order)
        # Cells where two solutions differ form an "unavoidable set": a proper puzzle keeps at
        # least one of them given. The smallest ones (rectangles) are known up front and kept
        # from being blanked whole; the others are learnt from the solver as they turn up.
        unavoidable = _rectangles(solution)
        question, spare = _dig(solution, order, blanks, unavoidable)
        # 1. give back one cell of each second solution found, until the puzzle is proper
        missing = 0
        while (other := _second_solution(question, solution)) is not None:
            differing = [cell for cell in range(CELLS) if other[cell] != solution[cell]]
            unavoidable.append(differing)
            restore = rng.choice(differing)
            question[restore] = solution[restore]
            missing += 1
        # 2. blank as many other cells again, one at a time, keeping only those that keep it proper
        while missing and spare:
            cell = spare.pop()
            if _last_given(question, cell, unavoidable):
                continue  # blanking it would bring a known second solution back
            question[cell] = 0
            other = _second_solution(question, solution)
            if other is None:
                missing -= 1
            else:
                # a failed cell never works later either: fewer givens only add solutions
                question[cell] = solution[cell]
                unavoidable.append([c for c in range(CELLS) if other[c] != solution[c]])
        if not missing:
            return question, solution


def _second_solution(question: list[int], solution: list[int]) -> list[int] | None:
    """A solution of ``question`` other than ``solution``, or None when the puzzle is proper."""
    found = solutions_flat(question, 2, hidden=False)
    for candidate in found:
        if candidate != solution:
            return candidate
    return None


def _last_given(question: list[int], cell: int, unavoidable: list[list[int]]) -> bool:
    """Whether ``cell`` is the only given left in one of the known unavoidable sets."""
    return any(
        cell in cells and all(question[other] == 0 for other in cells if other != cell) for cells in unavoidable
    )


def _rectangles(solution: list[int]) -> list[list[int]]:
    """The 4-cell unavoidable sets of a full grid: digits a, b at the corners of a rectangle.

    In two rows of one band (or two columns of one stack), cells holding a b / b a can swap
    their digits and the grid stays valid, so a puzzle that blanks all four has two solutions.
    """
    found = []
    for lines in (ROWS, COLUMNS):
        for first_line in range(SIZE):
            first = lines[first_line]
            # the other line of the same band (or stack), below (or right of) this one
            for second_line in range(first_line + 1, first_line - first_line % BOX + BOX):
                second = lines[second_line]
                for i in range(SIZE):
                    a, b = solution[first[i]], solution[second[i]]
                    for j in range(i + 1, SIZE):
                        if solution[first[j]] == b and solution[second[j]] == a:
                            found.append([first[i], first[j], second[i], second[j]])
    return found


def _dig(
    solution: list[int], order: list[int], blanks: int, unavoidable: list[list[int]]
) -> tuple[list[int], list[int]]:
    """Blank ``blanks`` cells in ``order``, skipping cells that would empty a known unavoidable set.

    Returns the question and the cells left given (in order), the spares the repair loop may
    blank later. If too few cells can be blanked safely, the rest are blanked regardless.
    """
    sets_of: list[list[int]] = [[] for _ in range(CELLS)]
    for index, cells in enumerate(unavoidable):
        for cell in cells:
            sets_of[cell].append(index)
    given_left = [len(cells) for cells in unavoidable]
    question = solution[:]
    spare = []
    count = 0
    for cell in order:
        if count < blanks and all(given_left[index] > 1 for index in sets_of[cell]):
            question[cell] = 0
            count += 1
            for index in sets_of[cell]:
                given_left[index] -= 1
        else:
            spare.append(cell)
    while count < blanks:
        question[spare.pop()] = 0
        count += 1
    return question, spare


def generate(
    count: int, min_blanks: int, max_blanks: int, seed: int, stream: str = "puzzles", start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` proper puzzles and their solutions as int8 arrays [count, 9, 9].

    Puzzle ``i`` is drawn from ``puzzle_rng(seed, stream, start + i)`` with a number of blanks
    uniform in ``min_blanks..max_blanks``: deterministic, and independent of ``count``.
    """
    if not 0 <= min_blanks <= max_blanks <= MAX_BLANKS:
        raise ValueError(f"need 0 <= min_blanks <= max_blanks <= {MAX_BLANKS}, got {min_blanks}..{max_blanks}")
    questions = np.empty((count, CELLS), dtype=GRID_DTYPE)
    answers = np.empty((count, CELLS), dtype=GRID_DTYPE)
    for i in range(count):
        rng = puzzle_rng(seed, stream, start + i)
        question, solution = generate_flat(rng, rng.randint(min_blanks, max_blanks))
        questions[i] = question
        answers[i] = solution
    return questions.reshape(count, SIZE, SIZE), answers.reshape(count, SIZE, SIZE)
