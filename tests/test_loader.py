"""Batches built ahead in worker processes (data.workers): the same batches, in the same order,
from wherever the position is set, and errors still reach the training process."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
import torch

from trmkit import Examples, get_task, load_config
from trmkit.errors import ConfigError
from trmkit.loader import MAX_AUTO_WORKERS, BatchLoader, default_workers, token_dtype
from trmkit.sampler import Sampler


def random_examples(task_name: str, count: int, seq_len: int) -> Examples:
    task = get_task(task_name)
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, task.spec.vocab_size, size=(2, count, seq_len))
    return Examples(tokens[0], tokens[1], np.arange(count) // 2, np.zeros(count, dtype=np.int64))


def sampler(task_name: str, examples: Examples, batch: int, augmentations: int) -> Sampler:
    return Sampler(get_task(task_name), examples, batch, augmentations, seed=3)


def same(a, b) -> bool:
    return all(np.array_equal(getattr(a, key), getattr(b, key)) for key in ("inputs", "labels", "puzzle_identifiers"))


@pytest.mark.parametrize("task_name, seq_len", [("sudoku", 81), ("arc", 900)])
def test_workers_hand_over_the_samplers_own_batches_in_order_across_epochs(task_name, seq_len):
    """ARC also deduplicates its versions (worked out once, before the workers start)."""
    examples = random_examples(task_name, 10, seq_len)  # batch 4: an epoch ends inside the third batch
    in_process = sampler(task_name, examples, 4, augmentations=5)
    ahead = BatchLoader(sampler(task_name, examples, 4, augmentations=5), workers=2)
    for _ in range(7):
        batch = ahead.next_batch()
        assert same(batch, in_process.next_batch()) and batch.inputs.dtype == batch.labels.dtype == np.int64
    assert ahead.sampler.position == in_process.position == 28
    ahead.close()


def test_setting_the_position_back_restarts_the_stream_there():
    """What resuming a run does: the next batch is the one at the restored position."""
    examples = random_examples("sudoku", 10, 81)
    reference = sampler("sudoku", examples, 4, augmentations=5)
    ahead = BatchLoader(sampler("sudoku", examples, 4, augmentations=5), workers=1)
    for _ in range(3):
        ahead.next_batch()
    ahead.sampler.position = 4
    assert same(ahead.next_batch(), reference.batch_at(4))
    assert same(ahead.next_batch(), reference.batch_at(8))
    ahead.close()


class BrokenSampler(Sampler):
    def batch_at(self, position: int):
        if position >= 8:
            raise ValueError(f"no batch at {position}")
        return super().batch_at(position)


def test_an_error_while_building_a_batch_reaches_the_training_process_and_costs_no_position():
    ahead = BatchLoader(BrokenSampler(get_task("sudoku"), random_examples("sudoku", 10, 81), 4, 5, seed=0), workers=1)
    ahead.next_batch()
    ahead.next_batch()
    for _ in range(2):  # asked again, it tries the same batch again (not the one after it)
        with pytest.raises(ValueError, match="no batch at 8"):
            ahead.next_batch()
        assert ahead.sampler.position == 8
    ahead.close()


def test_training_starts_the_workers_it_is_told_to_and_stops_them_when_done(fake_task, tmp_path):
    from trmkit import dataset
    from trmkit.train import train

    task = get_task(fake_task)
    data = dataset.build(task, task.dataset_options({"train_size": 12, "test_size": 4}), seed=0)
    before = set(multiprocessing.active_children())
    seen = []
    settings = ["train.steps=2", "train.batch_size=4", "data.workers=2"]
    trainer = train(task, load_config(task, "tiny", settings), data, tmp_path, torch.device("cpu"),
                    on_step=lambda metrics: seen.append(len(set(multiprocessing.active_children()) - before)))
    assert seen == [2, 2]  # two workers while training
    assert set(multiprocessing.active_children()) <= before  # none left once it returned, the trainer still at hand
    assert trainer.step == 2


def test_unset_workers_means_none_on_cpu_and_some_on_an_accelerator(monkeypatch):
    assert default_workers(torch.device("cpu")) == 0
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)))  # the cores this job may use
    assert default_workers(torch.device("cuda")) == MAX_AUTO_WORKERS
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # torchrun's 8 processes share the cores
    assert default_workers(torch.device("cuda")) == 4
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert default_workers(torch.device("cuda")) == 1


def test_the_workers_setting_is_checked_and_may_be_unset():
    task = get_task("sudoku")
    assert load_config(task, "tiny").data.workers is None
    assert load_config(task, "tiny", ["data.workers=3"]).data.workers == 3
    assert load_config(task, "tiny", ["data.workers=3", "data.workers=none"]).data.workers is None
    with pytest.raises(ConfigError, match="data.workers must be 0 or more"):
        load_config(task, "tiny", ["data.workers=-1"])


def test_tokens_travel_in_the_narrowest_type_that_holds_them():
    task = get_task("sudoku")
    small = random_examples("sudoku", 4, 81)
    assert token_dtype(Sampler(task, small, 2, 0, seed=0)) == np.int16  # tokens 0-10 and the ignore label -100
    wide = Examples(small.inputs, small.labels + 40_000, small.groups, small.puzzle_identifiers)
    assert token_dtype(Sampler(task, wide, 2, 0, seed=0)) == np.int32
