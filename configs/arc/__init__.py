"""Named configs of the ARC task (paper, paper-arc2, small, tiny), shipped as package data."""
