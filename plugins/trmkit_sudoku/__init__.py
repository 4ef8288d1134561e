"""Sudoku task plugin (being written)."""
