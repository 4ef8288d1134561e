"""``trmkit check maze``: shortest paths pass; longer, broken, wall-crossing or moved answers fail
with the rule and the place; malformed files get one clear line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from trmkit.cli import main

# Two routes from S to G: along the top (4 moves) or down, across and up (8 moves).
PUZZLE = """\
S...G
.###.
.....
#####
#####
"""
SHORTEST = PUZZLE.replace("S...G", "SoooG")
LONGER = PUZZLE.replace(".###.\n.....", "o###o\nooooo")
THROUGH_WALL = SHORTEST.replace(".###.", ".#o#.")
BROKEN = PUZZLE.replace("S...G", "So.oG")
MOVED_START = PUZZLE.replace("S...G", ".SooG")
BRANCH = SHORTEST.replace(".###.", ".###o").replace(".....\n#", "....o\n#", 1)
IN_WALLS = SHORTEST.replace("#####\n#####", "#oo##\n#oo##")


def check(tmp_path: Path, puzzles: str | bytes, solutions: str | bytes, *extra: str) -> Result:
    paths = []
    for name, content in (("p.txt", puzzles), ("s.txt", solutions)):
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(str(path))
    return CliRunner().invoke(main, ["check", "maze", *paths, *extra])


def verdict(result: Result) -> str:
    return result.stdout.strip().split(": ", 1)[1]


def test_a_shortest_path_is_ok(tmp_path: Path) -> None:
    result = check(tmp_path, PUZZLE, SHORTEST)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'p.txt'}:1: ok\n"


def test_spaces_and_dots_both_read_as_open(tmp_path: Path) -> None:
    result = check(tmp_path, PUZZLE.replace(".", " "), SHORTEST)
    assert result.exit_code == 0, result.output


def test_rows_of_spaces_inside_a_maze_and_stripped_trailing_spaces_read_as_open(tmp_path: Path) -> None:
    spaced = PUZZLE.replace(".", " ").replace(" ###  \n", " ###\n")  # an editor stripped one row
    assert "     \n" in spaced  # the all-open row, written as spaces
    result = check(tmp_path, spaced, SHORTEST)
    assert result.exit_code == 0, result.output


def test_a_first_row_of_spaces_asks_for_dots(tmp_path: Path) -> None:
    result = check(tmp_path, PUZZLE, "     \nS...G\n.....\n.....\n.....\n")
    assert result.exit_code == 1
    assert "write open cells as '.'" in result.stderr


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (LONGER, "invalid: the path is not a shortest one: it takes 8 moves, the shortest takes 4"),
        (THROUGH_WALL, "invalid: the path goes through the wall at row 2, column 3"),
        (BROKEN, "invalid: the path is broken at row 1, column 2 (a path cell with one path neighbour)"),
        (MOVED_START, "invalid: S at row 1, column 1 is missing (moved or overwritten)"),
        (BRANCH, "invalid: the path branches at G (row 1, column 5): 2 path cells next to it"),
        (IN_WALLS, "invalid: the path goes through the wall at row 4, column 2"),
        (PUZZLE, "invalid: the path does not leave S at row 1, column 1"),
    ],
    ids=["longer", "through-wall", "broken", "moved-start", "branch", "stray-marks-in-walls", "no-path"],
)
def test_wrong_answers_are_rejected_with_the_rule_and_place(tmp_path: Path, answer: str, reason: str) -> None:
    result = check(tmp_path, PUZZLE, answer)
    assert result.exit_code == 1, result.output
    assert verdict(result) == reason
    assert "invalid" in result.stderr  # the summary line (its wording is the CLI's)


def test_a_separate_loop_is_rejected(tmp_path: Path) -> None:
    puzzle = "S...G\n.....\n.....\n.....\n.....\n"
    answer = "SoooG\n.....\n.oo..\n.oo..\n.....\n"
    result = check(tmp_path, puzzle, answer)
    assert result.exit_code == 1
    assert verdict(result) == "invalid: the path cells at row 3, column 2 are not on the path from S to G (a separate loop)"


def test_json_verdicts(tmp_path: Path) -> None:
    result = check(tmp_path, PUZZLE + "\n" + PUZZLE, SHORTEST + "\n" + LONGER, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["checked"], data["invalid"]) == (2, 1)
    assert [r["ok"] for r in data["results"]] == [True, False]
    assert data["results"][1]["puzzle"].endswith("p.txt:7")


def test_csv_in_the_maze_hard_layout(tmp_path: Path) -> None:
    flat = lambda grid: grid.replace("\n", "").replace(".", " ")  # noqa: E731
    csv = f"source,question,answer,rating\nx,{flat(PUZZLE)},{flat(SHORTEST)},0\ny,{flat(PUZZLE)},{flat(LONGER)},0\n"
    result = check(tmp_path, PUZZLE + "\n" + PUZZLE, csv)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith(": ok")
    assert "not a shortest one" in result.stdout.splitlines()[1]


def test_solve_output_with_comment_lines_reads_back(tmp_path: Path) -> None:
    solved = f"# {tmp_path}/p.txt:1: solved (confidence 0.990, 3 steps)\n{SHORTEST}# q.txt:1: not solved: x\n{LONGER}"
    result = check(tmp_path, PUZZLE + "\n" + PUZZLE, solved)
    assert result.exit_code == 1
    first, second = result.stdout.splitlines()
    assert first.endswith("p.txt:1: ok") and "not a shortest one" in second


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("S..\n.G.\n", "a maze of 2 rows must have 2 characters per row, but its longest row has 3"),
        ("S.\nxG\n", "s.txt:2: unexpected character 'x' at column 1"),
        ("source,question,answer,rating\na,S.G,,0\n", "the question has 3 characters; a maze is N*N"),
        (("#" * 31 + "\n") * 31, "a maze of 31 rows; mazes have at most 30"),
        (b"\xff\xfe\x00garbage\x00", "not a text file"),
        ("\n\n", "no puzzles found"),
    ],
    ids=["not-square", "bad-char", "csv-length", "too-big", "binary", "empty"],
)
def test_malformed_solutions_give_one_clear_line(tmp_path: Path, content: str | bytes, message: str) -> None:
    result = check(tmp_path, PUZZLE, content)
    assert result.exit_code in (1, 2)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_unequal_counts_are_an_error(tmp_path: Path) -> None:
    result = check(tmp_path, PUZZLE + "\n" + PUZZLE, SHORTEST)
    assert result.exit_code == 1
    assert "holds 2 puzzles but" in result.stderr
