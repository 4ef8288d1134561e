"""The Sudoku solver and generator: exact answers, proper puzzles, determinism, diversity."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trmkit import InputError, Puzzle
from trmkit_sudoku import count_solutions, generate, parse_puzzles, solve
from trmkit_sudoku.generator import generate_flat, puzzle_rng
from trmkit_sudoku.options import MAX_BLANKS
from trmkit_sudoku.rules import SudokuValidator, solution_problem
from trmkit_sudoku.solver import random_full_grid_flat, solutions

# A classic newspaper puzzle and its solution.
EASY = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
EASY_SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
# "AI Escargot" (hard for people) and a 17-given puzzle built to defeat naive backtracking.
HARD = [
    "1....7.9..3..2...8..96..5....53..9...1..8...26....4...3......1..4......7..7...3..",
    "..............3.85..1.2.......5.7.....4...1...9.......5......73..2.1........4...9",
]


def grid(text: str) -> np.ndarray:
    return parse_puzzles(text, "test")[0].question


def test_solve_known_puzzle() -> None:
    assert np.array_equal(solve(grid(EASY)), grid(EASY_SOLUTION))
    assert count_solutions(grid(EASY)) == 1


@pytest.mark.parametrize("text", HARD)
def test_hard_puzzles_are_solved_and_unique(text: str) -> None:
    puzzle = grid(text)
    answer = solve(puzzle)
    assert answer is not None
    assert solution_problem(puzzle, answer) is None
    assert count_solutions(puzzle, limit=5) == 1


def test_count_solutions_limits() -> None:
    empty = np.zeros((9, 9), dtype=int)
    assert count_solutions(empty) == 2
    assert count_solutions(empty, limit=7) == 7
    assert count_solutions(grid(EASY_SOLUTION)) == 1
    found = solutions(empty, limit=3)
    assert len(found) == 3
    assert len({g.tobytes() for g in found}) == 3
    for answer in found:
        assert solution_problem(empty, answer) is None


def test_unsolvable_and_contradictory_grids() -> None:
    contradictory = np.zeros((9, 9), dtype=int)
    contradictory[0, 0] = contradictory[0, 5] = 5
    assert solve(contradictory) is None
    assert count_solutions(contradictory) == 0
    # no contradiction among the givens, yet no solution: r1c9 can hold nothing
    stuck = np.zeros((9, 9), dtype=int)
    stuck[0, :8] = [1, 2, 3, 4, 5, 6, 7, 8]
    stuck[8, 8] = 9
    assert solve(stuck) is None


@pytest.mark.parametrize(
    "bad", [None, "abc", [[1, 2], [3]], np.zeros((9, 8), int), np.full((9, 9), 10), np.zeros((9, 9)) + 0.5]
)
def test_solver_rejects_non_grids(bad: object) -> None:
    with pytest.raises(InputError):
        solve(bad)


def test_random_full_grids_are_valid_and_diverse() -> None:
    rng = random.Random(0)
    seen = set()
    for _ in range(40):
        full = random_full_grid_flat(rng)
        assert solution_problem(None, np.array(full)) is None
        # canonical under digit relabelling: a shuffled base pattern would collapse here
        relabel = {digit: index + 1 for index, digit in enumerate(full[:9])}
        seen.add(tuple(relabel[v] for v in full))
    assert len(seen) == 40


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), blanks=st.integers(0, 52))
def test_generated_puzzles_are_proper(seed: int, blanks: int) -> None:
    question, solution = generate_flat(puzzle_rng(seed, "test", 0), blanks)
    question_grid, solution_grid = np.array(question).reshape(9, 9), np.array(solution).reshape(9, 9)
    assert question.count(0) == blanks
    assert count_solutions(question_grid) == 1
    assert SudokuValidator().validate(Puzzle(question_grid), solution_grid).ok
    assert np.array_equal(solve(question_grid), solution_grid)


def test_generate_is_deterministic_and_seeded() -> None:
    q1, a1 = generate(6, 30, 50, seed=3)
    q2, a2 = generate(6, 30, 50, seed=3)
    q3, _ = generate(6, 30, 50, seed=4)
    assert q1.shape == a1.shape == (6, 9, 9) and q1.dtype == np.int8
    assert np.array_equal(q1, q2) and np.array_equal(a1, a2)
    assert not np.array_equal(q1, q3)
    blanks = (q1 == 0).sum(axis=(1, 2))
    assert ((blanks >= 30) & (blanks <= 50)).all()
    # puzzle i does not depend on how many are generated
    q4, _ = generate(2, 30, 50, seed=3)
    assert np.array_equal(q4, q1[:2])


def test_many_blanks_still_proper() -> None:
    question, solution = generate_flat(puzzle_rng(0, "hard", 0), 56)
    assert question.count(0) == 56
    assert count_solutions(np.array(question)) == 1


def test_generate_refuses_impossible_blanks() -> None:
    with pytest.raises(ValueError):
        generate_flat(random.Random(0), MAX_BLANKS + 1)
    with pytest.raises(ValueError):
        generate(1, 40, 30, seed=0)
