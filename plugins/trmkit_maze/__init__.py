"""The Maze task (Maze-Hard, ``dataset/build_maze_dataset.py``): mark a shortest path from S to G.

A built-in plugin, registered through the ``trmkit`` entry-point group as a third party's would
be. Modules, one job each: ``cells`` (alphabet, tokenizer), ``text`` (files in and out),
``paths`` (BFS), ``rules`` (validator), ``generate`` (seeded Maze-Hard-style generator),
``build`` (dataset builder), ``augment`` (dihedral symmetries), ``decoder``. No torch here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import trmkit

from .augment import Dihedral
from .build import MazeOptions, build_dataset
from .cells import MAX_SIZE, TOKENIZER, VOCAB_SIZE
from .decoder import Decoder
from .rules import PathRules
from .text import parse

TASK = "maze"


SPEC = trmkit.TaskSpec(
    name=TASK,
    summary="Maze-Hard: mark a shortest path from S to G in a 30x30 maze (smaller sizes for CPU)",
    vocab_size=VOCAB_SIZE,
    seq_len=MAX_SIZE * MAX_SIZE,
    grid_shape=(MAX_SIZE, MAX_SIZE),
    formats=(
        "text: N lines of N cells (# wall, . or space open, S, G, o path)",
        "CSV: source,question,answer,rating",
    ),
    parse=parse,
    build_dataset=build_dataset,
    dataset_options=MazeOptions,
    config_dir=Path(str(resources.files(f"{__name__}.configs"))),  # configs/maze/ in the source tree
    models_dir=Path(str(resources.files(__name__))) / "models",  # trained models: drop a folder in (see trmkit.models)
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
    return [PathRules()] if task == TASK else []
