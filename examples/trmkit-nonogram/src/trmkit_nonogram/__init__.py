"""The Nonogram task: fill a 6x6 grid so that each row and column has the runs its clue gives.

A third-party trmkit plugin, written against trmkit's public API only. It stretches that API
where the built-in tasks do not: the model reads clues placed around the grid, not a partly
filled grid of the answer's alphabet; many puzzles have several right answers, so the
validator, not equality with the label, decides; and one of its symmetries (the mirror) is a
transform of its own rather than a token permutation.

Modules, one job each: ``board`` (what a Nonogram is), ``text`` (files in and out), ``tokens``
(tokenizer, decoder), ``augment`` (symmetries), ``rules`` (validator), ``solver``, ``generate``
(generator and dataset builder).
"""

from __future__ import annotations

from pathlib import Path

import trmkit

from .augment import Dihedral
from .board import SIZE
from .generate import NonogramOptions, build_dataset
from .rules import ClueRules
from .text import FORMATS, parse
from .tokens import SEQ_LEN, SIDE, TOKENIZER, VOCAB_SIZE, Decoder

__version__ = "0.1.0"

TASK = "nonogram"

SPEC = trmkit.TaskSpec(
    name=TASK,
    summary=f"Nonogram: fill a {SIZE}x{SIZE} grid so each row and column has the runs its clue gives",
    vocab_size=VOCAB_SIZE,
    seq_len=SEQ_LEN,
    grid_shape=(SIDE, SIDE),
    formats=FORMATS,
    parse=parse,
    build_dataset=build_dataset,
    dataset_options=NonogramOptions,
    config_dir=Path(__file__).with_name("configs"),
    api_version=1,
)


@trmkit.hookimpl
def trmkit_tasks() -> list[trmkit.TaskSpec]:
    return [SPEC]


@trmkit.hookimpl
def trmkit_tokenizer(task: str) -> trmkit.Tokenizer | None:
    return TOKENIZER if task == TASK else None


@trmkit.hookimpl
def trmkit_decoder(task: str) -> trmkit.Decoder | None:
    return Decoder() if task == TASK else None


@trmkit.hookimpl
def trmkit_augmenters(task: str) -> list[trmkit.Augmenter]:
    return [Dihedral()] if task == TASK else []


@trmkit.hookimpl
def trmkit_validators(task: str) -> list[trmkit.Validator]:
    return [ClueRules()] if task == TASK else []
