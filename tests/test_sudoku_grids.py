"""trmkit.grids, the task-agnostic text-grid helpers (written with the Sudoku task, used by Maze)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trmkit.grids as grids
from trmkit import InputError

MAZE = {"#": 1, " ": 2, "S": 3, "G": 4, "o": 5}  # an alphabet with a space in it


def test_split_blocks_keeps_inner_spaces_and_line_numbers() -> None:
    text = "\n\n# #\nS G\n   \nab\n\n\ncd\n"
    blocks = grids.split_blocks(text)
    assert blocks == [grids.Block(3, ("# #", "S G")), grids.Block(6, ("ab",)), grids.Block(9, ("cd",))]
    assert grids.split_blocks("") == []


def test_csv_rows_layouts() -> None:
    rows = grids.read_csv_rows("source,question,answer,rating\nm1,# S,#oS,12\nm2,#G ,,\n", "m.csv")
    assert rows == [
        grids.CsvRow(line=2, question="# S", answer="#oS", origin="m1", rating=12.0),
        grids.CsvRow(line=3, question="#G ", answer=None, origin="m2", rating=None),
    ]
    # header in another order, and no header at all
    assert grids.read_csv_rows("answer,question\nb,a\n", "x")[0] == grids.CsvRow(2, "a", "b")
    assert grids.read_csv_rows("a b,c\n", "x")[0] == grids.CsvRow(1, "a b", "c")
    # a quoted field spanning lines keeps the row's first line number
    rows = grids.read_csv_rows('s,"x\ny",z,1\ns,q,a,2\n', "x")
    assert [(r.line, r.question) for r in rows] == [(1, "x\ny"), (3, "q")]


def test_csv_streams_from_a_file_object_with_a_cap() -> None:
    handle = io.StringIO("x,y\n" * 5, newline="")
    assert len(list(grids.iter_csv_rows(handle, "s"))) == 5
    with pytest.raises(InputError, match="more than 3 puzzles"):
        list(grids.iter_csv_rows(io.StringIO("x,y\n" * 5), "s", max_rows=3))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q,q\n", "x:1: a column is named twice"),
        ("1,2,3,4,5,6\n", "x:1: expected the columns"),
        ("a,b\nc\n", "x:2: expected 2 fields"),
        ("s,q,a,high\n", "x:1: rating 'high' is not a number"),
        ("source,question\n", "x: no puzzles found"),
    ],
)
def test_csv_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        grids.read_csv_rows(text, "x")


def test_strings_to_grids_and_back() -> None:
    strings = ["#S #", "oG  "]
    array = grids.strings_to_grids(strings, MAZE, (2, 2), where=lambda i: f"f:{i}")
    assert array.dtype == np.int8 and array.shape == (2, 2, 2)
    assert array.tolist() == [[[1, 3], [2, 1]], [[5, 4], [2, 2]]]
    assert grids.grids_to_strings(array, "?# SGo") == strings
    assert grids.strings_to_grids([], MAZE, (2, 2), where=str).shape == (0, 2, 2)


def test_strings_to_grids_errors_name_place_and_cell() -> None:
    with pytest.raises(InputError, match=r"f:7: illegal character 'x' at r2c1 \(allowed: walls\)"):
        grids.strings_to_grids(["#S #", "  x "], MAZE, (2, 2), where=lambda i: f"f:{i + 6}", allowed="walls")
    with pytest.raises(InputError, match="f:0: illegal character 'é' at r1c2"):
        grids.strings_to_grids(["#é #"], MAZE, (2, 2), where=lambda i: f"f:{i}")
    with pytest.raises(InputError, match=r"f:1: expected 4 cells \(2x2\), got 3"):
        grids.strings_to_grids(["####", "###"], MAZE, (2, 2), where=lambda i: f"f:{i}")
    with pytest.raises(ValueError):
        grids.strings_to_grids(["a"], {"é": 1}, (1, 1), where=str)


def test_check_text() -> None:
    grids.check_text("fine\n", "t")
    cases = [("a\nb\x00", "t:2: not a text file"), ("\ufffd", "t:1: not a text file"), ("x" * 11, "split it")]
    for text, message in cases:
        with pytest.raises(InputError, match=message):
            grids.check_text(text, "t", max_chars=10)
    with pytest.raises(InputError, match="expected text"):
        grids.check_text(b"bytes", "t")  # type: ignore[arg-type]


def test_looks_like_csv() -> None:
    assert grids.looks_like_csv("\n\nq,a\n")
    assert not grids.looks_like_csv("123\n4,5\n")
    assert not grids.looks_like_csv("")
    assert not grids.looks_like_csv("# p.txt:1: solved (confidence 0.97, 1 steps)\n123\n")


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_csv_reader_raises_only_input_error(text: str) -> None:
    try:
        grids.read_csv_rows(text, "fuzz")
    except InputError:
        pass


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.lists(st.integers(1, 5), min_size=6, max_size=6), min_size=1, max_size=5))
def test_grid_strings_round_trip(values: list[list[int]]) -> None:
    array = np.array(values, dtype=np.int8).reshape(-1, 2, 3)
    strings = grids.grids_to_strings(array, "?# SGo")
    assert np.array_equal(grids.strings_to_grids(strings, MAZE, (2, 3), where=str), array)
