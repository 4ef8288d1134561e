"""The Sudoku task (Sudoku-Extreme in the paper), a trmkit plugin like any third party's.

Declares the task and serves its four roles through trmkit's hooks. This module is imported by
``trmkit tasks``, so it stays light: the solver, generator, parsers and dataset builder are
imported when a hook or function first needs them.

Modules: ``board`` (geometry), ``formats`` (files in and out), ``codec`` (tokenizer, decoder),
``augment`` (symmetries), ``rules`` (validator), ``solver``, ``generator``, ``options`` and
``data`` (dataset builder). Users mostly want :func:`solve`, :func:`count_solutions`,
:func:`generate` and :func:`parse_puzzles`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trmkit import Examples, Puzzle, TaskSpec, hookimpl

from .options import SudokuDataOptions

if TYPE_CHECKING:
    import numpy as np

    from trmkit import Augmenter, Decoder, Tokenizer, Validator

TASK = "sudoku"
#: What ``trmkit tasks`` lists as readable puzzle files (the parser lives in ``formats``).
FORMATS = (
    "81 characters per line, one puzzle per line ('.' or '0' for blanks)",
    "9 lines of 9 characters per puzzle, puzzles separated by blank lines",
    "printed grids with spaces and '|', '-', '+' separators",
    "CSV source,question,answer,rating (Sudoku-Extreme layout; header optional)",
)

__all__ = [
    "FORMATS", "SudokuDataOptions", "build", "count_solutions", "generate", "parse_puzzles", "solve",
    "trmkit_augmenters", "trmkit_decoder", "trmkit_tasks", "trmkit_tokenizer", "trmkit_validators",
]


# -- functions the TaskSpec points at (thin, so that declaring the task imports nothing) ---------
def parse_puzzles(text: str, source: str) -> list[Puzzle]:
    """Every Sudoku in ``text`` (lines of 81, 9x9 blocks, printed grids or Sudoku-Extreme CSV)."""
    from .formats import parse_puzzles as parse

    return parse(text, source)


def build(options: SudokuDataOptions, seed: int) -> dict[str, Examples]:
    """The train and test splits described by ``options`` (generated, or imported from CSV)."""
    from .data import build as build_dataset

    return build_dataset(options, seed)


def solve(grid: Any) -> np.ndarray | None:
    """A solution of a 9x9 grid (0 = blank), or None if it has none."""
    from .solver import solve as solve_grid

    return solve_grid(grid)


def count_solutions(grid: Any, limit: int = 2) -> int:
    """The number of solutions of a 9x9 grid, counted up to ``limit`` (2: is it unique?)."""
    from .solver import count_solutions as count

    return count(grid, limit)


def generate(count: int, min_blanks: int = 30, max_blanks: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` proper puzzles and their solutions, int8 arrays [count, 9, 9], from ``seed``."""
    from .generator import generate as generate_puzzles

    return generate_puzzles(count, min_blanks, max_blanks, seed)


def _spec() -> TaskSpec:
    return TaskSpec(
        name=TASK,
        summary="Sudoku 9x9: fill the grid so every row, column and box holds 1-9 (Sudoku-Extreme)",
        vocab_size=11,
        seq_len=81,
        grid_shape=(9, 9),
        formats=FORMATS,
        parse=parse_puzzles,
        build_dataset=build,
        dataset_options=SudokuDataOptions,
        config_dir=Path(str(resources.files("trmkit_sudoku.configs"))),
        models_dir=Path(str(resources.files("trmkit_sudoku"))) / "models",  # trained models shipped as package data
        pad_id=0,
        ignore_label_id=0,
    )


# -- hooks --------------------------------------------------------------------------------------
@hookimpl
def trmkit_tasks() -> list[TaskSpec]:
    return [_spec()]


@hookimpl
def trmkit_tokenizer(task: str) -> Tokenizer | None:
    if task != TASK:
        return None
    from .codec import SudokuTokenizer

    return SudokuTokenizer()


@hookimpl
def trmkit_decoder(task: str) -> Decoder | None:
    if task != TASK:
        return None
    from .codec import SudokuDecoder

    return SudokuDecoder()


@hookimpl
def trmkit_augmenters(task: str) -> list[Augmenter] | None:
    if task != TASK:
        return None
    from .augment import augmenters

    return list(augmenters())


@hookimpl
def trmkit_validators(task: str) -> list[Validator] | None:
    if task != TASK:
        return None
    from .rules import SudokuValidator

    return [SudokuValidator()]
