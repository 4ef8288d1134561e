"""``trmkit data build``: write a task's dataset (base examples only; augmentation is on the fly)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import click

from .. import dataset
from ..errors import InputError
from .common import emit_json, json_option, load_task, parse_sets, sets_option, stderr, task_argument


@click.group("data")
def data() -> None:
    """Build datasets of a task.

    \b
    Example:
      trmkit data build sudoku --out data/sudoku --seed 0
    """


def _check_output(directory: Path, force: bool) -> None:
    """Refuse to write into a directory holding other files, unless forced: a wrong ``--out``
    must not scatter dataset files among someone's data. A dataset directory may be rebuilt."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise InputError(f"{directory}: exists and is not a directory")
    if force or (directory / "manifest.json").is_file() or not any(directory.iterdir()):
        return
    raise InputError(f"{directory}: not empty and not a trmkit dataset; choose another --out or pass --force")


@data.command("build", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@task_argument
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path), help="Directory to write.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the dataset builder.")
@sets_option("A dataset-builder option of the task, e.g. --set num_train=100 (repeatable).")
@click.option("--force", is_flag=True, help="Write into a non-empty directory that holds no dataset.")
@json_option
@click.pass_context
def build(ctx: click.Context, task_name: str, out: Path, seed: int, sets: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Build TASK's dataset into --out: token arrays per split and a manifest with checksums.

    The options a task's builder takes are its own ('--set nope=1' lists them); each can also be
    given as '--name VALUE' ('--test-set x' sets test_set). Warnings of the builder (e.g. subsets
    that overlap) go to stderr. Rebuilding into an existing dataset directory replaces it.

    \b
    Examples:
      trmkit data build sudoku --out data/sudoku
      trmkit data build sudoku --out data/sudoku-small --seed 1 --set num_train=100
      trmkit data build arc --out data/arc2 --subsets training2,evaluation2 --test-set evaluation2
    """
    task = load_task(task_name)
    options = task.dataset_options({**parse_sets(sets), **option_arguments(ctx.args)})
    _check_output(out, force)
    started = time.perf_counter()
    with stderr.status(f"building the {task.name} dataset (seed {seed})"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = dataset.build(task, options, seed)
        try:
            dataset.save(built, out)
        except OSError as exc:
            raise InputError(f"{out}: cannot write the dataset ({exc.strerror or exc})") from None
    for warning in caught:
        stderr.print(f"[yellow]warning:[/] {warning.message}")
    manifest = built.manifest
    stderr.print(f"built the {task.name} dataset in {time.perf_counter() - started:.1f} s")
    if as_json:
        emit_json(
            {
                "directory": str(out),
                "task": task.name,
                "seed": seed,
                "counts": manifest["counts"],
                "seq_len": manifest["seq_len"],
                "vocab_size": manifest["vocab_size"],
                "options": manifest["builder_options"],
            }
        )
        return
    counts = ", ".join(f"{split} {count}" for split, count in manifest["counts"].items())
    click.echo(f"{out}: {task.name} dataset, {counts} examples (seq_len {manifest['seq_len']})")


def option_arguments(args: list[str]) -> dict[str, str]:
    """Builder options written as ``--name VALUE`` or ``--name=VALUE`` (dashes become
    underscores); anything else is a usage error."""
    values: dict[str, str] = {}
    items = iter(args)
    for item in items:
        if not item.startswith("--") or len(item) < 3:
            raise click.UsageError(f"unexpected argument {item!r} (builder options are --name VALUE or --set name=VALUE)")
        name, sep, value = item[2:].partition("=")
        if not sep:
            value = next(items, None)
            if value is None:
                raise click.UsageError(f"option --{name} needs a value")
        values[name.replace("-", "_")] = value
    return values


COMMANDS = [data]
