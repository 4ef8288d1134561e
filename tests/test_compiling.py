"""train.compile: where compiling cannot work, training falls back to eager with a warning
instead of failing at its first step."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from trmkit import compiling
from trmkit.compiling import compiled_forward
from trmkit.config import ModelConfig
from trmkit.model import TRM

CPU = torch.device("cpu")


def tiny_model() -> TRM:
    return TRM(ModelConfig(vocab_size=7, seq_len=12, hidden_size=32, num_heads=2, T=2, n=2, halt_max_steps=4, puzzle_emb_len=4))


def test_without_a_working_compiler_training_runs_eagerly_with_a_warning(monkeypatch):
    monkeypatch.setattr(compiling, "compiler_failure", lambda device: "InvalidCxxCompiler: none found")
    model = tiny_model()
    with pytest.warns(UserWarning, match=r"train.compile: torch.compile cannot build kernels here \(InvalidCxxCompiler: none found\); training eagerly"):
        assert compiled_forward(model, True, CPU) is model


def test_not_compiling_probes_nothing(monkeypatch):
    monkeypatch.setattr(compiling, "compiler_failure", lambda device: pytest.fail("probed the compiler"))
    model = tiny_model()
    assert compiled_forward(model, False, CPU) is model


@pytest.mark.slow
def test_with_a_working_compiler_the_forward_is_compiled_and_computes_what_eager_does():
    model = tiny_model()
    forward = compiled_forward(model, True, CPU)
    assert forward is not model
    inputs, ids = torch.randint(1, 7, (3, 12)), torch.zeros(3, dtype=torch.long)
    expected = model(*model.initial_carry(3), inputs, ids)
    got = forward(*model.initial_carry(3), inputs, ids)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_the_probe_names_a_missing_cxx_compiler(tmp_path):
    """The real failure, not a stand-in: inductor told to use a C++ compiler that does not exist."""
    env = dict(os.environ, CXX=str(tmp_path / "no-such-g++"), TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "cache"))
    code = "import torch; from trmkit.compiling import compiler_failure; print(compiler_failure(torch.device('cpu')))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "InvalidCxxCompiler" in done.stdout and "no-such-g++" in done.stdout


@pytest.mark.slow
def test_train_announces_the_compile_it_does(tmp_path):
    from click.testing import CliRunner

    from trmkit.cli import main

    result = CliRunner().invoke(main, ["train", "sudoku", "--config", "tiny", "--steps", "1", "--set", "train.compile=true", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "train.compile: the first steps compile the network" in result.stderr
    assert "training eagerly" not in result.stderr


def test_train_says_in_one_line_that_it_trains_eagerly(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from trmkit.cli import main

    monkeypatch.setattr(compiling, "compiler_failure", lambda device: "InvalidCxxCompiler: [none] found")
    result = CliRunner().invoke(main, ["train", "sudoku", "--config", "tiny", "--steps", "2", "--set", "train.compile=true", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    expected = "warning: train.compile: torch.compile cannot build kernels here (InvalidCxxCompiler: [none] found); training eagerly"
    assert expected in result.stderr.splitlines()
    assert "the first steps compile" not in result.stderr  # it does not announce a compile it will not do
    assert "Traceback" not in result.output and (tmp_path / "run" / "checkpoints" / "step-0000002").is_dir()
