"""Adaptive halting against all supervision steps: exact accuracy and puzzles/s on held-out Sudoku.

1. Tuning (its own puzzles, never the reported ones): every step is run once on generated puzzles
   with 30, 40 and 50 blanks (seeds 5000 + blanks); for every candidate threshold t the answer
   at each puzzle's first step with q_halt > t is scored. The smallest t whose exact accuracy
   stays within ``--margin`` points of all steps at every blank count is chosen.
2. Test: on the held-out sets of ``learn_sudoku.py`` (seeds 1000 + blanks, none in the training
   data), ``solve`` runs with all steps, with the paper's rule (q_halt > 0) and with the tuned
   threshold, interleaved and repeated (median time). Puzzles run ``--batch`` at a time; a puzzle
   that stops hands its place to the next one. Speed-ups are given in puzzles/s and in steps.
3. What any rule could save, from the tuning tables: an oracle that stops each puzzle at its first
   right step and gives up on the ones all steps get wrong after one step, and the share of the
   tuned rule's steps that go to puzzles it answers wrong.

    python benchmarks/halting.py --model runs/sudoku-small
    python benchmarks/halting.py --model runs/sudoku-small --tune 200 --test 300 --reps 1 --json

Prints a table (stdout), progress on stderr; ``--json`` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trmkit import Examples, dataset, get_task
from trmkit.act import solve
from trmkit.checkpoint import load_model
from trmkit.losses import IGNORE
from wallclock import held_out

THRESHOLDS = (-2.0, -1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def labelled(task: Any, examples: Examples) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.as_tensor(examples.labels).clone()
    labels[labels == task.spec.ignore_label_id] = IGNORE
    return torch.as_tensor(examples.inputs), labels


def exact(answers: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return ((answers == labels) | (labels == IGNORE)).all(-1)


def step_table(model: Any, task: Any, examples: Examples, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """q_halt [N, steps] and exactness [N, steps] of every puzzle after every supervision step."""
    inputs, labels = labelled(task, examples)
    result = solve(model, inputs, halt="all", return_trajectory=True, batch_size=batch)
    q = torch.stack([entry["q_hat"] for entry in result["trajectory"]], 1)
    right = torch.stack([exact(entry["prediction"], labels) for entry in result["trajectory"]], 1)
    return q.cpu().numpy(), right.cpu().numpy()


def stopping(q: np.ndarray, threshold: float) -> np.ndarray:
    """Index of each puzzle's first step with q_halt > threshold (the last step if none)."""
    sure = q > threshold
    return np.where(sure.any(1), sure.argmax(1), q.shape[1] - 1)


def rule_scores(q: np.ndarray, right: np.ndarray, threshold: float) -> tuple[float, float]:
    stop = stopping(q, threshold)
    return float(right[np.arange(len(stop)), stop].mean()), float(stop.mean() + 1)


def oracle_steps(right: np.ndarray) -> np.ndarray:
    """Steps a rule that knew the answers would use: a puzzle right after all steps stops at its
    first right step, one wrong after all steps stops after one. A floor for any rule that gives
    the answers all steps give: what halting could save if the head knew what the model will solve."""
    final = right[:, -1]
    return np.where(final, right.argmax(1) + 1, 1)


def wrong_step_share(q: np.ndarray, right: np.ndarray, threshold: float) -> float:
    """The share of a rule's steps spent on puzzles it answers wrong."""
    stop = stopping(q, threshold)
    wrong = ~right[np.arange(len(stop)), stop]
    return float((stop + 1)[wrong].sum() / (stop + 1).sum())


def tune(tables: dict[int, tuple[np.ndarray, np.ndarray]], margin: float) -> tuple[float, list[dict[str, Any]]]:
    """The smallest threshold within ``margin`` of all-steps accuracy on every set, and the scan."""
    scan, chosen = [], None
    for threshold in THRESHOLDS:
        row: dict[str, Any] = {"threshold": threshold}
        fits = True
        for blanks, (q, right) in tables.items():
            accuracy, steps = rule_scores(q, right, threshold)
            row[f"exact@{blanks}"], row[f"steps@{blanks}"] = accuracy, steps
            fits &= accuracy >= right[:, -1].mean() - margin / 100
        scan.append(row)
        if fits and chosen is None:
            chosen = threshold
    return (chosen if chosen is not None else float("inf")), scan


def timed_runs(model: Any, task: Any, sets: dict[int, Examples], rules: dict[str, dict[str, Any]], batch: int, reps: int) -> dict[str, dict[str, Any]]:
    """Per rule: exact accuracy and mean steps per set, and puzzles/s over all sets together
    (median of ``reps`` runs, the rules interleaved so that a load change hits them alike)."""
    parts = [labelled(task, examples) for examples in sets.values()]
    inputs, labels = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    sizes = [len(examples) for examples in sets.values()]
    seconds: dict[str, list[float]] = {name: [] for name in rules}
    results: dict[str, dict[str, Any]] = {}
    for rep in range(reps):
        for name, rule in rules.items():
            print(f"run {rep + 1}/{reps}: {name}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            out = solve(model, inputs, batch_size=batch, **rule)
            seconds[name].append(time.perf_counter() - start)
            right, steps = exact(out["solution"], labels).split(sizes), out["steps"].split(sizes)
            results[name] = {
                **{f"exact@{b}": float(r.float().mean()) for b, r in zip(sets, right)},
                **{f"steps@{b}": float(s.float().mean()) for b, s in zip(sets, steps)},
                "exact": float(exact(out["solution"], labels).float().mean()),
                "mean_steps": float(out["steps"].float().mean()),
            }
    for name in rules:
        results[name]["seconds"] = statistics.median(seconds[name])
        results[name]["puzzles_per_s"] = len(inputs) / results[name]["seconds"]
    return results


def training_inputs(loaded: Any, task: Any, data_dir: Path | None) -> np.ndarray:
    """The questions the model was trained on (to keep them out of the held-out sets)."""
    run_data = loaded.path.parent.parent / "data"
    if data_dir is None and (run_data / "manifest.json").is_file():
        data_dir = run_data
    if data_dir is not None:
        return dataset.load(data_dir, task=task.name).splits["train"].inputs
    config = loaded.config.data
    return dataset.build(task, task.dataset_options(config.options), config.seed).splits["train"].inputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a Sudoku checkpoint or run directory")
    parser.add_argument("--train-data", type=Path, default=None, help="the dataset it trained on [default: the run's data/ or its config's]")
    parser.add_argument("--blanks", default="30,40,50")
    parser.add_argument("--tune", type=int, default=500, help="tuning puzzles per blank count")
    parser.add_argument("--test", type=int, default=1000, help="test puzzles per blank count")
    parser.add_argument("--margin", type=float, default=0.25, help="accuracy points a threshold may lose on the tuning set")
    parser.add_argument("--batch", type=int, default=256, help="puzzles running together")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    task = get_task("sudoku")
    loaded = load_model(args.model, task="sudoku")
    model = loaded.model.eval()
    seen = training_inputs(loaded, task, args.train_data)
    blanks = [int(b) for b in args.blanks.split(",")]

    def puzzles(count: int, seed: int, b: int) -> Examples:
        return held_out(task, {"num_train": 1, "num_test": count, "min_blanks": b, "max_blanks": b}, seed + b, seen)

    print("generating the tuning and test puzzles", file=sys.stderr, flush=True)
    tuning = {b: puzzles(args.tune, 5000, b) for b in blanks}
    test = {b: puzzles(args.test, 1000, b) for b in blanks}
    tuned_questions = {row.tobytes() for examples in tuning.values() for row in examples.inputs}
    overlap = sum(row.tobytes() in tuned_questions for examples in test.values() for row in examples.inputs)

    print("tuning the threshold", file=sys.stderr, flush=True)
    tables = {b: step_table(model, task, examples, args.batch) for b, examples in tuning.items()}
    threshold, scan = tune(tables, args.margin)
    print(f"tuned threshold {threshold:g}; scan: {json.dumps(scan)}", file=sys.stderr, flush=True)
    q_all, right_all = (np.concatenate(parts) for parts in zip(*tables.values()))  # every tuning set
    rules = {"all": {"halt": "all"}, "q_halt>0": {"halt": "adaptive", "threshold": 0.0}}
    if np.isfinite(threshold) and threshold != 0.0:
        rules[f"q_halt>{threshold:g}"] = {"halt": "adaptive", "threshold": threshold}
    results = timed_runs(model, task, test, rules, args.batch, args.reps)
    summary = {
        "model": str(loaded.path),
        "steps_max": model.config.halt_max_steps,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
        "tuning_puzzles": {b: len(t) for b, t in tuning.items()},
        "test_puzzles": {b: len(t) for b, t in test.items()},
        "test_in_tuning": overlap,
        "tuning_all_steps_exact": {b: float(right[:, -1].mean()) for b, (_, right) in tables.items()},
        "tuning_scan": scan,
        "chosen_threshold": threshold,
        "tuning_oracle_mean_steps": float(oracle_steps(right_all).mean()),
        "tuning_wrong_step_share": wrong_step_share(q_all, right_all, threshold) if np.isfinite(threshold) else None,
        "test": results,
        "speedup": {name: r["puzzles_per_s"] / results["all"]["puzzles_per_s"] for name, r in results.items()},
        # In supervision steps: what the wall-clock speed-up tends to when a step costs the same
        # under every rule, and the steadier figure on a noisy machine.
        "step_speedup": {name: results["all"]["mean_steps"] / r["mean_steps"] for name, r in results.items()},
    }
    print(json.dumps(summary) if args.json else table(summary, blanks))


def table(summary: dict[str, Any], blanks: list[int]) -> str:
    lines = [f"# {summary['model']}; N_sup {summary['steps_max']}; {summary['threads']} threads; load {summary['load_average']:.1f}"]
    lines.append("tuning scan (first step with q_halt > t): t | " + " | ".join(f"exact@{b} steps@{b}" for b in blanks))
    all_steps = summary["tuning_all_steps_exact"]
    lines.append("  all steps | " + " | ".join(f"{100 * all_steps[b]:.1f}% {summary['steps_max']}" for b in blanks))
    for row in summary["tuning_scan"]:
        lines.append(f"  {row['threshold']:g} | " + " | ".join(f"{100 * row[f'exact@{b}']:.1f}% {row[f'steps@{b}']:.2f}" for b in blanks))
    lines.append(f"chosen threshold: {summary['chosen_threshold']:g}")
    if summary["tuning_wrong_step_share"] is not None:
        lines.append(f"  {100 * summary['tuning_wrong_step_share']:.0f}% of its steps go to puzzles it answers wrong")
    lines.append(f"oracle (stops each puzzle at its first right step, one never right after one step): "
                 f"{summary['tuning_oracle_mean_steps']:.2f} mean steps, {summary['steps_max'] / summary['tuning_oracle_mean_steps']:.2f}x fewer than all")
    lines.append("test: rule | " + " | ".join(f"exact@{b} (steps)" for b in blanks) + " | puzzles/s | speed-up | in steps")
    for name, r in summary["test"].items():
        cells = " | ".join(f"{100 * r[f'exact@{b}']:.1f}% ({r[f'steps@{b}']:.2f})" for b in blanks)
        lines.append(f"  {name} | {cells} | {r['puzzles_per_s']:.1f} | {summary['speedup'][name]:.2f}x | {summary['step_speedup'][name]:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
