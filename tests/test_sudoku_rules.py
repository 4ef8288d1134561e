"""The Sudoku validator: accepts solutions, rejects each kind of error naming the cell or unit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trmkit import Puzzle
from trmkit_sudoku import generate
from trmkit_sudoku.rules import SudokuValidator, duplicate_mask, first_duplicate, solution_problem, solved_mask

QUESTIONS, ANSWERS = generate(10, 30, 50, seed=2)
VALIDATOR = SudokuValidator()


def verdict(question: np.ndarray, answer: object):
    return VALIDATOR.validate(Puzzle(question), answer)


def blank_cells(question: np.ndarray) -> list[tuple[int, int]]:
    return [tuple(int(v) for v in cell) for cell in np.argwhere(question == 0)]


def test_accepts_the_solution_in_any_array_form() -> None:
    for question, answer in zip(QUESTIONS, ANSWERS):
        assert verdict(question, answer).ok
    assert verdict(QUESTIONS[0], ANSWERS[0].tolist()).ok
    assert verdict(QUESTIONS[0], ANSWERS[0].reshape(81).astype(float)).ok
    assert verdict(None, ANSWERS[0]).ok  # rules only


def test_empty_cell() -> None:
    answer = ANSWERS[0].copy()
    r, c = blank_cells(QUESTIONS[0])[0]
    answer[r, c] = 0
    result = verdict(QUESTIONS[0], answer)
    assert not result.ok and result.reason == f"r{r + 1}c{c + 1} is empty"
    answer[blank_cells(QUESTIONS[0])[1]] = 0
    assert verdict(QUESTIONS[0], answer).reason == f"r{r + 1}c{c + 1} is empty (and 1 more empty cells)"


def test_changed_given() -> None:
    answer = ANSWERS[0].copy()
    r, c = (int(v) for v in np.argwhere(QUESTIONS[0] != 0)[0])
    old = int(answer[r, c])
    answer[r, c] = old % 9 + 1
    assert verdict(QUESTIONS[0], answer).reason == f"r{r + 1}c{c + 1} changes given {old} to {old % 9 + 1}"


def test_repeated_digit_in_a_row() -> None:
    # swap two blank cells of one column: that column stays complete, their rows repeat digits
    question, answer = QUESTIONS[1], ANSWERS[1].copy()
    for c in range(9):
        rows = [r for r in range(9) if question[r, c] == 0]
        if len(rows) >= 2:
            break
    r1, r2 = rows[:2]
    answer[r1, c], answer[r2, c] = answer[r2, c], answer[r1, c]
    reason = verdict(question, answer).reason
    assert reason.startswith("digit ") and " appears twice in row " in reason
    assert f"r{min(r1, r2) + 1}c" in reason


def test_repeated_digit_in_a_column() -> None:
    question, answer = QUESTIONS[2], ANSWERS[2].copy()
    for r in range(9):
        cols = [c for c in range(9) if question[r, c] == 0]
        if len(cols) >= 2:
            break
    c1, c2 = cols[:2]
    answer[r, c1], answer[r, c2] = answer[r, c2], answer[r, c1]
    reason = verdict(question, answer).reason
    assert " appears twice in column " in reason and f"r{r + 1}c{c1 + 1}" in reason


def test_repeated_digit_in_a_box_only() -> None:
    latin = (np.arange(9)[:, None] + np.arange(9)[None, :]) % 9 + 1  # rows, columns fine; boxes not
    result = verdict(np.zeros((9, 9), int), latin)
    assert result.reason == "digit 2 appears twice in box 1 (r1c2, r2c1)"
    assert first_duplicate(latin) == result.reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (None, "the answer is not a 9x9 grid of digits (got NoneType"),
        ("123", "the answer is not a 9x9 grid of digits (got str"),
        ([[1, 2], [3]], "the answer is not a 9x9 grid of digits"),
        (np.zeros((9, 8), int), "the answer is not a 9x9 grid of digits (got ndarray of shape (9, 8))"),
        (np.full((9, 9), 0.5), "the answer is not a 9x9 grid"),
        (np.full((9, 9), np.nan), "the answer is not a 9x9 grid"),
    ],
)
def test_rejects_non_grids(answer: object, reason: str) -> None:
    result = verdict(QUESTIONS[0], answer)
    assert not result.ok and result.reason.startswith(reason)


def test_values_outside_the_digits() -> None:
    answer = ANSWERS[0].astype(int).copy()
    answer[4, 4] = 12
    assert verdict(np.zeros((9, 9), int), answer).reason == "r5c5 holds 12, not a digit 1-9"
    answer[4, 4] = -1
    assert verdict(np.zeros((9, 9), int), answer).reason == "r5c5 holds -1, not a digit 1-9"


def test_vectorised_checks_agree_with_the_validator() -> None:
    rng = np.random.default_rng(0)
    answers = np.repeat(ANSWERS, 4, axis=0).astype(np.int8)
    questions = np.repeat(QUESTIONS, 4, axis=0)
    for i in range(0, len(answers), 2):  # break every other one at a random cell
        r, c = rng.integers(0, 9, 2)
        answers[i, r, c] = rng.integers(0, 10)
    expected = np.array([solution_problem(q, a) is None for q, a in zip(questions, answers)])
    assert np.array_equal(solved_mask(questions, answers), expected)
    assert expected.sum() >= len(answers) // 2


@settings(max_examples=60, deadline=None)
@given(grid=st.lists(st.integers(0, 9), min_size=81, max_size=81))
def test_duplicate_mask_agrees_with_first_duplicate(grid: list[int]) -> None:
    array = np.array(grid, dtype=np.int8).reshape(1, 9, 9)
    assert bool(duplicate_mask(array)[0]) == (first_duplicate(array[0]) is not None)
