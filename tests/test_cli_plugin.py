"""``trmkit install`` and ``uninstall`` run pip with trmkit's own interpreter (pip itself is
stood in for here; tests/test_scaffold.py runs the real one in a throwaway environment)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner

from trmkit.cli import main
from trmkit.cli import plugin as plugin_cli


class FakePip:
    def __init__(self, status: int = 0) -> None:
        self.status = status
        self.calls: list[list[str]] = []

    def __call__(self, command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        pip = command[1:3] == ["-m", "pip"]
        return subprocess.CompletedProcess(command, self.status if pip else 0, "pip says hello\n" if pip else "tasks table\n")


@pytest.fixture
def pip(monkeypatch: pytest.MonkeyPatch) -> FakePip:
    fake = FakePip()
    monkeypatch.setattr(plugin_cli.subprocess, "run", fake)
    return fake


def test_install_passes_everything_to_pip_in_trmkits_interpreter(pip: FakePip) -> None:
    result = CliRunner().invoke(main, ["install", "-e", "./trmkit-light-up", "--no-deps"])
    assert result.exit_code == 0, result.output
    assert pip.calls[0] == [sys.executable, "-m", "pip", "install", "-e", "./trmkit-light-up", "--no-deps"]
    assert pip.calls[1] == [sys.executable, "-m", "trmkit", "tasks"]  # lists tasks in a fresh process
    assert result.stdout == "" and "pip says hello" in result.stderr
    assert "tasks table" in result.stderr  # the listing is a log of the install here


def test_uninstall_says_yes_for_the_user(pip: FakePip) -> None:
    assert CliRunner().invoke(main, ["uninstall", "trmkit-light-up"]).exit_code == 0
    assert pip.calls == [[sys.executable, "-m", "pip", "uninstall", "--yes", "trmkit-light-up"]]


def test_a_pip_failure_is_one_line_and_exit_1(pip: FakePip) -> None:
    pip.status = 1
    result = CliRunner().invoke(main, ["install", "trmkit-nowhere"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: pip could not install trmkit-nowhere (exit status 1; its messages are above)"
    )


@pytest.mark.parametrize("name", ["trmkit", "TrmKit", "trmkit "])
def test_uninstalling_trmkit_itself_is_refused(pip: FakePip, name: str) -> None:
    result = CliRunner().invoke(main, ["uninstall", name])
    assert result.exit_code == 2 and "uninstall trmkit itself" in result.stderr and pip.calls == []


def test_install_needs_something_to_install(pip: FakePip) -> None:
    assert CliRunner().invoke(main, ["install"]).exit_code == 2 and pip.calls == []
