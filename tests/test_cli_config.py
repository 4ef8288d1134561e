"""``trmkit config show`` and ``trmkit config list`` with the latin fixture task."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from trmkit.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["config", *args])


def test_list_prints_the_config_names(fake_task: str) -> None:
    result = invoke("list", "latin")
    assert result.exit_code == 0
    assert result.stdout == "paper\ntiny\n"


def test_show_prints_the_resolved_config_as_yaml(fake_task: str) -> None:
    result = invoke("show", "latin", "--config", "tiny", "--set", "model.n=3", "--set", "train.lr=3e-4")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# trmkit config of task 'latin' from ")
    assert "effective depth 16" in result.stdout.splitlines()[0]  # T=2, n=3, 2 layers
    config = yaml.safe_load(result.stdout)
    assert config["task"] == "latin"
    assert (config["model"]["n"], config["model"]["T"], config["model"]["hidden_size"]) == (3, 2, 16)
    assert config["model"]["vocab_size"] == 6 and config["model"]["seq_len"] == 16
    assert config["train"]["lr"] == 3e-4 and isinstance(config["train"]["lr"], float)
    assert config["data"]["options"] == {"train_size": 4}


def test_show_defaults_to_the_paper_config(fake_task: str) -> None:
    config = yaml.safe_load(invoke("show", "latin").stdout)
    assert config["model"]["hidden_size"] == 64 and config["train"]["steps"] == 100


def test_the_output_is_a_config_file_that_reads_back(fake_task: str, tmp_path: Path) -> None:
    first = invoke("show", "latin", "--config", "tiny", "--set", "model.mixer=mlp_t")
    saved = tmp_path / "mine.yaml"
    saved.write_text(first.stdout)
    again = invoke("show", "latin", "--config", str(saved))
    assert again.exit_code == 0, again.output
    assert yaml.safe_load(again.stdout) == yaml.safe_load(first.stdout)


def test_an_unknown_key_exits_2_naming_it(fake_task: str) -> None:
    result = invoke("show", "latin", "--set", "model.nn=3")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --set: unknown config key 'model.nn' (known here: vocab_size")


def test_an_unknown_dataset_option_is_caught_here_too(fake_task: str) -> None:
    result = invoke("show", "latin", "--set", "data.options.size=3")
    assert result.exit_code == 2
    assert "unknown latin dataset option 'size'" in result.stderr


def test_an_unknown_config_name_lists_the_available_ones(fake_task: str) -> None:
    result = invoke("show", "latin", "--config", "huge")
    assert result.exit_code == 2
    assert result.stderr == "Error: task 'latin' has no config 'huge' (available: paper, tiny)\n"
