"""``trmkit convert official``: turn a checkpoint of the official TRM code into a trmkit model.

torch is imported inside the command (through :mod:`trmkit.convert`), never at module level, so
``trmkit --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, json_option, load_task, parse_sets, sets_option, stderr


@click.group("convert")
def convert() -> None:
    """Convert models trained by other code into trmkit checkpoints.

    \b
    Example:
      trmkit convert official checkpoints/run/step_65100 --out models/sudoku-mlp --task sudoku
    """


@convert.command("official")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path), help="Checkpoint folder to write.")
@click.option("--task", "task_name", default=None, metavar="NAME", help="The trmkit task the model is for (its vocabulary must match); 'trmkit solve' and 'eval' use only models that name their task.")
@click.option(
    "--config", "config_path", default=None, type=click.Path(path_type=Path), metavar="PATH",
    help="The run's all_config.yaml [default: the one beside CHECKPOINT].",
)
@sets_option("Set a trmkit setting of the converted model, e.g. --set model.seq_len=900 or --set model.n=4 (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite a model already in --out, or write into a non-empty folder.")
@json_option
def official(
    checkpoint: Path, out: Path, task_name: str | None, config_path: Path | None, sets: tuple[str, ...], force: bool,
    as_json: bool,
) -> None:
    """Convert CHECKPOINT, saved by the official TinyRecursiveModels pretrain.py, into --out.

    CHECKPOINT is a 'step_<N>' file: a plain state dict of tensors. It is read with torch's
    weights-only loader, so a file that would run code is refused. The architecture comes from
    the all_config.yaml the official run wrote beside it (or --config); the sizes from the
    weights; the sequence length of an attention model from the run's dataset.json, the --task,
    or --set model.seq_len=N. Without any all_config.yaml the official arch/trm.yaml settings are
    assumed and a warning says which. Prints the folder written; load it with
    TRM.from_pretrained(folder) or --model.

    \b
    Examples:
      trmkit convert official runs/sudoku-mlp/step_65100 --out models/sudoku-mlp --task sudoku
      trmkit convert official step_72000 --config all_config.yaml --out models/maze --task maze
      trmkit convert official step_65100 --out models/sudoku --task sudoku --set model.n=6 --json
    """
    from .. import convert as converter

    overrides = parse_sets(sets)
    if task_name is not None:
        task_name = load_task(task_name).name
    result = converter.convert_official(
        checkpoint, out, task=task_name, config_path=config_path, overrides=overrides, force=force
    )
    for note in result.notes:
        stderr.print(f"[yellow]warning:[/] {note}")
    model = result.config.model
    stderr.print(
        f"converted {checkpoint} (step {result.step}): {model.mixer}, hidden {model.hidden_size}, "
        f"T={model.T}, n={model.n}, {result.parameters:,} parameters"
    )
    if as_json:
        emit_json(
            {
                "out": str(result.path),
                "task": result.config.task,
                "step": result.step,
                "parameters": result.parameters,
                "model": result.config.to_dict()["model"],
                "notes": result.notes,
            }
        )
    else:
        click.echo(str(result.path))


COMMANDS = [convert]
