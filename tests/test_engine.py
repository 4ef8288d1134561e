"""Unit tests of the engine against the official code's rules."""

from __future__ import annotations

import math

import pytest
import torch

from trmkit.act import empty_carry, solve, supervision_step
from trmkit.config import ModelConfig
from trmkit.layers import swiglu_width, truncated_normal_
from trmkit.losses import IGNORE, act_loss, log_stablemax, stablemax
from trmkit.model import TRM
from trmkit.optim import EMA, AdamATan2, SparseSignSGD, learning_rate


def small_config(**overrides) -> ModelConfig:
    values = dict(vocab_size=7, seq_len=12, hidden_size=32, num_heads=2, T=2, n=2, halt_max_steps=4, puzzle_emb_len=4)
    values.update(overrides)
    return ModelConfig(**values)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (dict(vocab_size=11, seq_len=81, mixer="mlp_t", pos_encodings="none"), 5_028_866),
        (dict(vocab_size=11, seq_len=81), 6_828_034),
        (dict(vocab_size=6, seq_len=900, n=4), 6_822_914),
        (dict(vocab_size=12, seq_len=900, n=4), 6_829_058),
        (dict(vocab_size=6, seq_len=900, n=4, mixer="mlp_t", pos_encodings="none"), 18_795_522),
    ],
)
def test_parameter_counts_equal_the_reference(overrides, expected):
    assert TRM(ModelConfig(**overrides)).num_parameters() == expected


def test_effective_depth_of_the_sudoku_recipe_is_42():
    assert ModelConfig(T=3, n=6, num_layers=2).effective_depth == 42


def test_swiglu_width_rounds_two_thirds_up_to_256():
    assert swiglu_width(512, 4) == 1536
    assert swiglu_width(97, 4) == 512


def test_truncated_normal_has_the_requested_std_and_bounds():
    torch.manual_seed(0)
    x = truncated_normal_(torch.empty(200_000), std=0.5)
    assert abs(x.std().item() - 0.5) < 0.01
    assert x.abs().max().item() <= 2 * 0.5 / math.sqrt(1 - 2 * 2 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2))) + 1e-6


def test_q_head_starts_at_zero_weight_and_bias_minus_five():
    model = TRM(small_config())
    assert torch.all(model.q_head.weight == 0)
    assert torch.all(model.q_head.bias == -5)


def test_puzzle_embedding_is_a_zero_buffer_outside_the_parameter_count():
    model = TRM(small_config(num_puzzle_identifiers=3))
    assert "puzzle_emb.weight" in dict(model.named_buffers())
    assert torch.all(model.puzzle_emb.weight == 0)
    assert all("puzzle_emb" not in name for name, _ in model.named_parameters())


def test_stablemax_values():
    x = torch.tensor([-3.0, -1.0, 0.0, 2.0], dtype=torch.float64)
    assert torch.allclose(stablemax(x), torch.tensor([0.25, 0.5, 1.0, 3.0], dtype=torch.float64))
    probabilities = log_stablemax(x.unsqueeze(0)).exp()
    assert torch.allclose(probabilities, torch.tensor([[0.25, 0.5, 1.0, 3.0]], dtype=torch.float64) / 4.75)


def test_stablemax_gradient_is_finite_at_a_logit_of_exactly_one():
    """torch.where differentiates both branches; 1 / (1 - x) at x = 1 once made every gradient NaN."""
    logits = torch.tensor([[[1.0, -0.5, 0.0, 2.0]]], requires_grad=True)
    total, _, _ = act_loss(logits, torch.tensor([[3]]), torch.tensor([0.0]))
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(logits.grad).all()
    x = torch.tensor([-2.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    stablemax(x).sum().backward()
    assert x.grad.tolist() == [1 / 9, 1.0, 1.0]  # d/dx 1/(1-x) = 1/(1-x)^2 below 0, 1 above


def test_act_loss_weights_q_halt_by_half_and_ignores_padding():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [2.0, 0.0]]])
    labels = torch.tensor([[0, 1], [0, IGNORE]])
    q_halt = torch.tensor([0.3, -0.2])
    total, parts, correct = act_loss(logits, labels, q_halt)
    assert correct.tolist() == [True, True]
    lm = -math.log(3 / 4)  # each supervised token: s = (3, 1) -> p = 3/4; mean per sequence
    assert parts["lm_loss"].item() == pytest.approx(2 * lm)
    bce = -math.log(torch.sigmoid(torch.tensor(0.3)).item()) - math.log(torch.sigmoid(torch.tensor(-0.2)).item())
    assert parts["q_halt_loss"].item() == pytest.approx(bce, rel=1e-6)
    assert total.item() == pytest.approx(2 * lm + 0.5 * bce, rel=1e-6)


def test_no_gradient_reaches_the_first_t_minus_one_cycles():
    """Only the last cycle carries gradient: the answer's graph holds exactly n+1 net calls."""
    model = TRM(small_config(T=3, n=2))
    calls = []
    original = model.net

    def counting_net(h, injection):
        out = original(h, injection)
        calls.append(out.requires_grad)
        return out

    model.net = counting_net
    y, z = model.initial_carry(2)
    model(y, z, torch.zeros(2, 12, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    assert len(calls) == 3 * (2 + 1)
    assert calls == [False] * 6 + [True] * 3


def test_carry_is_detached_between_supervision_steps():
    model = TRM(small_config())
    y, z = model.initial_carry(2)
    y, z, logits, _, _ = model(y, z, torch.zeros(2, 12, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    assert logits.requires_grad and not y.requires_grad and not z.requires_grad


def batch(size: int = 8, seq_len: int = 12):
    torch.manual_seed(1)
    inputs = torch.randint(1, 7, (size, seq_len))
    return inputs, inputs.clone(), torch.zeros(size, dtype=torch.long)


def test_training_halts_on_positive_q_or_at_the_cap():
    model = TRM(small_config(halt_exploration_prob=0.0)).train()
    carry = empty_carry(model, 8)
    inputs, labels, ids = batch()
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([-5.0, 0.0]))  # q_halt < 0: only the cap halts
    for step in range(1, 5):
        carry, *_ = supervision_step(model, carry, inputs, labels, ids)
        assert carry.steps.tolist() == [step] * 8
        assert carry.halted.tolist() == [step == 4] * 8
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([5.0, 0.0]))  # q_halt > 0: halt after one step
    carry, *_ = supervision_step(model, carry, inputs, labels, ids)
    assert carry.halted.all() and carry.steps.tolist() == [1] * 8


def test_eval_mode_only_halts_at_the_cap():
    model = TRM(small_config()).eval()
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([5.0, 0.0]))
    carry = empty_carry(model, 8)
    inputs, labels, ids = batch()
    for step in range(1, 5):
        carry, *_ = supervision_step(model, carry, inputs, labels, ids)
        assert carry.halted.all() == (step == 4)


def test_exploration_forces_a_minimum_of_two_to_cap_steps():
    model = TRM(small_config(halt_max_steps=6, halt_exploration_prob=1.0)).train()
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([5.0, 0.0]))  # would halt at once without exploration
    inputs, labels, ids = batch(size=256)
    carry = empty_carry(model, 256)
    generator = torch.Generator().manual_seed(0)
    halted_at = torch.zeros(256, dtype=torch.long)
    for _ in range(6):
        carry, *_ = supervision_step(model, carry, inputs, labels, ids, generator)
        newly = carry.halted & (halted_at == 0)
        halted_at[newly] = carry.steps[newly].long()
        carry.halted = carry.halted & False  # keep every slot running to see when each would halt
    assert halted_at.min() >= 2 and halted_at.max() <= 6
    assert set(halted_at.tolist()) == {2, 3, 4, 5, 6}


def test_halted_slots_take_new_samples_and_running_slots_keep_theirs():
    model = TRM(small_config(halt_exploration_prob=0.0)).train()
    carry = empty_carry(model, 2)
    first = torch.ones(2, 12, dtype=torch.long)
    carry, *_ = supervision_step(model, carry, first, first, torch.zeros(2, dtype=torch.long))
    carry.halted = torch.tensor([True, False])
    second = torch.full((2, 12), 2)
    carry, *_ = supervision_step(model, carry, second, second, torch.zeros(2, dtype=torch.long))
    assert carry.inputs[0].tolist() == [2] * 12 and carry.inputs[1].tolist() == [1] * 12
    assert carry.steps.tolist() == [1, 2]


def test_adaptive_solve_stops_samples_that_are_sure_and_all_runs_every_step():
    model = TRM(small_config(halt_max_steps=5))
    inputs, _, _ = batch(size=3)
    with torch.no_grad():
        model.q_head.bias.copy_(torch.tensor([5.0, 0.0]))
    assert solve(model, inputs)["steps"].tolist() == [1, 1, 1]
    assert solve(model, inputs, halt="all")["steps"].tolist() == [5, 5, 5]
    result = solve(model, inputs, halt="all", return_trajectory=True)
    assert [entry["step"] for entry in result["trajectory"]] == [1, 2, 3, 4, 5]
    assert torch.equal(result["trajectory"][-1]["prediction"], result["solution"])


def test_adaptive_and_all_agree_when_the_model_never_halts_early():
    model = TRM(small_config(halt_max_steps=3))
    inputs, _, _ = batch(size=4)
    adaptive, full = solve(model, inputs), solve(model, inputs, halt="all")
    assert torch.equal(adaptive["solution"], full["solution"])
    assert torch.allclose(adaptive["confidence"], full["confidence"])


def test_train_step_takes_an_optimizer_step_after_every_supervision_step():
    """The paper's pseudocode: backward and step inside the supervision loop, so the second step
    already runs on the weights the first one changed."""
    torch.manual_seed(0)
    model = TRM(small_config())
    inputs, labels, _ = batch(size=4)
    seen = []

    class Recording(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(model.output_head.weight.detach().clone())
            return super().step(closure)

    optimizer = Recording(model.parameters(), lr=0.1)
    out = model.train_step(inputs, labels, optimizer, max_steps=3)
    assert len(seen) == 3 and len(out["losses"]) == 3  # q_halt starts near -5: no sample stops early
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])
    assert out["loss"] == pytest.approx(sum(out["losses"]) / 3) and out["steps"].tolist() == [3, 3, 3, 3]
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())  # nothing left over
    assert 0.0 <= out["accuracy"] <= 1.0


def test_ema_update_rule():
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(model)
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 0.9 * 1.0 + 0.1 * 3.0))


def test_adam_atan2_first_step_matches_the_kernel_formula():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    p.grad = torch.tensor([0.5, -0.1])
    AdamATan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.5).step()
    m = 0.1 * torch.tensor([0.5, -0.1])
    v = 0.05 * torch.tensor([0.5, -0.1]) ** 2
    expected = torch.tensor([1.0, -2.0]) * (1 - 0.1 * 0.5) - (0.1 / 0.1) * torch.atan2(m, v.sqrt() / math.sqrt(0.05))
    assert torch.allclose(p.detach(), expected)


def test_sparse_sign_sgd_updates_only_used_rows_with_summed_gradients():
    model = TRM(small_config(num_puzzle_identifiers=4)).train()
    with torch.no_grad():
        model.puzzle_emb.weight.fill_(1.0)
    ids = torch.tensor([1, 1, 3])
    rows = model.puzzle_emb(ids)
    (rows * torch.tensor([[1.0], [-3.0], [2.0]])).sum().backward()
    SparseSignSGD(model.puzzle_emb, lr=0.1, weight_decay=1.0).step()
    table = model.puzzle_emb.weight
    assert torch.all(table[0] == 1.0) and torch.all(table[2] == 1.0)
    assert torch.allclose(table[1], torch.full_like(table[1], 1.0 * 0.9 + 0.1))  # grad sum -2: sign -1
    assert torch.allclose(table[3], torch.full_like(table[3], 1.0 * 0.9 - 0.1))


def test_learning_rate_warms_up_linearly_then_follows_the_cosine():
    assert learning_rate(1, 1.0, 10, 110, 0.1) == pytest.approx(0.1)
    assert learning_rate(10, 1.0, 10, 110, 0.1) == pytest.approx(1.0)
    assert learning_rate(60, 1.0, 10, 110, 0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert learning_rate(110, 1.0, 10, 110, 0.1) == pytest.approx(0.1)
    assert learning_rate(500, 1.0, 10, 110, 1.0) == pytest.approx(1.0)  # official default: constant


def test_token_accuracy_averages_each_examples_share_and_q_halt_counts_zero_as_sure():
    """As the reference: a large grid weighs no more than a small one (the ARC case), and
    q_halt >= 0 is the halting head's "my answer is right"."""
    import numpy as np

    from trmkit import Examples, get_task
    from trmkit.evaluate import Predictions, score

    task = get_task("sudoku")  # label 0 is its ignore label
    labels = np.zeros((3, 81), dtype=np.int64)
    labels[0, :80] = 5  # 80 supervised cells
    labels[1, :4] = 7  # 4 supervised cells
    # and no supervised cell at all (an answer nobody knows): not scored, as the reference
    answers = np.full((3, 81), 5, dtype=np.int64)  # the first all right, the second all wrong
    examples = Examples(np.ones((3, 81), dtype=np.int64), labels, np.arange(3), np.zeros(3, dtype=np.int64))
    q_halt = np.array([0.0, -0.5, 3.0], dtype=np.float32)
    metrics = score(task, examples, Predictions(answers, answers, np.ones(3, dtype=np.int64), q_halt))
    assert metrics["examples"] == 2 and metrics["token_accuracy"] == 0.5  # (1 + 0) / 2, not 80 / 84
    assert metrics["exact_accuracy"] == 0.5 and metrics["q_halt_accuracy"] == 1.0  # q 0.0 on the right one counts as sure


def test_rotary_positions_are_applied_in_fp32_under_bf16():
    """The reference casts q and k up to fp32 for RoPE and the result back once."""
    from trmkit.layers import RotaryEmbedding, apply_rotary

    rotary = RotaryEmbedding(16, 40, 10000.0)
    x = torch.randn(2, 40, 4, 16).to(torch.bfloat16)
    once = apply_rotary(x.float(), rotary.cos, rotary.sin).to(torch.bfloat16)
    assert apply_rotary(x, rotary.cos, rotary.sin).dtype == torch.bfloat16
    assert torch.equal(apply_rotary(x, rotary.cos, rotary.sin), once)


@pytest.mark.parametrize("mixer", ["attention", "mlp_t"])
def test_under_bf16_the_recursion_and_its_carry_are_bf16_as_the_reference(mixer):
    """The reference runs the whole recursion in its forward dtype; the weights stay fp32."""
    torch.manual_seed(0)
    model = TRM(small_config(mixer=mixer, forward_dtype="bfloat16"))
    inputs = torch.randint(1, 7, (3, 12))
    y, z = model.initial_carry(3)
    assert y.dtype == z.dtype == torch.bfloat16  # as forward returns it: a compiled forward builds once
    new_y, new_z, logits, q_halt, _ = model(y, z, inputs, torch.zeros(3, dtype=torch.long))
    assert new_y.dtype == new_z.dtype == logits.dtype == torch.bfloat16
    assert q_halt.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    fp32 = TRM(small_config(mixer=mixer, forward_dtype="float32"))
    fp32.load_state_dict(model.state_dict())
    exact_y, _, _, _, _ = fp32(*fp32.initial_carry(3), inputs, torch.zeros(3, dtype=torch.long))
    assert exact_y.dtype == torch.float32
    assert (new_y.float() - exact_y).abs().mean() < 0.1  # the same function, at bf16's precision
    # A carry of the other precision (a checkpoint from another device) is cast on the way in.
    assert fp32(new_y, new_z, inputs, torch.zeros(3, dtype=torch.long))[0].dtype == torch.float32
    assert model(exact_y, exact_y, inputs, torch.zeros(3, dtype=torch.long))[0].dtype == torch.bfloat16


def test_a_bf16_model_trains_and_solves():
    torch.manual_seed(0)
    model = TRM(small_config(forward_dtype="bfloat16"))
    optimizer = AdamATan2(model.parameters(), lr=1e-3)
    inputs = torch.randint(1, 7, (4, 12))
    result = model.train_step(inputs, inputs, optimizer, max_steps=2)
    assert all(math.isfinite(loss) for loss in result["losses"])
    assert model.solve(inputs, halt="all", batch_size=3)["solution"].shape == inputs.shape  # refilled slots mix fresh fp32 init in


def test_on_a_cpu_attention_runs_in_fp32_under_bf16_and_returns_bf16():
    """torch's bf16 attention kernels for the CPU are slower than its fp32 ones."""
    import torch.nn.functional as F

    from trmkit.layers import attention

    q, k, v = (torch.randn(2, 4, 10, 8).to(torch.bfloat16).requires_grad_() for _ in range(3))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attention(q, k, v)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(torch.bfloat16))
    out.float().sum().backward()
    assert q.grad is not None and q.grad.dtype == torch.bfloat16
