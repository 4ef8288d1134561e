"""``trmkit plugin new``: a skeleton in the example's shape, whose own tests pass once installed."""

from __future__ import annotations

import ast
import json
from pathlib import Path, PurePosixPath

import pytest
import yaml
from click.testing import CliRunner

from trmkit import scaffold
from trmkit.cli import main

from throwaway_env import OFFLINE_PIP, ThrowawayEnv

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trmkit-nonogram"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_names_follow_python_and_pip_conventions() -> None:
    names = scaffold.Names.of("light_up")
    assert (names.task, names.module, names.distribution, names.title) == ("light_up", "trmkit_light_up", "trmkit-light-up", "Light up")


@pytest.mark.parametrize("name", ["Light", "light-up", "1up", "light__up", "light_", "", "a b"])
def test_a_name_that_cannot_be_a_module_is_a_usage_error(name: str, tmp_path: Path) -> None:
    result = invoke("plugin", "new", name, "--dir", str(tmp_path))
    assert result.exit_code == 2 and "cannot name a task" in result.stderr
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("sudoku", "task 'sudoku' is already provided by trmkit; choose another name"),  # would shadow the built-in
        ("latin_fixture", "a module named trmkit_latin_fixture is already installed"),  # the import name is taken
    ],
)
def test_a_name_already_taken_is_refused(fake_task: str, name: str, message: str, tmp_path: Path) -> None:
    """Installed, the new plugin would clash: the task declared twice, or one import name
    shadowing another (so that one of the two silently stops working)."""
    result = invoke("plugin", "new", name, "--dir", str(tmp_path))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert not any(tmp_path.iterdir())


def test_new_writes_the_plugin_and_prints_its_folder(tmp_path: Path) -> None:
    result = invoke("plugin", "new", "light_up", "--dir", str(tmp_path / "src"))
    assert result.exit_code == 0, result.output
    target = tmp_path / "src" / "trmkit-light-up"
    assert result.stdout == f"{target}\n" and "trmkit install -e ." in result.stderr
    files = {path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()}
    assert {"pyproject.toml", "README.md", "src/trmkit_light_up/__init__.py", "tests/test_light_up.py"} <= files
    assert [path.name for path in (tmp_path / "src").iterdir()] == ["trmkit-light-up"]  # no staging left
    for name in files:
        text = (target / name).read_text()
        assert "$" not in text and "{module}" not in name, name
        if name.endswith(".py"):
            ast.parse(text, name)
        if name.endswith(".yaml"):
            assert yaml.safe_load(text)["task"] == "light_up"
    assert 'light_up = "trmkit_light_up"' in (target / "pyproject.toml").read_text()


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "trmkit-light-up").mkdir()
    (tmp_path / "trmkit-light-up" / "mine.txt").write_text("keep")
    result = invoke("plugin", "new", "light_up", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert [path.name for path in (tmp_path / "trmkit-light-up").iterdir()] == ["mine.txt"]


def test_the_skeleton_has_the_example_plugins_shape() -> None:
    """Every file the scaffold writes, named for the example's task, is a file of the example."""
    skeleton = set(scaffold.render(scaffold.Names.of("nonogram")))
    example = {PurePosixPath(path.relative_to(EXAMPLE).as_posix()) for path in EXAMPLE.rglob("*") if path.is_file() and "__pycache__" not in path.parts}
    assert skeleton <= example, sorted(map(str, skeleton - example))
    assert len(skeleton) >= 14


@pytest.mark.slow
def test_a_new_plugin_installs_passes_its_tests_lists_and_uninstalls(tmp_path: Path) -> None:
    env = ThrowawayEnv(tmp_path / "venv")
    made = env.trmkit("plugin", "new", "parity_check", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    project = Path(made.stdout.strip())
    installed = env.trmkit("install", str(project), *OFFLINE_PIP)
    assert installed.returncode == 0, installed.stderr

    listed = env.tasks()["parity_check"]
    assert (listed["distribution"], listed["version"], listed["status"]) == ("trmkit-parity-check", "0.1.0", "ok")
    tested = env.run("-m", "pytest", "-p", "no:cacheprovider", cwd=project)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    summary = tested.stdout.strip().splitlines()[-1]
    assert " passed" in summary and not any(word in summary for word in ("failed", "skipped", "error")), summary

    removed = env.trmkit("uninstall", "trmkit-parity-check")
    assert removed.returncode == 0, removed.stderr
    assert "parity_check" not in env.tasks()
    plugins = json.loads(env.trmkit("plugins", "--json").stdout)
    assert "trmkit-parity-check" not in {row["distribution"] for row in plugins}
