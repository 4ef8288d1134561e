"""The augmented versions of each puzzle group: which draw of :meth:`Task.transform` each one is.

A task whose versions each learn their own puzzle embedding (``identifiers_per_version``: ARC)
needs its versions to be distinct puzzles. Two draws can give the same augmented task (a task
drawn in two colours has 72 recolourings, not a thousand; a symmetric grid looks the same turned),
and such duplicates would split one puzzle's training over several embedding rows and vote
several times. So, as the reference builder does, draws 1, 2, ... are tried in order and one is
kept only when it turns the group's pairs (inputs and labels of every split given) into
something no kept version did, trying at most :data:`ATTEMPTS_PER_VERSION` draws per version
wanted. Version ``v`` of a group is its ``v``-th kept draw; version 0 is the original. A group's
pool is worked out on first use and depends only on the seed and the data, so training,
evaluation and every process of a distributed run agree on it. Cost: ~0.3-0.4 ms per draw for an
ARC task, so ARC-1 at 1000 versions spends ~8 CPU-minutes on its 800 tasks' pools (measured on
one core of the development machine); `trmkit train` works them out before training, over all
cores (:meth:`Versions.work_out`).

Other tasks (one shared embedding) keep every draw: version ``v`` is draw ``v``.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .processes import ignore_stop_signals
from .task import Examples, Task, Transform

#: The reference builder tries up to 5,000 draws for 1,000 versions.
ATTEMPTS_PER_VERSION = 5


class Versions:
    """The versions of every group of ``splits`` under ``seed``, ``augmentations`` + 1 wanted."""

    def __init__(self, task: Task, seed: int, augmentations: int, splits: Sequence[Examples] = ()) -> None:
        self.task = task
        self.seed = seed
        self.wanted = max(0, augmentations) + 1
        self.deduplicated = task.spec.identifiers_per_version and self.wanted > 1
        self._tokens: dict[int, list[np.ndarray]] = {}
        if self.deduplicated:
            for examples in splits:
                order = np.argsort(examples.groups, kind="stable")
                groups, starts = np.unique(examples.groups[order], return_index=True)
                for group, rows in zip(groups.tolist(), np.split(order, starts[1:])):
                    self._tokens.setdefault(group, []).extend([examples.inputs[rows], examples.labels[rows]])
        self._draws: dict[int, list[int]] = {}

    @classmethod
    def of_run(cls, task: Task, config: Any, dataset: Any) -> Versions:
        """The versions a run under ``config`` draws on ``dataset`` (every split): one definition
        for training, ``eval`` and ``solve``, which must agree on them."""
        return cls(task, config.train.seed, config.data.augmentations, list(dataset.splits.values()))

    def draws(self, group: int) -> list[int]:
        """The draw behind each version of ``group``, version 0 first. A group not in the data
        (a puzzle met only when solving) keeps every draw."""
        if not self.deduplicated or group not in self._tokens:
            return list(range(self.wanted))
        if group not in self._draws:
            tokens = np.concatenate(self._tokens[group])
            compact = np.uint8 if self.task.spec.vocab_size <= 256 else np.int64  # less to hash
            seen = {_digest(tokens, compact)}
            kept = [0]
            for draw in range(1, ATTEMPTS_PER_VERSION * self.wanted):
                if len(kept) == self.wanted:
                    break
                digest = _digest(self.task.transform(self.seed, group, draw, tokens.shape[1]).apply(tokens), compact)
                if digest not in seen:
                    seen.add(digest)
                    kept.append(draw)
            self._draws[group] = kept
        return self._draws[group]

    def work_out(self, groups: Iterable[int], processes: int = 1) -> Iterator[int]:
        """Work out now which versions of ``groups`` are distinct (nothing to do for a task that
        keeps every draw), in up to ``processes`` processes; yields each group as it is done,
        for progress. Tasks are independent, so ARC's minutes of this split evenly over cores."""
        todo = [group for group in dict.fromkeys(groups) if self.deduplicated and group in self._tokens and group not in self._draws]
        if processes <= 1 or len(todo) < 2:
            for group in todo:
                self.draws(group)
                yield group
            return
        size = max(1, len(todo) // (8 * processes))  # a few chunks per process: even finish, steady progress
        chunks = [todo[first : first + size] for first in range(0, len(todo), size)]
        # A process pool that fails loudly (BrokenProcessPool) if one of its processes dies.
        with ProcessPoolExecutor(min(processes, len(chunks)), initializer=_adopt, initargs=(self,)) as pool:
            for done in as_completed([pool.submit(_draws_in_worker, chunk) for chunk in chunks]):
                for group, kept in done.result():
                    self._draws[group] = kept
                    yield group

    def count(self, group: int) -> int:
        """How many distinct versions ``group`` has (at most ``augmentations`` + 1)."""
        return len(self.draws(group)) if self.deduplicated else self.wanted

    def counts(self, groups: np.ndarray) -> np.ndarray:
        """:meth:`count` of each of ``groups``: what a version is drawn uniformly below."""
        if not self.deduplicated:
            return np.full(len(groups), self.wanted, dtype=np.int64)
        return np.array([self.count(int(group)) for group in groups], dtype=np.int64)

    def transform(self, group: int, version: int, seq_len: int) -> Transform:
        """Version ``version`` (< ``count(group)``) of ``group``'s examples."""
        draw = self.draws(group)[version] if self.deduplicated else version  # every draw kept: version v is draw v
        return self.task.transform(self.seed, group, draw, seq_len)


#: The Versions a process of :meth:`Versions.work_out`'s pool works for.
_adopted: Versions | None = None


def _adopt(versions: Versions) -> None:
    global _adopted
    _adopted = versions
    ignore_stop_signals()


def _draws_in_worker(groups: list[int]) -> list[tuple[int, list[int]]]:
    assert _adopted is not None
    return [(group, _adopted.draws(group)) for group in groups]


def _digest(tokens: np.ndarray, dtype: type) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(tokens, dtype=dtype).tobytes(), digest_size=16).digest()
