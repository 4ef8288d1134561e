"""The Sudoku dataset builder's settings (``trmkit data build sudoku --set KEY=VALUE``).

Kept apart from the builder so that declaring the task imports nothing but this dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass

from trmkit import ConfigError

#: Most blanks the generator will produce. Beyond it random digging rarely reaches a proper
#: puzzle (58 blanks take about 0.1 s a puzzle, 60 several seconds; proper puzzles exist up to 64
#: blanks, 17 givens, but are rare), so it is refused rather than left running for hours.
MAX_BLANKS = 58


@dataclass
class SudokuDataOptions:
    """Where the puzzles come from and how many go to each split.

    Generated (default): ``num_train`` and ``num_test`` proper puzzles (one solution each), each
    with a number of blanks drawn uniformly from ``min_blanks..max_blanks``.

    Imported: ``csv`` names a file in the Sudoku-Extreme layout ``source,question,answer,rating``
    (e.g. ``train.csv`` of the HF dataset ``sapientinc/sudoku-extreme``). With ``test_csv`` too,
    the splits come from the two files; otherwise ``num_test`` puzzles of ``csv`` are held out.
    ``num_train`` / ``num_test`` then cap the splits (0 = every puzzle), sampled by the seed;
    ``min_rating`` keeps only puzzles at least that hard (the dataset's rating counts the
    backtracks of a reference solver). The paper's run is ``csv=train.csv test_csv=test.csv
    num_train=1000 num_test=0``.

    Either way no question appears in both splits, and the same options and seed give the
    same dataset.
    """

    num_train: int = 1000
    num_test: int = 1000
    min_blanks: int = 30
    max_blanks: int = 50
    csv: str | None = None
    test_csv: str | None = None
    min_rating: float = 0.0

    def __post_init__(self) -> None:
        self.csv = self.csv or None  # an empty --set value means "none"
        self.test_csv = self.test_csv or None
        if self.num_train < 0 or self.num_test < 0:
            raise ConfigError("num_train and num_test cannot be negative")
        if self.test_csv and not self.csv:
            raise ConfigError("test_csv needs csv (the file to take the train split from)")
        if self.csv is None:
            if self.num_train < 1:
                raise ConfigError(
                    "num_train must be at least 1 when puzzles are generated (0 means 'all' only with csv)"
                )
            if not 0 <= self.min_blanks <= self.max_blanks <= MAX_BLANKS:
                raise ConfigError(
                    f"blanks must satisfy 0 <= min_blanks <= max_blanks <= {MAX_BLANKS}, "
                    f"got {self.min_blanks}..{self.max_blanks}"
                )
        elif self.test_csv is None and self.num_test < 1:
            raise ConfigError("with a single csv, num_test (puzzles held out for testing) must be at least 1")
