"""trmkit.dataset: a saved dataset loads back exactly, and anything altered is refused."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import trmkit
from trmkit import dataset


@pytest.fixture
def latin(fake_task: str) -> trmkit.Task:
    return trmkit.get_task(fake_task)


@pytest.fixture
def saved(latin: trmkit.Task, tmp_path: Path) -> tuple[dataset.Dataset, Path]:
    built = dataset.build(latin, latin.dataset_options({"train_size": 5, "test_size": 2}), seed=7)
    return built, dataset.save(built, tmp_path / "data")


def test_save_then_load_round_trips_arrays_and_manifest(saved: tuple[dataset.Dataset, Path]) -> None:
    built, directory = saved
    loaded = dataset.load(directory, task="latin")
    for split in ("train", "test"):
        for key in dataset.ARRAYS:
            assert np.array_equal(getattr(loaded.splits[split], key), getattr(built.splits[split], key)), (split, key)
    manifest = loaded.manifest
    assert manifest == built.manifest
    assert (manifest["task"], manifest["seed"], manifest["counts"]) == ("latin", 7, {"train": 5, "test": 2})
    assert manifest["plugin"] == "trmkit-latin-fixture" and manifest["plugin_version"] == "0.3.0"
    assert (loaded.seq_len, loaded.vocab_size, loaded.num_puzzle_identifiers) == (16, 6, 1)
    assert sorted(manifest["files"]) == ["test.npz", "train.npz"]


def test_a_modified_file_is_refused(saved: tuple[dataset.Dataset, Path]) -> None:
    _, directory = saved
    with np.load(directory / "train.npz") as arrays:
        tampered = {key: arrays[key] for key in arrays.files}
    tampered["labels"][0, 0] += 1
    np.savez(directory / "train.npz", **tampered)
    with pytest.raises(trmkit.InputError, match="train.npz: checksum differs from the manifest"):
        dataset.load(directory)


def test_a_dataset_of_another_task_is_refused(saved: tuple[dataset.Dataset, Path]) -> None:
    with pytest.raises(trmkit.InputError, match="holds a 'latin' dataset, not 'sudoku'"):
        dataset.load(saved[1], task="sudoku")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "manifest.json").unlink(), "is not a trmkit dataset"),
        (lambda d: (d / "manifest.json").write_text("{"), "unreadable manifest"),
        (lambda d: (d / "test.npz").unlink(), "test.npz: missing"),
        (lambda d: _edit_manifest(d, format_version=99), "not a dataset manifest of format version 1"),
        (lambda d: _edit_manifest(d, files={}), "lists no train, test split"),
    ],
    ids=["no-manifest", "bad-json", "missing-split", "future-format", "no-files"],
)
def test_an_incomplete_or_unknown_dataset_is_refused(saved, damage, message: str) -> None:
    directory = saved[1]
    damage(directory)
    with pytest.raises(trmkit.InputError, match=message):
        dataset.load(directory)


def _edit_manifest(directory: Path, **changes: object) -> None:
    path = directory / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_build_refuses_groups_shared_by_train_and_test(latin: trmkit.Task) -> None:
    def leaky(options, seed):
        splits = latin.spec.build_dataset(options, seed)
        splits["test"].groups[:] = splits["train"].groups[: len(splits["test"])]
        return splits

    task = dataclasses.replace(latin, spec=dataclasses.replace(latin.spec, build_dataset=leaky))
    with pytest.raises(trmkit.InputError, match="put 3 puzzle groups in both train and test"):
        dataset.build(task, task.dataset_options(), seed=0)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda split: split.inputs.__setitem__((0, 0), 6), "tokens outside the vocabulary of 6"),
        (lambda split: split.labels.__setitem__((0, 0), -1), "tokens outside the vocabulary of 6"),
        (lambda split: split.puzzle_identifiers.__setitem__(0, -2), r"puzzle identifiers outside \[0, 1\)"),
    ],
    ids=["token-past-the-vocabulary", "negative-label", "negative-identifier"],
)
def test_build_refuses_arrays_that_load_would_refuse(latin: trmkit.Task, corrupt, message: str) -> None:
    """Caught when built, naming the plugin, rather than saved and refused at load (or trained
    on, when no bad example happened to be drawn)."""
    def buggy(options, seed):
        splits = latin.spec.build_dataset(options, seed)
        corrupt(splits["train"])
        return splits

    task = dataclasses.replace(latin, spec=dataclasses.replace(latin.spec, build_dataset=buggy))
    with pytest.raises(trmkit.PluginError, match=f"the latin dataset builder of plugin trmkit-latin-fixture returned a train split with {message}; this is a bug"):
        dataset.build(task, task.dataset_options(), seed=0)
