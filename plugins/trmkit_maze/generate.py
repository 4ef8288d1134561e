"""Seeded maze generation in the Maze-Hard manner, fast enough for 30x30 "hard" mazes in numpy.

The procedure (Lehnert et al., as the TRM paper describes Maze-Hard): draw a wall density
uniformly in [min_wall_density, max_wall_density], make each cell a wall with that probability,
put S and G on free cells, and keep the maze only when its shortest S-G path takes at least
``min_path_length`` moves.

One deviation, for speed: drawing G uniformly and rejecting short paths keeps fewer than 1 in
40,000 random 30x30 candidates at 110 moves (1 in 45,056 measured), far too few for numpy. Here S is uniform over the free
cells and G is uniform over the free cells at least ``min_path_length`` moves from S; a
candidate is rejected only when there is no such cell (about 1 in 1,400 are kept at 30x30/110).
The mazes that can come out are the same; they are weighted by how many far cells S has.

Candidates are screened many at a time: each maze row is a bit mask in a uint32, and one BFS
wave over a batch is a few shifts and ands on a [batch, rows] array; a candidate leaves the batch
when its wave dies out. Accepted mazes then get the per-maze BFS that marks their canonical
shortest path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from trmkit import ConfigError

from .cells import GOAL, GRID_DTYPE, MAX_SIZE, OPEN, START, WALL
from .paths import count_shortest_paths, mark_path, shortest_path

BATCH = 4096
#: Cells drawn per candidate to place S on a free cell by rejection.
TRIES = 24
#: Give up (a ConfigError) when this many candidates yielded no maze at all.
GIVE_UP_AFTER = 1_000_000


@dataclass(frozen=True)
class MazeRecipe:
    """What a generated maze must look like."""

    size: int = 30
    min_path_length: int = 110
    min_wall_density: float = 0.3
    max_wall_density: float = 0.5
    unique_path: bool = False  # keep only mazes with exactly one shortest path

    def check(self) -> None:
        if not 2 <= self.size <= MAX_SIZE:
            raise ConfigError(f"maze size must lie in 2..{MAX_SIZE}, got {self.size}")
        if not 0.0 <= self.min_wall_density <= self.max_wall_density < 1.0:
            raise ConfigError(
                f"wall densities must satisfy 0 <= min_wall_density <= max_wall_density < 1, "
                f"got {self.min_wall_density} and {self.max_wall_density}"
            )
        if not 1 <= self.min_path_length < self.size * self.size:
            raise ConfigError(f"min_path_length must lie in 1..{self.size * self.size - 1}, got {self.min_path_length}")


def candidates(rng: np.random.Generator, recipe: MazeRecipe, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random wall layouts with a start: (walls [count, N, N] bool, start [count] flat
    cell index, -1 where no free cell was found)."""
    n = recipe.size
    density = rng.uniform(recipe.min_wall_density, recipe.max_wall_density, size=(count, 1)).astype(np.float32)
    walls = rng.random((count, n * n), dtype=np.float32) < density
    row = np.arange(count)
    draws = rng.integers(0, n * n, size=(count, TRIES))
    usable = ~walls[row[:, None], draws]
    start = np.where(usable.any(axis=1), draws[row, usable.argmax(axis=1)], -1)
    return walls.reshape(count, n, n), start


def _bits(mask: np.ndarray) -> np.ndarray:
    """[B, N, N] bool -> [B, N] uint32 row masks (bit c = column c)."""
    weights = np.uint32(1) << np.arange(mask.shape[-1], dtype=np.uint32)
    return (mask.astype(np.uint32) * weights).sum(axis=-1, dtype=np.uint32)


def far_cells(walls: np.ndarray, start: np.ndarray, at_least: int) -> np.ndarray:
    """[B, N, N] bool: the cells at least ``at_least`` BFS moves from each maze's start (none for
    a start of -1). One wave per step over every maze whose wave is still alive."""
    count, n, _ = walls.shape
    far = np.zeros((count, n), dtype=np.uint32)
    live = np.flatnonzero(start >= 0)
    passable = _bits(~walls[live])
    frontier = np.zeros((len(live), n), dtype=np.uint32)
    frontier[np.arange(len(live)), start[live] // n] = np.uint32(1) << (start[live] % n).astype(np.uint32)
    visited = frontier.copy()
    step = 0
    while len(live):
        step += 1
        wave = (frontier << np.uint32(1)) | (frontier >> np.uint32(1))
        wave[:, 1:] |= frontier[:, :-1]
        wave[:, :-1] |= frontier[:, 1:]
        frontier = wave & passable & ~visited
        visited |= frontier
        if step >= at_least:
            far[live] |= frontier
        keep = frontier.any(axis=1)
        if not keep.all():
            live, passable, frontier, visited = live[keep], passable[keep], frontier[keep], visited[keep]
    return ((far[:, :, None] >> np.arange(n, dtype=np.uint32)) & np.uint32(1)).astype(bool)


def mazes(rng: np.random.Generator, recipe: MazeRecipe) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """An endless stream of (question, answer) grids meeting ``recipe``; the answer marks the
    canonical shortest path (see :func:`trmkit_maze.paths.shortest_path`)."""
    recipe.check()
    n = recipe.size
    tried = found = 0
    while True:
        walls, start = candidates(rng, recipe, BATCH)
        far = far_cells(walls, start, recipe.min_path_length).reshape(BATCH, n * n)
        tried += BATCH
        for i in np.flatnonzero(far.any(axis=1)):
            goal = int(rng.choice(np.flatnonzero(far[i])))
            question = np.where(walls[i], WALL, OPEN).astype(GRID_DTYPE)
            s, g = divmod(int(start[i]), n), divmod(goal, n)
            question[s], question[g] = START, GOAL
            if recipe.unique_path and count_shortest_paths(question, s, g) != 1:
                continue
            found += 1
            yield question, mark_path(question, shortest_path(question, s, g))
        if not found and tried >= GIVE_UP_AFTER:
            raise ConfigError(
                f"no {n}x{n} maze with a shortest path of at least {recipe.min_path_length} moves "
                f"in {tried:,} random candidates; lower min_path_length or change the wall densities"
            )
