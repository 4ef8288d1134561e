"""The CLI on the built-in sudoku task: check in every file format, and data build."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

import trmkit
from trmkit import dataset
from trmkit.cli import main
from trmkit_sudoku import count_solutions

from conftest import run_trmkit

PUZZLE = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"
SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


def line(grid: str) -> str:
    return grid + "\n"


def rows(grid: str) -> str:
    return "".join(grid[r * 9:(r + 1) * 9] + "\n" for r in range(9))


def printed(grid: str) -> str:
    """As books print it: spaces between cells, bars between boxes, rules between bands."""
    out = []
    for r in range(9):
        if r in (3, 6):
            out.append("------+-------+------")
        cells = grid[r * 9:(r + 1) * 9].replace("0", ".")
        out.append(" | ".join(" ".join(cells[b * 3:(b + 1) * 3]) for b in range(3)))
    return "\n".join(out) + "\n"


def csv(grid: str, answer: str = SOLUTION) -> str:
    return f"source,question,answer,rating\nbook,{grid},{answer},0\n"


FORMATS = {"line": line, "rows": rows, "printed": printed, "csv": csv}


def check(tmp_path: Path, puzzles: str, solutions: str) -> Result:
    (tmp_path / "p.txt").write_text(puzzles)
    (tmp_path / "s.txt").write_text(solutions)
    return CliRunner().invoke(main, ["check", "sudoku", str(tmp_path / "p.txt"), str(tmp_path / "s.txt")])


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_accepts_the_solution_in_every_format(tmp_path: Path, fmt: str) -> None:
    result = check(tmp_path, FORMATS[fmt](PUZZLE), FORMATS[fmt](SOLUTION))
    assert result.exit_code == 0, result.output
    first_line = 2 if fmt == "csv" else 1  # a puzzle is named by the line it starts on
    assert result.stdout == f"{tmp_path / 'p.txt'}:{first_line}: ok\n"


@pytest.mark.parametrize(
    ("solution", "reason"),
    [
        (SOLUTION[:2] + "." + SOLUTION[3:], "r1c3 is empty"),
        (SOLUTION.translate(str.maketrans("123456789", "234567891")), "r1c1 changes given 5 to 6"),
    ],
    ids=["blank-cell", "other-valid-grid"],
)
def test_check_rejects_a_wrong_solution_naming_the_cell(tmp_path: Path, solution: str, reason: str) -> None:
    result = check(tmp_path, line(PUZZLE), line(solution))
    assert result.exit_code == 1
    assert result.stdout == f"{tmp_path / 'p.txt'}:1: invalid: {reason}\n"


def test_a_full_solution_that_breaks_a_rule_is_a_verdict_naming_the_cells(tmp_path: Path) -> None:
    """A full grid is read as an answer, judged by the rules (not refused as a puzzle with
    contradictory givens), so the other pairs of the file are still checked."""
    result = check(tmp_path, line(PUZZLE) + line(PUZZLE), line(SOLUTION[:2] + "5" + SOLUTION[3:]) + line(SOLUTION))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{tmp_path / 'p.txt'}:1: invalid: digit 5 appears twice in row 1 (r1c1, r1c3)\n"
        f"{tmp_path / 'p.txt'}:2: ok\n"
    )


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("line", line(PUZZLE[:80]), "p.txt:1: 80 cells; expected a row of 9"),
        ("rows", rows(PUZZLE).replace("800060003\n", "80006000\n"), "p.txt:4: 8 cells; expected a row of 9"),
        ("printed", printed(PUZZLE).replace("6 . .", "6 x .", 1), "p.txt:2:3: illegal character 'x'"),
        ("csv", csv(PUZZLE).replace(",0\n", "\n"), "p.txt:2: expected 4 fields like the first row, got 3"),
        ("csv", csv(PUZZLE[:-1] + "a"), "p.txt:2 (question): illegal character 'a' at r9c9"),
    ],
    ids=["line-short", "rows-short", "printed-bad-character", "csv-missing-field", "csv-bad-character"],
)
def test_malformed_input_is_one_clean_error_line(tmp_path: Path, fmt: str, text: str, message: str) -> None:
    result = check(tmp_path, text, line(SOLUTION))
    assert result.exit_code == 1
    assert result.stdout == ""
    (error,) = result.stderr.splitlines()
    assert error.startswith("Error: ") and message in error, error


def test_check_reads_solutions_from_stdin_in_a_fresh_process(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(line(PUZZLE) + line(PUZZLE))
    result = run_trmkit("check", "sudoku", str(tmp_path / "p.txt"), "-", stdin=line(SOLUTION) + printed(SOLUTION))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{tmp_path / 'p.txt'}:1: ok", f"{tmp_path / 'p.txt'}:2: ok"]


def test_data_build_makes_puzzles_with_exactly_one_solution(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = CliRunner().invoke(
        main, ["data", "build", "sudoku", "--out", str(out), "--seed", "5", "--set", "num_train=12", "--set", "num_test=4"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}: sudoku dataset, train 12, test 4 examples (seq_len 81)\n"
    task = trmkit.get_task("sudoku")
    built = dataset.load(out, task="sudoku")
    for split, examples in built.splits.items():
        for row, (inputs, labels) in enumerate(zip(examples.inputs, examples.labels)):
            question, answer = task.tokenizer.decode(inputs), task.tokenizer.decode(labels)
            assert count_solutions(question) == 1, (split, row)
            verdict = task.validate(trmkit.Puzzle(question), answer)
            assert verdict.ok, (split, row, verdict.reason)
            assert np.array_equal(answer[question != 0], question[question != 0])


def test_data_build_names_the_sudoku_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["data", "build", "sudoku", "--out", str(tmp_path), "--set", "train_size=3"])
    assert result.exit_code == 2
    known = re.search(r"\(known: (.*)\)", result.stderr).group(1).split(", ")
    assert {"num_train", "num_test", "min_blanks", "max_blanks"} <= set(known)
