"""Training batches built ahead of time in worker processes, so the device never waits on them.

Drawing a training batch is Python and numpy work for every example: a seeded generator and the
task's augmenters build that example's transform. On the development machine's CPU that is
0.14 s for the paper's 768-example Sudoku batch and 0.10 s for ARC's 192: more than an H200
needs for the whole supervision step at 35% MFU (95 ms for Sudoku). Done in the training process
it would leave the GPU idle more than half of the time. Since a batch is a function of its position alone (:meth:`Sampler.batch_at`), worker
processes can build the next batches while the device computes, each from its own copy of the
sampler, and hand them over in order. The batches, and so the training, are exactly the same with
any number of workers.

On CPU the cores are busy with the model's own arithmetic, so ``data.workers`` defaults to none
there (benchmarks/RESULTS.md has the measurement).
"""

from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np
import torch

from .losses import IGNORE
from .processes import cores_per_process, ignore_stop_signals
from .sampler import Batch, Sampler

#: ``data.workers`` left unset on an accelerator: 2 workers kept ahead of a 95 ms Sudoku step at
#: the paper's batch here (benchmarks/batch_loading.py); 8 leave room for slower cores and
#: costlier tasks, and still leave most of a GPU host's cores free.
MAX_AUTO_WORKERS = 8


def default_workers(device: torch.device) -> int:
    """Worker processes for ``data.workers`` unset: none on CPU; on an accelerator up to 8, and
    at most half of this process's share of the cores (torchrun may run several here)."""
    if device.type == "cpu":
        return 0
    return max(1, min(MAX_AUTO_WORKERS, cores_per_process() // 2))


class _BatchesAt(torch.utils.data.Dataset):
    """The sampler's batches, indexed by position (what each worker process holds a copy of).
    Tokens travel in ``token_dtype``: a quarter of the bytes of int64 for every task here, and
    the hand-over through a pipe costs by the byte (5.4 ms against 1.5 ms for a 768-example Sudoku
    batch on the development machine, widening included)."""

    def __init__(self, sampler: Sampler, token_dtype: np.dtype) -> None:
        self.sampler = sampler
        self.token_dtype = token_dtype

    def __getitem__(self, position: int) -> Batch:
        batch = self.sampler.batch_at(position)
        return Batch(batch.inputs.astype(self.token_dtype), batch.labels.astype(self.token_dtype), batch.puzzle_identifiers)


def token_dtype(sampler: Sampler) -> np.dtype:
    """The narrowest integer type that holds every token and label of the sampler's task (the
    ignore label included)."""
    examples = sampler.examples
    largest = max(sampler.task.spec.vocab_size, int(examples.inputs.max(initial=0)), int(examples.labels.max(initial=0)))
    return np.promote_types(np.min_scalar_type(IGNORE), np.min_scalar_type(largest))


def _as_is(batch: Batch) -> Batch:
    return batch


class BatchLoader:
    """``next_batch()`` as :class:`Sampler`'s, with ``workers`` processes building batches ahead
    (0: in this process, on demand). The sampler's ``position`` stays the one truth: set it (when
    a run resumes) and the next batch comes from there."""

    def __init__(self, sampler: Sampler, workers: int) -> None:
        self.sampler = sampler
        self.workers = workers
        self._stream: Iterator[Batch] | None = None
        self._stream_position = -1  # the position the stream's next batch is at

    def next_batch(self) -> Batch:
        if self.workers == 0:
            return self.sampler.next_batch()
        if self._stream is None or self._stream_position != self.sampler.position:
            self.close()
            self._stream = self._open(self.sampler.position)
        try:
            batch = next(self._stream)
        except BaseException:  # a failed batch (or Ctrl-C while waiting): the next call starts afresh here
            self.close()
            raise
        self.sampler.position += self.sampler.batch_size
        self._stream_position = self.sampler.position
        return Batch(batch.inputs.astype(np.int64), batch.labels.astype(np.int64), batch.puzzle_identifiers)

    def _open(self, position: int) -> Iterator[Batch]:
        # Which augmented versions are distinct (ARC) is worked out once, here, rather than once in
        # every worker (the command line has done it before training, with a progress line).
        for _ in self.sampler.versions.work_out(self.sampler.group_ids.tolist(), self.workers):
            pass
        loader = torch.utils.data.DataLoader(
            _BatchesAt(self.sampler, token_dtype(self.sampler)),
            batch_size=None,  # each item is already a whole batch
            sampler=itertools.count(position, self.sampler.batch_size),
            num_workers=self.workers,
            collate_fn=_as_is,  # keep the numpy arrays as they are
            worker_init_fn=ignore_stop_signals,
        )
        return iter(loader)

    def close(self) -> None:
        """Stop the worker processes now (a later ``next_batch`` starts new ones). Dropping the
        iterator alone would leave them running while anything, a traceback say, still holds it."""
        if self._stream is not None:
            self._stream._shutdown_workers()  # type: ignore[attr-defined]  # torch's own clean-up
        self._stream = None
        self._stream_position = -1
