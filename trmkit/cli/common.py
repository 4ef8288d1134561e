"""What every trmkit command shares: the consoles, error reporting, task lookup, input, JSON.

Conventions the commands follow, so that trmkit composes in pipes:

- results (verdicts, solutions, summaries, ``--json``) go to stdout with :func:`click.echo`, and
  the tables that are a command's result (``tasks``, ``plugins``, ``models``) to :data:`stdout`;
- logs, progress, and grids drawn for people beside a result go to :data:`stderr` (rich Consoles);
- a :class:`trmkit.TrmkitError` becomes ``Error: <one line>`` on stderr and its ``exit_code``
  (2 for configuration and unknown-task errors, 1 otherwise); so does a failure to read or
  write a file (``Error: PATH: reason``) or to get memory; any other exception becomes one
  ``Error: internal error: ...`` line (exit 1; ``Error: plugin 'NAME' ... failed: ...`` when a
  plugin's code raised it) unless ``--debug`` asks for the traceback.

Nothing here imports torch: ``trmkit --help``, ``tasks`` and ``plugins`` must stay fast.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import click
import numpy as np
from rich.console import Console

from .. import plugins
from ..config import parse_override
from ..errors import InputError, PluginError, TrmkitError, UnknownTaskError
from ..task import Puzzle, Task

#: Logs, progress and grids for people. Rich resolves ``sys.stderr`` on every write, so click's
#: test runner captures it too. A log line is never broken (soft wrap): piped to a file, it stays
#: one line to grep, with its paths whole.
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
#: Tables that are a command's result, so that ``trmkit tasks > tasks.txt`` keeps them.
stdout = Console(highlight=False, soft_wrap=True)

#: Largest puzzle or solution file read into memory (checked at call time, so tests may lower it).
MAX_INPUT_BYTES = 64 * 1024 * 1024
#: Bad puzzles ``solve`` reports and skips in one file before giving up on it (each costs a parse).
MAX_BAD_PUZZLES = 100
_STANDALONE_TRIES = 20

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A reported failure: click prints ``Error: <message>`` on stderr and exits ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(one_line(message))
        self.exit_code = exit_code


def one_line(message: str) -> str:
    """Collapse a (possibly multi-line) message so that an error is always one line."""
    return " ".join(message.split())


@contextmanager
def reported_errors(debug: bool = False) -> Iterator[None]:
    """Turn exceptions into one-line errors with the right exit status (the group wraps every
    command in this; use it directly only outside the ``trmkit`` group).

    click's own exceptions (usage errors exit 2, ``ctx.exit``) pass through untouched.
    With ``debug`` the traceback is printed first, and the exit status stays the same.
    """
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:  # Ctrl-C where no command handles it: what a shell expects, no "Aborted!"
        raise click.exceptions.Exit(130) from None
    except TrmkitError as exc:
        if debug:
            traceback.print_exc()
        raise CommandError(_process_name() + (str(exc) or type(exc).__name__), exc.exit_code) from exc
    except Exception as exc:
        if debug:
            traceback.print_exc()
        raise CommandError(_process_name() + _unexpected(exc, debug)) from exc


def _process_name() -> str:
    """``rank N: `` in the training processes of a distributed run other than the first, whose
    errors reach the same terminal."""
    rank = os.environ.get("RANK", "0")
    return "" if rank == "0" or os.environ.get("WORLD_SIZE", "1") == "1" else f"rank {rank}: "


def _unexpected(error: Exception, debug: bool) -> str:
    """The one line for an exception trmkit did not raise on purpose: a plugin's bug named as
    such, a file that cannot be read or written (``PATH: reason``; for a rename, the path the
    user named, not the temporary one), no memory, or else an internal error."""
    if isinstance(error, MemoryError):  # asked for too much, most likely: no one's bug
        return "out of memory; ask for less (fewer examples, a smaller batch)"
    if _in_collective(error):  # what the other processes of a distributed run see when one stops
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]  # names a real bug in a collective, too
        return f"lost contact with the other training processes (one of them stopped or failed: see its error): {detail}"
    culprit = None if plugins.registry.cache_info().currsize == 0 else _plugin_at_fault(error)
    if culprit is None and isinstance(error, OSError) and (error.filename2 or error.filename):
        return f"{error.filename2 or error.filename}: {error.strerror or error}"  # e.g. an --out nobody can write
    if culprit is None and isinstance(error, OSError) and error.strerror:  # e.g. a full disk, met mid-write
        return f"system error: {error.strerror}" + ("" if debug else " (rerun with --debug for the traceback)")
    what = f"plugin '{culprit.name}' ({culprit.distribution}) failed" if culprit else "internal error"
    message = f"{what}: {type(error).__name__}: {error}" + ("; this is a bug of that plugin" if culprit else "")
    return message + ("" if debug else " (rerun with --debug for the traceback)")


def _in_collective(error: Exception) -> bool:
    """A RuntimeError raised inside one of torch.distributed's collectives (gloo or NCCL): the
    connection to another process of the run broke, which happens when that process ends."""
    frames = traceback.extract_tb(error.__traceback__)
    return isinstance(error, RuntimeError) and any(Path(frame.filename).name == "distributed_c10d.py" for frame in frames)


def _plugin_at_fault(error: Exception) -> plugins.PluginInfo | None:
    try:
        return plugins.registry().plugin_at_fault(error)
    except Exception:  # noqa: BLE001 - the registry itself may be what failed
        return None


def load_task(name: str) -> Task:
    """The installed task ``name``; when it is unknown, say which plugins failed to load."""
    try:
        return plugins.get_task(name)
    except UnknownTaskError as exc:
        failed = [info.name for info in plugins.registry().plugins if info.status == "failed"]
        if not failed:
            raise
        raise UnknownTaskError(
            f"{exc}; plugins that failed to load: {', '.join(failed)} (see 'trmkit plugins')"
        ) from None


def read_text(path: str | Path, limit: int | None = None) -> tuple[str, str]:
    """Read ``path`` (``-`` is stdin) as text; returns ``(text, source name)``.

    Bytes that are not UTF-8 are replaced rather than refused, so that the task's parser, which
    knows the format, reports what is wrong and where. Input is capped at ``limit`` bytes
    (default :data:`MAX_INPUT_BYTES`) so a wrong file never exhausts memory.
    """
    limit = MAX_INPUT_BYTES if limit is None else limit
    source = "<stdin>" if str(path) == "-" else str(path)
    try:
        if source == "<stdin>":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise InputError(f"{source}: larger than {limit:,} bytes; split it into smaller files")
    return data.decode("utf-8-sig", errors="replace"), source


#: The lines ``trmkit solve`` writes around its answers for people: ``# SOURCE: verdict``, and
#: ``## step N: ...``, ``## attempt N: ...`` or ``## answer`` above a grid. ``check`` passes over
#: them, so that ``trmkit solve TASK p.txt | trmkit check TASK p.txt -`` works whatever a task's
#: parser makes of '#' (no grid row of ours holds '# ' and then ': ').
ANNOTATION = re.compile(r"# \S.*: .*|## (?:(?:step|attempt) \d+: .*|answer)")
#: Headings of grids that are not the answer: a step of ``--trajectory``, a second attempt.
NOT_THE_ANSWER = re.compile(r"## (?:step \d+|attempt (?!1:)\d+): .*")


def without_annotations(text: str) -> str:
    """``text`` with :data:`ANNOTATION` lines left blank, and the grids under
    :data:`NOT_THE_ANSWER` headings too, so that one answer per puzzle is left (line numbers in
    errors still hold)."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        annotation = ANNOTATION.fullmatch(body) is not None
        if annotation:
            skipping = NOT_THE_ANSWER.fullmatch(body) is not None
        kept.append(line[len(body):] if annotation or skipping else line)
    return "".join(kept)


def read_puzzles(task: Task, path: str | Path, limit: int | None = None, answers: bool = False) -> list[Puzzle]:
    """Every puzzle in ``path`` (``-`` is stdin), parsed by the task's parser.

    An empty file is an error: a command given no puzzles has nothing to do, and saying so is
    clearer than printing nothing. ``answers``: the file may be ``trmkit solve``'s output, whose
    :data:`ANNOTATION` lines are passed over.
    """
    text, source = read_text(path, limit)
    return parse_puzzles(task, without_annotations(text) if answers else text, source)


def parse_puzzles(task: Task, text: str, source: str) -> list[Puzzle]:
    """The task's parser on ``text``, its failures always a one-line trmkit error: a parser
    that raises something else than InputError is a bug of its plugin, and is named as one."""
    try:
        puzzles = list(task.spec.parse(text, source))
    except TrmkitError:
        raise
    except ValueError as exc:  # a parser that skipped its own InputError still gets one line
        raise InputError(f"{source}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise PluginError(
            f"{source}: the {task.name} parser of plugin {task.plugin} failed ({plugins.describe(exc)}); "
            "this is a bug of that plugin"
        ) from None
    wrong = next((puzzle for puzzle in puzzles if not isinstance(puzzle, Puzzle)), None)
    if wrong is not None:
        raise PluginError(
            f"{source}: the {task.name} parser of plugin {task.plugin} returned a {type(wrong).__name__} among its puzzles, "
            "not a trmkit.Puzzle; this is a bug of that plugin"
        )
    if not puzzles:
        raise InputError(f"{source}: no puzzles found (formats of '{task.name}': {', '.join(task.spec.formats)})")
    return puzzles


def encode_for_model(task: Task, puzzle: Puzzle, seq_len: int) -> np.ndarray:
    """The ``seq_len`` tokens of a puzzle for a model. A tokenizer with the optional
    ``encode_for(question, seq_len)`` lays it out as the model's data was laid out (a task whose
    builder can make shorter sequences than the task's largest, such as ARC's smaller canvases
    for quick runs); otherwise its one encoding must already be ``seq_len`` long. InputError,
    naming the puzzle, when it is not."""
    encode_for = getattr(task.tokenizer, "encode_for", None)
    try:
        tokens = encode_for(puzzle.question, seq_len) if callable(encode_for) else task.tokenizer.encode(puzzle.question)
    except InputError as exc:  # e.g. a grid larger than the model's canvas
        raise InputError(f"{puzzle.source}: {exc}") from None
    row = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if row.shape[0] != seq_len:
        raise InputError(f"{puzzle.source}: the puzzle has {row.shape[0]} tokens; this model reads {seq_len}")
    return row


def read_puzzle_batch(task: Task, path: str | Path, limit: int | None = None) -> tuple[list[Puzzle], list[str]]:
    """The good puzzles of ``path`` and one line (``source:line: problem``) per bad one.

    A file the parser takes whole is read as :func:`read_puzzles` reads it. Otherwise each
    error's line is blanked out and the text parsed again, so that line numbers, CSV headers and
    every format the task knows keep working: a line when the neighbouring lines are puzzles on
    their own, the whole run of lines around it when they are not (a grid written over several
    lines). A file with no good puzzle at all, or more than :data:`MAX_BAD_PUZZLES` bad ones,
    is an error (its first problem).
    """
    text, source = read_text(path, limit)
    try:
        return parse_puzzles(task, text, source), []
    except InputError as first:
        puzzles, problems = _parse_around_errors(task, text, source)
        if not puzzles:
            raise first from None
        return puzzles, problems


def error_line(error: InputError, source: str) -> int | None:
    """The line (from 1) a parser's error names in ``source``, as in ``source:12: ...``; None
    when it names none."""
    match = re.match(re.escape(source) + r":(\d+)", str(error))
    return int(match.group(1)) if match else None


def _parse_around_errors(task: Task, text: str, source: str) -> tuple[list[Puzzle], list[str]]:
    lines = text.splitlines(keepends=True)
    blank = [not line.strip() for line in lines]
    problems: list[tuple[int, str]] = []  # (line index, message), reported in line order
    record_kinds: dict[int, bool] = {}  # first line of a run of lines -> its lines are puzzles alone
    while len(problems) <= MAX_BAD_PUZZLES:
        masked = "".join(line[len(line.rstrip("\r\n")):] if blank[i] else line for i, line in enumerate(lines))
        try:
            return parse_puzzles(task, masked, source), [message for _, message in sorted(problems)]
        except InputError as exc:
            line = error_line(exc, source)
            index = line - 1 if line is not None else -1
            if not 0 <= index < len(lines) or blank[index]:
                return [], []  # not tied to a line we can leave out
            problems.append((index, str(exc)))
            start, end = _run_of_lines(lines, index)
            if start not in record_kinds:
                record_kinds[start] = end - start == 1 or _lines_stand_alone(task, lines, start, end, index, source)
            for i in [index] if record_kinds[start] else range(start, end):
                blank[i] = True
    raise InputError(f"{source}: more than {MAX_BAD_PUZZLES} bad puzzles; the first: {min(problems)[1]}")


def _run_of_lines(lines: list[str], index: int) -> tuple[int, int]:
    """``[start, end)`` of the non-blank lines around ``index`` in the original text."""
    start, end = index, index + 1
    while start > 0 and lines[start - 1].strip():
        start -= 1
    while end < len(lines) and lines[end].strip():
        end += 1
    return start, end


def _lines_stand_alone(task: Task, lines: list[str], start: int, end: int, bad: int, source: str) -> bool:
    """Whether some other line of ``lines[start:end]`` is a puzzle by itself (then each line is
    one puzzle, and a bad line is left out alone); a few tries decide."""
    for i in [i for i in range(start, end) if i != bad][:_STANDALONE_TRIES]:
        try:
            if len(task.spec.parse(lines[i], source)) == 1:
                return True
        except Exception:  # noqa: BLE001 - any failure means "not a puzzle on its own"
            continue
    return False


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """``["size=8", "name=x"]`` -> ``{"size": 8, "name": "x"}``; values are read as YAML scalars,
    a later key wins, and a missing ``=`` is a :class:`trmkit.ConfigError` (exit 2)."""
    return dict(parse_override(item) for item in items)


def emit_json(data: Any, line: bool = False) -> None:
    """Write ``data`` as indented JSON on stdout (numpy scalars and arrays become plain JSON);
    ``line``: as one compact line, for output that is a stream of JSON Lines."""
    layout: dict[str, Any] = {"separators": (",", ":")} if line else {"indent": 2}
    click.echo(json.dumps(data, default=_json_default, **layout))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def complete_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for TASK arguments: the installed task names."""
    return [name for name in plugins.registry().task_names() if name.startswith(incomplete)]


def task_argument(function: F) -> F:
    """The ``TASK`` argument (passed as ``task_name``), with shell completion of task names."""
    return click.argument("task_name", metavar="TASK", shell_complete=complete_task)(function)


def json_option(function: F) -> F:
    """``--json``: write the result as JSON on stdout (passed as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Write the result as JSON on stdout.")(function)


def sets_option(help: str) -> Callable[[F], F]:
    """``--set KEY=VALUE`` (repeatable, passed as ``sets``), with a help text per command."""
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=help)
