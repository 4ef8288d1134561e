"""Symmetries of rectangular grids, as gather indices over row-major flattened cells.

Grid tasks (Maze, ARC) augment with the 8 symmetries of the square (the dihedral group D4) and must
undo them on predictions, so the group is defined once here, task-agnostic: a transform is an index
array ``positions`` with ``out.flat = grid.flat[positions]``, which is exactly the ``positions`` a
:class:`trmkit.TokenPermutation` takes. Ids and their order follow the official builders
(``dataset/common.py``), so augmentation ids mean the same thing everywhere.
"""

from __future__ import annotations

import functools

import numpy as np

#: The 8 dihedral transforms, by id (the reference builders' order).
DIHEDRAL_NAMES: tuple[str, ...] = (
    "identity", "rot90", "rot180", "rot270", "fliplr", "flipud", "transpose", "anti-transpose",
)
#: ``DIHEDRAL_INVERSE[k]`` undoes transform ``k`` (rot90 and rot270 undo each other; the rest are
#: their own inverses).
DIHEDRAL_INVERSE: tuple[int, ...] = (0, 3, 2, 1, 4, 5, 6, 7)
#: Transforms that swap the grid's height and width.
DIHEDRAL_TRANSPOSING: frozenset[int] = frozenset({1, 3, 6, 7})


def _check_id(k: int) -> int:
    if not isinstance(k, (int, np.integer)) or not 0 <= int(k) < 8:
        raise ValueError(f"dihedral transform id must be an integer in 0..7, got {k!r}")
    return int(k)


def dihedral_transform(grid: np.ndarray, k: int) -> np.ndarray:
    """Dihedral transform ``k`` of a 2-D array (``rot90`` turns counter-clockwise, as numpy does).

    Works on any array whose first two axes are the grid's rows and columns; returns a view when
    numpy can.
    """
    k = _check_id(k)
    grid = np.asarray(grid)
    if k == 0:
        return grid
    if k in (1, 2, 3):
        return np.rot90(grid, k)
    if k == 4:
        return np.fliplr(grid)
    if k == 5:
        return np.flipud(grid)
    if k == 6:
        return np.swapaxes(grid, 0, 1)
    return np.fliplr(np.rot90(grid, 1))  # anti-transpose: out[i, j] = grid[H-1-j, W-1-i]


def dihedral_shape(height: int, width: int, k: int) -> tuple[int, int]:
    """The (height, width) of a ``height`` x ``width`` grid after transform ``k``."""
    return (width, height) if _check_id(k) in DIHEDRAL_TRANSPOSING else (height, width)


@functools.lru_cache(maxsize=256)
def _positions(height: int, width: int, k: int) -> np.ndarray:
    positions = np.ascontiguousarray(dihedral_transform(np.arange(height * width).reshape(height, width), k)).reshape(-1)
    positions.setflags(write=False)  # cached and shared: nobody may change it
    return positions


def dihedral_positions(height: int, width: int, k: int) -> np.ndarray:
    """Gather indices of transform ``k`` on a row-major ``height`` x ``width`` grid.

    ``grid.reshape(-1)[positions]`` is ``dihedral_transform(grid, k).reshape(-1)`` (of shape
    :func:`dihedral_shape`). The array is cached and read-only; copy it to modify it.
    """
    if height < 1 or width < 1:
        raise ValueError(f"grid must be at least 1x1, got {height}x{width}")
    return _positions(int(height), int(width), _check_id(k))


def dihedral_inverse_positions(height: int, width: int, k: int) -> np.ndarray:
    """Gather indices that undo transform ``k`` of a ``height`` x ``width`` grid: applied to the
    transformed grid (of shape ``dihedral_shape(height, width, k)``) they give the original."""
    new_height, new_width = dihedral_shape(height, width, k)
    return dihedral_positions(new_height, new_width, DIHEDRAL_INVERSE[_check_id(k)])
