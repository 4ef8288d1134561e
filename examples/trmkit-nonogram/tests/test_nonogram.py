"""The Nonogram task keeps trmkit's plugin contract, and the rules a Nonogram adds to it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from trmkit_nonogram.augment import MIRROR, TRANSPOSE, Dihedral
from trmkit_nonogram.board import EMPTY, FILLED, SIZE, Board, answer_of, question_of
from trmkit_nonogram.generate import NonogramOptions, build_dataset, puzzles
from trmkit_nonogram.solver import solutions
from trmkit_nonogram.text import parse, render
from trmkit_nonogram.tokens import TOKENIZER

import trmkit
from trmkit.testing import check_task_contract

pictures = st.lists(st.text(EMPTY + FILLED, min_size=SIZE, max_size=SIZE), min_size=SIZE, max_size=SIZE).map(tuple)


def test_the_task_keeps_the_contract() -> None:
    check_task_contract("nonogram", {"num_train": 12, "num_test": 4}, max_examples=60)


def mirrored(picture: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(row[::-1] for row in picture)


def transposed(picture: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("".join(row[c] for row in picture) for c in range(SIZE))


@settings(max_examples=60, deadline=None)
@given(picture=pictures)
def test_token_symmetries_are_the_symmetries_of_the_picture(picture: tuple[str, ...]) -> None:
    tokens = TOKENIZER.encode(question_of(picture))
    assert TOKENIZER.decode(MIRROR.apply(tokens)) == question_of(mirrored(picture))
    assert TOKENIZER.decode(TRANSPOSE.apply(tokens)) == question_of(transposed(picture))
    answer = TOKENIZER.encode(answer_of(picture))
    assert TOKENIZER.decode(MIRROR.apply(answer)) == answer_of(mirrored(picture))


def test_a_mirrored_row_reads_its_runs_backwards() -> None:
    picture = ("##.#..",) + (EMPTY * SIZE,) * (SIZE - 1)
    mirrored_question = TOKENIZER.decode(MIRROR.apply(TOKENIZER.encode(question_of(picture))))
    assert question_of(picture).rows[0] == (2, 1) and mirrored_question.rows[0] == (1, 2)


def test_the_dihedral_augmenter_reaches_all_eight_symmetries() -> None:
    tokens = TOKENIZER.encode(question_of(("#.....", "##....", "......", "......", "......", "......")))
    rng = np.random.default_rng(0)
    seen = {Dihedral().sample(rng, tokens.size).apply(tokens).tobytes() for _ in range(200)}
    assert len(seen) == 8


def some_puzzle_with_several_answers() -> tuple[Board, list[tuple[str, ...]], Board]:
    for question, answer in puzzles(np.random.default_rng(0), NonogramOptions()):
        found = solutions(question, limit=2)
        if len(found) == 2:
            return question, found, answer
    raise AssertionError("unreachable: the stream is endless")


def test_every_answer_that_fits_the_clues_is_accepted_not_only_the_label() -> None:
    question, found, label = some_puzzle_with_several_answers()
    puzzle = trmkit.Puzzle(question, label)
    task = trmkit.get_task("nonogram")
    assert found[0] != found[1] and label.cells in found
    for cells in found:
        assert task.validate(puzzle, answer_of(cells)).ok


def test_a_wrong_answer_is_rejected_with_the_line_that_breaks() -> None:
    picture = ("######",) + (EMPTY * SIZE,) * (SIZE - 1)
    wrong = ("#####.",) + (EMPTY * SIZE,) * (SIZE - 1)
    verdict = trmkit.get_task("nonogram").validate(trmkit.Puzzle(question_of(picture)), answer_of(wrong))
    assert not verdict.ok and verdict.reason == "row 1 has runs 5, its clue is 6"


def test_unique_only_keeps_puzzles_with_one_answer() -> None:
    inputs = build_dataset(NonogramOptions(num_train=20, num_test=0, unique_only=True), seed=1)["train"].inputs
    assert all(len(solutions(TOKENIZER.decode(row))) == 1 for row in inputs)


def test_splits_share_no_puzzle() -> None:
    splits = build_dataset(NonogramOptions(num_train=200, num_test=100), seed=3)
    train = {row.tobytes() for row in splits["train"].inputs}
    assert len(train) == 200 and not train & {row.tobytes() for row in splits["test"].inputs}


def test_files_round_trip_and_answers_parse_alone() -> None:
    picture = ("#.#.##", "......", "######", "#.....", ".#.#.#", "##..##")
    text = render(question_of(picture)) + "\n\n" + render(answer_of(picture)) + "\n"
    question, answer = parse(text, "boards.txt")
    assert question.question == question_of(picture) and question.source == "boards.txt:1"
    assert answer.question == answer_of(picture) and answer.source == "boards.txt:10"
    assert text.startswith("rows: 1 1 2, 0, 6, 1, 1 1 1, 2 2\ncols: 1 2 1, 1 2, 1 1, 1 1, 1 1 1, 1 1 2\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rows: 1, 1, 1, 1, 1\ncols: 1, 1, 1, 1, 1, 1", "f.txt:1: expected 6 comma-separated clues, got 5"),
        ("rows: 1, 1, 1, 1, 1, 4 2\ncols: 1, 1, 1, 1, 1, 1", "f.txt:1: the runs '4 2' do not fit in a line of 6 cells"),
        ("rows: 1, 1, 1, 1, 1, x\ncols: 1, 1, 1, 1, 1, 1", "f.txt:1: a clue is run lengths separated by spaces"),
        ("rows: 1, 1, 1, 1, 1, 1", "f.txt:1: a puzzle needs both 'rows:' and 'cols:' clues"),
        ("#.#.#.\n######", "f.txt:1: expected 6 lines of cells, got 2"),
        ("\n\n#.#.#", "f.txt:3: expected 'rows: ...', 'cols: ...' or 6 cells"),
    ],
)
def test_bad_files_are_one_line_errors_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(trmkit.InputError, match="^" + message.replace(".", r"\.").replace("(", r"\(")) as error:
        parse(text, "f.txt")
    assert "\n" not in str(error.value)
