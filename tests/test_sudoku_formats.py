"""Sudoku puzzle files: every format round-trips, and any input gives puzzles or an InputError."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trmkit import InputError, Puzzle
from trmkit_sudoku import FORMATS, generate, parse_puzzles
from trmkit_sudoku.formats import to_color, to_csv, to_line, to_pretty, to_rows

QUESTIONS, ANSWERS = generate(12, 20, 55, seed=11)
puzzle_index = st.integers(0, len(QUESTIONS) - 1)


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def parse_one(text: str) -> Puzzle:
    puzzles = parse_puzzles(text, "p.txt")
    assert len(puzzles) == 1
    return puzzles[0]


@settings(max_examples=30, deadline=None)
@given(index=puzzle_index, writer=st.sampled_from([to_line, to_rows, to_pretty]), zeros=st.booleans())
def test_each_format_round_trips(index: int, writer, zeros: bool) -> None:
    text = writer(QUESTIONS[index])
    if zeros:
        text = text.replace(".", "0")
    puzzle = parse_one(text)
    assert np.array_equal(puzzle.question, QUESTIONS[index])
    assert puzzle.answer is None


def test_colour_render_without_escapes_parses_back() -> None:
    text = to_color(QUESTIONS[0])
    assert "┼" in text and "\x1b[1m" in text
    assert np.array_equal(parse_one(strip_ansi(text)).question, QUESTIONS[0])


def test_csv_round_trips_with_answers() -> None:
    puzzles = [Puzzle(q, a) for q, a in zip(QUESTIONS, ANSWERS)]
    puzzles[3] = Puzzle(QUESTIONS[3])  # no answer
    parsed = parse_puzzles(to_csv(puzzles), "x.csv")
    assert [p.source for p in parsed] == [f"x.csv:{line}" for line in range(2, 14)]
    for original, back in zip(puzzles, parsed):
        assert np.array_equal(back.question, original.question)
        if original.answer is None:
            assert back.answer is None
        else:
            assert np.array_equal(back.answer, original.answer)


def test_csv_without_header_and_with_quotes_and_variants() -> None:
    q, a = to_line(QUESTIONS[0]), to_line(ANSWERS[0])
    for text in (
        f"puzzles0,{q},{a},3\n",
        f'"puzzles0","{q}","{a}","3"\r\n',
        f"quizzes,solutions\n{q.replace('.', '0')},{a}\n",
        f"question,answer,source\n{q},{a},here\n",
        f"src,{q},\n",
    ):
        puzzle = parse_one(text)
        assert np.array_equal(puzzle.question, QUESTIONS[0]), text


def test_many_puzzles_in_one_file() -> None:
    lines = "\n".join(to_line(q) for q in QUESTIONS[:5])
    assert len(parse_puzzles(lines + "\n", "l.txt")) == 5
    blocks = "\n\n".join(to_rows(q) for q in QUESTIONS[:4])
    parsed = parse_puzzles("# four grids\n\n" + blocks + "\n\n\n", "b.txt")
    assert [p.source for p in parsed] == ["b.txt:3", "b.txt:13", "b.txt:23", "b.txt:33"]
    # 9-line grids back to back, and printed grids, mixed with lines
    mixed = "\n".join(
        [to_rows(QUESTIONS[0]), to_rows(QUESTIONS[1]), "", to_pretty(QUESTIONS[2]), "", to_line(QUESTIONS[3])]
    )
    parsed = parse_puzzles(mixed, "m.txt")
    assert [p.source for p in parsed] == ["m.txt:1", "m.txt:10", "m.txt:20", "m.txt:32"]
    for puzzle, question in zip(parsed, QUESTIONS):
        assert np.array_equal(puzzle.question, question)


def test_bordered_printed_grid() -> None:
    rows = to_rows(QUESTIONS[5]).splitlines()
    lines = ["+-------+-------+-------+"]
    for r, row in enumerate(rows):
        lines.append("| " + " | ".join(" ".join(row[c : c + 3]) for c in range(0, 9, 3)) + " |")
        if r % 3 == 2:
            lines.append("+-------+-------+-------+")
    assert np.array_equal(parse_one("\n".join(lines)).question, QUESTIONS[5])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "p.txt: no puzzles found"),
        ("   \n\n  ", "p.txt: no puzzles found"),
        ("# only a comment\n", "p.txt: no puzzles found"),
        ("53..7....\n6..195...\n", "p.txt:1: a grid with only 2 of its 9 rows"),
        ("12345\n", "p.txt:1: 5 cells"),
        ("." * 80 + "x\n", "p.txt:1:81: illegal character 'x'"),
        ("\n\n...|...|..?\n", "p.txt:3:11: illegal character '?'"),
        ("5" + "." * 6 + "5" + "." * 73, "p.txt:1: contradictory givens: digit 5 appears twice in row 1 (r1c1, r1c8)"),
        ("." * 9 + "\n" + "1" + "." * 8 + "\n" + "1" + "." * 8 + "\n" + ("." * 9 + "\n") * 6,
         "digit 1 appears twice in column 1 (r2c1, r3c1)"),
        ("1" + "." * 9 + "1" + "." * 70, "digit 1 appears twice in box 1 (r1c1, r2c2)"),
        ("\x00" * 10, "p.txt:1: not a text file"),
        ("abc\n\ufffd\n", "p.txt:2: not a text file"),
        ("." * 9 + "\n" + "." * 81, "p.txt:2: a whole puzzle on one line inside a grid"),
    ],
)
def test_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_puzzles(text, "p.txt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n", "c.csv:1 (question): expected 81 cells"),
        ("source,question,answer,rating\nx," + "." * 81 + ",,\ny,1,2\n", "c.csv:3: expected 4 fields"),
        ("1,2,3,4,5\n", "c.csv:1: expected the columns"),
        (
            "x," + "." * 81 + "," + "1" * 81 + ",1\n",
            "c.csv:1: the answer does not solve the question: digit 1 appears 9 times in row 1",
        ),
        ("x," + "." * 81 + "," + "." * 81 + ",1\n", "c.csv:1: the answer does not solve the question: r1c1 is empty"),
        ("x," + "." * 81 + ",ab,1\n", "c.csv:1 (answer): expected 81 cells"),
        ("x," + "." * 81 + ",,hard\n", "c.csv:1: rating 'hard' is not a number"),
        ("source,question,answer,rating\n", "c.csv: no puzzles found"),
        ('x,"' + "." * 81 + "\n", "c.csv"),
    ],
)
def test_csv_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_puzzles(text, "c.csv")


def test_csv_answer_must_keep_givens() -> None:
    question = QUESTIONS[0].copy()
    answer = ANSWERS[0].copy()
    cell = tuple(np.argwhere(question != 0)[0])
    question[cell] = question[cell] % 9 + 1
    text = to_csv([Puzzle(question, answer)])
    with pytest.raises(InputError, match=r"c\.csv:2: the answer does not solve the question: r\dc\d changes given"):
        parse_puzzles(text, "c.csv")


def test_huge_input_is_refused_quickly() -> None:
    with pytest.raises(InputError, match="split it into smaller files"):
        parse_puzzles("." * 10_000_001, "big.txt")


def test_formats_are_described() -> None:
    assert len(FORMATS) == 4 and all(isinstance(text, str) and text for text in FORMATS)


SUDOKU_CHARS = st.sampled_from(list("123456789.0 |-+,\n#x\"\t"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=300), st.text(SUDOKU_CHARS, max_size=400)))
def test_arbitrary_text_gives_puzzles_or_input_error(text: str) -> None:
    try:
        puzzles = parse_puzzles(text, "fuzz")
    except InputError as exc:
        assert str(exc).startswith("fuzz")
    else:
        assert puzzles and all(p.question.shape == (9, 9) for p in puzzles)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_give_puzzles_or_input_error(data: bytes) -> None:
    try:
        parse_puzzles(data.decode("utf-8", errors="replace"), "fuzz")
    except InputError:
        pass


@settings(max_examples=100, deadline=None)
@given(index=puzzle_index, position=st.integers(0, 80), char=st.characters())
def test_one_changed_character_gives_puzzles_or_input_error(index: int, position: int, char: str) -> None:
    text = to_line(QUESTIONS[index])
    text = text[:position] + char + text[position + 1 :]
    try:
        parse_puzzles(text, "fuzz")
    except InputError:
        pass
