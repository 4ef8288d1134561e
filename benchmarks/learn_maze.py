"""How fast does the `small` Maze config learn on this machine? Exact accuracy vs wall clock.

Trains the `small` config (9x9 mazes whose shortest path takes >= 14 moves, on its default
generated training set) and, every few minutes of training, evaluates the EMA weights on
held-out generated mazes of the same kind (1,000 by default, drawn with a seed the training data
never uses, none of them in the training set). Reports, running every supervision step (the
official protocol):

- exact: the predicted grid equals the canonical answer (what the paper reports for Maze-Hard);
- valid: the prediction is a shortest S-G path by the task's validator (a maze may have several
  shortest paths; exact match asks for the canonical one);
- adaptive: exact accuracy when each maze stops at its first q_halt > 0, and its mean steps.

Evaluation time is not counted as training time. Prints one row per evaluation and a JSON summary.

    python benchmarks/learn_maze.py                        # 20 minutes
    python benchmarks/learn_maze.py --minutes 1 --eval-every 0.5 --eval-mazes 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trmkit import Examples, Puzzle, dataset, get_task, load_config
from trmkit.act import solve
from trmkit.evaluate import adaptive_answers
from trmkit.train import Trainer


def held_out(task, options: dict, count: int, seed: int, train_inputs: np.ndarray) -> Examples:
    """``count`` mazes like the training ones, from another seed, minus any seen in training."""
    built = task.spec.build_dataset(task.dataset_options({**options, "num_train": 1, "num_test": count}), seed)["test"]
    seen = {row.tobytes() for row in train_inputs}
    keep = np.array([row.tobytes() not in seen for row in built.inputs], dtype=bool)
    return Examples(built.inputs[keep], built.labels[keep], built.groups[keep], built.puzzle_identifiers[keep])


def measure(task, model, examples: Examples, batch_size: int = 500) -> dict[str, float]:
    """Exact, valid and token accuracy (all supervision steps) and adaptive halting, in one pass."""
    totals = {"exact": 0, "valid": 0, "token": 0, "adaptive": 0, "adaptive_steps": 0}
    for start in range(0, len(examples), batch_size):
        inputs = examples.inputs[start : start + batch_size]
        labels = torch.as_tensor(examples.labels[start : start + batch_size])
        result = solve(model, inputs, halt="all", return_trajectory=True)
        predicted = result["solution"].cpu()
        adaptive, steps = adaptive_answers(result["trajectory"])
        totals["exact"] += int((predicted == labels).all(-1).sum())
        totals["token"] += float((predicted == labels).float().mean(-1).sum())
        totals["adaptive"] += int((adaptive.cpu() == labels).all(-1).sum())
        totals["adaptive_steps"] += int(steps.sum())
        for row, tokens in zip(inputs, predicted.numpy()):
            puzzle = Puzzle(task.tokenizer.decode(row))
            totals["valid"] += task.validate(puzzle, task.decoder.decode(tokens, puzzle)).ok
    return {key: value / max(1, len(examples)) for key, value in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="small")
    parser.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget")
    parser.add_argument("--eval-every", type=float, default=4.0, help="minutes of training between evaluations")
    parser.add_argument("--eval-mazes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override key=value")
    parser.add_argument("--json", type=Path, default=None, help="also write the curve here")
    args = parser.parse_args()

    task = get_task("maze")
    config = load_config(task, args.config, args.sets + [f"train.seed={args.seed}"])
    started = time.perf_counter()
    data = dataset.build(task, task.dataset_options(config.data.options), config.data.seed)
    built_in = time.perf_counter() - started
    test = held_out(task, config.data.options, args.eval_mazes, config.data.seed + 1000 + args.seed, data.splits["train"].inputs)
    options = task.dataset_options(config.data.options)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; config {args.config}: "
          f"hidden {config.model.hidden_size}, T={config.model.T}, n={config.model.n}, N_sup={config.model.halt_max_steps}, "
          f"batch {config.train.batch_size}; {len(data.splits['train'])} training mazes "
          f"({options.size}x{options.size}, shortest path >= {options.min_path_length} moves) built in {built_in:.1f} s; "
          f"held out: {len(test)} mazes", flush=True)

    trainer = Trainer(task, config, data, Path(tempfile.mkdtemp()), torch.device("cpu"))
    print(f"# parameters: {trainer.model.num_parameters():,}", flush=True)
    print("\t".join(["minutes", "steps", "examples/s", "exact", "valid", "token", "adaptive", "adaptive_steps"]), flush=True)
    curve = []
    trained = 0.0
    next_eval = args.eval_every * 60
    while trained < args.minutes * 60:
        tick = time.perf_counter()
        while time.perf_counter() - tick < min(next_eval, args.minutes * 60) - trained:
            trainer.train_step()
        trained += time.perf_counter() - tick
        model = trainer.eval_model()
        row = {
            "minutes": trained / 60,
            "steps": trainer.step,
            "examples_per_s": trainer.step * config.train.batch_size / trained,
            **measure(task, model, test),
        }
        curve.append(row)
        print("\t".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k]) for k in row), flush=True)
        next_eval += args.eval_every * 60
    summary = {"config": args.config, "overrides": args.sets, "threads": torch.get_num_threads(), "curve": curve}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
