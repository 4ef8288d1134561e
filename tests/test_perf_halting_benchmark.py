"""benchmarks/halting.py's bookkeeping: the tuned rule's stops, the oracle floor, the wrong-answer share."""

from __future__ import annotations

import numpy as np

from benchmark_scripts import load_benchmark

halting = load_benchmark("halting")

# Three puzzles, four steps. 0: right from step 2 on, sure at step 3. 1: never right, never sure.
# 2: right at step 1 only (wrong at the end), sure at step 1.
Q = np.array([[-1.0, 0.5, 5.0, 5.0], [-3.0, -3.0, -3.0, -3.0], [6.0, 6.0, 6.0, 6.0]])
RIGHT = np.array([[False, True, True, True], [False, False, False, False], [True, False, False, False]])


def test_a_puzzle_stops_at_its_first_sure_step_or_the_last():
    assert halting.stopping(Q, 4.0).tolist() == [2, 3, 0]
    assert halting.stopping(Q, 0.0).tolist() == [1, 3, 0]


def test_the_oracle_stops_right_puzzles_at_their_first_right_step_and_the_rest_after_one():
    # Puzzle 2 is wrong after all steps, so the oracle gives it up after one step.
    assert halting.oracle_steps(RIGHT).tolist() == [2, 1, 1]


def test_wrong_step_share_counts_the_steps_of_wrong_answers():
    # q > 4: stops after 3, 4 and 1 steps; puzzle 1 is answered wrong: 4 of 8 steps.
    assert halting.wrong_step_share(Q, RIGHT, 4.0) == 0.5
    assert halting.wrong_step_share(Q[[0]], RIGHT[[0]], 4.0) == 0.0
