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

import numpy as np

from trmkit.evaluate import evaluate
from wallclock import arguments, describe, held_out, run, setup


def held_out_sets(task, blanks: list[int], count: int, seed: int, train_inputs: np.ndarray) -> dict[int, object]:
    """Test puzzles with exactly ``b`` blanks each, drawn with a seed the training data never uses."""
    return {
        b: held_out(task, {"num_train": 1, "num_test": count, "min_blanks": b, "max_blanks": b}, seed + 1000 + b, train_inputs)
        for b in blanks
    }


def main() -> None:
    parser = arguments(__doc__, minutes=30.0, eval_every=5.0)
    parser.add_argument("--eval-puzzles", type=int, default=1000)
    parser.add_argument("--blanks", default="30,40,50")
    args = parser.parse_args()

    task, config, data, built_in = setup("sudoku", args)
    blanks = [int(b) for b in args.blanks.split(",")]
    tests = held_out_sets(task, blanks, args.eval_puzzles, args.seed, data.splits["train"].inputs)
    print(f"{describe(config)}; config {args.config}; {len(data.splits['train'])} training puzzles built in {built_in:.0f} s; "
          f"held out: {', '.join(f'{len(t)} x {b} blanks' for b, t in tests.items())}", flush=True)

    def measure(model) -> dict[str, float]:
        results = {b: evaluate(model, task, examples, batch_size=500) for b, examples in tests.items()}
        return {
            **{f"exact@{b}": r["exact_accuracy"] for b, r in results.items()},
            **{f"adaptive@{b}": r["adaptive_exact_accuracy"] for b, r in results.items()},
            **{f"steps@{b}": r["adaptive_mean_steps"] for b, r in results.items()},
        }

    run(task, config, data, args, measure)


if __name__ == "__main__":
    main()
