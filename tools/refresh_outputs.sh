#!/usr/bin/env bash
# Re-run notebooks offline and save their outputs, which are the docs: progress bars off, then cleaned by nbdev-clean.
#   bash tools/refresh_outputs.sh                       # every notebook
#   bash tools/refresh_outputs.sh --file-re '^06_'      # some (any nbdev-test option)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] && . .venv/bin/activate
export HF_HUB_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false
nbdev-test --n-workers 2 --save "$@"
nbdev-clean
