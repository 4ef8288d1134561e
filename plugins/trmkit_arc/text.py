"""ARC files in and out.

Read (any of):

- an ARC task, ``{"train": [...], "test": [{"input": grid, "output": grid}, ...]}``: one puzzle
  per test input, with its output as the answer when the file has it;
- a Kaggle challenges file (task id -> task), in file order; a Kaggle solutions file (task id ->
  list of output grids) or a ``submission.json`` (task id -> list of ``{"attempt_1", "attempt_2"}``,
  read as attempt 1): one grid per test input;
- a JSON grid (a list of rows of colours 0-9) or a list of grids;
- plain text: a grid is lines of digits 0-9, one line per row; grids are separated by blank
  lines; lines starting with ``#`` are comments (what ``trmkit solve`` prints above its answers).

Written: plain text (the last format, so ``solve`` output pipes into ``check``), or coloured
cells in the ARC palette for a terminal.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

import trmkit.grids as grids
from trmkit import InputError, Puzzle

from .canvas import check_grid
from .sources import read_task

#: The ARC palette (the colours the ARC web interface shows), by colour 0-9.
PALETTE = ("000000", "0074D9", "FF4136", "2ECC40", "FFDC00", "AAAAAA", "F012BE", "FF851B", "7FDBFF", "870C25")
_RESET = "\x1b[0m"


def parse(text: str, source: str) -> list[Puzzle]:
    """Every grid or task test input in ``text``; InputError naming the place on anything else."""
    grids.check_text(text, source)
    if text.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{source}: not valid JSON (nested too deeply)") from None
        except ValueError as exc:  # e.g. a number too long for Python's integer conversion
            raise InputError(f"{source}: not valid JSON ({exc})") from None
        return parse_json(data, source)
    return parse_plain(text, source)


def parse_json(data: Any, source: str) -> list[Puzzle]:
    if isinstance(data, dict) and isinstance(data.get("test"), list):
        return _task_puzzles(data, "", source)
    if isinstance(data, dict):
        puzzles: list[Puzzle] = []
        for task_id, value in data.items():
            where = f"{source}:{task_id}"
            if isinstance(value, dict):
                puzzles += _task_puzzles(value, task_id, source)
            elif isinstance(value, list) and all(isinstance(v, dict) and "attempt_1" in v for v in value):
                puzzles += [Puzzle(check_grid(v["attempt_1"], f"{where} #{i + 1}"), None, f"{where} #{i + 1}") for i, v in enumerate(value)]
            elif isinstance(value, list):
                puzzles += [Puzzle(check_grid(grid, f"{where} #{i + 1}"), None, f"{where} #{i + 1}") for i, grid in enumerate(value)]
            else:
                raise InputError(f"{where}: expected a task, a list of grids or a list of attempts")
        return puzzles
    if isinstance(data, list) and data and all(isinstance(row, list) and all(isinstance(c, int) for c in row) for row in data):
        return [Puzzle(check_grid(data, source), None, source)]
    if isinstance(data, list):
        return [Puzzle(check_grid(grid, f"{source} #{i + 1}"), None, f"{source} #{i + 1}") for i, grid in enumerate(data)]
    raise InputError(f"{source}: expected an ARC task, a Kaggle challenges or solutions file, or grids")


def _task_puzzles(data: dict, task_id: str, source: str) -> list[Puzzle]:
    prefix = f"{source}:{task_id}" if task_id else source
    task = read_task(data, task_id, prefix)
    return [Puzzle(question, answer, f"{prefix} test {i + 1}") for i, (question, answer) in enumerate(task.test)]


def parse_plain(text: str, source: str) -> list[Puzzle]:
    """Grids of digit rows separated by blank lines (``#`` lines are comments)."""
    puzzles = []
    for block in grids.split_blocks("\n".join("" if line.startswith("#") else line for line in text.splitlines())):
        where = f"{source}:{block.line}"
        rows = [line.strip() for line in block.lines]
        for offset, row in enumerate(rows):
            bad = next((c for c in row if c not in "0123456789"), None)
            if bad is not None:
                raise InputError(f"{source}:{block.line + offset}: unexpected character {bad!r} (a grid row is digits 0-9)")
        if len({len(row) for row in rows}) != 1:
            raise InputError(f"{where}: rows of different lengths (a grid is a rectangle)")
        puzzles.append(Puzzle(check_grid(np.array([[int(c) for c in row] for row in rows]), where), None, where))
    return puzzles


def render(grid: np.ndarray, *, color: bool = False) -> str:
    """Digit rows (parseable again), or coloured cells for a terminal."""
    grid = np.asarray(grid)
    if grid.size == 0:
        return "# (no grid: the canvas holds no readable grid)"
    if not color:
        return "\n".join("".join(str(int(c)) for c in row) for row in grid)
    return "\n".join("".join(_cell(int(c)) for c in row) for row in grid)


def _cell(colour: int) -> str:
    rgb = PALETTE[colour] if 0 <= colour < len(PALETTE) else "FFFFFF"
    r, g, b = (int(rgb[i : i + 2], 16) for i in (0, 2, 4))
    return f"\x1b[48;2;{r};{g};{b}m  {_RESET}"
