"""``trmkit data build`` with the latin fixture task."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from trmkit import dataset
from trmkit.cli import main


def build(*args: str) -> Result:
    return CliRunner().invoke(main, ["data", "build", "latin", *args])


def test_build_writes_a_dataset_that_loads(fake_task: str, tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = build("--out", str(out), "--seed", "3", "--set", "train_size=5", "--set", "test_size=2")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}: latin dataset, train 5, test 2 examples (seq_len 16)\n"
    assert "built the latin dataset" in result.stderr
    loaded = dataset.load(out, task="latin")
    assert loaded.manifest["seed"] == 3
    assert loaded.manifest["builder_options"] == {"train_size": 5, "test_size": 2, "blanks": 6}
    assert [len(loaded.splits[split]) for split in ("train", "test")] == [5, 2]


def test_build_json_summary(fake_task: str, tmp_path: Path) -> None:
    result = build("--out", str(tmp_path / "d"), "--set", "blanks=3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {
        "directory": str(tmp_path / "d"), "task": "latin", "seed": 0, "counts": {"train": 6, "test": 3},
        "seq_len": 16, "vocab_size": 6, "options": {"train_size": 6, "test_size": 3, "blanks": 3},
    }


def test_an_unknown_option_is_named_with_the_known_ones(fake_task: str, tmp_path: Path) -> None:
    result = build("--out", str(tmp_path / "d"), "--set", "size=3")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: unknown latin dataset option 'size' (known: blanks, test_size, train_size)\n"
    )
    assert not (tmp_path / "d").exists()


def test_an_option_of_the_wrong_type_is_named(fake_task: str, tmp_path: Path) -> None:
    result = build("--out", str(tmp_path / "d"), "--set", "blanks=many")
    assert result.exit_code == 2
    assert "latin dataset option 'blanks' must be int, got 'many'" in result.stderr


def test_a_builder_error_is_one_line(fake_task: str, tmp_path: Path) -> None:
    result = build("--out", str(tmp_path / "d"), "--set", "blanks=99")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: blanks must lie in [0, 16]"


def test_a_non_empty_directory_needs_force_but_a_dataset_may_be_rebuilt(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    refused = build("--out", str(tmp_path))
    assert refused.exit_code == 1
    assert "not empty and not a trmkit dataset" in refused.stderr and "--force" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert build("--out", str(tmp_path), "--force").exit_code == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    rebuilt = build("--out", str(tmp_path), "--seed", "1")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert dataset.load(tmp_path).manifest["seed"] == 1


def test_out_must_not_be_a_file(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = build("--out", str(tmp_path / "file"))
    assert result.exit_code == 1 and "exists and is not a directory" in result.stderr


def test_an_unwritable_directory_is_one_line(fake_task: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = build("--out", str(tmp_path / "file" / "sub"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'file' / 'sub'}: cannot write the dataset (Not a directory)\n"
