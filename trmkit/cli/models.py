"""``trmkit models``: the trained models at hand, shipped with task plugins and trained here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from .. import models as found
from .. import plugins
from .common import complete_task, emit_json, json_option, load_task, stderr, stdout


@click.command("models")
@click.argument("task_name", metavar="[TASK]", required=False, default=None, shell_complete=complete_task)
@click.option("--dir", "root", type=click.Path(path_type=Path), default=Path("runs"), show_default=True, help="Where to look for local runs and model folders.")
@json_option
def models_command(task_name: str | None, root: Path, as_json: bool) -> None:
    """List trained models: the ones task plugins ship, and local runs under --dir.

    A bundled model is used by 'trmkit solve TASK PUZZLE' when no --model is given (the one
    marked default), or by name with --model NAME. Its accuracy is what its card says was
    measured on held-out puzzles (the card names the command that measures it again).

    \b
    Examples:
      trmkit models
      trmkit models sudoku --dir /data/runs
      trmkit models --json
    """
    names = [task_name] if task_name else plugins.registry().task_names()
    bundled = [model for name in names for model in found.bundled_models(load_task(name))]
    local = [model for model in found.local_models(root) if task_name in (None, model.task)]
    if as_json:
        emit_json({"bundled": [_bundled_record(model) for model in bundled], "local": [_local_record(model) for model in local]})
        return
    _bundled_table(bundled)
    _local_table(local, root)


def _bundled_record(model: found.BundledModel) -> dict[str, Any]:
    return {"task": model.task, "name": model.name, "default": model.is_default, "path": str(model.folder), "card": model.card}


def _local_record(model: found.LocalModel) -> dict[str, Any]:
    return {"task": model.task, "path": str(model.path), "step": model.step, "last_eval": model.last_eval}


def _bundled_table(bundled: list[found.BundledModel]) -> None:
    if not bundled:
        stderr.print("No bundled models in the installed task plugins.")
        return
    table = Table(title="bundled models", title_justify="left", show_lines=True)
    for column in ("Task", "Name", "Summary", "Held-out exact accuracy", "Steps"):
        table.add_column(column, overflow="fold")
    for model in bundled:
        name = f"{model.name} (default)" if model.is_default else model.name
        accuracy = model.accuracy_line().replace("; ", "\n")
        table.add_row(model.task, name, model.card["summary"], accuracy, str(model.card["steps"]))
    stdout.print(table)


def _local_table(local: list[found.LocalModel], root: Path) -> None:
    if not local:
        stderr.print(f"No local models under {root}.")
        return
    table = Table(title=f"local models under {root}", title_justify="left")
    for column in ("Task", "Path", "Step", "Last eval (exact / token)"):
        table.add_column(column, overflow="fold")
    for model in local:
        last = model.last_eval
        scores = f"{last['exact_accuracy']:.4f} / {last['token_accuracy']:.4f} @ {last['step']}" if "exact_accuracy" in last else "-"
        table.add_row(model.task, str(model.path), str(model.step), scores)
    stdout.print(table)


COMMANDS = [models_command]
