"""Property tests of the maze plugin: symmetries, tokenizer, files, validator, generator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import trmkit
from trmkit.symmetry import (
    DIHEDRAL_INVERSE,
    dihedral_inverse_positions,
    dihedral_positions,
    dihedral_shape,
    dihedral_transform,
)
from trmkit_maze.augment import Dihedral
from trmkit_maze.cells import GOAL, PATH, START, TOKENIZER, WALL
from trmkit_maze.generate import MazeRecipe, mazes
from trmkit_maze.paths import distances, locate
from trmkit_maze.rules import PathRules
from trmkit_maze.text import parse, render

RULES = PathRules()
ids = st.integers(0, 7)
sides = st.integers(1, 9)
grids = st.integers(1, 12).flatmap(lambda n: hnp.arrays(np.int8, (n, n), elements=st.integers(1, 5)))


def maze_of(seed: int, size: int, min_path: int) -> tuple[np.ndarray, np.ndarray]:
    return next(mazes(np.random.default_rng(seed), MazeRecipe(size=size, min_path_length=min_path)))


@st.composite
def generated(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    size = draw(st.integers(3, 12))
    min_path = draw(st.integers(1, 2 * size - 2))
    question, answer = maze_of(draw(st.integers(0, 2**32 - 1)), size, min_path)
    return question, answer, min_path


# -- trmkit.symmetry -------------------------------------------------------------------------

@given(height=sides, width=sides, k=ids)
def test_positions_gather_the_transformed_grid(height: int, width: int, k: int) -> None:
    grid = np.arange(height * width).reshape(height, width) * 7 + 3
    moved = grid.reshape(-1)[dihedral_positions(height, width, k)]
    expected = dihedral_transform(grid, k)
    assert expected.shape == dihedral_shape(height, width, k)
    assert np.array_equal(moved, expected.reshape(-1))


@given(height=sides, width=sides, k=ids)
def test_every_transform_has_its_inverse(height: int, width: int, k: int) -> None:
    grid = np.arange(height * width).reshape(height, width)
    moved = dihedral_transform(grid, k)
    assert np.array_equal(dihedral_transform(moved, DIHEDRAL_INVERSE[k]), grid)
    back = moved.reshape(-1)[dihedral_inverse_positions(height, width, k)]
    assert np.array_equal(back, grid.reshape(-1))


def test_the_eight_transforms_are_distinct_and_form_the_reference_order() -> None:
    grid = np.arange(12).reshape(3, 4)
    assert np.array_equal(dihedral_transform(grid, 1), np.rot90(grid))
    assert np.array_equal(dihedral_transform(grid, 6), grid.T)
    assert np.array_equal(dihedral_transform(grid, 7), np.rot90(grid, 2).T)  # the anti-diagonal mirror
    square = np.arange(16).reshape(4, 4)
    assert len({dihedral_transform(square, k).tobytes() for k in range(8)}) == 8
    with pytest.raises(ValueError):
        dihedral_positions(3, 3, 8)


@given(k=ids, side=st.integers(1, 10))
def test_dihedral_token_permutations_invert(k: int, side: int) -> None:
    forward = Dihedral.transform(k, side * side)
    tokens = np.random.default_rng(k).integers(0, 6, size=(2, side * side))
    assert np.array_equal(forward.invert(forward.apply(tokens)), tokens)
    undo = Dihedral.transform(DIHEDRAL_INVERSE[k], side * side)
    assert np.array_equal(undo.apply(forward.apply(tokens)), tokens)


# -- tokenizer and files ---------------------------------------------------------------------

@given(grid=grids)
def test_tokenizer_round_trips(grid: np.ndarray) -> None:
    tokens = TOKENIZER.encode(grid)
    assert tokens.shape == (grid.size,)
    assert np.array_equal(TOKENIZER.decode(tokens), grid)
    assert np.array_equal(TOKENIZER.encode(TOKENIZER.decode(tokens)), tokens)


def test_tokens_are_the_reference_ids() -> None:
    (puzzle,) = parse("#S\nGo\n", "t")
    assert TOKENIZER.encode(puzzle.question).tolist() == [1, 3, 4, 5]
    (spaced,) = parse("# \n..\n", "t")
    assert TOKENIZER.encode(spaced.question).tolist() == [1, 2, 2, 2]


@given(grid=grids)
def test_plain_rendering_parses_back(grid: np.ndarray) -> None:
    (puzzle,) = parse(render(grid), "r")
    assert np.array_equal(puzzle.question, grid)
    assert isinstance(render(grid, color=True), str)


@settings(max_examples=300)
@given(text=st.text() | st.text(alphabet="# .SGo\n,\r\t\"xq") | st.text(alphabet="#.SG\n", max_size=2000))
def test_the_parser_raises_only_input_errors(text: str) -> None:
    try:
        puzzles = parse(text, "fuzz")
    except trmkit.InputError:
        return
    for puzzle in puzzles:
        assert puzzle.question.ndim == 2 and puzzle.question.shape[0] == puzzle.question.shape[1] <= 30


@given(grid=grids)
def test_the_validator_never_raises_on_a_grid_and_gives_reasons(grid: np.ndarray) -> None:
    question = np.where(grid == PATH, 2, grid).astype(np.int8)
    verdict = RULES.validate(trmkit.Puzzle(question), grid)
    assert isinstance(verdict, trmkit.Verdict) and (verdict.ok or verdict.reason)


# -- generator and augmentation --------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(case=generated())
def test_generated_mazes_meet_their_minimum_and_their_answers_are_valid(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    question, answer, min_path = case
    (start,), (goal,) = locate(question, START), locate(question, GOAL)
    assert distances(question, start)[goal] >= min_path
    assert not (question == PATH).any()
    assert np.array_equal(question == WALL, answer == WALL)
    assert RULES.validate(trmkit.Puzzle(question), answer).ok


@settings(max_examples=40, deadline=None)
@given(case=generated(), k=ids)
def test_augmented_answers_solve_augmented_mazes(case: tuple[np.ndarray, np.ndarray, int], k: int) -> None:
    question, answer, _ = case
    transform = Dihedral.transform(k, question.size)
    moved_q, moved_a = (TOKENIZER.decode(transform.apply(TOKENIZER.encode(g))) for g in (question, answer))
    assert np.array_equal(moved_q, dihedral_transform(question, k))
    verdict = RULES.validate(trmkit.Puzzle(moved_q), moved_a)
    assert verdict.ok, verdict.reason
