"""Pictures of training (curves from ``metrics.jsonl``) and of reasoning (a puzzle's answer at
every supervision step), as matplotlib Figures.

matplotlib is the ``plot`` extra; it is imported only here and only when a picture is drawn. The
functions build a :class:`matplotlib.figure.Figure` (no pyplot, no global state, no display
needed) and :func:`save_png` writes it atomically, so tests can inspect what a picture shows and
a crash never leaves half a PNG. Grids are drawn from the task's plain text rendering, so any
task whose rendering is a block of equal-length lines gets pictures without plotting code of its
own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import atomic_write
from .errors import InputError
from .extras import require
from .task import Puzzle, Task

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

METRICS_FILE = "metrics.jsonl"  # the name trmkit.train writes (not imported from it: it needs torch)
#: Grids up to this many cells a side show their characters; larger ones (mazes) show colours.
TEXT_CELLS = 16
#: Step panels per row of a trajectory picture.
STEP_COLUMNS = 8
CHANGED_COLOR = "#d62728"
GIVEN_COLOR = "#e3e3e3"


def matplotlib_figure() -> type[Figure]:
    """matplotlib's Figure class, or a clear error naming the extra that provides it."""
    return require("matplotlib.figure", "plot", "drawing pictures").Figure


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` as a PNG, atomically."""
    path = Path(path)
    try:
        atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=110))
    except FileNotFoundError:
        raise InputError(f"{path}: its directory does not exist") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


# -- training curves ----------------------------------------------------------------------------
def read_metrics(run_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A run's logged training steps and evaluations (``{"step", **eval}``), in order."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise InputError(f"{run_dir}: no {METRICS_FILE} there (is it a run directory of 'trmkit train'?)")
    steps, evaluations = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.readlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines) and not line.endswith("\n"):
                break  # a line cut short by a crash mid-write: the records before it stand
            raise InputError(f"{path}:{number}: not a JSON line") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: not a JSON object")
        if isinstance(record.get("eval"), dict):
            evaluations.append({"step": record.get("step"), **record["eval"]})
        elif "step" in record:
            steps.append(record)
    if not steps:
        raise InputError(f"{path}: no training steps logged yet")
    return steps, evaluations


#: The four panels of the training picture: (y label, [(metrics key, legend label)]).
TRAINING_PANELS = (
    ("loss (per example)", [("loss", "total"), ("lm_loss", "answer"), ("q_halt_loss", "halting")]),
    ("accuracy", [("accuracy", "train token"), ("exact_accuracy", "train exact")]),
    ("supervision steps", [("steps", "train, mean steps at halting")]),
    ("learning rate", [("lr", "learning rate")]),
)
#: Training metrics averaged over the samples that halted at that step: a step where none halted
#: logs 0 for them, which is no measurement, so such points are left out.
PER_HALTED = {"accuracy", "exact_accuracy", "q_halt_accuracy", "steps"}
#: Held-out evaluations drawn as markers on the accuracy and halting panels.
EVAL_SERIES = {
    "accuracy": [
        ("token_accuracy", "held-out token"), ("exact_accuracy", "held-out exact (all steps)"), ("adaptive_exact_accuracy", "held-out exact (adaptive)"),
        ("pass@2", "held-out pass@2 (votes)"),  # tasks that vote (ARC): the reference's headline
    ],
    "supervision steps": [("adaptive_mean_steps", "held-out, adaptive halting")],
}


def training_figure(steps: list[dict[str, Any]], evaluations: list[dict[str, Any]], title: str = "") -> Figure:
    """Loss, exact and token accuracy, halting steps and learning rate against the optimizer step."""
    figure = matplotlib_figure()(figsize=(11, 7.5), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True).reshape(-1)
    for ax, (label, series) in zip(axes, TRAINING_PANELS):
        for key, name in series:
            _line(ax, steps, key, name, marker=None)
        for key, name in EVAL_SERIES.get(label, []):
            _line(ax, evaluations, key, name, marker="o")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    axes[1].set_ylim(-0.02, 1.02)
    for ax in axes[2:]:
        ax.set_xlabel("optimizer step")
    figure.suptitle(title or "training")
    return figure


def _line(ax: Axes, records: list[dict[str, Any]], key: str, label: str, marker: str | None) -> None:
    points = [
        (record["step"], record[key])
        for record in records
        if isinstance(record.get(key), (int, float)) and not (key in PER_HALTED and record.get("halted") == 0)
    ]
    if points:
        xs, ys = zip(*points)
        ax.plot(xs, ys, label=label, marker=marker, linewidth=1.2 if marker is None else 1.0, markersize=4)


# -- reasoning: one puzzle, every supervision step ----------------------------------------------
def character_grid(task: Task, grid: Any) -> list[str]:
    """The task's plain rendering of ``grid`` as rows of characters (one character a cell)."""
    rows = task.decoder.render(grid, color=False).splitlines()
    if not rows or len({len(row) for row in rows}) != 1:
        raise InputError(f"task '{task.name}' does not render its grids as equal-length lines, so they cannot be drawn")
    return rows


def changed_cells(before: list[str], after: list[str]) -> list[tuple[int, int]]:
    """(row, column) of every cell whose character differs between two renderings."""
    return [(r, c) for r, (old, new) in enumerate(zip(before, after)) for c, (a, b) in enumerate(zip(old, new)) if a != b]


def trajectory_figure(task: Task, puzzle: Puzzle, record: dict[str, Any], threshold: float = 0.0) -> Figure:
    """The answer at every supervision step of ``record`` (a ``trmkit solve`` result with a
    trajectory), cells changed since the previous step outlined in red, and below, the
    model's confidence (sigmoid of q_halt) and the number of changed cells per step, with the
    confidence at which adaptive halting stops: sigmoid of ``threshold``, the q_halt the solve
    halted above."""
    trajectory = record["trajectory"]
    if not trajectory:
        raise InputError(f"{puzzle.source}: no supervision steps to draw")
    question = character_grid(task, puzzle.question)
    grids = [character_grid(task, entry["answer"]) for entry in trajectory]
    changes = [[]] + [changed_cells(before, after) for before, after in zip(grids, grids[1:])]
    confidences = [_sigmoid(entry["q_hat"]) for entry in trajectory]

    columns = min(len(trajectory), STEP_COLUMNS)
    rows = math.ceil(len(trajectory) / columns)
    figure = matplotlib_figure()(figsize=(2.3 * max(columns, 3), 2.5 * rows + 2.4), layout="constrained")
    layout = figure.add_gridspec(rows + 1, columns, height_ratios=[1.0] * rows + [0.8])
    colours = _character_colours(question, grids)
    for index, (entry, grid, changed) in enumerate(zip(trajectory, grids, changes)):
        ax = figure.add_subplot(layout[index // columns, index % columns])
        _draw_grid(ax, question, grid, changed, colours)
        note = "first answer" if index == 0 else f"{len(changed)} changed"
        ax.set_title(f"step {entry['step']}: {note}\nconfidence {confidences[index]:.3f}", fontsize=9)

    steps = [entry["step"] for entry in trajectory]
    ax = figure.add_subplot(layout[rows, :])
    ax.plot(steps, confidences, marker="o", color="#1f77b4", label="confidence")
    halting = _sigmoid(threshold)
    ax.axhline(halting, linestyle="--", color="grey", linewidth=1, label=f"halting threshold ({halting:.3f})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("supervision step")
    ax.set_ylabel("confidence")
    ax.set_xticks(steps)
    twin = ax.twinx()
    twin.bar(steps[1:], [len(changed) for changed in changes[1:]], alpha=0.25, color=CHANGED_COLOR, label="cells changed")
    twin.set_ylabel("cells changed")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="center right")
    verdict = "solved" if record.get("valid") else f"not solved ({record.get('reason', '')})"
    figure.suptitle(f"{puzzle.source}: {verdict}, {len(trajectory)} supervision step{'' if len(trajectory) == 1 else 's'}")
    return figure


def _character_colours(question: list[str], grids: list[list[str]]) -> dict[str, Any]:
    """A pale colour per character, for grids too large to print characters in."""
    from matplotlib import colormaps

    characters = sorted({ch for grid in [question, *grids] for row in grid for ch in row})
    palette = colormaps["Pastel1"]
    return {ch: palette(i % palette.N) for i, ch in enumerate(characters)}


def _draw_grid(ax: Axes, question: list[str], grid: list[str], changed: list[tuple[int, int]], colours: dict[str, Any]) -> None:
    """One step's grid: characters (small grids; cells kept from the question shaded) or colours
    by character (large grids); changed cells outlined in red."""
    from matplotlib.patches import Rectangle

    height, width = len(grid), len(grid[0])
    with_text = max(height, width) <= TEXT_CELLS
    changed_set = set(changed)
    for r, row in enumerate(grid):
        for c, ch in enumerate(row):
            if with_text:
                kept = r < len(question) and c < len(question[r]) and question[r][c] == ch
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=GIVEN_COLOR if kept else "white", edgecolor="none"))
                ax.text(c + 0.5, r + 0.5, ch, ha="center", va="center", fontsize=8,
                        color=CHANGED_COLOR if (r, c) in changed_set else "black",
                        fontweight="bold" if (r, c) in changed_set else "normal")
            else:
                ax.add_patch(Rectangle((c, r), 1, 1, facecolor=colours[ch], edgecolor="none"))
    for r, c in changed:
        ax.add_patch(Rectangle((c + 0.05, r + 0.05), 0.9, 0.9, fill=False, edgecolor=CHANGED_COLOR, linewidth=1.5, gid="changed"))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _sigmoid(value: float) -> float:
    """The logistic function, for any value (``1 / (1 + exp(-x))`` overflows below about -710)."""
    return 0.5 * (1.0 + math.tanh(float(value) / 2.0))
