"""Guarantees 1 and 2 of issue 7, with real ``trmkit train`` processes on the tiny Sudoku config:
a run killed with SIGKILL at random moments (once in the middle of a checkpoint write) and resumed
ends with the very weights of an uninterrupted run; SIGTERM and SIGINT stop it cleanly, with a
checkpoint and the command that continues it.

The kill points are random; the seed that chose them is in every assertion message.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
import torch

from trmkit import dataset, get_task, load_config
from trmkit.checkpoint import MODEL_FILE, PAUSE_ENV, STATE_FILE, latest_checkpoint, load_state, read_weights
from trmkit.train import train

pytestmark = pytest.mark.slow

STEPS = 8
SETTINGS = {"train.checkpoint_every": 2, "train.log_every": 1, "train.batch_size": 8, "train.eval_examples": 8}
PROCESS_TIMEOUT = 120


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    task = get_task("sudoku")
    options = task.dataset_options({"num_train": 32, "num_test": 8, "min_blanks": 30, "max_blanks": 40})
    return dataset.save(dataset.build(task, options, seed=0), tmp_path_factory.mktemp("sudoku-data"))


def train_command(run_dir: Path, data: Path, *extra: str) -> list[str]:
    sets = [part for key, value in SETTINGS.items() for part in ("--set", f"{key}={value}")]
    return [sys.executable, "-m", "trmkit", "train", "sudoku", "--config", "tiny", "--steps", str(STEPS),
            "--data", str(data), "--out", str(run_dir), "--device", "cpu", *sets, *extra]


def launch(command: list[str], log: Path, pause: float = 0.0, own_group: bool = False) -> subprocess.Popen[bytes]:
    """``own_group``: a process group of its own, as a terminal's foreground job has."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # the reference runs on one thread too
    env.pop(PAUSE_ENV, None)
    if pause:
        env[PAUSE_ENV] = str(pause)
    with open(log, "ab") as stderr:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, start_new_session=own_group)


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> bool:
    """Poll ``condition`` until it holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.005)
    process.kill()
    raise AssertionError("the training process neither progressed nor ended")


def logged_steps(run_dir: Path) -> list[int]:
    """Steps of the per-step records in metrics.jsonl (a torn last line is ignored)."""
    path = run_dir / "metrics.jsonl"
    steps = []
    for line in path.read_text().splitlines() if path.is_file() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "loss" in record:
            steps.append(record["step"])
    return steps


def tensors(folder: Path) -> dict[str, torch.Tensor]:
    return {**read_weights(folder / MODEL_FILE)[0], **{f"state:{k}": v for k, v in read_weights(folder / STATE_FILE)[0].items()}}


def test_sigkill_at_random_moments_then_resume_ends_with_the_uninterrupted_weights(data_dir: Path, tmp_path: Path) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    where = f"(kill points from seed {seed})"
    run_dir, log = tmp_path / "run", tmp_path / "stderr.log"
    command = train_command(run_dir, data_dir, "--resume")
    kills = []

    # 1. A random moment after a random step.
    process = launch(command, log)
    after = rng.randint(1, 3)
    wait_until(lambda: len(logged_steps(run_dir)) >= after, process)
    time.sleep(rng.uniform(0, 0.3))
    process.send_signal(signal.SIGKILL)
    process.wait()
    kills.append(max(logged_steps(run_dir), default=0))

    # 2. In the middle of a checkpoint write: the folder is half written, the last one still whole.
    # Wait for a write in its pause (model file there, state not yet): the first kill may itself have
    # left a whole-but-unrenamed ".tmp" folder, which the resumed run clears before it writes.
    process = launch(command, log, pause=3.0)
    root = run_dir / "checkpoints"

    def writing() -> bool:
        return any((t / MODEL_FILE).exists() and not (t / STATE_FILE).exists() for t in root.glob(".step-*.tmp"))

    assert wait_until(writing, process), where
    time.sleep(rng.uniform(0, 1.0))
    process.send_signal(signal.SIGKILL)
    process.wait()
    half_written = list(root.glob(".step-*.tmp"))
    assert half_written and not (half_written[0] / STATE_FILE).exists(), f"the kill missed the write {where}"
    kept = latest_checkpoint(root)
    if kept is not None:
        assert kept.name < half_written[0].name[1:], where
        load_state(kept, task="sudoku")  # whole and readable
    kills.append(max(logged_steps(run_dir), default=0))

    # Resume to the end.
    process = launch(command, log)
    assert process.wait(timeout=PROCESS_TIMEOUT) == 0, f"{log.read_text()[-2000:]} {where}"

    assert logged_steps(run_dir) == list(range(1, STEPS + 1)), f"killed after steps {kills} {where}"
    final = latest_checkpoint(root)
    assert final is not None and final.name == f"step-{STEPS:07d}", where
    assert not list(root.glob(".step-*.tmp")), "a later checkpoint clears half-written folders"

    task = get_task("sudoku")
    overrides = [f"train.steps={STEPS}", *(f"{key}={value}" for key, value in SETTINGS.items())]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(task, load_config(task, "tiny", overrides), dataset.load(data_dir, task="sudoku"), tmp_path / "whole", torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    reference = tensors(tmp_path / "whole" / "checkpoints" / final.name)
    resumed = tensors(final)
    assert reference.keys() == resumed.keys()
    different = [name for name in reference if not torch.equal(reference[name], resumed[name])]
    assert not different, f"{different[:3]} differ after kills at steps {kills} {where}"


def test_sigterm_then_sigint_stop_after_a_step_with_a_checkpoint_and_the_command_to_continue(data_dir: Path, tmp_path: Path) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "stderr.log"
    command = train_command(run_dir, data_dir, "--set", "train.eval_every=0")
    stops = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        log.write_bytes(b"")
        process = launch(command, log)
        already = len(logged_steps(run_dir))
        wait_until(lambda: len(logged_steps(run_dir)) >= already + 1, process)
        process.send_signal(sig)
        assert process.wait(timeout=PROCESS_TIMEOUT) == 128 + sig, log.read_text()[-2000:]  # as a shell expects: 143, 130
        stderr = log.read_text()
        stopped = [line for line in stderr.splitlines() if line.startswith("stopped at step ")]
        assert len(stopped) == 1, stderr[-2000:]
        step = int(stopped[0].split()[3].rstrip(";"))
        assert already < step < STEPS and logged_steps(run_dir)[-1] == step
        assert latest_checkpoint(run_dir / "checkpoints").name == f"step-{step:07d}"
        stops.append(step)
        again = shlex.split(stopped[0].split("continue with: ", 1)[1])
        assert again[:3] == ["trmkit", "train", "sudoku"] and "--resume" in again
        assert again[again.index("--steps") + 1] == str(STEPS) and "train.batch_size=8" in again
        command = [sys.executable, "-m", "trmkit", *again[1:]]  # the second round runs what the first printed
    assert stops[1] > stops[0]
    assert logged_steps(run_dir) == list(range(1, stops[1] + 1))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_to_the_whole_job_stops_a_run_with_data_workers_cleanly(data_dir: Path, tmp_path: Path, sig: signal.Signals) -> None:
    """A terminal's Ctrl-C, or a scheduler's (or torchrun's) SIGTERM, reaches every process of the
    job, the data workers too: the training process still finishes its step, saves and exits
    (128 + the signal), and no worker prints a traceback."""
    run_dir, log = tmp_path / "run", tmp_path / "stderr.log"
    process = launch(train_command(run_dir, data_dir, "--set", "train.eval_every=0", "--set", "data.workers=2"), log, own_group=True)
    wait_until(lambda: len(logged_steps(run_dir)) >= 1, process)
    os.killpg(process.pid, sig)
    assert process.wait(timeout=PROCESS_TIMEOUT) == 128 + sig, log.read_text()[-2000:]
    stderr = log.read_text()
    assert "stopped at step " in stderr and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-2000:]
    step = logged_steps(run_dir)[-1]
    assert step < STEPS and latest_checkpoint(run_dir / "checkpoints").name == f"step-{step:07d}"
