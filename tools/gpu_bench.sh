#!/usr/bin/env bash
# neochat's bench on a GPU, with the default-batch check: the GPT-Neo 1.3B architecture built from its
# config (random weights, nothing downloaded), the original recipe and neochat's on the same model in one process,
# generation at batch 1, and the default batch (4 x 512 padded, bf16) against a 16 GB T4.
# Prints the JSON and writes it to $OUT/bench_h100.json (./bench_h100.json without $OUT), after every phase, so a
# run that is cut off keeps what it measured. Needs only torch, transformers, peft and numpy (no trl, datasets, nbdev).
#
#   tools/gpu_bench.sh                                  # on the GPU machine, from the repository root
#   NEOCHAT_BENCH_PRESET=tiny tools/gpu_bench.sh        # the same logic on a CPU, in seconds (checks the script)
#   NEOCHAT_BENCH_PRESET=tiny NEOCHAT_BENCH_COMPILE=1 tools/gpu_bench.sh   # ... including the torch.compile path
#
# Other knobs: NEOCHAT_BENCH_STEPS (original recipe's timed optimizer steps; neochat's scale with it),
# NEOCHAT_BENCH_COMPILE=0 (neochat without torch.compile), NEOCHAT_BENCH_TIMEOUT (seconds, default 540).
set -uo pipefail
cd "$(dirname "$0")/.."
out_dir="${OUT:-.}"
mkdir -p "$out_dir"
export NEOCHAT_BENCH_JSON="$out_dir/bench_h100.json"
export NEOCHAT_BENCH_PRESET="${NEOCHAT_BENCH_PRESET:-gpt-neo-1.3b}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
timeout "${NEOCHAT_BENCH_TIMEOUT:-540}" python - <<'EOF'
import json, os, sys, torch
from neochat.bench import run_bench
env = lambda k: os.environ.get(k) or None
compile_ = {None: None, "0": False, "1": True}[env("NEOCHAT_BENCH_COMPILE")]
steps = int(env("NEOCHAT_BENCH_STEPS")) if env("NEOCHAT_BENCH_STEPS") else None
print(f"torch {torch.__version__}, cuda {torch.version.cuda}, device: "
      f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU only'}", flush=True)
res = run_bench(os.environ["NEOCHAT_BENCH_PRESET"], steps=steps, compile=compile_, default_batch=True, in_turns=False,
                output=os.environ["NEOCHAT_BENCH_JSON"])
print("JSON " + json.dumps(res))
EOF
rc=$?
echo "gpu_bench: exit $rc, result in $NEOCHAT_BENCH_JSON"
exit $rc
