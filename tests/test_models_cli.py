"""Finding models (bundled and local), the model cards' checks, experiment logs and shell
completion, on the fake ``latin`` task (which ships no model) and on copies of folders."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from trmkit import ConfigError, InputError, get_task
from trmkit.cli import main
from trmkit.models import bundled_models, default_model, find_model

LATIN_PUZZLE = "1234341.2.414.23\n"


def with_models(task_name: str, models_dir: Path):
    """The task with its spec pointing at ``models_dir`` (as a plugin's TaskSpec would)."""
    task = get_task(task_name)
    return dataclasses.replace(task, spec=dataclasses.replace(task.spec, models_dir=models_dir))


def copy_bundled(target: Path, name: str, **card_changes) -> Path:
    source = default_model(get_task("sudoku")).folder
    folder = target / name
    shutil.copytree(source, folder)
    card = json.loads((folder / "card.json").read_text())
    card.update(card_changes)
    (folder / "card.json").write_text(json.dumps(card))
    return folder


def test_a_task_without_bundled_models_asks_for_one(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(LATIN_PUZZLE)
    result = CliRunner().invoke(main, ["solve", fake_task, str(tmp_path / "p.txt")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: task 'latin' ships no trained model; give one with --model (a run directory, checkpoint folder "
        "or .safetensors file; 'trmkit models' lists local ones)"
    )
    evaluated = CliRunner().invoke(main, ["eval", fake_task])
    assert evaluated.exit_code == 2 and "ships no trained model" in evaluated.stderr


def test_the_default_is_the_card_marked_default_else_the_first_name(tmp_path: Path) -> None:
    copy_bundled(tmp_path, "b-model", default=False)
    copy_bundled(tmp_path, "a-model", default=False)
    task = with_models("sudoku", tmp_path)
    assert [m.name for m in bundled_models(task)] == ["a-model", "b-model"]
    assert default_model(task).name == "a-model"
    copy_bundled(tmp_path, "c-model", default=True)
    assert default_model(task).name == "c-model"
    assert find_model(task, "b-model") == (tmp_path / "b-model", bundled_models(task)[2])
    assert find_model(task, str(tmp_path / "a-model"))[1] is None  # a path is a path, not a name
    (tmp_path / "not-a-model").mkdir()  # folders without model.safetensors are ignored
    assert len(bundled_models(task)) == 3
    assert bundled_models(with_models("sudoku", tmp_path / "missing")) == []
    with pytest.raises(ConfigError, match="ships no trained model"):
        default_model(with_models("sudoku", tmp_path / "missing"))


@pytest.mark.parametrize("damage, message", [
    (lambda card: card.pop("training_command"), "the model card lacks training_command"),
    (lambda card: card["accuracy"][0].pop("examples"), "an accuracy entry lacks examples"),
    (lambda card: card.update(halt_threshold="high"), "halt_threshold must be a number"),
])
def test_an_incomplete_card_is_refused(tmp_path: Path, damage, message: str) -> None:
    folder = copy_bundled(tmp_path, "broken")
    card = json.loads((folder / "card.json").read_text())
    damage(card)
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match=message):
        bundled_models(with_models("sudoku", tmp_path))
    (folder / "card.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable model card"):
        bundled_models(with_models("sudoku", tmp_path))


def fake_run(run_dir: Path, step: int) -> None:
    """A run directory as trmkit train leaves it (the bundled model file as its checkpoint)."""
    checkpoint = run_dir / "checkpoints" / f"step-{step:07d}"
    checkpoint.mkdir(parents=True)
    shutil.copy(default_model(get_task("sudoku")).file, checkpoint / "model.safetensors")
    (run_dir / "checkpoints" / "latest").write_text(checkpoint.name)
    evaluation = {"examples": 10, "exact_accuracy": 0.25, "token_accuracy": 0.75}
    (run_dir / "metrics.jsonl").write_text(json.dumps({"step": step, "loss": 1.0}) + "\n" + json.dumps({"step": step, "eval": evaluation}) + "\n")


def test_models_lists_bundled_and_local_models(tmp_path: Path) -> None:
    runner = CliRunner()
    runs = tmp_path / "runs"
    fake_run(runs / "sudoku-1", step=40)
    shutil.copytree(default_model(get_task("sudoku")).folder, runs / "converted")  # a model folder
    (runs / "empty-run" / "checkpoints").mkdir(parents=True)  # a run with no checkpoint yet: not listed
    (runs / "notes").mkdir()
    result = runner.invoke(main, ["models", "--dir", str(runs), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {(m["task"], m["name"], m["default"]) for m in listed["bundled"]} >= {("sudoku", "small", True)}
    local = {Path(m["path"]).name: m for m in listed["local"]}
    assert set(local) == {"sudoku-1", "converted"}
    assert local["sudoku-1"]["task"] == "sudoku" and local["sudoku-1"]["last_eval"] == {"step": 40, "examples": 10, "exact_accuracy": 0.25, "token_accuracy": 0.75}
    assert local["converted"]["step"] == default_model(get_task("sudoku")).card["steps"] and local["converted"]["last_eval"] == {}
    only_maze = json.loads(runner.invoke(main, ["models", "maze", "--dir", str(runs), "--json"]).stdout)
    assert [m["task"] for m in only_maze["bundled"] + only_maze["local"]] == ["maze"] * len(only_maze["bundled"])
    table = runner.invoke(main, ["models", "--dir", str(runs)])
    assert table.exit_code == 0 and table.stderr == ""  # the tables are the result
    assert "small (default)" in table.stdout and "30 blanks" in table.stdout and "sudoku-1" in table.stdout
    assert "0.2500 / 0.7500 @ 40" in table.stdout


def test_models_in_an_empty_place_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["models", "--dir", str(tmp_path / "nothing")])
    assert result.exit_code == 0
    assert f"No local models under {tmp_path / 'nothing'}." in result.stderr


def test_a_missing_logging_extra_is_one_clear_line_before_anything_runs(fake_task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("tensorboard", "wandb"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
        result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--out", str(tmp_path / module), "--log", module])
        assert result.exit_code == 1
        assert result.stderr.strip() == f"Error: --log {module} needs {module}, which is not installed; install it with: pip install 'trmkit[{module}]'"
        assert not (tmp_path / module).exists()
    wrong = CliRunner().invoke(main, ["train", fake_task, "--log", "mlflow"])
    assert wrong.exit_code == 2 and "'mlflow' is not one of 'tensorboard', 'wandb'" in wrong.stderr


def test_tensorboard_receives_the_logged_records(fake_task: str, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--steps", "4", "--out", str(run), "--set", "train.eval_every=2", "--set", "train.log_every=2", "--log", "tensorboard"])
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "train/lr", "eval/exact_accuracy", "eval/adaptive_mean_steps"} <= set(scalars)
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = {r["step"]: r["loss"] for r in logged if "loss" in r}
    assert {e.step: e.value for e in events.Scalars("train/loss")} == pytest.approx(losses)  # the same records as metrics.jsonl


def completions(args: list[str], incomplete: str) -> list[str]:
    return [item.value for item in ShellComplete(main, {}, "trmkit", "_TRMKIT_COMPLETE").get_completions(args, incomplete)]


def test_shell_completion_offers_commands_and_task_names() -> None:
    assert {"solve", "models", "plot"} <= set(completions([], ""))
    starting = completions([], "pl")
    assert {"plot", "plugins"} <= set(starting) and all(name.startswith("pl") for name in starting)
    assert completions(["solve"], "su") == ["sudoku"]
    assert "maze" in completions(["models"], "")
    assert completions(["train"], "ma") == ["maze"]


class FakeWandb:
    """Stands in for the wandb module: records what a run is asked to do."""

    def __init__(self) -> None:
        self.init_kwargs: dict = {}
        self.logged: list[tuple[dict, int]] = []
        self.finished = False

    def init(self, **kwargs):
        self.init_kwargs = kwargs
        return self

    def log(self, values: dict, step: int) -> None:
        self.logged.append((values, step))

    def finish(self) -> None:
        self.finished = True


@pytest.mark.parametrize("mode, expected", [(None, "offline"), ("online", "online")])
def test_wandb_is_offline_unless_the_user_says_otherwise(fake_task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str | None, expected: str) -> None:
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    if mode:
        monkeypatch.setenv("WANDB_MODE", mode)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--steps", "2", "--out", str(run), "--set", "train.log_every=1", "--log", "wandb"])
    assert result.exit_code == 0, result.output
    assert fake.init_kwargs["mode"] == expected and fake.init_kwargs["dir"] == str(run) and fake.init_kwargs["project"] == "trmkit"
    assert fake.init_kwargs["config"]["task"] == "latin"
    steps = [step for values, step in fake.logged if "train/loss" in values]
    assert steps == [1, 2] and any("eval/exact_accuracy" in values for values, _ in fake.logged)
    assert fake.finished
