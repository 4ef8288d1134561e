"""Parity with the official TRM implementation, on outputs it recorded (tests/fixtures/official-trm).

The fixture holds the official model's weights (their names and layouts), a batch, three
supervision steps in eval mode and two in training mode, run by the official code (commit
e7b6871) in float32 on CPU; see its README. The weights go through trmkit's converter mapping
(``trmkit.convert``) into trmkit's TRM built from the official config, and everything is compared:
states, logits and halting logits; losses; every gradient; halting flags and step counters. This is
the evidence that trmkit's engine is the paper's model and not a look-alike: a change to the
normalisation axis, the input injection, the number of gradient-carrying cycles, the embedding
scale or the stable-max formula makes one of these tests fail.

Tolerances: outputs 1e-5 x max(1, max |reference|); losses 1e-6 relative; gradients 1e-4 of the
reference gradient's largest entry; flags and counters exactly.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch

from trmkit import act
from trmkit.convert import map_official_state_dict, official_model_config
from trmkit.losses import act_loss
from trmkit.model import TRM

FIXTURES = Path(__file__).parent / "fixtures" / "official-trm"
CASES = ("mlp_t", "attention")
EVAL_STEPS = 3
TRAIN_STEPS = 2
EVAL_OUTPUTS = ("logits", "q_halt_logits", "q_continue_logits", "z_H", "z_L")


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """These tensors are tiny: one thread is faster than two fighting over shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def fixture_case(case: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(official config, arrays) of one recorded case."""
    config = json.loads((FIXTURES / "official_trm_fixture.json").read_text())["cases"][case]["config"]
    with np.load(FIXTURES / f"official_trm_{case}.npz") as arrays:
        return config, {key: arrays[key] for key in arrays.files}


def official_weights(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key.removeprefix("param/"): torch.from_numpy(value) for key, value in arrays.items() if key.startswith("param/")}


def build_model(case: str) -> TRM:
    """trmkit's TRM from the official config, loaded through the converter's mapping."""
    config, arrays = fixture_case(case)
    model_config = official_model_config(config)
    model_config.forward_dtype = "float32"
    model = TRM(model_config)
    model.load_state_dict(map_official_state_dict(official_weights(arrays)), strict=True)
    return model


def batch(arrays: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(arrays["batch/inputs"]).long(),
        torch.from_numpy(arrays["batch/labels"]).long(),
        torch.from_numpy(arrays["batch/puzzle_identifiers"]).long(),
    )


def max_diff(actual: torch.Tensor, expected: np.ndarray) -> float:
    return float((actual.detach().double() - torch.from_numpy(np.asarray(expected)).double()).abs().max())


@functools.cache
def train_run(case: str) -> list[dict[str, Any]]:
    """Two training supervision steps as the fixture ran them: carry passed on, gradients zeroed
    before each step, loss = lm + 0.5 * q_halt summed over the batch (not divided)."""
    _, arrays = fixture_case(case)
    model = build_model(case).train()
    inputs, labels, identifiers = batch(arrays)
    carry = act.empty_carry(model, inputs.shape[0])
    parameters = dict(model.named_parameters())
    steps = []
    for _ in range(TRAIN_STEPS):
        model.zero_grad(set_to_none=True)
        carry, logits, q_halt, _ = act.supervision_step(model, carry, inputs, labels, identifiers)
        total, parts, _ = act_loss(logits, carry.labels, q_halt, "stablemax", 0.5)
        total.backward()
        # None where no gradient arrived at all (the gradient test reports it by name).
        grads = {name: None if p.grad is None else p.grad.detach().clone() for name, p in parameters.items()}
        local = model.puzzle_emb.local[1].grad if model.puzzle_emb.local is not None else None
        grads["puzzle_emb_local"] = None if local is None else local.detach().clone()
        steps.append(
            {
                "loss": float(total.detach()),
                "lm_loss": float(parts["lm_loss"]),
                "q_halt_loss": float(parts["q_halt_loss"]),
                "halted": carry.halted.clone(),
                "steps": carry.steps.clone(),
                "grads": grads,
            }
        )
    return steps


@pytest.mark.parametrize("case", CASES)
def test_parity_official_weights_map_onto_every_parameter(case: str) -> None:
    config, arrays = fixture_case(case)
    mapped = map_official_state_dict(official_weights(arrays))
    model = TRM(official_model_config(config))
    assert set(mapped) == set(model.state_dict())
    for name, tensor in model.state_dict().items():
        assert mapped[name].shape == tensor.shape, name


@pytest.mark.parametrize("case", CASES)
def test_parity_eval_steps_match_the_official_model(case: str) -> None:
    _, arrays = fixture_case(case)
    model = build_model(case).eval()
    inputs, labels, identifiers = batch(arrays)
    carry = act.empty_carry(model, inputs.shape[0])
    with torch.no_grad():
        for step in range(EVAL_STEPS):
            carry, logits, q_halt, q_continue = act.supervision_step(model, carry, inputs, labels, identifiers)
            ours = dict(zip(EVAL_OUTPUTS, (logits, q_halt, q_continue, carry.y, carry.z)))
            for name in EVAL_OUTPUTS:
                expected = arrays[f"eval/step{step}/{name}"]
                assert ours[name].shape == expected.shape, f"eval step {step} {name}: shape"
                tolerance = 1e-5 * max(1.0, float(np.abs(expected).max()))
                diff = max_diff(ours[name], expected)
                assert diff <= tolerance, f"eval step {step} {name}: max |diff| {diff:.3g} > {tolerance:.3g}"


@pytest.mark.parametrize("case", CASES)
def test_parity_train_losses_match_the_official_loss_head(case: str) -> None:
    _, arrays = fixture_case(case)
    for step, ours in enumerate(train_run(case)):
        for name in ("loss", "lm_loss", "q_halt_loss"):
            expected = float(arrays[f"train/step{step}/{name}"])
            assert ours[name] == pytest.approx(expected, rel=1e-6, abs=0.0), f"train step {step} {name}"


@pytest.mark.parametrize("case", CASES)
def test_parity_train_gradients_match_the_official_backward(case: str) -> None:
    _, arrays = fixture_case(case)
    for step, ours in enumerate(train_run(case)):
        prefix = f"train/step{step}/grad/"
        official = {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
        mapped = map_official_state_dict({n: torch.from_numpy(v) for n, v in official.items() if n != "puzzle_emb_local"})
        mapped["puzzle_emb_local"] = torch.from_numpy(official["puzzle_emb_local"])
        assert set(mapped) == set(ours["grads"]), f"train step {step}: gradients of different parameters"
        for name, expected in mapped.items():
            assert ours["grads"][name] is not None, f"train step {step}: no gradient reached {name}"
            scale = float(expected.abs().max())
            diff = max_diff(ours["grads"][name], expected.numpy())
            assert diff <= 1e-4 * scale, f"train step {step} grad {name}: max |diff| {diff:.3g} > 1e-4 x {scale:.3g}"


@pytest.mark.parametrize("case", CASES)
def test_parity_train_halting_flags_and_step_counters(case: str) -> None:
    _, arrays = fixture_case(case)
    for step, ours in enumerate(train_run(case)):
        assert ours["halted"].tolist() == arrays[f"train/step{step}/halted"].tolist(), f"train step {step} halted"
        assert ours["steps"].tolist() == arrays[f"train/step{step}/steps"].tolist(), f"train step {step} steps"
