"""The Sudoku task's roles as the engine sees them: tokenizer, decoder, augmenters, declaration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import trmkit
import trmkit_sudoku
from trmkit import InputError, Puzzle, TokenPermutation, compose
from trmkit_sudoku import generate, parse_puzzles
from trmkit_sudoku.augment import BandRows, DigitRelabel, StackColumns, Transpose

TASK = trmkit.get_task("sudoku")
QUESTIONS, ANSWERS = generate(16, 25, 55, seed=5)
puzzle_index = st.integers(0, len(QUESTIONS) - 1)
seeds = st.integers(0, 2**32 - 1)


def test_task_declaration() -> None:
    spec = TASK.spec
    assert (spec.name, spec.vocab_size, spec.seq_len, spec.grid_shape) == ("sudoku", 11, 81, (9, 9))
    assert (spec.pad_id, spec.ignore_label_id) == (0, 0)
    assert spec.dataset_options is trmkit_sudoku.SudokuDataOptions
    assert spec.config_dir.is_dir()
    assert [a.name for a in TASK.augmenters] == ["sudoku.digits", "sudoku.transpose", "sudoku.rows", "sudoku.columns"]
    assert [v.name for v in TASK.validators] == ["sudoku.rules"]
    for hook in ("trmkit_tokenizer", "trmkit_decoder", "trmkit_augmenters", "trmkit_validators"):
        assert getattr(trmkit_sudoku, hook)(task="maze") is None


def test_tokens_are_the_reference_encoding() -> None:
    grid = np.zeros((9, 9), dtype=int)
    grid[0, :3] = [1, 5, 9]
    tokens = TASK.tokenizer.encode(grid)
    assert tokens.dtype == np.int64 and tokens.shape == (81,)
    assert tokens[:4].tolist() == [2, 6, 10, 1]
    assert (tokens[4:] == 1).all()


@settings(max_examples=50, deadline=None)
@given(index=puzzle_index, which=st.sampled_from(["question", "answer"]))
def test_tokenizer_round_trips(index: int, which: str) -> None:
    grid = (QUESTIONS if which == "question" else ANSWERS)[index]
    tokens = TASK.tokenizer.encode(grid)
    assert ((tokens >= 1) & (tokens <= 10)).all()
    assert np.array_equal(TASK.tokenizer.decode(tokens), grid)
    assert np.array_equal(TASK.tokenizer.encode(TASK.tokenizer.decode(tokens)), tokens)


@pytest.mark.parametrize(
    "tokens", [np.zeros(81, int), np.full(81, 11), np.ones(80, int), np.ones(81) * 1.0, "x" * 81, None, [[1, 2], [3]]]
)
def test_tokenizer_decode_is_strict(tokens: object) -> None:
    with pytest.raises(InputError):
        TASK.tokenizer.decode(tokens)


@pytest.mark.parametrize("grid", [np.full((9, 9), 10), np.zeros((8, 9), int), "grid", None, np.full((9, 9), -1)])
def test_tokenizer_encode_rejects_non_grids(grid: object) -> None:
    with pytest.raises(InputError):
        TASK.tokenizer.encode(grid)


@settings(max_examples=100, deadline=None)
@given(
    tokens=st.one_of(
        hnp.arrays(np.int64, st.integers(0, 100), elements=st.integers(-5, 20)),
        hnp.arrays(np.float64, (81,)),
        st.lists(st.integers(-(2**70), 2**70), max_size=90),
        st.none(),
        st.text(max_size=5),
    )
)
def test_decoder_never_raises(tokens: object) -> None:
    grid = TASK.decoder.decode(tokens, Puzzle(QUESTIONS[0]))
    assert grid.shape == (9, 9)
    assert ((grid >= 0) & (grid <= 9)).all()


def test_decoder_reads_digits_and_marks_the_rest_unknown() -> None:
    tokens = TASK.tokenizer.encode(ANSWERS[0])
    assert np.array_equal(TASK.decoder.decode(tokens, Puzzle(QUESTIONS[0])), ANSWERS[0])
    tokens = tokens.copy()
    tokens[[0, 1, 2]] = [0, 1, 99]  # PAD, blank, out of vocabulary
    grid = TASK.decoder.decode(tokens.reshape(9, 9), Puzzle(QUESTIONS[0]))
    assert grid.reshape(81)[:3].tolist() == [0, 0, 0]
    assert np.array_equal(grid.reshape(81)[3:], ANSWERS[0].reshape(81)[3:])


def test_render_and_json() -> None:
    plain = TASK.decoder.render(QUESTIONS[1])
    assert len(plain.splitlines()) == 9 and all(len(line) == 9 for line in plain.splitlines())
    assert np.array_equal(parse_puzzles(plain, "r")[0].question, QUESTIONS[1])
    assert "│" in TASK.decoder.render(QUESTIONS[1], color=True)
    as_json = TASK.decoder.to_json(ANSWERS[1])
    assert isinstance(as_json, list) and len(as_json) == 9 and all(type(v) is int for row in as_json for v in row)
    assert np.array_equal(np.array(as_json), ANSWERS[1])


AUGMENTERS = [DigitRelabel(), Transpose(), BandRows(), StackColumns()]


@settings(max_examples=60, deadline=None)
@given(index=puzzle_index, seed=seeds, which=st.sampled_from(range(len(AUGMENTERS) + 1)))
def test_augmentations_invert_and_keep_solutions_valid(index: int, seed: int, which: int) -> None:
    rng = np.random.default_rng(seed)
    if which < len(AUGMENTERS):
        transform = AUGMENTERS[which].sample(rng, 81)
    else:
        transform = compose([augmenter.sample(rng, 81) for augmenter in AUGMENTERS])
    assert isinstance(transform, TokenPermutation)
    question = TASK.tokenizer.encode(QUESTIONS[index])
    answer = TASK.tokenizer.encode(ANSWERS[index])
    both = np.stack([question, answer])
    moved = transform.apply(both)
    assert np.array_equal(transform.invert(moved), both)
    assert np.array_equal(transform.inverse().apply(moved), both)
    # blanks stay blanks (token 1), digits stay digits, and the moved answer solves the moved puzzle
    assert ((moved[0] == 1) == (transform.apply(question) == 1)).all()
    assert (moved[0] == 1).sum() == (question == 1).sum()
    puzzle = Puzzle(TASK.tokenizer.decode(moved[0]))
    verdict = TASK.validate(puzzle, TASK.decoder.decode(moved[1], puzzle))
    assert verdict.ok, verdict.reason


@settings(max_examples=30, deadline=None)
@given(index=puzzle_index, seed=seeds, group=st.integers(0, 10**6), aug=st.integers(0, 1000))
def test_engine_transforms_are_deterministic_and_valid(index: int, seed: int, group: int, aug: int) -> None:
    first = TASK.transform(seed, group, aug, 81)
    again = TASK.transform(seed, group, aug, 81)
    tokens = np.stack([TASK.tokenizer.encode(QUESTIONS[index]), TASK.tokenizer.encode(ANSWERS[index])])
    assert np.array_equal(first.apply(tokens), again.apply(tokens))
    assert np.array_equal(first.invert(first.apply(tokens)), tokens)
    moved = first.apply(tokens)
    assert TASK.validate(Puzzle(TASK.tokenizer.decode(moved[0])), TASK.tokenizer.decode(moved[1])).ok


def test_each_augmenter_does_its_own_job() -> None:
    rng = np.random.default_rng(0)
    digits = DigitRelabel().sample(rng, 81)
    assert digits.values[:2].tolist() == [0, 1] and sorted(digits.values[2:].tolist()) == list(range(2, 11))
    assert np.array_equal(digits.positions, np.arange(81))
    flips = [Transpose().sample(np.random.default_rng(s), 81) for s in range(40)]
    transposed = [not np.array_equal(f.positions, np.arange(81)) for f in flips]
    assert 5 < sum(transposed) < 35
    rows = BandRows().sample(rng, 81).positions.reshape(9, 9)
    assert (rows == rows[:, :1] + np.arange(9)).all()  # whole rows move
    assert sorted(set((rows[:, 0] // 9 // 3).tolist())) == [0, 1, 2]
    for band in range(3):  # the rows of one output band come from one input band
        assert len(set((rows[band * 3 : band * 3 + 3, 0] // 27).tolist())) == 1
    columns = StackColumns().sample(rng, 81).positions.reshape(9, 9)
    assert (columns == columns[:1, :] + 9 * np.arange(9)[:, None]).all()
    for stack in range(3):
        assert len(set((columns[0, stack * 3 : stack * 3 + 3] // 3).tolist())) == 1
    with pytest.raises(ValueError):
        BandRows().sample(rng, 900)
