"""Adaptive inference: the halting rule, packing of still-running puzzles, and the trajectory."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trmkit.act import halts, solve
from trmkit.config import ModelConfig
from trmkit.model import TRM


def model_with_spread_halting(seed: int = 0, max_steps: int = 6) -> TRM:
    """A random model whose halting head fires at different steps for different puzzles."""
    torch.manual_seed(seed)
    config = ModelConfig(vocab_size=6, seq_len=8, hidden_size=32, num_heads=2, T=1, n=1, halt_max_steps=max_steps,
                         mixer="mlp_t", pos_encodings="none", puzzle_emb_len=1)
    model = TRM(config)
    with torch.no_grad():
        model.q_head.weight.normal_(0.0, 0.3)
        model.q_head.bias.zero_()
    return model


MODEL = model_with_spread_halting()
PUZZLES = torch.randint(1, 6, (13, 8), generator=torch.Generator().manual_seed(1))


def test_halting_rule_is_q_halt_above_the_threshold():
    q = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    assert halts(q).tolist() == [False, False, True, True]
    assert halts(q, threshold=1.0).tolist() == [False, False, False, True]


def test_the_random_model_halts_at_different_steps():
    steps = solve(MODEL, PUZZLES)["steps"]
    assert steps.min() == 1 and steps.max() > 1


@settings(max_examples=15, deadline=None)
@given(batch_size=st.integers(min_value=1, max_value=14), threshold=st.sampled_from([-0.5, 0.0, 0.7]))
def test_packing_puzzles_into_fewer_slots_changes_no_answer(batch_size: int, threshold: float):
    """A stopped puzzle's slot goes to the next waiting one; every puzzle still gets exactly the
    steps, answer, confidence and trajectory it gets when all run together."""
    together = solve(MODEL, PUZZLES, threshold=threshold, return_trajectory=True)
    packed = solve(MODEL, PUZZLES, threshold=threshold, return_trajectory=True, batch_size=batch_size)
    assert torch.equal(packed["steps"], together["steps"])
    assert torch.equal(packed["solution"], together["solution"])
    assert torch.allclose(packed["confidence"], together["confidence"], atol=1e-5)
    assert len(packed["trajectory"]) == len(together["trajectory"])
    for mine, theirs in zip(packed["trajectory"], together["trajectory"]):
        assert mine["step"] == theirs["step"]
        assert torch.equal(mine["prediction"], theirs["prediction"])
        assert torch.equal(mine["active"], theirs["active"])
        assert torch.allclose(mine["q_hat"], theirs["q_hat"], atol=1e-4)  # batch size changes float rounding


def test_adaptive_answer_is_the_all_steps_answer_at_the_halting_step():
    full = solve(MODEL, PUZZLES, halt="all", return_trajectory=True)
    adaptive = solve(MODEL, PUZZLES, batch_size=4)
    for i, steps in enumerate(adaptive["steps"].tolist()):
        entry = full["trajectory"][steps - 1]
        assert torch.equal(adaptive["solution"][i], entry["prediction"][i])
        assert bool(halts(entry["q_hat"][i])) or steps == MODEL.config.halt_max_steps
        assert not any(bool(halts(earlier["q_hat"][i])) for earlier in full["trajectory"][: steps - 1])


def test_a_higher_threshold_never_stops_a_puzzle_earlier():
    low = solve(MODEL, PUZZLES, threshold=-0.5)["steps"]
    high = solve(MODEL, PUZZLES, threshold=0.7)["steps"]
    assert (high >= low).all() and (high > low).any()


def test_trajectory_marks_the_puzzles_still_thinking():
    result = solve(MODEL, PUZZLES, return_trajectory=True, batch_size=5)
    for entry in result["trajectory"]:
        assert torch.equal(entry["active"], result["steps"] >= entry["step"])
    assert torch.equal(result["trajectory"][-1]["prediction"], result["solution"])


def test_solve_keeps_the_models_training_mode():
    MODEL.train()
    solve(MODEL, PUZZLES[:2])
    assert MODEL.training
    MODEL.eval()


def sudoku_model_sure_after(tmp_path, q_bias: float):
    """A tiny untrained Sudoku model whose halting logit is about ``q_bias`` on every puzzle."""
    from trmkit import get_task, load_config
    from trmkit.checkpoint import save_model

    config = load_config(get_task("sudoku"), "tiny")
    model = TRM(config.model)
    with torch.no_grad():
        model.q_head.bias[0] = q_bias
    return save_model(tmp_path / "model", model.state_dict(), config)


def test_cli_halt_threshold_decides_when_solve_stops(tmp_path):
    import json

    from click.testing import CliRunner

    from trmkit.cli import main

    folder = sudoku_model_sure_after(tmp_path, q_bias=1.0)
    puzzle = tmp_path / "puzzle.txt"
    puzzle.write_text("." * 81 + "\n")

    def steps(*options: str) -> int:
        result = CliRunner().invoke(main, ["solve", "sudoku", str(puzzle), "--model", str(folder), "--json", *options])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)[0]["steps"]

    assert steps() == 1  # q_halt ~ 1 > 0: the paper's rule stops at once
    assert steps("--halt-threshold", "50") == steps("--halt", "all") > 1  # never that sure: every step
