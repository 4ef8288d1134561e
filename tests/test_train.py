"""Training end to end on the small fixture task: exact resume, checkpoints, train/solve/eval CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trmkit import dataset, get_task, load_config
from trmkit.checkpoint import load_model, resolve
from trmkit.cli import main
from trmkit.train import train

from conftest import run_trmkit

CPU = torch.device("cpu")
SETTINGS = ["train.steps=8", "train.checkpoint_every=4", "train.eval_every=4", "train.log_every=1", "train.batch_size=4", "data.augmentations=10"]


def build(task_name: str):
    task = get_task(task_name)
    return task, dataset.build(task, task.dataset_options({"train_size": 12, "test_size": 4}), seed=0)


def metrics_without_timing(run_dir: Path) -> list[dict]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("examples_per_s", None)
        record.pop("elapsed_s", None)
    return records


def test_a_log_line_reports_every_step_since_the_last_one_even_across_a_resume(fake_task, tmp_path):
    """Slots halt in waves, so a log line must pool its window's steps, not show the last one."""
    settings = [*SETTINGS, "train.log_every=3"]
    task, data = build(fake_task)
    per_step: list[dict] = []
    train(task, load_config(task, "tiny", settings), data, tmp_path / "whole", CPU, on_step=per_step.append)
    logged = [record for record in metrics_without_timing(tmp_path / "whole") if "loss" in record]
    assert [record["step"] for record in logged] == [3, 6, 8]
    for record, window in zip(logged, (per_step[0:3], per_step[3:6], per_step[6:8])):
        halted = sum(m["halted"] for m in window)
        assert record["halted"] == halted
        assert record["loss"] == pytest.approx(sum(m["loss"] for m in window) / len(window))
        assert record["exact_accuracy"] == pytest.approx(sum(m["exact_accuracy"] * m["halted"] for m in window) / max(1, halted))
        assert record["steps"] == pytest.approx(sum(m["steps"] * m["halted"] for m in window) / max(1, halted))

    steps_seen: list[int] = []
    interrupted = tmp_path / "interrupted"
    train(task, load_config(task, "tiny", settings), data, interrupted, CPU, on_step=lambda m: steps_seen.append(m["step"]), should_stop=lambda: len(steps_seen) == 4)
    train(task, load_config(task, "tiny", settings), data, interrupted, CPU, resume=True)
    assert metrics_without_timing(interrupted) == metrics_without_timing(tmp_path / "whole")


def test_an_evaluation_that_fails_costs_no_trained_step(fake_task, tmp_path, monkeypatch):
    """A checkpoint is written before each evaluation, which runs plugin code (the decoder, the
    validators) that may raise; the run then resumes from that step."""
    task, data = build(fake_task)
    config = load_config(task, "tiny", [*SETTINGS, "train.checkpoint_every=100"])  # none due before the end
    monkeypatch.setattr(task, "validate", lambda puzzle, answer: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        train(task, config, data, tmp_path / "run", CPU)
    assert resolve(tmp_path / "run").name == "step-0000004"  # the first evaluation's step
    monkeypatch.undo()
    resumed = train(task, config, data, tmp_path / "run", CPU, resume=True)
    assert resumed.step == 8
    evaluated = [record["step"] for record in metrics_without_timing(tmp_path / "run") if "eval" in record]
    assert evaluated == [4, 8]  # the failed evaluation is made up for on resume


def test_a_run_whose_last_evaluation_failed_evaluates_when_resumed(fake_task, tmp_path, monkeypatch):
    task, data = build(fake_task)
    config = load_config(task, "tiny", SETTINGS)
    train(task, config, data, tmp_path / "run", CPU, should_stop=lambda: False)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "run" / "metrics.jsonl").write_text("".join(f"{line}\n" for line in lines if '"eval"' not in line or '"step": 8' not in line))
    seen = []
    resumed = train(task, config, data, tmp_path / "run", CPU, resume=True, on_eval=seen.append)
    assert resumed.step == 8 and [record["step"] for record in seen] == [8]
    assert [record["step"] for record in metrics_without_timing(tmp_path / "run") if "eval" in record] == [4, 8]
    seen.clear()
    train(task, config, data, tmp_path / "run", CPU, resume=True, on_eval=seen.append)  # evaluated: nothing to do
    assert seen == []


RESUMED_RUNS = [
    pytest.param([], [], id="eager"),
    pytest.param(["train.compile=true"], ["train.compile=true"], marks=pytest.mark.slow, id="compiled"),
    pytest.param(["data.workers=0"], ["data.workers=2"], id="data-workers"),
]


@pytest.mark.parametrize("whole_settings, resumed_settings", RESUMED_RUNS)
def test_a_resumed_run_continues_with_the_same_numbers(fake_task, tmp_path, whole_settings, resumed_settings):
    """Compiled too (the small configs compile): the resumed run compiles again, to the same
    kernels. And with batches built by worker processes (data.workers only moves where batches
    are built): interrupted and resumed, it ends where a run without workers ends."""
    task, data = build(fake_task)
    whole = train(task, load_config(task, "tiny", SETTINGS + whole_settings), data, tmp_path / "whole", CPU)

    steps_seen = []
    interrupted = tmp_path / "interrupted"
    settings = SETTINGS + resumed_settings
    train(task, load_config(task, "tiny", settings), data, interrupted, CPU, on_step=lambda m: steps_seen.append(m["step"]), should_stop=lambda: len(steps_seen) == 3)
    assert resolve(interrupted).name == "step-0000003"
    resumed = train(task, load_config(task, "tiny", settings), data, interrupted, CPU, resume=True)

    assert resumed.step == whole.step == 8
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    for name, value in whole.ema.shadow.items():
        assert torch.equal(value, resumed.ema.shadow[name]), name
    assert metrics_without_timing(interrupted) == metrics_without_timing(tmp_path / "whole")


def test_a_run_resumed_on_a_device_of_the_other_precision_takes_its_carry_in_that_one(fake_task, tmp_path, monkeypatch):
    """forward_dtype auto is bf16 on CUDA, float32 on a CPU: a checkpoint can cross (here the
    CUDA side is played by patching what auto means)."""
    task, data = build(fake_task)
    config = load_config(task, "tiny", ["train.steps=2", "train.checkpoint_every=2", "train.eval_every=0"])
    assert train(task, config, data, tmp_path, CPU).carry.y.dtype == torch.float32
    monkeypatch.setattr("trmkit.model.computes_in_bf16", lambda model_config, device: True)
    resumed = train(task, load_config(task, "tiny", ["train.steps=4", "train.checkpoint_every=2", "train.eval_every=0"]), data, tmp_path, CPU, resume=True)
    assert resumed.step == 4 and resumed.carry.y.dtype == resumed.carry.z.dtype == torch.bfloat16


def test_checkpoints_hold_ema_weights_and_load_without_the_trainer(fake_task, tmp_path):
    task, data = build(fake_task)
    trainer = train(task, load_config(task, "tiny", SETTINGS), data, tmp_path, CPU)
    loaded = load_model(tmp_path, task=fake_task)
    assert loaded.config.model == trainer.config.model
    for name, value in trainer.ema.shadow.items():
        assert torch.equal(loaded.model.state_dict()[name], value)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*")) == ["step-0000004", "step-0000008"]


def test_a_checkpoint_of_another_task_is_refused(fake_task, tmp_path):
    task, data = build(fake_task)
    train(task, load_config(task, "tiny", ["train.steps=1"]), data, tmp_path, CPU)
    with pytest.raises(Exception, match="not 'sudoku'"):
        load_model(tmp_path, task="sudoku")


def test_train_then_solve_and_eval_through_the_cli(fake_task, tmp_path):
    runner = CliRunner()
    run_dir = tmp_path / "run"
    result = runner.invoke(main, ["train", fake_task, "--config", "tiny", "--steps", "6", "--out", str(run_dir), "--set", "train.eval_every=3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["step"] == 6 and Path(summary["checkpoint"]).name == "step-0000006"
    assert "train" in result.stderr  # the progress bar and logs go to stderr

    again = runner.invoke(main, ["train", fake_task, "--config", "tiny", "--out", str(run_dir)])
    assert again.exit_code == 2 and "--resume" in again.stderr

    puzzle = tmp_path / "p.txt"
    puzzle.write_text("1234341.2.414.23\n")
    solved = runner.invoke(main, ["solve", fake_task, str(puzzle), "--model", str(run_dir), "--json", "--trajectory"])
    assert solved.exit_code in (0, 1), solved.output
    records = json.loads(solved.stdout)
    assert len(records) == 1 and records[0]["source"].endswith("p.txt:1")
    assert 1 <= records[0]["steps"] == len(records[0]["trajectory"])
    assert records[0]["valid"] == (solved.exit_code == 0)

    evaluated = runner.invoke(main, ["eval", fake_task, "--model", str(run_dir), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)
    assert metrics["examples"] > 0 and 0 <= metrics["exact_accuracy"] <= 1


@pytest.mark.parametrize("native", [True, False])
def test_a_new_cpu_run_says_its_precision_and_offers_bf16_where_the_cpu_has_it(fake_task, tmp_path, monkeypatch, native):
    monkeypatch.setattr("trmkit.model.cpu_computes_bf16", lambda: native)
    hint = "this CPU computes bf16 natively: --set model.forward_dtype=bfloat16"
    run = ["train", fake_task, "--config", "tiny", "--steps", "2", "--out", str(tmp_path / "run"), "--device", "cpu"]
    result = CliRunner().invoke(main, run)
    assert result.exit_code == 0, result.output
    assert "(mlp_t), float32" in result.stderr or "(attention), float32" in result.stderr
    assert (hint in result.stderr) == native
    resumed = CliRunner().invoke(main, [*run[:5], "3", *run[6:], "--resume"])  # the run's precision is settled
    assert resumed.exit_code == 0 and hint not in resumed.stderr, resumed.output
    in_bf16 = CliRunner().invoke(main, [*run[:-4], "--out", str(tmp_path / "bf16"), "--set", "model.forward_dtype=bfloat16"])
    assert in_bf16.exit_code == 0 and "), bf16" in in_bf16.stderr and hint not in in_bf16.stderr, in_bf16.output
    chosen = CliRunner().invoke(main, [*run[:-4], "--out", str(tmp_path / "fp32"), "--set", "model.forward_dtype=float32"])
    assert chosen.exit_code == 0 and "), float32" in chosen.stderr and hint not in chosen.stderr, chosen.output  # asked for


def test_solve_rejects_a_missing_model_with_one_line(fake_task, tmp_path):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("1234341.2.414.23\n")
    result = CliRunner().invoke(main, ["solve", fake_task, str(puzzle), "--model", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error:") and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_sudoku_end_to_end_train_then_solve_a_checkpoint(tmp_path):
    """The issue's path: tiny training run, then solve with a checkpoint folder of that run."""
    sudoku = "sudoku"
    run_dir = tmp_path / "run"
    trained = run_trmkit("train", sudoku, "--config", "tiny", "--steps", "20", "--out", str(run_dir))
    assert trained.returncode == 0, trained.stderr
    checkpoint = run_dir / "checkpoints" / "step-0000020"
    assert (checkpoint / "model.safetensors").is_file()
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..\n")
    solved = run_trmkit("solve", sudoku, str(puzzle), "--model", str(checkpoint))
    assert solved.returncode in (0, 1), solved.stderr  # 1: an untrained model's answer is invalid
    lines = solved.stdout.splitlines()
    assert lines[0].startswith(f"# {puzzle}:1: ") and "confidence" in lines[0]
    assert len(lines) == 1 + 9 and all(len(line) == 9 for line in lines[1:])  # a plain 9x9 answer
    verdict = run_trmkit("check", sudoku, str(puzzle), "-", stdin="\n".join(lines[1:]) + "\n")
    assert (verdict.returncode == 0) == (solved.returncode == 0)


def test_interactive_solve_answers_each_puzzle_as_it_comes_and_reports_bad_ones(fake_task, tmp_path):
    task, data = build(fake_task)
    train(task, load_config(task, "tiny", ["train.steps=2"]), data, tmp_path, CPU)
    typed = "1234341.2.414.23\nnot a puzzle\n\n.2343412.1414323\n"
    result = CliRunner().invoke(main, ["solve", fake_task, "--interactive", "--model", str(tmp_path), "--json"], input=typed)
    assert result.exit_code in (0, 1), result.output
    answers = [json.loads(chunk) for chunk in result.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert [a["source"] for a in answers] == ["<stdin #1>:1", "<stdin #3>:1"]
    assert "not a puzzle" in result.stderr or "expected 16 cells" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(), reason="needs a machine without CUDA and MPS")
@pytest.mark.parametrize(("device", "message"), [("cuda", "sees no CUDA device"), ("mps", "sees no MPS (Apple GPU) device"), ("tpu9", "unknown device 'tpu9'")])
def test_a_device_this_torch_cannot_use_is_one_line(fake_task, tmp_path, device, message):
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--device", device, "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and message in result.stderr and len(result.stderr.splitlines()) == 1, result.output
