"""The ARC dataset builder: tasks of the chosen subsets, split as the reference does, as tokens.

Split rules (``split``):

- ``reference`` (the official builders'): the demonstration pairs of every task train; the test
  pairs of the test-set subset are held out, those of the other subsets train too. The demos of
  the evaluation tasks are thus trained on (test-time training folded into training), which is
  why their test pairs share the task's group and puzzle identifier.
- ``strict``: the test-set tasks are held out whole (no demo of theirs is trained on); their
  puzzle identifiers are never trained, as for a task seen for the first time.
- ``memorise``: the test pairs of the test set train too (they need outputs). Not a benchmark: a check that the
  pipeline (encoding, augmentation, voting, inverse transforms) can reproduce what it learnt.

Every task is one group, with base puzzle identifier ``group + 1`` (0 is the blank); the engine
gives each augmented version its own identifier on top of that. A task found in two subsets (by
id, or by identical test inputs) is kept once, as a test-set task when it is one, so its test
outputs stay held out; the builder warns about such overlaps (ARC-AGI-2's training set holds
376 ARC-AGI-1 evaluation tasks).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from trmkit import ConfigError, Examples

from .canvas import MAX_SIZE, PAD, encode
from .sources import ArcTask, load_subset

SPLITS = ("reference", "strict", "memorise")


@dataclass
class ArcOptions:
    """Builder settings (``--set key=value``, ``--key value`` on ``trmkit data build``, or a
    config's ``data.options``).

    ``subsets``: comma-separated built-in subsets (training, evaluation: ARC-AGI-1; training2,
    evaluation2: ARC-AGI-2) or paths (a directory of task JSON files, a task file, or a Kaggle
    ``*_challenges.json`` with its ``*_solutions.json`` beside it). ``test_set``: the subset whose
    test pairs are held out (its name; a path's name is its folder or file name). ``tasks``:
    keep only these task ids (comma-separated; empty: all). ``max_tasks``: keep the first N tasks
    of each subset (0: all). ``exclude``: subsets (names or paths) whose tasks are dropped from
    every subset but the test set (e.g. ``evaluation`` keeps an ARC-AGI-2 run from training on
    the ARC-AGI-1 evaluation tasks that ARC-AGI-2's training set contains). ``canvas``: the side
    of the square canvas (30, the reference's; smaller for quick CPU runs, keeping only the
    tasks whose grids all fit).
    """

    subsets: str = "training,evaluation"
    test_set: str = "evaluation"
    split: str = "reference"
    tasks: str = ""
    max_tasks: int = 0
    exclude: str = ""
    canvas: int = MAX_SIZE


@dataclass(frozen=True)
class Entry:
    """One input/output pair of a task, ready to encode."""

    group: int
    question: np.ndarray
    answer: np.ndarray | None  # unknown (a Kaggle challenge without solutions): nothing supervised


def names(value: str) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def select_tasks(options: ArcOptions) -> list[tuple[ArcTask, bool]]:
    """The tasks to build, in a fixed order (test-set tasks first), each with whether it belongs
    to the test set; overlaps are dropped with a warning."""
    if options.split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {options.split!r}")
    if options.max_tasks < 0:
        raise ConfigError(f"max_tasks must be >= 0, got {options.max_tasks}")
    specs = names(options.subsets)
    if not specs:
        raise ConfigError("subsets is empty; name at least one ARC subset")
    loaded = [load_subset(spec) for spec in specs]
    subset_names = [name for name, _ in loaded]
    if options.test_set not in subset_names:
        raise ConfigError(f"the test set '{options.test_set}' is not among the subsets ({', '.join(subset_names)})")
    if not 1 <= options.canvas <= MAX_SIZE:
        raise ConfigError(f"canvas must lie in 1..{MAX_SIZE}, got {options.canvas}")
    wanted = set(names(options.tasks))
    excluded = {mark for spec in names(options.exclude) for task in load_subset(spec)[1] for mark in (task.name, task.key())}
    chosen = []
    for name, tasks in sorted(loaded, key=lambda item: item[0] != options.test_set):  # test set first
        tasks = [
            task for task in tasks
            if (not wanted or task.name in wanted) and task.fits(options.canvas)
            and (name == options.test_set or not ({task.name, task.key()} & excluded))
        ]
        chosen.append((name, tasks[: options.max_tasks] if options.max_tasks else tasks))
    if wanted and not any(tasks for _, tasks in chosen):
        raise ConfigError(f"none of the tasks {', '.join(sorted(wanted))} is in the subsets {', '.join(subset_names)} (and fits a {options.canvas}x{options.canvas} canvas)")
    return _deduplicated(chosen, options.test_set)


def _deduplicated(chosen: list[tuple[str, list[ArcTask]]], test_set: str) -> list[tuple[ArcTask, bool]]:
    seen: dict[object, str] = {}
    kept: list[tuple[ArcTask, bool]] = []
    for name, tasks in chosen:
        overlaps: dict[str, list[str]] = {}
        for task in tasks:
            first = seen.get(task.name) or seen.get(task.key())
            if first is not None:
                overlaps.setdefault(first, []).append(task.name)
                continue
            seen[task.name] = seen[task.key()] = name
            kept.append((task, name == test_set))
        for other, duplicates in overlaps.items():
            if other == test_set:
                what = (
                    f"it contains {len(duplicates)} tasks of the test set '{test_set}' (e.g. {duplicates[0]}); "
                    "they are kept once, as test tasks, so their test outputs stay held out"
                )
            else:
                what = f"it shares {len(duplicates)} tasks with '{other}' (e.g. {duplicates[0]}); they are kept once"
            warnings.warn(f"ARC subset '{name}' overlaps: {what}", stacklevel=2)
    return kept


def split_entries(tasks: list[tuple[ArcTask, bool]], split: str) -> dict[str, list[Entry]]:
    """Pairs of every task assigned to train and test by the split rule."""
    entries: dict[str, list[Entry]] = {"train": [], "test": []}
    for group, (task, in_test_set) in enumerate(tasks):
        held_out = in_test_set and split != "memorise"
        if not (in_test_set and split == "strict"):
            entries["train"] += [Entry(group, q, a) for q, a in task.train]
        for q, a in task.test:
            if a is None and not held_out:
                raise ConfigError(f"task {task.name} has a test input without output, so it cannot train")
            if held_out:
                entries["test"].append(Entry(group, q, a))
            else:
                entries["train"].append(Entry(group, q, a))
            if in_test_set and split == "memorise":
                entries["test"].append(Entry(group, q, a))
    return entries


def to_examples(entries: Iterable[Entry], canvas: int = MAX_SIZE) -> Examples:
    entries = list(entries)
    shape = (len(entries), canvas * canvas)
    inputs = np.array([encode(e.question, canvas) for e in entries], dtype=np.int64).reshape(shape)
    labels = np.array([encode(e.answer, canvas) if e.answer is not None else np.full(canvas * canvas, PAD) for e in entries], dtype=np.int64).reshape(shape)
    groups = np.array([e.group for e in entries], dtype=np.int64)
    return Examples(inputs=inputs, labels=labels, groups=groups, puzzle_identifiers=groups + 1)


def build_dataset(options: ArcOptions, seed: int) -> dict[str, Examples]:
    """``{"train": Examples, "test": Examples}``; ``seed`` is unused (the split is fixed and
    augmentation is drawn while training)."""
    entries = split_entries(select_tasks(options), options.split)
    return {name: to_examples(pairs, options.canvas) for name, pairs in entries.items()}


def task_names(options: ArcOptions) -> list[str]:
    """Task id of every group of a dataset built with ``options`` (for submission files)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [task.name for task, _ in select_tasks(options)]
