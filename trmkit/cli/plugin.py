"""``trmkit plugin new``, ``trmkit install`` and ``trmkit uninstall``: a task plugin's life.

``install`` and ``uninstall`` run pip with the interpreter trmkit itself runs in
(``sys.executable -m pip``), so a plugin lands where this trmkit finds it, whatever ``pip`` on
the PATH points at. pip's messages are logs: they go to stderr.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import click

from .. import scaffold
from ..errors import PluginError
from ..plugins import canonical
from .common import stderr


@click.group("plugin")
def plugin_group() -> None:
    """Write task plugins.

    \b
    Examples:
      trmkit plugin new light_up                    # ./trmkit-light-up/, tests passing
      trmkit plugin new light_up --dir ~/src
    """


@plugin_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True, help="Folder to create the plugin's folder trmkit-NAME in.")
def new(name: str, directory: Path) -> None:
    """Write a working plugin for the task NAME, in the shape of trmkit's Nonogram example.

    NAME is lowercase letters and digits, words joined by '_'. The plugin starts as a small
    working puzzle (a parity grid) whose tests pass at once; replace it module by module. Prints
    the new folder on stdout.

    \b
    Examples:
      trmkit plugin new light_up && cd trmkit-light-up && trmkit install -e . && python -m pytest
    """
    target = scaffold.create(name, directory)
    click.echo(str(target))
    stderr.print(
        f"wrote the '{name}' task plugin; next: cd {shlex.quote(str(target))} && trmkit install -e . && python -m pytest"
    )


def run_pip(arguments: list[str], what: str) -> None:
    """Run pip in trmkit's own environment, its output on stderr; a failure is one error line."""
    command = [sys.executable, "-m", "pip", *arguments]
    stderr.print(f"running: {shlex.join(command)}")
    result = run_on_stderr(command)
    if result.returncode != 0:
        raise PluginError(f"pip could not {what} (exit status {result.returncode}; its messages are above)")


def run_on_stderr(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with all its output on stderr, where logs go."""
    try:
        output: dict = {"stdout": sys.stderr.fileno()}  # shows as it happens
    except (AttributeError, OSError, ValueError):  # stderr is not a file (captured, as in tests)
        output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    result = subprocess.run(command, check=False, **output)
    if result.stdout:
        click.echo(result.stdout, err=True, nl=False)
    return result


@click.command("install", context_settings={"ignore_unknown_options": True})
@click.argument("pip_arguments", nargs=-1, required=True, type=click.UNPROCESSED, metavar="REQUIREMENT [PIP_OPTIONS]...")
def install(pip_arguments: tuple[str, ...]) -> None:
    """Install a plugin with pip in trmkit's own environment, then list the installed tasks.

    The arguments go to 'pip install' as they are: a name, a path or a URL, and any of pip's
    options.

    \b
    Examples:
      trmkit install trmkit-nonogram
      trmkit install ./trmkit-light-up --no-deps
      trmkit install -e ./trmkit-light-up
    """
    run_pip(["install", *pip_arguments], f"install {' '.join(pip_arguments)}")
    # A fresh interpreter: this one has cached the plugins it found when it started. Its table
    # is a log of the install here, not a result: on stderr.
    run_on_stderr([sys.executable, "-m", "trmkit", "tasks"])


@click.command("uninstall")
@click.argument("distribution")
def uninstall(distribution: str) -> None:
    """Uninstall the plugin DISTRIBUTION (its pip name) from trmkit's own environment.

    \b
    Examples:
      trmkit uninstall trmkit-nonogram
    """
    if canonical(distribution) == "trmkit":
        raise click.UsageError("this would uninstall trmkit itself; use pip for that")
    run_pip(["uninstall", "--yes", distribution], f"uninstall {distribution}")


COMMANDS = [plugin_group, install, uninstall]
