"""The example third-party plugin (examples/trmkit-nonogram), installed as its users would.

It is pip-installed from its folder, through ``trmkit install``, into a throwaway environment
(see throwaway_env.py), where its own tests run (the plugin contract, the Nonogram rules, and
``trmkit train --config tiny --steps 10`` then ``trmkit solve``) and ``trmkit tasks`` lists it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from throwaway_env import OFFLINE_PIP, ThrowawayEnv, copy_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trmkit-nonogram"
HOOKS = ["trmkit_augmenters", "trmkit_decoder", "trmkit_tasks", "trmkit_tokenizer", "trmkit_validators"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[ThrowawayEnv, Path]:
    root = tmp_path_factory.mktemp("example")
    env = ThrowawayEnv(root / "venv")
    project = copy_project(EXAMPLE, root / "trmkit-nonogram")
    result = env.trmkit("install", str(project), *OFFLINE_PIP)
    assert result.returncode == 0, result.stderr
    return env, project


@pytest.mark.slow
def test_trmkit_lists_the_installed_example(installed: tuple[ThrowawayEnv, Path]) -> None:
    env, _ = installed
    nonogram = env.tasks()["nonogram"]
    assert (nonogram["distribution"], nonogram["version"], nonogram["status"]) == ("trmkit-nonogram", "0.1.0", "ok")
    assert (nonogram["seq_len"], nonogram["vocab_size"]) == (81, 11)
    listed = env.trmkit("plugins", "--json")
    plugin = next(row for row in json.loads(listed.stdout) if row["distribution"] == "trmkit-nonogram")
    assert (plugin["version"], plugin["status"], plugin["tasks"], plugin["hooks"]) == ("0.1.0", "ok", ["nonogram"], HOOKS)


@pytest.mark.slow
def test_the_example_passes_its_own_tests_once_installed(installed: tuple[ThrowawayEnv, Path]) -> None:
    env, project = installed
    result = env.run("-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and not any(word in summary for word in ("failed", "skipped", "deselected", "error")), summary


def test_the_example_uses_trmkit_public_api_only() -> None:
    """``import trmkit`` and ``trmkit.testing`` (for tests) only: no engine internals."""
    for path in EXAMPLE.rglob("*.py"):
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and words[1].startswith("trmkit."):
                assert words[1] in ("trmkit.testing", "trmkit.cli"), f"{path}: {line}"
