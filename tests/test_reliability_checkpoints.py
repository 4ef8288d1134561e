"""Guarantees 3 and 5 of issue 7: loading a checkpoint never runs code, a damaged one is refused
with one line naming the file and the problem, and a NaN or Inf never reaches a checkpoint. Also:
a run directory belongs to one run: a resume continues that run as it was trained or is refused,
two runs never write one directory at once, a new run never overwrites files it did not write,
every checkpoint file's metadata is checked, and a full disk or a crafted checkpoint is one line.

Runs on the small fixture task (``latin``), trained in process for a few steps.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import SafetensorError
from safetensors.torch import save_file

import trmkit
from trmkit import dataset, get_task, load_config
from trmkit import checkpoint
from trmkit.atomic import atomic_write
from trmkit.checkpoint import (
    METADATA_DIGEST_KEY, MODEL_FILE, STATE_FILE, STATE_JSON, latest_checkpoint, load_model, load_state, metadata_digest, read_weights, save_model,
)
from trmkit.cli import main
from trmkit.convert import load_official_state_dict
from trmkit.resuming import CHANGEABLE
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
    metadata = {**metadata, "config": json.dumps(config)}
    metadata["metadata_sha256"] = metadata_digest(metadata)  # a config changed on purpose, not by damage
    save_file(tensors, path, metadata=metadata)


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
        (STATE_JSON, lambda path: path.write_text('{"step": "four"}'), "damaged: it does not match the checksum"),
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
    assert_one_line_error(result, f"{run / RUN_CHECKPOINT / MODEL_FILE} is a checkpoint of task 'latin', not 'sudoku'")
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


# -- a run directory belongs to one run (resume as trained, one writer, only its own files) --
def resume(run: Path, *extra: str, steps: int = 6):
    return invoke("train", "latin", "--config", "tiny", "--steps", steps, "--out", run, "--resume", "--data", run / "data",
                  *[f"--set={s}" for s in SETTINGS], *extra)


def resign(path: Path, change_config) -> None:
    """Rewrite ``path`` with its config changed and every checksum made to fit (a crafted file)."""
    tensors, metadata = read_weights(path)
    config = json.loads(metadata["config"])
    change_config(config)
    write_signed(path, tensors, {**metadata, "config": json.dumps(config)})


def write_signed(path: Path, tensors, metadata: dict[str, str]) -> None:
    metadata = {key: value for key, value in metadata.items() if key != METADATA_DIGEST_KEY}
    save_file(tensors, path, metadata={**metadata, METADATA_DIGEST_KEY: metadata_digest(metadata)})


# -- resuming as it was trained ---------------------------------------------------------------
def test_a_resume_that_changes_what_the_steps_compute_is_refused_with_the_settings_to_restore(run: Path) -> None:
    before = (run / "config.json").read_bytes()
    result = resume(run, "--set", "train.lr=0.5", "--set", "model.n=3")
    assert_one_line_error(result, "was trained with other settings (model.n 2 -> 3, train.lr 0.0001 -> 0.5)",
                          "continue it as it was with --set model.n=2 --set train.lr=0.0001", codes=(2,))
    assert (run / "config.json").read_bytes() == before  # nothing of the run was touched
    assert resume(run, "--set", "model.n=2").exit_code == 0  # saying the run's own value is fine


def test_a_resume_may_train_further_and_log_evaluate_and_checkpoint_differently(run: Path) -> None:
    assert {"train.steps", "train.eval_every", "train.log_every", "train.checkpoint_every"} <= CHANGEABLE
    result = resume(run, "--set", "train.eval_every=3", "--set", "train.log_every=2", "--set", "train.checkpoint_every=3", steps=7)
    assert result.exit_code == 0, result.output
    assert checkpoint.latest_checkpoint(run / "checkpoints").name == "step-0000007"


def test_a_refused_resume_leaves_the_runs_default_dataset_as_it_was(fake_task: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = ["train", fake_task, "--config", "tiny", "--steps", "2", "--out", out, *[f"--set={s}" for s in SETTINGS]]
    assert invoke(*command).exit_code == 0
    before = {path.name: path.read_bytes() for path in (out / "data").iterdir()}
    result = invoke(*command, "--resume", "--steps", "4", "--set", "data.seed=1")
    assert_one_line_error(result, "data.seed 0 -> 1", codes=(2,))
    assert {path.name: path.read_bytes() for path in (out / "data").iterdir()} == before


def test_a_damaged_latest_checkpoint_names_the_older_one_to_resume_from(run: Path) -> None:
    (run / RUN_CHECKPOINT / STATE_JSON).write_text("{")
    assert_one_line_error(resume(run), "unreadable training state", f"the older checkpoint {run / 'checkpoints' / 'step-0000002'} may be whole")


def test_damaged_lines_in_the_metrics_log_do_not_block_a_resume(run: Path) -> None:
    with open(run / "metrics.jsonl", "ab") as log:
        log.write(b'\xff\xfe\nnull\n{"step": "7"}\n[' + b"[" * 100000 + b"\n")
    result = resume(run)
    assert result.exit_code == 0, result.output
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 6


# -- one run per directory, and only its own files ----------------------------------------------
def test_a_second_run_into_a_directory_in_use_is_refused_naming_the_first(run: Path) -> None:
    """The lock goes with the process that took it, even while processes it forked (batch
    workers, say) live on after it was killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os, time
            from pathlib import Path
            from trmkit.runlock import run_lock
            with run_lock(Path({str(run)!r})):
                child = os.fork()
                if child == 0:
                    time.sleep(60)
                    os._exit(0)
                print(child, flush=True)
                time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    child = None
    try:
        child = int(holder.stdout.readline())
        assert_one_line_error(resume(run), f"{run} is in use by another training run (process {holder.pid})")
        holder.kill()
        holder.wait()
        assert resume(run).exit_code == 0  # its forked child still runs, and holds no lock
    finally:
        holder.kill()
        holder.wait()
        if child is not None:
            os.kill(child, signal.SIGKILL)


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl"])
def test_a_new_run_does_not_overwrite_files_it_finds_in_out(fake_task: str, tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("mine\n")
    result = invoke("train", fake_task, "--config", "tiny", "--steps", "2", "--out", tmp_path, *[f"--set={s}" for s in SETTINGS])
    assert_one_line_error(result, f"{tmp_path} already holds a run ({name}); pass --resume", codes=(2,))
    assert (tmp_path / name).read_text() == "mine\n" and sorted(path.name for path in tmp_path.iterdir()) == [".lock", name]


def test_only_checkpoint_folders_are_pruned(run: Path) -> None:
    keep = [run / "checkpoints" / "step-0000002-best", run / "checkpoints" / "step-notes"]
    for folder in keep:
        folder.mkdir()
    assert resume(run, steps=8).exit_code == 0
    names = sorted(path.name for path in (run / "checkpoints").iterdir())
    assert names == ["latest", "step-0000002-best", "step-0000006", "step-0000008", "step-notes"]


def test_a_run_whose_checkpoints_cannot_be_written_fails_before_training(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "checkpoints" / "latest").mkdir(parents=True)
    result = invoke("train", fake_task, "--config", "tiny", "--steps", "2", "--out", tmp_path, *[f"--set={s}" for s in SETTINGS])
    assert_one_line_error(result, f"{tmp_path / 'checkpoints' / 'latest'}: not a file")
    assert not (tmp_path / "metrics.jsonl").exists()


# -- a full disk --------------------------------------------------------------------------------
def test_a_checkpoint_that_cannot_be_written_is_one_line_and_leaves_the_last_one(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", full)
    result = resume(run)
    assert_one_line_error(result, f"{run / 'checkpoints' / 'step-0000006'}: cannot write the checkpoint", "No space left on device",
                          f"the last good checkpoint {run / RUN_CHECKPOINT} is kept")
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == ["latest", "step-0000002", "step-0000004"]


def test_a_failed_atomic_write_names_the_file_not_its_temporary(tmp_path: Path) -> None:
    def no_space(handle):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        atomic_write(tmp_path / "config.json", no_space)
    assert raised.value.filename == str(tmp_path / "config.json") and raised.value.errno == 28
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_files_get_an_ordinary_files_mode(run: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    for path in (run / RUN_CHECKPOINT).iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


# -- what a checkpoint's metadata says is checked too ------------------------------------------------
def test_a_changed_byte_in_a_models_config_or_in_state_json_is_refused(run: Path) -> None:
    model_file = run / RUN_CHECKPOINT / MODEL_FILE
    tensors, metadata = read_weights(model_file)
    config = json.loads(metadata["config"])
    config["model"]["n"] += 1
    save_file(tensors, model_file, metadata={**metadata, "config": json.dumps(config)})
    with pytest.raises(trmkit.InputError, match="its metadata .* does not match the checksum"):
        load_model(model_file)
    state = run / "checkpoints" / "step-0000002" / STATE_JSON
    state.write_text(state.read_text().replace('"sampler_position": 8', '"sampler_position": 9'))
    with pytest.raises(trmkit.InputError, match="state.json: damaged: it does not match the checksum"):
        checkpoint.load_state(state.parent)


@pytest.mark.parametrize(("change", "problem"), [
    (lambda config: config["model"].update(hidden_size=2**20), "embed_tokens.weight: config (6, 1048576), weights (6, 16)"),
    (lambda config: config["model"].update(num_puzzle_identifiers=10**12), "puzzle_emb.weight: config (1000000000000, 16), weights (1, 16)"),
    (lambda config: config["model"].update(num_layers=100000), "config: 100000 layers, weights: 2"),
    (lambda config: config["model"].update(hidden_size=10**400), "its config describes no model that can be built"),
    (lambda config: config["model"].update(seq_len=10**8), "its config describes tables far larger than its weights (model.seq_len 100000000)"),
], ids=["wide", "many-puzzles", "deep", "overflow", "long-rope"])
def test_a_crafted_config_claiming_a_huge_model_is_refused_before_anything_is_allocated(run: Path, change, problem: str) -> None:
    model_file = run / RUN_CHECKPOINT / MODEL_FILE
    resign(model_file, change)
    with pytest.raises(trmkit.InputError) as raised:
        load_model(model_file)
    assert problem in str(raised.value) and str(model_file) in str(raised.value)


def test_a_config_nested_beyond_what_json_can_read_is_refused(run: Path) -> None:
    model_file = run / RUN_CHECKPOINT / MODEL_FILE
    tensors, metadata = read_weights(model_file)
    write_signed(model_file, tensors, {**metadata, "config": "[" * 200000})
    with pytest.raises(trmkit.InputError, match="damaged config in metadata"):
        load_model(model_file)


def test_the_python_api_refuses_a_new_run_where_one_is(run: Path, fake_task: str) -> None:
    task = get_task(fake_task)
    before = (run / "metrics.jsonl").read_bytes()
    with pytest.raises(trmkit.ConfigError, match="already holds a run"):
        train(task, load_config(task, "tiny", ["train.steps=2", *SETTINGS]), dataset.load(run / "data"), run, CPU)
    assert (run / "metrics.jsonl").read_bytes() == before


def test_a_file_system_that_cannot_lock_trains_unlocked_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import fcntl

    from trmkit.runlock import run_lock

    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "lockf", no_locks)
    with pytest.warns(UserWarning, match="cannot lock files"), run_lock(tmp_path):
        pass


def test_a_training_state_of_the_wrong_types_is_refused_in_files_without_a_state_checksum(run: Path) -> None:
    """Checkpoints written before state.json had a checksum still have their fields checked."""
    location = run / RUN_CHECKPOINT
    tensors, metadata = read_weights(location / STATE_FILE)
    metadata = {key: value for key, value in metadata.items() if key not in (checkpoint.STATE_JSON_DIGEST_KEY, METADATA_DIGEST_KEY)}
    save_file(tensors, location / STATE_FILE, metadata={**metadata, METADATA_DIGEST_KEY: metadata_digest(metadata)})
    (location / STATE_JSON).write_text('{"step": "four", "sampler_position": 8}')
    with pytest.raises(trmkit.InputError, match="damaged training state"):
        load_state(location)
