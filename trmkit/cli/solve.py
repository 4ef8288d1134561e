"""``trmkit solve`` and ``trmkit eval``: use a trained model on puzzles and on held-out data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import click
import numpy as np
from rich.markup import escape

from ..errors import InputError
from ..task import Puzzle, Task
from .common import emit_json, encode_for_model, error_line, json_option, load_task, one_line, parse_puzzles, read_puzzle_batch, stderr, task_argument
from .train import DEVICE_HELP
from ..voting import supports_voting
from .voting import submission_option, versions_option, voted_eval, voted_solve

BATCH = 256


def model_option(function: Any) -> Any:
    return click.option(
        "--model", "-m", "model_path", default=None, metavar="PATH|NAME",
        help="A checkpoint (run directory, checkpoint folder or .safetensors file) or the name of a model the task ships ('trmkit models') [default: the task's bundled model].",
    )(function)


def device_option(function: Any) -> Any:
    return click.option("--device", default="auto", show_default=True, help=DEVICE_HELP)(function)


def halt_option(function: Any) -> Any:
    return click.option(
        "--halt", type=click.Choice(["adaptive", "all"]), default="adaptive", show_default=True,
        help="adaptive: stop each puzzle once the model's halting head is sure; all: run every supervision step (the official protocol).",
    )(function)


def threshold_option(function: Any) -> Any:
    return click.option(
        "--halt-threshold", "halt_threshold", type=float, default=None,
        help="Adaptive halting stops a puzzle once its halting logit q_halt exceeds this; higher is surer and takes more steps (benchmarks/halting.py measures the trade) [default: a bundled model's tuned threshold from its card, else 0: the paper's rule].",
    )(function)


def model_data(task: Task, loaded: Any, data_dir: Path | None) -> Any:
    """``--data``, or the model's default dataset rebuilt from its config; refused when its
    puzzles are not as long as the model's."""
    from .. import dataset

    if data_dir is not None:
        data = dataset.load(data_dir, task=task.name)
    else:
        data_config = loaded.config.data
        with stderr.status(f"building the model's default {task.name} dataset (seed {data_config.seed})"):
            data = dataset.build(task, task.dataset_options(data_config.options), data_config.seed)
    if data.seq_len != loaded.config.model.seq_len:
        raise InputError(f"the dataset's puzzles have {data.seq_len} tokens; this model reads {loaded.config.model.seq_len}")
    return data


def load_for(task: Task, model_path: str | None, device: str, halt: str = "all", threshold: float | None = None) -> tuple[Any, float]:
    """Load a checkpoint for ``task`` on ``device`` (a model of another task is refused); with no
    path, the task's bundled model, saying on stderr which one and how accurate it measured
    (with ``halt``, the halting protocol the command uses). Also the adaptive-halting threshold
    to use: ``threshold`` when given, else a bundled model's tuned one (0 when it has none)."""
    from ..checkpoint import load_model
    from ..models import find_model, tuned_threshold
    from ..train import resolve_device

    path, bundled = find_model(task, model_path)
    loaded = load_model(path, device=resolve_device(device), task=task.name)
    if threshold is None:
        threshold = tuned_threshold(loaded.path, loaded.metadata)
    if bundled is not None:
        protocol = f"adaptive halting, q_halt > {threshold:g}" if halt == "adaptive" else "all steps"
        stderr.print(f"model: {task.name} '{bundled.name}' (bundled, {bundled.card['steps']} training steps); measured held-out exact accuracy ({protocol}): {bundled.accuracy_line(halt)}")
    return loaded, threshold


def encode(task: Task, puzzles: list[Puzzle], seq_len: int) -> np.ndarray:
    return np.stack([encode_for_model(task, puzzle, seq_len) for puzzle in puzzles])


def solve_all(task: Task, loaded: Any, puzzles: list[Puzzle], halt: str, max_steps: int | None, trajectory: bool, threshold: float = 0.0) -> list[dict[str, Any]]:
    """Solve, decode and validate every puzzle; one result record per puzzle."""
    from ..act import solve

    tokens = encode(task, puzzles, loaded.config.model.seq_len)
    records = []
    # BATCH puzzles run at a time, a finished one handing its slot to the next; trajectories
    # are collected per BATCH puzzles to bound their memory.
    size = BATCH if trajectory else max(1, len(puzzles))
    for start in range(0, len(puzzles), size):
        chunk = puzzles[start : start + size]
        result = solve(loaded.model, tokens[start : start + size], max_steps=max_steps, halt=halt, return_trajectory=trajectory, threshold=threshold, batch_size=BATCH)
        for i, puzzle in enumerate(chunk):
            answer = task.decoder.decode(result["solution"][i].cpu().numpy(), puzzle)
            verdict = task.validate(puzzle, answer)
            record = {
                "source": puzzle.source,
                "answer": answer,
                "valid": verdict.ok,
                "reason": verdict.reason,
                "confidence": float(result["confidence"][i]),
                "steps": int(result["steps"][i]),
            }
            if trajectory:
                record["trajectory"] = [
                    {"step": entry["step"], "q_hat": float(entry["q_hat"][i]), "answer": task.decoder.decode(entry["prediction"][i].cpu().numpy(), puzzle)}
                    for entry in result["trajectory"]
                    if entry["step"] <= record["steps"]
                ]
            records.append(record)
    return records


def show(task: Task, record: dict[str, Any], color: bool) -> None:
    """One puzzle's result for people: header, answer grid, optionally the refinement."""
    verdict = "solved" if record["valid"] else f"not solved: {record['reason']}"
    steps = f"{record['steps']} step{'' if record['steps'] == 1 else 's'}"
    click.echo(f"# {record['source']}: {verdict} (confidence {record['confidence']:.3f}, {steps})")
    for entry in record.get("trajectory", []):
        click.echo(f"## step {entry['step']}: q_hat {entry['q_hat']:+.3f}")
        click.echo(task.decoder.render(entry["answer"], color=color))
    if "trajectory" in record:
        click.echo("## answer")
    click.echo(task.decoder.render(record["answer"], color=color))


def draw_trajectories(task: Task, puzzles: list[Puzzle], records: list[dict[str, Any]], png: Path, threshold: float) -> None:
    """One PNG per puzzle: ``png`` for the first, ``NAME-2.png``, ... for the others, with
    adaptive halting's ``threshold`` drawn (where it stops, or with ``--halt all`` would have)."""
    from ..plots import save_png, trajectory_figure

    for number, (puzzle, record) in enumerate(zip(puzzles, records), start=1):
        target = png if number == 1 else png.with_name(f"{png.stem}-{number}{png.suffix or '.png'}")
        save_png(trajectory_figure(task, puzzle, record, threshold), target)
        stderr.print(f"drew {puzzle.source} to {target}")


def record_json(task: Task, record: dict[str, Any]) -> dict[str, Any]:
    data = dict(record, answer=task.decoder.to_json(record["answer"]))
    if "trajectory" in record:
        data["trajectory"] = [dict(entry, answer=task.decoder.to_json(entry["answer"])) for entry in record["trajectory"]]
    return data


#: The most lines of a tail that ``--interactive`` tries as a puzzle of its own after lines that
#: do not parse: more than any bundled task's grid spans (a printed Sudoku, a 30x30 maze), and a
#: bound on the parses each typed line costs.
TAIL_LINES = 64


def interactive_puzzles(task: Task) -> Iterator[Puzzle | InputError]:
    """Puzzles typed (or piped) one after another, with the error of each bad input in its place.

    Lines are gathered until they parse, so a grid of many lines can be typed line by line. When
    the parser's error names one of them (not a line past the end: an unfinished puzzle), the
    longest tail after that line that parses (the line just typed, say; the longest, so that a
    comment or CSV header stays with its puzzle) is the next puzzle and the lines before it are
    reported, so that a bad line never swallows the puzzles after it. An empty line, or the end
    of input, reports the lines that do not parse. Inputs are numbered by attempt
    (``<stdin #3>``), so an error and an answer can be told apart.
    """
    buffer: list[str] = []
    errors: list[InputError] = []  # errors[i]: why buffer[: i + 1] does not parse
    attempt = 1
    stderr.print(f"enter {task.name} puzzles ({'; '.join(task.spec.formats)}); Ctrl-D ends")
    for line in sys.stdin:
        if line.strip():
            buffer.append(line)
            source = f"<stdin #{attempt}>"
            try:
                puzzles = parse_puzzles(task, "".join(buffer), source)
            except InputError as exc:
                errors.append(exc)
                bad = error_line(exc, source) or len(buffer) + 1  # an error at no line: unfinished
                start, puzzles = parsing_tail(task, buffer, bad, f"<stdin #{attempt + 1}>")
                if not puzzles:
                    continue  # perhaps not complete yet: wait for more lines
                yield errors[start - 1]
                attempt += 1
            yield from puzzles
        elif buffer:
            yield errors[-1]
        else:
            continue
        buffer, errors = [], []
        attempt += 1
    if buffer:
        yield errors[-1]


def parsing_tail(task: Task, lines: list[str], bad: int, source: str) -> tuple[int, list[Puzzle]]:
    """Where the longest tail of ``lines`` after line ``bad`` (from 1) that parses starts (at
    most :data:`TAIL_LINES` long), and its puzzles; no puzzles when none parses."""
    for start in range(max(bad, len(lines) - TAIL_LINES), len(lines)):
        try:
            return start, parse_puzzles(task, "".join(lines[start:]), source)
        except InputError:
            continue
    return len(lines), []


def report_input_error(error: InputError) -> None:
    """One ``Error:`` line on stderr for a bad input that ``--interactive`` passes over."""
    stderr.print(f"[red]Error:[/] {escape(one_line(str(error)))}")


@click.command("solve")
@task_argument
@click.argument("puzzle_file", metavar="PUZZLE", required=False, default=None)
@model_option
@halt_option
@threshold_option
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Supervision steps at most [default: the model's model.halt_max_steps, N_sup].")
@click.option("--trajectory", is_flag=True, help="Show the answer after every supervision step.")
@click.option("--interactive", "-i", is_flag=True, help="Read puzzles from stdin one after another and answer each at once; with --json, one compact JSON object per answer and line (JSON Lines).")
@click.option("--png", "png", type=click.Path(path_type=Path), default=None, help="Draw each puzzle's answer at every supervision step (changed cells marked, confidence per step) to this PNG (NAME-2.png, ... for further puzzles); needs 'trmkit[plot]'.")
@versions_option
@device_option
@json_option
def solve_command(task_name: str, puzzle_file: str | None, model_path: str | None, halt: str, halt_threshold: float | None, max_steps: int | None, trajectory: bool, interactive: bool, png: Path | None, versions: int | None, device: str, as_json: bool) -> None:
    """Solve the puzzles in PUZZLE (a file, or - for stdin) with a trained model.

    Each answer is printed as the task renders it, with the task's own verdict on it, the
    model's confidence (sigmoid of its halting logit) and the supervision steps it took. The
    exit status is 0 when every answer is valid and 1 otherwise (also when --interactive met
    input it could not read: it reports that on stderr and goes on).

    \b
    Examples:
      trmkit solve sudoku puzzle.txt               # the model the task ships
      trmkit solve sudoku puzzle.txt --model runs/sudoku-small
      cat puzzles.csv | trmkit solve sudoku - --model runs/sudoku-small --json
      trmkit solve sudoku puzzle.txt --trajectory --halt all --png steps.png
      trmkit solve sudoku --interactive --model runs/sudoku-small
    """
    task = load_task(task_name)
    if not interactive and puzzle_file is None:
        raise click.UsageError("give a PUZZLE file (or - for stdin), or --interactive")
    if interactive and puzzle_file is not None:  # it would be ignored
        raise click.UsageError(f"--interactive reads puzzles from stdin; give no PUZZLE with it ('{puzzle_file}')")
    if png is not None:
        if interactive:
            raise click.UsageError("--png draws the puzzles of a file; it does not go with --interactive")
        from ..plots import matplotlib_figure

        matplotlib_figure()  # a missing extra is reported before any solving
    loaded, halt_threshold = load_for(task, model_path, device, halt, halt_threshold)
    color = sys.stdout.isatty()
    if interactive:
        all_good = True
        for item in interactive_puzzles(task):
            if isinstance(item, Puzzle):
                try:
                    record = solve_all(task, loaded, [item], halt, max_steps, trajectory, halt_threshold)[0]
                except InputError as exc:  # e.g. a puzzle of another size than the model reads
                    item = exc
            if isinstance(item, InputError):
                report_input_error(item)
                all_good = False
                continue
            all_good &= bool(record["valid"])
            emit_json(record_json(task, record), line=True) if as_json else show(task, record, color)
        sys.exit(0 if all_good else 1)
    puzzles, unreadable = read_puzzle_batch(task, puzzle_file)
    for problem in unreadable:  # the good puzzles are still solved
        stderr.print(f"skipped: {problem}", markup=False)
    if supports_voting(task):  # e.g. ARC: the best-voted attempts over augmented versions
        sys.exit(voted_solve(task, loaded, puzzles, model_data(task, loaded, None), max_steps, versions, as_json))
    records = solve_all(task, loaded, puzzles, halt, max_steps, trajectory or png is not None, halt_threshold)
    if png is not None:
        draw_trajectories(task, puzzles, records, png, halt_threshold)
        if not trajectory:
            for record in records:
                del record["trajectory"]
    if as_json:
        emit_json([record_json(task, record) for record in records])
    else:
        for record in records:
            show(task, record, color)
    solved = sum(record["valid"] for record in records)
    skipped = f"; {len(unreadable)} puzzles skipped as unreadable" if unreadable else ""
    stderr.print(f"{solved} of {len(records)} answers valid{skipped} ({loaded.path})", markup=False)
    sys.exit(0 if solved == len(records) and not unreadable else 1)


@click.command("eval")
@task_argument
@model_option
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None, help="A dataset built by 'trmkit data build' [default: the model's own default dataset, rebuilt from its seed].")
@click.option("--split", default="test", show_default=True, help="Which split to evaluate.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Evaluate the first N examples only (0: all).")
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Supervision steps at most [default: the model's model.halt_max_steps, N_sup].")
@threshold_option
@versions_option
@submission_option
@device_option
@json_option
def eval_command(task_name: str, model_path: str | None, data_dir: Path | None, split: str, limit: int, max_steps: int | None, halt_threshold: float | None, versions: int | None, submission_path: Path, device: str, as_json: bool) -> None:
    """Measure a trained model on held-out data: exact accuracy, token accuracy and halting.

    Runs every supervision step (the official protocol) and reads off, from the same pass,
    what adaptive halting would answer and how many steps it would take. Tasks that vote across
    augmented versions (ARC) report pass@1/2/5 instead and write --submission.

    \b
    Examples:
      trmkit eval sudoku --model runs/sudoku-small
      trmkit eval sudoku --model runs/sudoku-small --data data/sudoku-hard --json
      trmkit eval sudoku --data data/sudoku-hard   # the model the task ships
      trmkit eval arc --model runs/arc --data data/arc --submission out/submission.json
    """
    from ..evaluate import evaluate

    task = load_task(task_name)
    loaded, halt_threshold = load_for(task, model_path, device, threshold=halt_threshold)
    data = model_data(task, loaded, data_dir)
    if split not in data.splits:
        raise InputError(f"the dataset has no split '{split}' (it has: {', '.join(data.splits)})")
    if supports_voting(task):
        return voted_eval(task, loaded, data, split, limit, max_steps, versions, submission_path, as_json)
    with stderr.status(f"evaluating on {split}"):
        metrics = evaluate(loaded.model, task, data.splits[split], limit=limit, max_steps=max_steps, threshold=halt_threshold)
    metrics = {"task": task.name, "model": str(loaded.path), "split": split, **metrics}
    if as_json:
        emit_json(metrics)
        return
    click.echo(f"examples: {metrics['examples']}")
    click.echo(f"exact accuracy: {metrics['exact_accuracy']:.4f}")
    click.echo(f"token accuracy: {metrics['token_accuracy']:.4f}")
    click.echo(f"valid answers: {metrics['valid_accuracy']:.4f}")
    click.echo(f"adaptive halting (q_halt > {halt_threshold:g}): exact accuracy {metrics['adaptive_exact_accuracy']:.4f}, mean steps {metrics['adaptive_mean_steps']:.2f}")
    click.echo(f"halting head accuracy: {metrics['q_halt_accuracy']:.4f}")


COMMANDS = [solve_command, eval_command]
