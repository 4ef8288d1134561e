"""End to end on the maze task: train the tiny config for 20 steps, then solve and check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from trmkit.cli import main
from trmkit_maze.generate import MazeRecipe, mazes
from trmkit_maze.text import parse, render


@pytest.mark.slow
def test_train_tiny_then_solve(tmp_path: Path) -> None:
    runner = CliRunner()
    run_dir = tmp_path / "run"
    trained = runner.invoke(main, ["train", "maze", "--config", "tiny", "--steps", "20", "--out", str(run_dir), "--json"])
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["step"] == 20

    question, _ = next(mazes(np.random.default_rng(123), MazeRecipe(size=7, min_path_length=8)))
    puzzle = tmp_path / "puzzle.txt"
    puzzle.write_text(render(question) + "\n")

    solved = runner.invoke(main, ["solve", "maze", str(puzzle), "--model", str(run_dir)])
    assert solved.exit_code in (0, 1), solved.output  # an untrained model may well fail
    header, *rows = solved.stdout.splitlines()
    assert header.startswith(f"# {puzzle}:1: ") and ("solved" in header)
    assert len(rows) == 7 and all(len(row) == 7 for row in rows), solved.stdout
    if "?" not in solved.stdout:  # '?' marks a cell the model left as padding: not parseable
        (answer,) = parse("\n".join(rows), "answer")
        assert answer.question.shape == (7, 7)

    as_json = runner.invoke(main, ["solve", "maze", str(puzzle), "--model", str(run_dir), "--json"])
    assert as_json.exit_code == solved.exit_code
    (record,) = json.loads(as_json.stdout)
    assert len(record["answer"]) == 7 and all(len(row) == 7 for row in record["answer"])
    assert record["valid"] == (solved.exit_code == 0) and (record["valid"] or record["reason"])
