"""The throughput benchmark's analytic FLOPs against torch's own count, and its command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from trmkit.config import ModelConfig
from trmkit.losses import act_loss
from trmkit.model import TRM

from benchmark_scripts import BENCHMARKS, load_benchmark

throughput = load_benchmark("throughput")


@pytest.mark.parametrize("mixer, encodings", [("mlp_t", "none"), ("attention", "rope")])
def test_analytic_flops_equal_the_counted_matmul_flops(mixer: str, encodings: str):
    config = ModelConfig(vocab_size=7, seq_len=12, hidden_size=32, num_heads=2, T=2, n=2, puzzle_emb_len=4, mixer=mixer, pos_encodings=encodings, forward_dtype="float32")
    model = TRM(config).train()
    batch = 3
    inputs = torch.randint(1, 7, (batch, 12))
    y, z = model.initial_carry(batch)
    ids = torch.zeros(batch, dtype=torch.long)
    # The math attention backend runs as matmuls the counter sees (it skips the fused CPU kernel).
    with sdpa_kernel(SDPBackend.MATH):
        with FlopCounterMode(display=False) as forward:
            _, _, logits, q_halt, _ = model(y, z, inputs, ids)
        loss, _, _ = act_loss(logits, inputs, q_halt)
        with FlopCounterMode(display=False) as backward:
            loss.backward()
    flops = throughput.analytic_flops(config)
    assert forward.get_total_flops() == batch * flops["forward_per_supervision_step"]
    assert forward.get_total_flops() + backward.get_total_flops() == batch * flops["train_per_example"]


def test_paper_sudoku_costs_about_43_gflop_per_training_example():
    """L = 81 + 16 puzzle positions makes the token MLP 512 wide (the peers' 81 positions: 31.2)."""
    paper = ModelConfig(vocab_size=11, seq_len=81, mixer="mlp_t", pos_encodings="none")
    assert throughput.analytic_flops(paper)["train_per_example"] / 1e9 == pytest.approx(42.7, abs=0.05)
    no_prefix = ModelConfig(vocab_size=11, seq_len=81, mixer="mlp_t", pos_encodings="none", puzzle_emb_len=0)
    assert throughput.analytic_flops(no_prefix)["train_per_example"] / 1e9 == pytest.approx(31.2, abs=0.05)


@pytest.mark.slow
def test_throughput_prints_the_fields_the_issue_asks_for():
    command = [sys.executable, str(BENCHMARKS / "throughput.py"), "--task", "sudoku", "--config", "tiny", "--batch", "4",
               "--warmup", "1", "--reps", "1", "--infer-reps", "1", "--infer-steps", "2", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("config", "device", "batch", "train_examples_per_s", "infer_puzzles_per_s", "flops_per_train_example",
                "gemm_flops_per_s", "train_fraction_of_bound", "peak_rss_mb"):
        assert key in result
    assert result["batch"] == 4 and result["config"] == "tiny" and result["seq_len"] == 81
    assert result["compile"] is False  # no --compile / --no-compile: the config's own setting
    assert result["train_examples_per_s"] > 0 and 0 < result["train_fraction_of_bound"] < 1.5
    assert result["peak_rss_mb"] > 50
    # The products the profiler saw in one step are the ones the analytic formula counts.
    assert result["profiled_gemm_flops_per_train_example"] == pytest.approx(result["flops_per_train_example"], rel=1e-6)
    assert 0 < result["gemm_shape_efficiency"] and result["train_time_outside_gemm"] < 1
    # On CPU the batches are built in the training process (data.workers unset), and timed.
    assert result["data_workers"] == 0 and 0 < result["batch_wait_s"] < result["train_step_s"]
    # Which processor: the same machine kind comes with AVX2-only and AVX-512 CPUs.
    assert result["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and isinstance(result["cpu_native_bf16"], bool)


def test_gpu_script_is_valid_bash_and_refuses_unknown_arguments():
    script = BENCHMARKS / "gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    done = subprocess.run(["bash", str(script), "--bogus"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
