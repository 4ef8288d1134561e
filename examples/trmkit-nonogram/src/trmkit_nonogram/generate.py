"""Seeded puzzles and the dataset builder: random pictures, their clues, all cells unknown.

Pictures are drawn cell by cell with probability ``density`` of being filled. Many share their
clues with another picture, so the label (the drawn picture) is one right answer among several;
``unique_only`` keeps only puzzles with exactly one answer, when exact match should decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

import trmkit

from .board import EMPTY, FILLED, SIZE, Board, answer_of, question_of
from .solver import solutions
from .tokens import SEQ_LEN, TOKENIZER


@dataclass
class NonogramOptions:
    """Settings of the dataset builder (``--set`` on the command line, ``data.options`` in a config)."""

    num_train: int = 1000
    num_test: int = 200
    density: float = 0.5
    unique_only: bool = False


def pictures(rng: np.random.Generator, density: float) -> Iterator[tuple[str, ...]]:
    while True:
        filled = rng.random((SIZE, SIZE)) < density
        yield tuple("".join(FILLED if cell else EMPTY for cell in row) for row in filled)


def puzzles(rng: np.random.Generator, options: NonogramOptions) -> Iterator[tuple[Board, Board]]:
    """Endless (question, answer) pairs with distinct clues."""
    seen = set()
    for picture in pictures(rng, options.density):
        question = question_of(picture)
        if question in seen or (options.unique_only and len(solutions(question)) != 1):
            continue
        seen.add(question)
        yield question, answer_of(picture)


def build_dataset(options: NonogramOptions, seed: int) -> dict[str, trmkit.Examples]:
    """Train and test splits of distinct puzzles (one group each, no clues shared between them)."""
    if options.num_train < 1 or options.num_test < 0:
        raise trmkit.ConfigError("num_train must be at least 1 and num_test at least 0")
    if not 0.0 < options.density < 1.0:
        raise trmkit.ConfigError(f"density must lie strictly between 0 and 1, got {options.density}")
    stream = puzzles(np.random.default_rng(seed), options)
    splits, start = {}, 0
    for split, count in (("train", options.num_train), ("test", options.num_test)):
        pairs = [next(stream) for _ in range(count)]
        inputs = np.array([TOKENIZER.encode(question) for question, _ in pairs], dtype=np.int64).reshape(count, SEQ_LEN)
        labels = np.array([TOKENIZER.encode(answer) for _, answer in pairs], dtype=np.int64).reshape(count, SEQ_LEN)
        splits[split] = trmkit.Examples(inputs, labels, np.arange(start, start + count), np.zeros(count))
        start += count
    return splits
