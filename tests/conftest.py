"""Fixtures for tests of the plugin system and the CLI: distributions made on the fly.

Plugins are separate distributions found through entry points, so tests build real ones in a
temporary directory (a ``<name>-<version>.dist-info`` folder with METADATA and entry_points.txt
beside the module) and put that directory on ``sys.path`` (or PYTHONPATH for subprocesses).
Nothing is pip-installed, and nothing outlives the test.

``latin`` is a small task used until (and alongside) the real ones: complete a 4x4 Latin square
(each row and column holds 1-4 once). It plays every role a task plays.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import pytest

from trmkit.cli import common
from trmkit.plugins import registry

FAKE_TASK_MODULE = "trmkit_latin_fixture"
FAKE_TASK_DISTRIBUTION = "trmkit-latin-fixture"
FAKE_TASK_VERSION = "0.3.0"

FAKE_TASK_SOURCE = '''
"""A 4x4 Latin-square completion task, written as a third-party plugin would write it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import trmkit

SIZE = 4
PAD, BLANK = 0, 1  # tokens; symbol s (1-4) is token s + 1
VOCAB = SIZE + 2


def parse(text: str, source: str) -> list[trmkit.Puzzle]:
    """One puzzle per line: 16 cells of 1-4 ('.' or 0 blank), optionally ',<solution>'."""
    puzzles = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [read_grid(part.strip(), f"{source}:{number}") for part in line.split(",")]
        if len(fields) > 2:
            raise trmkit.InputError(f"{source}:{number}: expected 'puzzle' or 'puzzle,solution'")
        puzzles.append(trmkit.Puzzle(fields[0], fields[1] if len(fields) == 2 else None, f"{source}:{number}"))
    return puzzles


def read_grid(text: str, where: str) -> np.ndarray:
    if len(text) != SIZE * SIZE or any(c not in "01234." for c in text):
        raise trmkit.InputError(f"{where}: expected {SIZE * SIZE} cells of 1-4 or '.', got {text[:20]!r}")
    return np.array([0 if c == "." else int(c) for c in text], dtype=np.int64).reshape(SIZE, SIZE)


@dataclass
class Options:
    train_size: int = 6
    test_size: int = 3
    blanks: int = 6


def build_dataset(options: Options, seed: int) -> dict[str, trmkit.Examples]:
    if not 0 <= options.blanks <= SIZE * SIZE:
        raise trmkit.ConfigError(f"blanks must lie in [0, {SIZE * SIZE}]")
    rng = np.random.default_rng(seed)
    base = (np.add.outer(np.arange(SIZE), np.arange(SIZE)) % SIZE) + 1
    splits, group = {}, 0
    for split, count in (("train", options.train_size), ("test", options.test_size)):
        inputs, labels = [], []
        for _ in range(count):
            symbols = np.concatenate([[0], rng.permutation(SIZE) + 1])
            solution = symbols[base[rng.permutation(SIZE)][:, rng.permutation(SIZE)]]
            puzzle = solution.copy().reshape(-1)
            puzzle[rng.choice(SIZE * SIZE, options.blanks, replace=False)] = 0
            inputs.append(TOKENIZER.encode(puzzle.reshape(SIZE, SIZE)))
            labels.append(TOKENIZER.encode(solution))
        groups = np.arange(group, group + count)
        group += count
        shape = (count, SIZE * SIZE)
        splits[split] = trmkit.Examples(
            np.array(inputs, dtype=np.int64).reshape(shape), np.array(labels, dtype=np.int64).reshape(shape),
            groups, np.zeros(count, dtype=np.int64),
        )
    return splits


class Tokenizer:
    def encode(self, grid: np.ndarray) -> np.ndarray:
        return np.asarray(grid, dtype=np.int64).reshape(-1) + 1

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(tokens, dtype=np.int64) - 1, 0, SIZE).reshape(SIZE, SIZE)


TOKENIZER = Tokenizer()


class Decoder:
    def decode(self, tokens, puzzle):
        return TOKENIZER.decode(tokens)

    def render(self, grid, *, color=False):
        text = "".join("." if v == 0 else str(v) for v in np.asarray(grid).reshape(-1))
        return f"\\x1b[1m{text}\\x1b[0m" if color else text

    def to_json(self, grid):
        return np.asarray(grid).tolist()


class Symmetries:
    """Relabel symbols, shuffle rows and columns, maybe transpose: Latin squares stay Latin."""

    name = "latin-symmetries"

    def sample(self, rng, seq_len):
        cells = np.arange(SIZE * SIZE).reshape(SIZE, SIZE)[rng.permutation(SIZE)][:, rng.permutation(SIZE)]
        if rng.random() < 0.5:
            cells = cells.T
        values = np.concatenate([[PAD, BLANK], rng.permutation(SIZE) + 2])
        return trmkit.TokenPermutation(cells.reshape(-1), values)


class Rules:
    name = "latin-rules"

    def validate(self, puzzle, answer):
        answer = np.asarray(answer)
        if answer.shape != (SIZE, SIZE):
            return trmkit.Verdict(False, f"answer has shape {answer.shape}, not {SIZE}x{SIZE}")
        for (r, c) in zip(*np.nonzero(answer == 0)):
            return trmkit.Verdict(False, f"cell r{r + 1}c{c + 1} is empty")
        for (r, c) in zip(*np.nonzero((puzzle.question != 0) & (puzzle.question != answer))):
            return trmkit.Verdict(False, f"cell r{r + 1}c{c + 1} changes the given {puzzle.question[r, c]}")
        for index in range(SIZE):
            for name, line in (("row", answer[index]), ("column", answer[:, index])):
                if len(set(line.tolist())) != SIZE:
                    return trmkit.Verdict(False, f"{name} {index + 1} repeats a symbol")
        return trmkit.Verdict(True)


SPEC = trmkit.TaskSpec(
    name="latin",
    summary="4x4 Latin square completion (test fixture)",
    vocab_size=VOCAB,
    seq_len=SIZE * SIZE,
    grid_shape=(SIZE, SIZE),
    formats=("16-char line", "puzzle,solution"),
    parse=parse,
    build_dataset=build_dataset,
    dataset_options=Options,
    config_dir=Path(__file__).parent / "configs",
)


@trmkit.hookimpl
def trmkit_tasks():
    return [SPEC]


@trmkit.hookimpl
def trmkit_tokenizer(task):
    return TOKENIZER if task == "latin" else None


@trmkit.hookimpl
def trmkit_decoder(task):
    return Decoder() if task == "latin" else None


@trmkit.hookimpl
def trmkit_augmenters(task):
    return [Symmetries()] if task == "latin" else []


@trmkit.hookimpl
def trmkit_jitters(task):
    return []


@trmkit.hookimpl
def trmkit_validators(task):
    return [Rules()] if task == "latin" else []
'''

FAKE_TASK_CONFIGS = {
    "paper": "model: {hidden_size: 64, num_heads: 4}\ntrain: {steps: 100}\n",
    "tiny": "task: latin\nmodel: {hidden_size: 16, num_heads: 2, T: 2, n: 2}\ntrain: {steps: 10, batch_size: 4}\n"
    "data: {options: {train_size: 4}}\n",
}


@dataclass
class Distributions:
    """Makes distributions (metadata, entry points, modules) in one directory on the path."""

    root: Path
    packages: set[str] = field(default_factory=set)

    def add(
        self, name: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0",
        group: str = "trmkit",
    ) -> None:
        """``modules`` maps a module name (``pkg`` or ``pkg.sub``) to its source."""
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[{group}]\n{lines}")
        for module, source in modules.items():
            path = self.root.joinpath(*module.split(".")).with_suffix(".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
            self.packages.add(module.split(".")[0])
        importlib.invalidate_caches()


def write_fake_task(distributions: Distributions) -> None:
    """The ``latin`` task as distribution trmkit-latin-fixture, with its named configs."""
    distributions.add(
        FAKE_TASK_DISTRIBUTION,
        {"latin": FAKE_TASK_MODULE},
        {f"{FAKE_TASK_MODULE}.__init__": FAKE_TASK_SOURCE},
        version=FAKE_TASK_VERSION,
    )
    configs = distributions.root / FAKE_TASK_MODULE / "configs"
    configs.mkdir()
    for name, text in FAKE_TASK_CONFIGS.items():
        (configs / f"{name}.yaml").write_text(text)


@pytest.fixture
def dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Distributions]:
    """A fresh directory of distributions on ``sys.path``; the plugin registry is rebuilt after."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    made = Distributions(root)
    registry.cache_clear()
    yield made
    registry.cache_clear()
    # Tests reuse module names with other code: forget what this one imported.
    for name in [name for name in sys.modules if name.split(".")[0] in made.packages]:
        del sys.modules[name]


@pytest.fixture(scope="session")
def fake_task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``latin`` task's distribution, written once per session."""
    root = tmp_path_factory.mktemp("latin-site")
    write_fake_task(Distributions(root))
    return root


@pytest.fixture
def fake_task(fake_task_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The ``latin`` task installed for this test (in process); returns its name."""
    monkeypatch.syspath_prepend(str(fake_task_root))
    registry.cache_clear()
    yield "latin"
    registry.cache_clear()


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables to 80 columns off a terminal; tests match on whole cells."""
    monkeypatch.setattr(common.stderr, "width", 200)
    monkeypatch.setattr(common.stdout, "width", 200)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """For modules that train or run tiny models in process: on shared cores, two torch threads
    fighting over them are ten times slower than one (use with ``pytest.mark.usefixtures``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_trmkit(*args: str, pythonpath: Sequence[Path] = (), env: dict[str, str] | None = None,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m trmkit ARGS`` in a fresh interpreter, with extra distributions on PYTHONPATH."""
    environment = {key: value for key, value in os.environ.items() if key != "TRMKIT_DISABLE_PLUGINS"}
    environment["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), environment.get("PYTHONPATH", "")])
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "trmkit", *args], capture_output=True, text=True, env=environment,
        input=stdin, timeout=60,
    )
