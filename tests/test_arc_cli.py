"""The ARC task on the command line: data build, check, train -> eval (pass@K, submission.json)
-> solve (two attempts per test input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trmkit.cli import main
from trmkit_arc.sources import builtin

from test_parity import one_thread  # noqa: F401 (autouse: tiny tensors run faster on one thread)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def evaluation_task(name: str) -> dict:
    task = next(t for t in builtin("evaluation") if t.name == name)
    pair = lambda q, a: {"input": q.tolist(), "output": a.tolist()}  # noqa: E731
    return {"train": [pair(q, a) for q, a in task.train], "test": [pair(q, a) for q, a in task.test]}


def test_data_build_takes_subsets_and_test_set_as_options_and_warns_about_leaks(tmp_path: Path) -> None:
    result = run("data", "build", "arc", "--out", str(tmp_path / "d"), "--subsets", "training2,evaluation", "--test-set", "evaluation", "--max-tasks", "400", "--json")
    assert result.exit_code == 0, result.output
    assert "warning: ARC subset 'training2' overlaps: it contains" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["options"]["test_set"] == "evaluation" and summary["counts"]["test"] == 419
    bad = run("data", "build", "arc", "--out", str(tmp_path / "e"), "--subsets", "training", "--test-set", "evaluation")
    assert bad.exit_code == 2 and "not among the subsets" in bad.stderr and "Traceback" not in bad.output


def test_check_compares_with_the_known_output_or_only_the_form(tmp_path: Path) -> None:
    task = evaluation_task("66e6c45b")
    (tmp_path / "task.json").write_text(json.dumps(task))
    output = task["test"][0]["output"]
    right = "\n".join("".join(map(str, row)) for row in output)
    (tmp_path / "right.txt").write_text(right + "\n")
    wrong = [row[:] for row in output]
    wrong[0][0] = (wrong[0][0] + 1) % 10
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    result = run("check", "arc", str(tmp_path / "task.json"), str(tmp_path / "right.txt"))
    assert result.exit_code == 0 and result.stdout == f"{tmp_path / 'task.json'} test 1: ok\n"  # compared with the output
    result = run("check", "arc", str(tmp_path / "task.json"), str(tmp_path / "wrong.json"))
    assert result.exit_code == 1 and "1 cells differ from the output, first at row 1, column 1" in result.stdout
    del task["test"][0]["output"]  # unknown output: shape and palette only, and the verdict says so
    (tmp_path / "open.json").write_text(json.dumps(task))
    result = run("check", "arc", str(tmp_path / "open.json"), str(tmp_path / "wrong.json"))
    assert result.exit_code == 0 and result.stdout == f"{tmp_path / 'open.json'} test 1: ok (form only: no known output)\n"
    result = run("check", "arc", str(tmp_path / "open.json"), str(tmp_path / "wrong.json"), "--json")
    assert json.loads(result.stdout)["results"][0]["reason"] == "form only: no known output"
    (tmp_path / "big.txt").write_text("\n".join(["0" * 31] * 2))
    result = run("check", "arc", str(tmp_path / "open.json"), str(tmp_path / "big.txt"))
    assert result.exit_code == 1 and "1 to 30 rows of 1 to 30 colours" in result.stderr


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arc-tiny") / "run"
    result = run("train", "arc", "--config", "tiny", "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "(4 versions voting)" in result.stdout  # its evaluation votes, as eval does
    return out


@pytest.mark.slow
def test_the_training_evaluation_counts_the_votes_as_eval_does(tiny_run: Path, tmp_path: Path) -> None:
    trained = [json.loads(line)["eval"] for line in (tiny_run / "metrics.jsonl").read_text().splitlines() if "eval" in line][-1]
    result = run("eval", "arc", "--model", str(tiny_run), "--json", "--submission", str(tmp_path / "submission.json"))
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    assert {k: trained[f"pass@{k}"] for k in (1, 2, 5)} == {k: evaluated[f"pass@{k}"] for k in (1, 2, 5)}


@pytest.mark.slow
def test_eval_prints_pass_at_k_and_writes_a_kaggle_submission(tiny_run: Path, tmp_path: Path) -> None:
    submission = tmp_path / "submission.json"
    result = run("eval", "arc", "--model", str(tiny_run), "--submission", str(submission), "--versions", "2")
    assert result.exit_code == 0, result.output
    for k in (1, 2, 5):
        assert f"pass@{k}: " in result.stdout
    assert "2 versions each" in result.stdout
    document = json.loads(submission.read_text())
    assert sorted(document) == ["4cd1b7b2", "66e6c45b"]  # the tiny config's evaluation tasks
    for entries in document.values():
        assert entries and all(set(entry) == {"attempt_1", "attempt_2"} for entry in entries)
        assert all(isinstance(entry["attempt_1"], list) and isinstance(entry["attempt_1"][0], list) for entry in entries)


@pytest.mark.slow
def test_solve_shows_two_scored_attempts_per_test_input_plain_when_piped(tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "task.json").write_text(json.dumps(evaluation_task("66e6c45b")))
    result = run("solve", "arc", str(tmp_path / "task.json"), "--model", str(tiny_run))
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"# {tmp_path / 'task.json'} test 1: ")
    assert "solved by attempt" in lines[0] or "not solved" in lines[0]
    assert sum(line.startswith("## attempt ") for line in lines) <= 2
    assert "\x1b[" not in result.stdout  # plain: not a terminal
    listing = run("solve", "arc", str(tmp_path / "task.json"), "--model", str(tiny_run), "--json")
    records = json.loads(listing.stdout)
    assert len(records) == 1 and records[0]["scored"] and len(records[0]["attempts"]) <= 2


@pytest.mark.slow
def test_interactive_solve_reads_a_task_written_over_many_lines(tiny_run: Path) -> None:
    """Pretty-printed JSON has lines that are ARC grids on their own (a lone '1'): they are
    parts of the unfinished task, not puzzles after a bad line."""
    task = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]], "output": [[4]]}]}
    result = run("solve", "arc", "-i", "--model", str(tiny_run), input=json.dumps(task, indent=2) + "\n")
    assert result.exit_code in (0, 1) and "Error" not in result.stderr, result.output
    assert [line for line in result.stdout.splitlines() if line.startswith("# ")] == [result.stdout.splitlines()[0]]
    assert result.stdout.startswith("# <stdin #1> test 1: ")


@pytest.mark.slow
def test_solve_lays_a_new_task_out_on_the_canvas_the_model_trained_on(tiny_run: Path, tmp_path: Path) -> None:
    # The tiny config's canvas is 5x5 (25 tokens): a task outside its data is encoded on it, not on 30x30.
    (tmp_path / "new.json").write_text(json.dumps({"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]], "output": [[4]]}]}))
    result = run("solve", "arc", str(tmp_path / "new.json"), "--model", str(tiny_run), "--json")
    assert result.exit_code in (0, 1), result.output
    notes = " ".join(result.stderr.split())  # stderr wraps long lines
    assert "not in the model's data" in notes and "tokens" not in notes
    records = json.loads(result.stdout)
    assert len(records) == 1 and records[0]["source"] == f"{tmp_path / 'new.json'} test 1" and records[0]["scored"]
    assert all(len(grid) <= 5 and all(len(row) <= 5 for row in grid) for grid in records[0]["attempts"])


@pytest.mark.slow
def test_solve_refuses_a_grid_larger_than_the_models_canvas_in_one_line(tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(json.dumps({"train": [], "test": [{"input": [[1] * 6] * 6}]}))
    result = run("solve", "arc", str(tmp_path / "big.json"), "--model", str(tiny_run))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == f"Error: {tmp_path / 'big.json'} test 1: a 6x6 grid does not fit a 5x5 canvas"
    assert "Traceback" not in result.output and "internal error" not in result.output
