"""Guarantees 3 and 5 of issue 7: loading a checkpoint never runs code, a damaged one is refused
with one line naming the file and the problem, and a NaN or Inf never reaches a checkpoint.

Runs on the small fixture task (``latin``), trained in process for a few steps.
"""

from __future__ import annotations

import importlib
import json
import pickle
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

import trmkit
from trmkit import dataset, get_task, load_config
from trmkit.checkpoint import MODEL_FILE, STATE_FILE, STATE_JSON, latest_checkpoint, load_model, load_state, read_weights, save_model
from trmkit.cli import main
from trmkit.convert import load_official_state_dict
from trmkit.train import Trainer, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CPU = torch.device("cpu")
SETTINGS = ["train.checkpoint_every=2", "train.eval_every=0", "train.batch_size=4", "train.eval_examples=4"]


class Payload:
    """Unpickling this opens (so creates) ``mark``: what a planted checkpoint would run."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.mark), "w")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Where the module's one training run went, once a test has made it."""
    return {"root": tmp_path_factory.mktemp("trained")}


@pytest.fixture
def run(fake_task: str, trained: dict[str, Path], tmp_path: Path) -> Path:
    """A fresh copy of a run directory of 4 steps (checkpoints at steps 2 and 4, its data in
    ``run/data``), so each test may damage its own."""
    template = trained["root"] / "run"
    if not template.is_dir():
        task = get_task(fake_task)
        data = dataset.save(dataset.build(task, task.dataset_options({}), seed=0), template / "data")
        train(task, load_config(task, "tiny", ["train.steps=4", *SETTINGS]), dataset.load(data), template, CPU)
    return Path(shutil.copytree(template, tmp_path / "run"))


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def assert_one_line_error(result: Any, *needles: str, codes: tuple[int, ...] = (1,)) -> None:
    assert result.exit_code in codes, result.output
    lines = result.stderr.strip().splitlines()  # train logs its progress above the error
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in errors[0], errors[0]


# -- guarantee 3: nothing runs ----------------------------------------------------------------
def plant_pickle(target: Path, mark: Path) -> None:
    target.write_bytes(pickle.dumps({"weights": Payload(mark)}))


def plant_torch_pickle(target: Path, mark: Path) -> None:
    torch.save({"weights": torch.zeros(2), "extra": Payload(mark)}, target)


RUN_CHECKPOINT = Path("checkpoints") / "step-0000004"
#: Each place trmkit reads a checkpoint from, and the commands that read it.
PLANTS = {
    "model file": (RUN_CHECKPOINT / MODEL_FILE, ("solve", "resume")),
    "state file": (RUN_CHECKPOINT / STATE_FILE, ("resume",)),
    "state json": (RUN_CHECKPOINT / STATE_JSON, ("resume",)),
    "latest pointer": (Path("checkpoints") / "latest", ("solve", "resume")),
    "model folder": (Path("exported") / MODEL_FILE, ("solve",)),
    "file given directly": (Path("model.pt"), ("solve",)),
    "official checkpoint": (Path("official") / "step_10", ("convert",)),
}
PUZZLE = "1234341.2.414.23\n"


@pytest.mark.parametrize("writer", [plant_pickle, plant_torch_pickle], ids=["pickle", "torch.save"])
@pytest.mark.parametrize("place", list(PLANTS))
def test_a_planted_pickle_runs_nothing_wherever_trmkit_reads_a_checkpoint(run: Path, tmp_path: Path, place: str, writer: Callable[[Path, Path], None]) -> None:
    mark = tmp_path / "mark"
    writer(tmp_path / "live", mark)
    unpickle = pickle.loads if writer is plant_pickle else lambda data: torch.load(tmp_path / "live", weights_only=False)
    unpickle((tmp_path / "live").read_bytes())  # the payload is live: unrestricted loading runs it
    assert mark.exists()
    mark.unlink()

    loaded = load_model(run, task="latin")
    save_model(run / "exported", loaded.model.state_dict(), loaded.config)
    relative, readers = PLANTS[place]
    target = run / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    writer(target, mark)
    model = {"model folder": target.parent, "file given directly": target}.get(place, run)

    outcomes = []
    if "convert" in readers:
        with pytest.raises(trmkit.InputError, match="never unpickles"):
            load_official_state_dict(target)
        outcomes.append(invoke("convert", "official", target, "--out", tmp_path / "converted"))
    if "solve" in readers:
        outcomes.append(CliRunner().invoke(main, ["solve", "latin", "-", "--model", str(model)], input=PUZZLE))
    if "resume" in readers:
        outcomes.append(invoke("train", "latin", "--config", "tiny", "--steps", "6", "--out", run, "--resume", "--data", run / "data", *[f"--set={s}" for s in SETTINGS]))
    assert not mark.exists(), "the planted pickle ran"
    for result in outcomes:
        if place == "latest pointer":  # a pointer is only a name: a planted one is ignored
            assert result.exit_code in (0, 1) and "Error" not in result.stderr, result.output
        else:
            assert_one_line_error(result, str(target))


# -- guarantee 3: damaged checkpoints ---------------------------------------------------------
def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_weight_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x40  # inside the last tensor's bytes: safetensors itself cannot notice
    path.write_bytes(bytes(data))


def garble_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:24] = b"\x00garbage\xff\xfe{[}]\x01\x02\x03"
    path.write_bytes(bytes(data))


def widen_config(path: Path) -> None:
    tensors, metadata = read_weights(path)
    config = json.loads(metadata["config"])
    config["model"]["hidden_size"] *= 2
    save_file(tensors, path, metadata={**metadata, "config": json.dumps(config), "tensors_sha256": metadata["tensors_sha256"]})


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (truncate, "not a readable safetensors file"),
        (flip_a_weight_byte, "damaged: its tensors do not match the checksum"),
        (garble_header, "not a readable safetensors file"),
        (widen_config, "weights do not fit the model its config describes"),
        (lambda path: path.write_bytes(b""), "not a readable safetensors file"),
    ],
    ids=["truncated", "bit-flip", "garbled-header", "config-mismatch", "empty"],
)
def test_a_damaged_model_file_is_one_line_naming_the_file_and_the_problem(run: Path, damage: Callable[[Path], None], problem: str) -> None:
    model_file = run / "checkpoints" / "step-0000004" / MODEL_FILE
    damage(model_file)
    assert_one_line_error(invoke("solve", "latin", "-", "--model", run), str(model_file), problem)
    assert_one_line_error(invoke("eval", "latin", "--model", model_file.parent, "--data", run / "data"), str(model_file), problem)


@pytest.mark.parametrize(
    ("name", "damage", "problem"),
    [
        (STATE_FILE, flip_a_weight_byte, "damaged: its tensors do not match the checksum"),
        (STATE_FILE, truncate, "not a readable safetensors file"),
        (STATE_JSON, lambda path: path.write_text('{"step": "four"}'), "damaged training state"),
        (STATE_JSON, truncate, "unreadable training state"),
    ],
    ids=["state-bit-flip", "state-truncated", "state-json-wrong-type", "state-json-truncated"],
)
def test_a_damaged_training_state_stops_resume_with_one_line(run: Path, name: str, damage: Callable[[Path], None], problem: str) -> None:
    target = run / "checkpoints" / "step-0000004" / name
    damage(target)
    result = invoke("train", "latin", "--config", "tiny", "--steps", "6", "--out", run, "--resume", "--data", run / "data", *[f"--set={s}" for s in SETTINGS])
    assert_one_line_error(result, str(target), problem)


def test_a_checkpoint_of_another_task_is_refused_by_solve_and_by_resume(run: Path, tmp_path: Path) -> None:
    assert_one_line_error(invoke("solve", "sudoku", "-", "--model", run), "is a model for task 'latin', not 'sudoku'")
    result = invoke("train", "sudoku", "--config", "tiny", "--steps", "6", "--out", run, "--resume")
    assert_one_line_error(result, "holds a 'latin' dataset, not 'sudoku'")  # its data says so first
    sudoku = get_task("sudoku")
    options = sudoku.dataset_options({"num_train": 8, "num_test": 4})
    data = dataset.save(dataset.build(sudoku, options, seed=0), tmp_path / "sudoku-data")
    result = invoke("train", "sudoku", "--config", "tiny", "--steps", "6", "--out", run, "--resume", "--data", data)
    assert_one_line_error(result, f"{run / RUN_CHECKPOINT / MODEL_FILE} is a checkpoint of task 'latin', not 'sudoku'")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=4))
def test_any_truncation_or_byte_change_is_refused_as_an_input_error(run: Path, cut: float, flips: list[tuple[float, int]]) -> None:
    original = run / "checkpoints" / "step-0000004" / MODEL_FILE
    data = bytearray(original.read_bytes())
    for where, xor in flips:
        data[int(where * (len(data) - 1))] ^= xor
    damaged = run / "fuzzed.safetensors"
    damaged.write_bytes(bytes(data[: max(1, int(len(data) * cut))] if cut < 1 else data))
    if bytes(data) == original.read_bytes() and cut == 1:
        return
    try:
        load_model(damaged)
    except (trmkit.InputError, trmkit.ConfigError) as exc:
        assert str(damaged) in str(exc)


# -- guarantee 5: numerical faults ------------------------------------------------------------
def checkpoint_bytes(run_dir: Path) -> dict[str, bytes]:
    return {str(path.relative_to(run_dir)): path.read_bytes() for path in sorted((run_dir / "checkpoints").rglob("*")) if path.is_file()}


def test_a_nan_loss_stops_training_naming_the_step_and_keeps_the_last_checkpoint(fake_task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    training = importlib.import_module("trmkit.train")  # the module (trmkit.train is also a function)
    real_loss = training.act_loss

    def poisoned(*args: Any, **kwargs: Any) -> Any:
        loss, parts, correct = real_loss(*args, **kwargs)
        return loss * float("nan"), parts, correct

    run_dir = tmp_path / "run"
    arguments = ["train", fake_task, "--config", "tiny", "--out", run_dir, *[f"--set={s}" for s in SETTINGS]]
    assert invoke(*arguments, "--steps", "4").exit_code == 0
    kept = checkpoint_bytes(run_dir)
    monkeypatch.setattr(training, "act_loss", poisoned)
    result = invoke(*arguments, "--steps", "8", "--resume")
    assert_one_line_error(result, "the loss became nan at step 5", f"the last good checkpoint {run_dir / RUN_CHECKPOINT} is kept", "train.lr")
    assert checkpoint_bytes(run_dir) == kept


def test_nan_weights_are_never_saved_over_good_ones(fake_task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_step = Trainer.train_step

    def corrupting(self: Trainer) -> dict[str, float]:
        metrics = real_step(self)
        if self.step == 6:  # a checkpoint step: the loss of step 6 was finite, the weights after it are not
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("inf"))
        return metrics

    monkeypatch.setattr(Trainer, "train_step", corrupting)
    run_dir = tmp_path / "run"
    arguments = ["train", fake_task, "--config", "tiny", "--steps", "8", "--out", run_dir, *[f"--set={s}" for s in SETTINGS]]
    result = invoke(*arguments)
    assert_one_line_error(result, "the weights became NaN or Inf at step 6", "step-0000004 is kept", "train.lr")
    root = run_dir / "checkpoints"
    assert latest_checkpoint(root).name == "step-0000004"
    assert sorted(path.name for path in root.iterdir()) == ["latest", "step-0000002", "step-0000004"]
    load_state(root / "step-0000004", task=fake_task)

    monkeypatch.setattr(Trainer, "train_step", real_step)
    resumed = invoke(*arguments, "--resume")  # the suggested way on: resume from the good one
    assert resumed.exit_code == 0, resumed.output
    assert latest_checkpoint(root).name == "step-0000008"
