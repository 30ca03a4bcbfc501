#!/usr/bin/env bash
# Run every test offline: the notebooks top to bottom on the tiny preset (nbdev-test; cells flagged hub, gpu or
# slow are skipped), the notebooks that open a run and chat once more as if in Google Colab (a stand-in google.colab
# module, tests/colab_stub, with a temporary folder as Colab's /content), then tests/ with pytest, whose summary line
# ends the output.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] && . .venv/bin/activate
nbdev-test --n-workers 2 --timing
colab=$(mktemp -d); trap 'rm -rf "$colab"' EXIT
PYTHONPATH="$PWD/tests/colab_stub${PYTHONPATH:+:$PYTHONPATH}" NEOCHAT_COLAB_ROOT="$colab" \
  nbdev-test --n-workers 2 --timing --file-re '^(06_chat|07_chat_widget|08_evaluation)\.ipynb$'
python -m pytest -q --durations=10 tests
