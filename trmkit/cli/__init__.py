"""The ``trmkit`` command line: a click group whose commands live in small modules.

To add commands, write ``trmkit/cli/<module>.py`` defining ``COMMANDS`` (a list of click commands
or groups) and add the module's name to :data:`COMMAND_MODULES`. Errors need no handling in the
command: the group reports them (see :mod:`trmkit.cli.common`). A command module must not import
torch at module level (import it inside the command), because every module is imported for
``trmkit --help``; ``tests/test_cli_basics.py`` checks this.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from .. import __version__
from ..task import API_VERSION
from .common import reported_errors

#: Modules of :mod:`trmkit.cli` whose ``COMMANDS`` the group registers, in this order.
COMMAND_MODULES = ("tasks", "check", "data", "config", "train", "solve", "convert", "models", "plot", "plugin")


class TrmkitGroup(click.Group):
    """A group that reports every command's errors as one line (tracebacks with ``--debug``).

    ``--debug`` may come anywhere before a ``--``, after the command too (``trmkit solve sudoku
    p.txt --debug``, as the error's hint invites): it is always the group's flag.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[:end]:
            args = ["--debug", *(arg for arg in args[:end] if arg != "--debug"), *args[end:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with reported_errors(debug=bool(ctx.params.get("debug"))):
            return super().invoke(ctx)


@click.group(cls=TrmkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="trmkit", message=f"%(prog)s %(version)s (plugin API {API_VERSION})"
)
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
def main(debug: bool) -> None:
    """trmkit: Tiny Recursive Models with task plugins.

    Results go to stdout (the tables of tasks, plugins and models too), logs and progress to
    stderr.

    \b
    Examples:
      trmkit tasks                                  # installed tasks
      trmkit plugins                                # plugins, and why any failed
      trmkit check sudoku puzzles.txt answers.txt   # validate solutions
      trmkit data build sudoku --out data/sudoku --set num_train=1000
    """


def _register(group: click.Group, module_names: tuple[str, ...]) -> None:
    for module_name in module_names:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for command in module.COMMANDS:
            group.add_command(command)


_register(main, COMMAND_MODULES)
