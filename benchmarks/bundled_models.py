"""Measure a bundled model on the full held-out sets its card names, beside the card's figures.

A card (``<plugin>/models/<name>/card.json``) lists, per difficulty, either generated held-out
puzzles (``data``: the dataset builder's options and a seed the training data does not use) or a
file of puzzles with their solutions (``file``, relative to the repository root). This script
rebuilds each set, evaluates the model on it with :func:`trmkit.evaluate.evaluate` (what
``trmkit eval`` runs: every supervision step, plus what adaptive halting would answer), counts
held-out puzzles that also occur in the model's training data (rebuilt from the card's data
seed and the model's config), and prints card and measurement side by side.

    python benchmarks/bundled_models.py                     # sudoku's default bundled model
    python benchmarks/bundled_models.py --task sudoku --model small
    python benchmarks/bundled_models.py --limit 50           # a quick look at the first 50 of each set
    python benchmarks/bundled_models.py --write-card --train-data runs/sudoku-small-nsup16/data
                                                            # store the measured figures in the card

Needs no network: every set is generated from its seed or read from the repository.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from trmkit import dataset, get_task
from trmkit.atomic import atomic_write
from trmkit.checkpoint import load_model
from trmkit.evaluate import evaluate
from trmkit.models import CARD_FILE, BundledModel, bundled_models, default_model
from trmkit.task import Examples, Task

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ("exact_accuracy", "valid_accuracy", "token_accuracy", "adaptive_exact_accuracy", "adaptive_mean_steps")


def held_out(task: Task, entry: dict[str, Any]) -> Examples:
    """The examples an accuracy entry of a card names."""
    if "data" in entry:
        spec = entry["data"]
        return task.spec.build_dataset(task.dataset_options(spec["options"]), spec["seed"])["test"]
    puzzles = task.spec.parse((ROOT / entry["file"]).read_text(), entry["file"])
    inputs = np.stack([task.tokenizer.encode(p.question) for p in puzzles])
    labels = np.stack([task.tokenizer.encode(p.answer) for p in puzzles])
    zeros = np.zeros(len(puzzles), dtype=np.int64)
    return Examples(inputs, labels, np.arange(len(puzzles)), zeros)


def training_inputs(task: Task, config: Any, saved: Path | None) -> set[bytes]:
    """The questions the model trained on: from the run's saved dataset (``--train-data``), else
    rebuilt from its config's data options and seed (a minute or so for Sudoku's 10,000)."""
    if saved is not None:
        data = dataset.load(saved, task=task.name)
        if data.manifest.get("seed") != config.data.seed or data.manifest.get("builder_options") != dataset.options_record(task.dataset_options(config.data.options)):
            raise SystemExit(f"{saved} was not built with the model's data options and seed {config.data.seed}")
        train = data.splits["train"]
    else:
        train = task.spec.build_dataset(task.dataset_options(config.data.options), config.data.seed)["train"]
    return {row.tobytes() for row in train.inputs}


def measure(model: BundledModel, task: Task, limit: int, saved: Path | None) -> tuple[int, list[dict[str, Any]]]:
    """The model file's step, and one row of measurements per accuracy entry of its card."""
    loaded = load_model(model.file, task=task.name)
    seen = training_inputs(task, loaded.config, saved)
    rows = []
    for entry in model.card["accuracy"]:
        started = time.perf_counter()
        examples = held_out(task, entry)
        metrics = evaluate(loaded.model, task, examples, batch_size=500, limit=limit, threshold=model.halt_threshold)
        overlap = sum(row.tobytes() in seen for row in examples.inputs[: metrics["examples"]])
        rows.append({"difficulty": entry["difficulty"], **metrics, "in_training_data": overlap, "seconds": time.perf_counter() - started})
        print(f"measured {entry['difficulty']} in {rows[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    return int(loaded.metadata.get("step", 0)), rows


def show(model: BundledModel, rows: list[dict[str, Any]]) -> None:
    print(f"{model.task} '{model.name}' ({model.file})")
    print(f"{'difficulty':<34} {'n':>5} {'card exact':>10} {'measured':>9} {'adaptive':>9} {'steps':>6} {'token':>7} {'in train':>8}")
    for entry, row in zip(model.card["accuracy"], rows):
        print(
            f"{row['difficulty']:<34} {row['examples']:>5} {entry['exact_accuracy']:>10.4f} {row['exact_accuracy']:>9.4f} "
            f"{row['adaptive_exact_accuracy']:>9.4f} {row['adaptive_mean_steps']:>6.2f} {row['token_accuracy']:>7.4f} {row['in_training_data']:>8}"
        )


def write_card(model: BundledModel, step: int, rows: list[dict[str, Any]]) -> None:
    bundled_from = re.sub(r"step-\d{7}", f"step-{step:07d}", model.card["bundle_command"])
    card = dict(model.card, steps=step, bundle_command=bundled_from)
    card["accuracy"] = [
        {**entry, "examples": row["examples"], **{key: round(row[key], 4) for key in MEASURED}, "in_training_data": row["in_training_data"]}
        for entry, row in zip(model.card["accuracy"], rows)
    ]
    for name, text in ((CARD_FILE, json.dumps(card, indent=2) + "\n"), ("README.md", readme(card))):
        atomic_write(model.folder / name, lambda handle, text=text: handle.write(text.encode()))
    print(f"wrote the measured figures into {model.folder / CARD_FILE} and README.md")


def overrides(card: dict[str, Any]) -> str:
    """The card's config overrides as a phrase: " with `a=1` and `b=2`", or nothing."""
    named = [f"`{override}`" for override in card.get("config_overrides", [])]
    return f" with {' and '.join(named)}" if named else ""


def note(card: dict[str, Any]) -> str:
    """The card's remark on its training command (how the run was really made, say) as a
    sentence that follows it: a remark kept out of the command, so that the command pastes."""
    return f"; {card['training_note']}" if card.get("training_note") else ""


def readme(card: dict[str, Any]) -> str:
    """The card for people (written from card.json, so the two never disagree)."""
    rows = "\n".join(
        f"| {e['difficulty']} | {e['examples']} | {e['exact_accuracy']:.1%} | {e['valid_accuracy']:.1%} | {e['adaptive_exact_accuracy']:.1%} in {e['adaptive_mean_steps']:.2f} steps | {e['token_accuracy']:.1%} |"
        for e in card["accuracy"]
    )
    sets = "\n".join(f"- **{e['difficulty']}**: {e['set']}. Measure: `{e['command']}`" for e in card["accuracy"])
    return f"""# {card['task']} model `{card['name']}`{' (default)' if card.get('default') else ''}

{card['summary']}. Used by `trmkit solve {card['task']} PUZZLE` when no `--model` is given.

## Held-out accuracy

| held-out set | puzzles | exact (all steps) | valid answers (all steps) | exact (adaptive halting) | cells right |
|---|---|---|---|---|---|
{rows}

{sets}

{card['protocol']}

All figures: `{card['measured_with']}` (written into card.json with `--write-card`).

## Limitations

{card['limitations']}

## How it was made

- Training: `{card['training_command']}` (config `{card['config']}`{overrides(card)}, data seed {card['data_seed']}, training seed {card['train_seed']}); this model is its checkpoint at step {card['steps']}{note(card)}.
- Training data: {card['training_data']}.
- Weights: {card['weights']}.
- Bundled with: `{card['bundle_command']}`.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--model", default=None, help="bundled model name [default: the task's default]")
    parser.add_argument("--write-card", action="store_true", help="store the measured figures (and the model's step) in the card and README.md")
    parser.add_argument("--limit", type=int, default=0, help="evaluate the first N puzzles of each set only (a quick look; not with --write-card)")
    parser.add_argument("--train-data", type=Path, default=None, help="the training run's dataset (RUN/data), instead of rebuilding it to check overlap")
    args = parser.parse_args()
    if args.limit and args.write_card:
        parser.error("--write-card stores figures of the full sets; drop --limit")

    task = get_task(args.task)
    names = {m.name: m for m in bundled_models(task)}
    if args.model is not None and args.model not in names:
        parser.error(f"{args.task} ships no model '{args.model}' (it ships: {', '.join(names) or 'none'})")
    model = default_model(task) if args.model is None else names[args.model]
    step, rows = measure(model, task, args.limit, args.train_data)
    show(model, rows)
    print(json.dumps(rows, indent=1))
    if args.write_card:
        write_card(model, step, rows)


if __name__ == "__main__":
    main()
