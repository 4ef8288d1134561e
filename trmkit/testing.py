"""The contract every task plugin keeps, as checks a plugin's own tests can run.

One call covers it::

    from trmkit.testing import check_task_contract

    def test_my_task_keeps_the_contract():
        check_task_contract("mytask", options={"num_train": 8, "num_test": 4})

It builds a tiny dataset with the task's own builder, then hypothesis draws examples,
augmentation indices and seeds, and for each checks what the engine relies on without ever
looking at a task's rules:

- the tokenizer is exact: ``encode(decode(tokens)) == tokens`` for inputs and labels;
- augmentation ``task.transform(seed, group, index, seq_len)`` is deterministic, works on
  batches, and ``invert(apply(x)) == x``;
- the validators accept the label's answer to the input's puzzle, before and after
  augmentation, and reject it once one supervised cell is changed to another label token;
- the decoder reads labels as the tokenizer does, and its plain rendering of a question or an
  answer (as the decoder reads it from the label) parses back (with the task's parser) to the
  same grid;
- the training-only jitters (if any) keep an example's shape and vocabulary and depend on
  nothing but the generator they are given;
- whatever tokens a model predicts (labels with any share of positions replaced by random
  token ids, up to all of them), the decoder reads an answer without raising, renders it as
  text, gives JSON that ``json.dumps`` accepts, and the validators return a verdict on it:
  ``trmkit solve`` does exactly this with every prediction.

The ``check_*`` functions are the individual properties, for plugins that want to test them
on examples of their own. Every failure is an :class:`AssertionError` whose message says
which property broke, on which example, and how.
"""

from __future__ import annotations

import functools
import inspect
import json
from typing import Any, Callable, TypeVar

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .dataset import Dataset, build
from .errors import TrmkitError
from .plugins import get_task
from .task import Puzzle, Task, Verdict

__all__ = [
    "build_tiny_dataset",
    "check_decoder_matches_tokenizer",
    "check_decoder_survives",
    "check_examples",
    "check_jitters",
    "check_render_parses_back",
    "check_task_contract",
    "check_tokenizer_round_trip",
    "check_transform_inverts",
    "check_validator_accepts",
    "check_validator_rejects",
    "label_tokens",
]


F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    # An explicit raise, not ``assert``: the contract must hold under ``python -O`` too.
    raise AssertionError(message)


def _plugin_code(check: F) -> F:
    """Make ``check`` fail as the contract does, with an AssertionError naming the property and
    the example, when the plugin code it calls raises (the plugin's exception chained to it)."""
    signature = inspect.signature(check)

    @functools.wraps(check)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - any exception is the failure being reported
            arguments = signature.bind(*args, **kwargs).arguments
            raise AssertionError(f"{arguments['task'].name}: {check.__name__} on {arguments['where']}: the plugin raised {type(exc).__name__}: {exc}") from exc

    return checked  # type: ignore[return-value]


def _same(a: Any, b: Any) -> bool:
    """Grids compare as arrays (shape and values); anything else with ``==``."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.asarray(a).shape == np.asarray(b).shape and bool(np.array_equal(a, b))
    return bool(a == b)


def _difference(expected: np.ndarray, got: np.ndarray) -> str:
    expected, got = np.asarray(expected), np.asarray(got)
    if expected.shape != got.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    where = np.flatnonzero(expected != got)
    shown = ", ".join(f"[{i}] {got.flat[i]} (expected {expected.flat[i]})" for i in where[:5])
    return f"{len(where)} positions differ: {shown}"


def build_tiny_dataset(task: Task, options: dict[str, Any] | None = None, seed: int = 0) -> Dataset:
    """The task's dataset built with ``options`` (pass small sizes: this runs the real builder)."""
    return build(task, task.dataset_options(options), seed)


def label_tokens(dataset: Dataset, ignore_label_id: int) -> np.ndarray:
    """The token values that occur as supervised labels: what a one-cell change may write."""
    labels = np.concatenate([examples.labels.reshape(-1) for examples in dataset.splits.values()])
    return np.unique(labels[labels != ignore_label_id])


def check_examples(task: Task, dataset: Dataset) -> None:
    """Every split has the task's sequence length and only token ids of its vocabulary."""
    for split, examples in dataset.splits.items():
        if examples.inputs.shape[1] != task.spec.seq_len:
            _fail(f"{task.name}: {split} examples have length {examples.inputs.shape[1]}, spec says {task.spec.seq_len}")
        for what in ("inputs", "labels"):
            tokens = getattr(examples, what)
            if len(tokens) and (tokens.min() < 0 or tokens.max() >= task.spec.vocab_size):
                _fail(
                    f"{task.name}: {split} {what} hold token ids outside [0, {task.spec.vocab_size}): "
                    f"min {tokens.min()}, max {tokens.max()}"
                )


@_plugin_code
def check_tokenizer_round_trip(task: Task, tokens: np.ndarray, where: str) -> None:
    """``encode(decode(tokens)) == tokens``: the tokenizer loses nothing the engine trains on."""
    again = np.asarray(task.tokenizer.encode(task.tokenizer.decode(tokens)))
    if not _same(tokens, again):
        _fail(f"{task.name}: tokenizer.encode(tokenizer.decode(x)) != x for {where}: {_difference(tokens, again)}")


@_plugin_code
def check_transform_inverts(task: Task, tokens: np.ndarray, seed: int, group: int, index: int, where: str) -> None:
    """Augmentation ``index`` of ``group`` is the same on every call, applies to a batch as to
    each row, and is undone by ``invert`` (``tokens`` is [2, seq_len]: an input and its label)."""
    seq_len = tokens.shape[-1]
    label = f"task.transform(seed={seed}, group={group}, index={index}) on {where}"
    transform = task.transform(seed, group, index, seq_len)
    moved = np.asarray(transform.apply(tokens))
    if moved.shape != tokens.shape:
        _fail(f"{task.name}: {label} changed the shape {tokens.shape} to {moved.shape}")
    for row in range(len(tokens)):
        single = np.asarray(transform.apply(tokens[row]))
        if not _same(moved[row], single):
            _fail(f"{task.name}: {label} applied to a batch differs from row {row} alone: {_difference(single, moved[row])}")
    again = np.asarray(task.transform(seed, group, index, seq_len).apply(tokens))
    if not _same(moved, again):
        _fail(f"{task.name}: {label} is not deterministic: {_difference(moved, again)}")
    back = np.asarray(transform.invert(moved))
    if not _same(tokens, back):
        _fail(f"{task.name}: invert(apply(x)) != x for {label}: {_difference(tokens, back)}")


def _puzzle(task: Task, inputs: np.ndarray, labels: np.ndarray, where: str, with_reference: bool) -> Puzzle:
    answer = task.tokenizer.decode(labels) if with_reference else None
    return Puzzle(question=task.tokenizer.decode(inputs), answer=answer, source=where)


def _verdict(task: Task, puzzle: Puzzle, answer: Any) -> Verdict:
    verdict = task.validate(puzzle, answer)
    if not isinstance(verdict, Verdict):
        _fail(f"{task.name}: a validator returned {type(verdict).__name__}, not a trmkit.Verdict")
    return verdict


@_plugin_code
def check_jitters(task: Task, inputs: np.ndarray, labels: np.ndarray, seed: int, where: str) -> None:
    """Each of the task's jitters returns an input and a label of the example's shape, made of
    the task's token ids, and the same ones again from a generator in the same state."""
    for jitter in task.jitters:
        first = jitter.jitter(np.random.default_rng(seed), inputs.copy(), labels.copy())
        again = jitter.jitter(np.random.default_rng(seed), inputs.copy(), labels.copy())
        for name, original, got, repeat in zip(("input", "label"), (inputs, labels), first, again):
            got, repeat = np.asarray(got), np.asarray(repeat)
            if got.shape != original.shape or got.dtype.kind not in "iu":
                _fail(f"{task.name}: jitter '{jitter.name}' turned the {name} of {where} into {got.dtype} of shape {got.shape}, expected integers of shape {original.shape}")
            if got.size and (got.min() < 0 or got.max() >= task.spec.vocab_size):
                _fail(f"{task.name}: jitter '{jitter.name}' wrote token ids outside 0..{task.spec.vocab_size - 1} into the {name} of {where}")
            if not np.array_equal(got, repeat):
                _fail(f"{task.name}: jitter '{jitter.name}' gave two results for the {name} of {where} from one generator state (seed {seed}): {_difference(got, repeat)}")


@_plugin_code
def check_validator_accepts(
    task: Task, inputs: np.ndarray, labels: np.ndarray, where: str, with_reference: bool = False
) -> None:
    """The label's answer solves the input's puzzle."""
    verdict = _verdict(task, _puzzle(task, inputs, labels, where, with_reference), task.tokenizer.decode(labels))
    if not verdict.ok:
        _fail(f"{task.name}: the validators reject the label of {where} as an answer to its input: {verdict.reason}")


@_plugin_code
def check_validator_rejects(
    task: Task, inputs: np.ndarray, labels: np.ndarray, position: int, token: int, where: str,
    with_reference: bool = False,
) -> None:
    """The label with supervised cell ``position`` changed to ``token`` is rejected, with a reason."""
    corrupted = np.array(labels, copy=True)
    corrupted[position] = token
    verdict = _verdict(task, _puzzle(task, inputs, labels, where, with_reference), task.tokenizer.decode(corrupted))
    if verdict.ok:
        _fail(
            f"{task.name}: the validators accept the label of {where} with position {position} changed "
            f"from token {labels[position]} to {token}"
        )
    if not verdict.reason:
        _fail(f"{task.name}: a validator rejected a changed answer of {where} without a reason")


@_plugin_code
def check_decoder_matches_tokenizer(task: Task, inputs: np.ndarray, labels: np.ndarray, where: str) -> None:
    """``decoder.decode(labels)`` is the answer ``tokenizer.decode(labels)`` gives."""
    puzzle = Puzzle(question=task.tokenizer.decode(inputs), source=where)
    expected = task.tokenizer.decode(labels)
    got = task.decoder.decode(labels, puzzle)
    if not _same(expected, got):
        _fail(f"{task.name}: decoder.decode(labels) differs from tokenizer.decode(labels) for {where}")


def check_decoder_survives(task: Task, inputs: np.ndarray, predicted: np.ndarray, where: str) -> None:
    """The roles that handle a model's prediction never raise on it, however wrong it is: the
    decoder reads an answer, renders it as text (plain and colour), gives JSON, and the
    validators return a verdict (a failing one is fine; an exception is not)."""
    puzzle = Puzzle(question=task.tokenizer.decode(inputs), source=where)
    step = "decoder.decode"
    try:
        answer = task.decoder.decode(predicted, puzzle)
        step = "decoder.render"
        texts = [task.decoder.render(answer, color=color) for color in (False, True)]
        step = "json.dumps(decoder.to_json(answer))"
        json.dumps(task.decoder.to_json(answer))
        step = "the validators"
        verdict = task.validate(puzzle, answer)
    except Exception as exc:  # noqa: BLE001 - any exception is the failure being reported
        _fail(f"{task.name}: {step} raised {type(exc).__name__}: {exc} on the prediction {predicted.tolist()} for {where}")
    if not all(isinstance(text, str) for text in texts):
        _fail(f"{task.name}: decoder.render did not return str for a prediction for {where}")
    if not isinstance(verdict, Verdict):
        _fail(f"{task.name}: a validator returned {type(verdict).__name__}, not a trmkit.Verdict")


@_plugin_code
def check_render_parses_back(task: Task, grid: Any, where: str) -> None:
    """The decoder's plain text is read back by the task's parser as the same grid (so that
    ``trmkit solve`` output can be piped into ``trmkit check``); the colour form is text too."""
    text = task.decoder.render(grid, color=False)
    if not isinstance(text, str):
        _fail(f"{task.name}: decoder.render returned {type(text).__name__}, not str, for {where}")
    if not isinstance(task.decoder.render(grid, color=True), str):
        _fail(f"{task.name}: decoder.render(color=True) did not return str for {where}")
    try:
        puzzles = task.spec.parse(text, "<render>")
    except TrmkitError as exc:
        _fail(f"{task.name}: the task's parser rejects the rendering of {where} ({exc}):\n{text}")
    if len(puzzles) != 1:
        _fail(f"{task.name}: parsing the rendering of {where} gave {len(puzzles)} puzzles, not 1:\n{text}")
    if not _same(grid, puzzles[0].question):
        _fail(f"{task.name}: the rendering of {where} parses back to a different grid:\n{text}")


def check_task_contract(
    task: str | Task,
    options: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    max_examples: int = 25,
    augmentations: int = 1000,
    with_reference: bool = False,
) -> None:
    """Check ``task`` (a name or a :class:`trmkit.Task`) against the contract on a dataset built
    with ``options``; raises :class:`AssertionError` naming the first property that fails.

    ``augmentations`` bounds the augmentation indices drawn (as ``data.augmentations`` does in
    training). ``with_reference`` passes the label as ``Puzzle.answer`` to the validators, for
    tasks whose validator compares with a known target (ARC) rather than checking rules.
    """
    task = get_task(task) if isinstance(task, str) else task
    dataset = build_tiny_dataset(task, options, seed)
    check_examples(task, dataset)
    rows = [(split, row) for split, examples in dataset.splits.items() for row in range(len(examples))]
    replacements = label_tokens(dataset, task.spec.ignore_label_id)
    if not rows or not len(replacements):
        _fail(f"{task.name}: the dataset built with options {options!r} has no supervised examples to check")

    # No shrinking: the draws are plain indices and seeds, so a "smaller" failing example says
    # no more than the first one, whose message already names the example, index and seed.
    @settings(
        max_examples=max_examples, deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        pick=st.integers(0, len(rows) - 1),
        noise=st.sampled_from([0.0, 0.05, 0.5, 1.0]),
        index=st.integers(0, max(augmentations - 1, 0)),
        aug_seed=st.integers(0, 2**32 - 1),
        data=st.data(),
    )
    def contract(pick: int, noise: float, index: int, aug_seed: int, data: st.DataObject) -> None:
        split, row = rows[pick]
        examples = dataset.splits[split]
        inputs, labels = examples.inputs[row], examples.labels[row]
        group = int(examples.groups[row])
        where = f"{split} example {row}"
        check_transform_inverts(task, np.stack([inputs, labels]), aug_seed, group, index, where)
        moved_inputs, moved_labels = task.transform(aug_seed, group, index, len(inputs)).apply(np.stack([inputs, labels]))
        moved = f"{where} under augmentation {index} (seed {aug_seed})"
        for tokens, name in ((inputs, where), (labels, where), (moved_inputs, moved), (moved_labels, moved)):
            check_tokenizer_round_trip(task, tokens, name)
        check_jitters(task, moved_inputs, moved_labels, aug_seed, moved)
        check_validator_accepts(task, inputs, labels, where, with_reference)
        check_validator_accepts(task, moved_inputs, moved_labels, moved, with_reference)
        check_decoder_matches_tokenizer(task, inputs, labels, where)
        check_render_parses_back(task, task.tokenizer.decode(moved_inputs), f"the question of {moved}")
        moved_puzzle = Puzzle(question=task.tokenizer.decode(moved_inputs), source=moved)
        check_render_parses_back(task, task.decoder.decode(moved_labels, moved_puzzle), f"the decoded answer of {moved}")
        supervised = np.flatnonzero(moved_labels != task.spec.ignore_label_id)
        if len(supervised):
            position = int(data.draw(st.sampled_from(supervised), label="position"))
            others = [int(t) for t in replacements if t != moved_labels[position]]
            if others:
                token = data.draw(st.sampled_from(others), label="token")
                check_validator_rejects(task, moved_inputs, moved_labels, position, token, moved, with_reference)
        noisy = np.random.default_rng(aug_seed)
        predicted = np.where(noisy.random(len(moved_labels)) < noise, noisy.integers(0, task.spec.vocab_size, len(moved_labels)), moved_labels)
        check_decoder_survives(task, moved_inputs, predicted, f"{moved} ({noise:.0%} of its tokens random)")

    contract()
