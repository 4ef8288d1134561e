"""The contract kit (trmkit.testing): it passes good tasks and names what is wrong with bad ones."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

import trmkit
from trmkit.testing import check_task_contract

SMALL = {"train_size": 4, "test_size": 2}


@pytest.fixture
def latin(fake_task: str) -> trmkit.Task:
    return trmkit.get_task(fake_task)


def test_a_good_task_keeps_the_contract(fake_task: str) -> None:
    check_task_contract(fake_task, SMALL, max_examples=30)


class AcceptAll:
    name = "accept-all"

    def validate(self, puzzle: trmkit.Puzzle, answer: object) -> trmkit.Verdict:
        return trmkit.Verdict(True)


class FirstCellIsOne:
    """Rejects answers that a symmetry may produce: augmented solutions must stay valid."""

    name = "first-cell-is-one"

    def validate(self, puzzle: trmkit.Puzzle, answer: np.ndarray) -> trmkit.Verdict:
        return trmkit.Verdict(bool(answer.flat[0] == 1), "first cell must be 1")


class RaisingValidator:
    name = "raising"

    def validate(self, puzzle: trmkit.Puzzle, answer: object) -> trmkit.Verdict:
        raise ZeroDivisionError("rules table empty")


class MatchesReference:
    name = "matches-reference"

    def validate(self, puzzle: trmkit.Puzzle, answer: np.ndarray) -> trmkit.Verdict:
        if puzzle.answer is None:
            return trmkit.Verdict(False, "no reference answer")
        return trmkit.Verdict(bool(np.array_equal(answer, puzzle.answer)), "differs from the reference")


class ForgetfulTransform:
    def __init__(self, positions: np.ndarray) -> None:
        self.positions = positions

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return tokens[..., self.positions]

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return tokens  # forgets to undo the shuffle


class ForgetfulAugmenter:
    name = "forgetful"

    def sample(self, rng: np.random.Generator, seq_len: int) -> ForgetfulTransform:
        return ForgetfulTransform(rng.permutation(seq_len))


class GlobalRandomAugmenter:
    """Draws from the global RNG instead of the one it is given: not reproducible."""

    name = "global-random"

    def sample(self, rng: np.random.Generator, seq_len: int) -> trmkit.TokenPermutation:
        positions = np.arange(seq_len)
        random.shuffle(positions)
        return trmkit.TokenPermutation(positions, np.arange(6))


class PrettyDecoder:
    """Renders a grid with spaces, which the task's parser does not read."""

    def __init__(self, inner: trmkit.Decoder) -> None:
        self.inner = inner

    def decode(self, tokens: np.ndarray, puzzle: trmkit.Puzzle) -> np.ndarray:
        return self.inner.decode(tokens, puzzle)

    def render(self, grid: np.ndarray, *, color: bool = False) -> str:
        return "\n".join(" ".join(map(str, row)) for row in grid)

    def to_json(self, grid: np.ndarray) -> list:
        return grid.tolist()


class FragileDecoder(PrettyDecoder):
    """Trusts the model: fails on a padding token in a prediction, as a strict parser would."""

    def decode(self, tokens: np.ndarray, puzzle: trmkit.Puzzle) -> np.ndarray:
        if (np.asarray(tokens) == 0).any():
            raise ValueError("padding in a prediction")
        return self.inner.decode(tokens, puzzle)

    def render(self, grid: np.ndarray, *, color: bool = False) -> str:
        return self.inner.render(grid, color=color)


class LossyTokenizer:
    """Encodes blanks as padding: decoding cannot tell them apart, so inputs do not round-trip."""

    def __init__(self, inner: trmkit.Tokenizer) -> None:
        self.inner = inner

    def encode(self, grid: np.ndarray) -> np.ndarray:
        tokens = self.inner.encode(grid)
        return np.where(tokens == 1, 0, tokens)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        return self.inner.decode(tokens)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: {"validators": [AcceptAll()]}, "accept the label of .* changed from token"),
        (lambda t: {"validators": [*t.validators, FirstCellIsOne()]}, "reject the label of"),
        (lambda t: {"augmenters": [ForgetfulAugmenter()]}, r"invert\(apply\(x\)\) != x"),
        (lambda t: {"augmenters": [GlobalRandomAugmenter()]}, "is not deterministic"),
        (lambda t: {"decoder": PrettyDecoder(t.decoder)}, "parser rejects the rendering"),
        (lambda t: {"tokenizer": LossyTokenizer(t.tokenizer)}, r"encode\(tokenizer.decode\(x\)\) != x"),
        (lambda t: {"decoder": FragileDecoder(t.decoder)}, "decoder.decode raised ValueError: padding in a prediction"),
        (lambda t: {"validators": [RaisingValidator()]}, "check_validator_accepts on .* example .*: the plugin raised ZeroDivisionError: rules table empty"),
    ],
    ids=["accepts-anything", "rejects-augmented", "no-inverse", "not-deterministic", "unparseable-render", "lossy", "fragile-decoder", "raising-validator"],
)
def test_a_broken_role_fails_with_a_message_naming_it(latin: trmkit.Task, change, message: str) -> None:
    broken = dataclasses.replace(latin, **change(latin))
    with pytest.raises(AssertionError, match=message):
        check_task_contract(broken, SMALL, max_examples=30)


def test_with_reference_hands_the_label_to_target_matching_validators(latin: trmkit.Task) -> None:
    target_task = dataclasses.replace(latin, validators=[MatchesReference()])
    check_task_contract(target_task, SMALL, max_examples=15, with_reference=True)
    with pytest.raises(AssertionError, match="no reference answer"):
        check_task_contract(target_task, SMALL, max_examples=15)


def test_options_go_through_the_task_and_unknown_ones_are_named(fake_task: str) -> None:
    with pytest.raises(trmkit.ConfigError, match="'size'.*known: blanks, test_size, train_size"):
        check_task_contract(fake_task, {"size": 3})


def test_an_empty_dataset_is_a_failure_not_a_pass(fake_task: str) -> None:
    with pytest.raises(trmkit.InputError, match="empty train split"):
        check_task_contract(fake_task, {"train_size": 0, "test_size": 0})


def test_sudoku_keeps_the_contract() -> None:
    check_task_contract("sudoku", {"num_train": 6, "num_test": 2}, max_examples=20)
