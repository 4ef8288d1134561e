"""What a resumed run may change: its settings are read from the command line again, so a
resume that forgets a ``--set`` (or adds one) would silently go on as another run, under the
first run's name. Settings that change what the remaining steps compute must therefore be the
checkpoint's; only how far to train and the bookkeeping around the steps may change (training
further under a cosine schedule, ``train.lr_min_ratio`` < 1, stretches its remaining decay).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from . import checkpoint
from .config import TRMConfig
from .errors import ConfigError, InputError

#: How far to train; when to log, evaluate and checkpoint; how batches are built (the same
#: batches with any number of workers); whether the network is compiled (the same function).
CHANGEABLE = frozenset({
    "train.steps", "train.eval_every", "train.eval_examples", "train.eval_versions", "train.checkpoint_every", "train.log_every",
    "train.compile", "data.workers",
})
#: Filled in from the dataset when training starts; the dataset itself is checked by checksums.
FROM_DATASET = frozenset({"model.vocab_size", "model.seq_len", "model.num_puzzle_identifiers"})
#: Differences a refusal lists; more than this many, and the run was started with another config.
SHOWN = 6


def conflicts(saved: TRMConfig, config: TRMConfig) -> dict[str, tuple[Any, Any]]:
    """Settings ``config`` changes from ``saved`` that a resumed run may not: name -> (saved, new)."""
    old, new = _flat(saved.to_dict()), _flat(config.to_dict())
    return {
        key: (old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if key not in CHANGEABLE | FROM_DATASET and old.get(key) != new.get(key)
    }


#: What a run writes beside its checkpoints, which a new run must not overwrite.
RUN_FILES = ("config.json", "metrics.jsonl")


def starting_point(run_dir: Path, config: TRMConfig, resume: bool) -> Path | None:
    """The checkpoint a run into ``run_dir`` continues (``resume``, checked against ``config``),
    or None to start at step 0: a resumed run without a checkpoint yet starts afresh, while a new
    run never writes over a run, nor over files of a run's names that it finds there."""
    has_checkpoints = checkpoint.latest_checkpoint(Path(run_dir) / "checkpoints") is not None
    if resume:
        return checkpoint_to_resume(run_dir, config) if has_checkpoints else None
    found = ["checkpoints"] if has_checkpoints else [name for name in RUN_FILES if (Path(run_dir) / name).exists()]
    if found:
        raise ConfigError(f"{run_dir} already holds a run ({', '.join(found)}); pass --resume to continue it or choose another --out")
    return None


def checkpoint_to_resume(run_dir: Path, config: TRMConfig) -> Path:
    """The checkpoint of ``run_dir`` that ``--resume`` continues under ``config``, checked."""
    location = checkpoint.resolve(run_dir)
    with checkpoint.older_one_named(location):
        check(location, config)
    return location


def check(location: Path, config: TRMConfig) -> None:
    """Refuse to resume the checkpoint at ``location`` under settings it was not trained with,
    saying how to continue it as it was."""
    saved = checkpoint.saved_config(location)
    if saved.task != config.task:
        raise InputError(f"{location / checkpoint.MODEL_FILE} is a checkpoint of task '{saved.task}', not '{config.task}'")
    changed = conflicts(saved, config)
    if not changed:
        return
    shown = ", ".join(f"{key} {_text(old)} -> {_text(new)}" for key, (old, new) in list(changed.items())[:SHOWN])
    more = f" and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
    if len(changed) > SHOWN:  # another config altogether, most likely
        how = f"resume with the --config and --set it was started with (its settings: {location.parent.parent / 'config.json'})"
    else:
        how = "continue it as it was with " + " ".join(f"--set {shlex.quote(f'{key}={_text(old)}')}" for key, (old, _) in changed.items())
    raise ConfigError(f"{location} was trained with other settings ({shown}{more}); resuming would train another run under its name: {how}, or train into another --out")


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _text(value: Any) -> str:
    """A value as ``--set`` reads it back (YAML): strings bare, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
