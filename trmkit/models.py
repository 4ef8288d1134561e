"""Where trained models are: the ones a task plugin ships, and the runs on this machine.

A plugin ships models in its ``TaskSpec.models_dir``, one subfolder per model::

    models/<name>/model.safetensors   the file trmkit.checkpoint writes (config in its metadata)
    models/<name>/card.json           how it was trained and how accurate it measured
    models/<name>/README.md           the same for people

so that ``trmkit solve TASK puzzle.txt`` works right after ``pip install``, and so that the
accuracy a user is told is the one measured on held-out puzzles, not a claim. Adding a model is
dropping such a folder in; the card with ``"default": true`` (else the first name) is the one
used when no ``--model`` is given. Local models are run directories (``trmkit train --out``) and
model folders (``trmkit convert``) under a directory, ``./runs`` by default.

Bundled models are found without torch (listing local runs imports it, to resolve checkpoints
as loading does); a card is JSON, metadata is read with safetensors' numpy reader, and nothing
here runs code from a model folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError
from .task import Task

MODEL_FILE = "model.safetensors"  # the name trmkit.checkpoint writes (not imported from it: it needs torch)
CARD_FILE = "card.json"
#: What a card must say: enough to retrain the model and to repeat every accuracy figure.
CARD_KEYS = ("task", "summary", "config", "training_command", "data_seed", "steps", "accuracy")
#: What each entry of a card's ``accuracy`` list must say.
ACCURACY_KEYS = ("difficulty", "examples", "exact_accuracy", "command")


@dataclass(frozen=True)
class BundledModel:
    """A model shipped by a task plugin, with its card."""

    task: str
    name: str
    folder: Path
    card: dict[str, Any]

    @property
    def file(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def is_default(self) -> bool:
        return bool(self.card.get("default"))

    @property
    def halt_threshold(self) -> float:
        """The adaptive-halting threshold tuned for this model (card key ``halt_threshold``,
        chosen with benchmarks/halting.py); 0, the paper's rule, when the card has none. The
        card's adaptive figures are measured with it."""
        return float(self.card.get("halt_threshold", 0.0))

    def accuracy_line(self, halt: str = "all") -> str:
        """Measured exact accuracy per difficulty, in one line for a log: of every supervision
        step (``halt="all"``, the official protocol) or of adaptive halting (what ``trmkit solve``
        does by default), when the card has that figure."""
        parts = []
        for entry in self.card["accuracy"]:
            accuracy = entry.get("adaptive_exact_accuracy", entry["exact_accuracy"]) if halt == "adaptive" else entry["exact_accuracy"]
            parts.append(f"{entry['difficulty']} {accuracy:.1%} ({round(accuracy * entry['examples'])}/{entry['examples']})")
        return "; ".join(parts)


@dataclass(frozen=True)
class LocalModel:
    """A model found on disk: a training run (its latest checkpoint) or a model folder."""

    path: Path
    task: str
    step: int | None
    last_eval: dict[str, Any] = field(default_factory=dict)


def read_card(folder: Path) -> dict[str, Any]:
    """The card of a bundled model folder, checked for the keys every card must have."""
    path = folder / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{folder}: a bundled model needs a {CARD_FILE}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable model card ({exc})") from None
    if not isinstance(card, dict):
        raise InputError(f"{path}: a model card is a JSON object")
    missing = [key for key in CARD_KEYS if key not in card]
    if missing:
        raise InputError(f"{path}: the model card lacks {', '.join(missing)}")
    _checked_threshold(card.get("halt_threshold", 0.0), path)
    for entry in card["accuracy"]:
        lacking = [key for key in ACCURACY_KEYS if key not in entry]
        if lacking:
            raise InputError(f"{path}: an accuracy entry lacks {', '.join(lacking)}")
    return card


def tuned_threshold(file: Path, metadata: dict[str, str]) -> float:
    """The adaptive-halting threshold tuned for the model loaded from ``file`` (with its
    ``metadata``): a card's ``halt_threshold`` beside it, else the one ``TRM.save_pretrained``
    kept in the metadata, else 0, the paper's rule. So a model halts the same way named by path,
    by name, or loaded from Python."""
    card_path = Path(file).parent / CARD_FILE
    if card_path.is_file():
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{card_path}: unreadable model card ({exc})") from None
        value, where = (card.get("halt_threshold") if isinstance(card, dict) else None), card_path
    else:
        try:
            value, where = json.loads(metadata.get("halt_threshold", "null")), file
        except json.JSONDecodeError:
            value, where = metadata.get("halt_threshold"), file
    return 0.0 if value is None else _checked_threshold(value, where)


def _checked_threshold(value: Any, where: Path) -> float:
    """``value`` as a threshold, or an InputError naming the file it came from."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: halt_threshold must be a number, got {value!r}")
    return float(value)


def bundled_models(task: Task) -> list[BundledModel]:
    """The models ``task``'s plugin ships, default first, then by name (none: empty list)."""
    root = task.spec.models_dir
    if root is None or not Path(root).is_dir():
        return []
    found = []
    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir() and (folder / MODEL_FILE).is_file():
            found.append(BundledModel(task.name, folder.name, folder, read_card(folder)))
    return sorted(found, key=lambda model: (not model.is_default, model.name))


def default_model(task: Task) -> BundledModel:
    """The model to use when none is named; a usage error (exit 2) when the task ships none."""
    models = bundled_models(task)
    if not models:
        raise ConfigError(
            f"task '{task.name}' ships no trained model; give one with --model (a run directory, "
            f"checkpoint folder or .safetensors file; 'trmkit models' lists local ones)"
        )
    return models[0]


def find_model(task: Task, given: str | Path | None) -> tuple[Path, BundledModel | None]:
    """What ``--model`` names: an existing path, else a bundled model's name; none: the default.

    Returns the path to load and, when it is a bundled model, that model (for its card).
    """
    if given is None:
        model = default_model(task)
        return model.folder, model
    path = Path(given)
    if path.exists():
        return path, None
    for model in bundled_models(task):
        if model.name == str(given):
            return model.folder, model
    names = ", ".join(model.name for model in bundled_models(task)) or "none"
    raise InputError(f"{given}: no such checkpoint, run directory or model file, nor a bundled {task.name} model (bundled: {names})")


def read_metadata(file: Path) -> dict[str, str]:
    """The metadata of a safetensors file, without loading tensors or torch."""
    from safetensors import safe_open

    with safe_open(str(file), framework="numpy") as handle:
        return handle.metadata() or {}


def local_models(root: Path) -> list[LocalModel]:
    """Run directories and model folders directly under ``root`` (and ``root`` itself), by path.

    A run's step is its latest complete checkpoint's; its last evaluation is the last ``eval``
    record of its ``metrics.jsonl`` (on the test split of the data it trained on). Folders
    whose files cannot be read are skipped: listing must never fail on someone's stray folder.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    candidates = [root, *sorted(path for path in root.iterdir() if path.is_dir())]
    return [model for model in map(_local_model, candidates) if model is not None]


def _local_model(folder: Path) -> LocalModel | None:
    from .checkpoint import resolve

    is_run = (folder / "checkpoints").is_dir()
    if not is_run and not (folder / MODEL_FILE).is_file():
        return None
    try:
        location = resolve(folder)
        metadata = read_metadata(location if location.is_file() else location / MODEL_FILE)
        task = json.loads(metadata["config"])["task"]
        step = int(metadata.get("step", 0))
    except Exception:  # not a trmkit model, damaged, or a run with no checkpoint yet: not listed
        return None
    return LocalModel(folder, task, step, _last_eval(folder / "metrics.jsonl"))


def _last_eval(metrics: Path) -> dict[str, Any]:
    last: dict[str, Any] = {}
    if not metrics.is_file():
        return last
    with open(metrics, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if '"eval"' not in line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record.get("eval"), dict):
                last = {"step": record.get("step"), **record["eval"]}
    return last
