"""ARC encoding and augmentation: exact round trips on every task of both datasets, inverse
transforms, and the chain from an augmented target back to the true output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import trmkit
from trmkit.symmetry import dihedral_transform
from trmkit.testing import check_task_contract
from trmkit_arc.augment import DihedralTransform
from trmkit_arc.build import ArcOptions, build_dataset
from trmkit_arc.canvas import EOS, MALFORMED, PAD, crop, encode
from trmkit_arc.sources import BUILTIN, builtin

TASK = trmkit.get_task("arc")
SMALL_TASKS = "0d3d703e,25ff71a9,66e6c45b,4cd1b7b2,007bbfb7"


def all_grids(subset: str):
    for task in builtin(subset):
        for pair in task.train + task.test:
            yield from pair


@pytest.mark.parametrize("subset", sorted(BUILTIN))
def test_every_grid_of_both_datasets_round_trips(subset: str) -> None:
    count = 0
    for grid in all_grids(subset):
        tokens = TASK.tokenizer.encode(grid)
        assert tokens.shape == (900,)
        assert np.array_equal(TASK.tokenizer.decode(tokens), grid)
        count += 1
    assert count > 800  # every task's demo and test grids, outputs included


def test_the_canvas_is_the_reference_layout() -> None:
    grid = np.array([[1, 2, 3], [4, 5, 6]])
    canvas = encode(grid).reshape(30, 30)
    assert canvas[:2, :3].tolist() == [[3, 4, 5], [6, 7, 8]]  # colour + 2
    assert (canvas[2, :3] == EOS).all() and (canvas[:2, 3] == EOS).all()  # EOS row below, column right
    assert canvas[2, 3] == PAD and (canvas[3:] == PAD).all() and (canvas[:, 4:] == PAD).all()
    full = encode(np.zeros((30, 30), dtype=int))
    assert EOS not in full  # no room for a border


grids = st.tuples(st.integers(1, 30), st.integers(1, 30)).flatmap(lambda shape: arrays(np.int8, shape, elements=st.integers(0, 9)))


@settings(max_examples=60, deadline=None)
@given(grid=grids)
def test_random_grids_round_trip(grid: np.ndarray) -> None:
    assert np.array_equal(TASK.tokenizer.decode(encode(grid)), grid)


@settings(max_examples=60, deadline=None)
@given(tokens=arrays(np.int64, 900, elements=st.integers(0, 11)))
def test_any_canvas_decodes_without_raising_and_only_clean_ones_to_a_grid(tokens: np.ndarray) -> None:
    grid = TASK.tokenizer.decode(tokens)
    if grid.size:
        assert np.array_equal(encode(grid), tokens)
    crop(tokens)  # the lenient reading never raises either


def test_one_wrong_token_never_reads_as_the_right_grid() -> None:
    grid = np.array([[1, 0], [0, 1]])
    tokens = encode(grid)
    eos = int(np.flatnonzero(tokens == EOS)[0])
    tokens[eos] = 5  # the EOS border broken: the reference's crop still reads the grid...
    assert np.array_equal(crop(tokens), grid)
    assert TASK.tokenizer.decode(tokens).shape == MALFORMED.shape  # ...the exact reading does not


@settings(max_examples=40, deadline=None)
@given(grid=grids, other=grids, seed=st.integers(0, 2**32 - 1), version=st.integers(1, 1000), group=st.integers(0, 5000))
def test_inverse_augmentation_restores_the_original(grid, other, seed, version, group) -> None:
    pair = np.stack([encode(grid), encode(other)])
    transform = TASK.transform(seed, group, version, 900)
    moved = transform.apply(pair)
    for row in moved:  # still clean canvases: an augmented grid is a grid
        assert TASK.tokenizer.decode(row).size
    assert np.array_equal(transform.invert(moved), pair)


@settings(max_examples=60, deadline=None)
@given(tokens=arrays(np.int64, (3, 36), elements=st.integers(0, 11)), grid=st.integers(1, 6).flatmap(lambda h: arrays(np.int8, (h, 7 - h), elements=st.integers(0, 9))), k=st.integers(0, 7))
def test_the_dihedral_transform_of_any_canvas_is_that_of_the_grid_crop_reads(tokens, grid, k) -> None:
    """The batched gather equals the plain definition, on clean canvases and on any prediction."""
    rows = np.concatenate([tokens, encode(grid, 6)[None]])
    expected = [encode(dihedral_transform(crop(row), k), 6) if crop(row).size else np.full(36, PAD) for row in rows]
    assert np.array_equal(DihedralTransform(k).apply(rows), np.stack(expected))


def test_a_version_applies_one_transform_to_every_pair_of_a_task() -> None:
    grid = np.arange(6).reshape(2, 3) % 10
    transform = TASK.transform(7, 3, 5, 900)
    moved = TASK.tokenizer.decode(transform.apply(encode(grid)))
    again = TASK.tokenizer.decode(TASK.transform(7, 3, 5, 900).apply(encode(grid)))
    assert np.array_equal(moved, again)
    # the dihedral part moves cells, the colour part fixes black and permutes 1-9
    assert sorted(np.unique(moved).tolist()) != [] and (moved == 0).sum() == (grid == 0).sum()


@pytest.mark.parametrize("subset", ["evaluation", "evaluation2"])
def test_a_prediction_equal_to_the_augmented_target_decodes_to_the_true_output(subset: str) -> None:
    checked = 0
    for group, task in enumerate(builtin(subset)):
        for _, output in task.test:
            for version in (1, 2, 3):
                transform = TASK.transform(11, group, version, 900)
                prediction = transform.apply(encode(output))  # what a perfect model answers
                answer = TASK.decoder.decode(transform.invert(prediction), trmkit.Puzzle(None))
                assert np.array_equal(answer, output), (task.name, version)
                checked += 1
    assert checked > 3 * 160


def test_the_task_keeps_the_plugin_contract() -> None:
    check_task_contract("arc", {"tasks": SMALL_TASKS}, max_examples=30, with_reference=True)


def test_a_small_canvas_holds_the_tasks_that_fit() -> None:
    splits = build_dataset(ArcOptions(subsets="training", test_set="training", canvas=4, max_tasks=0), 0)
    assert splits["train"].inputs.shape[1] == 16
    assert TASK.tokenizer.decode(splits["train"].inputs[0]).shape[0] <= 4
