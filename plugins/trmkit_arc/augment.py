"""ARC augmentation (the official ``dataset/build_arc_dataset.py``): a dihedral transform and a
permutation of the colours 1-9 (black, 0, stays), one of each per task version, applied to every
pair of the task; and, on training examples only, a translation of each pair on the canvas.

The engine draws both from one seeded generator per (seed, task, version) and composes them
(colours first; undone in reverse order, as the reference evaluator does), so a version is the
same on every run and never stored. Colours are a :class:`trmkit.TokenPermutation` of the token
values; a dihedral transform moves a grid whose size varies from pair to pair, so it reads the
grid off the canvas, turns it with :mod:`trmkit.symmetry` and writes it back in the top-left
corner with its EOS border.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from trmkit import TokenPermutation
from trmkit.symmetry import DIHEDRAL_INVERSE, dihedral_positions, dihedral_shape

from .canvas import COLOUR_OFFSET, EOS, PAD, VOCAB_SIZE, crop, encode, extents, side_of


class Colours:
    """Draws a permutation of the colours 1-9 (PAD, EOS and black keep their tokens)."""

    name = "colours"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        side_of(seq_len)
        return self.transform(np.concatenate([[0], 1 + rng.permutation(9)]), seq_len)

    @staticmethod
    def transform(mapping: np.ndarray, seq_len: int) -> TokenPermutation:
        """Colour ``c`` becomes ``mapping[c]``, as a token permutation."""
        values = np.arange(VOCAB_SIZE)
        values[COLOUR_OFFSET:] = np.asarray(mapping) + COLOUR_OFFSET
        return TokenPermutation(np.arange(seq_len), values)


@dataclass(frozen=True)
class DihedralTransform:
    """Dihedral transform ``k`` (ids of :mod:`trmkit.symmetry`) of the grid on each canvas.

    Exact on canvases that encode a grid; a model's messy prediction is read the lenient way
    (:func:`trmkit_arc.canvas.crop`) first, so that undoing a version never fails.
    """

    k: int

    def apply(self, tokens: np.ndarray) -> np.ndarray:
        return _per_canvas(tokens, self.k)

    def invert(self, tokens: np.ndarray) -> np.ndarray:
        return _per_canvas(tokens, DIHEDRAL_INVERSE[self.k])


def _per_canvas(tokens: np.ndarray, k: int) -> np.ndarray:
    """``encode(dihedral_transform(crop(canvas), k))`` of every canvas, as one gather per grid
    shape (deduplicating a task's versions runs this a thousand times per task)."""
    tokens = np.asarray(tokens)
    rows = tokens.reshape(-1, tokens.shape[-1])
    side = side_of(rows.shape[-1])
    # Each canvas with a PAD and an EOS appended, so that one gather writes a whole new canvas.
    extended = np.concatenate([rows, np.broadcast_to(np.array([PAD, EOS], dtype=rows.dtype), (len(rows), 2))], axis=1)
    heights, widths = extents(rows)
    out = np.empty_like(rows)
    for height, width in set(zip(heights.tolist(), widths.tolist())):
        chosen = (heights == height) & (widths == width)
        out[chosen] = extended[chosen][:, _gather(side, height, width, k)]
    return out.reshape(tokens.shape)


@functools.lru_cache(maxsize=4096)
def _gather(side: int, height: int, width: int, k: int) -> np.ndarray:
    """Indices into an extended canvas (``side * side`` cells, then PAD, then EOS) that lay out
    the ``height`` x ``width`` grid in its top-left corner turned by ``k``, as :func:`encode` would."""
    pad, eos = side * side, side * side + 1
    canvas = np.full((side, side), pad, dtype=np.int64)
    if height and width:
        cells = (np.arange(height)[:, None] * side + np.arange(width)[None, :]).reshape(-1)  # grid cell -> canvas index
        new_height, new_width = dihedral_shape(height, width, k)
        canvas[:new_height, :new_width] = cells[dihedral_positions(height, width, k)].reshape(new_height, new_width)
        if new_height < side:
            canvas[new_height, :new_width] = eos
        if new_width < side:
            canvas[:new_height, new_width] = eos
    canvas = canvas.reshape(-1)
    canvas.setflags(write=False)  # cached and shared
    return canvas


class Dihedral:
    """Draws one of the 8 dihedral transforms uniformly."""

    name = "dihedral"

    def sample(self, rng: np.random.Generator, seq_len: int) -> DihedralTransform:
        side_of(seq_len)
        return DihedralTransform(int(rng.integers(8)))


class Translation:
    """A :class:`trmkit.Jitter`: moves a training pair's input and output grids by one random
    offset, the same for both, bounded so that the larger grid still fits the canvas (the
    reference's translation). The model learns that where a grid sits does not change the rule;
    it is tested on grids in the top-left corner, as encoded, and nothing is ever undone.
    A label without an answer (all PAD) stays as it is and bounds nothing."""

    name = "translation"

    def jitter(self, rng: np.random.Generator, inputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        side = side_of(np.shape(inputs)[-1])
        question, answer = crop(inputs), crop(labels)
        grids = [grid for grid in (question, answer) if grid.size]
        if not grids:
            return inputs, labels
        top = int(rng.integers(side - max(grid.shape[0] for grid in grids) + 1))
        left = int(rng.integers(side - max(grid.shape[1] for grid in grids) + 1))

        def place(grid: np.ndarray, tokens: np.ndarray) -> np.ndarray:
            return encode(grid, side, at=(top, left)) if grid.size else tokens

        return place(question, inputs), place(answer, labels)
