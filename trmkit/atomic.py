"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through a temporary file in the same directory, then rename over ``path``. A
    failure (a full disk, no permission) is an OSError naming ``path``, not the temporary file."""
    try:
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with handle:
            write(handle)
            handle.flush()
            os.chmod(handle.name, new_file_mode())  # the temporary file is private (0600); the result should not be
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException as exc:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from exc
        raise
    fsync_directory(path.parent)


def _naming(error: OSError, path: Path) -> OSError:
    """The same error (its subclass too: PermissionError, ...) about ``path``."""
    return OSError(error.errno, error.strerror or str(error), str(path)) if error.errno else OSError(f"{path}: {error}")


@functools.cache
def new_file_mode() -> int:
    """The mode an ordinary ``open(path, "w")`` would give: 0666 less the process's umask (read
    once: reading it means setting it, which another thread could see in between)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries, so that a rename in it survives a power cut too (not just a
    killed process). Systems that cannot open a directory (Windows) skip this."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
