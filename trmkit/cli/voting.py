"""``trmkit eval`` and ``trmkit solve`` for tasks that vote across augmented versions.

A task opts in by giving its decoder an ``aggregate`` method (:mod:`trmkit.voting`). Then
``eval`` reports pass@K (a task counts as solved when a right answer is among its K best-voted
answers) and, when the decoder has ``submission``, writes a submission file; ``solve`` shows
each puzzle's two best-voted attempts, scored when the file has the answer. No commands here:
``solve`` and ``eval`` call in (this module is not in ``COMMAND_MODULES``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np

from ..atomic import atomic_write
from ..errors import InputError
from ..task import Puzzle, Task
from .common import emit_json, encode_for_model, stderr

#: Attempts ``solve`` shows per puzzle (ARC's rule: two tries).
ATTEMPTS = 2


def versions_option(function: Any) -> Any:
    return click.option(
        "--versions", type=click.IntRange(min=1), default=None,
        help="Tasks that vote across augmented versions: how many versions of each puzzle vote (version 0 is the original) [default: all the model trained].",
    )(function)


def submission_option(function: Any) -> Any:
    return click.option(
        "--submission", "submission_path", type=click.Path(path_type=Path), default=Path("submission.json"), show_default=True,
        help="Tasks that vote and write submissions (ARC): where to write the Kaggle-format answers.",
    )(function)


class Setting:
    """How the loaded model's versions were drawn in training on ``data``: which draw each
    version of a group is, how many versions it trained, and the stride between versions'
    puzzle identifiers."""

    def __init__(self, task: Task, loaded: Any, versions: int | None, data: Any) -> None:
        from ..versions import Versions

        config = loaded.config
        self.pool = Versions.of_run(task, config, data)
        self.trained = self.pool.wanted
        self.base_count = config.model.num_puzzle_identifiers // (self.trained if task.spec.identifiers_per_version else 1)
        if versions is not None and versions > self.trained:
            raise InputError(f"the model trained {self.trained} versions per puzzle; --versions {versions} asks for more")
        if int(data.manifest["num_puzzle_identifiers"]) != self.base_count:
            raise InputError(
                f"the dataset has {data.manifest['num_puzzle_identifiers']} puzzle identifiers, the model was trained on "
                f"{self.base_count}: not the dataset the model was trained on"
            )
        self.versions = versions or self.trained


def voted_eval(task: Task, loaded: Any, data: Any, split: str, limit: int, max_steps: int | None, versions: int | None, submission_path: Path, as_json: bool) -> None:
    """pass@K on ``split`` of ``data``; the submission file when the decoder writes one."""
    from ..voting import evaluate_votes

    setting = Setting(task, loaded, versions, data)
    examples = data.splits[split]
    with stderr.status(f"evaluating on {split}: {setting.versions} versions of each example") as status:
        metrics, attempts = evaluate_votes(
            loaded.model, task, examples, pool=setting.pool, versions=setting.versions, base_count=setting.base_count,
            limit=limit, max_steps=max_steps, progress=_progress(status, f"evaluating on {split}"),
        )
    metrics = {"task": task.name, "model": str(loaded.path), "split": split, **metrics}
    writer = getattr(task.decoder, "submission", None)
    if callable(writer):
        document = writer(attempts, data.manifest.get("builder_options") or {})
        text = json.dumps(document, separators=(",", ":"))
        try:
            atomic_write(submission_path, lambda handle: handle.write(text.encode()))
        except OSError as exc:
            raise InputError(f"{submission_path}: cannot write the submission ({exc.strerror or exc})") from None
        metrics["submission"] = str(submission_path)
        stderr.print(f"wrote {submission_path} ({len(document)} puzzles)")
    if as_json:
        emit_json(metrics)
        return
    click.echo(f"examples: {metrics['examples']} in {metrics['puzzles']} puzzles, {metrics['versions']} versions each")
    for k in (1, 2, 5):
        click.echo(f"pass@{k}: {metrics[f'pass@{k}']:.4f}")


def _progress(status: Any, what: str) -> Callable[[int, int], None]:
    return lambda done, total: status.update(f"{what}: {done}/{total} model runs")


def locate(task: Task, puzzles: list[Puzzle], data: Any, seq_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens, group and base identifier of each puzzle, found by its question among the
    examples of the model's data (test split first; the tokens are the data's, so a model of a
    smaller canvas reads them too); a puzzle found nowhere is encoded for the model
    (:func:`~trmkit.cli.common.encode_for_model`) and gets a new group and the blank identifier, with a note that the
    model never learnt it."""
    key = lambda grid: json.dumps(task.decoder.to_json(grid))  # noqa: E731
    known: dict[str, tuple[np.ndarray, int, int]] = {}
    for name in sorted(data.splits, key=lambda split: split != "test"):
        examples = data.splits[name]
        for row in range(len(examples)):
            found = (examples.inputs[row], int(examples.groups[row]), int(examples.puzzle_identifiers[row]))
            known.setdefault(key(task.tokenizer.decode(examples.inputs[row])), found)
    fresh = 1 + max((int(examples.groups.max(initial=0)) for examples in data.splits.values()), default=0)
    tokens, groups, identifiers = [], [], []
    for puzzle in puzzles:
        match = known.get(key(puzzle.question))
        if match is not None:
            row, group, identifier = match
        else:
            row, group, identifier = encode_for_model(task, puzzle, seq_len), fresh, 0
        if identifier == 0 and task.spec.identifiers_per_version:
            stderr.print(f"[yellow]note:[/] {puzzle.source} is not in the model's data, so it has no learnt puzzle embedding: expect guesses")
        tokens.append(row)
        groups.append(group)
        identifiers.append(identifier)
    return np.stack(tokens), np.array(groups, dtype=np.int64), np.array(identifiers, dtype=np.int64)


def voted_solve(task: Task, loaded: Any, puzzles: list[Puzzle], data: Any, max_steps: int | None, versions: int | None, as_json: bool) -> int:
    """Show (or emit as JSON) each puzzle's best-voted attempts; the exit status."""
    from ..voting import predict_versions

    setting = Setting(task, loaded, versions, data)
    tokens, groups, identifiers = locate(task, puzzles, data, loaded.config.model.seq_len)
    with stderr.status(f"solving {len(puzzles)} puzzles, {setting.versions} versions each") as status:
        ballot = predict_versions(
            loaded.model, task, tokens, groups, identifiers, pool=setting.pool, versions=setting.versions,
            base_count=setting.base_count, max_steps=max_steps, progress=_progress(status, "solving"),
        )
    records = [_record(task, puzzle, found) for puzzle, found in zip(puzzles, ballot.candidates)]
    if as_json:
        emit_json([dict(r, attempts=[task.decoder.to_json(a) for a in r["attempts"]]) for r in records])
    else:
        color = sys.stdout.isatty()
        for record in records:
            _show(task, record, color)
    solved = sum(record["valid"] for record in records)
    scored = sum(record["scored"] for record in records)
    what = "solved" if scored == len(records) else "valid (shape and colours; no known answer for some)"
    stderr.print(f"{solved} of {len(records)} puzzles {what} within {ATTEMPTS} attempts ({loaded.path})")
    return 0 if solved == len(records) else 1


def _record(task: Task, puzzle: Puzzle, candidates: list[tuple[Any, float]]) -> dict[str, Any]:
    ranked = list(task.decoder.aggregate(candidates))[:ATTEMPTS]
    key = lambda answer: json.dumps(task.decoder.to_json(answer))  # noqa: E731
    votes = [sum(key(found) == key(answer) for found, _ in candidates) for answer in ranked]
    verdicts = [task.validate(puzzle, answer) for answer in ranked]
    hit = next((number for number, verdict in enumerate(verdicts, start=1) if verdict.ok), None)
    return {
        "source": puzzle.source,
        "attempts": ranked,
        "votes": votes,
        "versions": len(candidates),
        "scored": puzzle.answer is not None,
        "valid": hit is not None,
        "solved_by": hit,
        "reason": "" if hit or not verdicts else verdicts[0].reason,
    }


def _show(task: Task, record: dict[str, Any], color: bool) -> None:
    if record["valid"]:
        verdict = f"solved by attempt {record['solved_by']}" if record["scored"] else "answered (no known answer to score against)"
    else:
        verdict = f"not solved: {record['reason'] or 'no readable attempt'}"
    click.echo(f"# {record['source']}: {verdict}")
    for number, (answer, votes) in enumerate(zip(record["attempts"], record["votes"]), start=1):
        click.echo(f"## attempt {number}: {votes} of {record['versions']} votes")
        click.echo(task.decoder.render(answer, color=color))
