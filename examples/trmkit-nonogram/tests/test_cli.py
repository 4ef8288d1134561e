"""The task through trmkit's own command line, as a user meets it after ``pip install``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from trmkit_nonogram.board import EMPTY, SIZE, answer_of, question_of
from trmkit_nonogram.text import render

from trmkit.cli import main

PICTURE = ("#.#.##", "......", "######", "#.....", ".#.#.#", "##..##")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_trmkit_lists_the_task() -> None:
    listed = {row["name"]: row for row in json.loads(invoke("tasks", "--json").stdout)}
    assert listed["nonogram"]["distribution"] == "trmkit-nonogram" and listed["nonogram"]["status"] == "ok"


def test_check_accepts_an_answer_and_names_the_broken_rule(tmp_path: Path) -> None:
    puzzle, good, bad = tmp_path / "puzzle.txt", tmp_path / "good.txt", tmp_path / "bad.txt"
    puzzle.write_text(render(question_of(PICTURE)) + "\n")
    good.write_text(render(answer_of(PICTURE)) + "\n")
    bad.write_text(render(answer_of((EMPTY * SIZE,) + PICTURE[1:])) + "\n")
    assert invoke("check", "nonogram", str(puzzle), str(good)).exit_code == 0
    rejected = invoke("check", "nonogram", str(puzzle), str(bad))
    assert rejected.exit_code == 1 and "row 1 has runs 0, its clue is 1 1 2" in rejected.stdout


@pytest.mark.slow
def test_train_tiny_then_solve(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trained = invoke("train", "nonogram", "--config", "tiny", "--steps", "10", "--out", str(run), "--json")
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["step"] == 10

    puzzle = tmp_path / "puzzle.txt"
    puzzle.write_text(render(question_of(PICTURE)) + "\n")
    solved = invoke("solve", "nonogram", str(puzzle), "--model", str(run), "--json")
    assert solved.exit_code in (0, 1), solved.output  # ten steps teach nothing: any verdict will do
    (record,) = json.loads(solved.stdout)
    assert len(record["answer"]["cells"]) == SIZE and record["valid"] == (solved.exit_code == 0)
    assert record["valid"] or record["reason"]
    # solve's text output reads back as answers: trmkit solve ... | trmkit check ... -
    shown = invoke("solve", "nonogram", str(puzzle), "--model", str(run))
    checked = CliRunner().invoke(main, ["check", "nonogram", str(puzzle), "-"], input=shown.stdout)
    assert checked.stdout.startswith(f"{puzzle}:1: "), checked.output
