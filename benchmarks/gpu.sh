#!/usr/bin/env bash
# Throughput of trmkit on one CUDA device: the paper Sudoku config (batch 768) and the ARC config,
# eager and torch.compile'd, each as the JSON of benchmarks/throughput.py (one object per line on
# stdout; progress on stderr), with bf16 MFU against the device's nominal dense bf16 peak.
#
#   bash benchmarks/gpu.sh              # on a CUDA machine, about 5-8 minutes, installs nothing
#   bash benchmarks/gpu.sh --dry-run    # the same commands on CPU with the tiny configs (a check)
#
# ARC runs at batch 192: the official recipe's global batch 768 spread over its 4 GPUs (768 would
# need about 240 GB of activations at 916 positions). ARC is skipped when no arc task is installed.
# Batches come from data.workers processes (the default on a GPU: up to 8); each JSON's batch_wait_s
# says how long a step waited for its batch.
# Each run has its own time limit, so one slow compile cannot eat the whole budget.
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
if [[ "${1:-}" == "--dry-run" ]]; then
  dry_run=1
elif [[ $# -gt 0 ]]; then
  echo "usage: bash benchmarks/gpu.sh [--dry-run]" >&2
  exit 2
fi

if [[ $dry_run == 1 ]]; then
  device=cpu
  peak=0
  # data.workers=2: batches from worker processes, as on a GPU (a CPU run has none by default)
  common=(--device cpu --config tiny --batch 4 --warmup 1 --reps 1 --infer-reps 1 --infer-steps 2 --set data.workers=2)
  arc_common=("${common[@]}")
  limit=300
else
  if ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "error: this torch sees no CUDA device (use --dry-run to check the script on CPU)" >&2
    exit 1
  fi
  device=cuda
  # Nominal dense bf16 tensor-core peaks (vendor datasheets, no sparsity), by device name.
  peak=$(python - <<'EOF'
import torch
name = torch.cuda.get_device_name()
peaks = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362.05e12, "L4": 121e12, "A10G": 70e12, "4090": 165.2e12}
print(next((value for key, value in peaks.items() if key in name), 0))
EOF
)
  common=(--device cuda --config paper --batch 768 --warmup 3 --reps 10 --infer-reps 3)
  arc_common=(--device cuda --config paper --batch 192 --warmup 3 --reps 5 --infer-reps 2)
  limit=150
fi

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown) device=$device nominal_bf16_peak=$peak" >&2
[[ $device == cuda ]] && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader >&2

status=0
run() {
  echo "# throughput.py $*" >&2
  timeout "$limit" python benchmarks/throughput.py --json --peak-flops "$peak" "$@"
  local code=$?
  if [[ $code != 0 ]]; then
    echo "# failed (exit $code): throughput.py $*" >&2
    status=1
  fi
}

run --task sudoku "${common[@]}"
run --task sudoku "${common[@]}" --compile
if trmkit tasks --json 2>/dev/null | python -c 'import json, sys; sys.exit(0 if any(t.get("name") == "arc" for t in json.load(sys.stdin)) else 1)'; then
  run --task arc "${arc_common[@]}"
  run --task arc "${arc_common[@]}" --compile
else
  echo "# no arc task installed: ARC skipped" >&2
fi
exit $status
