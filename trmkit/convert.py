"""Convert checkpoints of the official TRM implementation into trmkit checkpoints.

The official code (SamsungSAILMontreal/TinyRecursiveModels, ``pretrain.py``) saves a checkpoint
as ``torch.save(model.state_dict(), "<run>/step_<N>")``: a plain state dict of the loss head, so
names look like ``model.inner.L_level.layers.0.mlp.gate_up_proj.weight`` (with ``_orig_mod.``
in front when the model was compiled). It holds no configuration; the run's ``all_config.yaml``
beside it does (its ``arch:`` section), except for the sequence length, vocabulary size and number
of puzzle identifiers, which the official code takes from the dataset's ``dataset.json``.

The layouts agree with trmkit's, so converting is renaming (the parity tests,
``tests/test_parity.py``, check this to float precision, gradients included):

- fused SwiGLU projections put the gate in the first half of the output rows and "up" in the
  second, in both codes (``chunk(2, dim=-1)``);
- the fused attention projection's rows are all heads' queries, then keys, then values, and
  trmkit reads them as ``view(..., 3, heads, head_dim)``: the same order;
- linear weights are ``[out_features, in_features]`` in both (torch's own layout).

Only the ``recursive_reasoning.trm`` model with what trmkit implements is accepted: anything
else (learned position embeddings, a puzzle embedding wider than one position, HRM's two
networks) is refused with an :class:`~trmkit.errors.InputError` naming the parameter or setting,
because a silently partial conversion would give a model that looks fine and answers wrongly.

Checkpoints are read with ``torch.load(..., weights_only=True)`` only: a pickle that would run
code is refused without running it.
"""

from __future__ import annotations

import json
import math
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import yaml

from .config import ModelConfig, TRMConfig, set_value
from .errors import ConfigError, InputError

#: The model class the official configs name (``arch.name``) for TRM.
OFFICIAL_ARCH_NAME = "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"

#: Prefixes the official training wraps names in: ``_orig_mod.`` (torch.compile) and ``model.``
#: (the loss head holding the model). Both are stripped, in any order.
WRAPPER_PREFIXES = ("_orig_mod.", "model.")

#: Official names of whole tensors and their trmkit names.
_TOP_LEVEL = {
    "inner.embed_tokens.embedding_weight": "embed_tokens.weight",
    "inner.lm_head.weight": "output_head.weight",
    "inner.q_head.weight": "q_head.weight",
    "inner.q_head.bias": "q_head.bias",
    "inner.H_init": "y_init",
    "inner.L_init": "z_init",
    "inner.puzzle_emb.weights": "puzzle_emb.weight",
}

#: Per-layer modules: official ``inner.L_level.layers.<i>.<module>.weight`` ->
#: trmkit ``layers.<i>.<module>.weight``.
_LAYER_MODULES = {
    "mlp_t.gate_up_proj": "token_mlp.gate_up",
    "mlp_t.down_proj": "token_mlp.down",
    "mlp.gate_up_proj": "mlp.gate_up",
    "mlp.down_proj": "mlp.down",
    "self_attn.qkv_proj": "attention.qkv",
    "self_attn.o_proj": "attention.out",
}
_LAYER_NAME = re.compile(r"inner\.L_level\.layers\.(\d+)\.(.+)\.weight")

#: Buffers some torch versions may save although the official code marks them non-persistent:
#: all derived (rotary tables) or scratch space (the sparse embedding's per-batch rows).
_DERIVED = re.compile(r"inner\.(rotary_emb\.(cos|sin)_cached|puzzle_emb\.local_(weights|ids))")

#: Specific explanations for official parameters trmkit has no counterpart for.
_UNSUPPORTED = (
    (re.compile(r"inner\.embed_pos\."), "learned position embeddings (pos_encodings: learned) are not implemented in trmkit"),
    (re.compile(r"inner\.H_level\."), "a second (H-level) network is HRM's architecture, not TRM's"),
)

#: The official ``config/arch/trm.yaml`` (commit e7b6871): what a run used unless it overrode it.
OFFICIAL_ARCH_DEFAULTS: dict[str, Any] = {
    "H_cycles": 3,
    "L_cycles": 6,
    "L_layers": 2,
    "hidden_size": 512,
    "num_heads": 8,
    "expansion": 4,
    "pos_encodings": "rope",
    "halt_max_steps": 16,
    "halt_exploration_prob": 0.1,
    "forward_dtype": "bfloat16",
    "mlp_t": False,
    "puzzle_emb_len": 16,
    "no_ACT_continue": True,
}

#: Official arch keys that the conversion reads, and those it knowingly ignores.
_ARCH_KEYS = {
    "H_cycles", "L_cycles", "L_layers", "hidden_size", "num_heads", "expansion", "pos_encodings",
    "mlp_t", "puzzle_emb_len", "puzzle_emb_ndim", "num_puzzle_identifiers", "vocab_size", "seq_len",
    "halt_max_steps", "halt_exploration_prob", "rope_theta", "rms_norm_eps", "forward_dtype",
    "no_ACT_continue",
}
_IGNORED_ARCH_KEYS = {"name", "loss", "H_layers", "batch_size", "causal"}

#: Top-level training settings of ``all_config.yaml`` with a trmkit equivalent.
_TRAIN_KEYS = {
    "lr": "lr",
    "lr_min_ratio": "lr_min_ratio",
    "lr_warmup_steps": "lr_warmup_steps",
    "weight_decay": "weight_decay",
    "beta1": "beta1",
    "beta2": "beta2",
    "puzzle_emb_lr": "puzzle_emb_lr",
    "puzzle_emb_weight_decay": "puzzle_emb_weight_decay",
    "global_batch_size": "batch_size",
    "ema": "ema",
    "ema_rate": "ema_decay",
    "seed": "seed",
}
_LOSS_TYPES = {"stablemax_cross_entropy": "stablemax", "softmax_cross_entropy": "softmax"}


# -- names --------------------------------------------------------------------------------------
def strip_wrappers(name: str) -> str:
    """The name without the training wrappers' prefixes (``_orig_mod.``, ``model.``)."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix) :], True
    return name


def map_official_name(name: str) -> str | None:
    """trmkit's name for the official parameter ``name`` (wrapper prefixes allowed), or ``None``
    for a derived buffer that trmkit recomputes. Anything else raises :class:`InputError` naming
    the parameter, so no weight is ever dropped silently."""
    bare = strip_wrappers(name)
    if bare in _TOP_LEVEL:
        return _TOP_LEVEL[bare]
    match = _LAYER_NAME.fullmatch(bare)
    if match and match.group(2) in _LAYER_MODULES:
        return f"layers.{match.group(1)}.{_LAYER_MODULES[match.group(2)]}.weight"
    if _DERIVED.fullmatch(bare):
        return None
    for pattern, reason in _UNSUPPORTED:
        if pattern.match(bare):
            raise InputError(f"cannot convert parameter '{name}': {reason}")
    raise InputError(
        f"cannot convert parameter '{name}': it has no counterpart in trmkit's TRM "
        f"(only the official '{OFFICIAL_ARCH_NAME}' model is supported)"
    )


def map_official_state_dict(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The official state dict with trmkit's names, as float32 tensors.

    Derived buffers are dropped; unknown names, non-tensors, non-float tensors and two official
    names landing on one trmkit name are errors naming the parameter.
    """
    mapped: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise InputError(f"cannot convert entry {name!r}: parameter names must be strings")
        if isinstance(value, Mapping):
            raise InputError(
                f"entry '{name}' is a nested dict; an official checkpoint is the plain state dict pretrain.py "
                "saves (save that dict, or convert the file it came from)"
            )
        target = map_official_name(name)
        if target is None:
            continue
        if not isinstance(value, torch.Tensor):
            raise InputError(f"cannot convert parameter '{name}': it is a {type(value).__name__}, not a tensor")
        if not value.is_floating_point():
            raise InputError(f"cannot convert parameter '{name}': it holds {value.dtype} values, not floats")
        if target in mapped:
            raise InputError(f"parameters '{origin[target]}' and '{name}' are the same parameter twice")
        mapped[target] = value.detach().to(torch.float32).contiguous()
        origin[target] = name
    return mapped


def official_name(trmkit_name: str) -> str:
    """The official name (without wrapper prefixes) of a trmkit parameter, for messages."""
    for official, ours in _TOP_LEVEL.items():
        if ours == trmkit_name:
            return official
    match = re.fullmatch(r"layers\.(\d+)\.(.+)\.weight", trmkit_name)
    if match:
        for official, ours in _LAYER_MODULES.items():
            if ours == match.group(2):
                return f"inner.L_level.layers.{match.group(1)}.{official}.weight"
    return trmkit_name


# -- configuration ------------------------------------------------------------------------------
def _number(arch: Mapping[str, Any], key: str, kind: type, source: str) -> Any:
    value = arch[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{source}: {key} must be a number, got {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise InputError(f"{source}: {key} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def effective_puzzle_emb_len(arch: Mapping[str, Any], source: str = "official config") -> int:
    """Positions the official model reserves for the puzzle embedding, and a check that trmkit
    can hold the embedding the same way.

    The official model pads the ``puzzle_emb_ndim``-wide vector to ``puzzle_emb_len`` positions
    (``puzzle_emb_len`` 0 means ceil(ndim / hidden_size) positions). trmkit keeps one vector of
    ``hidden_size`` at the first position, so it needs ndim == hidden_size (the official default,
    ``${.hidden_size}``), or no puzzle embedding at all.
    """
    hidden = _number(arch, "hidden_size", int, source)
    ndim = _number(arch, "puzzle_emb_ndim", int, source) if "puzzle_emb_ndim" in arch else hidden
    length = _number(arch, "puzzle_emb_len", int, source) if "puzzle_emb_len" in arch else 16
    if length == 0:
        length = -(-ndim // hidden)
    if ndim == 0:
        if length:
            raise InputError(
                f"{source}: puzzle_emb_ndim 0 with puzzle_emb_len {length}: the official model reserves "
                "positions it never fills in this setting, and trmkit does not reproduce that"
            )
        return 0
    if ndim != hidden:
        raise InputError(
            f"{source}: puzzle_emb_ndim {ndim} differs from hidden_size {hidden}; trmkit supports only a "
            "puzzle embedding as wide as the hidden size (the official default)"
        )
    return length


def official_model_config(arch: Mapping[str, Any], source: str = "official config") -> ModelConfig:
    """trmkit's :class:`ModelConfig` for an official arch config (their field names).

    ``arch`` is the ``arch:`` section of ``all_config.yaml``, or the config dict the official
    model is built from; ``seq_len``, ``vocab_size`` and ``num_puzzle_identifiers`` (from the
    dataset metadata in the official code) must be in it. Mapping: H_cycles -> T, L_cycles -> n,
    L_layers -> num_layers, mlp_t -> mixer, the rest by name. ``forward_dtype: bfloat16`` becomes
    ``auto`` (bf16 on CUDA as in the official runs, float32 on CPU where bf16 is slow and gains
    nothing); ``float32`` stays.
    """
    name = arch.get("name")
    if name is not None and name != OFFICIAL_ARCH_NAME:
        raise InputError(f"{source}: arch.name is '{name}'; trmkit converts only '{OFFICIAL_ARCH_NAME}' (TRM)")
    required = ("H_cycles", "L_cycles", "L_layers", "hidden_size", "num_heads", "expansion", "pos_encodings",
                "halt_max_steps", "halt_exploration_prob", "seq_len", "vocab_size", "num_puzzle_identifiers")
    missing = [key for key in required if key not in arch]
    if missing:
        raise InputError(f"{source}: missing {', '.join(missing)}")
    if not arch.get("no_ACT_continue", True):
        raise InputError(
            f"{source}: no_ACT_continue is false; that official path (halting on q_halt > q_continue with a "
            "target-Q loss) cannot train in the official code and trmkit does not implement it"
        )
    pos = arch["pos_encodings"]
    if pos not in ("rope", "none"):
        raise InputError(f"{source}: pos_encodings '{pos}' is not supported by trmkit (rope or none)")
    mlp_t = arch.get("mlp_t", False)
    if not isinstance(mlp_t, bool):
        raise InputError(f"{source}: mlp_t must be true or false, got {mlp_t!r}")
    dtype = str(arch.get("forward_dtype", "bfloat16"))
    if dtype not in ("bfloat16", "float32"):
        raise InputError(f"{source}: forward_dtype '{dtype}' is not supported by trmkit (bfloat16 or float32)")
    config = ModelConfig(
        vocab_size=_number(arch, "vocab_size", int, source),
        seq_len=_number(arch, "seq_len", int, source),
        hidden_size=_number(arch, "hidden_size", int, source),
        num_heads=_number(arch, "num_heads", int, source),
        expansion=_number(arch, "expansion", float, source),
        num_layers=_number(arch, "L_layers", int, source),
        T=_number(arch, "H_cycles", int, source),
        n=_number(arch, "L_cycles", int, source),
        mixer="mlp_t" if mlp_t else "attention",
        pos_encodings=pos,
        puzzle_emb_len=effective_puzzle_emb_len(arch, source),
        num_puzzle_identifiers=_number(arch, "num_puzzle_identifiers", int, source),
        halt_max_steps=_number(arch, "halt_max_steps", int, source),
        halt_exploration_prob=_number(arch, "halt_exploration_prob", float, source),
        forward_dtype="float32" if dtype == "float32" else "auto",
    )
    if "rope_theta" in arch:
        config.rope_theta = _number(arch, "rope_theta", float, source)
    if "rms_norm_eps" in arch:
        config.rms_norm_eps = _number(arch, "rms_norm_eps", float, source)
    if config.seq_len < 1:
        raise InputError(f"{source}: seq_len unknown (pass it explicitly, e.g. --set model.seq_len=900)")
    try:
        config.validate()
    except ConfigError as exc:
        raise InputError(f"{source}: {exc}") from None
    return config


def _resolve_interpolations(arch: dict[str, Any], source: str) -> dict[str, Any]:
    """Resolve Hydra's sibling references (``${.hidden_size}``), which appear when an arch file
    of the official repo is given instead of the ``all_config.yaml`` a run wrote."""
    resolved = dict(arch)
    for key, value in arch.items():
        if isinstance(value, str) and value.startswith("${"):
            match = re.fullmatch(r"\$\{\.(\w+)\}", value)
            if not match or match.group(1) not in arch or isinstance(arch[match.group(1)], str):
                raise InputError(f"{source}: cannot resolve {key}: {value}")
            resolved[key] = arch[match.group(1)]
    return resolved


def read_official_config(path: str | Path) -> dict[str, Any]:
    """The official run config: a mapping with an ``arch`` section (an ``all_config.yaml``), or an
    arch config alone (a file like their ``config/arch/trm.yaml``), which is wrapped as
    ``{"arch": ...}``. Read with ``yaml.safe_load`` (plain data only)."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise InputError(f"{path}: expected a mapping (an official all_config.yaml)")
    if "arch" not in values:
        if "H_cycles" not in values and "hidden_size" not in values:
            raise InputError(f"{path}: no 'arch' section; is this the all_config.yaml of an official run?")
        values = {"arch": values}
    if not isinstance(values["arch"], dict):
        raise InputError(f"{path}: 'arch' must be a mapping")
    values["arch"] = _resolve_interpolations(values["arch"], str(path))
    return values


def official_train_settings(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """Training settings of an official run (``all_config.yaml``) as trmkit ``train.*`` values:
    useful to fine-tune a converted model as it was trained. Settings without an equivalent
    (epochs, evaluators, ...) are left out."""
    settings = {ours: run_config[theirs] for theirs, ours in _TRAIN_KEYS.items() if run_config.get(theirs) is not None}
    loss = run_config.get("arch", {}).get("loss")
    if isinstance(loss, dict) and loss.get("loss_type") in _LOSS_TYPES:
        settings["loss"] = _LOSS_TYPES[loss["loss_type"]]
    return settings


# -- reading checkpoints ------------------------------------------------------------------------
def load_official_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict in an official checkpoint file, read with ``weights_only=True``.

    torch's restricted unpickler refuses every object that is not a tensor or plain container,
    before anything of it runs; such a file is reported, never opened another way.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        steps = sorted(path.glob("step_*"), key=lambda p: _step_of(p) or -1)
        hint = f" (its latest checkpoint is {steps[-1]})" if steps else ""
        raise InputError(f"{path}: is a directory; give the checkpoint file (step_<N>){hint}")
    if path.suffix == ".safetensors":
        raise InputError(f"{path}: a safetensors file is not an official checkpoint (trmkit loads its own directly)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols; the error says it all
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        culprit = re.search(r"GLOBAL ([\w.]+)", text)
        if culprit:
            raise InputError(
                f"{path}: refused: loading it would call or build {culprit.group(1)}, which is not a tensor; "
                "trmkit never unpickles code (an official checkpoint is a plain state dict of tensors)"
            ) from None
        reason = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
        detail = reason.group(1).strip() if reason else " ".join(text.split())[:120]
        raise InputError(
            f"{path}: not a plain torch state dict (the weights-only loader stopped: {detail}); "
            "trmkit never unpickles arbitrary objects"
        ) from None
    except (RuntimeError, OSError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: not a readable torch checkpoint ({detail[:160]})") from None
    except (EOFError, KeyError, IndexError, AttributeError, ImportError, TypeError):
        raise InputError(f"{path}: not a torch checkpoint file (empty, truncated or another format)") from None
    if not isinstance(state, Mapping):
        raise InputError(f"{path}: holds a {type(state).__name__}, not a state dict")
    if not state:
        raise InputError(f"{path}: the state dict is empty")
    return dict(state)


def _step_of(path: Path) -> int | None:
    match = re.fullmatch(r"step_(\d+)", path.name)
    return int(match.group(1)) if match else None


def _weight_facts(weights: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """What the (trmkit-named) weights say about the architecture."""
    facts: dict[str, Any] = {}
    if "embed_tokens.weight" in weights:
        facts["vocab_size"], facts["hidden_size"] = weights["embed_tokens.weight"].shape
    if "puzzle_emb.weight" in weights:
        facts["num_puzzle_identifiers"], facts["puzzle_emb_ndim"] = weights["puzzle_emb.weight"].shape
    else:
        facts["puzzle_emb_ndim"] = 0
    layers = {int(name.split(".")[1]) for name in weights if name.startswith("layers.")}
    if layers:
        facts["L_layers"] = max(layers) + 1
    facts["mlp_t"] = any(".token_mlp." in name for name in weights)
    if "layers.0.token_mlp.gate_up.weight" in weights:
        facts["mlp_t_width"] = weights["layers.0.token_mlp.gate_up.weight"].shape[1]
    return facts


def _find_dataset_metadata(run_config: Mapping[str, Any], checkpoint: Path) -> tuple[dict[str, Any], Path] | None:
    """The ``dataset.json`` of the run's training data, when it can still be found: paths in
    ``data_paths`` are relative to the official repository the run started in, so they are tried
    as given and against the checkpoint's folder and its parents."""
    paths = run_config.get("data_paths") or run_config.get("data_path") or []
    if isinstance(paths, str):
        paths = [paths]
    bases = [Path.cwd(), checkpoint.parent, *list(checkpoint.parent.parents)[:4]]
    for entry in paths:
        for base in bases:
            for split in ("train", "test"):
                candidate = base / str(entry) / split / "dataset.json"
                if candidate.is_file():
                    try:
                        return json.loads(candidate.read_text()), candidate
                    except (OSError, json.JSONDecodeError):
                        continue
    return None


# -- conversion ---------------------------------------------------------------------------------
@dataclass
class Conversion:
    """What :func:`convert_official` wrote and how it decided."""

    path: Path  # the trmkit checkpoint folder
    config: TRMConfig
    step: int
    notes: list[str] = field(default_factory=list)  # assumptions and ignored settings, for the user
    parameters: int = 0  # trainable parameters (puzzle-embedding table excluded)


def official_run_config(
    checkpoint: Path, config_path: str | Path | None, weights: Mapping[str, torch.Tensor], notes: list[str]
) -> tuple[dict[str, Any], str]:
    """The official run config for ``checkpoint`` and where it came from: ``config_path``, else
    the ``all_config.yaml`` beside it, else the official arch defaults with every size taken from
    the weights (noted, since T, n and the heads cannot be read from weights)."""
    if config_path is not None:
        return read_official_config(config_path), str(config_path)
    beside = checkpoint.parent / "all_config.yaml"
    if beside.is_file():
        return read_official_config(beside), str(beside)
    facts = _weight_facts(weights)
    arch = dict(OFFICIAL_ARCH_DEFAULTS)
    for key in ("hidden_size", "L_layers", "mlp_t", "puzzle_emb_ndim"):
        if key in facts:
            arch[key] = facts[key]
    if arch["mlp_t"]:
        arch["pos_encodings"] = "none"  # the official Sudoku-MLP setting; the MLP has no positions
    notes.append(
        f"no all_config.yaml beside {checkpoint} (the official pretrain.py writes one only when wandb "
        f"runs) and no --config: assumed the official arch/trm.yaml settings T={arch['H_cycles']}, "
        f"n={arch['L_cycles']}, {arch['num_heads']} heads, {arch['halt_max_steps']} supervision steps, "
        f"positions {arch['pos_encodings']}; sizes and mixer come from the weights. Maze and ARC runs "
        "used n=4: pass --set model.n=4 for those"
    )
    return {"arch": arch}, "the official arch defaults"


def _fill_dataset_fields(
    arch: dict[str, Any],
    facts: Mapping[str, Any],
    run_config: Mapping[str, Any],
    checkpoint: Path,
    task_spec: Any,
    overrides: Mapping[str, Any],
    notes: list[str],
) -> None:
    """Fill ``seq_len``, ``vocab_size`` and ``num_puzzle_identifiers`` (dataset metadata in the
    official code) from the weights, the run's dataset.json, the task, or explicit overrides."""
    for key in ("vocab_size", "num_puzzle_identifiers"):
        if key in facts:
            if key in arch and int(arch[key]) != facts[key]:
                raise InputError(f"the config says {key} {arch[key]} but the weights have {facts[key]}")
            arch[key] = facts[key]
    if "num_puzzle_identifiers" not in arch:
        arch["num_puzzle_identifiers"] = 1  # no puzzle embedding: the table is unused
    if "model.seq_len" in overrides:
        arch["seq_len"] = overrides["model.seq_len"]
        return
    if "seq_len" in arch:
        return
    length = effective_puzzle_emb_len(arch)
    if "mlp_t_width" in facts:
        arch["seq_len"] = facts["mlp_t_width"] - length
        return
    found = _find_dataset_metadata(run_config, checkpoint)
    if found is not None:
        metadata, where = found
        if "seq_len" in metadata:
            if metadata.get("vocab_size") not in (None, arch.get("vocab_size")):
                raise InputError(f"{where}: vocab_size {metadata['vocab_size']} but the weights have {arch.get('vocab_size')}")
            arch["seq_len"] = int(metadata["seq_len"])
            notes.append(f"sequence length {arch['seq_len']} from {where}")
            return
    if task_spec is not None:
        arch["seq_len"] = int(task_spec.seq_len)
        notes.append(f"sequence length {arch['seq_len']} from task '{task_spec.name}'")
        return
    raise InputError(
        "cannot tell the sequence length: attention weights do not fix it, and the run's dataset.json "
        "was not found; pass --task NAME or --set model.seq_len=N (81 for Sudoku, 900 for Maze and ARC)"
    )


def convert_official(
    checkpoint: str | Path,
    out: str | Path,
    *,
    task: str | None = None,
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
) -> Conversion:
    """Convert the official checkpoint file ``checkpoint`` into a trmkit checkpoint folder ``out``.

    The official config comes from ``config_path``, else the ``all_config.yaml`` beside the file;
    the sizes always from the weights; the sequence length (not in the weights of an attention
    model) from the run's dataset.json, the task, or ``overrides``. ``overrides`` maps dotted
    trmkit keys (``"model.n"``) to values, applied last. ``task`` names the trmkit task the model
    is for (its vocabulary must match). The result loads with :func:`trmkit.checkpoint.load_model`
    and ``TRM.from_pretrained``.
    """
    from .checkpoint import MODEL_FILE, save_model
    from .model import TRM

    checkpoint, out = Path(checkpoint), Path(out)
    overrides = dict(overrides or {})
    _check_output(out, force, MODEL_FILE)
    notes: list[str] = []
    weights = map_official_state_dict(load_official_state_dict(checkpoint))
    facts = _weight_facts(weights)
    if "embed_tokens.weight" not in weights:
        raise InputError(f"{checkpoint}: no 'inner.embed_tokens.embedding_weight'; not an official TRM checkpoint")

    run_config, source = official_run_config(checkpoint, config_path, weights, notes)
    arch = dict(run_config["arch"])
    for key in ("hidden_size", "L_layers", "mlp_t"):
        if key in arch and key in facts and arch[key] != facts[key]:
            raise InputError(
                f"{source} says {key} {arch[key]!r} but the weights in {checkpoint} have {facts[key]!r}; "
                "is this the config of another run?"
            )
    unknown = sorted(set(arch) - _ARCH_KEYS - _IGNORED_ARCH_KEYS)
    if unknown:
        notes.append(f"ignored arch settings trmkit has no equivalent for: {', '.join(unknown)}")

    task_spec = None
    if task:
        from .plugins import get_task

        task_spec = get_task(task).spec
        if task_spec.vocab_size != facts["vocab_size"]:
            raise InputError(
                f"task '{task}' has a vocabulary of {task_spec.vocab_size} tokens but the checkpoint's has "
                f"{facts['vocab_size']}; it was trained on another task or encoding"
            )
    _fill_dataset_fields(arch, facts, run_config, checkpoint, task_spec, overrides, notes)
    if not task:
        notes.append("no task given: the model names none, so 'trmkit solve' and 'trmkit eval' refuse it; convert with --task NAME to use it there")

    config = TRMConfig(task=task or "")
    config.model = official_model_config(arch, source)
    for key, value in official_train_settings(run_config).items():
        try:
            set_value(config, f"train.{key}", value)
        except ConfigError:
            notes.append(f"ignored {source}: {key} {value!r} (not a valid train.{key})")
    for key, value in overrides.items():
        set_value(config, key, value)
    config.validate()

    model = TRM(config.model)
    _check_fit(model, weights, checkpoint)
    model.load_state_dict(weights, strict=True)
    step = _step_of(checkpoint) or 0
    origin = {"format": "official-trm", "file": checkpoint.name, "official_arch": _plain(run_config["arch"])}
    path = save_model(out, model.state_dict(), config, step=step, extra_metadata={"converted_from": origin})
    return Conversion(path, config, step, notes, model.num_parameters())


def _check_output(out: Path, force: bool, model_file: str) -> None:
    """Refuse to overwrite a model, or to write into a folder of other things, unless forced."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if (out / model_file).exists() and not force:
        raise InputError(f"{out}: already holds a model; choose another --out or pass --force")
    if not force and any(p.name != model_file for p in out.iterdir()):
        raise InputError(f"{out}: not empty; choose another --out or pass --force")


def _check_fit(model: torch.nn.Module, weights: Mapping[str, torch.Tensor], checkpoint: Path) -> None:
    """Compare the weights with the model the config describes, naming the official parameter."""
    expected = model.state_dict()
    missing = [name for name in expected if name not in weights]
    if missing:
        names = ", ".join(official_name(name) for name in missing[:4])
        raise InputError(f"{checkpoint}: lacks {names}{' ...' if len(missing) > 4 else ''} that the config needs")
    extra = [name for name in weights if name not in expected]
    if extra:
        names = ", ".join(official_name(name) for name in extra[:4])
        raise InputError(f"{checkpoint}: has {names} which the config does not use (check L_layers and mlp_t)")
    for name, tensor in weights.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise InputError(
                f"{checkpoint}: {official_name(name)} has shape {list(tensor.shape)} but the config needs "
                f"{list(expected[name].shape)} (check hidden_size, expansion and seq_len)"
            )
        if not torch.isfinite(tensor).all():
            raise InputError(f"{checkpoint}: {official_name(name)} holds NaN or infinite values")


def _plain(value: Any) -> Any:
    """JSON-safe copy of a YAML value (for the checkpoint's metadata)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value if not (isinstance(value, float) and not math.isfinite(value)) else str(value)
    return str(value)
