"""Converting official TRM checkpoints: names, configs, the round trip, and refusals.

An official run directory is rebuilt from the parity fixture the way the official pretrain.py
writes one: ``torch.save`` of the (compiled) loss head's state dict as ``step_<N>``, an
``all_config.yaml`` beside it (``yaml.dump`` of the run config, model settings under ``arch:``),
and the dataset's ``dataset.json`` where ``data_paths`` points. The converted checkpoint must
then reproduce the official outputs through trmkit's own loading path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from trmkit import act
from trmkit.checkpoint import MODEL_FILE, load_model, read_weights
from trmkit.cli import main
from trmkit.convert import (
    OFFICIAL_ARCH_NAME,
    convert_official,
    load_official_state_dict,
    map_official_name,
    map_official_state_dict,
    official_model_config,
    read_official_config,
)
from trmkit.errors import InputError
from trmkit.model import TRM

from test_parity import CASES, EVAL_OUTPUTS, fixture_case, official_weights, one_thread  # noqa: F401 (autouse)

STEP = 4200


def official_run(root: Path, case: str, *, config: bool = True, dataset: bool = True, compiled: bool = True) -> Path:
    """An official run directory for a fixture case under ``root`` (their repository root);
    returns the checkpoint file."""
    fixture_config, arrays = fixture_case(case)
    run = root / "checkpoints" / "Fixture-ACT-torch" / f"trm-{case} lucky-otter"
    run.mkdir(parents=True)
    prefix = "_orig_mod.model." if compiled else "model."
    torch.save({prefix + name: tensor.clone() for name, tensor in official_weights(arrays).items()}, run / f"step_{STEP}")
    data = f"data/fixture-{case}"
    if config:
        arch = {
            key: fixture_config[key]
            for key in ("H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "num_heads", "expansion",
                        "puzzle_emb_ndim", "pos_encodings", "halt_max_steps", "halt_exploration_prob", "mlp_t",
                        "puzzle_emb_len", "no_ACT_continue")
        }
        arch.update(name=OFFICIAL_ARCH_NAME, forward_dtype="bfloat16",
                    loss={"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"})
        run_config = {
            "arch": arch, "beta1": 0.9, "beta2": 0.95, "checkpoint_path": str(run.relative_to(root)),
            "data_paths": [data], "data_paths_test": [], "ema": True, "ema_rate": 0.999, "epochs": 50000,
            "eval_interval": 5000, "evaluators": [], "global_batch_size": 768, "lr": 0.0001, "lr_min_ratio": 1.0,
            "lr_warmup_steps": 2000, "project_name": "Fixture-ACT-torch", "puzzle_emb_lr": 0.0001,
            "puzzle_emb_weight_decay": 1.0, "run_name": run.name, "seed": 0, "weight_decay": 1.0,
        }
        (run / "all_config.yaml").write_text(yaml.dump(run_config))
    if dataset:
        (root / data / "train").mkdir(parents=True)
        metadata = {
            "pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": fixture_config["vocab_size"],
            "seq_len": fixture_config["seq_len"], "num_puzzle_identifiers": fixture_config["num_puzzle_identifiers"],
            "total_groups": 4, "mean_puzzle_examples": 1.0, "total_puzzles": 4, "sets": ["all"],
        }
        (root / data / "train" / "dataset.json").write_text(json.dumps(metadata))
    return run / f"step_{STEP}"


def assert_matches_fixture(model: TRM, case: str) -> None:
    """Three eval supervision steps of ``model`` reproduce the official ones."""
    _, arrays = fixture_case(case)
    inputs = torch.from_numpy(arrays["batch/inputs"]).long()
    labels = torch.from_numpy(arrays["batch/labels"]).long()
    identifiers = torch.from_numpy(arrays["batch/puzzle_identifiers"]).long()
    model.eval()
    carry = act.empty_carry(model, inputs.shape[0])
    with torch.no_grad():
        for step in range(3):
            carry, logits, q_halt, q_continue = act.supervision_step(model, carry, inputs, labels, identifiers)
            for name, ours in zip(EVAL_OUTPUTS, (logits, q_halt, q_continue, carry.y, carry.z)):
                expected = torch.from_numpy(arrays[f"eval/step{step}/{name}"])
                scale = max(1.0, float(expected.abs().max()))
                diff = float((ours - expected).abs().max())
                assert diff <= 1e-5 * scale, f"step {step} {name}: {diff:.3g}"


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(arg) for arg in args])


# -- names and configs ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("official", "ours"),
    [
        ("inner.embed_tokens.embedding_weight", "embed_tokens.weight"),
        ("model.inner.lm_head.weight", "output_head.weight"),
        ("_orig_mod.model.inner.q_head.bias", "q_head.bias"),
        ("inner.H_init", "y_init"),
        ("inner.L_init", "z_init"),
        ("inner.puzzle_emb.weights", "puzzle_emb.weight"),
        ("inner.L_level.layers.1.mlp_t.gate_up_proj.weight", "layers.1.token_mlp.gate_up.weight"),
        ("inner.L_level.layers.0.mlp_t.down_proj.weight", "layers.0.token_mlp.down.weight"),
        ("inner.L_level.layers.3.mlp.gate_up_proj.weight", "layers.3.mlp.gate_up.weight"),
        ("inner.L_level.layers.0.mlp.down_proj.weight", "layers.0.mlp.down.weight"),
        ("inner.L_level.layers.0.self_attn.qkv_proj.weight", "layers.0.attention.qkv.weight"),
        ("inner.L_level.layers.12.self_attn.o_proj.weight", "layers.12.attention.out.weight"),
        ("inner.rotary_emb.cos_cached", None),
        ("inner.puzzle_emb.local_weights", None),
    ],
)
def test_official_names_map_to_trmkit_names(official: str, ours: str | None) -> None:
    assert map_official_name(official) == ours


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("inner.embed_pos.embedding_weight", "learned position embeddings"),
        ("inner.H_level.layers.0.mlp.down_proj.weight", "HRM"),
        ("inner.L_level.layers.0.mlp.down_proj.bias", "no counterpart"),
        ("inner.something_new", "no counterpart"),
    ],
)
def test_unmappable_parameters_are_refused_by_name(name: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as error:
        map_official_name(name)
    assert f"'{name}'" in str(error.value)


def test_mapped_weights_are_float32_and_bf16_buffers_are_widened_exactly() -> None:
    init = torch.randn(8).to(torch.bfloat16)
    mapped = map_official_state_dict({"model.inner.H_init": init})
    assert mapped["y_init"].dtype == torch.float32
    assert torch.equal(mapped["y_init"], init.float())
    with pytest.raises(InputError, match="same parameter twice"):
        map_official_state_dict({"inner.H_init": init, "model.inner.H_init": init})
    with pytest.raises(InputError, match="'inner.q_head.bias'.*int64"):
        map_official_state_dict({"inner.q_head.bias": torch.zeros(2, dtype=torch.long)})


@pytest.mark.parametrize("case", CASES)
def test_official_config_fields_map_onto_model_config(case: str) -> None:
    config, _ = fixture_case(case)
    model = official_model_config(config)
    assert (model.T, model.n, model.num_layers) == (config["H_cycles"], config["L_cycles"], config["L_layers"])
    assert (model.hidden_size, model.num_heads, model.expansion) == (64, 4, 4.0)
    assert model.mixer == ("mlp_t" if config["mlp_t"] else "attention")
    assert model.pos_encodings == config["pos_encodings"]
    assert (model.seq_len, model.vocab_size) == (config["seq_len"], config["vocab_size"])
    assert model.num_puzzle_identifiers == config["num_puzzle_identifiers"]
    assert (model.puzzle_emb_len, model.halt_max_steps, model.halt_exploration_prob) == (16, 4, 0.0)
    assert model.forward_dtype == "float32"
    assert official_model_config({**config, "forward_dtype": "bfloat16"}).forward_dtype == "auto"
    assert official_model_config({**config, "rope_theta": 500.0}).rope_theta == 500.0
    assert official_model_config({**config, "puzzle_emb_len": 0}).puzzle_emb_len == 1  # ceil(ndim / hidden)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pos_encodings": "learned"}, "pos_encodings 'learned'"),
        ({"puzzle_emb_ndim": 128}, "puzzle_emb_ndim 128"),
        ({"puzzle_emb_ndim": 0}, "puzzle_emb_ndim 0"),
        ({"no_ACT_continue": False}, "no_ACT_continue"),
        ({"name": "recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1"}, "only"),
        ({"H_cycles": "three"}, "H_cycles must be a number"),
        ({"forward_dtype": "float16"}, "forward_dtype 'float16'"),
        ({"num_heads": 5}, "multiple of model.num_heads"),
    ],
)
def test_official_configs_trmkit_cannot_reproduce_are_refused(change: dict[str, Any], message: str) -> None:
    config, _ = fixture_case("attention")
    with pytest.raises(InputError, match=message):
        official_model_config({**config, **change})


def test_missing_official_settings_are_listed() -> None:
    config, _ = fixture_case("attention")
    partial = {key: value for key, value in config.items() if key not in ("L_cycles", "seq_len")}
    with pytest.raises(InputError, match="missing L_cycles, seq_len"):
        official_model_config(partial)


def test_an_arch_file_with_hydra_references_is_read(tmp_path: Path) -> None:
    path = tmp_path / "trm.yaml"
    path.write_text("hidden_size: 256\npuzzle_emb_ndim: ${.hidden_size}\nH_cycles: 3\n")
    assert read_official_config(path)["arch"]["puzzle_emb_ndim"] == 256
    path.write_text("hidden_size: 256\npuzzle_emb_ndim: ${..other}\n")
    with pytest.raises(InputError, match="cannot resolve puzzle_emb_ndim"):
        read_official_config(path)
    path.write_text("just: text\n")
    with pytest.raises(InputError, match="no 'arch' section"):
        read_official_config(path)


# -- the round trip ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_round_trip_through_the_python_api(tmp_path: Path, case: str) -> None:
    checkpoint = official_run(tmp_path, case)
    result = convert_official(checkpoint, tmp_path / "converted")
    assert result.path == tmp_path / "converted" and result.step == STEP
    config, arrays = fixture_case(case)
    model_config = result.config.model
    assert (model_config.seq_len, model_config.T, model_config.n) == (config["seq_len"], 3, 2)
    assert model_config.forward_dtype == "auto"  # bfloat16 in the run: bf16 on CUDA, float32 here
    assert (result.config.train.batch_size, result.config.train.ema_decay) == (768, 0.999)

    loaded = load_model(result.path)
    assert loaded.metadata["format"] == "trmkit-checkpoint-1" and loaded.metadata["step"] == str(STEP)
    assert {"task", "config", "versions"} <= set(loaded.metadata)
    assert json.loads(loaded.metadata["converted_from"])["file"] == f"step_{STEP}"
    assert_matches_fixture(loaded.model, case)

    model = TRM.from_pretrained(result.path)
    identifiers = torch.from_numpy(arrays["batch/puzzle_identifiers"]).long()
    solved = act.solve(model, arrays["batch/inputs"], puzzle_identifiers=identifiers, max_steps=3, halt="all")
    assert torch.equal(solved["solution"], torch.from_numpy(arrays["eval/step2/logits"]).argmax(-1))
    expected_confidence = torch.sigmoid(torch.from_numpy(arrays["eval/step2/q_halt_logits"]))
    assert torch.allclose(solved["confidence"], expected_confidence, atol=1e-6)
    assert solved["steps"].tolist() == [3] * 4


@pytest.mark.parametrize("case", CASES)
def test_round_trip_through_the_cli(tmp_path: Path, case: str) -> None:
    checkpoint = official_run(tmp_path, case, compiled=False)
    out = tmp_path / "converted"
    result = invoke("convert", "official", checkpoint, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert "T=3, n=2" in result.stderr
    assert "warning: no task given: the model names none, so 'trmkit solve' and 'trmkit eval' refuse it" in result.stderr
    assert_matches_fixture(load_model(out).model, case)

    again = invoke("convert", "official", checkpoint, "--out", out)
    assert again.exit_code == 1 and "already holds a model" in again.stderr
    forced = invoke("convert", "official", checkpoint, "--out", out, "--force", "--set", "model.halt_max_steps=8", "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)
    assert report["step"] == STEP and report["model"]["halt_max_steps"] == 8
    assert load_model(out).config.model.halt_max_steps == 8


def test_the_sequence_length_of_attention_models_comes_from_the_dataset_or_the_user(tmp_path: Path) -> None:
    checkpoint = official_run(tmp_path, "attention", dataset=False)
    with pytest.raises(InputError, match="cannot tell the sequence length.*--set model.seq_len"):
        convert_official(checkpoint, tmp_path / "a")
    result = convert_official(checkpoint, tmp_path / "b", overrides={"model.seq_len": 36})
    assert_matches_fixture(load_model(result.path).model, "attention")


def test_without_all_config_the_official_defaults_are_assumed_and_said(tmp_path: Path) -> None:
    checkpoint = official_run(tmp_path, "mlp_t", config=False, dataset=False)
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "default")
    assert result.exit_code == 0, result.output
    assert "warning: no all_config.yaml" in result.stderr and "n=6" in result.stderr
    model = load_model(tmp_path / "default").config.model
    assert (model.mixer, model.pos_encodings, model.seq_len, model.n) == ("mlp_t", "none", 81, 6)
    fixed = invoke("convert", "official", checkpoint, "--out", tmp_path / "fixed", "--set", "model.n=2",
                   "--set", "model.halt_max_steps=4")
    assert fixed.exit_code == 0, fixed.output
    assert_matches_fixture(load_model(tmp_path / "fixed").model, "mlp_t")


def test_a_config_of_another_run_is_caught(tmp_path: Path) -> None:
    checkpoint = official_run(tmp_path, "attention")
    other = tmp_path / "other.yaml"
    run_config = read_official_config(checkpoint.parent / "all_config.yaml")
    run_config["arch"]["hidden_size"] = 512
    other.write_text(yaml.dump(run_config))
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "x", "--config", other)
    assert result.exit_code == 1
    assert "says hidden_size 512 but the weights" in result.stderr
    run_config["arch"]["hidden_size"] = 64
    run_config["arch"]["expansion"] = 8
    other.write_text(yaml.dump(run_config))
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "y", "--config", other)
    assert result.exit_code == 1
    assert "inner.L_level.layers.0.mlp.gate_up_proj.weight has shape [512, 64] but the config needs [1024, 64]" in result.stderr


def test_a_task_with_another_vocabulary_is_refused(tmp_path: Path, fake_task: str) -> None:
    checkpoint = official_run(tmp_path, "attention")
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "x", "--task", fake_task)
    assert result.exit_code == 1
    assert f"task '{fake_task}' has a vocabulary of 6 tokens but the checkpoint's has 12" in result.stderr
    assert not (tmp_path / "x" / MODEL_FILE).exists()


def test_an_unmappable_parameter_in_a_checkpoint_is_named(tmp_path: Path) -> None:
    checkpoint = official_run(tmp_path, "attention")
    state = torch.load(checkpoint, weights_only=True)
    state["_orig_mod.model.inner.embed_pos.embedding_weight"] = torch.zeros(52, 64)
    torch.save(state, checkpoint)
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "x")
    assert result.exit_code == 1
    assert "'_orig_mod.model.inner.embed_pos.embedding_weight'" in result.stderr
    assert "learned position embeddings" in result.stderr


# -- refusing to run code ---------------------------------------------------------------------
def leave_mark(path: str) -> None:
    """What a malicious checkpoint would run on unpickling (here: harmlessly, write a file)."""
    Path(path).write_text("this ran")


class Payload:
    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return leave_mark, (str(self.mark),)


def test_a_pickle_that_runs_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    _, arrays = fixture_case("mlp_t")
    state: dict[str, Any] = {f"model.{name}": tensor for name, tensor in official_weights(arrays).items()}
    state["model.inner.H_init"] = Payload(mark)
    checkpoint = tmp_path / "step_1"
    torch.save(state, checkpoint)
    torch.load(checkpoint, weights_only=False)  # the payload is live: unrestricted loading runs it
    assert mark.read_text() == "this ran"
    mark.unlink()

    with pytest.raises(InputError, match="refused: loading it would call or build .*leave_mark.*never unpickles code"):
        load_official_state_dict(checkpoint)
    result = invoke("convert", "official", checkpoint, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {checkpoint}: refused")
    assert len(result.stderr.splitlines()) == 1
    assert not mark.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a torch checkpoint file"), (bytes(range(7, 71)), "not a plain torch state dict"),
     (b"plain text", "not a (plain )?torch")],
    ids=["empty", "binary", "text"],
)
def test_files_that_are_not_checkpoints_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "step_3"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_official_state_dict(path)


def test_other_inputs_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_official_state_dict(tmp_path / "step_9")
    official_run(tmp_path, "mlp_t")
    run = next((tmp_path / "checkpoints").glob("*/*"))
    with pytest.raises(InputError, match=f"is a directory.*step_{STEP}"):
        load_official_state_dict(run)
    torch.save([torch.zeros(2)], tmp_path / "list")
    with pytest.raises(InputError, match="holds a list, not a state dict"):
        load_official_state_dict(tmp_path / "list")
    torch.save({"model": {"inner.H_init": torch.zeros(64)}}, tmp_path / "nested")
    with pytest.raises(InputError, match="entry 'model' is a nested dict"):
        convert_official(tmp_path / "nested", tmp_path / "n")
    tensors, _ = read_weights(Path(convert_official(run / f"step_{STEP}", tmp_path / "m").path) / MODEL_FILE)
    assert all(t.dtype == torch.float32 for t in tensors.values())
    assert not np.isnan(sum(float(t.abs().sum()) for t in tensors.values()))


def test_a_converted_sudoku_model_solves_through_the_cli_as_through_the_api(tmp_path: Path) -> None:
    """The mlp_t fixture has Sudoku's shape (vocab 11, 81 cells): convert it for the sudoku task
    and `trmkit solve` must answer exactly what the converted model computes (which the parity
    tests tie to the official outputs)."""
    from trmkit import get_task

    checkpoint = official_run(tmp_path, "mlp_t")
    out = tmp_path / "converted"
    assert invoke("convert", "official", checkpoint, "--out", out, "--task", "sudoku").exit_code == 0
    puzzles = tmp_path / "p.txt"
    puzzles.write_text(
        "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..\n"
        "2...8.3...6..7..84.3.5..2.9...1.54.8.........4.27.6...3.1..7.4.72..4..6...4.1...3\n"
    )
    solved = invoke("solve", "sudoku", puzzles, "--model", out, "--json", "--halt", "all", "--max-steps", "3")
    assert solved.exit_code in (0, 1), solved.output
    records = json.loads(solved.stdout)

    task = get_task("sudoku")
    model = load_model(out, task="sudoku").model
    tokens = np.stack([task.tokenizer.encode(p.question) for p in task.spec.parse(puzzles.read_text(), "p")])
    expected = act.solve(model, tokens, max_steps=3, halt="all")
    for record, solution, confidence in zip(records, expected["solution"], expected["confidence"]):
        assert record["steps"] == 3
        assert record["answer"] == task.decoder.to_json(task.decoder.decode(solution.numpy(), None))
        assert record["confidence"] == pytest.approx(float(confidence), abs=1e-6)


def test_every_example_of_the_help_names_its_task() -> None:
    """'trmkit solve' and 'eval' refuse a model that names no task: no example makes one."""
    text = invoke("convert", "official", "--help").stdout
    examples = [line.strip() for line in text.split("Examples:", 1)[1].splitlines() if line.strip().startswith("trmkit convert")]
    assert len(examples) == 3 and all("--task " in example for example in examples)


def test_a_model_converted_without_a_task_says_how_to_fix_it(tmp_path: Path) -> None:
    checkpoint = official_run(tmp_path, "mlp_t")
    assert invoke("convert", "official", checkpoint, "--out", tmp_path / "m").exit_code == 0
    result = invoke("solve", "sudoku", "-", "--model", tmp_path / "m")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: {tmp_path / 'm' / 'model.safetensors'} names no task (converted without --task?); convert it again with --task sudoku"
    )
