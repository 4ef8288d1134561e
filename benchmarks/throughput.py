"""Training and inference throughput of trmkit against the machine's own matmul bound.

TRM's cost is almost all matrix multiplies, so the fastest it can possibly go on a device is
(matmul FLOP/s of that device) / (analytic matmul FLOPs per example). This script measures both
in the same run, interleaved (one GEMM probe, one timed step, again and again), so that a shared,
noisy machine slows both alike and the *fraction of the bound* stays meaningful:

- training: one real optimizer step of :class:`trmkit.train.Trainer` (sampler, one supervision
  step of every carry slot, loss, backward, optimizer, sparse puzzle-embedding update, EMA), on
  random tokens of the task's shape, and how much of it went to waiting for its batch
  (``data.workers`` build batches ahead: by default none on CPU, some on a GPU);
- inference: ``--infer-steps`` supervision steps of every puzzle (no early halting), no grad.

The square probe flatters narrow models: TRM's products are as thin as the model (hidden 64 in
``small``, the 97-token axis of the Sudoku token MLP). So the script also records, with torch's
profiler, every matrix product one training step runs, times each shape alone (interleaved with
the square probe again) and reports their rate as a fraction of the square one: the *GEMM shape
efficiency*, the fraction of the bound a step could reach if everything but its products were
free. ``1 - fraction / efficiency`` is then the share of the step spent outside them. (Attention's
score and value products run inside a fused kernel on CPU, which the profiler does not list as a
product: for attention configs the efficiency covers the projections only.)

Examples::

    python benchmarks/throughput.py --task sudoku --config paper --batch 16
    python benchmarks/throughput.py --task sudoku --config small --json
    python benchmarks/throughput.py --task sudoku --config paper --batch 768 --device cuda --json

Figures go to stdout (``--json``: one JSON object), progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from trmkit import Examples, get_task, load_config
from trmkit.act import solve
from trmkit.config import ModelConfig
from trmkit.dataset import Dataset
from trmkit.layers import swiglu_width
from trmkit.model import cpu_computes_bf16
from trmkit.train import Trainer, resolve_device

FORMULA = (
    "per layer and example, L = seq_len + puzzle_emb_len: channel SwiGLU 6*L*D*I; "
    "mlp_t token SwiGLU 6*D*L*I_t, or attention 8*L*D^2 + 4*L^2*D; "
    "net application = layers * per layer; supervision step forward = T*(n+1) applications + heads "
    "(2*seq_len*D*vocab + 4*D); training = forward + 2 * (n+1 applications + heads) for the backward "
    "of the last cycle; inference = steps * forward"
)


def analytic_flops(model: ModelConfig) -> dict[str, float]:
    """Matmul FLOPs (2*M*N*K per product) of one example; elementwise work is not counted."""
    width, length = model.hidden_size, model.seq_len + model.puzzle_emb_len
    channel = 6 * length * width * swiglu_width(width, model.expansion)
    if model.mixer == "mlp_t":
        mixer = 6 * width * length * swiglu_width(length, model.expansion)
    else:
        mixer = 8 * length * width**2 + 4 * length**2 * width
    application = model.num_layers * (channel + mixer)
    heads = 2 * model.seq_len * width * model.vocab_size + 4 * width
    forward = model.T * (model.n + 1) * application + heads
    return {
        "net_application": application,
        "forward_per_supervision_step": forward,
        "train_per_example": forward + 2 * ((model.n + 1) * application + heads),
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gemm_probe(device: torch.device, dtype: torch.dtype, clock: Callable[[], float]) -> Callable[[], float]:
    """A function returning the FLOP/s of one square matmul (2048 on CPU, 8192 on CUDA)."""
    size = 8192 if device.type == "cuda" else 2048
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    repeats = 10 if device.type == "cuda" else 1

    def probe() -> float:
        synchronize(device)
        start = clock()
        for _ in range(repeats):
            torch.mm(a, b, out=out)
        synchronize(device)
        return repeats * 2 * size**3 / (clock() - start)

    probe()
    return probe


#: Where each product op keeps its two operands among its inputs (addmm's bias comes first; a
#: compiled graph's calls may add an ``out`` buffer at the end).
GEMM_OPERANDS = {"aten::mm": 0, "aten::bmm": 0, "aten::addmm": 1, "aten::baddbmm": 1}
Shape = tuple[int, int, int, int]  # (batch, m, k, n): batch products of [m, k] @ [k, n]


def gemm_shapes(step: Callable[[], Any]) -> Counter[Shape]:
    """How many products of each shape one call of ``step`` runs, as torch's profiler records them."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as profiler:
        step()
    shapes: Counter[Shape] = Counter()
    for event in profiler.events():
        if event.name in GEMM_OPERANDS:
            first = GEMM_OPERANDS[event.name]
            left, right = event.input_shapes[first : first + 2]
            shapes[(left[0] if len(left) == 3 else 1, left[-2], left[-1], right[-1])] += 1
    return shapes


def shape_probe(shapes: Counter[Shape], device: torch.device, dtype: torch.dtype, clock: Callable[[], float]) -> Callable[[], float]:
    """A function returning the FLOP/s of the step's own products: each shape run once, alone,
    on contiguous operands into a kept output (as the square probe: the product, not the
    allocator), and weighted by how often the step runs it."""
    operands = {
        (batch, m, k, n): [torch.randn(batch, *dims, device=device).to(dtype) for dims in ((m, k), (k, n), (m, n))]
        for batch, m, k, n in shapes
    }
    total = sum(2 * batch * m * k * n * count for (batch, m, k, n), count in shapes.items())

    def probe() -> float:
        seconds = 0.0
        for shape, (a, b, out) in operands.items():
            synchronize(device)
            start = clock()
            torch.bmm(a, b, out=out) if shape[0] > 1 else torch.mm(a[0], b[0], out=out[0])
            synchronize(device)
            seconds += shapes[shape] * (clock() - start)
        return total / seconds

    probe()
    return probe


def random_dataset(task: Any, seq_len: int, size: int, seed: int) -> Dataset:
    """Random tokens of the task's shape: enough to time the real training step."""
    rng = np.random.default_rng(seed)
    vocab = task.spec.vocab_size
    inputs = rng.integers(1, vocab, size=(size, seq_len))
    labels = rng.integers(1, vocab, size=(size, seq_len))
    examples = Examples(inputs, labels, np.arange(size), np.zeros(size, dtype=np.int64))
    manifest = {"seq_len": seq_len, "vocab_size": vocab, "num_puzzle_identifiers": 1}
    return Dataset({"train": examples, "test": examples}, manifest)


def timed(step: Callable[[], Any], probe: Callable[[], float], device: torch.device, warmup: int, reps: int, clock: Callable[[], float]) -> tuple[list[float], list[float]]:
    """Seconds per call of ``step`` and GEMM FLOP/s, interleaved, after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    seconds, rates = [], []
    for _ in range(reps):
        rates.append(probe())
        synchronize(device)
        start = clock()
        step()
        synchronize(device)
        seconds.append(clock() - start)
    rates.append(probe())
    return seconds, rates


def waits_for_batches(trainer: Trainer, clock: Callable[[], float]) -> list[float]:
    """From now on, the seconds each of ``trainer``'s steps waits for its batch (built in this
    process, or handed over by ``data.workers`` processes), appended to the list returned."""
    waits: list[float] = []
    next_batch = trainer.batches.next_batch

    def timed_next_batch() -> Any:
        start = clock()
        batch = next_batch()
        waits.append(clock() - start)
        return batch

    trainer.batches.next_batch = timed_next_batch  # type: ignore[method-assign]
    return waits


def processor(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on: on a CPU its model, the widest vector instructions torch
    uses on it, and whether it computes bf16 natively (AVX512_BF16 or AMX: there bf16 autocast is
    a real option, elsewhere it is emulated). The same 2-core machine kind has come with AVX2-only
    and with AVX-512 processors, whose fp32 GEMM rates differ by a third."""
    if device.type != "cpu":
        return {}
    name = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            name = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": name, "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_native_bf16": cpu_computes_bf16()}


def peak_rss_mb() -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    clock = time.perf_counter
    if args.clock == "cpu":  # CPU seconds of this process, one thread: what other processes' load cannot inflate
        if device.type != "cpu":
            raise SystemExit("error: --clock cpu measures CPU runs only")
        torch.set_num_threads(1)
        clock = time.process_time
    task = get_task(args.task)
    overrides = [f"train.batch_size={args.batch}"] if args.batch else []
    overrides += ([f"train.compile={str(args.compile).lower()}"] if args.compile is not None else []) + args.sets
    config = load_config(task, args.config, overrides)
    batch = config.train.batch_size
    data = random_dataset(task, args.seq_len or config.model.seq_len, max(batch, 64), seed=0)
    trainer = Trainer(task, config, data, Path(tempfile.gettempdir()), device)
    model = trainer.model
    bf16 = model.stream_dtype(device) == torch.bfloat16
    probe = gemm_probe(device, torch.bfloat16 if bf16 else torch.float32, clock)
    flops = analytic_flops(config.model)

    batch_waits = waits_for_batches(trainer, clock)
    print(f"training: batch {batch}, {args.warmup} warm-up + {args.reps} timed steps", file=sys.stderr, flush=True)
    train_s, train_rates = timed(trainer.train_step, probe, device, args.warmup, args.reps, clock)
    batch_wait_s = statistics.median(batch_waits[args.warmup :])

    print("training: timing the step's own matrix products", file=sys.stderr, flush=True)
    shapes = gemm_shapes(trainer.train_step)
    own_rate = shape_probe(shapes, device, torch.bfloat16 if bf16 else torch.float32, clock)
    shape_efficiency = statistics.median(own_rate() / probe() for _ in range(args.reps))

    infer_batch = args.infer_batch or batch
    puzzles = torch.as_tensor(data.splits["test"].inputs[:infer_batch], device=device)
    puzzles = puzzles.repeat(-(-infer_batch // len(puzzles)), 1)[:infer_batch]
    print(f"inference: batch {infer_batch}, {args.infer_steps} supervision steps", file=sys.stderr, flush=True)
    infer = lambda: solve(model, puzzles, max_steps=args.infer_steps, halt="all")  # noqa: E731
    infer_s, infer_rates = timed(infer, probe, device, 1, args.infer_reps, clock)

    train_flops = flops["train_per_example"] * batch
    infer_flops = flops["forward_per_supervision_step"] * args.infer_steps * infer_batch
    # Fraction of the bound per (step, neighbouring GEMM probes) pair, then the median: a
    # neighbour slowing both down leaves the ratio alone.
    train_fraction = statistics.median(train_flops / s / max(train_rates[i], train_rates[i + 1]) for i, s in enumerate(train_s))
    infer_fraction = statistics.median(infer_flops / s / max(infer_rates[i], infer_rates[i + 1]) for i, s in enumerate(infer_s))
    gemm = statistics.median(train_rates + infer_rates)
    result = {
        "task": task.name,
        "config": args.config,
        "overrides": overrides,
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        **processor(device),
        "threads": torch.get_num_threads(),
        "clock": "process CPU time" if args.clock == "cpu" else "wall",
        "torch": torch.__version__,
        "dtype": "bfloat16" if bf16 else "float32",
        "compile": config.train.compile,
        "parameters": model.num_parameters(),
        "batch": batch,
        "seq_len": config.model.seq_len,
        "train_step_s": statistics.median(train_s),
        "train_examples_per_s": batch / statistics.median(train_s),
        "data_workers": trainer.batches.workers,
        "batch_wait_s": batch_wait_s,
        "infer_batch": infer_batch,
        "infer_steps": args.infer_steps,
        "infer_puzzles_per_s": infer_batch / statistics.median(infer_s),
        "flops_per_train_example": flops["train_per_example"],
        "flops_per_infer_puzzle": flops["forward_per_supervision_step"] * args.infer_steps,
        "flops_formula": FORMULA,
        "gemm_flops_per_s": gemm,
        "train_bound_examples_per_s": gemm / flops["train_per_example"],
        "train_fraction_of_bound": train_fraction,
        "profiled_gemm_flops_per_train_example": sum(2 * b * m * k * n * c for (b, m, k, n), c in shapes.items()) / batch,
        "gemm_shapes": {"x".join(map(str, shape)): count for shape, count in sorted(shapes.items())},
        "gemm_shape_efficiency": shape_efficiency,
        "train_time_outside_gemm": 1 - train_fraction / shape_efficiency,
        "infer_fraction_of_bound": infer_fraction,
        "peak_rss_mb": peak_rss_mb(),
        "load_average": os.getloadavg()[0],
    }
    if device.type == "cuda":
        result["peak_device_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    if args.peak_flops:
        result["nominal_peak_flops_per_s"] = args.peak_flops
        result["train_mfu"] = result["train_examples_per_s"] * flops["train_per_example"] / args.peak_flops
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['task']} {result['config']} on {result['device']}{processor_label(result)} ({result['threads']} threads, torch {result['torch']}, "
        f"{result['dtype']}{', compiled' if result['compile'] else ''}, {result['clock']}), {result['parameters']:,} parameters; load {result['load_average']:.2f}",
        f"FLOPs: {result['flops_per_train_example'] / 1e9:.3f} GFLOP per training example and supervision step, "
        f"{result['flops_per_infer_puzzle'] / 1e9:.3f} GFLOP per puzzle in {result['infer_steps']} steps",
        f"  ({result['flops_formula']})",
        f"matmul rate measured in this run: {result['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s "
        f"-> bound {result['train_bound_examples_per_s']:.3f} training examples/s",
        f"training  (batch {result['batch']}): {result['train_examples_per_s']:.3f} examples/s, "
        f"{100 * result['train_fraction_of_bound']:.1f}% of the bound; each step waited {1000 * result['batch_wait_s']:.1f} ms for its batch "
        f"({result['data_workers']} data workers)",
        f"  its own matrix products, each timed alone at its shape, run at {100 * result['gemm_shape_efficiency']:.1f}% of the "
        f"square rate (the step's ceiling if nothing else cost time); ~{100 * result['train_time_outside_gemm']:.0f}% of the "
        f"step goes to other work (profiled: {result['profiled_gemm_flops_per_train_example'] / 1e9:.3f} GFLOP per example in products)",
        f"inference (batch {result['infer_batch']}, {result['infer_steps']} steps): {result['infer_puzzles_per_s']:.4f} puzzles/s, "
        f"{100 * result['infer_fraction_of_bound']:.1f}% of the bound",
        f"peak memory: {result['peak_rss_mb']:.0f} MiB resident" + (f", {result['peak_device_mb']:.0f} MiB on the device" if "peak_device_mb" in result else ""),
    ]
    if "train_mfu" in result:
        lines.append(f"training MFU vs nominal {result['nominal_peak_flops_per_s'] / 1e12:.0f} TFLOP/s: {100 * result['train_mfu']:.1f}%")
    return "\n".join(lines)


def processor_label(result: dict[str, Any]) -> str:
    """`` (model, vector instructions, native bf16)`` after a CPU device in a report; empty elsewhere."""
    if "cpu_capability" not in result:
        return ""
    return f" ({result['cpu'] or 'unnamed CPU'}, {result['cpu_capability']}{', native bf16' if result['cpu_native_bf16'] else ''})"


def add_run_arguments(parser: argparse.ArgumentParser, config: str) -> None:
    """The options that say what to time: task, config (default ``config``), batch, sequence
    length, device."""
    parser.add_argument("--task", default="sudoku")
    parser.add_argument("--config", default=config, help="a config name of the task or a YAML file")
    parser.add_argument("--batch", type=int, default=0, help="training batch [default: the config's]")
    parser.add_argument(
        "--seq-len", type=int, default=0,
        help="tokens per example [default: the task's full size; a config that trains on smaller grids needs it, e.g. 81 for maze 'small']",
    )
    parser.add_argument("--device", default="cpu")


def measure_and_print(parser: argparse.ArgumentParser, measure: Callable[[argparse.Namespace], dict[str, Any]],
                      report: Callable[[dict[str, Any]], str], argv: list[str] | None) -> None:
    """The end of every benchmark's ``main``: add ``--json``, parse, measure, print the figures
    (one JSON object with ``--json``, else the text ``report``) to stdout."""
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    result = measure(args)
    print(json.dumps(result) if args.json else report(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(parser, config="paper")
    parser.add_argument("--infer-batch", type=int, default=0, help="inference batch [default: the training batch]")
    parser.add_argument("--infer-steps", type=int, default=16, help="supervision steps per puzzle at inference")
    parser.add_argument(
        "--compile", action=argparse.BooleanOptionalAction, default=None,
        help="torch.compile the network, or not (train.compile) [default: the config's: the small configs compile]",
    )
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override key=value")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--infer-reps", type=int, default=3)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: one thread, timed in process CPU seconds (for a loaded machine)")
    parser.add_argument("--peak-flops", type=float, default=0.0, help="the device's nominal matmul peak, for MFU")
    measure_and_print(parser, measure, report, argv)


if __name__ == "__main__":
    main()
