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

from trmkit.evaluate import evaluate
from wallclock import arguments, describe, held_out, run, setup


def main() -> None:
    parser = arguments(__doc__, minutes=20.0, eval_every=4.0)
    parser.add_argument("--eval-mazes", type=int, default=1000)
    args = parser.parse_args()

    task, config, data, built_in = setup("maze", args)
    test = held_out(task, {**config.data.options, "num_train": 1, "num_test": args.eval_mazes}, config.data.seed + 1000 + args.seed, data.splits["train"].inputs)
    options = task.dataset_options(config.data.options)
    print(f"{describe(config)}; config {args.config}; {len(data.splits['train'])} training mazes "
          f"({options.size}x{options.size}, shortest path >= {options.min_path_length} moves) built in {built_in:.1f} s; "
          f"held out: {len(test)} mazes", flush=True)

    def measure(model) -> dict[str, float]:
        r = evaluate(model, task, test, batch_size=500)
        return {
            "exact": r["exact_accuracy"], "valid": r["valid_accuracy"], "token": r["token_accuracy"],
            "adaptive": r["adaptive_exact_accuracy"], "adaptive_steps": r["adaptive_mean_steps"],
        }

    run(task, config, data, args, measure)


if __name__ == "__main__":
    main()
