"""Helpers for tasks whose puzzles are grids of characters in text files (public, task-agnostic).

Grid tasks share the chores of reading puzzle files: refusing binary or oversized input before
any work, splitting a text into blocks of lines, reading the ``source,question,answer,rating`` CSV
layout of the Sudoku-Extreme and Maze-Hard datasets, and turning many strings of characters into
integer grids at once (a Python loop per character would take seconds on a large file). Each
task keeps its own alphabet and formats; every problem found here is a
:class:`trmkit.InputError` whose message starts with ``source:line``.

Example (a task with ``#`` walls and ``.`` floors)::

    rows = read_csv_rows(text, "mazes.csv")
    grids = strings_to_grids([row.question for row in rows], {"#": 1, ".": 2}, (9, 9),
                             where=lambda i: f"mazes.csv:{rows[i].line}", allowed="'#' or '.'")
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .errors import InputError

#: Puzzle texts larger than this are refused: a parser builds a Python object per puzzle, and a
#: user pointing ``solve`` at the wrong (huge) file should get an answer at once, not a swap storm.
MAX_TEXT_CHARS = 10_000_000
#: At most this many puzzles are read from one text.
MAX_PUZZLES = 1_000_000

#: Header names accepted for the columns of a question/answer CSV (lower case), by column.
CSV_COLUMNS: dict[str, str] = {
    "source": "source",
    "question": "question",
    "q": "question",
    "quizzes": "question",
    "puzzle": "question",
    "answer": "answer",
    "a": "answer",
    "solutions": "answer",
    "solution": "answer",
    "rating": "rating",
}
#: Column order of a CSV without a header, by its number of fields.
CSV_LAYOUTS: dict[int, tuple[str, ...]] = {
    4: ("source", "question", "answer", "rating"),
    3: ("source", "question", "answer"),
    2: ("question", "answer"),
}


def check_text(text: str, source: str, *, max_chars: int = MAX_TEXT_CHARS) -> None:
    """Refuse what cannot be a puzzle file before parsing it: non-text, binary data, huge input.

    Binary data shows up as NUL characters, or as U+FFFD where bytes were decoded with
    ``errors="replace"``; either is reported with its line rather than as an illegal character.
    """
    if not isinstance(text, str):
        raise InputError(f"{source}: expected text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise InputError(
            f"{source}: {len(text):,} characters is more than the {max_chars:,} a puzzle file may hold; "
            "split it into smaller files"
        )
    for marker, what in (("\x00", "a NUL byte"), ("\ufffd", "bytes that are not UTF-8")):
        index = text.find(marker)
        if index >= 0:
            raise InputError(f"{source}:{line_of(text, index)}: not a text file ({what})")


def line_of(text: str, index: int) -> int:
    """The 1-based line number of character ``index`` of ``text``."""
    return text.count("\n", 0, index) + 1


@dataclass(frozen=True)
class Block:
    """A run of consecutive non-blank lines; ``line`` is the number of its first line (from 1)."""

    line: int
    lines: tuple[str, ...]


def split_blocks(text: str) -> list[Block]:
    """Split ``text`` into runs of non-blank lines (blank lines separate puzzles in most formats).

    Lines keep their inner spacing (some alphabets contain spaces); only the line ending is
    removed. A line holding nothing but whitespace counts as blank.
    """
    blocks: list[Block] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append(Block(start, tuple(current)))
            current = []
    if current:
        blocks.append(Block(start, tuple(current)))
    return blocks


def looks_like_csv(text: str) -> bool:
    """Whether the first line that is neither blank nor a ``#`` comment has a comma (no grid
    alphabet of ours uses one). Comments are passed over so that ``trmkit solve``'s output, whose
    ``# source: verdict`` lines may hold commas, reads back as grids."""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            return "," in line
    return False


@dataclass(frozen=True)
class CsvRow:
    """One puzzle row of a question/answer CSV, its fields as written (not stripped).

    ``origin`` is the dataset's own ``source`` column (the collection a puzzle came from), not
    the file; ``line`` is where the row starts in the file.
    """

    line: int
    question: str
    answer: str | None = None
    origin: str = ""
    rating: float | None = None


def iter_csv_rows(lines: Iterable[str], source: str, *, max_rows: int | None = None) -> Iterator[CsvRow]:
    """Read the ``source,question,answer,rating`` layout (Sudoku-Extreme, Maze-Hard) lazily.

    ``lines`` may be an open file (read with ``newline=""``), so datasets with millions of rows
    stream through without being held in memory. The header is optional: a first row made of
    known column names (see :data:`CSV_COLUMNS`) decides the column order, otherwise the number of
    fields does (see :data:`CSV_LAYOUTS`). Empty answer or rating fields read as None. Blank
    lines are skipped. Every row must have as many fields as the first one. A NUL byte or U+FFFD
    (bytes decoded with ``errors="replace"``) stops reading with an InputError.
    """
    reader = csv.reader(_text_lines(lines, source))
    columns: dict[str, int] | None = None
    width = 0
    count = 0
    last = 0  # the line the previous row ended on; a row may span lines inside quotes
    try:
        for fields in reader:
            line, last = last + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if columns is None:
                width = len(fields)
                names = [CSV_COLUMNS.get(field.strip().lower()) for field in fields]
                if all(names) and "question" in names:
                    if len(set(names)) != len(names):
                        raise InputError(f"{source}:{line}: a column is named twice in the header")
                    columns = {name: index for index, name in enumerate(names) if name}
                    continue
                layout = CSV_LAYOUTS.get(width)
                if layout is None:
                    raise InputError(
                        f"{source}:{line}: expected the columns source,question,answer,rating "
                        f"(or question,answer), got {width} fields"
                    )
                columns = {name: index for index, name in enumerate(layout)}
            if len(fields) != width:
                raise InputError(f"{source}:{line}: expected {width} fields like the first row, got {len(fields)}")
            count += 1
            if max_rows is not None and count > max_rows:
                raise InputError(f"{source}: more than {max_rows:,} puzzles in one file; split it into smaller files")
            yield _csv_row(fields, columns, line, source)
    except csv.Error as exc:
        raise InputError(f"{source}:{reader.line_num}: not a readable CSV row ({exc})") from None


def _text_lines(lines: Iterable[str], source: str) -> Iterator[str]:
    """``lines``, refusing binary data on the way (a file opened with ``errors="replace"``)."""
    for number, line in enumerate(lines, 1):
        if "\x00" in line or "\ufffd" in line:
            raise InputError(f"{source}:{number}: not a text file (a NUL byte or bytes that are not UTF-8)")
        yield line


def _csv_row(fields: list[str], columns: dict[str, int], line: int, source: str) -> CsvRow:
    def get(name: str) -> str | None:
        index = columns.get(name)
        return fields[index] if index is not None else None

    answer = get("answer")
    rating_text = (get("rating") or "").strip()
    rating = None
    if rating_text:
        try:
            rating = float(rating_text)
        except ValueError:
            raise InputError(f"{source}:{line}: rating {rating_text[:20]!r} is not a number") from None
    return CsvRow(
        line=line,
        question=get("question") or "",
        answer=answer if answer and answer.strip() else None,
        origin=(get("source") or "").strip(),
        rating=rating,
    )


def read_csv_rows(text: str, source: str, *, max_rows: int = MAX_PUZZLES) -> list[CsvRow]:
    """All rows of a question/answer CSV held in ``text`` (see :func:`iter_csv_rows`)."""
    rows = list(iter_csv_rows(io.StringIO(text, newline=""), source, max_rows=max_rows))
    if not rows:
        raise InputError(f"{source}: no puzzles found (only a header?)")
    return rows


def strings_to_grids(
    strings: Sequence[str],
    charmap: Mapping[str, int],
    shape: tuple[int, int],
    *,
    where: Callable[[int], str],
    allowed: str = "",
) -> np.ndarray:
    """Turn strings of ``rows * cols`` characters into an int8 array [N, rows, cols], vectorised.

    ``charmap`` gives each allowed character's value (0..127). On the first string of the wrong
    length or with a character outside ``charmap``, raises InputError starting with ``where(i)``
    (e.g. ``"file.csv:12"``) and naming the cell as ``r{row}c{col}``; ``allowed`` describes the
    alphabet for that message.
    """
    rows, cols = shape
    size = rows * cols
    count = len(strings)
    if count == 0:
        return np.zeros((0, rows, cols), dtype=np.int8)
    lengths = np.fromiter((len(text) for text in strings), dtype=np.int64, count=count)
    wrong = np.flatnonzero(lengths != size)
    if wrong.size:
        index = int(wrong[0])
        raise InputError(f"{where(index)}: expected {size} cells ({rows}x{cols}), got {lengths[index]}")
    codes = np.frombuffer("".join(strings).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = np.full(128, -1, dtype=np.int16)
    for char, value in charmap.items():
        if len(char) != 1 or ord(char) > 127 or not 0 <= value <= 127:
            raise ValueError(f"charmap must map ASCII characters to 0..127, got {char!r}: {value!r}")
        table[ord(char)] = value
    values = table[np.minimum(codes, 127)]
    values[codes > 127] = -1
    bad = np.flatnonzero(values < 0)
    if bad.size:
        index, cell = divmod(int(bad[0]), size)
        char = strings[index][cell]
        hint = f" (allowed: {allowed})" if allowed else ""
        raise InputError(f"{where(index)}: illegal character {char!r} at r{cell // cols + 1}c{cell % cols + 1}{hint}")
    return values.astype(np.int8).reshape(count, rows, cols)


def grids_to_strings(grids: np.ndarray, chars: str) -> list[str]:
    """The inverse of :func:`strings_to_grids`: value ``v`` becomes ``chars[v]``, row-major."""
    grids = np.asarray(grids)
    count = len(grids)
    flat = grids.reshape(count, -1)
    lookup = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
    text = lookup[flat].astype("<u4").tobytes().decode("utf-32-le")
    size = flat.shape[1]
    return [text[i * size : (i + 1) * size] for i in range(count)]
