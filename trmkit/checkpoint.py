"""Checkpoints: safetensors and JSON only, written atomically, loaded without running code.

A run directory holds ``checkpoints/step-NNNNNNN/`` folders and a ``checkpoints/latest`` pointer.
Each folder has:

- ``model.safetensors``: the weights to use (EMA weights when training with EMA), with the
  resolved config, task name and versions in the file's metadata: all ``from_pretrained`` needs;
- ``state.safetensors`` + ``state.json``: what exact resumption needs besides (raw weights,
  optimizer moments, the carry, random-generator states, sampler position, step).

A folder is written under a temporary name, flushed to disk and renamed when whole, then
``latest`` is replaced atomically, so a crash at any moment leaves the previous checkpoint usable.
Every file carries a sha256 of its tensors and one of its other metadata (safetensors has no
checksum of its own), and ``state.safetensors`` one of ``state.json``, so a file damaged on disk
or in transfer is refused rather than loaded as noise. Weights
holding NaN or Inf are never written: the last good checkpoint stays the latest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import models
from .atomic import atomic_write, fsync_directory, new_file_mode
from .config import ModelConfig, TRMConfig
from .dataset import distribution_version
from .errors import InputError, TrmkitError
from .model import TRM

MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
STATE_JSON = "state.json"
KEEP = 2
DIGEST_KEY = "tensors_sha256"
#: sha256 of the file's other metadata (the config, the task...): a flipped byte there would
#: otherwise load as another model. Files written before it existed carry none and load as before.
METADATA_DIGEST_KEY = "metadata_sha256"
#: In ``state.safetensors``: sha256 of ``state.json`` beside it (the step and sampler position).
STATE_JSON_DIGEST_KEY = "state_json_sha256"
_STEP_NAME = re.compile(r"step-\d{7,}")
#: Seconds to pause in the middle of writing a checkpoint. Read here only, and only for the crash
#: test (tests/test_reliability_crash.py): it widens the write window so that a SIGKILL lands
#: while a checkpoint is half written. Never set it otherwise.
PAUSE_ENV = "TRMKIT_TEST_CHECKPOINT_PAUSE"
NUMERIC_FAULT_HINT = "Try a lower train.lr or more train.lr_warmup_steps, then resume with --resume."


class DamagedFile(InputError):
    """A checkpoint file that cannot be read or does not match its checksums."""


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


def metadata_digest(metadata: dict[str, str]) -> str:
    """sha256 of a file's metadata, its own digests left out."""
    kept = {key: value for key, value in metadata.items() if key not in (DIGEST_KEY, METADATA_DIGEST_KEY)}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def _write_tensors(file: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    tensors = _contiguous(tensors)
    metadata = dict(metadata or {})
    save_file(tensors, file, metadata={**metadata, METADATA_DIGEST_KEY: metadata_digest(metadata), DIGEST_KEY: tensors_digest(tensors)})
    os.chmod(file, new_file_mode())  # safetensors writes a private (0600) file; the state.json beside it is not


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
    for stale in root.glob(".step-*.tmp"):  # left by a run killed while writing (the run lock keeps out live ones)
        shutil.rmtree(stale, ignore_errors=True)
    temporary = root / f".{final.name}.tmp"
    try:
        temporary.mkdir()
        write_model_file(temporary / MODEL_FILE, model_weights, config, step, extra_metadata)
        pause = float(os.environ.get(PAUSE_ENV, 0) or 0)
        if pause:
            time.sleep(pause)
        state_text = json.dumps(state, indent=2)
        _write_tensors(temporary / STATE_FILE, state_tensors, {STATE_JSON_DIGEST_KEY: hashlib.sha256(state_text.encode()).hexdigest()})
        (temporary / STATE_JSON).write_text(state_text)
        for path in temporary.iterdir():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    except (OSError, SafetensorError) as exc:  # a full disk, a quota, a file-size limit
        shutil.rmtree(temporary, ignore_errors=True)
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise TrmkitError(f"{final}: cannot write the checkpoint ({reason}); {what_is_kept(run_dir)}") from None
    if final.exists():  # the same step saved again (a resumed run): keep one whole copy at all times
        old = root / f".{final.name}.old.tmp"
        os.replace(final, old)
        os.replace(temporary, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(temporary, final)
    fsync_directory(root)
    atomic_write(root / "latest", lambda handle: handle.write(final.name.encode()))
    for old in sorted(p for p in root.glob("step-*") if _STEP_NAME.fullmatch(p.name) and p.is_dir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)  # checkpoints only: a folder the user named step-... stays
    return final


def check_writable(run_dir: Path) -> None:
    """Fail now, not after the first ``checkpoint_every`` steps of training, if checkpoints
    cannot be written into ``run_dir``."""
    root = Path(run_dir) / "checkpoints"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if (root / "latest").exists() and not (root / "latest").is_file():
            raise TrmkitError(f"{root / 'latest'}: not a file; remove it so that checkpoints can be written")
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise TrmkitError(f"{root}: checkpoints cannot be written there ({exc.strerror or exc})") from None


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
    complete = _whole_checkpoints(root)
    return complete[-1] if complete else None


def _whole_checkpoints(root: Path) -> list[Path]:
    """The checkpoint folders of ``root`` that hold a model file, oldest first."""
    return sorted(p for p in root.glob("step-*") if _STEP_NAME.fullmatch(p.name) and (p / MODEL_FILE).is_file())


@contextmanager
def older_one_named(location: Path) -> Iterator[None]:
    """A damaged checkpoint found in the block is reported with the older one beside it, which
    a run can resume from once the damaged one is moved away."""
    try:
        yield
    except DamagedFile as exc:
        older = [p for p in _whole_checkpoints(location.parent) if p.name < location.name]
        if not older:
            raise
        raise InputError(f"{exc}; the older checkpoint {older[-1]} may be whole: move {location.name} away to resume from it") from None


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a clear error if it is not one, or if its
    tensors do not match the checksum written with them."""
    metadata = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(path, exc) from None
    expected = metadata.get(DIGEST_KEY)
    if expected is not None and tensors_digest(tensors) != expected:
        raise DamagedFile(f"{path}: damaged: its tensors do not match the checksum written with them (corrupted on disk or in transfer?)")
    return tensors, metadata


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", task: str | None = None) -> LoadedModel:
    """Build the model a checkpoint describes and load its weights (EMA weights for training runs)."""
    location = resolve(path)
    file = location if location.is_file() else location / MODEL_FILE
    tensors, metadata = read_weights(file)
    config = _config_of(file, metadata)
    if task is not None and not config.task:
        raise InputError(f"{file} names no task (converted without --task?); convert it again with --task {task}")
    if task is not None and config.task != task:
        raise InputError(f"{file} is a model for task '{config.task}', not '{task}'")
    _check_shapes(config.model, tensors, file)
    model = build_model(config.model, file)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{file}: weights do not fit the model its config describes ({' '.join(first[:2])})") from None
    return LoadedModel(model.to(device).eval(), config, config.task, metadata, file)


def saved_config(location: Path) -> TRMConfig:
    """The config a checkpoint (folder or model file) was trained with, from the file's header
    alone (its metadata checksum checked; the tensors, maybe gigabytes, are read when loaded)."""
    file = location if location.is_file() else location / MODEL_FILE
    return _config_of(file, read_metadata(file))


def read_metadata(path: Path) -> dict[str, str]:
    """A safetensors file's metadata, checked against its checksum when it carries one."""
    try:
        metadata = models.read_metadata(path)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(path, exc) from None
    expected = metadata.get(METADATA_DIGEST_KEY)
    if expected is not None and metadata_digest(metadata) != expected:
        raise DamagedFile(f"{path}: damaged: its metadata (config, task) does not match the checksum written with it (corrupted on disk or in transfer?)")
    return metadata


def _unreadable(path: Path, error: Exception) -> DamagedFile:
    return DamagedFile(f"{path}: not a readable safetensors file ({str(error).splitlines()[0] if str(error) else type(error).__name__})")


def _config_of(file: Path, metadata: dict[str, str]) -> TRMConfig:
    if metadata.get("format") != "trmkit-checkpoint-1" or "config" not in metadata:
        raise InputError(f"{file}: not a trmkit model (its metadata has no trmkit config)")
    try:
        values = json.loads(metadata["config"])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DamagedFile(f"{file}: damaged config in metadata ({type(exc).__name__})") from None
    if not isinstance(values, dict):
        raise DamagedFile(f"{file}: damaged config in metadata (a {type(values).__name__}, not a mapping)")
    return TRMConfig.from_dict(values, source=str(file))


def _check_shapes(config: ModelConfig, tensors: dict[str, torch.Tensor], file: Path) -> None:
    """Compare the file's tensors with the model its config describes, built on the meta device
    (shapes, no memory), before building it for real: a config claiming a huge model is refused
    for the weights it does not have, rather than allocated. The layer count is checked first,
    as even a meta model costs time per layer."""
    layers = {name.split(".")[1] for name in tensors if name.startswith("layers.")}
    if len(layers) != config.num_layers:
        raise InputError(f"{file}: weights do not fit the model its config describes (config: {config.num_layers} layers, weights: {len(layers)})")
    try:
        with torch.device("meta"):
            model = build_model(config, file)
    except (RuntimeError, OverflowError, ValueError, MemoryError) as exc:
        raise InputError(f"{file}: its config describes no model that can be built ({type(exc).__name__})") from None
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    found = {name: tuple(value.shape) for name, value in tensors.items()}
    for name in sorted(set(expected) | set(found)):
        if expected.get(name) != found.get(name):
            raise InputError(
                f"{file}: weights do not fit the model its config describes ({name}: config {expected.get(name)}, weights {found.get(name)})"
            )
    # What the file does not hold (RoPE's tables, from seq_len) must not dwarf what it does.
    computed = sum(buffer.numel() for name, buffer in model.named_buffers() if name not in expected)
    if computed > 4 * sum(tensor.numel() for tensor in tensors.values()) + 2**24:
        raise InputError(f"{file}: its config describes tables far larger than its weights (model.seq_len {config.seq_len})")


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
    tensors, metadata = read_weights(location / STATE_FILE)
    try:
        text = (location / STATE_JSON).read_text()
        state = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DamagedFile(f"{location / STATE_JSON}: unreadable training state ({exc})") from None
    expected = metadata.get(STATE_JSON_DIGEST_KEY)
    if expected is not None and hashlib.sha256(text.encode()).hexdigest() != expected:
        raise DamagedFile(f"{location / STATE_JSON}: damaged: it does not match the checksum written with it (corrupted on disk or in transfer?)")
    if not isinstance(state, dict) or not all(type(state.get(key)) is int and state[key] >= 0 for key in ("step", "sampler_position")):
        raise DamagedFile(f"{location / STATE_JSON}: damaged training state (no whole step and sampler_position)")
    return tensors, state
