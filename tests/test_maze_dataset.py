"""The maze dataset builder (generated and imported) and the shared plugin contract kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import trmkit
from trmkit import dataset
from trmkit.testing import check_task_contract
from trmkit_maze.cells import TOKENIZER
from trmkit_maze.paths import distances, locate

SMALL = {"size": 8, "num_train": 40, "num_test": 20, "min_path_length": 12}


@pytest.fixture(scope="module")
def maze() -> trmkit.Task:
    return trmkit.get_task("maze")


def build(task: trmkit.Task, seed: int = 0, **options: object) -> dict[str, trmkit.Examples]:
    return task.spec.build_dataset(task.dataset_options({**SMALL, **options}), seed)


def test_the_task_is_registered_through_the_entry_point(maze: trmkit.Task) -> None:
    assert (maze.spec.vocab_size, maze.spec.seq_len, maze.spec.grid_shape) == (6, 900, (30, 30))
    assert maze.plugin == "trmkit"
    assert [a.name for a in maze.augmenters] == ["dihedral"] and [v.name for v in maze.validators] == ["maze-shortest-path"]
    assert {"paper", "small", "tiny"} <= {p.stem for p in Path(maze.spec.config_dir).glob("*.yaml")}


def test_the_contract_kit_passes_on_30x30_mazes(maze: trmkit.Task) -> None:
    check_task_contract(maze, {"size": 30, "num_train": 4, "num_test": 2, "min_path_length": 40}, max_examples=20, augmentations=8)


def test_builds_are_deterministic_disjoint_and_meet_the_minimum(maze: trmkit.Task) -> None:
    splits = build(maze)
    again = build(maze)
    other = build(maze, seed=1)
    for name in ("train", "test"):
        assert np.array_equal(splits[name].inputs, again[name].inputs)
        assert np.array_equal(splits[name].labels, again[name].labels)
        assert not np.array_equal(splits[name].inputs, other[name].inputs)
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (40, 20) and train.inputs.shape[1] == 64
    questions = {row.tobytes() for row in train.inputs}
    assert len(questions) == 40 and not questions & {row.tobytes() for row in test.inputs}
    assert not set(train.groups) & set(test.groups)
    for inputs, labels in zip(test.inputs, test.labels):
        question, answer = TOKENIZER.decode(inputs), TOKENIZER.decode(labels)
        (start,), (goal,) = locate(question, 3), locate(question, 4)
        assert distances(question, start)[goal] >= 12
        assert maze.validate(trmkit.Puzzle(question), answer).ok


def test_the_test_split_does_not_depend_on_the_train_size(maze: trmkit.Task) -> None:
    assert np.array_equal(build(maze)["test"].inputs, build(maze, num_train=10)["test"].inputs)


def test_unique_path_mazes_have_one_shortest_path(maze: trmkit.Task) -> None:
    from trmkit_maze.paths import count_shortest_paths

    splits = build(maze, num_train=5, num_test=0, unique_path=True)
    for inputs in splits["train"].inputs:
        question = TOKENIZER.decode(inputs)
        assert count_shortest_paths(question, locate(question, 3)[0], locate(question, 4)[0]) == 1


def test_maze_hard_csv_files_are_imported(maze: trmkit.Task, tmp_path: Path) -> None:
    splits = build(maze, size=8)
    paths = {}
    for name, examples in splits.items():
        rows = ["source,question,answer,rating"]
        for i, (q, a) in enumerate(zip(examples.inputs, examples.labels)):
            text = lambda tokens: "".join(" # SGo"[t] for t in tokens)  # noqa: E731  (reference charset)
            rows.append(f"gen{i},{text(q)},{text(a)},0")
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text("\n".join(rows) + "\n")
    imported = build(maze, size=8, train_csv=str(paths["train"]), test_csv=str(paths["test"]), num_test=5)
    assert np.array_equal(imported["train"].inputs, splits["train"].inputs)
    assert np.array_equal(imported["test"].labels, splits["test"].labels[:5])
    with pytest.raises(trmkit.InputError, match="set size=8"):
        build(maze, size=9, train_csv=str(paths["train"]), test_csv=str(paths["test"]))
    with pytest.raises(trmkit.ConfigError, match="both"):
        build(maze, train_csv=str(paths["train"]))


def test_bad_options_are_config_errors(maze: trmkit.Task) -> None:
    with pytest.raises(trmkit.ConfigError, match="min_path_length"):
        build(maze, min_path_length=64)
    with pytest.raises(trmkit.ConfigError, match="unknown maze dataset option 'sise'"):
        maze.dataset_options({"sise": 9})
    with pytest.raises(trmkit.ConfigError, match="size"):
        build(maze, size=31)


def test_data_build_writes_a_dataset(maze: trmkit.Task, tmp_path: Path) -> None:
    built = dataset.build(maze, maze.dataset_options(SMALL), 3)
    dataset.save(built, tmp_path / "d")
    loaded = dataset.load(tmp_path / "d", task="maze")
    assert loaded.seq_len == 64 and loaded.manifest["builder_options"]["min_path_length"] == 12


@pytest.mark.parametrize("name", ["paper", "small", "tiny"])
def test_the_named_configs_load(maze: trmkit.Task, name: str) -> None:
    config = trmkit.load_config(maze, name)
    assert config.task == "maze" and config.model.vocab_size == 6
    maze.dataset_options(config.data.options)
    if name == "paper":
        assert (config.model.T, config.model.n, config.model.hidden_size, config.model.seq_len) == (3, 4, 512, 900)
        assert (config.train.steps, config.train.batch_size, config.data.augmentations) == (65104, 768, 0)


def test_the_paper_config_has_the_reference_parameter_count() -> None:
    from trmkit import TRM, TRMConfig

    assert TRM(TRMConfig.for_maze().model).num_parameters() == 6_822_914
