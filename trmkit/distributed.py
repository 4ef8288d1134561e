"""Data-parallel training with torch.distributed, launched by ``torchrun``.

torchrun starts one process per device and tells each, through environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...), who it is. :func:`session` joins the group
(NCCL on CUDA, gloo on CPU) and picks the process's device; the rest of the engine asks
:func:`rank` and :func:`world_size` and calls the helpers below, which do nothing in a single
process, so a run without torchrun takes exactly the code path (and numbers) it always took.

The reference implementation does data parallelism by hand rather than with DDP (``pretrain.py``,
``models/sparse_embedding.py``): gradients are all-reduced by sum, the loss being already divided by
the *global* batch size, and the puzzle-embedding gradients are all-gathered so every rank applies
the same sparse update. trmkit does the same, which keeps the training step one readable function
and makes the distributed run compute what a single process with the same global batch computes.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import torch
import torch.distributed as dist

from .errors import ConfigError

#: Variables torchrun sets in every worker; their presence means "join the process group".
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in LAUNCHER_VARIABLES)


def is_active() -> bool:
    """True inside a process group of more than one process (collectives have work to do)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0 logs, writes metrics and checkpoints; the others only compute."""
    return rank() == 0


def process_device(device: torch.device) -> torch.device:
    """One CUDA device per process: ``cuda`` without an index becomes ``cuda:LOCAL_RANK``."""
    if device.type == "cuda" and device.index is None and launched_by_torchrun():
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


@contextmanager
def session(device: torch.device) -> Iterator[torch.device]:
    """Join torchrun's process group for the duration (a no-op outside torchrun); yields the
    device this process computes on. The group is left cleanly on exit, errors included."""
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        yield device
        return
    if device.type == "mps":
        raise ConfigError("distributed training needs CUDA (NCCL) or the CPU (gloo); MPS has no backend")
    device = process_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield device
    finally:
        dist.destroy_process_group()


def shard(count: int, me: int | None = None, world: int | None = None) -> tuple[int, int]:
    """Rank ``me``'s (default: this rank's) contiguous share ``[start, stop)`` of ``count`` items
    (sizes differ by <= 1, in rank order, so the shards in rank order give back the whole)."""
    me = rank() if me is None else me
    world = world_size() if world is None else world
    return count * me // world, count * (me + 1) // world


def local_batch_size(global_batch: int, world: int | None = None) -> int:
    """The slots each rank holds; the global batch must split evenly so every rank's step is the
    same shape (collectives need equal sizes, and the result must not depend on the split)."""
    world = world_size() if world is None else world
    if global_batch % world:
        raise ConfigError(f"train.batch_size {global_batch} does not split evenly over {world} processes")
    return global_batch // world


def sum_across_ranks(tensor: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over ranks (returns ``tensor`` itself in a single process)."""
    if is_active():
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def any_rank(flag: bool) -> bool:
    """True when ``flag`` holds on some rank, so all ranks take the same branch (e.g. stopping)."""
    if not is_active():
        return flag
    return bool(sum_across_ranks(torch.tensor([int(flag)], device=_collective_device())).item())


def all_reduce_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Sum gradients over ranks in one flat buffer (one collective instead of one per tensor).

    Every rank's loss is already divided by the global batch size, so the sum is the global
    batch's gradient."""
    if not is_active():
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` concatenated along dim 0 in rank order (same shape on all ranks)."""
    if not is_active():
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)


def gather_objects(value: Any) -> list[Any] | None:
    """Every rank's ``value`` (picklable, e.g. numpy arrays of predictions) in rank order on rank
    0; None on the others. Only trmkit's own values travel: nothing read from a file is unpickled."""
    if not is_active():
        return [value]
    gathered: list[Any] | None = [None] * world_size() if is_main() else None
    dist.gather_object(value, gathered, dst=0)
    return gathered


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not is_active():
        return value
    holder = [value if is_main() else None]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (identical initial weights even if a
    rank's random initialisation differed)."""
    if not is_active():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor, src=0)


def barrier() -> None:
    if is_active():
        dist.barrier()


def _collective_device() -> torch.device:
    """NCCL collectives take CUDA tensors; gloo takes CPU tensors."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


@contextmanager
def main_first() -> Iterator[None]:
    """Run the block on rank 0 first and then on the others, e.g. so that rank 0 writes a file
    once and the others read it instead of racing to write it too."""
    if not is_main():
        barrier()
    yield
    if is_main():
        barrier()
