"""The training loop of the official recipe, task-agnostic and exactly resumable.

One optimizer step = one supervision step of every carry slot (:func:`trmkit.act.supervision_step`),
loss divided by the batch size, AdamATan2 on the weights, sign-SGD on the puzzle-embedding rows,
EMA of the weights. Metrics go to ``metrics.jsonl`` in the run directory; checkpoints are atomic
(:mod:`trmkit.checkpoint`) and hold everything needed to continue with the same numbers.

Under torchrun (:mod:`trmkit.distributed`) every rank holds ``batch_size / world`` of the carry
slots, gradients and puzzle-embedding updates are combined across ranks, and rank 0 alone writes
metrics and checkpoints. A checkpoint holds the whole global carry, so it is the same file a single
process would write, and a run resumes on any number of processes that splits the batch.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import torch

from . import checkpoint, distributed, resuming, runlock
from .atomic import atomic_write
from .act import Carry, empty_carry, supervision_step
from .compiling import compiled_forward
from .config import TRMConfig
from .dataset import Dataset
from .errors import TrmkitError
from .evaluate import evaluate
from .loader import BatchLoader, default_workers
from .losses import accuracy_parts, act_loss
from .model import TRM
from .optim import EMA, AdamATan2, SparseSignSGD, learning_rate
from .sampler import Sampler
from .task import Task
from .versions import Versions
from .voting import evaluate_votes, supports_voting

METRICS_FILE = "metrics.jsonl"


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; anything else is passed to torch."""
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise TrmkitError(f"unknown device '{name}' ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrmkitError(f"device '{name}' asked for, but this torch sees no CUDA device")
    if device.type == "mps" and not mps:
        raise TrmkitError(f"device '{name}' asked for, but this torch sees no MPS (Apple GPU) device")
    return device


class Trainer:
    """Owns the model, optimisers, EMA, carry and sampler of one run."""

    def __init__(self, task: Task, config: TRMConfig, dataset: Dataset, run_dir: Path, device: torch.device, versions: Versions | None = None) -> None:
        """``versions``: the augmented versions of ``dataset`` under ``config`` (built here when not
        given; pass one prepared ahead to show progress while a task's versions are deduplicated)."""
        self.task = task
        self.config = config
        self.dataset = dataset
        self.run_dir = Path(run_dir)
        self.device = device
        train = config.train
        config.model.vocab_size = dataset.vocab_size
        config.model.seq_len = dataset.seq_len
        config.model.num_puzzle_identifiers = task.identifier_count(dataset.num_puzzle_identifiers, config.data.augmentations)

        # This rank's carry slots: [first, first + local_batch) of the global batch.
        self.local_batch = distributed.local_batch_size(train.batch_size)
        self.first_slot = distributed.rank() * self.local_batch

        torch.manual_seed(train.seed)
        self.model = TRM(config.model).to(device).train()
        distributed.broadcast_module(self.model)
        self.forward = compiled_forward(self.model, train.compile, device)
        params = list(self.model.parameters())
        if train.optimizer == "adam_atan2":
            self.optimizer: torch.optim.Optimizer = AdamATan2(params, lr=train.lr, betas=(train.beta1, train.beta2), weight_decay=train.weight_decay)
        else:
            self.optimizer = torch.optim.AdamW(params, lr=train.lr, betas=(train.beta1, train.beta2), weight_decay=train.weight_decay)
        self.sparse = (
            SparseSignSGD(self.model.puzzle_emb, train.puzzle_emb_lr, train.puzzle_emb_weight_decay)
            if self.model.puzzle_emb is not None
            else None
        )
        self.ema = EMA(self.model, train.ema_decay) if train.ema else None
        self.sampler = Sampler(
            task, dataset.splits["train"], train.batch_size, config.data.augmentations, train.seed, slots=(self.first_slot, self.local_batch),
            base_identifiers=dataset.num_puzzle_identifiers, jitter=config.data.jitter,
            versions=versions if versions is not None else Versions.of_run(task, config, dataset),
        )
        workers = config.data.workers if config.data.workers is not None else default_workers(device)
        self.batches = BatchLoader(self.sampler, workers)
        self.carry = empty_carry(self.model, self.local_batch, device)
        self.exploration = torch.Generator().manual_seed(train.seed)
        self.step = 0
        # Sums of the batch totals since the last log line: carry slots halt in waves (every slot
        # runs N_sup steps until the halting head learns), so one step's halted slots are often
        # none, and a log line of that step alone would say nothing.
        self.window: dict[str, float] = {}
        self.window_steps = 0

    # -- one step -------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One optimizer step; returns the metrics of the slots that halted in it."""
        train = self.config.train
        self.step += 1
        lr = learning_rate(self.step, train.lr, train.lr_warmup_steps, train.steps, train.lr_min_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.sparse is not None:
            self.sparse.lr = learning_rate(self.step, train.puzzle_emb_lr, train.lr_warmup_steps, train.steps, train.lr_min_ratio)

        batch = self.batches.next_batch()
        as_tensor = lambda array: torch.as_tensor(array, device=self.device)  # noqa: E731
        self.carry, logits, q_halt, _ = supervision_step(
            self.forward, self.carry, as_tensor(batch.inputs), as_tensor(batch.labels), as_tensor(batch.puzzle_identifiers), self.exploration,
            slots=(self.first_slot, train.batch_size),
        )
        loss, parts, correct = act_loss(logits, self.carry.labels, q_halt, train.loss, train.q_loss_weight)
        totals = self._batch_totals(loss, parts, correct, logits, q_halt)
        if not math.isfinite(totals["loss"]):
            raise TrmkitError(
                f"the loss became {totals['loss']} at step {self.step}; nothing was saved, "
                f"{checkpoint.what_is_kept(self.run_dir)}. {checkpoint.NUMERIC_FAULT_HINT}"
            )
        (loss / train.batch_size).backward()  # the global batch: summed over ranks, it is the mean
        distributed.all_reduce_gradients(self.model.parameters())
        self.optimizer.step()
        if self.sparse is not None:
            self.sparse.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)
        for name, value in totals.items():
            self.window[name] = self.window.get(name, 0.0) + value
        self.window_steps += 1
        return self._metrics(totals, 1, lr)

    @torch.no_grad()
    def _batch_totals(self, loss, parts, correct, logits, q_halt) -> dict[str, float]:
        """Sums over the global batch of what the step's metrics report, in one all-reduce (so
        every rank also agrees on whether the loss is finite)."""
        halted = self.carry.halted
        token_accuracy, _ = accuracy_parts(logits, self.carry.labels)
        sums = {
            "loss": loss,
            "lm_loss": parts["lm_loss"],
            "q_halt_loss": parts["q_halt_loss"],
            "halted": halted.sum(),
            "accuracy": token_accuracy[halted].sum(),
            "exact": (correct & halted).sum(),
            "q_halt_right": (((q_halt >= 0) == correct) & halted).sum(),
            "steps": self.carry.steps[halted].sum(),
        }
        values = distributed.sum_across_ranks(torch.stack([value.detach().to(torch.float64) for value in sums.values()]))
        return dict(zip(sums, values.tolist()))

    def window_metrics(self, lr: float) -> dict[str, float]:
        """The metrics of every step since the last call (what a log line reports), then a new window."""
        metrics = self._metrics(self.window, self.window_steps, lr)
        self.window, self.window_steps = {}, 0
        return metrics

    def _metrics(self, totals: dict[str, float], steps: int, lr: float) -> dict[str, float]:
        """Per-example means (losses) and means over the slots that halted (accuracies, steps)."""
        count = max(1, int(totals["halted"]))
        batch = self.config.train.batch_size * max(1, steps)
        return {
            "step": self.step,
            "lr": lr,
            "loss": totals["loss"] / batch,
            "lm_loss": totals["lm_loss"] / batch,
            "q_halt_loss": totals["q_halt_loss"] / batch,
            "halted": int(totals["halted"]),
            "accuracy": totals["accuracy"] / count,
            "exact_accuracy": totals["exact"] / count,
            "q_halt_accuracy": totals["q_halt_right"] / count,
            "steps": totals["steps"] / count,
        }

    # -- evaluation and weights -----------------------------------------------------------------
    def eval_model(self) -> TRM:
        """The model evaluation and checkpoints use: a copy holding the EMA weights, if any."""
        if self.ema is None:
            return self.model
        model = copy.deepcopy(self.model)
        self.ema.copy_to(model)
        return model.eval()

    def evaluate(self) -> dict[str, Any]:
        """Held-out metrics of the evaluation model; for a task that votes across augmented
        versions (ARC), also pass@K of the votes of ``train.eval_versions`` versions, as the
        reference's evaluator reports (its headline: pass@2)."""
        train = self.config.train
        model, test, batch_size = self.eval_model(), self.dataset.splits["test"], min(256, train.batch_size * 4)
        metrics = evaluate(model, self.task, test, batch_size=batch_size, limit=train.eval_examples)
        trained = self.sampler.versions.wanted
        versions = trained if train.eval_versions is None else min(train.eval_versions, trained)
        if versions and supports_voting(self.task):
            votes, _ = evaluate_votes(
                model, self.task, test, pool=self.sampler.versions, versions=versions, base_count=self.dataset.num_puzzle_identifiers,
                limit=train.eval_examples, batch_size=batch_size,
            )
            metrics.update({key: value for key, value in votes.items() if key.startswith("pass@")}, voting_versions=versions)
        return metrics

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self) -> Path:
        """Write a checkpoint (rank 0; every rank must call this, as the carry is gathered) and
        return where it went."""
        carry = {name: distributed.gather_rows(value) for name, value in self.carry.tensors().items()}
        location = self._write_checkpoint(carry) if distributed.is_main() else None
        return distributed.broadcast_object(location)

    def _write_checkpoint(self, carry: dict[str, torch.Tensor]) -> Path:
        state_tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        names = {id(p): name for name, p in self.model.named_parameters()}
        for p, state in self.optimizer.state.items():
            for key, value in state.items():
                state_tensors[f"optim.{names[id(p)]}.{key}"] = torch.as_tensor(value)
        if self.ema is not None:
            state_tensors.update({f"ema.{k}": v for k, v in self.ema.shadow.items()})
        state_tensors.update({f"carry.{k}": v for k, v in carry.items()})
        state_tensors["rng.exploration"] = self.exploration.get_state()
        state = {
            "step": self.step, "sampler_position": self.sampler.position, "dataset": self.dataset.manifest.get("files", {}),
            "metrics_window": {"steps": self.window_steps, "totals": self.window},
        }
        return checkpoint.save(self.run_dir, self.step, self.eval_model().state_dict(), self.config, state_tensors, state)

    def restore(self, location: Path) -> None:
        tensors, state = checkpoint.load_state(location, task=self.task.name)
        if state.get("dataset") != self.dataset.manifest.get("files", {}):
            raise TrmkitError(f"{location}: the checkpoint was trained on a different dataset than the one given")
        try:
            self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            params = dict(self.model.named_parameters())
            for key, value in tensors.items():
                if key.startswith("optim."):
                    name, field = key[6:].rsplit(".", 1)
                    self.optimizer.state[params[name]][field] = value if field == "step" else value.to(self.device)
                elif key.startswith("ema.") and self.ema is not None:
                    self.ema.shadow[key[4:]] = value.to(self.device)
            saved_batch = len(tensors["carry.halted"])
            if saved_batch != self.config.train.batch_size:
                raise TrmkitError(f"{location}: the run was trained with train.batch_size {saved_batch}, not {self.config.train.batch_size}")
            mine = slice(self.first_slot, self.first_slot + self.local_batch)
            self.carry = Carry(**{f.name: tensors[f"carry.{f.name}"][mine].to(self.device) for f in dataclasses.fields(Carry)})
            stream = self.model.stream_dtype(self.device)  # a checkpoint of a run on another device
            self.carry.y, self.carry.z = self.carry.y.to(stream), self.carry.z.to(stream)
            self.exploration.set_state(tensors["rng.exploration"])
        except (KeyError, RuntimeError) as exc:
            raise TrmkitError(f"{location}: training state does not fit this run's config ({exc})") from None
        self.step = int(state["step"])
        self.sampler.position = int(state["sampler_position"])
        window = state.get("metrics_window", {"steps": 0, "totals": {}})
        try:
            self.window = {str(name): float(value) for name, value in window["totals"].items()}
            self.window_steps = int(window["steps"])
            if not all(map(math.isfinite, self.window.values())) or self.window_steps < 0:
                raise ValueError
        except (AttributeError, KeyError, TypeError, ValueError):
            raise TrmkitError(f"{location}: damaged training state (metrics_window)") from None


def train(
    task: Task,
    config: TRMConfig,
    dataset: Dataset,
    run_dir: Path,
    device: torch.device,
    resume: bool = False,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    on_eval: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    versions: Versions | None = None,
) -> Trainer:
    """Train until ``config.train.steps`` (continuing from the latest checkpoint if ``resume``; a
    new run into a directory that holds one is refused, see :func:`trmkit.resuming.starting_point`).

    ``on_step`` sees every step's own metrics; ``on_log`` each record written to ``metrics.jsonl``.
    Logs every ``log_every`` steps, evaluates every ``eval_every`` and at the end, checkpoints
    every ``checkpoint_every``, before each evaluation and when ``should_stop`` says so.
    """
    run_dir = Path(run_dir)
    main = distributed.is_main()
    with runlock.run_lock(run_dir) if main else contextlib.nullcontext():
        location = distributed.broadcast_object(resuming.starting_point(run_dir, config, resume) if main else None)
        if main:  # after the refusals, which must leave a folder that is not a run as it was
            checkpoint.check_writable(run_dir)
        trainer = Trainer(task, config, dataset, run_dir, device, versions)
        if location is not None:
            with checkpoint.older_one_named(location):
                trainer.restore(location)
        return _run(trainer, config, run_dir, location is not None, on_step, on_log, on_eval, should_stop)


def _run(
    trainer: Trainer, config: TRMConfig, run_dir: Path, resume: bool, on_step: Callable[[dict[str, Any]], None] | None,
    on_log: Callable[[dict[str, Any]], None] | None, on_eval: Callable[[dict[str, Any]], None] | None, should_stop: Callable[[], bool],
) -> Trainer:
    """The steps, logs, evaluations and checkpoints of :func:`train`, from ``trainer``'s step on."""
    metrics_path = run_dir / METRICS_FILE
    main = distributed.is_main()
    train_config = config.train

    def evaluation_due(step: int) -> bool:
        return bool(train_config.eval_every and step % train_config.eval_every == 0) or step == train_config.steps

    evaluated = False
    if main:  # lines after the step we start from are redone (all of them in a run started afresh)
        evaluated = _truncate_metrics(metrics_path, trainer.step)
        text = json.dumps(config.to_dict(), indent=2)
        atomic_write(run_dir / "config.json", lambda handle: handle.write(text.encode()))
    # The evaluation of the step we resume from, if due, may have failed after its checkpoint
    # was written (a plugin's validator raising, say): it is made up for before going on.
    unevaluated = distributed.broadcast_object(resume and evaluation_due(trainer.step) and not evaluated)
    started = time.perf_counter()
    first_step = trainer.step
    # Rank 0 alone keeps the log; the batch workers (if any) stop when the run ends, however it ends.
    # Unbuffered: a write that fails (a full disk) fails in ``write``, which names the file.
    with open(metrics_path if main else os.devnull, "ab", buffering=0) as log, contextlib.closing(trainer.batches):
        def write(record: dict[str, Any]) -> None:
            try:
                log.write((json.dumps(record) + "\n").encode())
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(metrics_path)) from exc

        def evaluate() -> None:
            results = {"step": trainer.step, "eval": trainer.evaluate()}
            write(results)
            if on_eval:
                on_eval(results)

        if unevaluated:
            evaluate()
        while trainer.step < train_config.steps:
            metrics = trainer.train_step()
            elapsed = time.perf_counter() - started
            timing = {"examples_per_s": (trainer.step - first_step) * train_config.batch_size / max(elapsed, 1e-9), "elapsed_s": elapsed}
            metrics.update(timing)
            last = trainer.step == train_config.steps
            if trainer.step % max(1, train_config.log_every) == 0 or last:
                record = {**trainer.window_metrics(metrics["lr"]), **timing}
                write(record)
                if on_log:
                    on_log(record)
            if on_step:
                on_step(metrics)
            stop = distributed.any_rank(should_stop())  # a signal may reach the ranks at different steps
            evaluating = evaluation_due(trainer.step)
            # A checkpoint before each evaluation too: evaluating runs plugin code (the decoder,
            # the validators), and an exception there must not cost the steps trained.
            if (train_config.checkpoint_every and trainer.step % train_config.checkpoint_every == 0) or evaluating or stop:
                trainer.save()
            if evaluating:
                evaluate()
            if stop:
                break
    return trainer


def _truncate_metrics(path: Path, step: int) -> bool:
    """Drop log lines written after the checkpoint we resume from (they will be redone); returns
    whether the lines kept hold an evaluation of ``step``."""
    if not path.is_file():
        return False
    kept, evaluated = [], False
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue  # a line torn by a kill, or damaged: not a record
        if not isinstance(record, dict) or type(record.get("step", 0)) is not int:
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
            evaluated = evaluated or (record.get("step") == step and "eval" in record)
    text = "".join(f"{line}\n" for line in kept)
    atomic_write(path, lambda handle: handle.write(text.encode()))  # a kill here must not lose the log
    return evaluated
