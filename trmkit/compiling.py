"""torch.compile for training (``train.compile``): optional, with a clean fallback to eager.

Where the toolchain torch.compile needs is missing (inductor builds C++ kernels on CPU and Triton
kernels on CUDA), a run asked to compile says why and trains eagerly rather than failing at its
first step. benchmarks/RESULTS.md has what compiling buys.
"""

from __future__ import annotations

import functools
import warnings
from typing import Callable

import torch
from torch import nn


def _probe(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x) * x


@functools.cache
def compiler_failure(device: torch.device) -> str | None:
    """Why torch.compile cannot build and run a kernel (forward and backward) on ``device`` here,
    or None when it can: no C++ compiler, no Triton, an unsupported platform. Probed once per
    process and device (the toolchain does not change while a run lasts)."""
    try:
        x = torch.ones(8, device=device, requires_grad=True)
        torch.compile(_probe)(x).sum().backward()
    except Exception as error:  # whatever the toolchain raised, eager still works
        lines = str(error).strip().splitlines()
        return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return None


def compiled_forward(model: nn.Module, enabled: bool, device: torch.device) -> Callable[..., object]:
    """What training calls for a forward pass: the model compiled when ``enabled`` (asked for)
    and works on ``device`` here, else the model itself (with a warning saying why)."""
    if not enabled:
        return model
    failure = compiler_failure(device)
    if failure is not None:
        warnings.warn(f"train.compile: torch.compile cannot build kernels here ({failure}); training eagerly", stacklevel=2)
        return model
    return torch.compile(model)
