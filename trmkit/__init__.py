"""trmkit: Tiny Recursive Models as a plugin-based toolkit.

The public API. ``TRM`` and ``AdamATan2`` (what needs torch) are imported on first use, so
that importing trmkit, listing tasks and the CLI's ``--help`` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DataConfig, ModelConfig, TrainConfig, TRMConfig, load_config
from .errors import ConfigError, InputError, PluginError, TrmkitError, UnknownTaskError
from .hookspecs import hookimpl
from .plugins import get_task
from .task import (
    API_VERSION,
    Augmenter,
    Decoder,
    Examples,
    Jitter,
    Puzzle,
    Task,
    TaskSpec,
    Tokenizer,
    TokenPermutation,
    Transform,
    Validator,
    Verdict,
    compose,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .model import TRM
    from .optim import AdamATan2

__all__ = [
    "API_VERSION", "AdamATan2", "Augmenter", "ConfigError", "DataConfig", "Decoder", "Examples", "InputError",
    "Jitter", "ModelConfig", "PluginError", "Puzzle", "TRM", "TRMConfig", "Task", "TaskSpec", "Tokenizer",
    "TokenPermutation", "TrainConfig", "Transform", "TrmkitError", "UnknownTaskError", "Validator",
    "Verdict", "compose", "get_task", "hookimpl", "load_config",
]


def __getattr__(name: str) -> Any:
    if name == "TRM":
        from .model import TRM

        return TRM
    if name == "AdamATan2":
        from .optim import AdamATan2

        return AdamATan2
    raise AttributeError(f"module 'trmkit' has no attribute {name!r}")
