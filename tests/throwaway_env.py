"""A throwaway virtual environment that sees the tests' own, for installing plugins in tests.

Tests of installed plugins must not change the environment every other test runs in, so they
install into a fresh venv that also reads the current environment's site-packages (trmkit and
its dependencies come from outside, the plugin goes inside) and run everything in it as
subprocesses. ``--system-site-packages`` is not enough: it reaches the base interpreter's
packages, not those of the venv the tests may already run in (as in CI). Installs are offline:
``--no-deps --no-build-isolation --no-index`` with the setuptools already installed.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import venv
from pathlib import Path

OFFLINE_PIP = ("--no-deps", "--no-build-isolation", "--no-index", "--quiet")


class ThrowawayEnv:
    def __init__(self, root: Path) -> None:
        venv.EnvBuilder(with_pip=False).create(root)
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        own = self.run("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
        # After the venv's own packages: ours, with their .pth files (editable installs) run.
        outer = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
        lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in outer if os.path.isdir(path))
        (Path(own) / "outer_environment.pth").write_text(lines)

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` in the venv; one torch thread, as the machine's cores are shared."""
        environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TRMKIT_DISABLE_PLUGINS")}
        environment["OMP_NUM_THREADS"] = "1"
        return subprocess.run(
            [str(self.python), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
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
