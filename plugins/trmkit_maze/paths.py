"""Shortest paths in one maze: BFS distances, one canonical shortest path, and path counting.

Moves are 4-connected; every cell but a wall is passable (S, G, open, and ``o`` marks, which a
puzzle may carry). Path length counts moves, so a path of length L marks L-1 cells with ``o``.
The generator and the validator both use these, so "shortest" means the same to both.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .cells import GOAL, PATH, START, WALL

#: Neighbour order of the canonical path (up, left, down, right): fixed, so answers are
#: deterministic.
STEPS = ((-1, 0), (0, -1), (1, 0), (0, 1))
UNREACHED = -1


def locate(grid: np.ndarray, code: int) -> list[tuple[int, int]]:
    """Every (row, column) holding ``code``, in row-major order."""
    return [(int(r), int(c)) for r, c in zip(*np.nonzero(np.asarray(grid) == code))]


def distances(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """BFS moves from ``start`` to every cell (``UNREACHED`` for walls and cut-off cells)."""
    passable = np.asarray(grid) != WALL
    height, width = passable.shape
    dist = np.full(passable.shape, UNREACHED, dtype=np.int32)
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        d = dist[r, c] + 1
        for dr, dc in STEPS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < height and 0 <= nc < width and passable[nr, nc] and dist[nr, nc] == UNREACHED:
                dist[nr, nc] = d
                queue.append((nr, nc))
    return dist


def shortest_path(grid: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]] | None:
    """One shortest path from ``start`` to ``goal`` (both included), or None if there is none.

    Walks back from the goal, at each cell taking the first neighbour in :data:`STEPS` order
    that is one move closer to the start: the same maze always gets the same path.
    """
    dist = distances(grid, start)
    if dist[goal] == UNREACHED:
        return None
    height, width = dist.shape
    path = [goal]
    r, c = goal
    while (r, c) != start:
        for dr, dc in STEPS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < height and 0 <= nc < width and dist[nr, nc] == dist[r, c] - 1:
                r, c = nr, nc
                break
        path.append((r, c))
    return path[::-1]


def count_shortest_paths(grid: np.ndarray, start: tuple[int, int], goal: tuple[int, int], cap: int = 2) -> int:
    """How many distinct shortest paths join ``start`` and ``goal`` (counted up to ``cap``).

    Counts flow outwards one BFS layer at a time: a cell's count is the sum over its neighbours
    one move closer to the start (whole layers at once, on a zero-padded copy of the grid).
    """
    dist = np.pad(distances(grid, start), 1, constant_values=UNREACHED)
    if dist[goal[0] + 1, goal[1] + 1] == UNREACHED:
        return 0
    count = np.zeros(dist.shape, dtype=np.int64)
    count[start[0] + 1, start[1] + 1] = 1
    inner = (slice(1, -1), slice(1, -1))
    shifted = ((slice(0, -2), slice(1, -1)), (slice(2, None), slice(1, -1)), (slice(1, -1), slice(0, -2)), (slice(1, -1), slice(2, None)))
    for d in range(1, int(dist[goal[0] + 1, goal[1] + 1]) + 1):
        layer = dist[inner] == d
        total = sum(np.where(dist[s] == d - 1, count[s], 0) for s in shifted)
        count[inner] = np.where(layer, np.minimum(total, cap), count[inner])
    return int(count[goal[0] + 1, goal[1] + 1])


def mark_path(grid: np.ndarray, path: list[tuple[int, int]]) -> np.ndarray:
    """A copy of ``grid`` with the cells between the path's ends marked ``o``."""
    answer = np.array(grid, copy=True)
    for cell in path[1:-1]:
        answer[cell] = PATH
    return answer


def solve(grid: np.ndarray) -> np.ndarray | None:
    """The canonical answer of a maze with one S and one G (None when G cannot be reached)."""
    (start,), (goal,) = locate(grid, START), locate(grid, GOAL)
    path = shortest_path(grid, start, goal)
    return None if path is None else mark_path(grid, path)
