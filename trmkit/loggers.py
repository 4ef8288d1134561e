"""Experiment logs beside ``metrics.jsonl``: TensorBoard and Weights & Biases, off by default.

``metrics.jsonl`` is always written (by :mod:`trmkit.train`); these sinks receive the same
records through the ``on_step`` / ``on_eval`` callbacks the trainer already offers, so the
trainer knows nothing about them. Each is an extra (``trmkit[tensorboard]``, ``trmkit[wandb]``)
imported only when asked for, and a missing one is a one-line error before training starts.

Offline-safe: TensorBoard writes event files into ``RUN/tensorboard``; W&B runs in offline mode
(files in ``RUN/wandb``, ``wandb sync`` uploads them later) unless the user sets ``WANDB_MODE``
(e.g. ``online``) themselves. Only the main process logs in a distributed run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Protocol

from .extras import require

#: The sinks ``trmkit train --log`` accepts, and the module each needs (checked before a run
#: starts, so a missing extra costs no time).
SINK_MODULES = {"tensorboard": "tensorboard", "wandb": "wandb"}
SINKS = tuple(SINK_MODULES)


def check_available(names: tuple[str, ...] | list[str]) -> None:
    """Fail now, with the extra to install, if a chosen sink's library is missing."""
    for name in names:
        require(SINK_MODULES[name], name, f"--log {name}")


class Sink(Protocol):
    def log(self, values: dict[str, float], step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardSink:
    """Scalars to TensorBoard event files in ``RUN/tensorboard`` (``tensorboard --logdir RUN``)."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        check_available(["tensorboard"])
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        self.writer.add_text("config", f"```\n{config}\n```")

    def log(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    """Scalars to a Weights & Biases run in ``RUN/wandb``, offline unless ``WANDB_MODE`` says
    otherwise (project: ``WANDB_PROJECT``, default ``trmkit``)."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        check_available(["wandb"])
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "trmkit"),
            name=Path(run_dir).name,
            dir=str(run_dir),
            config=config,
            mode=os.environ.get("WANDB_MODE", "offline"),
        )

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


SINK_CLASSES: dict[str, Callable[[Path, dict[str, Any]], Sink]] = {"tensorboard": TensorBoardSink, "wandb": WandbSink}
def fan_out(*callbacks: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """One callback that calls each of ``callbacks`` in turn (the trainer takes one per event)."""

    def call(record: dict[str, Any]) -> None:
        for callback in callbacks:
            callback(record)

    return call


class ExperimentLogs:
    """Forwards training records to the chosen sinks as ``train/<key>`` and ``eval/<key>``
    scalars: the records ``metrics.jsonl`` gets (every ``log_every`` steps) and every evaluation."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def on_log(self, record: dict[str, Any]) -> None:
        if self.sinks:
            self._log("train", record, record["step"])

    def on_eval(self, results: dict[str, Any]) -> None:
        if self.sinks:
            self._log("eval", results["eval"], results["step"])

    def _log(self, prefix: str, record: dict[str, Any], step: int) -> None:
        values = {f"{prefix}/{key}": float(value) for key, value in record.items() if key != "step" and isinstance(value, (int, float))}
        for sink in self.sinks:
            sink.log(values, step)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def __enter__(self) -> ExperimentLogs:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_logs(names: tuple[str, ...] | list[str], run_dir: Path, config: dict[str, Any]) -> ExperimentLogs:
    """The sinks ``names`` for a run (none on processes other than the main one)."""
    from .distributed import is_main

    if not is_main():
        return ExperimentLogs([])
    sinks: list[Sink] = []
    try:
        for name in dict.fromkeys(names):  # each once, in the order given
            sinks.append(SINK_CLASSES[name](Path(run_dir), config))
    except BaseException:
        ExperimentLogs(sinks).close()
        raise
    return ExperimentLogs(sinks)
