"""``trmkit check`` with the latin fixture task: verdicts on stdout, exit status, clean errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import trmkit
from trmkit.cli import main

PUZZLE = "12.43.12.14.4321"
SOLUTION = "1234341221434321"
WRONG = "1244341221434321"  # fills blank r1c3 with a second 4


def check(tmp_path: Path, puzzles: str | bytes, solutions: str | bytes, *extra: str, stdin: str | None = None) -> Result:
    files = []
    for name, content in (("p.txt", puzzles), ("s.txt", solutions)):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        files.append(str(path))
    return CliRunner().invoke(main, ["check", "latin", *files, *extra], input=stdin)


def test_a_correct_solution_is_ok(fake_task: str, tmp_path: Path) -> None:
    result = check(tmp_path, f"{PUZZLE}\n", f"{SOLUTION}\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'p.txt'}:1: ok\n"
    assert result.stderr == "checked 1: all valid\n"


def test_a_wrong_solution_exits_1_with_the_reason(fake_task: str, tmp_path: Path) -> None:
    result = check(tmp_path, f"{PUZZLE}\n{PUZZLE}\n", f"{SOLUTION}\n{WRONG}\n")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'p.txt'}:1: ok",
        f"{tmp_path / 'p.txt'}:2: invalid: row 1 repeats a symbol",
    ]
    assert result.stderr == "checked 2: 1 invalid\n"


def test_a_solution_that_changes_a_given_names_the_cell(fake_task: str, tmp_path: Path) -> None:
    result = check(tmp_path, "1...............\n", "2143341212344321\n")
    assert result.exit_code == 1
    assert "invalid: cell r1c1 changes the given 1" in result.stdout


def test_json_reports_every_pair(fake_task: str, tmp_path: Path) -> None:
    result = check(tmp_path, f"{PUZZLE}\n{PUZZLE}\n", f"{SOLUTION}\n{WRONG}\n", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["task"], report["valid"], report["checked"], report["invalid"]) == ("latin", False, 2, 1)
    assert report["results"][1] == {
        "puzzle": f"{tmp_path / 'p.txt'}:2", "solution": f"{tmp_path / 's.txt'}:2",
        "ok": False, "reason": "row 1 repeats a symbol",
    }


def test_solutions_may_come_from_stdin_or_a_puzzle_solution_csv(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PUZZLE + "\n")
    result = CliRunner().invoke(main, ["check", "latin", str(tmp_path / "p.txt"), "-"], input=f"{PUZZLE},{SOLUTION}\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(":1: ok\n")


def test_both_from_stdin_is_a_usage_error(fake_task: str) -> None:
    result = CliRunner().invoke(main, ["check", "latin", "-", "-"], input="")
    assert result.exit_code == 2 and "only one of PUZZLES and SOLUTIONS" in result.stderr


@pytest.mark.parametrize(
    ("puzzles", "solutions", "message"),
    [
        (f"{PUZZLE}\n{PUZZLE}\n", f"{SOLUTION}\n", "p.txt holds 2 puzzles but"),
        ("12.43.12\n", f"{SOLUTION}\n", "p.txt:1: expected 16 cells of 1-4 or '.', got '12.43.12'"),
        (f"{PUZZLE}\n", f"\n\n{SOLUTION[:-1]}x\n", "s.txt:3: expected 16 cells"),
        (f"{PUZZLE}\n", b"\xff" * 16 + b"\n", "s.txt:1: expected 16 cells"),
        (f"{PUZZLE}\n", "", "s.txt: no puzzles found"),
    ],
    ids=["count-mismatch", "short-line", "bad-character", "not-utf8", "empty"],
)
def test_malformed_input_is_one_clean_line(fake_task: str, tmp_path: Path, puzzles, solutions, message: str) -> None:
    result = check(tmp_path, puzzles, solutions)
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line


def test_a_missing_file_is_one_clean_line(fake_task: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "latin", str(tmp_path / "nope.txt"), str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'nope.txt'}: no such file\n"


def solve_output(task, record: dict, capsys) -> str:
    """What ``trmkit solve`` prints for ``record`` (its own writer, not a copy of it)."""
    from trmkit.cli.solve import show

    show(task, record, color=False)
    return capsys.readouterr().out


def test_solve_output_reads_back_whatever_the_parser_makes_of_hash_lines(fake_task: str, tmp_path: Path, monkeypatch, capsys) -> None:
    """The '# source: verdict' lines are passed over by check itself, so a parser that refuses
    '#' (as a third party's may: the plugin guide never asks it to skip them) still reads answers."""
    from trmkit.plugins import registry

    entry = registry().tasks[fake_task]
    lenient = entry.spec.parse

    def strict(text: str, source: str):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith("#"):
                raise trmkit.InputError(f"{source}:{number}: not a grid")
        return lenient(text, source)

    monkeypatch.setattr(entry, "spec", dataclasses.replace(entry.spec, parse=strict))
    task = trmkit.get_task(fake_task)
    answer = task.spec.parse(SOLUTION, "s")[0].question
    records = [{"source": f"p.txt:{n}", "valid": n == 1, "reason": "a reason: with a colon", "confidence": 0.5, "steps": 2, "answer": answer} for n in (1, 2)]
    output = "".join(solve_output(task, record, capsys) for record in records)
    assert output.count("# p.txt:") == 2
    (tmp_path / "p.txt").write_text(f"{PUZZLE}\n{PUZZLE}\n")
    result = CliRunner().invoke(main, ["check", "latin", str(tmp_path / "p.txt"), "-"], input=output)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'p.txt'}:1: ok\n{tmp_path / 'p.txt'}:2: ok\n"


@pytest.mark.parametrize(("steps", "said"), [(1, "1 step"), (2, "2 steps")])
def test_solve_says_how_many_steps_in_good_english(fake_task: str, capsys, steps: int, said: str) -> None:
    task = trmkit.get_task(fake_task)
    answer = task.spec.parse(SOLUTION, "s")[0].question
    output = solve_output(task, {"source": "p.txt:1", "valid": True, "reason": "", "confidence": 0.989, "steps": steps, "answer": answer}, capsys)
    assert output.splitlines()[0] == f"# p.txt:1: solved (confidence 0.989, {said})"


def test_every_line_solve_writes_for_people_is_passed_over_and_no_grid_row_is(fake_task: str, capsys) -> None:
    from trmkit.cli.common import ANNOTATION, without_annotations
    from trmkit.cli.voting import _show as show_votes

    task = trmkit.get_task(fake_task)
    answer = task.spec.parse(SOLUTION, "s")[0].question
    trajectory = [{"step": k, "q_hat": -1.25 + k, "answer": answer} for k in (1, 2)]
    output = solve_output(task, {"source": "a b.txt:3", "valid": False, "reason": "row 1: twice 4", "confidence": 0.25, "steps": 2, "answer": answer, "trajectory": trajectory}, capsys)
    show_votes(task, {"source": "t.json #1", "valid": True, "scored": True, "solved_by": 1, "reason": "", "attempts": [answer, answer], "votes": [5, 3], "versions": 8}, color=False)
    output += capsys.readouterr().out
    annotations = [line for line in output.splitlines() if line.startswith("#")]
    assert len(annotations) == 7 and all(ANNOTATION.fullmatch(line) for line in annotations), annotations
    for row in ("# #  S #", "#   # ##", "## #", "#########"):  # maze rows: walls and open cells
        assert not ANNOTATION.fullmatch(row)
    stripped = without_annotations(output)  # one answer a puzzle: not the steps, not attempt 2
    assert stripped.count("\n") == output.count("\n") and "#" not in stripped
    assert len(task.spec.parse(stripped, "out")) == 2
