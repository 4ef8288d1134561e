"""How fast the Sudoku plugin generates proper puzzles (exactly one solution each), on one core.

Prints puzzles per second for generating ``--count`` puzzles with blanks drawn uniformly from
``--min-blanks..--max-blanks``, then checks a sample of them with the solver (unique solution,
exact blank count) so the figure is for correct output. Examples::

    python benchmarks/sudoku_generator.py                      # 10,000 puzzles, 30-50 blanks
    python benchmarks/sudoku_generator.py --count 200 --min-blanks 55 --max-blanks 55
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trmkit_sudoku import count_solutions
from trmkit_sudoku.generator import generate
from trmkit_sudoku.options import MAX_BLANKS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="puzzles to generate (default 10000)")
    parser.add_argument("--min-blanks", type=int, default=30, help="fewest blank cells (default 30)")
    parser.add_argument(
        "--max-blanks", type=int, default=50, help=f"most blank cells (default 50, at most {MAX_BLANKS})"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", type=int, default=200, help="puzzles re-checked with the solver afterwards")
    args = parser.parse_args(argv)
    if not 0 <= args.min_blanks <= args.max_blanks <= MAX_BLANKS:
        parser.error(f"need 0 <= --min-blanks <= --max-blanks <= {MAX_BLANKS}")

    start = time.perf_counter()
    questions, answers = generate(args.count, args.min_blanks, args.max_blanks, args.seed)
    seconds = time.perf_counter() - start

    blanks = (questions == 0).sum(axis=(1, 2))
    assert ((blanks >= args.min_blanks) & (blanks <= args.max_blanks)).all()
    sample = np.linspace(0, args.count - 1, min(args.check, args.count), dtype=int) if args.count else []
    assert all(count_solutions(questions[i]) == 1 for i in sample), "a generated puzzle is not proper"
    distinct = len({q.tobytes() for q in questions})

    print(
        f"generated {args.count} proper puzzles ({args.min_blanks}-{args.max_blanks} blanks, "
        f"mean {blanks.mean():.1f}) in {seconds:.2f} s: {args.count / seconds:,.0f} puzzles/s "
        f"({1000 * seconds / max(args.count, 1):.2f} ms each); {distinct} distinct; "
        f"{len(sample)} re-checked unique"
    )


if __name__ == "__main__":
    main()
