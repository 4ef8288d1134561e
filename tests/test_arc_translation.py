"""ARC's translation (the official ``dataset/build_arc_dataset.py``): training pairs move on the
canvas, input and output by one offset that keeps the larger grid inside; one example of each task
version stays in the corner; nothing is translated at evaluation; ``data.jitter: false`` turns it
off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import trmkit
from trmkit.sampler import Sampler, evaluation_batches
from trmkit_arc.augment import Translation
from trmkit_arc.build import Entry, to_examples
from trmkit_arc.canvas import EOS, PAD, encode

TASK = trmkit.get_task("arc")
SIDE = 8


def grids(max_side: int = SIDE) -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return shapes.flatmap(lambda shape: arrays(np.int8, shape, elements=st.integers(0, 9)))


def offset_of(canvas: np.ndarray) -> tuple[int, int]:
    """Row and column of a canvas's first colour cell (the grid's top-left corner)."""
    rows, columns = np.nonzero(canvas.reshape(SIDE, SIDE) >= 2)
    return int(rows.min()), int(columns.min())


def test_arc_declares_translation_as_its_jitter() -> None:
    assert [jitter.name for jitter in TASK.jitters] == ["translation"]


@given(question=grids(), answer=grids(), seed=st.integers(0, 2**32 - 1))
def test_a_pair_moves_by_one_offset_that_keeps_both_grids_on_the_canvas(question, answer, seed) -> None:
    moved_question, moved_answer = Translation().jitter(np.random.default_rng(seed), encode(question, SIDE), encode(answer, SIDE))
    top, left = offset_of(moved_question)
    assert offset_of(moved_answer) == (top, left)
    # exactly the grids, with their EOS border, at that offset (encode raises if one did not fit)
    assert np.array_equal(moved_question, encode(question, SIDE, at=(top, left)))
    assert np.array_equal(moved_answer, encode(answer, SIDE, at=(top, left)))


def test_offsets_cover_every_place_the_larger_grid_fits() -> None:
    question, answer = encode(np.ones((2, 5), np.int8), SIDE), encode(np.ones((3, 1), np.int8), SIDE)
    seen = {offset_of(Translation().jitter(np.random.default_rng(seed), question, answer)[0]) for seed in range(400)}
    assert seen == {(top, left) for top in range(SIDE - 3 + 1) for left in range(SIDE - 5 + 1)}


def test_the_eos_border_follows_the_grid_and_stops_at_the_canvas_edge() -> None:
    canvas = encode(np.full((2, 3), 4, np.int8), 6, at=(1, 3)).reshape(6, 6)
    assert (canvas[1:3, 3:6] == 4 + 2).all()
    assert (canvas[3, 3:6] == EOS).all()  # the row below; no column to the right: it is the edge
    assert (canvas == EOS).sum() == 3 and (canvas == PAD).sum() == 36 - 6 - 3


def test_an_unknown_answer_stays_unsupervised_and_bounds_nothing() -> None:
    question, unknown = encode(np.ones((2, 2), np.int8), SIDE), np.full(SIDE * SIDE, PAD)
    moved_question, moved_answer = Translation().jitter(np.random.default_rng(3), question, unknown)
    assert np.array_equal(moved_answer, unknown) and offset_of(moved_question) != (0, 0)


class Recording:
    """A jitter that records which example it was given and marks the input it returns."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def jitter(self, rng, inputs, labels):
        self.calls.append(int(labels[0]))
        return np.full_like(inputs, 11), labels


def examples_of_two_groups():
    # group 0 has five examples, group 1 one; each label's first token says which example it is
    entries = [Entry(0, np.array([[1]]), np.array([[k]])) for k in range(5)] + [Entry(1, np.array([[2]]), np.array([[9]]))]
    return to_examples(entries, canvas=2)


def test_one_example_of_each_version_is_never_jittered_and_the_choice_is_seeded() -> None:
    examples = examples_of_two_groups()
    recording = Recording()
    task = dataclasses.replace(TASK, jitters=[recording])
    kept = []
    for version in range(6):
        inputs, labels = examples.inputs, examples.labels
        untouched = []
        for member in range(5):
            moved, _ = task.jitter(4, 0, version, member, 5, inputs[member], labels[member])
            if moved is inputs[member] or np.array_equal(moved, inputs[member]):
                untouched.append(member)
        assert len(untouched) == 1
        kept.append(untouched[0])
        # a group of one example is its own kept example
        assert np.array_equal(task.jitter(4, 1, version, 0, 1, inputs[5], labels[5])[0], inputs[5])
    assert len(set(kept)) > 1  # which one varies with the version
    again = [m for m in range(5) if np.array_equal(task.jitter(4, 0, 2, m, 5, examples.inputs[m], examples.labels[m])[0], examples.inputs[m])]
    assert again == [kept[2]]


@pytest.mark.parametrize("jitter", [True, False])
def test_the_sampler_jitters_training_batches_unless_the_config_says_not(jitter: bool) -> None:
    examples = examples_of_two_groups()
    recording = Recording()
    task = dataclasses.replace(TASK, jitters=[recording])
    batch = Sampler(task, examples, batch_size=60, augmentations=0, seed=0, jitter=jitter).next_batch()
    marked = (batch.inputs == 11).all(axis=1)
    if jitter:
        # 10 visits of each example; in group 0 all but the kept one move, group 1's only one never
        assert marked.sum() == 40 and len(recording.calls) == 40 and 9 not in recording.calls
    else:
        assert not marked.any() and not recording.calls
    assert not any((b.inputs == 11).any() for b in evaluation_batches(task, examples, 4))


def test_training_config_turns_translation_off() -> None:
    assert trmkit.load_config(TASK, "tiny", ["data.jitter=false"]).data.jitter is False
    assert trmkit.load_config(TASK, "tiny").data.jitter is True
