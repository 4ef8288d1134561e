"""Named configs of the sudoku task (paper, small, tiny), shipped as package data."""
