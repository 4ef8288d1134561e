"""Maze augmentation: the 8 symmetries of the square (a maze's shortest paths map to shortest
paths under each, so a transformed answer still solves the transformed puzzle)."""

from __future__ import annotations

import numpy as np

from trmkit import TokenPermutation
from trmkit.symmetry import dihedral_positions

from .cells import VOCAB_SIZE, side_of


class Dihedral:
    """Draws one of the 8 dihedral transforms (ids as in :mod:`trmkit.symmetry`) uniformly."""

    name = "dihedral"

    def sample(self, rng: np.random.Generator, seq_len: int) -> TokenPermutation:
        return self.transform(int(rng.integers(8)), seq_len)

    @staticmethod
    def transform(k: int, seq_len: int) -> TokenPermutation:
        """Dihedral transform ``k`` of a square maze of ``seq_len`` cells, as token gather."""
        side = side_of(seq_len)
        return TokenPermutation(np.array(dihedral_positions(side, side, k)), np.arange(VOCAB_SIZE))
