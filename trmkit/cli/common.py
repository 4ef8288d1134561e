"""What every trmkit command shares: the consoles, error reporting, task lookup, input, JSON.

Conventions the commands follow, so that trmkit composes in pipes:

- results (verdicts, solutions, summaries, ``--json``) go to stdout with :func:`click.echo`;
- logs, progress, and tables and grids for people go to :data:`stderr` (a rich Console);
- a :class:`trmkit.TrmkitError` becomes ``Error: <one line>`` on stderr and its ``exit_code``
  (2 for configuration and unknown-task errors, 1 otherwise); any other exception becomes one
  ``Error: internal error: ...`` line (exit 1) unless ``--debug`` asks for the traceback.

Nothing here imports torch: ``trmkit --help``, ``tasks`` and ``plugins`` must stay fast.
"""

from __future__ import annotations

import json
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
from ..errors import InputError, TrmkitError, UnknownTaskError
from ..task import Puzzle, Task

#: Logs, progress and human-facing tables. Rich resolves ``sys.stderr`` on every write, so
#: click's test runner captures it too.
stderr = Console(stderr=True, highlight=False)

#: Largest puzzle or solution file read into memory (checked at call time, so tests may lower it).
MAX_INPUT_BYTES = 64 * 1024 * 1024

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
    except TrmkitError as exc:
        if debug:
            traceback.print_exc()
        raise CommandError(str(exc) or type(exc).__name__, exc.exit_code) from exc
    except Exception as exc:
        if debug:
            traceback.print_exc()
            raise CommandError(f"internal error: {type(exc).__name__}: {exc}") from exc
        raise CommandError(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        ) from exc


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


def read_puzzles(task: Task, path: str | Path, limit: int | None = None) -> list[Puzzle]:
    """Every puzzle in ``path`` (``-`` is stdin), parsed by the task's parser.

    An empty file is an error: a command given no puzzles has nothing to do, and saying so is
    clearer than printing nothing.
    """
    text, source = read_text(path, limit)
    try:
        puzzles = list(task.spec.parse(text, source))
    except ValueError as exc:  # a parser that skipped its own InputError still gets one line
        raise InputError(f"{source}: {exc}") from None
    if not puzzles:
        raise InputError(f"{source}: no puzzles found (formats of '{task.name}': {', '.join(task.spec.formats)})")
    return puzzles


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """``["size=8", "name=x"]`` -> ``{"size": 8, "name": "x"}``; values are read as YAML scalars,
    a later key wins, and a missing ``=`` is a :class:`trmkit.ConfigError` (exit 2)."""
    return dict(parse_override(item) for item in items)


def emit_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout (numpy scalars and arrays become plain JSON)."""
    click.echo(json.dumps(data, indent=2, default=_json_default))


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
