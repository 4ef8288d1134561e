"""The batch-loading benchmark runs and reports each worker count's wait."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmark_scripts import BENCHMARKS


def test_batch_loading_reports_the_wait_for_every_worker_count():
    command = [sys.executable, str(BENCHMARKS / "batch_loading.py"), "--config", "tiny", "--batch", "8", "--workers", "0,1",
               "--steps", "2", "--step-ms", "5", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["batch"] == 8 and result["step_ms"] == 5 and list(result["workers"]) == ["0", "1"]
    for figures in result["workers"].values():
        assert 0 < figures["wait_s"] <= figures["max_wait_s"] and 0 < figures["device_idle_fraction"] < 1
