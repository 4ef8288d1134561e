"""Guarantee 4 of issue 7: hostile puzzle input, for every installed task.

Each task's parser, given raw bytes as ``trmkit`` reads them (binary junk, non-UTF-8, empty,
enormous, wrong sizes, illegal characters, contradictory or unsolvable puzzles), hypothesis text
and mutations of a puzzle its own decoder rendered, returns puzzles or raises trmkit's InputError:
nothing else. The CLI turns that into one line and exit status 1. The tasks are read from the
plugin registry, so a task that is installed later is fuzzed too.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trmkit
import trmkit.grids as grids
from trmkit import get_task, load_config
from trmkit.checkpoint import save_model
from trmkit.cli import common, main
from trmkit.model import TRM
from trmkit.plugins import registry
from trmkit.testing import build_tiny_dataset

TASKS = registry().task_names()
pytestmark = pytest.mark.usefixtures("one_torch_thread")

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
UNSOLVABLE_SUDOKU = "12345678." + "........9" + "." * 63  # r1c9 can only be 9, which column 9 has
HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "blank lines": b"\n \n\t\n\r\n",
    "nul bytes": b"\x00" * 300,
    "binary junk": bytes(np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8)),
    "not utf-8": b"\xff\xfe\xfd\xc3\x28" * 50,
    "utf-16": "1234\n5678\n".encode("utf-16"),
    "enormous line": b"1" * 2_000_000,
    "enormous wall line": b"#" * 2_000_000,
    "too many characters": b"1" * (grids.MAX_TEXT_CHARS + 1),
    "many short lines": b"1\n" * 200_000,
    "deep json": b"[" * 100_000,
    "huge json number": b"[[" + b"9" * 100_000 + b"]]",
    "json of the wrong shape": b'{"train": [], "test": [{"input": [[1, 2], [3]]}]}',
    "json strings": b'[["a", "b"], ["c", "d"]]',
    "wrong sizes": b"123\n" + b"1" * 80 + b"\n" + b"1" * 82 + b"\n",
    "illegal characters": ("é" * 81 + "\n" + "🧩" * 9 + "\n").encode(),
    "controls": b"\x1b[31m1234\x1b[0m\n\x07\x08\x0c\x0b\n",
    "odd line breaks": "1\u2028" "2\u2029" "3\x85" "4\r5\r".encode(),
    "csv junk": b'source,question,answer,rating\n"unclosed,1,2\n' + b"a," * 5000 + b"\n",
    "contradictory sudoku": ("11" + "." * 79 + "\n").encode(),
    "unsolvable sudoku": (UNSOLVABLE_SUDOKU + "\n").encode(),
    "maze without start": b"###\n#.#\n###\n",
    "maze with two starts and no way to the goal": b"#####\n#S#G#\n#S#.#\n#####\n#####\n",
}


def as_trmkit_reads(data: bytes) -> str:
    """Bytes decoded the way ``trmkit`` reads a puzzle file (common.read_text)."""
    return data.decode("utf-8-sig", errors="replace")


def parse_or_input_error(task: trmkit.Task, text: str) -> None:
    try:
        puzzles = task.spec.parse(text, "fuzz")
    except trmkit.InputError as exc:
        assert str(exc).startswith("fuzz"), f"{task.name}: an error that does not name its source: {exc}"
    else:
        assert isinstance(puzzles, list) and all(isinstance(p, trmkit.Puzzle) for p in puzzles)


@functools.cache
def rendered_puzzle(name: str) -> str:
    """A puzzle of the task, as its decoder renders it (the contract says this parses back)."""
    task = get_task(name)
    data = build_tiny_dataset(task, load_config(task, "tiny").data.options)
    return task.decoder.render(task.tokenizer.decode(data.splits["test"].inputs[0]))


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("name", TASKS)
def test_every_parser_meets_hostile_bytes_with_puzzles_or_an_input_error(name: str, case: str) -> None:
    parse_or_input_error(get_task(name), as_trmkit_reads(HOSTILE[case]))


@pytest.mark.parametrize("name", TASKS)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=1500))
def test_every_parser_meets_random_bytes_with_puzzles_or_an_input_error(name: str, data: bytes) -> None:
    parse_or_input_error(get_task(name), as_trmkit_reads(data))


@pytest.mark.parametrize("name", TASKS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_parser_meets_text_in_its_own_alphabet_with_puzzles_or_an_input_error(name: str, data: st.DataObject) -> None:
    alphabet = sorted(set(rendered_puzzle(name)) | set(" \n\r\t,.#|-+[]{}\":0123456789"))
    parse_or_input_error(get_task(name), data.draw(st.text(alphabet=alphabet, max_size=800)))


@pytest.mark.parametrize("name", TASKS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "replace"]), st.characters()), min_size=1, max_size=6))
def test_every_parser_meets_a_mutated_puzzle_with_puzzles_or_an_input_error(name: str, edits: list[tuple[float, str, str]]) -> None:
    text = rendered_puzzle(name)
    for where, operation, char in edits:
        at = int(where * len(text))
        text = text[:at] + ("" if operation == "delete" else char) + text[at + (operation != "insert") :]
    parse_or_input_error(get_task(name), text)


# -- the command line -------------------------------------------------------------------------
def assert_one_error_line(result: Any, *needles: str) -> str:
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("case", ["empty", "binary junk", "not utf-8", "enormous line", "wrong sizes", "deep json"])
@pytest.mark.parametrize("name", TASKS)
def test_the_cli_reports_hostile_input_in_one_line(name: str, case: str, tmp_path: Path) -> None:
    path = tmp_path / "puzzles.txt"
    path.write_bytes(HOSTILE[case])
    assert_one_error_line(CliRunner().invoke(main, ["check", name, str(path), str(path)]), str(path))


def test_input_over_the_size_cap_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_INPUT_BYTES", 10_000)
    path = tmp_path / "big.txt"
    path.write_text((SUDOKU + "\n") * 200)
    result = CliRunner().invoke(main, ["check", "sudoku", str(path), str(path)])
    assert_one_error_line(result, f"{path}: larger than 10,000 bytes; split it into smaller files")
    piped = CliRunner().invoke(main, ["check", "sudoku", "-", str(path)], input=(SUDOKU + "\n") * 200)
    assert_one_error_line(piped, "<stdin>: larger than 10,000 bytes")


# -- a batch with bad puzzles -----------------------------------------------------------------
def random_model(task: trmkit.Task, sample: str, folder: Path) -> Path:
    """An untrained model for ``task`` (its answers are wrong, but every puzzle gets one)."""
    config = load_config(task, "tiny")
    config.model.vocab_size = task.spec.vocab_size
    config.model.seq_len = int(np.asarray(task.tokenizer.encode(task.spec.parse(sample, "sample")[0].question)).size)
    torch.manual_seed(0)
    return save_model(folder, TRM(config.model).state_dict(), config)


MAZE = "#####\n#S..#\n#.#.#\n#..G#\n#####"
ROWS = "\n".join(SUDOKU[i : i + 9] for i in range(0, 81, 9))
BATCHES = {
    # name: (task, text, the lines of the good puzzles, the lines reported as bad)
    "sudoku lines": ("sudoku", f"{SUDOKU}\n{SUDOKU[:80]}\n{SUDOKU}\n11{SUDOKU[2:]}\n{SUDOKU.replace('.', 'x', 1)}\n{UNSOLVABLE_SUDOKU}\n", [1, 3, 6], [2, 4, 5]),
    "sudoku grids": ("sudoku", f"{ROWS}\n\n{ROWS[:-1]}?\n\n{ROWS}\n", [1, 21], [19]),
    "sudoku csv": ("sudoku", f"source,question,answer,rating\na,{SUDOKU},,\nb,{SUDOKU[:79]},,\nc,{SUDOKU},,1\n", [2, 4], [3]),
    "mazes": ("maze", f"{MAZE}\n\n{MAZE.replace('S', 'X')}\n\n#####\n#S..#\n\n{MAZE}\n", [1, 16], [8, 13]),
}


@pytest.mark.parametrize("batch", list(BATCHES))
def test_a_batch_with_bad_puzzles_solves_the_good_ones_and_reports_the_bad_ones_by_line(batch: str, tmp_path: Path) -> None:
    name, text, good, bad = BATCHES[batch]
    task = get_task(name)
    model = random_model(task, text.split("\n\n")[0] if name == "maze" else f"{SUDOKU}\n", tmp_path / "model")
    path = tmp_path / "batch.txt"
    path.write_text(text)
    result = CliRunner().invoke(main, ["solve", name, str(path), "--model", str(model), "--json"])
    assert result.exit_code == 1, result.output  # not every puzzle got a valid answer
    assert "Traceback" not in result.output
    records = json.loads(result.stdout)
    assert [record["source"] for record in records] == [f"{path}:{line}" for line in good]
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert [re.match(rf"skipped: {re.escape(str(path))}:(\d+)\D", line).group(1) for line in skipped] == [str(line) for line in bad], result.stderr
    assert f"{len(bad)} puzzles skipped as unreadable" in result.stderr


def test_a_file_with_no_good_puzzle_is_one_error(tmp_path: Path) -> None:
    task = get_task("sudoku")
    model = random_model(task, f"{SUDOKU}\n", tmp_path / "model")
    path = tmp_path / "bad.txt"
    path.write_text(f"{SUDOKU[:80]}\n{SUDOKU[:70]}\n")
    result = CliRunner().invoke(main, ["solve", "sudoku", str(path), "--model", str(model)])
    assert_one_error_line(result, f"{path}:1: 80 cells")


def test_a_parser_that_raises_something_else_is_named_as_its_plugins_bug(fake_task: str) -> None:
    def broken(text: str, source: str) -> list[trmkit.Puzzle]:
        raise ZeroDivisionError("division by zero")

    latin = get_task(fake_task)
    task = dataclasses.replace(latin, spec=dataclasses.replace(latin.spec, parse=broken))
    with pytest.raises(trmkit.PluginError, match=r"the latin parser of plugin trmkit-latin-fixture failed \(ZeroDivisionError: division by zero\)"):
        common.parse_puzzles(task, "1234", "p.txt")


def test_a_parser_that_returns_something_else_than_puzzles_is_named_as_its_plugins_bug(fake_task: str) -> None:
    latin = get_task(fake_task)
    task = dataclasses.replace(latin, spec=dataclasses.replace(latin.spec, parse=lambda text, source: text))  # a str
    with pytest.raises(trmkit.PluginError, match=r"the latin parser of plugin trmkit-latin-fixture returned a str among its puzzles"):
        common.parse_puzzles(task, "1234", "p.txt")


LINE_KINDS = {
    "good": SUDOKU,
    "short": SUDOKU[:80],
    "illegal": SUDOKU.replace(".", "x", 1),
    "contradictory": "11" + SUDOKU[2:],
    "blank": "",
    "comment": "# a comment",
}


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(st.sampled_from(list(LINE_KINDS)), min_size=1, max_size=12))
def test_a_batch_of_lines_gives_exactly_its_good_puzzles_and_only_its_bad_lines(kinds: list[str]) -> None:
    task = get_task("sudoku")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "batch.txt"
        path.write_text("".join(f"{LINE_KINDS[kind]}\n" for kind in kinds))
        good = [number for number, kind in enumerate(kinds, 1) if kind == "good"]
        bad = [number for number, kind in enumerate(kinds, 1) if kind in ("short", "illegal", "contradictory")]
        if not good:
            with pytest.raises(trmkit.InputError):
                common.read_puzzle_batch(task, path)
            return
        puzzles, problems = common.read_puzzle_batch(task, path)
    assert [puzzle.source for puzzle in puzzles] == [f"{path}:{number}" for number in good]
    reported = [int(re.match(rf"{re.escape(str(path))}:(\d+)\D", problem).group(1)) for problem in problems]
    assert reported == sorted(reported) and set(reported) <= set(bad) and bool(reported) == bool(bad)


def test_a_file_of_mostly_bad_puzzles_stops_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "MAX_BAD_PUZZLES", 2)
    path = tmp_path / "bad.txt"
    path.write_text(f"{SUDOKU}\n" + f"{SUDOKU[:80]}\n" * 4)
    with pytest.raises(trmkit.InputError, match=rf"{re.escape(str(path))}: more than 2 bad puzzles; the first: {re.escape(str(path))}:2: 80 cells"):
        common.read_puzzle_batch(get_task("sudoku"), path)
