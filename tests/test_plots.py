"""Pictures: training curves and a puzzle's reasoning steps show what they say; missing extras
are one clear line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import trmkit
from trmkit import Puzzle, get_task
from trmkit.cli import main

pytest.importorskip("matplotlib", reason="the plot extra is not installed (pip install 'trmkit[plot]')")

from trmkit import plots  # noqa: E402  (needs matplotlib)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PUZZLE = "530070000600195000098000060800060003400803001700020006060000280000419005000080079"
SOLUTION = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


def grid(text: str) -> np.ndarray:
    return np.array([int(c) for c in text], dtype=np.int8).reshape(9, 9)


def write_run(run_dir: Path, steps: int = 50) -> None:
    """A metrics.jsonl as trmkit.train writes it: a record every 10 steps, an eval every 20."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for step in range(10, steps + 1, 10):
        halted = 0 if step == 30 else 64  # at step 30 nothing halted: accuracy/steps are no data
        lines.append({"step": step, "lr": 1e-3 * min(1, step / 20), "loss": 2.0 / step, "lm_loss": 1.5 / step, "q_halt_loss": 0.5 / step,
                      "halted": halted, "accuracy": 0.5 + step / 200 if halted else 0.0, "exact_accuracy": step / 100 if halted else 0.0,
                      "q_halt_accuracy": 0.9 if halted else 0.0, "steps": 8.0 - step / 10 if halted else 0.0, "examples_per_s": 100.0, "elapsed_s": step / 10})
        if step % 20 == 0:
            lines.append({"step": step, "eval": {"examples": 100, "exact_accuracy": step / 100, "token_accuracy": 0.9, "adaptive_exact_accuracy": step / 110,
                                                 "adaptive_mean_steps": 3.0, "q_halt_accuracy": 0.8, "valid_accuracy": step / 100}})
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_training_figure_has_the_four_panels_with_their_curves(tmp_path: Path) -> None:
    write_run(tmp_path / "run")
    steps, evaluations = plots.read_metrics(tmp_path / "run")
    assert [s["step"] for s in steps] == [10, 20, 30, 40, 50] and [e["step"] for e in evaluations] == [20, 40]
    figure = plots.training_figure(steps, evaluations, title="my run")
    axes = figure.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss (per example)", "accuracy", "supervision steps", "learning rate"]
    assert [ax.get_xlabel() for ax in axes[2:]] == ["optimizer step", "optimizer step"]
    assert figure._suptitle.get_text() == "my run"
    lines = {ax.get_ylabel(): {line.get_label(): line for line in ax.get_lines()} for ax in axes}
    assert set(lines["loss (per example)"]) == {"total", "answer", "halting"}
    assert set(lines["accuracy"]) == {"train token", "train exact", "held-out token", "held-out exact (all steps)", "held-out exact (adaptive)"}
    # the step where nothing halted is no measurement of accuracy: left out, not drawn as 0
    assert list(lines["accuracy"]["train exact"].get_xdata()) == [10, 20, 40, 50]
    assert list(lines["loss (per example)"]["total"].get_xdata()) == [10, 20, 30, 40, 50]
    assert list(lines["accuracy"]["held-out exact (all steps)"].get_ydata()) == [0.2, 0.4]
    assert list(lines["supervision steps"]["held-out, adaptive halting"].get_xdata()) == [20, 40]
    assert lines["learning rate"]["learning rate"].get_ydata()[-1] == pytest.approx(1e-3)


def test_a_voting_tasks_pass_at_2_is_drawn_with_the_held_out_accuracies() -> None:
    steps = [{"step": 10, "loss": 1.0, "halted": 8, "exact_accuracy": 0.1}]
    evaluations = [{"step": 10, "exact_accuracy": 0.1, "pass@2": 0.25}, {"step": 20, "exact_accuracy": 0.2, "pass@2": 0.5}]
    accuracy = plots.training_figure(steps, evaluations).get_axes()[1]
    line = next(line for line in accuracy.get_lines() if line.get_label() == "held-out pass@2 (votes)")
    assert list(line.get_xdata()) == [10, 20] and list(line.get_ydata()) == [0.25, 0.5]


def test_plot_command_writes_a_png_of_the_run(tmp_path: Path) -> None:
    write_run(tmp_path / "run")
    result = CliRunner().invoke(main, ["plot", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    target = tmp_path / "run" / "training.png"
    assert result.stdout.strip() == str(target)
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000  # a drawn picture, not an empty canvas
    other = CliRunner().invoke(main, ["plot", str(tmp_path / "run"), "--out", str(tmp_path / "curves.png")])
    assert other.exit_code == 0 and (tmp_path / "curves.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "content, message",
    [(None, "no metrics.jsonl there"), ("", "no training steps logged yet"), ("{oops\n", "metrics.jsonl:1: not a JSON line"), ("[1]\n", "metrics.jsonl:1: not a JSON object")],
)
def test_plot_refuses_what_is_not_a_run(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "metrics.jsonl").write_text(content)
    result = CliRunner().invoke(main, ["plot", str(tmp_path)])
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_a_line_cut_short_by_a_crash_leaves_the_records_before_it(tmp_path: Path) -> None:
    write_run(tmp_path)
    whole = plots.read_metrics(tmp_path)
    with open(tmp_path / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 60, "lo')  # what a kill during a write leaves
    assert plots.read_metrics(tmp_path) == whole
    (tmp_path / "metrics.jsonl").write_text('{"step": 60, "lo\n{"step": 70}\n')  # inside the log: damage
    with pytest.raises(trmkit.InputError, match="metrics.jsonl:1: not a JSON line"):
        plots.read_metrics(tmp_path)


def sudoku_record(answers: list[np.ndarray], q_hats: list[float]) -> dict:
    trajectory = [{"step": i + 1, "q_hat": q, "answer": a} for i, (a, q) in enumerate(zip(answers, q_hats))]
    return {"source": "p.txt:1", "valid": True, "reason": "", "steps": len(answers), "trajectory": trajectory}


def test_trajectory_figure_shows_each_step_its_changes_and_the_confidence() -> None:
    task = get_task("sudoku")
    question, solution = grid(PUZZLE), grid(SOLUTION)
    first = solution.copy()
    first[0, 2], first[4, 4], first[8, 0] = 1, 1, 1  # three cells wrong at step 1
    second = solution.copy()
    second[8, 0] = 1  # two of them fixed at step 2
    record = sudoku_record([first, second, solution], [-3.0, -0.5, 4.0])
    figure = plots.trajectory_figure(task, Puzzle(question, source="p.txt:1"), record)
    step_axes = [ax for ax in figure.get_axes() if ax.get_title().startswith("step")]
    assert [ax.get_title().splitlines()[0] for ax in step_axes] == ["step 1: first answer", "step 2: 2 changed", "step 3: 1 changed"]
    assert step_axes[2].get_title().splitlines()[1] == f"confidence {1 / (1 + np.exp(-4.0)):.3f}"
    marked = [[(p.get_x(), p.get_y()) for p in ax.patches if p.get_gid() == "changed"] for ax in step_axes]
    assert marked == [[], [(2.05, 0.05), (4.05, 4.05)], [(0.05, 8.05)]]  # (column, row) of the changed cells
    # every cell's digit is written, givens shaded apart from the model's fillings
    assert sorted(t.get_text() for t in step_axes[2].texts) == sorted(SOLUTION)
    confidence = next(ax for ax in figure.get_axes() if ax.get_ylabel() == "confidence")
    assert confidence.get_xlabel() == "supervision step"
    assert list(confidence.get_lines()[0].get_ydata()) == pytest.approx([1 / (1 + np.exp(-q)) for q in (-3.0, -0.5, 4.0)])
    bars = next(ax for ax in figure.get_axes() if ax.get_ylabel() == "cells changed")
    assert [p.get_height() for p in bars.patches] == [2, 1]
    assert "solved, 3 supervision steps" in figure._suptitle.get_text()


@pytest.mark.parametrize("threshold", [0.0, 4.0, -1000.0])  # the last one overflows exp(-x)
def test_trajectory_figure_draws_the_halting_threshold_the_solve_used(threshold: float) -> None:
    solution = grid(SOLUTION)
    record = sudoku_record([solution, solution], [1.0, 5.0])
    figure = plots.trajectory_figure(get_task("sudoku"), Puzzle(grid(PUZZLE), source="p.txt:1"), record, threshold)
    confidence = next(ax for ax in figure.get_axes() if ax.get_ylabel() == "confidence")
    line = next(line for line in confidence.get_lines() if line.get_label().startswith("halting threshold"))
    assert list(line.get_ydata()) == pytest.approx([0.5 * (1 + np.tanh(threshold / 2))] * 2)  # 0.982 for q_halt > 4


def test_a_one_step_trajectory_is_one_supervision_step() -> None:
    record = sudoku_record([grid(SOLUTION)], [4.5])
    figure = plots.trajectory_figure(get_task("sudoku"), Puzzle(grid(PUZZLE), source="p.txt:1"), record)
    assert figure._suptitle.get_text() == "p.txt:1: solved, 1 supervision step"


def test_large_grids_are_drawn_as_colours_not_characters() -> None:
    task = get_task("maze")
    side = plots.TEXT_CELLS + 4
    rows = ["#" * side] + ["#" + "." * (side - 2) + "#" for _ in range(side - 2)] + ["#" * side]
    rows[1], rows[2] = "#S" + "." * (side - 3) + "#", "#G" + "." * (side - 3) + "#"
    maze = task.spec.parse("\n".join(rows) + "\n", "m.txt")[0]
    walked = task.spec.parse("\n".join(rows).replace("#S..", "#Soo") + "\n", "a.txt")[0].question
    trajectory = [{"step": 1, "q_hat": -1.0, "answer": maze.question}, {"step": 2, "q_hat": 1.0, "answer": walked}]
    figure = plots.trajectory_figure(task, maze, {"source": "m.txt:1", "valid": False, "reason": "no path", "steps": 2, "trajectory": trajectory})
    step_axes = [ax for ax in figure.get_axes() if ax.get_title().startswith("step")]
    assert len(step_axes) == 2 and not step_axes[1].texts  # colours, no characters
    assert [(p.get_x(), p.get_y()) for p in step_axes[1].patches if p.get_gid() == "changed"] == [(2.05, 1.05), (3.05, 1.05)]
    assert len([p for p in step_axes[1].patches if p.get_gid() != "changed"]) == side * side
    assert "not solved (no path)" in figure._suptitle.get_text()


def test_a_missing_plot_extra_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(tmp_path / "run")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    result = CliRunner().invoke(main, ["plot", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: drawing pictures needs matplotlib, which is not installed; install it with: pip install 'trmkit[plot]'"
    assert not (tmp_path / "run" / "training.png").exists()
