"""``trmkit tasks`` and ``trmkit plugins``: what is installed, and what is broken and why.

Both commands always exit 0 when they can list anything: a broken plugin is something to show,
not a reason to fail. Their tables are their results, on stdout (``--json`` for programs).
Neither imports torch.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table
from rich.text import Text

from .. import plugins
from ..errors import TrmkitError
from .common import emit_json, json_option, stderr, stdout

STATUS_STYLES = {"ok": "green", "failed": "bold red", "disabled": "yellow"}


def _resolve_all(registry: plugins.Registry) -> dict[str, str]:
    """Resolve every task's roles once, so that hooks that raise or return the wrong type are
    found (and their plugins marked failed) before anything is listed; returns errors by task."""
    errors = {}
    for name in registry.task_names():
        try:
            registry.task(name)
        except TrmkitError as exc:
            errors[name] = str(exc)
    return errors


@click.command("tasks")
@json_option
def tasks(as_json: bool) -> None:
    """List the installed tasks and the plugins that provide them.

    \b
    Examples:
      trmkit tasks
      trmkit tasks --json | jq '.[].name'
    """
    registry = plugins.registry()
    errors = _resolve_all(registry)
    rows: list[dict[str, Any]] = []
    for name in registry.task_names():
        entry = registry.tasks[name]
        spec = entry.spec
        rows.append(
            {
                "name": name,
                "summary": spec.summary,
                "vocab_size": spec.vocab_size,
                "seq_len": spec.seq_len,
                "grid_shape": list(spec.grid_shape),
                "formats": list(spec.formats),
                "plugin": entry.plugin.name,
                "distribution": entry.plugin.distribution,
                "version": entry.plugin.version,
                "status": "failed" if name in errors else "ok",
                "error": errors.get(name, ""),
            }
        )
    if as_json:
        emit_json(rows)
        return
    if not rows:
        stderr.print("No tasks installed. 'trmkit plugins' shows the plugins that were found.")
        return
    table = Table(title="trmkit tasks", title_justify="left", show_lines=True)
    for column in ("Task", "Summary", "Vocab", "Seq len", "Formats", "Plugin"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Task", "Vocab", "Seq len"))
    for row in rows:
        summary = Text(row["summary"])
        if row["error"]:
            summary = Text(row["error"], style=STATUS_STYLES["failed"])
        table.add_row(
            Text(row["name"], style="bold"),
            summary,
            str(row["vocab_size"]),
            str(row["seq_len"]),
            Text("\n".join(row["formats"])),
            Text(f"{row['distribution']} {row['version']}"),
        )
    stdout.print(table)


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List every plugin found, its status, and why any failed.

    For each plugin: distribution and version, status (ok, failed, disabled), the tasks it
    declares and the hooks it implements. A failed plugin shows its error; the others keep working. Block a plugin by entry-point or
    distribution name with TRMKIT_DISABLE_PLUGINS=name1,name2.

    \b
    Examples:
      trmkit plugins
      TRMKIT_DISABLE_PLUGINS=my-plugin trmkit plugins --json
    """
    registry = plugins.registry()
    _resolve_all(registry)
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "status": info.status,
            "tasks": list(info.tasks),
            "hooks": list(info.hooks),
            "error": info.error,
        }
        for info in registry.plugins
    ]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        stderr.print(f"No plugins found in the '{plugins.ENTRY_POINT_GROUP}' entry-point group.")
        return
    table = Table(title="trmkit plugins", title_justify="left", show_lines=True)
    for column in ("Plugin", "Distribution", "Version", "Status", "Tasks", "Hooks", "Error"):
        table.add_column(column, overflow="fold", no_wrap=column in ("Version", "Status"))
    for row in rows:
        table.add_row(
            Text(row["name"], style="bold"),
            Text(row["distribution"]),
            Text(row["version"]),
            Text(row["status"], style=STATUS_STYLES.get(row["status"], "")),
            Text(", ".join(row["tasks"])),
            Text(", ".join(hook.removeprefix("trmkit_") for hook in row["hooks"])),
            Text(row["error"], style="red"),
        )
    stdout.print(table)


COMMANDS = [tasks, plugins_command]
