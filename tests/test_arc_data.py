"""The ARC dataset builder: offline subsets, sources by path, split rules, overlap warnings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import trmkit
from trmkit import dataset
from trmkit_arc.build import ArcOptions, build_dataset, select_tasks, task_names
from trmkit_arc.sources import builtin

TASK = trmkit.get_task("arc")


def grid(*rows: str) -> list[list[int]]:
    return [[int(c) for c in row] for row in rows]


def write_task(path: Path, shift: int) -> dict:
    task = {
        "train": [{"input": grid("12", "30"), "output": grid("21", "03")}, {"input": grid("4"), "output": grid("4")}],
        "test": [{"input": grid(f"{shift}5"), "output": grid(f"5{shift}")}],
    }
    path.write_text(json.dumps(task))
    return task


def build(**options) -> dict[str, trmkit.Examples]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_dataset(ArcOptions(**options), 0)


@pytest.mark.parametrize(
    ("subsets", "test_set", "tasks", "demos", "tests"),
    [("training", "training", 400, 1302, 416), ("evaluation", "evaluation", 400, 1363, 419),
     ("training2", "training2", 1000, 3232, 1076), ("evaluation2", "evaluation2", 120, 358, 172)],
)
def test_the_built_in_subsets_have_the_reference_counts_offline(subsets, test_set, tasks, demos, tests) -> None:
    loaded = builtin(subsets)
    assert len(loaded) == tasks
    assert sum(len(t.train) for t in loaded) == demos
    assert sum(len(t.test) for t in loaded) == tests
    assert all(output is not None for t in loaded for _, output in t.test)  # test outputs included


def test_reference_split_trains_every_demo_and_holds_out_the_test_sets_test_pairs() -> None:
    splits = build(subsets="training,evaluation", test_set="evaluation", max_tasks=20)
    train, test = splits["train"], splits["test"]
    test_groups = set(test.groups.tolist())
    assert test_groups and test_groups <= set(train.groups.tolist())  # their demos train
    names = task_names(ArcOptions(subsets="training,evaluation", test_set="evaluation", max_tasks=20))
    evaluation = {t.name: t for t in builtin("evaluation")}
    held_out = {names[g] for g in test_groups}
    assert held_out <= set(evaluation)
    assert len(test) == sum(len(evaluation[name].test) for name in held_out)
    for group in test_groups:  # a held-out task trains its demos and nothing else
        assert (train.groups == group).sum() == len(evaluation[names[group]].train)
    assert np.array_equal(train.puzzle_identifiers, train.groups + 1)


def test_strict_split_keeps_whole_test_tasks_out_of_training() -> None:
    splits = build(subsets="training,evaluation", test_set="evaluation", max_tasks=20, split="strict")
    assert not set(splits["test"].groups.tolist()) & set(splits["train"].groups.tolist())


def test_the_engine_accepts_shared_groups_only_for_tasks_that_declare_them(fake_task: str) -> None:
    built = dataset.build(TASK, TASK.dataset_options({"subsets": "evaluation", "test_set": "evaluation", "max_tasks": 5}), 0)
    assert built.manifest["num_puzzle_identifiers"] == 6
    latin = trmkit.get_task(fake_task)
    assert not latin.spec.test_shares_groups


def test_arc_agi_2_training_warns_that_it_holds_arc_agi_1_evaluation_tasks() -> None:
    with pytest.warns(UserWarning, match=r"'training2' overlaps: it contains 376 tasks of the test set 'evaluation'"):
        kept = select_tasks(ArcOptions(subsets="training2,evaluation", test_set="evaluation"))
    assert len([t for t, in_test in kept if in_test]) == 400  # each kept once, as a test task
    assert len({t.name for t, _ in kept}) == len(kept)


def test_the_arc_agi_2_paper_config_never_trains_on_arc_agi_1_evaluation_tasks() -> None:
    config = trmkit.TRMConfig.for_arc_agi(2)
    options = ArcOptions(**config.data.options)
    evaluation = {t.name for t in builtin("evaluation")}
    kept = select_tasks(options)
    trained = {t.name for t, in_test in kept if not in_test}
    assert not trained & evaluation
    assert options.test_set == "evaluation2" and len([t for t, in_test in kept if in_test]) == 120


@pytest.mark.parametrize("version", [1, 2])
def test_the_paper_configs_are_the_reference_runs(version: int) -> None:
    from trmkit.model import TRM

    config = trmkit.TRMConfig.for_arc_agi(version)
    assert TRM(config.model).num_parameters() == 6_829_058
    model, train = config.model, config.train
    assert (model.T, model.n, model.num_layers, model.hidden_size, model.puzzle_emb_len, model.mixer) == (3, 4, 2, 512, 16, "attention")
    assert (train.lr, train.puzzle_emb_lr, train.weight_decay, train.puzzle_emb_weight_decay, train.batch_size) == (1e-4, 1e-2, 0.1, 0.1, 768)
    assert config.data.augmentations == 1000 and config.data.options["split"] == "reference"


def test_a_directory_of_task_files_and_a_kaggle_pair_are_read_by_path(tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "concept"
    folder.mkdir(parents=True)
    write_task(folder / "a1.json", 1)
    write_task(folder / "a2.json", 2)
    challenges = {"k1": {"train": [{"input": grid("7"), "output": grid("8")}], "test": [{"input": grid("77")}]}}
    (tmp_path / "mine_challenges.json").write_text(json.dumps(challenges))
    (tmp_path / "mine_solutions.json").write_text(json.dumps({"k1": [grid("88")]}))
    options = dict(subsets=f"{tmp_path / 'corpus'},{tmp_path / 'mine_challenges.json'}", test_set="mine")
    splits = build(**options)
    assert task_names(ArcOptions(**options)) == ["k1", "a1", "a2"]  # the test set first
    assert len(splits["test"]) == 1 and np.array_equal(TASK.tokenizer.decode(splits["test"].labels[0]), np.array([[8, 8]]))
    assert len(splits["train"]) == 1 + 2 * 3  # k1's demo; a1 and a2: two demos and the test pair each


def test_hidden_test_outputs_are_held_out_for_a_submission_but_never_scored(tmp_path: Path) -> None:
    from trmkit.voting import pass_at

    challenges = {"h1": {"train": [{"input": grid("7"), "output": grid("8")}], "test": [{"input": grid("77")}]}}
    (tmp_path / "hidden_challenges.json").write_text(json.dumps(challenges))  # no solutions file
    splits = build(subsets=f"training,{tmp_path / 'hidden_challenges.json'}", test_set="hidden", max_tasks=2)
    test = splits["test"]
    assert len(test) == 1 and (test.labels == 0).all()  # the input is there, nothing is supervised
    assert np.array_equal(TASK.tokenizer.decode(test.inputs[0]), np.array([[7, 7]]))
    assert pass_at(TASK, test, [[np.array([[8, 8]])]])["examples"] == 0
    with pytest.raises(trmkit.ConfigError, match="test input without output"):
        build(subsets=f"training,{tmp_path / 'hidden_challenges.json'}", test_set="training", max_tasks=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"subsets": "nope"}, "unknown ARC subset 'nope'"),
     ({"subsets": "training", "test_set": "evaluation"}, "not among the subsets"),
     ({"split": "loose"}, "split must be one of"),
     ({"subsets": "training", "test_set": "training", "tasks": "zzzzzzzz"}, "none of the tasks")],
)
def test_bad_options_are_named(options, message) -> None:
    with pytest.raises(trmkit.TrmkitError, match=message):
        build(**options)


def test_a_malformed_task_file_names_the_place(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"train": [], "test": [{"input": [[1, 2], [3]]}]}))
    with pytest.raises(trmkit.InputError, match="bad.json test 1 input: rows of different lengths"):
        build(subsets=str(tmp_path), test_set=tmp_path.name)
