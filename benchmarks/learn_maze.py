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

import torch

from trmkit import dataset, get_task, load_config
from trmkit.evaluate import evaluate
from trmkit.train import Trainer
from wallclock import held_out, learning_curve


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
    test = held_out(task, {**config.data.options, "num_train": 1, "num_test": args.eval_mazes}, config.data.seed + 1000 + args.seed, data.splits["train"].inputs)
    options = task.dataset_options(config.data.options)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; config {args.config}: "
          f"hidden {config.model.hidden_size}, T={config.model.T}, n={config.model.n}, N_sup={config.model.halt_max_steps}, "
          f"batch {config.train.batch_size}; {len(data.splits['train'])} training mazes "
          f"({options.size}x{options.size}, shortest path >= {options.min_path_length} moves) built in {built_in:.1f} s; "
          f"held out: {len(test)} mazes", flush=True)

    trainer = Trainer(task, config, data, Path(tempfile.mkdtemp()), torch.device("cpu"))
    print(f"# parameters: {trainer.model.num_parameters():,}", flush=True)

    def measure(model) -> dict[str, float]:
        r = evaluate(model, task, test, batch_size=500)
        return {
            "exact": r["exact_accuracy"], "valid": r["valid_accuracy"], "token": r["token_accuracy"],
            "adaptive": r["adaptive_exact_accuracy"], "adaptive_steps": r["adaptive_mean_steps"],
        }

    curve = learning_curve(trainer, args.minutes, args.eval_every, measure)
    summary = {"config": args.config, "overrides": args.sets, "threads": torch.get_num_threads(), "curve": curve}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
