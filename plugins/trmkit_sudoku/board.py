"""The fixed geometry of a 9x9 Sudoku: cells, units (rows, columns, boxes), peers, cell names.

Every other module of the plugin works on flat row-major cell indices 0..80; this one says which
cells belong together, once, so the solver, the rules and the error messages cannot disagree.
"""

from __future__ import annotations

import numpy as np

SIZE = 9
BOX = 3
CELLS = SIZE * SIZE
#: Grids are int8 arrays of shape (9, 9): 0 is a blank, 1..9 a digit. Small, and exact.
GRID_DTYPE = np.int8

ROWS: tuple[tuple[int, ...], ...] = tuple(tuple(r * SIZE + c for c in range(SIZE)) for r in range(SIZE))
COLUMNS: tuple[tuple[int, ...], ...] = tuple(tuple(r * SIZE + c for r in range(SIZE)) for c in range(SIZE))
BOXES: tuple[tuple[int, ...], ...] = tuple(
    tuple((br * BOX + r) * SIZE + bc * BOX + c for r in range(BOX) for c in range(BOX))
    for br in range(BOX)
    for bc in range(BOX)
)
#: The 27 units in a fixed order: rows 1-9, columns 1-9, boxes 1-9 (boxes numbered row-major).
UNITS: tuple[tuple[int, ...], ...] = ROWS + COLUMNS + BOXES
UNIT_NAMES: tuple[str, ...] = tuple(
    [f"row {i + 1}" for i in range(SIZE)]
    + [f"column {i + 1}" for i in range(SIZE)]
    + [f"box {i + 1}" for i in range(SIZE)]
)
#: UNITS as an index array [27, 9], for vectorised checks over many grids.
UNIT_INDEX = np.array(UNITS, dtype=np.intp)

#: The 20 other cells that share a row, column or box with each cell.
PEERS: tuple[tuple[int, ...], ...] = tuple(
    tuple(sorted({p for unit in UNITS if cell in unit for p in unit} - {cell})) for cell in range(CELLS)
)


def cell_name(cell: int) -> str:
    """The usual Sudoku name of a flat cell index: 0 -> "r1c1", 80 -> "r9c9"."""
    return f"r{cell // SIZE + 1}c{cell % SIZE + 1}"
