"""How fast does the `small` Sudoku config learn on this machine? Exact accuracy vs wall clock.

Trains the `small` config (on its default generated training set) and, every few minutes of
training, evaluates the EMA weights on held-out generated puzzles with exactly 30, 40 and 50
blanks (1,000 each by default; unique solutions; none of them in the training set). Evaluation
time is not counted as training time. Prints one row per evaluation and a JSON summary.

    python benchmarks/learn_sudoku.py                      # 30 minutes, the issue's target run
    python benchmarks/learn_sudoku.py --minutes 2 --eval-every 1 --eval-puzzles 200   # a quick look

Target (issue 3): >= 95% exact on 30-blank puzzles within 30 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trmkit import dataset, get_task, load_config
from trmkit.evaluate import evaluate
from trmkit.train import Trainer
from wallclock import held_out, learning_curve


def held_out_sets(task, blanks: list[int], count: int, seed: int, train_inputs: np.ndarray) -> dict[int, object]:
    """Test puzzles with exactly ``b`` blanks each, drawn with a seed the training data never uses."""
    return {
        b: held_out(task, {"num_train": 1, "num_test": count, "min_blanks": b, "max_blanks": b}, seed + 1000 + b, train_inputs)
        for b in blanks
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="small")
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall-clock budget")
    parser.add_argument("--eval-every", type=float, default=5.0, help="minutes of training between evaluations")
    parser.add_argument("--eval-puzzles", type=int, default=1000)
    parser.add_argument("--blanks", default="30,40,50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override key=value")
    parser.add_argument("--json", type=Path, default=None, help="also write the curve here")
    args = parser.parse_args()

    task = get_task("sudoku")
    config = load_config(task, args.config, args.sets + [f"train.seed={args.seed}"])
    started = time.perf_counter()
    data = dataset.build(task, task.dataset_options(config.data.options), config.data.seed)
    built_in = time.perf_counter() - started
    blanks = [int(b) for b in args.blanks.split(",")]
    tests = held_out_sets(task, blanks, args.eval_puzzles, args.seed, data.splits["train"].inputs)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; config {args.config}: "
          f"hidden {config.model.hidden_size}, T={config.model.T}, n={config.model.n}, N_sup={config.model.halt_max_steps}, "
          f"batch {config.train.batch_size}; {len(data.splits['train'])} training puzzles built in {built_in:.0f} s; "
          f"held out: {', '.join(f'{len(t)} x {b} blanks' for b, t in tests.items())}", flush=True)

    trainer = Trainer(task, config, data, Path(tempfile.mkdtemp()), torch.device("cpu"))
    print(f"# parameters: {trainer.model.num_parameters():,}", flush=True)

    def measure(model) -> dict[str, float]:
        results = {b: evaluate(model, task, examples, batch_size=500) for b, examples in tests.items()}
        return {
            **{f"exact@{b}": r["exact_accuracy"] for b, r in results.items()},
            **{f"adaptive@{b}": r["adaptive_exact_accuracy"] for b, r in results.items()},
            **{f"steps@{b}": r["adaptive_mean_steps"] for b, r in results.items()},
        }

    curve = learning_curve(trainer, args.minutes, args.eval_every, measure)
    summary = {"config": args.config, "overrides": args.sets, "threads": torch.get_num_threads(), "curve": curve}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
