"""trmkit.config: typed settings, unknown keys named, overrides typed, named configs resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

import trmkit
from trmkit.config import TRMConfig, load_config, parse_override, set_value


def test_defaults_are_the_reference_run_and_its_depth() -> None:
    config = TRMConfig()
    assert (config.model.T, config.model.n, config.model.num_layers) == (3, 6, 2)
    assert config.effective_depth == config.model.effective_depth == 42  # T * (n + 1) * layers


@pytest.mark.parametrize(("T", "n", "layers", "depth"), [(1, 1, 1, 2), (3, 4, 2, 30), (2, 6, 4, 56)])
def test_effective_depth_is_t_times_n_plus_one_times_layers(T: int, n: int, layers: int, depth: int) -> None:
    assert TRMConfig.from_dict({"model": {"T": T, "n": n, "num_layers": layers}}).effective_depth == depth


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"modle": {}}, "'modle'"),
        ({"model": {"hidden": 64}}, "'model.hidden'"),
        ({"train": {"lr": 1e-4, "warmup": 10}}, "'train.warmup'"),
    ],
)
def test_unknown_keys_are_rejected_naming_the_key_and_the_known_ones(values: dict, key: str) -> None:
    with pytest.raises(trmkit.ConfigError, match=f"my.yaml: unknown config key {key} \\(known here: "):
        TRMConfig.from_dict(values, source="my.yaml")


@pytest.mark.parametrize(
    ("text", "dotted", "value"),
    [
        ("model.n=4", "model.n", 4),
        ("train.lr=3e-4", "train.lr", 3e-4),  # YAML 1.1 reads this as a string; the field is float
        ("train.ema=false", "train.ema", False),
        ("model.expansion=3", "model.expansion", 3.0),
        ("model.mixer=mlp_t", "model.mixer", "mlp_t"),
        ("data.options.train_size=100", "data.options", {"train_size": 100}),
    ],
)
def test_overrides_are_converted_to_the_field_type(text: str, dotted: str, value: object) -> None:
    config = TRMConfig()
    set_value(config, *parse_override(text))
    section, key = dotted.split(".")
    got = getattr(getattr(config, section), key)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model.n=many", "--set: 'model.n' must be int, got 'many'"),
        ("model.n=2.5", "--set: 'model.n' must be int, got 2.5"),
        ("train.steps=true", "--set: 'train.steps' must be int, got True"),
        ("train.ema=2", "--set: 'train.ema' must be bool, got 2"),  # not quietly true
        ("train.ema=0.5", "--set: 'train.ema' must be bool, got 0.5"),
        ("model=3", "--set: 'model' must be a mapping"),
        ("model.nn=3", "--set: unknown config key 'model.nn'"),
        ("n", "--set expects key=value, got 'n'"),
    ],
)
def test_bad_overrides_are_config_errors_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(trmkit.ConfigError) as raised:
        set_value(TRMConfig(), *parse_override(text))
    assert str(raised.value).startswith(message)
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("train.lr", -1.0, "train.lr must be at least 0, got -1.0"),  # gradient ascent, silently
        ("train.lr", float("nan"), "train.lr must be at least 0, got nan"),
        ("train.beta1", 7.0, r"train.beta1 must be in \[0, 1\), got 7.0"),
        ("train.weight_decay", -5.0, "train.weight_decay must be at least 0"),
        ("train.lr_min_ratio", 2.0, r"train.lr_min_ratio must be in \[0, 1\]"),
        ("train.seed", -1, "train.seed must be at least 0"),
        ("model.expansion", -1.0, "model.expansion must be above 0"),
        ("model.puzzle_emb_len", -1, "model.puzzle_emb_len must be at least 0"),
        ("data.augmentations", -3, "data.augmentations must be at least 0"),
        ("train.eval_versions", -1, "train.eval_versions must be at least 0"),
    ],
)
def test_validate_rejects_numbers_out_of_range(dotted: str, value: float, message: str) -> None:
    config = TRMConfig.from_dict({"model": {"vocab_size": 4, "seq_len": 4}})
    config.validate()
    section, key = dotted.split(".")
    setattr(getattr(config, section), key, value)
    with pytest.raises(trmkit.ConfigError, match=message):
        config.validate()


def test_a_config_cannot_be_set_to_another_task(fake_task: str) -> None:
    """Trained on this task's data, the run would be labelled with the other and then refused
    by solve, eval and --resume alike."""
    with pytest.raises(trmkit.ConfigError, match="task cannot be set to 'sudoku' in a config of task 'latin'"):
        load_config(trmkit.get_task(fake_task), "tiny", ["task=sudoku"])


def test_validate_rejects_impossible_values() -> None:
    with pytest.raises(trmkit.ConfigError, match="model.mixer must be 'attention' or 'mlp_t'"):
        TRMConfig.from_dict({"model": {"mixer": "conv", "vocab_size": 4, "seq_len": 4}}).validate()
    with pytest.raises(trmkit.ConfigError, match="multiple of model.num_heads"):
        TRMConfig.from_dict({"model": {"hidden_size": 10, "num_heads": 4, "vocab_size": 4, "seq_len": 4}}).validate()


def test_load_config_fills_the_task_shape_and_applies_overrides(fake_task: str) -> None:
    task = trmkit.get_task(fake_task)
    config = load_config(task, "tiny", ["model.n=5", "data.options.blanks=2"])
    assert config.task == "latin"
    assert (config.model.vocab_size, config.model.seq_len, config.model.n) == (6, 16, 5)
    assert config.data.options == {"train_size": 4, "blanks": 2}
    assert config.effective_depth == 2 * 6 * 2


def test_load_config_refuses_a_config_of_another_task(fake_task: str, tmp_path: Path) -> None:
    other = tmp_path / "maze.yaml"
    other.write_text("task: maze\n")
    with pytest.raises(trmkit.ConfigError, match="is a config for task 'maze', not 'latin'"):
        load_config(trmkit.get_task(fake_task), str(other))


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "'top level' must be a mapping"), ("model: {n: [1\n", "cannot read config")],
)
def test_load_config_reports_unusable_files(fake_task: str, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(trmkit.ConfigError, match=message):
        load_config(trmkit.get_task(fake_task), str(path))
