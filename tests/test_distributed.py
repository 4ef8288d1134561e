"""Data-parallel training under torchrun, on the CPU with gloo (trmkit.distributed).

The end-to-end tests start real ``torchrun --nproc_per_node 2`` runs and check them against a
single process with the same global batch and seed: the weights, optimizer moments, EMA,
puzzle-embedding table and carry after k steps agree to float tolerance (the ranks sum gradients
in another order, nothing more), rank 0 alone writes checkpoints and metrics, and a distributed
run resumes from its own checkpoint. The rest are fast in-process tests of the pieces.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from torch.distributed.elastic.multiprocessing.api import SignalException

from trmkit import dataset, distributed, get_task, launch, load_config
from trmkit.act import empty_carry, supervision_step
from trmkit.checkpoint import MODEL_FILE, STATE_FILE, resolve
from trmkit.cli import main
from trmkit.evaluate import Predictions, evaluate, predict, score
from trmkit.model import TRM
from trmkit.sampler import Sampler
from trmkit.train import train

from test_parity import one_thread  # noqa: F401  (tiny tensors: one thread beats two fighting)

CPU = torch.device("cpu")

#: Runs ``trmkit`` like ``python -m trmkit`` does, but records which rank calls checkpoint.save,
#: so the test sees every writer, not just the files that survived.
DRIVER = '''
import os, sys
from trmkit import checkpoint
from trmkit.cli import main

real_save = checkpoint.save

def recording_save(run_dir, step, *args, **kwargs):
    with open(os.environ["TRMKIT_TEST_WRITERS"], "a") as log:
        log.write(f"{os.environ.get('RANK', 'single')} {step}\\n")
    return real_save(run_dir, step, *args, **kwargs)

checkpoint.save = recording_save
main(sys.argv[1:], prog_name="trmkit")
'''


def torchrun(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """``torchrun --nproc_per_node 2 DRIVER ARGS`` on the CPU; returns the run and its writers."""
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    writers = tmp_path / "writers.log"
    writers.unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "TRMKIT_DISABLE_PLUGINS"}
    env.update(TRMKIT_TEST_WRITERS=str(writers), CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(driver), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    return result, (writers.read_text().splitlines() if writers.exists() else [])


def checkpoint_tensors(location: Path) -> dict[str, torch.Tensor]:
    tensors = {f"state:{k}": v for k, v in load_file(location / STATE_FILE).items()}
    tensors.update({f"model:{k}": v for k, v in load_file(location / MODEL_FILE).items()})
    return tensors


def assert_same_training(distributed_run: Path, single_run: Path) -> None:
    """The same checkpoint files (weights, EMA, moments, embedding table, carry, RNG, position)
    and the same metrics, to float tolerance: 1e-4 of each tensor's largest magnitude (measured:
    weights and moments differ by ~1e-7 of it, the recursion's activations in the carry ~2e-5;
    gradients averaged instead of summed over ranks would be off 2x in the Adam moments)."""
    ours, theirs = resolve(distributed_run), resolve(single_run)
    assert ours.name == theirs.name
    a, b = checkpoint_tensors(ours), checkpoint_tensors(theirs)
    assert sorted(a) == sorted(b)
    for name in a:
        if a[name].is_floating_point():
            scale = float(b[name].abs().max()) if b[name].numel() else 0.0
            torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-4 * scale, msg=lambda m: f"{name}: {m}")
        else:
            assert torch.equal(a[name], b[name]), name
    assert json.loads((ours / "state.json").read_text())["sampler_position"] == json.loads((theirs / "state.json").read_text())["sampler_position"]
    ours_log = [json.loads(line) for line in (distributed_run / "metrics.jsonl").read_text().splitlines()]
    theirs_log = [json.loads(line) for line in (single_run / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in ours_log] == [record["step"] for record in theirs_log]  # one writer: no line twice
    for mine, reference in zip(ours_log, theirs_log):
        for key in ("loss", "lm_loss", "halted", "exact_accuracy", "steps"):
            if key in reference:
                assert mine[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-6), key
        if "eval" in reference:
            assert mine["eval"] == pytest.approx(reference["eval"], rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_two_processes_train_the_same_weights_as_one(tmp_path):
    task = get_task("sudoku")
    settings_ = ["train.steps=4", "train.checkpoint_every=2", "train.eval_every=2", "train.log_every=1"]
    config = load_config(task, "tiny", settings_)
    data_dir = dataset.save(dataset.build(task, task.dataset_options(config.data.options), config.data.seed), tmp_path / "data")

    run = tmp_path / "ddp"
    sets = [word for item in settings_ for word in ("--set", item)]
    result, writers = torchrun(tmp_path, "train", "sudoku", "--config", "tiny", *sets, "--data", str(data_dir), "--out", str(run), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["step"] == 4  # the summary is printed once, by rank 0
    assert writers == ["0 2", "0 4"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step-0000002", "step-0000004"]

    train(task, config, dataset.load(data_dir), tmp_path / "single", CPU)
    assert_same_training(run, tmp_path / "single")


@pytest.mark.slow
def test_arc_puzzle_embeddings_and_resume_across_two_processes(tmp_path):
    """ARC tiny: one sparse embedding row per (task, augmented version), so the gathered sparse
    update touches rows from both ranks; the run stops at step 2 and resumes under torchrun."""
    task = get_task("arc")
    settings_ = ["train.steps=4", "train.checkpoint_every=2", "train.log_every=1"]
    config = load_config(task, "tiny", settings_)
    data_dir = dataset.save(dataset.build(task, task.dataset_options(config.data.options), config.data.seed), tmp_path / "data")
    sets = [word for item in settings_ for word in ("--set", item)]
    run = tmp_path / "ddp"
    common = ["train", "arc", "--config", "tiny", *sets, "--data", str(data_dir), "--out", str(run)]
    first, writers = torchrun(tmp_path, *common, "--steps", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert writers == ["0 2"]
    resumed, writers = torchrun(tmp_path, *common, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert writers == ["0 4"]

    data = dataset.load(data_dir)
    train(task, load_config(task, "tiny", [*settings_, "train.steps=2"]), data, tmp_path / "single", CPU)
    single = train(task, load_config(task, "tiny", settings_), data, tmp_path / "single", CPU, resume=True)
    table = single.model.puzzle_emb.weight
    assert int((table.abs().sum(-1) > 0).sum()) >= 4  # several rows were trained
    assert_same_training(run, tmp_path / "single")  # the evaluations' pass@K too: votes gathered from both ranks
    evaluations = [record["eval"] for record in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "eval" in record]
    assert [e["voting_versions"] for e in evaluations] == [4, 4] and all("pass@2" in e for e in evaluations)


# -- the pieces, in process -------------------------------------------------------------------------


@given(count=st.integers(0, 50), world=st.integers(1, 9))
def test_evaluation_shards_partition_the_examples_in_rank_order(count, world):
    shards = [distributed.shard(count, me, world) for me in range(world)]
    assert shards[0][0] == 0 and shards[-1][1] == count
    assert all(a[1] == b[0] for a, b in zip(shards, shards[1:]))
    assert max(stop - start for start, stop in shards) - min(stop - start for start, stop in shards) <= 1


def test_a_batch_that_does_not_split_evenly_is_a_config_error():
    assert distributed.local_batch_size(768, world=8) == 96
    with pytest.raises(Exception, match="does not split evenly over 3 processes"):
        distributed.local_batch_size(16, world=3)


def test_without_torchrun_the_helpers_do_nothing():
    assert (distributed.rank(), distributed.world_size(), distributed.is_main(), distributed.is_active()) == (0, 1, True, False)
    tensor = torch.arange(4.0)
    assert distributed.sum_across_ranks(tensor) is tensor and distributed.gather_rows(tensor) is tensor
    assert distributed.gather_objects("x") == ["x"] and distributed.broadcast_object("x") == "x"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=st.integers(1, 4), local=st.integers(1, 3), steps=st.integers(1, 4))
def test_the_ranks_shards_make_up_the_single_process_batches(fake_task, world, local, steps):
    task = get_task(fake_task)
    examples = dataset.build(task, task.dataset_options({"train_size": 5}), seed=0).splits["train"]
    batch = world * local
    single = Sampler(task, examples, batch, augmentations=3, seed=7)
    ranks = [Sampler(task, examples, batch, augmentations=3, seed=7, slots=(me * local, local)) for me in range(world)]
    for _ in range(steps):  # crosses epochs: 5 examples, up to 12 per batch
        whole = single.next_batch()
        parts = [sampler.next_batch() for sampler in ranks]
        for field in ("inputs", "labels", "puzzle_identifiers"):
            assert np.array_equal(np.concatenate([getattr(part, field) for part in parts]), getattr(whole, field))
    assert all(sampler.position == single.position for sampler in ranks)


def test_exploration_draws_do_not_depend_on_how_the_batch_is_split(fake_task):
    task = get_task(fake_task)
    config = load_config(task, "tiny", ["model.halt_exploration_prob=0.5", "model.halt_max_steps=6"])
    config.model.vocab_size, config.model.seq_len = task.spec.vocab_size, task.spec.seq_len
    torch.manual_seed(0)
    model = TRM(config.model).train()
    examples = dataset.build(task, task.dataset_options({}), seed=0).splits["train"]
    inputs, labels = torch.as_tensor(examples.inputs[:4]), torch.as_tensor(examples.labels[:4])
    ids = torch.zeros(4, dtype=torch.long)

    def run(first: int, count: int):
        carry, generator = empty_carry(model, count), torch.Generator().manual_seed(3)
        part = slice(first, first + count)
        for _ in range(4):
            carry, *_ = supervision_step(model, carry, inputs[part], labels[part], ids[part], generator, slots=(first, 4))
        return carry

    whole, halves = run(0, 4), [run(0, 2), run(2, 2)]
    assert torch.equal(torch.cat([h.steps for h in halves]), whole.steps)
    assert torch.equal(torch.cat([h.halted for h in halves]), whole.halted)
    torch.testing.assert_close(torch.cat([h.y for h in halves]), whole.y)


def test_sharded_predictions_gathered_score_like_one_pass(fake_task):
    task = get_task(fake_task)
    config = load_config(task, "tiny")
    config.model.vocab_size, config.model.seq_len = task.spec.vocab_size, task.spec.seq_len
    torch.manual_seed(0)
    model = TRM(config.model).eval()
    test = dataset.build(task, task.dataset_options({"test_size": 7}), seed=0).splits["test"]
    shards = [predict(model, task, test, *distributed.shard(7, me, 3), batch_size=2) for me in range(3)]
    assert [len(s.answers) for s in shards] == [2, 2, 3]
    assert score(task, test, Predictions.concatenate(shards)) == evaluate(model, task, test, batch_size=4)


def test_nproc_runs_the_same_command_on_n_processes_and_exits_with_their_status(fake_task, monkeypatch, tmp_path):
    launched = []

    def fake_run(arguments, nproc):
        launched.append((arguments, nproc))
        return 7

    monkeypatch.setattr(launch, "run_processes", fake_run)
    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--nproc", "2", "--set", "train.lr=0.01", "--out", str(tmp_path / "run")])
    assert result.exit_code == 7, result.output
    assert launched == [(["train", fake_task, "--config", "tiny", "--set", "train.lr=0.01", "--out", str(tmp_path / "run")], 2)]
    CliRunner().invoke(main, ["--debug", "train", fake_task, "--config", "tiny", "--nproc", "2", "--out", str(tmp_path / "run")])
    assert launched[-1][0][:2] == ["--debug", "train"]  # so that their errors come with tracebacks too


def test_the_launcher_gives_torchrun_a_command_line_it_accepts():
    from torch.distributed.run import get_args_parser

    options = get_args_parser().parse_args(launch.torchrun_arguments(["train", "sudoku", "--steps", "5"], 3))
    assert (options.standalone, options.nproc_per_node, options.module, options.training_script) == (True, "3", True, "trmkit")
    assert options.training_script_args == ["train", "sudoku", "--steps", "5"]


def test_the_processes_get_time_to_finish_a_step_and_know_how_they_were_started(monkeypatch):
    seen = []
    monkeypatch.delenv(launch.SHUTDOWN_TIMEOUT_VARIABLE, raising=False)
    monkeypatch.delenv(launch.NPROC_VARIABLE, raising=False)
    monkeypatch.setattr("torch.distributed.run.run", lambda options: seen.append((os.environ[launch.SHUTDOWN_TIMEOUT_VARIABLE], launch.launched_processes())))
    assert launch.run_processes(["train", "sudoku"], 2) == 0
    monkeypatch.setenv(launch.SHUTDOWN_TIMEOUT_VARIABLE, "7")  # the user's own choice stands
    assert launch.run_processes(["train", "sudoku"], 3) == 0
    assert seen == [(str(launch.SHUTDOWN_TIMEOUT_S), 2), ("7", 3)]
    assert launch.launched_processes() is None  # this process is none of theirs


def _ended(exitcode: int, rank: int = 0) -> Exception:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    return ChildFailedError("trmkit", {rank: ProcessFailure(local_rank=rank, pid=4321, exitcode=exitcode, error_file="")})


@pytest.mark.parametrize("raised, status", [
    (None, 0),
    (SignalException("got SIGINT", signal.SIGINT), 130),
    (SignalException("got SIGTERM", signal.SIGTERM), 143),
    (_ended(1), 1),  # the process printed its error; its status is the run's
    (_ended(2), 2),
], ids=["finished", "ctrl-c", "sigterm", "failed", "usage"])
def test_the_launcher_turns_how_the_processes_ended_into_one_exit_status(monkeypatch, raised, status):
    def fake_run(options):
        if raised is not None:
            raise raised

    monkeypatch.setattr("torch.distributed.run.run", fake_run)
    assert launch.run_processes(["train", "sudoku"], 2) == status


def test_a_training_process_killed_from_outside_is_named_in_one_line(monkeypatch):
    def fake_run(options):
        raise _ended(-signal.SIGKILL, rank=1)

    monkeypatch.setattr("torch.distributed.run.run", fake_run)
    with pytest.raises(launch.ProcessKilled, match=r"^training process 1 was killed by SIGKILL \(out of memory\?\)$"):
        launch.run_processes(["train", "sudoku"], 2)


def test_a_batch_nproc_cannot_split_is_one_line_before_torchrun_starts(fake_task, monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "run_processes", lambda arguments, nproc: pytest.fail("torchrun started"))
    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--nproc", "3", "--set", "train.batch_size=4", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr == "Error: train.batch_size 4 does not split evenly over 3 processes\n"


def _nproc_run(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """``trmkit train sudoku --nproc 2 ARGS`` on the CPU, in a process group of its own as a
    terminal's foreground job is (so that Ctrl-C reaches the launcher and both processes)."""
    env = {key: value for key, value in os.environ.items() if key not in (*distributed.LAUNCHER_VARIABLES, "TRMKIT_DISABLE_PLUGINS")}
    env.update(CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "trmkit", "train", "sudoku", "--config", "tiny", "--nproc", "2", "--device", "cpu", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


@pytest.mark.slow
def test_ctrl_c_stops_a_two_process_run_with_a_checkpoint_and_no_traceback(tmp_path):
    from test_reliability_crash import logged_steps, wait_until

    run_dir = tmp_path / "run"
    process = _nproc_run(tmp_path, "--steps", "5000", "--set", "train.log_every=1", "--set", "train.eval_every=0", "--out", str(run_dir))
    wait_until(lambda: len(logged_steps(run_dir)) >= 1, process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-3000:]
    step = logged_steps(run_dir)[-1]
    assert f"stopped at step {step}; continue with: " in stderr
    assert "--nproc 2" in stderr.split("continue with: ", 1)[1].splitlines()[0]  # resumes as it ran
    assert resolve(run_dir).name == f"step-{step:07d}"


@pytest.mark.slow
def test_a_failing_two_process_run_says_why_in_one_line_per_process(tmp_path):
    (tmp_path / "empty").mkdir()
    process = _nproc_run(tmp_path, "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run"))
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    errors = sorted(line for line in stderr.splitlines() if line.startswith("Error: "))
    assert errors[0] == f"Error: {tmp_path / 'empty'} is not a trmkit dataset (no manifest.json; build one with 'trmkit data build')", stderr[-3000:]
    # rank 1 waits for rank 0 and sees it go, unless torchrun's SIGTERM reaches it first
    assert len(errors) <= 2 and all(line.startswith("Error: rank 1: lost contact with the other training processes (one of them stopped or failed: see its error): ") for line in errors[1:]), stderr[-3000:]
    assert "Traceback" not in stderr and "FAILED" not in stderr, stderr[-3000:]


def test_nproc_under_torchrun_is_a_usage_error(fake_task, monkeypatch, tmp_path):
    for name, value in zip(distributed.LAUNCHER_VARIABLES, ("0", "2", "0", "127.0.0.1", "29500")):
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["train", fake_task, "--config", "tiny", "--nproc", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "leave it out when launching with torchrun" in result.stderr
