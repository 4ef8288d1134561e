"""Checkpoints: safetensors and JSON only, written atomically, loaded without running code.

A run directory holds ``checkpoints/step-NNNNNNN/`` folders and a ``checkpoints/latest`` pointer.
Each folder has:

- ``model.safetensors``: the weights to use (EMA weights when training with EMA), with the
  resolved config, task name and versions in the file's metadata: all ``from_pretrained`` needs;
- ``state.safetensors`` + ``state.json``: what exact resumption needs besides (raw weights,
  optimizer moments, the carry, random-generator states, sampler position, step).

A folder is written under a temporary name, flushed to disk and renamed when whole, then
``latest`` is replaced atomically, so a crash at any moment leaves the previous checkpoint usable.
Every file carries a sha256 of its tensors in its metadata (safetensors has no checksum of its
own), so a file damaged on disk or in transfer is refused rather than loaded as noise. Weights
holding NaN or Inf are never written: the last good checkpoint stays the latest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_write, fsync_directory
from .config import ModelConfig, TRMConfig
from .dataset import distribution_version
from .errors import InputError, TrmkitError
from .model import TRM

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
KEEP = 2
DIGEST_KEY = "tensors_sha256"
_STEP_NAME = re.compile(r"step-\d{7,}")
#: Seconds to pause in the middle of writing a checkpoint. Read here only, and only for the crash
#: test (tests/test_reliability_crash.py): it widens the write window so that a SIGKILL lands
#: while a checkpoint is half written. Never set it otherwise.
PAUSE_ENV = "TRMKIT_TEST_CHECKPOINT_PAUSE"
NUMERIC_FAULT_HINT = "Try a lower train.lr or more train.lr_warmup_steps, then resume with --resume."


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


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of names, dtypes, shapes and bytes of ``tensors`` (in name order), so that it does
    not depend on how safetensors lays the file out."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _write_tensors(file: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tensors = _contiguous(tensors)
    save_file(tensors, file, metadata={**(metadata or {}), DIGEST_KEY: tensors_digest(tensors)})


def _non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    return [name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def save(
    run_dir: Path,
    step: int,
    model_weights: dict[str, torch.Tensor],
    config: TRMConfig,
    state_tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
    extra_metadata: dict[str, Any] | None = None,
) -> Path:
    """Write checkpoint ``step`` into ``run_dir/checkpoints`` and point ``latest`` at it.

    Refuses (TrmkitError) weights or state holding NaN or Inf, before writing anything: such a
    checkpoint would become ``latest`` and push the good ones out.
    """
    root = Path(run_dir) / "checkpoints"
    bad = _non_finite(model_weights) + _non_finite(state_tensors)
    if bad:
        raise TrmkitError(f"the weights became NaN or Inf at step {step} ({bad[0]}); nothing was saved, {what_is_kept(run_dir)}. {NUMERIC_FAULT_HINT}")
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    for stale in root.glob(".step-*.tmp"):  # left by a run killed while writing
        shutil.rmtree(stale, ignore_errors=True)
    temporary = root / f".{final.name}.tmp"
    temporary.mkdir()
    write_model_file(temporary / MODEL_FILE, model_weights, config, step, extra_metadata)
    pause = float(os.environ.get(PAUSE_ENV, 0) or 0)
    if pause:
        time.sleep(pause)
    _write_tensors(temporary / STATE_FILE, state_tensors)
    (temporary / STATE_JSON).write_text(json.dumps(state, indent=2))
    for path in temporary.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    if final.exists():  # the same step saved again (a resumed run): keep one whole copy at all times
        old = root / f".{final.name}.old.tmp"
        os.replace(final, old)
        os.replace(temporary, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temporary, final)
    fsync_directory(root)
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
    _write_tensors(file, model_weights, metadata)


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
    bad = _non_finite(model_weights)
    if bad:
        raise TrmkitError(f"the weights hold NaN or Inf ({', '.join(bad[:3])}); nothing was written")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{MODEL_FILE}.tmp"
    try:
        write_model_file(temporary, model_weights, config, step, extra_metadata)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, directory / MODEL_FILE)
        fsync_directory(directory)
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
    found = latest_checkpoint(root)
    if found is not None:
        return found
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint, run directory or model file")
    raise InputError(f"{path}: no trmkit checkpoint found there")


def what_is_kept(run_dir: Path) -> str:
    """For the message of a run stopped by a fault: which checkpoint it can resume from."""
    kept = latest_checkpoint(Path(run_dir) / "checkpoints")
    return f"the last good checkpoint {kept} is kept" if kept else "no checkpoint was written yet"


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint folder ``root/latest`` names, or else the newest whole one, or None.

    The pointer is only a name: anything in it that is not ``step-NNNNNNN`` (a damaged or
    planted file) is ignored rather than followed.
    """
    pointer = root / "latest"
    if pointer.is_file():
        try:
            name = pointer.read_bytes()[:64].decode("ascii").strip()
        except (OSError, UnicodeDecodeError):
            name = ""
        if _STEP_NAME.fullmatch(name) and (root / name / MODEL_FILE).is_file():
            return root / name
    complete = sorted(p for p in root.glob("step-*") if _STEP_NAME.fullmatch(p.name) and (p / MODEL_FILE).is_file())
    return complete[-1] if complete else None


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a clear error if it is not one, or if its
    tensors do not match the checksum written with them."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    expected = metadata.get(DIGEST_KEY)
    if expected is not None and tensors_digest(tensors) != expected:
        raise InputError(f"{path}: damaged: its tensors do not match the checksum written with them (corrupted on disk or in transfer?)")
    return tensors, metadata


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", task: str | None = None) -> LoadedModel:
    """Build the model a checkpoint describes and load its weights (EMA weights for training runs)."""
    location = resolve(path)
    file = location if location.is_file() else location / MODEL_FILE
    tensors, metadata = read_weights(file)
    if metadata.get("format") != "trmkit-checkpoint-1" or "config" not in metadata:
        raise InputError(f"{file}: not a trmkit model (its metadata has no trmkit config)")
    try:
        values = json.loads(metadata["config"])
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}: damaged config in metadata ({exc})") from None
    if not isinstance(values, dict):
        raise InputError(f"{file}: damaged config in metadata (a {type(values).__name__}, not a mapping)")
    config = TRMConfig.from_dict(values, source=str(file))
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


def load_state(location: Path, task: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The training state saved beside a checkpoint's model (for ``--resume``); with ``task``,
    a checkpoint of another task is refused."""
    if location.is_file():
        raise InputError(f"{location}: a model file holds no training state; resume from a run directory")
    if task is not None:
        _, metadata = read_weights(location / MODEL_FILE)
        if metadata.get("task") != task:
            raise InputError(f"{location / MODEL_FILE} is a checkpoint of task '{metadata.get('task')}', not '{task}'")
    tensors, _ = read_weights(location / STATE_FILE)
    try:
        state = json.loads((location / STATE_JSON).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{location / STATE_JSON}: unreadable training state ({exc})") from None
    if not isinstance(state, dict) or not all(type(state.get(key)) is int and state[key] >= 0 for key in ("step", "sampler_position")):
        raise InputError(f"{location / STATE_JSON}: damaged training state (no whole step and sampler_position)")
    return tensors, state
