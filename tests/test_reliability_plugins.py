"""Guarantee 6 of issue 7: broken plugins stay isolated. tests/test_plugins.py and
tests/test_cli_tasks.py cover each kind of failure alone; here a plugin that calls ``sys.exit``
(a module written as a script) fails alone too, and every kind of broken plugin installed at
once, in a fresh process, is named by ``trmkit plugins`` while the other tasks keep working.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trmkit.cli import main
from trmkit.plugins import Registry

from conftest import FAKE_TASK_DISTRIBUTION, Distributions, run_trmkit

EXITS_ON_IMPORT = "import sys\nsys.exit('usage: run me as a script')\n"

EXITS_IN_A_HOOK = """
import sys
import trmkit

@trmkit.hookimpl
def trmkit_augmenters(task):
    sys.exit(3)
"""

BROKEN = {
    # distribution: (module source, the error 'trmkit plugins' must show)
    "trmkit-import-error": ("import trmkit_no_such_dependency\n", "failed to load: ModuleNotFoundError"),
    "trmkit-exits": (EXITS_ON_IMPORT, "failed to load: SystemExit: usage: run me as a script"),
    "trmkit-exits-in-hook": (EXITS_IN_A_HOOK, "trmkit_augmenters raised SystemExit: 3"),
    "trmkit-raises": (
        "import trmkit\n\n@trmkit.hookimpl\ndef trmkit_validators(task):\n    raise RuntimeError('no rules table')\n",
        "trmkit_validators raised RuntimeError: no rules table",
    ),
    "trmkit-wrong-type": (
        "import trmkit\n\n@trmkit.hookimpl\ndef trmkit_decoder(task):\n    return 42\n",
        "trmkit_decoder returned int, not a Decoder",
    ),
    "trmkit-latin-copy": (
        "import trmkit\nfrom trmkit_latin_fixture import SPEC\n\n@trmkit.hookimpl\ndef trmkit_tasks():\n    return [SPEC]\n",
        "declared by two distributions",
    ),
}


def install_broken(dists: Distributions, names: list[str]) -> None:
    for name in names:
        module = name.replace("-", "_")
        dists.add(name, {name.removeprefix("trmkit-"): module}, {module: BROKEN[name][0]})


@pytest.mark.parametrize("name", ["trmkit-exits", "trmkit-exits-in-hook"])
def test_a_plugin_that_calls_sys_exit_fails_alone(fake_task: str, dists: Distributions, name: str) -> None:
    install_broken(dists, [name])
    registry = Registry().load_entry_points()
    task = registry.task("latin")  # runs every hook: trmkit is still here afterwards
    assert [a.name for a in task.augmenters] == ["latin-symmetries"]
    broken = next(info for info in registry.plugins if info.distribution == name)
    assert broken.status == "failed" and BROKEN[name][1] in broken.error


def test_every_kind_of_broken_plugin_at_once_is_named_and_the_other_tasks_keep_working(fake_task_root, dists: Distributions, tmp_path) -> None:
    install_broken(dists, list(BROKEN))
    pythonpath = [fake_task_root, dists.root]
    listing = run_trmkit("plugins", "--json", pythonpath=pythonpath)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    shown = {row["distribution"]: row for row in rows}
    for name, (_, error) in BROKEN.items():
        assert shown[name]["status"] == "failed" and error in shown[name]["error"], (name, shown[name])
    built_in = [row for row in rows if row["distribution"] == "trmkit"]
    assert all(row["status"] == "ok" for row in built_in)
    assert {"sudoku", "maze"} <= {task for row in built_in for task in row["tasks"]}

    puzzle = tmp_path / "p.txt"
    puzzle.write_text("534678912672195348198342567859761423426853791713924856961537284287419635345286179\n")
    check = run_trmkit("check", "sudoku", str(puzzle), str(puzzle), pythonpath=pythonpath)
    assert check.returncode == 0 and "valid" in check.stdout + check.stderr, check.stderr
    latin = run_trmkit("check", "latin", str(puzzle), str(puzzle), pythonpath=pythonpath)
    assert latin.returncode == 1 and latin.stderr.count("\n") == 1  # the task two plugins claim: one line
    assert "declared by two distributions" in latin.stderr and FAKE_TASK_DISTRIBUTION in latin.stderr



RAISES_WHEN_VALIDATING = """
import trmkit

class Strict:
    name = "strict"

    def validate(self, puzzle, answer):
        return 1 / 0

@trmkit.hookimpl
def trmkit_validators(task):
    return [Strict()] if task == "latin" else []
"""


def test_an_exception_from_a_plugins_code_is_named_as_that_plugins_bug(fake_task: str, dists: Distributions, tmp_path) -> None:
    """Raised while the command runs (not while loading): one line naming the plugin, exit 1."""
    dists.add("trmkit-strict", {"strict": "trmkit_strict"}, {"trmkit_strict": RAISES_WHEN_VALIDATING})
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("1234341221434321\n")
    result = CliRunner().invoke(main, ["check", "latin", str(puzzle), str(puzzle)])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: plugin 'strict' (trmkit-strict) failed: ZeroDivisionError: division by zero; "
        "this is a bug of that plugin (rerun with --debug for the traceback)\n"
    )
