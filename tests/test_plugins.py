"""The plugin loader: plugins are separate distributions, and a broken one breaks nothing else."""

from __future__ import annotations

import importlib
import json
from importlib import metadata

import pytest

import trmkit
from trmkit.plugins import Registry

from conftest import FAKE_TASK_DISTRIBUTION, FAKE_TASK_VERSION, Distributions, run_trmkit

BROKEN_IMPORT = "import trmkit_no_such_dependency\n"

DUPLICATE_LATIN = """
import trmkit
from trmkit_latin_fixture import SPEC

@trmkit.hookimpl
def trmkit_tasks():
    return [SPEC]
"""

RAISING_VALIDATORS = """
import trmkit

@trmkit.hookimpl
def trmkit_validators(task):
    raise RuntimeError("validator table missing")
"""

WRONG_TOKENIZER = """
import trmkit

@trmkit.hookimpl
def trmkit_tokenizer(task):
    return "not a tokenizer"
"""

EXTRA_AUGMENTER_AND_DECODER = """
import trmkit
from trmkit_latin_fixture import Decoder, Symmetries

class LoudDecoder(Decoder):
    pass

@trmkit.hookimpl
def trmkit_augmenters(task):
    return [Symmetries()] if task == "latin" else None

@trmkit.hookimpl
def trmkit_decoder(task):
    return LoudDecoder() if task == "latin" else None
"""

FUTURE_API = """
import dataclasses
import trmkit
from trmkit_latin_fixture import SPEC

@trmkit.hookimpl
def trmkit_tasks():
    return [dataclasses.replace(SPEC, name="future", api_version=trmkit.API_VERSION + 1)]
"""

BAD_SIGNATURE = """
import trmkit

@trmkit.hookimpl
def trmkit_tokenizer(task, colour):
    return None
"""

VOCABULARY_AS_TEXT = """
import dataclasses
import trmkit
from trmkit_latin_fixture import SPEC

@trmkit.hookimpl
def trmkit_tasks():
    return [dataclasses.replace(SPEC, name="texty", vocab_size="6")]
"""

MISSPELT_HOOK = """
import trmkit

@trmkit.hookimpl
def trmkit_validator(task):
    return []
"""

TASKS_NOT_A_LIST = """
import trmkit
from trmkit_latin_fixture import SPEC
import dataclasses

@trmkit.hookimpl
def trmkit_tasks():
    return dataclasses.replace(SPEC, name="single")
"""


FLAKY_TASK = """
import dataclasses
import trmkit
from trmkit_latin_fixture import SPEC, TOKENIZER, Decoder

@trmkit.hookimpl
def trmkit_tasks():
    return [dataclasses.replace(SPEC, name="flaky")]

@trmkit.hookimpl
def trmkit_tokenizer(task):
    return TOKENIZER if task == "flaky" else None

@trmkit.hookimpl
def trmkit_decoder(task):
    return Decoder() if task == "flaky" else None

@trmkit.hookimpl
def trmkit_validators(task):
    raise KeyError(task)
"""


def loaded() -> Registry:
    return Registry().load_entry_points()


def info(registry: Registry, name: str) -> trmkit.plugins.PluginInfo:
    return next(plugin for plugin in registry.plugins if plugin.name == name)


def test_sudoku_is_registered_through_the_public_entry_point_group() -> None:
    entry = {ep.name: ep for ep in metadata.entry_points(group="trmkit")}["sudoku"]
    assert entry.value == "trmkit_sudoku"
    assert entry.dist is not None and entry.dist.name == "trmkit"


def test_a_task_from_another_distribution_is_found_with_its_version(fake_task: str) -> None:
    registry = loaded()
    plugin = info(registry, "latin")
    assert (plugin.distribution, plugin.version, plugin.status) == (FAKE_TASK_DISTRIBUTION, FAKE_TASK_VERSION, "ok")
    assert plugin.tasks == ["latin"]
    assert set(plugin.hooks) == {
        "trmkit_tasks", "trmkit_tokenizer", "trmkit_decoder", "trmkit_augmenters", "trmkit_jitters", "trmkit_validators",
    }
    task = registry.task("latin")
    assert task.plugin == FAKE_TASK_DISTRIBUTION
    assert [v.name for v in task.validators] == ["latin-rules"]


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_work(fake_task: str, dists: Distributions) -> None:
    dists.add("trmkit-broken", {"broken": "trmkit_broken"}, {"trmkit_broken": BROKEN_IMPORT})
    registry = loaded()
    broken = info(registry, "broken")
    assert broken.status == "failed"
    assert "ModuleNotFoundError" in broken.error and "trmkit_no_such_dependency" in broken.error
    assert registry.task("latin").name == "latin"


def test_a_duplicate_task_names_both_distributions(fake_task: str, dists: Distributions) -> None:
    # The same entry-point name as the original, too: that must not hide the real conflict.
    dists.add("trmkit-latin-copy", {"latin": "trmkit_latin_copy"}, {"trmkit_latin_copy": DUPLICATE_LATIN})
    registry = loaded()
    with pytest.raises(trmkit.PluginError, match="declared by two distributions") as raised:
        registry.task("latin")
    assert FAKE_TASK_DISTRIBUTION in str(raised.value) and "trmkit-latin-copy" in str(raised.value)
    second = [plugin for plugin in registry.plugins if plugin.status == "failed"]
    assert len(second) == 1 and "declared by two distributions" in second[0].error


@pytest.mark.parametrize("blocked", ["latin", "trmkit-latin-fixture", "TRMKIT_LATIN_FIXTURE", "other, latin"])
def test_disable_env_blocks_by_entry_point_or_distribution_name(
    fake_task: str, monkeypatch: pytest.MonkeyPatch, blocked: str
) -> None:
    monkeypatch.setenv("TRMKIT_DISABLE_PLUGINS", blocked)
    registry = loaded()
    assert info(registry, "latin").status == "disabled"
    with pytest.raises(trmkit.UnknownTaskError, match="unknown task 'latin'"):
        registry.task("latin")


def test_a_hook_that_raises_fails_its_plugin_only(fake_task: str, dists: Distributions) -> None:
    dists.add("trmkit-raising", {"raising": "trmkit_raising"}, {"trmkit_raising": RAISING_VALIDATORS})
    registry = loaded()
    task = registry.task("latin")
    assert [v.name for v in task.validators] == ["latin-rules"]
    raising = info(registry, "raising")
    assert raising.status == "failed"
    assert raising.error == "trmkit_validators raised RuntimeError: validator table missing"


def test_a_hook_that_returns_the_wrong_type_fails_its_plugin_only(fake_task: str, dists: Distributions) -> None:
    dists.add("trmkit-wrong", {"wrong": "trmkit_wrong"}, {"trmkit_wrong": WRONG_TOKENIZER})
    registry = loaded()
    task = registry.task("latin")
    assert type(task.tokenizer).__name__ == "Tokenizer"
    assert info(registry, "wrong").error == "trmkit_tokenizer returned str, not a Tokenizer"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (BAD_SIGNATURE, "failed to load: PluginValidationError"),
        (FUTURE_API, "needs plugin API 2; this trmkit offers 1 (upgrade trmkit)"),
        (TASKS_NOT_A_LIST, "trmkit_tasks returned TaskSpec, not a list of TaskSpec"),
        (MISSPELT_HOOK, "implements trmkit_validator, which is not a trmkit hook (did you mean trmkit_validators?)"),
        (VOCABULARY_AS_TEXT, "trmkit_tasks returned a TaskSpec whose vocab_size is '6', not an int of at least 1"),
    ],
    ids=["bad-signature", "future-api", "tasks-not-a-list", "misspelt-hook", "vocabulary-as-text"],
)
def test_a_plugin_that_registers_badly_is_reported(
    fake_task: str, dists: Distributions, source: str, error: str
) -> None:
    dists.add("trmkit-bad", {"bad": "trmkit_bad"}, {"trmkit_bad": source})
    registry = loaded()
    assert info(registry, "bad").status == "failed"
    assert error in info(registry, "bad").error
    assert not {"future", "single"} & set(registry.task_names())
    assert registry.task("latin").name == "latin"


def test_a_task_whose_own_plugin_fails_is_refused_with_the_reason(fake_task: str, dists: Distributions) -> None:
    # Not used with its validator silently missing (which would make 'trmkit check' pass anything).
    dists.add("trmkit-flaky", {"flaky": "trmkit_flaky"}, {"trmkit_flaky": FLAKY_TASK})
    registry = loaded()
    for _ in range(2):  # the same answer when the failure is already known
        with pytest.raises(trmkit.PluginError, match=r"plugin 'flaky' \(trmkit-flaky\) failed: trmkit_validators raised"):
            registry.task("flaky")
    assert registry.task("latin").name == "latin"


def test_later_plugins_override_the_decoder_and_add_augmenters(fake_task: str, dists: Distributions) -> None:
    # Third-party plugins load in entry-point name order (after trmkit's own), so this one is
    # registered after "latin", is asked first, and its decoder wins.
    dists.add("trmkit-extra", {"latin_extra": "trmkit_extra"}, {"trmkit_extra": EXTRA_AUGMENTER_AND_DECODER})
    task = loaded().task("latin")
    assert type(task.decoder).__name__ == "LoudDecoder"
    assert [a.name for a in task.augmenters] == ["latin-symmetries", "latin-symmetries"]


def test_cli_lists_tasks_and_a_broken_plugin_in_a_fresh_process(fake_task_root, dists: Distributions) -> None:
    """No pip, no change to trmkit: distributions on PYTHONPATH are all it takes."""
    dists.add("trmkit-broken", {"broken": "trmkit_broken"}, {"trmkit_broken": BROKEN_IMPORT})
    pythonpath = [fake_task_root, dists.root]
    tasks = run_trmkit("tasks", "--json", pythonpath=pythonpath)
    assert tasks.returncode == 0, tasks.stderr
    latin = next(task for task in json.loads(tasks.stdout) if task["name"] == "latin")
    assert (latin["distribution"], latin["version"], latin["seq_len"]) == (FAKE_TASK_DISTRIBUTION, FAKE_TASK_VERSION, 16)
    listing = run_trmkit("plugins", pythonpath=pythonpath, env={"COLUMNS": "250"})
    assert listing.returncode == 0, listing.stderr
    broken_row = next(line for line in listing.stdout.splitlines() if "trmkit-broken" in line)
    assert "failed" in broken_row and "ModuleNotFoundError" in broken_row


RULES_THAT_RAISE = """
def check(answer):
    return 1 / 0
"""

CALLS_TRMKIT_WRONGLY = """
import numpy as np
import trmkit

def check(answer):  # trmkit raises (an IndexError, in its own frame) on its wrong argument
    return trmkit.TokenPermutation(np.arange(2), np.arange(2)).apply(np.zeros(5, dtype=int)[None, :1])
"""


def test_an_error_is_blamed_on_the_plugin_whose_package_raised_it_and_only_when_that_is_clear(dists: Distributions) -> None:
    dists.add("trmkit-acme", {"acme": "acme_tasks"}, {"acme_tasks.__init__": "", "acme_tasks.rules": RULES_THAT_RAISE, "acme_tasks.calls_trmkit": CALLS_TRMKIT_WRONGLY})
    dists.add("trmkit-two", {"one": "shared.one", "two": "shared.two"}, {"shared.one": "", "shared.two": "", "shared.util": RULES_THAT_RAISE})
    registry = loaded()

    def raised_in(module: str) -> BaseException:
        try:
            importlib.import_module(module).check(None)
        except (ZeroDivisionError, IndexError) as exc:
            return exc
        raise AssertionError("did not raise")

    assert info(registry, "acme") is registry.plugin_at_fault(raised_in("acme_tasks.rules"))  # a module of its package
    assert registry.plugin_at_fault(raised_in("shared.util")) is None  # two plugins' package: not guessed
    assert registry.plugin_at_fault(raised_in("acme_tasks.calls_trmkit")) is None  # raised in trmkit's code
