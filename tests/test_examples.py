"""The examples in examples/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_python_api_example_runs_and_prints_what_it_promises():
    result = subprocess.run([sys.executable, str(EXAMPLES / "python_api.py")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "paper Sudoku model: 5,028,866 parameters, effective depth 42"
    assert lines[1].startswith("after 20 batches: loss ")
    assert all(len(line) == 9 for line in lines[2:11])  # the answer, rendered as a 9x9 grid
    assert lines[11].startswith("valid: ") and "trajectory entries" in lines[11]
    assert lines[12] == "saved and reloaded: the same answer True"
