"""Voting across augmented versions: a puzzle's answers are what most of its versions say.

An optional capability of a task: a decoder with an ``aggregate(candidates)`` method (see
:class:`trmkit.Decoder`) is evaluated and solved this way (the official ARC evaluator,
``evaluators/arc.py``). Every example runs as ``versions`` augmented copies (version 0 is the
original; version ``v`` is ``pool.transform(group, v)`` of a :class:`trmkit.versions.Versions` built
as training built it, with puzzle identifier ``task.version_identifiers(base, v, base_count)``; a
group with fewer distinct versions votes with those it has). Each prediction is mapped back with the
transform's inverse and decoded; the decoder's ``aggregate`` ranks the distinct answers of one
example (:func:`rank_by_votes` is the usual rule: most votes, then highest mean confidence), and
pass@K asks whether a right answer is among the first K. A right answer is one the task's validators
accept with the known answer as reference. A task's score is the share of its test examples passed
(a group is a task); the headline is the mean over tasks, as the reference reports it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from .task import Examples, Puzzle, Task
from .versions import Versions

#: The K of pass@K reported by default (the reference also lists 100 and 1000).
PASS_AT = (1, 2, 5, 10)


def supports_voting(task: Task) -> bool:
    """Whether ``task``'s decoder ranks the answers of augmented versions (``aggregate``)."""
    return callable(getattr(task.decoder, "aggregate", None))


def rank_by_votes(candidates: Sequence[tuple[Any, float]], key: Callable[[Any], Hashable]) -> list[Any]:
    """Distinct answers among ``(answer, confidence)`` pairs (answers with equal ``key`` are one
    answer), most frequent first, ties broken by the higher mean confidence, then by first seen."""
    votes: dict[Hashable, list[Any]] = {}
    for answer, confidence in candidates:
        entry = votes.setdefault(key(answer), [answer, 0, 0.0])
        entry[1] += 1
        entry[2] += float(confidence)
    ranked = sorted(votes.values(), key=lambda entry: (-entry[1], -entry[2] / entry[1]))
    return [answer for answer, _, _ in ranked]


@dataclass
class Ballot:
    """The versions' answers for the examples of one run, in example order."""

    candidates: list[list[tuple[Any, float]]] = field(default_factory=list)

    def ranked(self, task: Task) -> list[list[Any]]:
        return [list(task.decoder.aggregate(found)) for found in self.candidates]


def predict_versions(
    model: Any,
    task: Task,
    inputs: np.ndarray,
    groups: np.ndarray,
    base_identifiers: np.ndarray,
    *,
    pool: Versions,
    versions: int | Sequence[int],
    base_count: int,
    batch_size: int = 256,
    max_steps: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Ballot:
    """Run every example of ``inputs`` as augmented versions (``versions``: how many, from 0, or
    which) with all supervision steps (the official protocol) and collect each version's decoded
    answer, mapped back to the original frame, with its confidence (sigmoid of the halting logit)."""
    from .act import solve

    count, seq_len = inputs.shape
    questions = [Puzzle(task.tokenizer.decode(row)) for row in inputs]
    ballot = Ballot([[] for _ in range(count)])
    chosen = range(max(1, versions)) if isinstance(versions, int) else versions
    jobs = [(i, int(v)) for v in chosen for i in range(count) if int(v) < pool.count(int(groups[i]))]
    transforms: dict[tuple[int, int], Any] = {}

    def transform(i: int, v: int) -> Any:
        key = (int(groups[i]), v)
        if key not in transforms:
            transforms[key] = pool.transform(key[0], v, seq_len)
        return transforms[key]

    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        tokens = np.stack([transform(i, v).apply(inputs[i]) for i, v in chunk])
        ids = np.array([task.version_identifiers(base_identifiers[i], v, base_count) for i, v in chunk], dtype=np.int64)
        result = solve(model, tokens, ids, max_steps=max_steps, halt="all")
        solutions = result["solution"].cpu().numpy()
        confidence = result["confidence"].float().cpu().numpy()
        for row, (i, v) in enumerate(chunk):
            back = transform(i, v).invert(solutions[row])
            ballot.candidates[i].append((task.decoder.decode(back, questions[i]), float(confidence[row])))
        if progress is not None:
            progress(min(start + batch_size, len(jobs)), len(jobs))
    return ballot


def pass_at(task: Task, examples: Examples, ranked: list[list[Any]], ks: Sequence[int] = PASS_AT) -> dict[str, Any]:
    """pass@K for each K: per task (group) the share of its examples with a right answer among
    the first K, averaged over tasks; also per example. Examples whose answer is unknown (no
    supervised label token: a competition's hidden test outputs) are not scored."""
    per_group: dict[int, list[float]] = defaultdict(list)  # group -> rank of the first right answer per example (inf: none)
    for row, answers in enumerate(ranked):
        if not (examples.labels[row] != task.spec.ignore_label_id).any():
            continue
        question = task.tokenizer.decode(examples.inputs[row])
        reference = task.tokenizer.decode(examples.labels[row])
        puzzle = Puzzle(question, reference)
        first = next((k for k, answer in enumerate(answers) if task.validate(puzzle, answer).ok), None)
        per_group[int(examples.groups[row])].append(np.inf if first is None else first)
    metrics: dict[str, Any] = {"examples": sum(len(ranks) for ranks in per_group.values()), "puzzles": len(per_group)}
    for k in ks:
        metrics[f"pass@{k}"] = float(np.mean([np.mean([rank < k for rank in ranks]) for ranks in per_group.values()])) if per_group else 0.0
        metrics[f"example_pass@{k}"] = float(np.mean([rank < k for ranks in per_group.values() for rank in ranks])) if per_group else 0.0
    return metrics


def attempts_by_group(examples: Examples, ranked: list[list[Any]]) -> dict[int, list[list[Any]]]:
    """Ranked answers grouped by task, each task's examples in split order (for submissions)."""
    grouped: dict[int, list[list[Any]]] = defaultdict(list)
    for row, answers in enumerate(ranked):
        grouped[int(examples.groups[row])].append(answers)
    return dict(grouped)


def evaluate_votes(
    model: Any,
    task: Task,
    examples: Examples,
    *,
    pool: Versions,
    versions: int | Sequence[int],
    base_count: int,
    limit: int = 0,
    batch_size: int = 256,
    max_steps: int | None = None,
    ks: Sequence[int] = PASS_AT,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], dict[int, list[list[Any]]]]:
    """pass@K of ``model`` on ``examples`` (the first ``limit`` if > 0) by voting over
    ``versions`` (a count from version 0, or which), and the ranked answers by group.

    In a data-parallel run every rank runs its share of the examples (all their versions), rank 0
    counts the gathered votes, and every rank returns its metrics; the answers only rank 0."""
    from . import distributed

    count = min(len(examples), limit) if limit > 0 else len(examples)
    part = Examples(examples.inputs[:count], examples.labels[:count], examples.groups[:count], examples.puzzle_identifiers[:count])
    start, stop = distributed.shard(count)
    mine = predict_versions(
        model, task, part.inputs[start:stop], part.groups[start:stop], part.puzzle_identifiers[start:stop],
        pool=pool, versions=versions, base_count=base_count, batch_size=batch_size, max_steps=max_steps, progress=progress,
    )
    gathered = distributed.gather_objects(mine.candidates)
    metrics, attempts = None, {}
    if gathered is not None:
        ranked = Ballot([found for shard in gathered for found in shard]).ranked(task)
        metrics = dict(pass_at(task, part, ranked, ks), versions=max(1, versions) if isinstance(versions, int) else len(versions))
        attempts = attempts_by_group(part, ranked)
    return distributed.broadcast_object(metrics), attempts  # the answers stay on rank 0: large at 1001 versions
