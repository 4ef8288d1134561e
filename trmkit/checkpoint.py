"""Checkpoints: safetensors and JSON only, written atomically, loaded without running code.

A run directory holds ``checkpoints/step-NNNNNNN/`` folders and a ``checkpoints/latest`` pointer.
Each folder has:

- ``model.safetensors``: the weights to use (EMA weights when training with EMA), with the
  resolved config, task name and versions in the file's metadata: all ``from_pretrained`` needs;
- ``state.safetensors`` + ``state.json``: what exact resumption needs besides (raw weights,
  optimizer moments, the carry, random-generator states, sampler position, step).

A folder is written under a temporary name and renamed when whole, then ``latest`` is replaced
atomically, so a crash at any moment leaves the previous checkpoint usable.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_write
from .config import ModelConfig, TRMConfig
from .dataset import distribution_version
from .errors import InputError
from .model import TRM

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
KEEP = 2


@dataclass
class LoadedModel:
    model: TRM
    config: TRMConfig
    task: str
    metadata: dict[str, Any]
    path: Path


def _versions() -> dict[str, str]:
    return {"trmkit": distribution_version("trmkit"), "torch": torch.__version__}


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: t.detach().contiguous().cpu() for name, t in tensors.items()}


def save(
    run_dir: Path,
    step: int,
    model_weights: dict[str, torch.Tensor],
    config: TRMConfig,
    state_tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write checkpoint ``step`` into ``run_dir/checkpoints`` and point ``latest`` at it."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    temporary = root / f".{final.name}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    write_model_file(temporary / MODEL_FILE, model_weights, config, step, extra_metadata)
    save_file(_contiguous(state_tensors), temporary / STATE_FILE)
    (temporary / STATE_JSON).write_text(json.dumps(state, indent=2))
    for path in temporary.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(temporary, final)
    atomic_write(root / "latest", lambda handle: handle.write(final.name.encode()))
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def write_model_file(
    file: Path,
    model_weights: dict[str, torch.Tensor],
    config: TRMConfig,
    step: int,
    extra_metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``model.safetensors``: the weights, with the config, task, step and versions in its
    metadata. The one writer of model files (training checkpoints and converted models alike),
    so everything :func:`load_model` reads is written the same way."""
    metadata = {
        "format": "trmkit-checkpoint-1",
        "task": config.task,
        "step": str(step),
        "config": json.dumps(config.to_dict()),
        "versions": json.dumps(_versions()),
        **{key: json.dumps(value) for key, value in (extra_metadata or {}).items()},
    }
    save_file(_contiguous(model_weights), file, metadata=metadata)


def save_model(
    directory: str | os.PathLike,
    model_weights: dict[str, torch.Tensor],
    config: TRMConfig,
    step: int = 0,
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a model-only checkpoint folder (``directory/model.safetensors``, no training state),
    e.g. a converted model; it loads with :func:`load_model` and ``TRM.from_pretrained``. The
    file is written under a temporary name and renamed, so a crash never leaves half a model."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{MODEL_FILE}.tmp"
    try:
        write_model_file(temporary, model_weights, config, step, extra_metadata)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, directory / MODEL_FILE)
    finally:
        temporary.unlink(missing_ok=True)
    return directory


def resolve(path: str | os.PathLike) -> Path:
    """The checkpoint folder (or model file) that ``path`` names: a ``.safetensors`` file, a
    checkpoint folder, or a run directory (its latest checkpoint)."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / MODEL_FILE).is_file():
        return path
    root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    pointer = root / "latest"
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / MODEL_FILE).is_file():
            return candidate
    complete = sorted(p for p in root.glob("step-*") if (p / MODEL_FILE).is_file())
    if complete:
        return complete[-1]
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint, run directory or model file")
    raise InputError(f"{path}: no trmkit checkpoint found there")


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a clear error if it is not one."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", task: str | None = None) -> LoadedModel:
    """Build the model a checkpoint describes and load its weights (EMA weights for training runs)."""
    location = resolve(path)
    file = location if location.is_file() else location / MODEL_FILE
    tensors, metadata = read_weights(file)
    if metadata.get("format") != "trmkit-checkpoint-1" or "config" not in metadata:
        raise InputError(f"{file}: not a trmkit model (its metadata has no trmkit config)")
    try:
        config = TRMConfig.from_dict(json.loads(metadata["config"]), source=str(file))
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}: damaged config in metadata ({exc})") from None
    if task is not None and config.task != task:
        raise InputError(f"{file} is a model for task '{config.task}', not '{task}'")
    model = build_model(config.model, file)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{file}: weights do not fit the model its config describes ({' '.join(first[:2])})") from None
    return LoadedModel(model.to(device).eval(), config, config.task, metadata, file)


def build_model(config: ModelConfig, source: Path) -> TRM:
    from .errors import ConfigError

    try:
        return TRM(config)
    except ConfigError as exc:
        raise InputError(f"{source}: {exc}") from None


def load_state(location: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The training state saved beside a checkpoint's model (for ``--resume``)."""
    if location.is_file():
        raise InputError(f"{location}: a model file holds no training state; resume from a run directory")
    tensors, _ = read_weights(location / STATE_FILE)
    try:
        state = json.loads((location / STATE_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{location / STATE_JSON}: unreadable training state ({exc})") from None
    return tensors, state
