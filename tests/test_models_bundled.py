"""The Sudoku model shipped with the plugin: solves out of the box, and its card tells the truth.

These tests use the installed package data (the plugin's ``models/`` folder), exactly as a user
who just ran ``pip install`` would. The card's figures were measured on 500 held-out puzzles
per difficulty (``python benchmarks/bundled_models.py``); here ``trmkit eval`` repeats them on
the first ``SAMPLE`` puzzles of the same sets, which must agree within sampling error.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from trmkit import TRM, TRMConfig, get_task, load_config
from trmkit.cli import main
from trmkit.models import default_model, read_metadata
from trmkit_sudoku import generate

REPO = Path(__file__).resolve().parent.parent
SAMPLE = 50


@pytest.fixture(scope="module")
def bundled():
    return default_model(get_task("sudoku"))


def tolerance(card_accuracy: float, examples: int) -> float:
    """Four standard errors of a proportion measured on ``examples`` (at least that of 1/n, so
    that a card at 100% tolerates a puzzle that flips on another CPU's rounding)."""
    variance = max(card_accuracy * (1 - card_accuracy), 1 / examples)
    return 4 * math.sqrt(variance / examples)


def puzzle_file(tmp_path: Path, blanks: int, seed: int) -> Path:
    questions, _ = generate(1, blanks, blanks, seed=seed)
    path = tmp_path / "puzzle.txt"
    path.write_text("".join("." if v == 0 else str(v) for v in questions[0].reshape(-1)) + "\n")
    return path


def test_solve_with_no_model_uses_the_bundled_one_and_check_accepts_the_answer(tmp_path: Path, bundled) -> None:
    puzzle = puzzle_file(tmp_path, blanks=30, seed=2024)
    result = CliRunner().invoke(main, ["solve", "sudoku", str(puzzle)])
    assert result.exit_code == 0, result.output
    assert f"model: sudoku '{bundled.name}' (bundled" in result.stderr
    assert f"measured held-out exact accuracy (adaptive halting, q_halt > {bundled.halt_threshold:g}): 30 blanks" in result.stderr
    answer = tmp_path / "answer.txt"
    answer.write_text(result.stdout)  # solve's output, '# source: solved (...)' header and all, reads back
    checked = CliRunner().invoke(main, ["check", "sudoku", str(puzzle), str(answer)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.strip().endswith(": ok")


def test_solve_halts_at_the_cards_tuned_threshold_unless_given_one(tmp_path: Path, bundled) -> None:
    """The card's threshold (from benchmarks/halting.py) is the default; --halt-threshold wins."""
    assert bundled.halt_threshold > 0
    questions, _ = generate(20, 40, 40, seed=77)
    puzzles = tmp_path / "puzzles.txt"
    puzzles.write_text("".join("".join("." if v == 0 else str(v) for v in q.reshape(-1)) + "\n" for q in questions))

    def steps(*options: str) -> list[int]:
        result = CliRunner().invoke(main, ["solve", "sudoku", str(puzzles), "--json", *options])
        assert result.exit_code in (0, 1), result.output
        return [record["steps"] for record in json.loads(result.stdout)]

    tuned = steps()
    assert tuned == steps("--halt-threshold", f"{bundled.halt_threshold:g}")
    assert tuned == steps("--model", str(bundled.folder))  # named by its path, it halts the same
    assert sum(steps("--halt-threshold", "0")) < sum(tuned)  # the paper's rule stops earlier

    model = TRM.from_pretrained(bundled.folder)  # and so does the Python API
    assert model.halt_threshold == bundled.halt_threshold and model.run_config.task == "sudoku"
    task = get_task("sudoku")
    tokens = np.stack([task.tokenizer.encode(puzzle.question) for puzzle in task.spec.parse(puzzles.read_text(), "p")])
    assert model.solve(tokens)["steps"].tolist() == tuned


def test_a_bundled_model_can_be_named(tmp_path: Path, bundled) -> None:
    puzzle = puzzle_file(tmp_path, blanks=30, seed=7)
    result = CliRunner().invoke(main, ["solve", "sudoku", str(puzzle), "--model", bundled.name, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["valid"] is True
    wrong = CliRunner().invoke(main, ["solve", "sudoku", str(puzzle), "--model", "no-such-model"])
    assert wrong.exit_code == 1
    assert f"nor a bundled sudoku model (bundled: {bundled.name})" in wrong.stderr


def every_bundled_model() -> list:
    from trmkit.models import bundled_models
    from trmkit.plugins import registry

    return [model for name in registry().task_names() for model in bundled_models(get_task(name))]


@pytest.mark.parametrize("bundled", every_bundled_model(), ids=lambda model: f"{model.card['task']}-{model.name}")
def test_the_card_describes_the_file_it_sits_beside(bundled) -> None:
    card = bundled.card
    metadata = read_metadata(bundled.file)
    config = TRMConfig.from_dict(json.loads(metadata["config"])).to_dict()  # keys added since take their defaults
    assert config["task"] == card["task"] == bundled.folder.parent.parent.name.removeprefix("trmkit_")
    assert int(metadata["step"]) == card["steps"]
    assert config["data"]["seed"] == card["data_seed"] and config["train"]["seed"] == card["train_seed"]
    overrides = card.get("config_overrides", [])
    named = load_config(get_task(card["task"]), card["config"], overrides)  # the card's config is the model's
    from_data = {"vocab_size": None, "seq_len": None, "num_puzzle_identifiers": None}  # training sets them from the dataset (Maze small: 9x9)
    assert {**config["model"], **from_data} == {**named.to_dict()["model"], **from_data}
    # and its training settings, but for the steps and seed its command line sets (so a config
    # default changed later, train.compile say, is pinned in the overrides and the command)
    command_set = {"steps": None, "seed": None}
    assert {**config["train"], **command_set} == {**named.to_dict()["train"], **command_set}
    assert f"--config {card['config']}" in card["training_command"] and f"--steps {card['steps']}" in card["training_command"]
    if config["train"]["steps"] != card["steps"]:  # a run timed by the clock (learn_maze.py): the same
        assert config["train"]["lr_min_ratio"] == 1.0  # steps only if the learning rate is constant after warm-up
    assert all(f"--set {override}" in card["training_command"] for override in overrides)
    assert f"step-{card['steps']:07d}/model.safetensors" in card["bundle_command"]
    assert (bundled.folder / "README.md").is_file()
    assert bundled.file.stat().st_size < 10 * 2**20  # package data stays small
    for entry in card["accuracy"]:  # every held-out set is away from the training data
        assert entry.get("in_training_data") == 0, entry
        if "data" in entry:
            assert entry["data"]["seed"] != card["data_seed"]


@pytest.mark.parametrize("bundled", every_bundled_model(), ids=lambda model: f"{model.card['task']}-{model.name}")
def test_the_cards_commands_paste_into_a_shell_and_its_readme_is_written_from_it(bundled) -> None:
    from benchmark_scripts import load_benchmark

    card = bundled.card
    commands = [card["training_command"], card["bundle_command"], *(entry["command"] for entry in card["accuracy"])]
    for command in commands:  # a remark in brackets inside one would be a shell syntax error
        parsed = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        assert parsed.returncode == 0, f"{command}: {parsed.stderr}"
    readme = load_benchmark("bundled_models").readme(card)
    assert (bundled.folder / "README.md").read_text() == readme  # what --write-card writes
    assert f"`{card['training_command']}`" in readme


@pytest.mark.slow
def test_eval_reproduces_the_cards_generated_sets_on_a_sample(tmp_path: Path, bundled) -> None:
    runner = CliRunner()
    for entry in [e for e in bundled.card["accuracy"] if "data" in e]:
        options = dict(entry["data"]["options"], num_test=SAMPLE)
        out = tmp_path / f"set-{entry['data']['seed']}"
        sets = [arg for key, value in options.items() for arg in ("--set", f"{key}={value}")]
        built = runner.invoke(main, ["data", "build", "sudoku", "--out", str(out), "--seed", str(entry["data"]["seed"]), *sets])
        assert built.exit_code == 0, built.output
        result = runner.invoke(main, ["eval", "sudoku", "--data", str(out), "--json"])  # no --model: the bundled one
        assert result.exit_code == 0, result.output
        measured = json.loads(result.stdout)
        assert measured["examples"] == SAMPLE
        for key in ("exact_accuracy", "adaptive_exact_accuracy"):
            allowed = tolerance(entry[key], SAMPLE)
            assert abs(measured[key] - entry[key]) <= allowed, (entry["difficulty"], key, measured[key], entry[key], allowed)


def test_the_cards_hard_public_puzzles_are_reproduced_exactly(bundled) -> None:
    (entry,) = [e for e in bundled.card["accuracy"] if "file" in e]
    result = CliRunner().invoke(main, ["solve", "sudoku", str(REPO / entry["file"]), "--halt", "all", "--json"])
    assert result.exit_code in (0, 1), result.output
    records = json.loads(result.stdout)
    assert len(records) == entry["examples"]
    solved = sum(record["valid"] for record in records)
    assert abs(solved - round(entry["exact_accuracy"] * entry["examples"])) <= 1


def test_solve_draws_the_reasoning_to_a_png(tmp_path: Path, bundled, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from trmkit import plots

    drawn_at = []  # the halting threshold each picture draws: the one solve halts at
    figure = plots.trajectory_figure

    def drawing(task, puzzle, record, threshold=0.0):
        drawn_at.append(threshold)
        return figure(task, puzzle, record, threshold)

    monkeypatch.setattr(plots, "trajectory_figure", drawing)
    puzzle = puzzle_file(tmp_path, blanks=50, seed=11)
    png = tmp_path / "steps.png"
    result = CliRunner().invoke(main, ["solve", "sudoku", str(puzzle), "--halt", "all", "--png", str(png), "--json"])
    assert result.exit_code in (0, 1), result.output
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 20_000
    assert drawn_at == [bundled.halt_threshold] and bundled.halt_threshold > 0
    (record,) = json.loads(result.stdout)
    assert "trajectory" not in record  # drawn, not printed: --trajectory was not asked for
    assert f"drew {puzzle}:1 to {png}" in result.stderr


def test_every_card_is_complete_and_every_model_loads() -> None:
    from trmkit.checkpoint import load_model
    from trmkit.models import bundled_models
    from trmkit.plugins import registry

    for name in registry().task_names():
        task = get_task(name)
        for model in bundled_models(task):
            loaded = load_model(model.file, task=name)  # refuses damaged or non-finite weights
            assert loaded.config.task == name == model.card["task"]


def test_maze_solves_with_its_bundled_model_when_none_is_given(tmp_path: Path) -> None:
    """The Maze model is weak (its card says so), so this checks the chain, not the answer:
    the bundled model is found, named with its accuracy, and its answer reads back as a maze."""
    task = get_task("maze")
    (card,) = [e for e in default_model(task).card["accuracy"] if e["data"]["options"]["min_path_length"] == 14]
    examples = task.spec.build_dataset(task.dataset_options({**card["data"]["options"], "num_test": 1}), card["data"]["seed"])["test"]
    puzzle = tmp_path / "maze.txt"
    puzzle.write_text(task.decoder.render(task.tokenizer.decode(examples.inputs[0])) + "\n")
    result = CliRunner().invoke(main, ["solve", "maze", str(puzzle)])
    assert result.exit_code in (0, 1), result.output  # 1: an answer the validator refused
    assert "model: maze 'small' (bundled" in result.stderr
    (answer,) = task.spec.parse(result.stdout, "stdout")
    assert answer.question.shape == (9, 9)
