"""Configuration: model, training and data settings, named YAML configs and dotted overrides.

Defaults are the official implementation's (``config/arch/trm.yaml``, ``config/cfg_pretrain.yaml``);
each task ships named configs (``paper``, ``small``, ``tiny``) in its plugin's config directory.
Unknown keys are rejected with the key named, so a typo never silently trains the wrong model.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .task import coerce


def check_range(section: str, config: Any, keys: tuple[str, ...], low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = False) -> None:
    """Each ``section.key`` of ``config`` must be a finite number between ``low`` and ``high``
    (each bound included unless open): a negative learning rate or a NaN trains nonsense
    without an error."""
    for key in keys:
        value = getattr(config, key)
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            if high == math.inf:
                bound = f"{'above' if low_open else 'at least'} {low:g}"
            else:
                bound = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise ConfigError(f"{section}.{key} must be {bound}, got {value!r}")


@dataclass
class ModelConfig:
    """The network and its recursion; the paper's symbols in the comments."""

    vocab_size: int = 0  # 0: taken from the task
    seq_len: int = 0  # tokens per puzzle, without the puzzle-embedding prefix; 0: from the task
    hidden_size: int = 512  # D
    num_heads: int = 8
    expansion: float = 4.0  # SwiGLU inner size = ceil_256(expansion * D * 2/3)
    num_layers: int = 2  # layers of the one tiny network
    T: int = 3  # cycles per supervision step (T-1 without gradient, the last with)
    n: int = 6  # latent updates z <- net(x, y, z) per cycle
    mixer: str = "attention"  # "attention" (rotary self-attention) or "mlp_t" (token-mixing MLP)
    pos_encodings: str = "rope"  # "rope" or "none"
    rope_theta: float = 10000.0
    puzzle_emb_len: int = 16  # positions reserved for the puzzle embedding (0: none)
    num_puzzle_identifiers: int = 1  # rows of the sparse puzzle-embedding table
    halt_max_steps: int = 16  # N_sup: supervision steps before a sample is forced to halt
    halt_exploration_prob: float = 0.1
    rms_norm_eps: float = 1e-5
    forward_dtype: str = "auto"  # "auto" (bf16 on CUDA, fp32 elsewhere), "float32", "bfloat16"

    @property
    def effective_depth(self) -> int:
        """Layers a signal passes per supervision step: T * (n + 1) * layers (42 for Sudoku)."""
        return self.T * (self.n + 1) * self.num_layers

    def validate(self) -> None:
        if self.mixer not in ("attention", "mlp_t"):
            raise ConfigError(f"model.mixer must be 'attention' or 'mlp_t', got {self.mixer!r}")
        if self.pos_encodings not in ("rope", "none"):
            raise ConfigError(f"model.pos_encodings must be 'rope' or 'none', got {self.pos_encodings!r}")
        if self.forward_dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"model.forward_dtype must be auto, float32 or bfloat16, got {self.forward_dtype!r}")
        check_range("model", self, ("vocab_size", "seq_len", "hidden_size", "num_heads", "num_layers", "T", "n", "halt_max_steps", "num_puzzle_identifiers"), 1)
        if self.mixer == "attention" and self.hidden_size % self.num_heads:
            raise ConfigError("model.hidden_size must be a multiple of model.num_heads")
        check_range("model", self, ("halt_exploration_prob",), 0, 1)
        check_range("model", self, ("puzzle_emb_len",), 0)
        check_range("model", self, ("expansion", "rope_theta"), 0, low_open=True)
        check_range("model", self, ("rms_norm_eps",), 0, 1, low_open=True)


@dataclass
class TrainConfig:
    """Optimisation, schedule, evaluation and checkpointing."""

    steps: int = 65000  # optimizer steps (one supervision step of every carry slot each)
    batch_size: int = 768  # global batch = carry slots
    lr: float = 1e-4
    lr_warmup_steps: int = 2000
    lr_min_ratio: float = 1.0  # cosine decay to lr * lr_min_ratio; 1.0 = constant (official)
    weight_decay: float = 1.0
    beta1: float = 0.9
    beta2: float = 0.95
    optimizer: str = "adam_atan2"  # the official code's; "adamw" is what the paper's text says
    puzzle_emb_lr: float = 1e-4
    puzzle_emb_weight_decay: float = 1.0
    loss: str = "stablemax"  # "stablemax" (official) or "softmax"
    q_loss_weight: float = 0.5  # official 0.5; the paper's pseudocode uses 1
    ema: bool = True
    ema_decay: float = 0.999
    eval_every: int = 5000  # steps between evaluations (0: only at the end)
    eval_examples: int = 0  # evaluate on at most this many test examples (0: all)
    eval_versions: int | None = None  # tasks that vote (ARC): versions voting in evaluations (unset: all trained, as the reference; 0: none)
    checkpoint_every: int = 1000  # steps between checkpoints (0: only at the end); also before each evaluation
    log_every: int = 10
    seed: int = 0
    compile: bool = False  # torch.compile the network

    def validate(self) -> None:
        if self.optimizer not in ("adam_atan2", "adamw"):
            raise ConfigError(f"train.optimizer must be adam_atan2 or adamw, got {self.optimizer!r}")
        if self.loss not in ("stablemax", "softmax"):
            raise ConfigError(f"train.loss must be stablemax or softmax, got {self.loss!r}")
        check_range("train", self, ("steps", "batch_size"), 1)
        check_range("train", self, ("lr", "puzzle_emb_lr", "weight_decay", "puzzle_emb_weight_decay", "q_loss_weight",
                                    "lr_warmup_steps", "eval_every", "eval_examples", "checkpoint_every", "log_every", "seed"), 0)
        if self.eval_versions is not None:
            check_range("train", self, ("eval_versions",), 0)
        check_range("train", self, ("lr_min_ratio",), 0, 1)
        check_range("train", self, ("beta1", "beta2", "ema_decay"), 0, 1, high_open=True)


@dataclass
class DataConfig:
    """Which data to train on when no ``--data`` is given, and how to augment it."""

    options: dict[str, Any] = field(default_factory=dict)  # the task's dataset-builder options
    seed: int = 0  # dataset builder seed
    augmentations: int = 1000  # augmented versions per puzzle group (index 0 is the original)
    jitter: bool = True  # the task's training-only jitters (ARC: translation); false trains examples as they are
    workers: int | None = None  # processes building batches ahead (same batches); unset: 0 on CPU, up to 8 on a GPU

    def validate(self) -> None:
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"data.workers must be 0 or more, got {self.workers}")
        check_range("data", self, ("seed", "augmentations"), 0)


@dataclass
class TRMConfig:
    """Everything a run needs. ``TRMConfig.for_sudoku()`` and friends give the paper's settings."""

    task: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    @property
    def effective_depth(self) -> int:
        return self.model.effective_depth

    def validate(self) -> TRMConfig:
        self.model.validate()
        self.train.validate()
        self.data.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> TRMConfig:
        config = cls()
        apply_mapping(config, values, source)
        return config

    @classmethod
    def for_task(cls, task: str, name: str = "paper", **model_overrides: Any) -> TRMConfig:
        """A task's named config (``paper``: the reference run), with model fields overridden."""
        from .plugins import get_task

        config = load_config(get_task(task), name)
        for key, value in model_overrides.items():
            set_value(config, f"model.{key}", value)
        return config.validate()

    @classmethod
    def for_sudoku(cls, mixer: str = "mlp_t") -> TRMConfig:
        """The paper's Sudoku-Extreme run: token-mixing MLP (5M), or ``mixer="attention"`` (7M)."""
        if mixer not in ("mlp_t", "attention"):
            raise ConfigError(f"mixer must be 'mlp_t' or 'attention', got {mixer!r}")
        overrides = {} if mixer == "mlp_t" else {"mixer": "attention", "pos_encodings": "rope"}
        return cls.for_task("sudoku", "paper", **overrides)

    @classmethod
    def for_maze(cls, grid_size: int = 30) -> TRMConfig:
        """The paper's Maze-Hard run (attention, T=3, n=4) on ``grid_size`` x ``grid_size`` mazes.
        Off 30x30, the shortest paths must cover the same share of the cells as Maze-Hard's
        (110 moves of 900 cells)."""
        config = cls.for_task("maze", "paper", seq_len=grid_size * grid_size)
        options = config.data.options
        if grid_size != options["size"]:
            options["min_path_length"] = max(1, round(options["min_path_length"] * grid_size**2 / options["size"] ** 2))
            options["size"] = grid_size
        return config

    @classmethod
    def for_arc_agi(cls, version: int = 1) -> TRMConfig:
        """The paper's ARC-AGI run (attention, T=3, n=4) for ARC-AGI-1 or -2."""
        return cls.for_task("arc", "paper" if version == 1 else f"paper-arc{version}")


def apply_mapping(target: Any, values: Any, source: str, prefix: str = "") -> None:
    """Set dataclass fields of ``target`` from a nested mapping; unknown keys are an error."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: '{prefix.rstrip('.') or 'top level'}' must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"{source}: unknown config key '{path}' (known here: {', '.join(fields)})")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            apply_mapping(current, value, source, f"{path}.")
        elif isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{path}' must be a mapping")
            setattr(target, key, dict(value))
        else:
            setattr(target, key, coerce(value, fields[key].type, f"{source}: '{path}'"))


def set_value(config: TRMConfig, dotted: str, value: Any) -> None:
    """Apply one ``section.key=value`` override (``data.options.key`` sets a builder option)."""
    parts = dotted.split(".")
    if len(parts) >= 3 and parts[:2] == ["data", "options"]:
        config.data.options[".".join(parts[2:])] = value
        return
    nested: dict[str, Any] = value
    for part in reversed(parts):
        nested = {part: nested}
    apply_mapping(config, nested, "--set")


def parse_override(text: str) -> tuple[str, Any]:
    """``"model.n=4"`` -> ``("model.n", 4)``; the value is read as YAML (numbers, booleans)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def config_path(task: Any, name: str) -> Path:
    """Where the named config of ``task`` lives, or ``name`` itself when it is a YAML file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_file():
            raise ConfigError(f"config file not found: {name}")
        return candidate
    path = Path(task.spec.config_dir) / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"task '{task.name}' has no config '{name}' (available: {', '.join(config_names(task))})")
    return path


def config_names(task: Any) -> list[str]:
    return sorted(path.stem for path in Path(task.spec.config_dir).glob("*.yaml"))


def load_config(task: Any, name: str, overrides: list[str] | None = None) -> TRMConfig:
    """Resolve ``name`` (a config of ``task``, a Task or its name, or a YAML path), apply
    ``--set`` overrides, fill in the task's vocabulary and sequence length, and validate."""
    if isinstance(task, str):
        from .plugins import get_task

        task = get_task(task)
    path = config_path(task, name)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    config = TRMConfig.from_dict(values, source=str(path))
    if config.task and config.task != task.name:
        raise ConfigError(f"{path} is a config for task '{config.task}', not '{task.name}'")
    config.task = task.name
    for text in overrides or []:
        set_value(config, *parse_override(text))
    if config.task != task.name:  # a run's task is the one named on the command line
        raise ConfigError(f"task cannot be set to '{config.task}' in a config of task '{task.name}'")
    config.model.vocab_size = config.model.vocab_size or task.spec.vocab_size
    config.model.seq_len = config.model.seq_len or task.spec.seq_len
    return config.validate()
