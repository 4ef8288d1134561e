"""``trmkit train``: train a task's model, with progress, periodic evaluation and checkpoints."""

from __future__ import annotations

import shlex
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from .. import config as configuration
from ..errors import InputError
from ..loggers import SINKS
from .common import emit_json, json_option, load_task, sets_option, stderr, task_argument

DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps."


def default_config_name(device: Any) -> str:
    """The paper's config needs a GPU (~43 GFLOP per training example and supervision step for
    Sudoku: hours per thousand steps on a 2-core CPU), so CPUs get the task's ``small`` config."""
    return "paper" if device.type == "cuda" else "small"


def distinct_versions(task: Any, config: configuration.TRMConfig, dataset: Any) -> Any:
    """The augmented versions training will draw, worked out now with a progress line when the
    task deduplicates them (ARC: minutes at 1000 versions), rather than silently in its first
    steps."""
    import numpy as np

    from ..processes import cores_per_process
    from ..versions import Versions

    pool = Versions.of_run(task, config, dataset)
    if pool.deduplicated:
        groups = np.unique(dataset.splits["train"].groups).tolist()
        with stderr.status(f"finding the distinct augmented versions of {len(groups)} {task.name} puzzles") as status:
            for done, _ in enumerate(pool.work_out(groups, cores_per_process()), start=1):
                status.update(f"finding the distinct augmented versions of {task.name} puzzles: {done}/{len(groups)}")
    return pool


def prepare_dataset(task: Any, config: configuration.TRMConfig, data_dir: Path | None, run_dir: Path) -> Any:
    """The dataset to train on: ``--data``, or the task's default built into ``RUN/data`` (reused
    when it was built with the same options and seed)."""
    from .. import dataset

    if data_dir is not None:
        return dataset.load(data_dir, task=task.name)
    options = task.dataset_options(config.data.options)
    target = run_dir / "data"
    if (target / "manifest.json").is_file():
        try:
            existing = dataset.load(target, task=task.name)
        except InputError as exc:
            raise InputError(f"{exc}; it is this run's default dataset: delete {target} and it is built again") from None
        if existing.manifest.get("builder_options") == dataset.options_record(options) and existing.manifest.get("seed") == config.data.seed:
            return existing
    with stderr.status(f"building the default {task.name} dataset (seed {config.data.seed})"):
        built = dataset.build(task, options, config.data.seed)
        dataset.save(built, target)
    counts = ", ".join(f"{split} {count}" for split, count in built.manifest["counts"].items())
    stderr.print(f"dataset: {counts} examples in {target}")
    return built


class StopRequest:
    """SIGINT/SIGTERM ask the loop to finish its step, checkpoint and exit cleanly, with the
    status a shell expects of a command a signal stopped (128 + the signal's number), so that
    ``trmkit train ... && trmkit eval ...`` does not go on with a half-trained model."""

    #: Seconds in which a repeated signal is the same request: under torchrun a Ctrl-C reaches a
    #: worker twice (from the terminal and forwarded by torchrun).
    REPEAT_S = 2.0

    def __init__(self) -> None:
        self.requested = False
        self.requested_at = 0.0
        self.exit_status = 0
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. inside some test runners)
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C means now
            if time.monotonic() - self.requested_at < self.REPEAT_S:
                return
            raise KeyboardInterrupt
        self.requested = True
        self.requested_at = time.monotonic()
        self.exit_status = 128 + signum
        stderr.print("[yellow]stopping after this step; writing a checkpoint...[/]")

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def __call__(self) -> bool:
        return self.requested


@click.command("train")
@task_argument
@click.option("--config", "-c", "config_name", default=None, metavar="NAME|PATH", help="Named config of the task or a YAML file [default: paper on CUDA, small otherwise].")
@sets_option("Override a setting, e.g. --set train.lr=3e-4 --set model.n=4 (repeatable).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help="A dataset built by 'trmkit data build' [default: build the task's default into OUT/data].")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None, help="Run directory for checkpoints and metrics [default: runs/TASK-CONFIG].")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Optimizer steps (overrides train.steps).")
@click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint (start it if it has none yet).")
@click.option("--seed", type=int, default=None, help="Training seed (overrides train.seed).")
@click.option("--nproc", type=click.IntRange(min=1), default=None, help="Train data-parallel on N processes of this machine (starts torchrun: one process per GPU, or gloo on the CPU); for several machines run torchrun yourself.")
@click.option("--log", "log_to", multiple=True, type=click.Choice(SINKS), help="Also log to TensorBoard (OUT/tensorboard) or W&B (offline in OUT/wandb unless WANDB_MODE is set); repeatable; needs 'trmkit[tensorboard]' / 'trmkit[wandb]'.")
@json_option
def train(task_name: str, config_name: str | None, sets: tuple[str, ...], data_dir: Path | None, out: Path | None, steps: int | None, device: str, resume: bool, seed: int | None, nproc: int | None, log_to: tuple[str, ...], as_json: bool) -> None:
    """Train a Tiny Recursive Model on TASK.

    With no --data the task's default dataset is generated (offline, seeded). Progress goes to
    stderr; metrics are appended to OUT/metrics.jsonl; checkpoints (atomic, resumable) go to
    OUT/checkpoints. Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint and
    exits with status 130 (143); continue with --resume. The final summary goes to stdout.

    \b
    Examples:
      trmkit train sudoku                          # small config on CPU, paper on a GPU
      trmkit train sudoku --config tiny --steps 20 --out runs/try
      trmkit train sudoku --set train.lr=3e-4 --set model.n=4
      trmkit train sudoku --set train.compile=false  # no torch.compile (small configs compile)
      trmkit train sudoku --out runs/try --resume
      trmkit train sudoku --nproc 8                # 8 GPUs of this machine, batch split 8 ways
      torchrun --nproc_per_node 8 -m trmkit train sudoku   # the same, launched by hand
    """
    from .. import compiling, distributed
    from ..loggers import check_available, fan_out, open_logs
    from ..train import resolve_device, train as run_training

    check_available(log_to)
    task = load_task(task_name)
    overrides = list(sets) + ([f"train.steps={steps}"] if steps else []) + ([f"train.seed={seed}"] if seed is not None else [])
    if nproc is not None and nproc > 1:
        if distributed.launched_by_torchrun():
            raise click.UsageError("--nproc starts torchrun itself; leave it out when launching with torchrun")
        # A config that cannot run is one line now, not one per process and torchrun's traceback.
        config = configuration.load_config(task, config_name or default_config_name(resolve_device(device)), overrides)
        distributed.local_batch_size(config.train.batch_size, nproc)
        from ..launch import run_processes

        ctx = click.get_current_context()
        arguments = (["--debug"] if ctx.find_root().params.get("debug") else []) + shlex.split(command_line(ctx, nproc=None))[1:]
        stderr.print(f"starting {nproc} training processes (torchrun): trmkit {shlex.join(arguments)}", markup=False)
        ctx.exit(run_processes(arguments, nproc))
    torch_device = click.get_current_context().with_resource(distributed.session(resolve_device(device)))
    if not distributed.is_main():
        stderr.quiet = True  # rank 0 alone reports progress; errors still reach stderr
    name = config_name or default_config_name(torch_device)
    if config_name is None:
        stderr.print(f"config: '{name}' (default on {torch_device.type}; choose with --config)")
    config = configuration.load_config(task, name, overrides)
    run_dir = out or Path("runs") / f"{task.name}-{Path(name).stem}"
    from ..model import computes_in_bf16, cpu_computes_bf16
    from ..resuming import starting_point
    from ..runlock import run_lock

    start = None  # the checkpoint the run continues (rank 0 finds it)
    with distributed.main_first():  # rank 0 takes the run and checks it; the others wait for it
        if distributed.is_main():
            click.get_current_context().with_resource(run_lock(run_dir))  # one run at a time
            # Refused now if it cannot start or resume as asked, before the default dataset is
            # (re)built. A pre-empted job restarts with one command line, from the first start on.
            start = starting_point(run_dir, config, resume)
            if start is None and resume:
                stderr.print(f"{run_dir}: no checkpoint yet; starting from step 0")

    with distributed.main_first():  # rank 0 builds the default dataset; the others load it
        dataset = prepare_dataset(task, config, data_dir, run_dir)
    world = distributed.world_size()
    bf16 = computes_in_bf16(config.model, torch_device)
    stderr.print(
        f"training {task.name} on {torch_device}{f' x {world} processes' if world > 1 else ''}: {config.train.steps} steps, batch {config.train.batch_size}, "
        f"T={config.model.T} n={config.model.n} hidden {config.model.hidden_size} ({config.model.mixer}), {'bf16' if bf16 else 'float32'}"
    )
    if torch_device.type == "cpu" and config.model.forward_dtype == "auto" and start is None and cpu_computes_bf16():
        stderr.print("this CPU computes bf16 natively: --set model.forward_dtype=bfloat16 trains 1.3-2x as fast")
    versions = distinct_versions(task, config, dataset)
    if config.train.compile and compiling.compiler_failure(torch_device) is None:  # else training warns why it runs eagerly
        stderr.print("train.compile: the first steps compile the network, which takes a while (--set train.compile=false trains eagerly)")
    with (
        StopRequest() as stop, _progress(config.train.steps) as report, open_logs(log_to, run_dir, config.to_dict()) as logs,
        warnings.catch_warnings(),
    ):
        warnings.showwarning = _one_line_warning
        trainer = run_training(
            task, config, dataset, run_dir, torch_device, resume=resume, on_step=report.step, on_log=logs.on_log,
            on_eval=fan_out(report.evaluation, logs.on_eval), should_stop=stop, versions=versions,
        )
    if not distributed.is_main():
        return
    summary = {
        "task": task.name,
        "run_dir": str(run_dir),
        "checkpoint": str(_latest(run_dir)),
        "step": trainer.step,
        "parameters": trainer.model.num_parameters(),
        "eval": report.last_eval,
    }
    if stop.requested:
        from ..launch import launched_processes

        again = command_line(click.get_current_context(), config_name=name, out=run_dir, resume=True, nproc=launched_processes())
        stderr.print(f"stopped at step {trainer.step}; continue with: {again}", markup=False)
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"run: {run_dir}")
        click.echo(f"checkpoint: {summary['checkpoint']}")
        if report.last_eval:
            metrics = report.last_eval
            click.echo(f"step {trainer.step}: exact accuracy {metrics['exact_accuracy']:.4f}, token accuracy {metrics['token_accuracy']:.4f} ({metrics['examples']} test examples){voted(metrics)}")
    if stop.requested:
        click.get_current_context().exit(stop.exit_status)


def command_line(ctx: click.Context, **changes: Any) -> str:
    """The command line that ran ``ctx``'s command, with ``changes`` to its parameters: every
    setting is repeated, since a resumed run reads its config from the command line again."""
    words = ["trmkit", ctx.info_name or ""]
    for param in ctx.command.params:
        value = changes.get(param.name, ctx.params.get(param.name)) if param.name else None
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif value not in (None, False, (), param.default):
            flag = param.opts[0]
            if getattr(param, "is_flag", False):
                words.append(flag)
            else:
                words += [part for item in (value if getattr(param, "multiple", False) else [value]) for part in (flag, str(item))]
    return shlex.join(words)


def _latest(run_dir: Path) -> Path:
    from ..checkpoint import resolve

    return resolve(run_dir)


def _one_line_warning(message: Warning | str, *args: Any, **kwargs: Any) -> None:
    """Warnings while training (a compile that falls back to eager, say), as one line on stderr."""
    stderr.print(f"[yellow]warning:[/] {escape(str(message))}")


class _progress:
    """A rich progress bar on stderr: step, loss, exact accuracy of halted samples, examples/s."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.total = total
        self.last_eval: dict[str, Any] | None = None
        self.bar = Progress(
            TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"), TimeRemainingColumn(),
            console=stderr, transient=False,
        )
        self.task_id = self.bar.add_task("train", total=total, stats="")

    def __enter__(self) -> _progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()

    def step(self, metrics: dict[str, Any]) -> None:
        stats = f"loss {metrics['loss']:.3f}  exact {metrics['exact_accuracy']:.3f}  {metrics['examples_per_s']:.0f} ex/s"
        self.bar.update(self.task_id, completed=metrics["step"], stats=stats)

    def evaluation(self, results: dict[str, Any]) -> None:
        self.last_eval = results["eval"]
        e = self.last_eval
        self.bar.console.print(
            f"eval @ {results['step']}: exact {e['exact_accuracy']:.4f}  token {e['token_accuracy']:.4f}  "
            f"adaptive exact {e['adaptive_exact_accuracy']:.4f} in {e['adaptive_mean_steps']:.2f} steps{voted(e)}"
        )


def voted(metrics: dict[str, Any]) -> str:
    """``  pass@2 X (N versions voting)`` for a task that votes (the reference's ARC headline)."""
    return f"  pass@2 {metrics['pass@2']:.4f} ({metrics['voting_versions']} versions voting)" if "pass@2" in metrics else ""


COMMANDS = [train]
