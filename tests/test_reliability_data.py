"""Guarantee 7 of issue 7: a dataset is trained on only as it was built. tests/test_dataset.py
covers checksums, the task and damaged manifests; here: a dataset built by another version of
its plugin, arrays that disagree with the manifest (even with matching checksums), a rebuild cut
short, and the one-line error ``trmkit train`` gives for each.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from click.testing import CliRunner

import trmkit
from trmkit import dataset
from trmkit.atomic import atomic_write
from trmkit.cli import main

from conftest import FAKE_TASK_DISTRIBUTION, FAKE_TASK_VERSION


@pytest.fixture
def saved(fake_task: str, tmp_path: Path) -> Path:
    task = trmkit.get_task(fake_task)
    return dataset.save(dataset.build(task, task.dataset_options({"train_size": 5, "test_size": 2}), seed=3), tmp_path / "data")


def edit_manifest(directory: Path, **changes: Any) -> None:
    path = directory / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def rewrite_train_arrays(directory: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    """Change train.npz and record its new checksum, as a careful forger would."""
    path = directory / "train.npz"
    with np.load(path) as arrays:
        values = {key: arrays[key].copy() for key in arrays.files}
    change(values)
    np.savez(path, **values)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"]["train.npz"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_a_dataset_built_by_another_plugin_version_is_refused_with_the_fix(saved: Path) -> None:
    edit_manifest(saved, plugin_version="0.2.9")
    with pytest.raises(trmkit.InputError) as raised:
        dataset.load(saved, task="latin")
    assert str(raised.value) == (
        f"{saved} was built by {FAKE_TASK_DISTRIBUTION} 0.2.9, but {FAKE_TASK_VERSION} is installed; "
        "rebuild it with 'trmkit data build latin'"
    )
    edit_manifest(saved, plugin="trmkit-gone", plugin_version="1.0")
    with pytest.raises(trmkit.InputError, match="built by trmkit-gone 1.0, but it is not installed"):
        dataset.load(saved)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda a: a["inputs"].__setitem__((0, 0), 99), "tokens outside the vocabulary of 6"),
        (lambda a: a["labels"].__setitem__((1, 3), -1), "tokens outside the vocabulary of 6"),
        (lambda a: a.update(inputs=a["inputs"][:, :-1], labels=a["labels"][:, :-1]), "are not [N, 16]"),
        (lambda a: a.update({key: value[:-1] for key, value in a.items()}), "the manifest counts 5"),
        (lambda a: a["puzzle_identifiers"].__setitem__(0, 7), "puzzle identifiers outside [0, 1)"),
    ],
    ids=["token-too-large", "negative-label", "shorter-rows", "fewer-rows", "unknown-identifier"],
)
def test_arrays_that_disagree_with_the_manifest_are_refused_even_with_matching_checksums(saved: Path, change, problem: str) -> None:
    rewrite_train_arrays(saved, change)
    with pytest.raises(trmkit.InputError) as raised:
        dataset.load(saved)
    assert str(raised.value).startswith(f"{saved / 'train.npz'}: does not match the manifest: ")
    assert problem in str(raised.value)


def test_a_rebuild_cut_short_is_never_taken_for_a_whole_dataset(saved: Path, fake_task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    task = trmkit.get_task(fake_task)
    other = dataset.build(task, task.dataset_options({"train_size": 6, "test_size": 2}), seed=4)
    real_write = dataset.atomic_write

    def dies_on_the_second_array(path: Path, write: Any) -> None:
        if path.name == "test.npz":
            raise KeyboardInterrupt  # the process stops here (pre-empted, Ctrl-C, power cut)
        real_write(path, write)

    monkeypatch.setattr(dataset, "atomic_write", dies_on_the_second_array)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(other, saved)  # train.npz is new, test.npz and the manifest are not
    with pytest.raises(trmkit.InputError, match="is not a trmkit dataset"):
        dataset.load(saved)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda d: edit_manifest(d, plugin_version="0.0.1"), "rebuild it with 'trmkit data build latin'"),
        (lambda d: (d / "test.npz").write_bytes((d / "test.npz").read_bytes()[:-9] + b"\x00" * 9), "checksum differs from the manifest"),
        (lambda d: rewrite_train_arrays(d, lambda a: a["inputs"].__setitem__((0, 0), 99)), "tokens outside the vocabulary"),
    ],
    ids=["other-version", "modified", "forged"],
)
def test_train_refuses_such_a_dataset_in_one_line(saved: Path, tmp_path: Path, damage, problem: str) -> None:
    damage(saved)
    result = CliRunner().invoke(main, ["train", "latin", "--config", "tiny", "--data", str(saved), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and problem in errors[0], result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_atomically_written_files_get_the_mode_an_ordinary_write_would(tmp_path: Path) -> None:
    """The temporary file behind an atomic write is private (0600); the renamed result must not
    stay so, or cards, plots and checkpoints could not be shared with other users."""
    atomic = tmp_path / "atomic.txt"
    plain = tmp_path / "plain.txt"
    atomic_write(atomic, lambda handle: handle.write(b"x"))
    plain.write_bytes(b"x")
    assert stat.S_IMODE(os.stat(atomic).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
