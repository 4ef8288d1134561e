"""One training run at a time in a run directory.

Two runs writing the same ``--out`` (a job started twice, a resume while the first still runs)
would mix their checkpoints and cut each other's ``metrics.jsonl``. The run holds an advisory
lock on ``RUN/.lock``: a POSIX record lock (``lockf``), which the system releases when the
process ends, however it ends, and which the processes it forks (batch workers) do not inherit,
so a killed run never leaves the lock behind it. Systems without ``fcntl`` (Windows) go unlocked.
"""

from __future__ import annotations

import errno
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .atomic import new_file_mode
from .errors import TrmkitError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
#: What a file system without locks answers (some network and parallel file systems): the run
#: goes on unlocked, with a warning, rather than not at all.
UNSUPPORTED = frozenset({errno.ENOLCK, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})
#: Locks this process holds (run directory -> descriptor): taking one again is a no-op, so the
#: command line can lock before it builds the dataset and ``train`` lock again inside.
_held: dict[Path, int] = {}


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block; a run of another process holding it is an error
    naming that process."""
    key = Path(run_dir).resolve()
    if fcntl is None or key in _held:
        yield
        return
    key.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key / LOCK_FILE, os.O_RDWR | os.O_CREAT, new_file_mode())
    try:
        fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.read(descriptor, 32).decode(errors="replace").strip()
        os.close(descriptor)
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            by = f" (process {holder})" if holder.isdigit() else ""
            raise TrmkitError(f"{run_dir} is in use by another training run{by}; wait for it to end or choose another --out") from None
        if exc.errno not in UNSUPPORTED:
            raise OSError(exc.errno, exc.strerror, str(key / LOCK_FILE)) from None
        warnings.warn(f"{run_dir}: this file system cannot lock files; make sure no other run writes there")
        descriptor = -1
    if descriptor < 0:
        yield
        return
    os.ftruncate(descriptor, 0)
    os.write(descriptor, str(os.getpid()).encode())
    _held[key] = descriptor
    try:
        yield
    finally:
        del _held[key]
        os.close(descriptor)
