"""The trmkit group and the helpers every command shares: errors, input, JSON, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

import trmkit
from trmkit.cli import main
from trmkit.cli import common


def invoke(*args: str, **kwargs) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), **kwargs)


def every_command(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


def test_version_names_the_plugin_api() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"trmkit {trmkit.__version__} (plugin API {trmkit.API_VERSION})"


@pytest.mark.parametrize("path", [(), *(path for path, _ in every_command())], ids=lambda p: " ".join(p) or "trmkit")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    assert "trmkit " in result.stdout.split("Example", 1)[1]


@pytest.fixture
def failing_command(monkeypatch: pytest.MonkeyPatch):
    """Adds ``trmkit fail KIND`` to the real group for the duration of a test."""

    @click.command("fail")
    @click.argument("kind")
    def fail(kind: str) -> None:
        if kind == "config":
            raise trmkit.ConfigError("unknown config key 'model.nn'\n(known here: n, T)")
        if kind == "input":
            raise trmkit.InputError("puzzles.txt:3: expected 81 cells")
        if kind == "unwritable":
            raise NotADirectoryError(20, "Not a directory", "p.txt/sub/data")
        if kind == "memory":
            raise MemoryError()
        if kind == "disk-full":  # met mid-write: the write names no file
            raise OSError(28, "No space left on device")
        if kind == "ctrl-c":
            raise KeyboardInterrupt
        if kind == "collective":  # raised inside torch.distributed, as when another process ends
            namespace: dict = {}
            exec(compile("def all_reduce():\n    raise RuntimeError('Connection closed by peer\\nat pair.cc')", "distributed_c10d.py", "exec"), namespace)
            namespace["all_reduce"]()
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(main.commands, "fail", fail)


@pytest.mark.parametrize(
    ("kind", "code", "line"),
    [
        ("config", 2, "Error: unknown config key 'model.nn' (known here: n, T)"),
        ("input", 1, "Error: puzzles.txt:3: expected 81 cells"),
        ("bug", 1, "Error: internal error: ZeroDivisionError: division by zero (rerun with --debug for the traceback)"),
        ("unwritable", 1, "Error: p.txt/sub/data: Not a directory"),  # e.g. --out under a file
        ("memory", 1, "Error: out of memory; ask for less (fewer examples, a smaller batch)"),
        ("disk-full", 1, "Error: system error: No space left on device (rerun with --debug for the traceback)"),
        ("collective", 1, "Error: lost contact with the other training processes (one of them stopped or failed: see its error): Connection closed by peer"),
    ],
)
def test_errors_are_one_line_on_stderr_with_their_exit_status(failing_command, kind: str, code: int, line: str) -> None:
    result = invoke("fail", kind)
    assert result.exit_code == code
    assert result.stderr.splitlines() == [line]
    assert result.stdout == ""


def test_ctrl_c_exits_130_quietly_as_a_shell_expects(failing_command) -> None:
    result = invoke("fail", "ctrl-c")
    assert result.exit_code == 130 and result.output == ""  # not click's "Aborted!" and status 1


def test_debug_shows_the_traceback_and_keeps_the_exit_status(failing_command) -> None:
    result = invoke("--debug", "fail", "config")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: unknown config key")


@pytest.mark.parametrize(
    "args",
    [
        ("--debug", "solve", "sudoku", "nonexistent.txt"),
        ("solve", "sudoku", "nonexistent.txt", "--debug"),  # where the error's hint puts it
        ("solve", "--debug", "sudoku", "nonexistent.txt"),
    ],
    ids=["before", "after", "between"],
)
def test_debug_is_taken_before_or_after_the_command(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: nonexistent.txt: no such file"


def test_debug_after_a_double_dash_is_an_argument(failing_command) -> None:
    result = invoke("fail", "--", "--debug")  # the kind "--debug": a bug, reported on one line
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: internal error: ZeroDivisionError: division by zero (rerun with --debug for the traceback)"
    ]


def test_usage_errors_stay_click_usage_errors() -> None:
    result = invoke("check", "latin")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_an_unknown_task_exits_2_and_lists_what_is_there(fake_task: str) -> None:
    result = invoke("config", "list", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("Error: unknown task 'nope' (available: arc, latin,")


def test_an_unknown_task_mentions_plugins_that_failed(dists) -> None:
    dists.add("trmkit-broken", {"broken": "trmkit_broken"}, {"trmkit_broken": "raise ImportError('no numpy')\n"})
    result = invoke("config", "list", "latin")
    assert result.exit_code == 2
    assert "plugins that failed to load: broken (see 'trmkit plugins')" in result.stderr


def test_importing_the_cli_and_listing_never_imports_torch() -> None:
    script = """
import sys
import trmkit.cli
assert "torch" not in sys.modules, "importing trmkit.cli imported torch"
for args in (["--help"], ["tasks"], ["plugins"], ["tasks", "--json"]):
    try:
        trmkit.cli.main(args, prog_name="trmkit")
    except SystemExit as exit:
        assert exit.code == 0, (args, exit.code)
    assert "torch" not in sys.modules, f"trmkit {' '.join(args)} imported torch"
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# -- helpers in trmkit.cli.common ------------------------------------------------------------------
def test_parse_sets_reads_typed_values_and_rejects_a_missing_equals() -> None:
    assert common.parse_sets(["a=1", "b=0.5", "c=true", "d=x=y", "e=", "a=2"]) == {
        "a": 2, "b": 0.5, "c": True, "d": "x=y", "e": "",
    }
    with pytest.raises(trmkit.ConfigError, match="key=value"):
        common.parse_sets(["train_size"])


def test_emit_json_writes_numpy_values_as_plain_json(capsys: pytest.CaptureFixture[str]) -> None:
    common.emit_json({"grid": np.arange(4).reshape(2, 2), "n": np.int64(3), "path": Path("a/b")})
    assert json.loads(capsys.readouterr().out) == {"grid": [[0, 1], [2, 3]], "n": 3, "path": "a/b"}


@pytest.fixture
def latin(fake_task: str) -> trmkit.Task:
    return trmkit.get_task(fake_task)


def test_read_puzzles_reads_files_and_stdin(latin: trmkit.Task, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(b"\xef\xbb\xbf# comment\n1234341221434321\n")  # a BOM is not part of the text
    (puzzle,) = common.read_puzzles(latin, path)
    assert puzzle.source == f"{path}:2" and puzzle.question[0].tolist() == [1, 2, 3, 4]
    with open(path) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)  # click reads the binary buffer underneath
        assert common.read_puzzles(latin, "-")[0].source == "<stdin>:2"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("dir", "is a directory, not a file"),
        (b"", "no puzzles found (formats of 'latin': 16-char line, puzzle,solution)"),
        (b"\xff\xfe12341234\n", "expected 16 cells"),
        (b"1234" * 40, "larger than 100 bytes"),
    ],
    ids=["missing", "directory", "empty", "not-utf8", "too-large"],
)
def test_read_puzzles_errors_are_input_errors_naming_the_file(
    latin: trmkit.Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content, message: str
) -> None:
    monkeypatch.setattr(common, "MAX_INPUT_BYTES", 100)
    path = tmp_path / "input.txt"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(trmkit.InputError, match="input.txt") as raised:
        common.read_puzzles(latin, path)
    assert message in str(raised.value)
