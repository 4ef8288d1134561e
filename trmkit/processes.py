"""Helper processes of a training run (batch workers, version pools): how many, and signals.

Ctrl-C in a terminal, and SIGTERM from a scheduler or from torchrun, reach every process of the
job's group, helpers included. The training process handles them (it finishes its step, saves,
and exits); a helper that died of them first would make it fail instead, with nothing saved. So
helpers ignore both and end with their parent (torch's batch workers watch it; a pool's
processes lose their pipe to it).
"""

from __future__ import annotations

import os
import signal


def cores_per_process() -> int:
    """The cores this process may use (its CPU affinity: what a scheduler gave the job), shared
    among the training processes torchrun started on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def ignore_stop_signals(*_: object) -> None:
    """Run first in every helper process (any arguments are ignored: initializer hooks pass some)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
