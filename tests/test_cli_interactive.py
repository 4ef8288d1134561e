"""``trmkit solve TASK --interactive`` with the bundled Sudoku model: bad input is reported and
passed over, ``--json`` writes JSON Lines, and a PUZZLE file beside it is a usage error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from trmkit.cli import main

PUZZLE = "84..3..6762.571894.1.6..35.5763.8.193.4.276.5.829...734.8713.2.73...2541.6..9..38"
ROWS = "".join(PUZZLE[r * 9 : (r + 1) * 9] + "\n" for r in range(9))


def interactive(typed: str, *options: str) -> Result:
    return CliRunner().invoke(main, ["solve", "sudoku", "--interactive", *options], input=typed)


def answered(result: Result) -> list[str]:
    """The sources of the answers on stdout, in order."""
    return re.findall(r"^# (<stdin #\d+>:\d+): ", result.stdout, flags=re.MULTILINE)


def errors(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_a_bad_line_is_reported_and_the_puzzles_after_it_are_answered() -> None:
    result = interactive(f"{PUZZLE}\njunk\n{PUZZLE}\n{PUZZLE}\n")
    assert result.exit_code == 1, result.output
    assert answered(result) == ["<stdin #1>:1", "<stdin #3>:1", "<stdin #4>:1"]
    assert errors(result) == ["Error: <stdin #2>:1:1: illegal character 'j' (allowed: digits 1-9, and '.' or '0' for a blank)"]
    assert "Traceback" not in result.stderr


def test_bad_lines_before_a_grid_of_nine_lines_are_reported_and_the_grid_answered() -> None:
    result = interactive(f"junk\nmore junk\n{ROWS}{PUZZLE}\n")
    assert result.exit_code == 1, result.output
    assert answered(result) == ["<stdin #2>:1", "<stdin #3>:1"]
    assert len(errors(result)) == 1 and errors(result)[0].startswith("Error: <stdin #1>:1:1: illegal character 'j'")


def test_bad_input_at_the_end_is_reported() -> None:
    result = interactive(f"{PUZZLE}\n12345")
    assert result.exit_code == 1, result.output
    assert answered(result) == ["<stdin #1>:1"]
    assert len(errors(result)) == 1 and errors(result)[0].startswith("Error: <stdin #2>:1: 5 cells")


def test_bad_input_ended_by_an_empty_line_fails_the_run() -> None:
    result = interactive(f"not a puzzle\n\n{PUZZLE}\n")
    assert result.exit_code == 1, result.output
    assert answered(result) == ["<stdin #2>:1"]
    assert len(errors(result)) == 1 and errors(result)[0].startswith("Error: <stdin #1>:1:1: ")


def test_grids_of_nine_lines_and_comments_are_read_line_by_line() -> None:
    result = interactive(f"# a comment\n{ROWS}\n{ROWS}{PUZZLE}\n")
    assert result.exit_code == 0, result.output
    assert answered(result) == ["<stdin #1>:2", "<stdin #2>:1", "<stdin #3>:1"]
    assert errors(result) == []


def test_json_writes_one_compact_object_per_line() -> None:
    result = interactive(f"{PUZZLE}\n{PUZZLE}\n", "--json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["source"] for record in records] == ["<stdin #1>:1", "<stdin #2>:1"]
    assert all(record["valid"] for record in records)


def test_help_says_json_lines() -> None:
    result = CliRunner().invoke(main, ["solve", "--help"])
    assert result.exit_code == 0
    assert "JSON Lines" in " ".join(result.stdout.split())


@pytest.mark.parametrize("puzzle_file", ["p.txt", "-"])
def test_a_puzzle_file_with_interactive_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, puzzle_file: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.txt").write_text(PUZZLE + "\n")
    result = CliRunner().invoke(main, ["solve", "sudoku", puzzle_file, "--interactive"], input=PUZZLE + "\n")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert errors(result) == [f"Error: --interactive reads puzzles from stdin; give no PUZZLE with it ('{puzzle_file}')"]
