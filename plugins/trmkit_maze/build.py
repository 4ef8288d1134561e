"""The maze dataset builder: generated mazes (seeded) or Maze-Hard CSV files, as token arrays.

Train and test are drawn from separate random streams of the seed, so the test split stays the
same when only ``num_train`` changes; no maze occurs twice, and none in both splits. Every
example is its own group (one original puzzle), with the one shared puzzle identifier 0 (the
reference's Maze setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trmkit import ConfigError, Examples, InputError, Puzzle

from .cells import TOKENIZER
from .generate import MazeRecipe, mazes
from .rules import PathRules
from .text import parse

#: Random-stream tags of the two splits (mixed with the seed).
_STREAMS = {"train": 1, "test": 2}


@dataclass
class MazeOptions:
    """Builder settings (``--set key=value`` or a config's ``data.options``).

    The defaults make Maze-Hard: 1,000 + 1,000 mazes of 30x30 whose shortest path takes at
    least 110 moves, walls at 30-50% density. ``train_csv``/``test_csv`` import Maze-Hard files
    (``source,question,answer,rating``) instead of generating; then ``num_train``/``num_test``
    keep the first rows of each (and ``size`` must match the files).
    """

    size: int = 30
    num_train: int = 1000
    num_test: int = 1000
    min_path_length: int = 110  # moves from S to G; "hard" = 110 at 30x30
    min_wall_density: float = 0.3
    max_wall_density: float = 0.5
    unique_path: bool = False  # keep only mazes with one shortest path (exact match = valid)
    train_csv: str | None = None
    test_csv: str | None = None

    def recipe(self) -> MazeRecipe:
        return MazeRecipe(self.size, self.min_path_length, self.min_wall_density, self.max_wall_density, self.unique_path)


def build_dataset(options: MazeOptions, seed: int) -> dict[str, Examples]:
    """``{"train": Examples, "test": Examples}`` from ``options`` and ``seed``."""
    if options.num_train < 1 or options.num_test < 0:
        raise ConfigError(f"num_train must be at least 1 and num_test at least 0, got {options.num_train} and {options.num_test}")
    if seed < 0:
        raise ConfigError(f"the maze builder's seed must be >= 0, got {seed}")
    if options.train_csv or options.test_csv:
        splits = _imported(options)
    else:
        splits = _generated(options, seed)
    first_group = 0
    examples = {}
    for name, pairs in splits.items():
        count = len(pairs)
        shape = (count, options.size * options.size)
        examples[name] = Examples(
            inputs=np.array([TOKENIZER.encode(q) for q, _ in pairs], dtype=np.int64).reshape(shape),
            labels=np.array([TOKENIZER.encode(a) for _, a in pairs], dtype=np.int64).reshape(shape),
            groups=np.arange(first_group, first_group + count, dtype=np.int64),
            puzzle_identifiers=np.zeros(count, dtype=np.int64),
        )
        first_group += count
    return examples


def _generated(options: MazeOptions, seed: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    recipe = options.recipe()
    seen: set[bytes] = set()
    splits = {}
    for name, count in (("train", options.num_train), ("test", options.num_test)):
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        stream = mazes(np.random.default_rng([seed, _STREAMS[name]]), recipe)
        while len(pairs) < count:
            question, answer = next(stream)
            key = question.tobytes()
            if key not in seen:
                seen.add(key)
                pairs.append((question, answer))
        splits[name] = pairs
    return splits


def _imported(options: MazeOptions) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    if not (options.train_csv and options.test_csv):
        raise ConfigError("importing Maze-Hard needs both train_csv and test_csv")
    rules = PathRules()
    seen: dict[bytes, str] = {}
    splits = {}
    for name, path, count in (("train", options.train_csv, options.num_train), ("test", options.test_csv, options.num_test)):
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
        puzzles: list[Puzzle] = parse(text, str(path))[:count]
        pairs = []
        for puzzle in puzzles:
            if puzzle.question.shape != (options.size, options.size):
                raise InputError(f"{puzzle.source}: a {puzzle.question.shape[0]}x{puzzle.question.shape[0]} maze; set size={puzzle.question.shape[0]} to import these")
            if puzzle.answer is None:
                raise InputError(f"{puzzle.source}: the row has no answer")
            verdict = rules.validate(puzzle, puzzle.answer)
            if not verdict.ok:
                raise InputError(f"{puzzle.source}: the answer is invalid: {verdict.reason}")
            key = puzzle.question.tobytes()
            if key in seen and name == "test" and seen[key] == "train":
                raise InputError(f"{puzzle.source}: this test maze is also in the training file ({path})")
            seen.setdefault(key, name)
            pairs.append((puzzle.question, puzzle.answer))
        if name == "train" and not pairs:
            raise InputError(f"{path}: no mazes found")
        splits[name] = pairs
    return splits
