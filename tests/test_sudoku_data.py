"""The Sudoku dataset builder: deterministic, split-disjoint, generated or imported from CSV."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import trmkit
import trmkit.dataset
from trmkit import ConfigError, InputError, Puzzle
from trmkit_sudoku import SudokuDataOptions, build, generate
from trmkit_sudoku.formats import to_csv, to_line
from trmkit_sudoku.rules import solved_mask

TASK = trmkit.get_task("sudoku")


def questions_of(examples: trmkit.Examples) -> set[bytes]:
    return {row.tobytes() for row in examples.inputs}


def check_splits(splits: dict[str, trmkit.Examples]) -> None:
    train, test = splits["train"], splits["test"]
    for examples in (train, test):
        assert examples.inputs.shape[1] == 81 and examples.inputs.dtype == np.int64
        assert ((examples.inputs >= 1) & (examples.inputs <= 10)).all()
        assert ((examples.labels >= 2) & (examples.labels <= 10)).all()  # solutions: digits only
        assert (examples.puzzle_identifiers == 0).all()
        assert len(np.unique(examples.groups)) == len(examples)
        assert solved_mask(examples.inputs - 1, examples.labels - 1).all()
    assert not set(train.groups.tolist()) & set(test.groups.tolist())
    assert not questions_of(train) & questions_of(test)


def test_generated_build_is_deterministic_and_disjoint() -> None:
    options = SudokuDataOptions(num_train=30, num_test=20, min_blanks=35, max_blanks=45)
    first, again, other = build(options, 1), build(options, 1), build(options, 2)
    check_splits(first)
    assert (len(first["train"]), len(first["test"])) == (30, 20)
    for name in ("train", "test"):
        for field in ("inputs", "labels", "groups", "puzzle_identifiers"):
            assert np.array_equal(getattr(first[name], field), getattr(again[name], field))
    assert not np.array_equal(first["train"].inputs, other["train"].inputs)
    blanks = (first["train"].inputs == 1).sum(axis=1)
    assert ((blanks >= 35) & (blanks <= 45)).all()
    # the test split does not depend on the size of the train split
    smaller = build(SudokuDataOptions(num_train=5, num_test=20, min_blanks=35, max_blanks=45), 1)
    assert np.array_equal(smaller["test"].inputs, first["test"].inputs)


def test_tiny_blank_counts_still_give_distinct_puzzles() -> None:
    # with 1 blank there are only 81 x (a few) questions per grid; duplicates must be skipped
    splits = build(SudokuDataOptions(num_train=15, num_test=15, min_blanks=0, max_blanks=1), 0)
    check_splits(splits)


def test_engine_accepts_the_dataset(tmp_path: Path) -> None:
    options = TASK.dataset_options({"num_train": "8", "num_test": 4, "csv": ""})
    dataset = trmkit.dataset.build(TASK, options, seed=0)
    trmkit.dataset.save(dataset, tmp_path / "ds")
    loaded = trmkit.dataset.load(tmp_path / "ds", task="sudoku")
    assert np.array_equal(loaded.splits["train"].inputs, dataset.splits["train"].inputs)
    assert loaded.manifest["builder_options"]["num_train"] == 8


@pytest.mark.parametrize(
    "values",
    [
        {"min_blanks": 50, "max_blanks": 40},
        {"max_blanks": 70},
        {"num_train": -1},
        {"num_train": 0},
        {"test_csv": "t.csv"},
        {"csv": "x.csv", "num_test": 0},
        {"num_trian": 5},
        {"num_train": "many"},
    ],
)
def test_bad_options_are_config_errors(values: dict) -> None:
    with pytest.raises(ConfigError):
        TASK.dataset_options(values)


def write_csv(path: Path, questions: np.ndarray, answers: np.ndarray, ratings: list[int] | None = None) -> Path:
    text = to_csv([Puzzle(q, a) for q, a in zip(questions, answers)])
    if ratings is not None:
        lines = text.splitlines()
        text = "\n".join([lines[0]] + [line + str(r) for line, r in zip(lines[1:], ratings)]) + "\n"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def pool() -> tuple[np.ndarray, np.ndarray]:
    return generate(60, 30, 50, seed=9)


def test_csv_single_file_split(tmp_path: Path, pool) -> None:
    questions, answers = pool
    # duplicate some rows: duplicates collapse to one puzzle
    path = write_csv(
        tmp_path / "all.csv", np.concatenate([questions, questions[:10]]), np.concatenate([answers, answers[:10]])
    )
    splits = build(SudokuDataOptions(csv=str(path), num_train=0, num_test=15), seed=0)
    check_splits(splits)
    assert (len(splits["train"]), len(splits["test"])) == (45, 15)
    capped = build(SudokuDataOptions(csv=str(path), num_train=20, num_test=15), seed=0)
    check_splits(capped)
    assert (len(capped["train"]), len(capped["test"])) == (20, 15)
    assert np.array_equal(capped["test"].inputs, splits["test"].inputs)  # test: smallest keys either way
    reseeded = build(SudokuDataOptions(csv=str(path), num_train=20, num_test=15), seed=1)
    assert questions_of(reseeded["test"]) != questions_of(capped["test"])


def test_csv_sample_does_not_depend_on_row_order(tmp_path: Path, pool) -> None:
    questions, answers = pool
    order = np.random.default_rng(3).permutation(len(questions))
    first = write_csv(tmp_path / "a.csv", questions, answers)
    shuffled = write_csv(tmp_path / "b.csv", questions[order], answers[order])
    options = dict(num_train=10, num_test=10)
    a = build(SudokuDataOptions(csv=str(first), **options), seed=4)
    b = build(SudokuDataOptions(csv=str(shuffled), **options), seed=4)
    for name in ("train", "test"):
        assert np.array_equal(a[name].inputs, b[name].inputs)


def test_csv_two_files_exclude_test_puzzles_from_train(tmp_path: Path, pool) -> None:
    questions, answers = pool
    train = write_csv(tmp_path / "train.csv", questions[:40], answers[:40])
    test = write_csv(tmp_path / "test.csv", questions[30:], answers[30:])  # 10 puzzles in both
    splits = build(SudokuDataOptions(csv=str(train), test_csv=str(test), num_train=0, num_test=0), seed=0)
    check_splits(splits)
    assert (len(splits["train"]), len(splits["test"])) == (30, 30)
    splits = build(SudokuDataOptions(csv=str(train), test_csv=str(test), num_train=1000, num_test=5), seed=0)
    check_splits(splits)
    assert len(splits["test"]) == 5


def test_csv_min_rating(tmp_path: Path, pool) -> None:
    questions, answers = pool
    ratings = [i % 4 for i in range(len(questions))]
    path = write_csv(tmp_path / "r.csv", questions, answers, ratings)
    splits = build(SudokuDataOptions(csv=str(path), num_train=0, num_test=5, min_rating=2), seed=0)
    hard = {to_line(q) for q, r in zip(questions, ratings) if r >= 2}
    kept = {to_line(TASK.tokenizer.decode(row)) for name in ("train", "test") for row in splits[name].inputs}
    assert kept == hard


def test_csv_problems_are_input_errors(tmp_path: Path, pool) -> None:
    questions, answers = pool
    with pytest.raises(InputError, match="cannot read"):
        build(SudokuDataOptions(csv=str(tmp_path / "missing.csv")), seed=0)
    no_answer = tmp_path / "no_answer.csv"
    no_answer.write_text(f"source,question,answer,rating\nx,{to_line(questions[0])},,1\n")
    with pytest.raises(InputError, match=r"no_answer\.csv:2: no answer"):
        build(SudokuDataOptions(csv=str(no_answer)), seed=0)
    wrong = answers[:3].copy()
    wrong[2, 0, 0], wrong[2, 0, 1] = wrong[2, 0, 1], wrong[2, 0, 0]
    bad = write_csv(tmp_path / "bad.csv", questions[:3], wrong)
    with pytest.raises(InputError, match=r"bad\.csv:4: the answer does not solve the question"):
        build(SudokuDataOptions(csv=str(bad)), seed=0)
    header_only = tmp_path / "empty.csv"
    header_only.write_text("source,question,answer,rating\n")
    with pytest.raises(InputError, match="no usable puzzles"):
        build(SudokuDataOptions(csv=str(header_only)), seed=0)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(2000)))
    with pytest.raises(InputError):
        build(SudokuDataOptions(csv=str(binary)), seed=0)
