"""The Python API as a user meets it: wrong inputs are named where they enter, models save and
load, and the config helpers refuse what they cannot build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import trmkit
from trmkit import TRM, ConfigError, TRMConfig, get_task, load_config
from trmkit.config import ModelConfig

from test_parity import one_thread  # noqa: F401  (tiny tensors: one thread beats two fighting)


@pytest.fixture
def model() -> TRM:
    torch.manual_seed(0)
    return TRM(ModelConfig(vocab_size=7, seq_len=12, hidden_size=16, num_heads=2, T=1, n=1, halt_max_steps=3, puzzle_emb_len=2, num_puzzle_identifiers=4))


@pytest.mark.parametrize(
    "puzzle, message",
    [
        (np.zeros(11, dtype=np.int64), r"shape \[batch, 12\] or \[12\] for this model, got \[11\]$"),  # the shape given
        (torch.zeros(11, dtype=torch.long), r"got \[11\]$"),
        (np.zeros((2, 11), dtype=np.int64), r"got \[2, 11\]$"),
        (np.zeros((3, 4), dtype=np.int64), r"got \[3, 4\]"),  # one puzzle as a grid is not a batch
        (np.full(12, 7), r"token ids must lie in 0\.\.6 for this model, got 7\.\.7"),
        (np.full(12, -1), r"got -1\.\.-1"),
        ("1234", "not text"),
        (np.zeros(12), "must hold integers, got float64"),
        (torch.zeros(12, dtype=torch.bool), "must hold integers, got torch.bool"),
    ],
)
def test_solve_names_a_wrong_puzzle_where_it_enters(model: TRM, puzzle, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.solve(puzzle)


def test_solve_takes_lists_arrays_and_tensors_alike(model: TRM) -> None:
    tokens = np.arange(12) % 7
    results = [model.solve(value, halt="all")["solution"] for value in (tokens, tokens.tolist(), torch.as_tensor(tokens), [tokens])]
    assert all(torch.equal(result, results[0]) for result in results)


def test_puzzle_identifiers_are_checked_and_used(model: TRM) -> None:
    tokens = np.zeros((2, 12), dtype=np.int64)
    with pytest.raises(ValueError, match=r"one entry per puzzle \(2\), got 3"):
        model.solve(tokens, puzzle_identifiers=[0, 1, 2])
    with pytest.raises(ValueError, match=r"puzzle_identifiers must lie in 0\.\.3"):
        model.solve(tokens, puzzle_identifiers=[0, 4])
    with torch.no_grad():
        model.puzzle_emb.weight[1] = 5.0  # a row that makes puzzle 1 differ from puzzle 0
        model.q_head.weight.normal_()  # so that the confidence depends on the answer state
    result = model.solve(tokens, puzzle_identifiers=[0, 1], halt="all")
    assert not torch.equal(result["confidence"][0], result["confidence"][1])


def test_train_step_refuses_a_solution_of_another_shape(model: TRM) -> None:
    with pytest.raises(ValueError, match=r"solution must have the puzzle's shape \[2, 12\], got \[1, 12\]"):
        model.train_step(np.zeros((2, 12), dtype=np.int64), np.zeros(12, dtype=np.int64), torch.optim.SGD(model.parameters(), lr=0.1))


def test_solve_halts_at_the_models_threshold_unless_given_one(model: TRM) -> None:
    with torch.no_grad():
        model.q_head.weight.zero_()
        model.q_head.bias.copy_(torch.tensor([2.0, 0.0]))  # q_halt = 2 for every puzzle
    tokens = np.zeros((2, 12), dtype=np.int64)
    assert model.solve(tokens)["steps"].tolist() == [1, 1]  # the paper's rule: q_halt > 0
    model.halt_threshold = 3.0
    assert model.solve(tokens)["steps"].tolist() == [3, 3]
    assert model.solve(tokens, threshold=1.0)["steps"].tolist() == [1, 1]


def test_save_pretrained_then_from_pretrained_gives_the_same_model(tmp_path: Path) -> None:
    config = TRMConfig.for_task("sudoku", "tiny")
    torch.manual_seed(1)
    model = TRM(config.model)
    with pytest.raises(ValueError, match="which run config"):
        model.save_pretrained(tmp_path / "nowhere")
    other = TRMConfig.for_task("sudoku", "tiny", hidden_size=64)
    with pytest.raises(ValueError, match="differs from the model's own config"):
        model.save_pretrained(tmp_path / "nowhere", other)
    assert not (tmp_path / "nowhere").exists()

    assert model.save_pretrained(tmp_path / "mine", config) == tmp_path / "mine"
    loaded = TRM.from_pretrained(tmp_path / "mine")
    assert loaded.run_config == config and loaded.halt_threshold == 0.0
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    loaded.save_pretrained(tmp_path / "again")  # a loaded model knows its config
    assert TRM.from_pretrained(tmp_path / "again").run_config == config

    loaded.halt_threshold = 4.0  # a tuned threshold travels with the weights
    loaded.save_pretrained(tmp_path / "tuned")
    assert TRM.from_pretrained(tmp_path / "tuned").halt_threshold == 4.0
    with torch.no_grad():
        loaded.output_head.weight[0, 0] = float("nan")
    with pytest.raises(trmkit.TrmkitError, match="NaN or Inf"):
        loaded.save_pretrained(tmp_path / "broken")
    assert not (tmp_path / "broken" / "model.safetensors").exists()


def test_a_card_beside_a_users_model_needs_only_its_threshold(tmp_path: Path) -> None:
    config = TRMConfig.for_task("sudoku", "tiny")
    TRM(config.model).save_pretrained(tmp_path / "mine", config)
    (tmp_path / "mine" / "card.json").write_text('{"halt_threshold": 2.5, "notes": "mine"}')
    assert TRM.from_pretrained(tmp_path / "mine").halt_threshold == 2.5
    (tmp_path / "mine" / "card.json").write_text('{"halt_threshold": "high"}')
    with pytest.raises(trmkit.InputError, match="halt_threshold must be a number"):
        TRM.from_pretrained(tmp_path / "mine")


def test_load_config_takes_a_task_or_its_name() -> None:
    assert load_config("sudoku", "tiny") == load_config(get_task("sudoku"), "tiny")


def test_for_sudoku_refuses_an_unknown_mixer() -> None:
    with pytest.raises(ConfigError, match="mixer must be 'mlp_t' or 'attention', got 'bogus'"):
        TRMConfig.for_sudoku(mixer="bogus")


def test_for_maze_off_30x30_asks_for_paths_of_the_same_share_of_the_cells() -> None:
    config = TRMConfig.for_maze(9)
    assert config.model.seq_len == 81 and config.data.options["size"] == 9
    assert config.data.options["min_path_length"] == 10  # 110 of 900 cells -> 10 of 81
    task = get_task("maze")
    built = task.spec.build_dataset(task.dataset_options(dict(config.data.options, num_train=2, num_test=1)), 0)
    assert built["train"].inputs.shape == (2, 81)
    assert TRMConfig.for_maze().data.options["min_path_length"] == 110


def test_the_papers_optimizer_is_public() -> None:
    from trmkit.optim import AdamATan2

    assert trmkit.AdamATan2 is AdamATan2 and "AdamATan2" in trmkit.__all__
