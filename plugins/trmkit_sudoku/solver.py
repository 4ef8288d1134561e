"""An exact Sudoku solver: bitmask candidates, constraint propagation, MRV backtracking.

The generator needs two things fast: a random full grid, and "does this puzzle have exactly one
solution?" for puzzles that are mostly settled by logic. So the state is a plain list of 81
9-bit candidate masks (cheap to copy on a branch), propagation does naked singles (a cell with
one candidate) and hidden singles (a digit with one place in a unit), and the search branches on
the cell with the fewest candidates. Counting stops at ``limit`` solutions, so a uniqueness check
costs at most two solutions' worth of search.

The public functions take and return numpy grids; the ``*_flat`` ones work on lists of 81 ints
and are what the generator calls in its inner loop.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from trmkit import InputError

from .board import BOXES, CELLS, GRID_DTYPE, PEERS, SIZE, UNITS
from .rules import as_grid

ALL = (1 << SIZE) - 1
_POPCOUNT = tuple(bin(mask).count("1") for mask in range(ALL + 1))
#: digit of a one-bit mask (0 for any other mask)
_DIGIT = tuple({1 << d: d + 1 for d in range(SIZE)}.get(mask, 0) for mask in range(ALL + 1))
#: the one-bit masks contained in each mask, lowest digit first
_BITS = tuple(tuple(1 << d for d in range(SIZE) if mask >> d & 1) for mask in range(ALL + 1))


def _propagate(cand: list[int], queue: list[int], hidden: bool = True) -> bool:
    """Apply naked and hidden singles until nothing changes; False on a contradiction.

    ``queue`` holds cells that just became single-valued and whose digit is not yet removed from
    their peers. A cell becomes single once (masks only shrink), so it is queued once.
    """
    peers, units, pop, push = PEERS, UNITS, queue.pop, queue.append
    while True:
        while queue:
            cell = pop()
            bit = cand[cell]
            for peer in peers[cell]:
                mask = cand[peer]
                if mask & bit:
                    mask ^= bit
                    if not mask:
                        return False
                    cand[peer] = mask
                    if not mask & (mask - 1):
                        push(peer)
        if not hidden:
            return True
        for unit in units:
            once = twice = 0
            for cell in unit:
                mask = cand[cell]
                twice |= once & mask
                once |= mask
            if once != ALL:
                return False  # some digit has no place left in this unit
            unique = once & ~twice
            if unique:
                for cell in unit:
                    mask = cand[cell]
                    if mask & unique and mask & (mask - 1):
                        bit = mask & unique
                        if bit & (bit - 1):
                            return False  # two digits that can only go in this one cell
                        cand[cell] = bit
                        push(cell)
        if not queue:
            return True


def _start(grid: list[int], hidden: bool = True) -> list[int] | None:
    """Candidates after placing the givens of a flat grid and propagating; None if contradictory."""
    cand = [ALL] * CELLS
    queue = []
    for cell, value in enumerate(grid):
        if value:
            cand[cell] = 1 << (value - 1)
            queue.append(cell)
    # two equal givens in a unit: eliminating one empties the other, a contradiction
    return cand if _propagate(cand, queue, hidden) else None


def _search(
    cand: list[int], found: list[list[int]], limit: int, rng: random.Random | None, hidden: bool = True
) -> bool:
    """Depth-first search from a propagated state; appends solutions, True once ``limit`` reached.

    ``hidden=False`` propagates naked singles only: weaker pruning, but each step is four times
    cheaper, which wins when filling an empty grid (almost any choice there leads to a solution).
    """
    best, best_count = -1, SIZE + 1
    for cell in range(CELLS):
        count = _POPCOUNT[cand[cell]]
        if 1 < count < best_count:
            best, best_count = cell, count
            if count == 2:
                break
    if best < 0:
        found.append([_DIGIT[mask] for mask in cand])
        return len(found) >= limit
    bits = _BITS[cand[best]]
    if rng is not None:
        bits = list(bits)
        rng.shuffle(bits)
    for bit in bits:
        branch = cand[:]
        branch[best] = bit
        if _propagate(branch, [best], hidden) and _search(branch, found, limit, rng, hidden):
            return True
    return False


def solutions_flat(
    grid: list[int], limit: int = 2, rng: random.Random | None = None, hidden: bool = True
) -> list[list[int]]:
    """Up to ``limit`` solutions of a flat grid (list of 81 ints, 0 = blank), as flat lists.

    With ``rng`` the digits of each branch are tried in random order, so the first solution found
    is a random one. ``hidden=False`` skips hidden singles: faster on the generator's puzzles
    (which logic nearly settles), far slower on hard ones, so the public functions keep them.
    """
    cand = _start(grid, hidden)
    found: list[list[int]] = []
    if cand is not None and limit > 0:
        _search(cand, found, limit, rng, hidden)
    return found


def random_full_grid_flat(rng: random.Random) -> list[int]:
    """A random complete grid, found by the solver trying digits in random order.

    The three boxes on the diagonal share no row or column, so they are filled first with
    independent random permutations (a filling that could not be completed would be redrawn);
    the randomised search fills the other 54 cells. Every choice is random, so grids come from the whole space of Sudoku
    solutions (not one base pattern with rows and digits shuffled), at a fraction of the cost of
    searching from an empty grid.
    """
    while True:
        grid = [0] * CELLS
        for box in (0, 4, 8):
            digits = list(range(1, SIZE + 1))
            rng.shuffle(digits)
            for cell, digit in zip(BOXES[box], digits):
                grid[cell] = digit
        cand = _start(grid, hidden=False)
        found: list[list[int]] = []
        if cand is not None and _search(cand, found, 1, rng, hidden=False):
            return found[0]


# -- public API on numpy grids ------------------------------------------------------------------
def _flat(grid: Any) -> list[int]:
    flat = as_grid(grid)
    if flat is None or flat.min() < 0 or flat.max() > SIZE:
        raise InputError("a Sudoku grid is a 9x9 array of integers 0-9 (0 = blank)")
    return flat.tolist()


def _grid(flat: list[int]) -> np.ndarray:
    return np.array(flat, dtype=GRID_DTYPE).reshape(SIZE, SIZE)


def solve(grid: Any) -> np.ndarray | None:
    """A solution of ``grid`` (9x9, 0 = blank) as a new int8 grid, or None if it has none.

    With several solutions, the first one found is returned; use :func:`count_solutions` to ask
    whether the puzzle is proper.
    """
    found = solutions_flat(_flat(grid), 1)
    return _grid(found[0]) if found else None


def count_solutions(grid: Any, limit: int = 2) -> int:
    """How many solutions ``grid`` has, counting no further than ``limit`` (2 answers "unique?")."""
    return len(solutions_flat(_flat(grid), limit))


def solutions(grid: Any, limit: int = 2) -> list[np.ndarray]:
    """Up to ``limit`` distinct solutions of ``grid``, as int8 grids."""
    return [_grid(flat) for flat in solutions_flat(_flat(grid), limit)]
