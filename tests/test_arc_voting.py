"""Voting across augmented versions, per-version puzzle identifiers, and the whole ARC chain:
a tiny model that memorised a few tasks scores pass@2 = 1 through augmentation, voting and the
inverse transforms, and fails once one inverse is broken."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import trmkit
from trmkit.dataset import Dataset
from trmkit.sampler import Sampler
from trmkit.train import Trainer
from trmkit.versions import Versions
from trmkit.voting import evaluate_votes, rank_by_votes
from trmkit_arc.augment import Colours, Dihedral
from trmkit_arc.build import ArcOptions, Entry, select_tasks, to_examples

from test_parity import one_thread  # noqa: F401 (autouse: tiny tensors run faster on one thread)

TASK = trmkit.get_task("arc")


def test_votes_rank_by_count_then_mean_confidence() -> None:
    candidates = [("a", 0.2), ("b", 0.9), ("a", 0.3), ("c", 0.99), ("b", 0.1), ("d", 0.5)]
    # a and b have two votes; a's mean confidence 0.25 < b's 0.5; c beats d on confidence
    assert rank_by_votes(candidates, key=str) == ["b", "a", "c", "d"]
    assert rank_by_votes([], key=str) == []


def test_unreadable_canvases_get_no_vote() -> None:
    grid = np.array([[1]])
    ranked = TASK.decoder.aggregate([(np.zeros((0, 0)), 0.9), (np.zeros((0, 0)), 0.9), (grid, 0.1)])
    assert len(ranked) == 1 and np.array_equal(ranked[0], grid)


def test_every_version_of_a_task_has_its_own_identifier(fake_task: str) -> None:
    base = np.array([0, 1, 2, 3])
    assert TASK.version_identifiers(base, 0, 4).tolist() == [0, 1, 2, 3]
    assert TASK.version_identifiers(base, 2, 4).tolist() == [0, 9, 10, 11]  # blank stays blank
    assert TASK.identifier_count(4, 2) == 12
    latin = trmkit.get_task(fake_task)  # tasks that share one embedding keep it in every version
    assert latin.version_identifiers(base, 2, 4).tolist() == [0, 1, 2, 3]
    assert latin.identifier_count(4, 2) == 4


def test_the_sampler_gives_each_drawn_version_its_identifier() -> None:
    entries = [Entry(g, np.array([[g]]), np.array([[g]])) for g in range(3)]
    examples = to_examples(entries, canvas=2)
    sampler = Sampler(TASK, examples, batch_size=30, augmentations=4, seed=1, base_identifiers=4)
    batch = sampler.next_batch()
    versions, base = np.divmod(batch.puzzle_identifiers, 4)
    assert set(base.tolist()) == {1, 2, 3} and versions.max() <= 4 and versions.min() >= 0
    for row, version, identifier in zip(batch.inputs, versions, base):  # the input is that version's
        group = int(identifier) - 1
        expected = sampler.versions.transform(group, int(version), 4).apply(examples.inputs[group])
        assert np.array_equal(row, expected)
    # a black 1x1 grid looks the same in every version: the group has only its original
    assert set(versions[base == 1].tolist()) == {0} and len(set(versions[base == 2].tolist())) > 1


class NoInverse:
    """A transform whose inverse was forgotten."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def apply(self, tokens):
        return self.inner.apply(tokens)

    def invert(self, tokens):
        return tokens


class ForgetfulColours(Colours):
    def sample(self, rng, seq_len):
        return NoInverse(super().sample(rng, seq_len))


CANVAS = 4
TASKS = "0d3d703e,25ff71a9,3c9b0459"  # 3x3 grids: a recolouring, a shift, a half turn
AUGMENTATIONS = 3


@pytest.fixture(scope="module")
def memorised(tmp_path_factory: pytest.TempPathFactory):
    """A tiny model trained on the test pairs of a few tasks, under augmentation (one embedding
    per version), until it knows them."""
    torch.manual_seed(0)
    chosen = select_tasks(ArcOptions(subsets="training", test_set="training", tasks=TASKS, canvas=CANVAS))
    examples = to_examples([Entry(g, q, a) for g, (task, _) in enumerate(chosen) for q, a in task.test], CANVAS)
    data = Dataset({"train": examples, "test": examples}, {"seq_len": CANVAS * CANVAS, "vocab_size": 12, "num_puzzle_identifiers": len(chosen) + 1})
    config = trmkit.load_config(TASK, "tiny", [
        "train.steps=220", f"data.augmentations={AUGMENTATIONS}", "model.hidden_size=32", "model.num_heads=2", "model.num_layers=2",
        "model.halt_max_steps=1", "model.puzzle_emb_len=1", "train.batch_size=16", "train.lr=3e-3", "train.lr_warmup_steps=20",
        "train.ema=false", "train.puzzle_emb_lr=3e-2", "train.weight_decay=0", "train.puzzle_emb_weight_decay=0",
        "data.jitter=false",  # translation changes training layouts only; tests/test_arc_translation.py covers it
    ])
    trainer = Trainer(TASK, config, data, tmp_path_factory.mktemp("arc-memorise"), torch.device("cpu"))
    assert config.model.num_puzzle_identifiers == (len(chosen) + 1) * (AUGMENTATIONS + 1)
    for _ in range(config.train.steps):
        trainer.train_step()
    return trainer.model.eval(), data, config, len(chosen) + 1


def votes(task, memorised, versions):
    model, data, config, base_count = memorised
    pool = Versions.of_run(task, config, data)
    metrics, attempts = evaluate_votes(model, task, data.splits["test"], pool=pool, versions=versions, base_count=base_count)
    return metrics, attempts


@pytest.mark.slow
def test_a_memorised_task_passes_through_augmentation_voting_and_inverse_transforms(memorised) -> None:
    every, attempts = votes(TASK, memorised, AUGMENTATIONS + 1)
    assert every["pass@2"] == 1.0 and every["puzzles"] == 3 and every["examples"] == 4
    # the augmented versions alone (no original among the voters) still give the true outputs
    augmented, _ = votes(TASK, memorised, range(1, AUGMENTATIONS + 1))
    assert augmented["pass@2"] == 1.0
    assert sorted(attempts) == [0, 1, 2] and [len(a) for _, a in sorted(attempts.items())] == [1, 2, 1]


@pytest.mark.slow
def test_a_broken_inverse_makes_the_same_model_fail(memorised) -> None:
    broken = dataclasses.replace(TASK, augmenters=[ForgetfulColours(), Dihedral()])
    metrics, _ = votes(broken, memorised, range(1, AUGMENTATIONS + 1))
    assert metrics["pass@2"] < 1.0


@pytest.mark.slow
def test_evaluations_during_training_report_the_votes_pass_at_k(memorised, tmp_path) -> None:
    """As the reference's evaluator: the training loop's evaluations of a voting task count the
    votes of every trained version (the same figures as ``trmkit eval``), or of fewer if asked."""
    model, data, config, _ = memorised
    expected, _ = votes(TASK, memorised, AUGMENTATIONS + 1)
    for eval_versions, voters in [(None, AUGMENTATIONS + 1), (2, 2), (0, 0)]:
        setting = dataclasses.replace(config, train=dataclasses.replace(config.train, eval_versions=eval_versions))
        trainer = Trainer(TASK, setting, data, tmp_path, torch.device("cpu"))
        trainer.model.load_state_dict(model.state_dict())
        metrics = trainer.evaluate()
        if not voters:
            assert not any(key.startswith("pass@") for key in metrics) and "voting_versions" not in metrics
            continue
        assert metrics["voting_versions"] == voters and "exact_accuracy" in metrics
        fewer, _ = votes(TASK, memorised, voters)
        assert {key: metrics[key] for key in ("pass@1", "pass@2", "pass@5")} == {key: fewer[key] for key in ("pass@1", "pass@2", "pass@5")}
    assert expected["pass@2"] == 1.0
