"""``trmkit tasks`` and ``trmkit plugins``: listings that survive broken plugins."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from trmkit.cli import main

from conftest import FAKE_TASK_DISTRIBUTION, FAKE_TASK_VERSION, run_trmkit

BROKEN = "raise ImportError('needs libfoo')\n"

RAISING_TOKENIZER = """
import trmkit

@trmkit.hookimpl
def trmkit_tokenizer(task):
    raise ValueError("tokenizer [config] missing")
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def rows(result: Result) -> dict[str, dict]:
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_tasks_json_describes_each_task(fake_task: str) -> None:
    latin = rows(invoke("tasks", "--json"))["latin"]
    assert latin == {
        "name": "latin",
        "summary": "4x4 Latin square completion (test fixture)",
        "vocab_size": 6,
        "seq_len": 16,
        "grid_shape": [4, 4],
        "formats": ["16-char line", "puzzle,solution"],
        "plugin": "latin",
        "distribution": FAKE_TASK_DISTRIBUTION,
        "version": FAKE_TASK_VERSION,
        "status": "ok",
        "error": "",
    }


def test_tasks_table_is_the_result_on_stdout(fake_task: str) -> None:
    result = invoke("tasks")
    assert result.exit_code == 0 and result.stderr == ""
    line = next(line for line in result.stdout.splitlines() if "latin" in line)
    for cell in ("4x4 Latin square completion", "6", "16", "16-char line", f"{FAKE_TASK_DISTRIBUTION} {FAKE_TASK_VERSION}"):
        assert cell in line


def test_a_broken_plugin_leaves_tasks_working_and_shows_in_plugins(fake_task: str, dists) -> None:
    dists.add("trmkit-broken", {"broken": "trmkit_broken"}, {"trmkit_broken": BROKEN})
    assert "latin" in rows(invoke("tasks", "--json"))
    broken = rows(invoke("plugins", "--json"))["broken"]
    assert broken["status"] == "failed" and broken["distribution"] == "trmkit-broken"
    assert broken["error"] == "failed to load: ImportError: needs libfoo"
    table = invoke("plugins")
    assert table.exit_code == 0 and table.stderr == ""
    line = next(line for line in table.stdout.splitlines() if "trmkit-broken" in line)
    assert "failed" in line and "ImportError: needs libfoo" in line


def test_plugins_lists_hooks_and_tasks_of_healthy_plugins(fake_task: str) -> None:
    latin = rows(invoke("plugins", "--json"))["latin"]
    assert latin["status"] == "ok" and latin["tasks"] == ["latin"] and latin["error"] == ""
    assert "trmkit_validators" in latin["hooks"]


def test_plugins_finds_hooks_that_fail_only_when_called(fake_task: str, dists) -> None:
    # The error holds rich markup brackets: it must be shown as text, not interpreted.
    dists.add("trmkit-raising", {"raising": "trmkit_raising"}, {"trmkit_raising": RAISING_TOKENIZER})
    raising = rows(invoke("plugins", "--json"))["raising"]
    assert raising["status"] == "failed"
    assert raising["error"] == "trmkit_tokenizer raised ValueError: tokenizer [config] missing"
    assert "tokenizer [config] missing" in invoke("plugins").stdout
    assert rows(invoke("tasks", "--json"))["latin"]["status"] == "ok"


def test_a_duplicate_task_is_shown_as_failed_naming_both_distributions(fake_task: str, dists) -> None:
    copy = "import trmkit\nfrom trmkit_latin_fixture import SPEC\n\n@trmkit.hookimpl\ndef trmkit_tasks():\n    return [SPEC]\n"
    dists.add("trmkit-latin-copy", {"latin-copy": "trmkit_latin_copy"}, {"trmkit_latin_copy": copy})
    latin = rows(invoke("tasks", "--json"))["latin"]
    assert latin["status"] == "failed"
    assert FAKE_TASK_DISTRIBUTION in latin["error"] and "trmkit-latin-copy" in latin["error"]
    check = invoke("config", "list", "latin")
    assert check.exit_code == 1 and "declared by two distributions" in check.stderr


def test_a_disabled_plugin_is_listed_as_disabled(fake_task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRMKIT_DISABLE_PLUGINS", FAKE_TASK_DISTRIBUTION)
    assert "latin" not in rows(invoke("tasks", "--json"))
    latin = rows(invoke("plugins", "--json"))["latin"]
    assert latin["status"] == "disabled" and "TRMKIT_DISABLE_PLUGINS" in latin["error"]


def test_the_installed_tasks_list_the_built_ins_with_their_distribution_in_a_fresh_process() -> None:
    result = run_trmkit("tasks", "--json")
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    for name in ("sudoku", "maze"):
        assert listed[name]["distribution"] == "trmkit"
