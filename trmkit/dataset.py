"""Datasets on disk: base examples only (augmentation happens on the fly), plus a manifest.

Layout of a dataset directory::

    manifest.json   task, versions, builder options and seed, shapes, counts, sha256 per file
    train.npz       inputs, labels, groups, puzzle_identifiers (plain integer arrays)
    test.npz

Arrays are read with ``allow_pickle=False`` and checked against the manifest's checksums, shapes
and token range, so a dataset edited after it was built, built for another task, or built by
another version of its plugin (whose tokens may mean something else) is refused rather than
trained on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .errors import InputError, PluginError
from .task import Examples, Task

FORMAT_VERSION = 1
SPLITS = ("train", "test")
ARRAYS = ("inputs", "labels", "groups", "puzzle_identifiers")


@dataclass
class Dataset:
    """A built dataset: its splits and the manifest describing them."""

    splits: dict[str, Examples]
    manifest: dict[str, Any]

    @property
    def seq_len(self) -> int:
        return int(self.manifest["seq_len"])

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["vocab_size"])

    @property
    def num_puzzle_identifiers(self) -> int:
        return int(self.manifest["num_puzzle_identifiers"])


def build(task: Task, options: Any, seed: int) -> Dataset:
    """Run the task's dataset builder and check what it returns."""
    splits = task.spec.build_dataset(options, seed)
    missing = [name for name in SPLITS if name not in splits]
    if missing:
        raise InputError(f"the {task.name} dataset builder returned no {', '.join(missing)} split")
    seq_len = splits["train"].inputs.shape[1]
    for name, examples in splits.items():
        if examples.inputs.shape[1] != seq_len:
            raise InputError(f"the {task.name} dataset builder returned splits of different lengths")
        if len(examples) == 0 and name == "train":
            raise InputError(f"the {task.name} dataset builder returned an empty train split")
    overlap = set(np.unique(splits["train"].groups)) & set(np.unique(splits["test"].groups))
    if overlap and not task.spec.test_shares_groups:
        raise InputError(f"the {task.name} dataset builder put {len(overlap)} puzzle groups in both train and test")
    all_ids = np.concatenate([examples.puzzle_identifiers for examples in splits.values()])
    identifiers = int(all_ids.max(initial=0)) + 1
    for name, examples in splits.items():  # what load() would refuse, caught before it is saved
        problem = _array_problem(examples, seq_len, task.spec.vocab_size, identifiers, len(examples))
        if problem:
            raise PluginError(f"the {task.name} dataset builder of plugin {task.plugin} returned a {name} split with {problem}; this is a bug of that plugin")
    manifest = {
        "format_version": FORMAT_VERSION,
        "task": task.name,
        "plugin": task.plugin,
        "plugin_version": distribution_version(task.plugin),
        "trmkit_version": distribution_version("trmkit"),
        "builder_options": options_record(options),
        "seed": seed,
        "seq_len": int(seq_len),
        "vocab_size": task.spec.vocab_size,
        "num_puzzle_identifiers": identifiers,
        "counts": {name: len(examples) for name, examples in splits.items()},
    }
    return Dataset(dict(splits), manifest)


def save(dataset: Dataset, directory: str | os.PathLike) -> Path:
    """Write the dataset atomically enough: arrays first, the manifest (with checksums) last."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # A rebuild interrupted half way must not pass for the old dataset with some new arrays.
    (directory / "manifest.json").unlink(missing_ok=True)
    checksums = {}
    for name, examples in dataset.splits.items():
        path = directory / f"{name}.npz"
        arrays = {key: np.ascontiguousarray(getattr(examples, key), dtype=np.int32) for key in ARRAYS}
        atomic_write(path, lambda handle: np.savez(handle, **arrays))
        checksums[path.name] = _sha256(path)
    manifest = dict(dataset.manifest, files=checksums)
    text = json.dumps(manifest, indent=2, sort_keys=True)
    atomic_write(directory / "manifest.json", lambda handle: handle.write(text.encode()))
    dataset.manifest = manifest
    return directory


def load(directory: str | os.PathLike, task: str | None = None) -> Dataset:
    """Read a dataset directory, verifying its manifest, checksums and (if given) its task."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(f"{directory} is not a trmkit dataset (no manifest.json; build one with 'trmkit data build')")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{manifest_path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{manifest_path}: not a dataset manifest of format version {FORMAT_VERSION}")
    if task is not None and manifest.get("task") != task:
        raise InputError(f"{directory} holds a '{manifest.get('task')}' dataset, not '{task}'")
    _check_plugin_version(directory, manifest)
    splits = {}
    for filename, expected in (manifest.get("files") or {}).items():
        path = directory / filename
        if not path.is_file():
            raise InputError(f"{path}: missing (the dataset is incomplete)")
        if _sha256(path) != expected:
            raise InputError(f"{path}: checksum differs from the manifest (modified after it was built?)")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                splits[Path(filename).stem] = Examples(**{key: arrays[key].astype(np.int64) for key in ARRAYS})
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: unreadable arrays ({exc})") from None
    missing = [name for name in SPLITS if name not in splits]
    if missing:
        raise InputError(f"{directory}: the manifest lists no {', '.join(missing)} split")
    for name, examples in splits.items():
        _check_arrays(directory / f"{name}.npz", examples, manifest, name)
    return Dataset(splits, manifest)


def _check_plugin_version(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse a dataset built by another version of its task's plugin: a new version may
    tokenize differently, and a model trained on old tokens would learn the wrong thing."""
    plugin, built_with = manifest.get("plugin"), manifest.get("plugin_version")
    if not plugin or built_with is None:
        raise InputError(f"{directory / 'manifest.json'}: names no plugin and version; rebuild the dataset")
    installed = distribution_version(str(plugin))
    if installed != built_with:
        now = f"{installed} is installed" if installed != "unknown" else "it is not installed"
        raise InputError(
            f"{directory} was built by {plugin} {built_with}, but {now}; "
            f"rebuild it with 'trmkit data build {manifest.get('task')}'"
        )


def _check_arrays(path: Path, examples: Examples, manifest: dict[str, Any], split: str) -> None:
    """The arrays must be what the manifest says (shapes, counts, token and identifier range):
    a mismatch would otherwise surface as an index error deep inside training."""
    try:
        seq_len, vocab = int(manifest["seq_len"]), int(manifest["vocab_size"])
        identifiers = int(manifest["num_puzzle_identifiers"])
        count = int(manifest["counts"][split])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path.parent / 'manifest.json'}: damaged (no seq_len, vocab_size, num_puzzle_identifiers or count of {split})") from None
    problem = _array_problem(examples, seq_len, vocab, identifiers, count)
    if problem:
        raise InputError(f"{path}: does not match the manifest: {problem}")


def _array_problem(examples: Examples, seq_len: int, vocab: int, identifiers: int, count: int) -> str:
    """What is wrong with a split's arrays for the given shape, counts and ranges ("" if nothing)."""
    rows = len(examples.inputs)
    if examples.inputs.ndim != 2 or examples.inputs.shape != examples.labels.shape or examples.inputs.shape[1] != seq_len:
        return f"inputs {examples.inputs.shape} and labels {examples.labels.shape} are not [N, {seq_len}]"
    if rows != count or examples.groups.shape != (rows,) or examples.puzzle_identifiers.shape != (rows,):
        return f"{rows} inputs, {len(examples.groups)} groups and {len(examples.puzzle_identifiers)} identifiers; the manifest counts {count}"
    if rows and (min(examples.inputs.min(), examples.labels.min()) < 0 or max(examples.inputs.max(), examples.labels.max()) >= vocab):
        return f"tokens outside the vocabulary of {vocab}"
    if rows and not 0 <= examples.puzzle_identifiers.min() <= examples.puzzle_identifiers.max() < identifiers:
        return f"puzzle identifiers outside [0, {identifiers})"
    return ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def options_record(options: Any) -> Any:
    """Builder options as plain JSON data (how the manifest records them, and compares them)."""
    if dataclasses.is_dataclass(options) and not isinstance(options, type):
        return json.loads(json.dumps(dataclasses.asdict(options), default=str))
    return json.loads(json.dumps(options, default=str))


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name`` ("unknown" when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
