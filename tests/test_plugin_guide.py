"""The plugin author guide (docs/plugins.md) keeps up with the API it describes.

Hook specs, TaskSpec fields and the role protocols' methods are read from trmkit itself, so a
hook, field or method added later fails here until the guide documents it, and a hook spec
fails until the contract kit exercises it on the test task.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
from pathlib import Path

import pytest

import trmkit
from trmkit import hookspecs
from trmkit.plugins import registry
from trmkit.testing import check_task_contract

from conftest import FAKE_TASK_MODULE

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
HOOK_SPECS = sorted(
    name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec")
)
ROLES = (trmkit.Tokenizer, trmkit.Decoder, trmkit.Augmenter, trmkit.Jitter, trmkit.Validator, trmkit.Transform)


def hook_section(name: str) -> str:
    """The guide's section of hook ``name``: from its heading to the next heading."""
    arguments = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    heading = f"### `{name}({arguments})`"
    assert heading in GUIDE, f"docs/plugins.md has no section '{heading}'"
    return re.split(r"\n#{2,3} ", GUIDE.split(heading, 1)[1], maxsplit=1)[0]


def test_hook_specs_are_found() -> None:
    assert {"trmkit_tasks", "trmkit_tokenizer", "trmkit_decoder", "trmkit_augmenters", "trmkit_validators"} <= set(HOOK_SPECS)


@pytest.mark.parametrize("name", HOOK_SPECS)
def test_every_hook_has_a_section_with_arguments_return_value_and_when_it_is_called(name: str) -> None:
    section = hook_section(name)
    for part in ("**Arguments:**", "**Returns:**", "**Called:**"):
        assert part in section, f"the guide's section on {name} does not say {part}"


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(trmkit.TaskSpec)])
def test_every_taskspec_field_is_in_the_guides_table(field: str) -> None:
    assert f"\n| `{field}` |" in GUIDE, f"docs/plugins.md does not describe TaskSpec.{field}"


@pytest.mark.parametrize(
    ("role", "member"),
    [(role.__name__, member) for role in ROLES for member in vars(role) if not member.startswith("_")]
    + [(role.__name__, member) for role in ROLES for member in getattr(role, "__annotations__", {})],
)
def test_every_method_of_a_role_is_described(role: str, member: str) -> None:
    assert f"`{member}(" in GUIDE or f"`{member}`" in GUIDE, f"docs/plugins.md does not describe {role}.{member}"


def test_the_guide_states_the_current_api_version_rules() -> None:
    assert "## API versions" in GUIDE and "`TaskSpec.api_version`" in GUIDE and "`trmkit.API_VERSION`" in GUIDE


def test_the_contract_kit_exercises_every_hook_spec(fake_task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each hook spec is implemented by the test task and called while the kit checks it."""
    module = importlib.import_module(FAKE_TASK_MODULE)
    called: set[str] = set()

    def spy(function):
        @functools.wraps(function)  # keeps pluggy's hookimpl marker and the signature
        def wrapper(*args, **kwargs):
            called.add(function.__name__)
            return function(*args, **kwargs)

        return wrapper

    for name in HOOK_SPECS:
        assert hasattr(module, name), f"the test task (tests/conftest.py) does not implement {name}"
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    registry.cache_clear()
    check_task_contract(fake_task, {"train_size": 4, "test_size": 2}, max_examples=5)
    assert called == set(HOOK_SPECS)
