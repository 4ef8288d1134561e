"""``trmkit config show`` and ``trmkit config list``: the named configs of a task, resolved."""

from __future__ import annotations

import click
import yaml

from .. import config as configuration
from .common import load_task, sets_option, task_argument


@click.group("config")
def config() -> None:
    """Show and list a task's named configs.

    \b
    Examples:
      trmkit config list sudoku
      trmkit config show sudoku --config small --set model.n=4
    """


@config.command("show")
@task_argument
@click.option(
    "--config", "-c", "name", default="paper", show_default=True, metavar="NAME|PATH",
    help="A config of the task (see 'trmkit config list') or a YAML file.",
)
@sets_option("Override one setting, e.g. --set train.lr=3e-4 or --set data.options.num_train=100 (repeatable).")
def show(task_name: str, name: str, sets: tuple[str, ...]) -> None:
    """Print TASK's config NAME, with overrides applied, as YAML on stdout.

    Unknown keys and values of the wrong type are errors that name the key. The output is a
    complete config: save it, edit it, and pass the file back with --config.

    \b
    Examples:
      trmkit config show sudoku
      trmkit config show sudoku --config tiny --set model.mixer=attention > my.yaml
      trmkit config show sudoku --config my.yaml
    """
    task = load_task(task_name)
    resolved = configuration.load_config(task, name, list(sets))
    task.dataset_options(resolved.data.options)  # builder options are the task's: check them now
    source = configuration.config_path(task, name)
    click.echo(f"# trmkit config of task '{task.name}' from {source}; effective depth {resolved.effective_depth}")
    click.echo(yaml.safe_dump(resolved.to_dict(), sort_keys=False), nl=False)


@config.command("list")
@task_argument
def list_configs(task_name: str) -> None:
    """List TASK's named configs, one per line on stdout.

    \b
    Example:
      trmkit config list sudoku
    """
    task = load_task(task_name)
    for name in configuration.config_names(task):
        click.echo(name)


COMMANDS = [config]
