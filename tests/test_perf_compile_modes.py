"""The compile-modes benchmark: its paired speed-up arithmetic and its command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmark_scripts import BENCHMARKS, load_benchmark

compile_modes = load_benchmark("compile_modes")


def test_paired_speedups_are_per_round_ratios_not_ratios_of_medians():
    # Per-round ratios 0.5, 2.5 and 2 have median 2; the ratio of the median times would be 3 / 2.
    speedup = compile_modes.paired_speedups([1.0, 10.0, 3.0], [2.0, 4.0, 1.5])
    assert speedup["median"] == pytest.approx(2.0)
    assert speedup["q1"] <= speedup["median"] <= speedup["q3"]


def test_compile_modes_prints_every_mode_and_the_paired_speedup():
    """Two eager trainers against each other (no compiling: seconds, not minutes), on 9x9 mazes
    rather than the maze task's full 30x30 (--seq-len)."""
    command = [sys.executable, str(BENCHMARKS / "compile_modes.py"), "--task", "maze", "--config", "tiny", "--batch", "4",
               "--modes", "eager,eager", "--warmup", "1", "--reps", "3", "--seq-len", "81", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result["modes"]) == ["eager#0", "eager#1"] and result["batch"] == 4 and result["rounds"] == 3
    assert result["seq_len"] == 81  # not the task's 900
    assert all(figures["examples_per_s"] > 0 for figures in result["modes"].values())
    assert 0 < result["speedup_over_first"]["eager#1"]["median"] < 10


def test_compile_modes_refuses_an_unknown_mode():
    done = subprocess.run([sys.executable, str(BENCHMARKS / "compile_modes.py"), "--modes", "eager,fast"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "unknown mode 'fast'" in done.stderr


def test_a_mode_may_add_settings_after_a_plus():
    assert compile_modes.mode_overrides("compiled+data.workers=1+train.lr=0.01") == ["train.compile=true", "data.workers=1", "train.lr=0.01"]
    with pytest.raises(SystemExit, match="unknown mode 'eager\\+fast'"):
        compile_modes.mode_overrides("eager+fast")
