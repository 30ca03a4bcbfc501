#!/usr/bin/env bash
# Set up neochat in .venv (with what the tests need too) and run its main job offline: fine-tune the `tiny` preset on
# the bundled sample conversations (60 steps: about half a minute of training on a 2-core CPU), then ask the result one
# question. GPU users: install the CUDA build of torch into .venv first (see the README), or set TORCH_SPEC.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
. .venv/bin/activate
# torch 2.13.0: the CPU wheel where one is on the package index or disk; keeps an already-installed CUDA build.
python -c "import torch" 2>/dev/null || pip install -q "${TORCH_SPEC:-torch==2.13.0}"
pip install -q -e ".[dev,web]"
run="runs/tiny-$(date +%Y%m%d-%H%M%S)"
neochat train --preset tiny --output "$run"
neochat chat "$run" --prompt "How to keep healthy?"
echo "Done. '. .venv/bin/activate', then: neochat chat $run   |   neochat eval $run"
