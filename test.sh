#!/usr/bin/env bash
# Run every test offline: the notebooks top to bottom on the tiny preset (nbdev-test; cells flagged hub, gpu or
# slow are skipped), then tests/ with pytest, whose summary line ends the output.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] && . .venv/bin/activate
nbdev-test --n-workers 2 --timing
python -m pytest -q tests
