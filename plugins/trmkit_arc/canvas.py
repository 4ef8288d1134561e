"""ARC grids on the model's 30x30 canvas: the official encoding (``dataset/build_arc_dataset.py``).

A grid of H x W colours 0-9 (1 <= H, W <= 30) becomes 900 tokens, row-major: the grid sits in
the top-left corner as colour + 2; a row of EOS (1) directly below it spans its columns and a
column of EOS directly to its right spans its rows (each only when the canvas has room); every
other cell is PAD (0), which the loss ignores. EOS cells are supervised, so the model predicts
the output's shape along with its colours. A smaller square canvas (``side`` < 30) serves tasks
whose grids fit it, for quick CPU runs; its side is read off the token count.

Reading a canvas back has two flavours:

- :func:`crop` is the reference evaluator's lenient reading of a prediction: the largest
  top-left rectangle of colour tokens, whatever else the canvas holds;
- :meth:`Tokenizer.decode` is exact: a canvas that is not precisely the encoding of its cropped
  grid (a stray colour, a missing EOS) decodes to :data:`MALFORMED`, an empty grid that no
  validator accepts, so that one wrong token is never mistaken for a right answer.
"""

from __future__ import annotations

import math

import numpy as np

from trmkit import InputError

PAD, EOS, COLOUR_OFFSET = 0, 1, 2
COLOURS = 10
VOCAB_SIZE = COLOUR_OFFSET + COLOURS
MAX_SIZE = 30
SEQ_LEN = MAX_SIZE * MAX_SIZE
GRID_DTYPE = np.int8

#: What an unreadable canvas decodes to: a grid with no cells.
MALFORMED = np.zeros((0, 0), dtype=GRID_DTYPE)


def check_grid(grid: object, where: str = "grid") -> np.ndarray:
    """``grid`` as an int8 array; InputError unless it is 1..30 x 1..30 of colours 0-9."""
    try:
        array = np.asarray(grid)
    except ValueError:  # ragged rows
        raise InputError(f"{where}: rows of different lengths (a grid is a rectangle)") from None
    if array.ndim != 2 or not (1 <= array.shape[0] <= MAX_SIZE and 1 <= array.shape[1] <= MAX_SIZE):
        raise InputError(f"{where}: a grid is 1 to {MAX_SIZE} rows of 1 to {MAX_SIZE} colours, got shape {array.shape}")
    if array.dtype.kind not in "iu" or array.min() < 0 or array.max() >= COLOURS:
        raise InputError(f"{where}: colours are integers 0-9")
    return array.astype(GRID_DTYPE)


def side_of(count: int) -> int:
    """The side of a square canvas of ``count`` tokens; InputError when there is none."""
    side = math.isqrt(count)
    if side * side != count or not 1 <= side <= MAX_SIZE:
        raise InputError(f"{count} tokens make no ARC canvas (a square of at most {MAX_SIZE}x{MAX_SIZE})")
    return side


def encode(grid: np.ndarray, side: int = MAX_SIZE, at: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The ``side * side`` tokens of ``grid`` (checked with :func:`check_grid`), its top-left cell
    at ``at`` (row, column): (0, 0) but for the training-only translation, whose canvases are
    therefore no grid's encoding."""
    grid = check_grid(grid)
    height, width = grid.shape
    top, left = at
    if not (0 <= top and 0 <= left and top + height <= side and left + width <= side):
        place = f" at row {top}, column {left}" if at != (0, 0) else ""
        raise InputError(f"a {height}x{width} grid{place} does not fit a {side}x{side} canvas")
    canvas = np.full((side, side), PAD, dtype=np.int64)
    bottom, right = top + height, left + width
    canvas[top:bottom, left:right] = grid.astype(np.int64) + COLOUR_OFFSET
    if bottom < side:
        canvas[bottom, left:right] = EOS
    if right < side:
        canvas[top:bottom, right] = EOS
    return canvas.reshape(-1)


def extents(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Height and width of what :func:`crop` reads from each canvas of ``rows`` ([N, side*side]):
    the largest-area top-left rectangle of colour tokens (the first largest on ties; 0 x 0 when
    there is none)."""
    rows = np.asarray(rows)
    side = side_of(rows.shape[-1])
    canvas = rows.reshape(-1, side, side)
    colour = (canvas >= COLOUR_OFFSET) & (canvas < VOCAB_SIZE)
    # Leading colour cells of each canvas row, then the width a rectangle of r+1 rows can keep.
    leading = np.where(colour.all(axis=2), side, np.argmin(colour, axis=2))
    widths = np.minimum.accumulate(leading, axis=1)
    areas = widths * np.arange(1, side + 1)
    best = np.argmax(areas, axis=1)
    found = areas[np.arange(len(canvas)), best] > 0
    return np.where(found, best + 1, 0), np.where(found, widths[np.arange(len(canvas)), best], 0)


def crop(tokens: np.ndarray) -> np.ndarray:
    """The reference evaluator's reading of a canvas: the largest-area top-left rectangle of
    colour tokens, as colours (first largest on ties; may be empty). Never raises."""
    tokens = np.asarray(tokens).reshape(-1)
    side = side_of(tokens.shape[0])
    (height,), (width,) = extents(tokens[None])
    if height == 0:
        return MALFORMED.copy()
    return (tokens.reshape(side, side)[:height, :width] - COLOUR_OFFSET).astype(GRID_DTYPE)


def is_clean(tokens: np.ndarray, grid: np.ndarray) -> bool:
    """Whether ``tokens`` are exactly the encoding of ``grid``."""
    tokens = np.asarray(tokens).reshape(-1)
    return grid.size > 0 and bool(np.array_equal(encode(grid, side_of(tokens.shape[0])), tokens))


class Tokenizer:
    """Grid <-> canvas tokens, exact both ways (see the module's docstring)."""

    def encode(self, grid: np.ndarray) -> np.ndarray:
        return encode(grid)

    def encode_for(self, grid: np.ndarray, seq_len: int) -> np.ndarray:
        """``grid`` on the canvas of a model that reads ``seq_len`` tokens: the canvas its data
        was built on (the builder's ``canvas`` option), which may be smaller than 30x30, so a
        puzzle the data lacks is laid out as training laid out its grids. InputError, naming
        both sizes, when the grid does not fit that canvas."""
        return encode(grid, side_of(seq_len))

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens).reshape(-1)
        grid = crop(tokens)
        return grid if is_clean(tokens, grid) else MALFORMED.copy()


TOKENIZER = Tokenizer()
