"""A throwaway virtual environment that sees the global one, for installing plugins in tests.

Tests of installed plugins must not change the environment every other test runs in, so they
install into a venv made with ``--system-site-packages`` (trmkit and its dependencies come
from outside, the plugin goes inside) and run everything in it as subprocesses. Installs are
offline: ``--no-deps --no-build-isolation --no-index`` with the setuptools already installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

OFFLINE_PIP = ("--no-deps", "--no-build-isolation", "--no-index", "--quiet")


class ThrowawayEnv:
    def __init__(self, root: Path) -> None:
        venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root)
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` in the venv; one torch thread, as the machine's cores are shared."""
        environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TRMKIT_DISABLE_PLUGINS")}
        environment["OMP_NUM_THREADS"] = "1"
        return subprocess.run(
            [str(self.python), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
        )

    def trmkit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "trmkit", *args)

    def tasks(self) -> dict[str, dict]:
        listed = self.trmkit("tasks", "--json")
        assert listed.returncode == 0, listed.stderr
        return {row["name"]: row for row in json.loads(listed.stdout)}


def copy_project(source: Path, destination: Path) -> Path:
    """A clean copy of a plugin's folder: building it writes build/ and *.egg-info/ in place."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    return destination


__all__ = ["OFFLINE_PIP", "ThrowawayEnv", "copy_project"]
