"""Named configs of the maze task (paper, small, tiny), shipped as package data."""
