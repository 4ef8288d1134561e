"""Training batches, augmented on the fly and deterministic in (seed, position).

Each epoch visits every puzzle group once in a seeded random order; each visit draws one of the
group's versions uniformly (``augmentations + 1``, or fewer where only distinct ones are kept;
0 = the original; :mod:`trmkit.versions` says which draw of the task's augmenters each is) and
the task builds that version's transform from the seed, so no augmented copy is ever stored and
the same position always yields the same batch. Resuming needs only the position. The task's
training-only jitters (ARC: translation) come last, drawn per (seed, group, version, example).

In a data-parallel run every rank walks the same global sequence and fills only its own slots of
each global batch (``slots``), so the ranks' shards are distinct, together make up exactly the batch
a single process would draw, and the position stays one number shared by all ranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .losses import IGNORE
from .task import Examples, Task
from .versions import Versions


@dataclass
class Batch:
    inputs: np.ndarray
    labels: np.ndarray  # IGNORE where unsupervised
    puzzle_identifiers: np.ndarray


class Sampler:
    """Global batches of ``batch_size`` examples; ``slots`` = (first, count) picks the part of each
    batch this process fills (default: all of it)."""

    def __init__(
        self, task: Task, examples: Examples, batch_size: int, augmentations: int, seed: int, slots: tuple[int, int] | None = None,
        base_identifiers: int = 0, jitter: bool = True, versions: Versions | None = None,
    ) -> None:
        self.task = task
        self.examples = examples
        self.batch_size = batch_size
        self.first_slot, self.slot_count = slots if slots is not None else (0, batch_size)
        self.seed = seed
        # Pass the one built from every split of the dataset, as evaluation builds it: which draws
        # make distinct versions depends on all of a group's pairs.
        self.versions = versions or Versions(task, seed, augmentations, [examples])
        # The dataset's num_puzzle_identifiers: the stride between versions' identifiers
        # (Task.version_identifiers); the train split's own count when not given.
        self.base_identifiers = base_identifiers or int(examples.puzzle_identifiers.max(initial=0)) + 1
        self.position = 0  # examples consumed so far
        groups, self._group_of = np.unique(examples.groups, return_inverse=True)
        self.group_ids = groups
        self._members = np.argsort(self._group_of, kind="stable")
        self._starts = np.searchsorted(self._group_of[self._members], np.arange(len(groups) + 1))
        self.jitter = jitter and bool(task.jitters)
        # Each example's place among its group's examples (in split order), for the jitters.
        self._member = np.empty(len(examples), dtype=np.int64)
        self._member[self._members] = np.arange(len(examples)) - self._starts[self._group_of[self._members]]
        self._epoch = -1

    def _epoch_plan(self, epoch: int) -> None:
        """Example order and version of every example for ``epoch`` (computed once per epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.group_ids))
        versions = rng.integers(0, self.versions.counts(self.group_ids))  # uniform over each group's distinct versions
        self._order = np.concatenate([self._members[self._starts[g] : self._starts[g + 1]] for g in order])
        self._versions = versions[self._group_of[self._order]]
        self._epoch = epoch

    def next_batch(self) -> Batch:
        """The batch at the current position; moves the position past it."""
        batch = self.batch_at(self.position)
        self.position += self.batch_size
        return batch

    def batch_at(self, position: int) -> Batch:
        """The batch that starts ``position`` examples into the global sequence: a function of
        the position alone, so any process holding a copy of this sampler can build it."""
        size = len(self.examples)
        seq_len = self.examples.inputs.shape[1]
        inputs = np.empty((self.slot_count, seq_len), dtype=np.int64)
        labels = np.empty_like(inputs)
        identifiers = np.empty(self.slot_count, dtype=np.int64)
        for slot in range(self.slot_count):
            epoch, offset = divmod(position + self.first_slot + slot, size)
            if epoch != self._epoch:
                self._epoch_plan(epoch)
            index = self._order[offset]
            group = int(self.group_ids[self._group_of[index]])
            version = int(self._versions[offset])
            transform = self.versions.transform(group, version, seq_len)
            inputs[slot] = transform.apply(self.examples.inputs[index])
            labels[slot] = transform.apply(self.examples.labels[index])
            if self.jitter:
                members = int(self._starts[self._group_of[index] + 1] - self._starts[self._group_of[index]])
                inputs[slot], labels[slot] = self.task.jitter(self.seed, group, version, int(self._member[index]), members, inputs[slot], labels[slot])
            identifiers[slot] = self.task.version_identifiers(self.examples.puzzle_identifiers[index], version, self.base_identifiers)
        labels[labels == self.task.spec.ignore_label_id] = IGNORE
        return Batch(inputs, labels, identifiers)


def evaluation_batches(task: Task, examples: Examples, batch_size: int, start: int = 0, stop: int | None = None):
    """Examples ``[start, stop)`` of a split in order, unaugmented, in batches."""
    stop = len(examples) if stop is None else stop
    for first in range(start, stop, batch_size):
        last = min(first + batch_size, stop)
        labels = examples.labels[first:last].copy()
        labels[labels == task.spec.ignore_label_id] = IGNORE
        yield Batch(examples.inputs[first:last], labels, examples.puzzle_identifiers[first:last])
