"""``trmkit train --nproc N``: start N training processes of this machine with torchrun.

torchrun's launcher runs inside this process rather than as a program of its own, so that the end
of a run is trmkit's to report: each training process prints its own ``Error: ...`` line, and
the launcher only turns the outcome into an exit status (the failing process's, or 128 + the
signal on Ctrl-C or SIGTERM) instead of torchrun's tracebacks and failure tables.
"""

from __future__ import annotations

import logging
import os
import signal
from contextlib import contextmanager
from typing import Iterator

from .errors import TrmkitError

#: Seconds the processes get, after Ctrl-C or SIGTERM, to finish their step and write a
#: checkpoint before torchrun kills them (its default, 30 s, is less than one step of the paper
#: configs on a CPU).
SHUTDOWN_TIMEOUT_S = 600


class ProcessKilled(TrmkitError):
    """A training process ended by a signal nobody sent it through trmkit (e.g. the OOM killer)."""


#: How torchrun is told the shutdown timeout (an environment variable, not its
#: ``--shutdown-timeout``, which older torch releases do not accept; those keep their 30 s).
SHUTDOWN_TIMEOUT_VARIABLE = "TORCH_ELASTIC_SHUTDOWN_TIMEOUT"


#: Tells the processes that ``--nproc N`` started them (so a stopped run's "continue with"
#: command says ``--nproc N`` again).
NPROC_VARIABLE = "TRMKIT_NPROC"


def launched_processes() -> int | None:
    """N when this process is one of ``trmkit train --nproc N``'s."""
    value = os.environ.get(NPROC_VARIABLE, "")
    return int(value) if value.isdigit() else None


def torchrun_arguments(trmkit_arguments: list[str], nproc: int) -> list[str]:
    """torchrun's command line (without the program) for running ``trmkit ARGS`` on ``nproc``
    processes of this machine."""
    return ["--standalone", f"--nproc_per_node={nproc}", "-m", "trmkit", *trmkit_arguments]


def run_processes(trmkit_arguments: list[str], nproc: int) -> int:
    """Run ``trmkit ARGS`` on ``nproc`` processes and wait; returns the exit status for the
    whole: 0, the status of the process that failed first, or 128 + the signal that stopped it."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    _quiet_launcher_logs()
    timeout = os.environ.get(SHUTDOWN_TIMEOUT_VARIABLE) or str(SHUTDOWN_TIMEOUT_S)  # one set by the user wins
    try:
        with _environment({SHUTDOWN_TIMEOUT_VARIABLE: timeout, NPROC_VARIABLE: str(nproc)}):  # the processes inherit it
            run(get_args_parser().parse_args(torchrun_arguments(trmkit_arguments, nproc)))
    except SignalException as stopped:  # Ctrl-C or SIGTERM: the processes checkpoint and stop
        return 128 + int(stopped.sigval)
    except ChildFailedError as failed:
        rank, failure = failed.get_first_failure()
        if failure.exitcode >= 0:
            return failure.exitcode  # that process said why on stderr
        name = failure.signal_name()
        hint = " (out of memory?)" if -failure.exitcode == signal.SIGKILL else ""
        raise ProcessKilled(f"training process {rank} was killed by {name}{hint}") from None
    return 0


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the block, then as they were."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _quiet_launcher_logs() -> None:
    """torchrun logs every worker it stops or sees fail; the workers' own lines say it better."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed.elastic") or name == "torch.distributed.run":
            logging.getLogger(name).setLevel(logging.CRITICAL)
