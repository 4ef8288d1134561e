"""``trmkit plot``: training curves of a run, drawn from its metrics log to a PNG."""

from __future__ import annotations

from pathlib import Path

import click

from .common import stderr


@click.command("plot")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None, help="PNG to write [default: RUN_DIR/training.png].")
def plot(run_dir: Path, out: Path | None) -> None:
    """Draw RUN_DIR's training curves (loss, exact and token accuracy, halting steps, learning
    rate) from its metrics.jsonl to a PNG, with the held-out evaluations as markers. Prints the
    PNG's path. Needs matplotlib: pip install 'trmkit[plot]'.

    \b
    Examples:
      trmkit plot runs/sudoku-small
      trmkit plot runs/sudoku-small --out curves.png
    """
    from ..plots import read_metrics, save_png, training_figure

    steps, evaluations = read_metrics(run_dir)
    target = out or run_dir / "training.png"
    save_png(training_figure(steps, evaluations, title=f"{run_dir}: {steps[-1]['step']} steps"), target)
    stderr.print(f"drew {len(steps)} logged steps and {len(evaluations)} evaluations")
    click.echo(str(target))


COMMANDS = [plot]
