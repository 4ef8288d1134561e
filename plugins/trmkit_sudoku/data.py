"""The Sudoku dataset builder: generated puzzles, or an imported Sudoku-Extreme-style CSV.

Both paths return base examples only (the engine augments on the fly): inputs are the question's
tokens, labels the solution's (every cell supervised, givens included, as in the reference),
one group per puzzle, puzzle identifier 0 (Sudoku uses one shared puzzle embedding).

Determinism and disjointness:

- generated puzzle ``i`` of a split comes from ``puzzle_rng(seed, split, i)``; the test split is
  drawn first and the train split skips any question already taken, so no question is in both,
  and the test split does not change with ``num_train``;
- imported puzzles are sampled by a seeded hash of the question itself (the ``k`` smallest
  distinct hashes), so the sample depends only on the file's contents and the seed, never on row
  order, duplicates collapse to one, and a file of millions of rows streams through in chunks
  while only ``k`` puzzles are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

import trmkit.grids as grids
from trmkit import Examples, InputError

from .board import CELLS, GRID_DTYPE, SIZE
from .codec import encode_grids
from .formats import ALLOWED, CHARMAP
from .generator import generate_flat, puzzle_rng
from .options import SudokuDataOptions
from .rules import solution_problem, solved_mask

_CHUNK = 50_000  # CSV rows converted and checked at once
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # keys, questions, answers of kept puzzles


def build(options: SudokuDataOptions, seed: int) -> dict[str, Examples]:
    """``{"train": Examples, "test": Examples}`` as ``options`` describe, deterministic in ``seed``."""
    if options.csv is None:
        taken: set[bytes] = set()
        test = _generated(options, seed, "test", options.num_test, taken)
        train = _generated(options, seed, "train", options.num_train, taken)
    else:
        train, test = _imported(options, seed)
    if len(train.questions) == 0:
        raise InputError(f"{options.csv}: no usable puzzles left for the train split")
    return {
        "train": train.examples(group_start=0),
        "test": test.examples(group_start=len(train.questions)),
    }


@dataclass
class _Split:
    questions: np.ndarray  # [N, 81] int8
    answers: np.ndarray  # [N, 81] int8

    def examples(self, group_start: int) -> Examples:
        count = len(self.questions)
        return Examples(
            inputs=encode_grids(self.questions),
            labels=encode_grids(self.answers),
            groups=np.arange(group_start, group_start + count, dtype=np.int64),
            puzzle_identifiers=np.zeros(count, dtype=np.int64),
        )


# -- generated ----------------------------------------------------------------------------------
def _generated(options: SudokuDataOptions, seed: int, stream: str, count: int, taken: set[bytes]) -> _Split:
    """``count`` generated puzzles whose questions are not in ``taken`` (which they join)."""
    questions = np.empty((count, CELLS), dtype=GRID_DTYPE)
    answers = np.empty((count, CELLS), dtype=GRID_DTYPE)
    filled = index = 0
    while filled < count:
        rng = puzzle_rng(seed, stream, index)
        index += 1
        question, solution = generate_flat(rng, rng.randint(options.min_blanks, options.max_blanks))
        key = bytes(question)
        if key in taken:
            continue  # the same question twice (likely only with very few blanks)
        taken.add(key)
        questions[filled] = question
        answers[filled] = solution
        filled += 1
    return _Split(questions, answers)


# -- imported -----------------------------------------------------------------------------------
def _imported(options: SudokuDataOptions, seed: int) -> tuple[_Split, _Split]:
    assert options.csv is not None
    hasher = _Hasher(seed)
    if options.test_csv is not None:
        test = _sample(options.test_csv, options.num_test, options.min_rating, hasher, exclude=None)
        train = _sample(options.csv, options.num_train, options.min_rating, hasher, exclude=test.keys)
        return train.split, test.split
    # one file: sample both splits at once; the smallest hashes go to test, the rest to train
    want = options.num_train + options.num_test if options.num_train else 0
    both = _sample(options.csv, want, options.min_rating, hasher, exclude=None)
    held = min(options.num_test, len(both.keys))
    test = _Split(both.split.questions[:held], both.split.answers[:held])
    train = _Split(both.split.questions[held:], both.split.answers[held:])
    return train, test


class _Hasher:
    """A seeded 64-bit hash of question grids: the sampling key (equal questions, equal keys)."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 0x5D0C])
        self.weights = rng.integers(0, 2**63, size=CELLS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    def __call__(self, questions: np.ndarray) -> np.ndarray:
        return questions.astype(np.uint64) @ self.weights  # wraps modulo 2**64, as intended


@dataclass
class _Sample:
    keys: np.ndarray  # sorted, distinct
    split: _Split


def _sample(path: str, count: int, min_rating: float, hasher: _Hasher, exclude: np.ndarray | None) -> _Sample:
    """The ``count`` puzzles of ``path`` with the smallest keys (0 = all), keys not in ``exclude``."""
    keys = np.zeros(0, dtype=np.uint64)
    questions = np.zeros((0, CELLS), dtype=GRID_DTYPE)
    answers = np.zeros((0, CELLS), dtype=GRID_DTYPE)
    pending: list[_Arrays] = []
    for chunk_q, chunk_a in _read_chunks(path, min_rating):
        chunk_keys = hasher(chunk_q)
        if exclude is not None and len(exclude):
            keep = ~np.isin(chunk_keys, exclude)
            chunk_keys, chunk_q, chunk_a = chunk_keys[keep], chunk_q[keep], chunk_a[keep]
        pending.append((chunk_keys, chunk_q, chunk_a))
        if count:  # keep memory at O(count): merge and cut after every chunk
            keys, questions, answers = _smallest(pending, count, keys, questions, answers)
            pending = []
    keys, questions, answers = _smallest(pending, count, keys, questions, answers)
    return _Sample(keys, _Split(questions, answers))


def _smallest(
    pending: list[_Arrays], count: int, keys: np.ndarray, questions: np.ndarray, answers: np.ndarray
) -> _Arrays:
    """Merge ``pending`` chunks into the kept arrays, keeping the ``count`` smallest distinct keys."""
    all_keys = np.concatenate([keys] + [part[0] for part in pending])
    all_q = np.concatenate([questions] + [part[1] for part in pending])
    all_a = np.concatenate([answers] + [part[2] for part in pending])
    unique_keys, first = np.unique(all_keys, return_index=True)
    if count:
        unique_keys, first = unique_keys[:count], first[:count]
    return unique_keys, all_q[first], all_a[first]


def _read_chunks(path: str, min_rating: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream (questions, answers) int8 arrays [n, 81] from a CSV, checked, rating-filtered."""
    try:
        handle = open(Path(path), newline="", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        rows: list[grids.CsvRow] = []
        for row in grids.iter_csv_rows(handle, path):
            if row.answer is None:
                raise InputError(f"{path}:{row.line}: no answer; a dataset needs every puzzle's solution")
            if min_rating and (row.rating is None or row.rating < min_rating):
                continue
            rows.append(row)
            if len(rows) == _CHUNK:
                yield _convert(rows, path)
                rows = []
        if rows:
            yield _convert(rows, path)


def _convert(rows: list[grids.CsvRow], path: str) -> tuple[np.ndarray, np.ndarray]:
    def where(i: int) -> str:
        return f"{path}:{rows[i].line}"

    shape = (SIZE, SIZE)
    questions = grids.strings_to_grids(
        [r.question.strip() for r in rows], CHARMAP, shape, where=lambda i: f"{where(i)} (question)", allowed=ALLOWED
    )
    answers = grids.strings_to_grids(
        [(r.answer or "").strip() for r in rows],
        CHARMAP,
        shape,
        where=lambda i: f"{where(i)} (answer)",
        allowed=ALLOWED,
    )
    ok = solved_mask(questions, answers)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        problem = solution_problem(questions[i], answers[i])
        raise InputError(f"{where(i)}: the answer does not solve the question: {problem}")
    return questions.reshape(len(rows), CELLS), answers.reshape(len(rows), CELLS)
