"""Deduplicated versions (the official ``dataset/build_arc_dataset.py``: versions are distinct by a
hash over all of a puzzle's pairs): a task whose versions learn their own embeddings keeps only
draws that make a new puzzle, the same ones in training and evaluation; other tasks keep every
draw."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import trmkit
from trmkit.versions import ATTEMPTS_PER_VERSION, Versions
from trmkit_arc.build import Entry, to_examples

ARC = trmkit.get_task("arc")
CANVAS = 5


def split(*entries: Entry) -> trmkit.Examples:
    return to_examples(entries, CANVAS)


TWO_COLOURS = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])  # black and blue, no symmetry
COLOURFUL = np.arange(9).reshape(3, 3)


def applied(pool: Versions, group: int, version: int, examples: trmkit.Examples) -> bytes:
    rows = examples.groups == group
    return pool.transform(group, version, CANVAS * CANVAS).apply(np.concatenate([examples.inputs[rows], examples.labels[rows]])).tobytes()


def test_a_two_colour_task_has_as_many_versions_as_distinct_recolourings_and_turns() -> None:
    train = split(Entry(0, TWO_COLOURS, TWO_COLOURS.T), Entry(1, COLOURFUL, COLOURFUL))
    pool = Versions(ARC, seed=3, augmentations=200, splits=[train])
    # blue can become any of 9 colours, the grid can turn 8 ways: 72 distinct versions at most
    assert 1 < pool.count(0) <= 72 and pool.count(1) == 201
    for group in (0, 1):
        seen = {applied(pool, group, version, train) for version in range(pool.count(group))}
        assert len(seen) == pool.count(group)  # every version a distinct puzzle
        draws = pool.draws(group)
        assert draws[0] == 0 and draws == sorted(set(draws)) and draws[-1] < ATTEMPTS_PER_VERSION * 201
    # the same pools again from a new object (a resumed run, the evaluation)
    assert Versions(ARC, seed=3, augmentations=200, splits=[train]).draws(0) == pool.draws(0)


def test_pools_depend_on_every_pair_of_the_group_in_any_split_order() -> None:
    train = split(Entry(0, TWO_COLOURS, TWO_COLOURS))
    test = split(Entry(0, COLOURFUL, COLOURFUL))
    both = Versions(ARC, 0, 100, [train, test])
    assert both.draws(0) == Versions(ARC, 0, 100, [test, train]).draws(0)
    assert both.count(0) > Versions(ARC, 0, 100, [train]).count(0)  # the colourful test pair tells more versions apart


def test_training_draws_each_group_s_versions_uniformly_from_those_it_has() -> None:
    """As the reference's sampler: uniform among a group's distinct versions (a group with 72
    does not see some of them 14/1001 of the time and others 13/1001)."""
    from trmkit.sampler import Sampler

    train = split(Entry(0, TWO_COLOURS, TWO_COLOURS), Entry(1, COLOURFUL, COLOURFUL))
    pool = Versions(ARC, 1, 50, [train])  # 36 distinct versions of group 0 for 51 draws
    counts = pool.counts(np.array([0, 1]))
    assert counts.tolist() == [pool.count(0), 51] and counts[0] < 51
    sampler = Sampler(ARC, train, 2, 50, seed=1, jitter=False, versions=pool)
    drawn: dict[int, list[int]] = {0: [], 1: []}
    for epoch in range(1000):
        sampler._epoch_plan(epoch)
        for index, version in zip(sampler._order, sampler._versions):
            drawn[int(train.groups[index])].append(int(version))
    for group in (0, 1):
        spread = np.bincount(drawn[group], minlength=pool.count(group))
        assert len(spread) == pool.count(group) and spread.min() > 0  # every version, none beyond
        expected = len(drawn[group]) / pool.count(group)
        chi2 = float(((spread - expected) ** 2 / expected).sum())
        assert chi2 < 2 * pool.count(group)  # about the degrees of freedom when uniform


def test_a_group_not_in_the_data_and_tasks_with_one_embedding_keep_every_draw(fake_task: str) -> None:
    pool = Versions(ARC, 0, 9, [split(Entry(0, TWO_COLOURS, TWO_COLOURS))])
    assert pool.draws(5) == list(range(10))
    latin = trmkit.get_task(fake_task)
    examples = trmkit.Examples(np.zeros((2, 16)), np.zeros((2, 16)), np.array([0, 1]), np.zeros(2))
    shared = Versions(latin, 0, 9, [examples])
    assert not shared.deduplicated and shared.draws(0) == list(range(10)) and shared.counts(np.array([0, 1])).tolist() == [10, 10]


def test_pools_worked_out_in_several_processes_are_the_ones_worked_out_here() -> None:
    entries = [Entry(group, np.roll(COLOURFUL, group), TWO_COLOURS if group % 2 else COLOURFUL) for group in range(6)]
    train = split(*entries)
    here = Versions(ARC, 2, 40, [train])
    apart = Versions(ARC, 2, 40, [train])
    done = list(apart.work_out([3, 0, 1, 2, 3, 4, 5], processes=3))  # a group named twice is done once
    assert sorted(done) == list(range(6))
    assert all(apart._draws[group] == here.draws(group) for group in range(6))
    assert list(apart.work_out(range(6), processes=3)) == []  # nothing left to do


class DyingVersions(Versions):
    """Versions whose pool process dies (as one the OOM killer picks would) on group 3."""

    def draws(self, group: int) -> list[int]:
        if group == 3 and multiprocessing.parent_process() is not None:
            os._exit(9)
        return super().draws(group)


def test_a_pool_process_that_dies_is_an_error_not_a_hang() -> None:
    train = split(*(Entry(group, np.roll(COLOURFUL, group), COLOURFUL) for group in range(6)))
    with pytest.raises(BrokenProcessPool):
        list(DyingVersions(ARC, 2, 10, [train]).work_out(range(6), processes=2))


def test_trmkit_train_works_out_every_training_groups_versions_before_the_first_step(fake_task: str) -> None:
    from trmkit.cli.train import distinct_versions
    from trmkit.dataset import Dataset

    train = split(Entry(0, TWO_COLOURS, TWO_COLOURS), Entry(1, COLOURFUL, COLOURFUL))
    data = Dataset({"train": train, "test": split(Entry(1, COLOURFUL, COLOURFUL))}, {"seq_len": CANVAS * CANVAS})
    config = trmkit.load_config(ARC, "tiny", ["data.augmentations=30"])
    pool = distinct_versions(ARC, config, data)
    assert sorted(pool._draws) == [0, 1]  # computed now, not in the first training steps
    assert pool.draws(0) == Versions(ARC, config.train.seed, 30, [train, data.splits["test"]]).draws(0)
    latin = trmkit.get_task(fake_task)
    assert not distinct_versions(latin, trmkit.load_config(latin, "tiny"), data).deduplicated
