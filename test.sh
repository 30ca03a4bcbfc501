#!/usr/bin/env bash
# Run every test offline, in two processes (pytest-xdist), ending with pytest's summary line:
# - tests/test_notebooks.py: every notebook top to bottom in a live Jupyter kernel, as Run all runs it (cells flagged
#   hub, gpu or slow are left out), and the notebooks that use neochat's Colab session once more as if in Google Colab
#   (the stand-in google.colab of tests/colab_stub, with a temporary folder as Colab's /content);
# - the rest of tests/: the command line end to end, kill and resume, two processes, the web chat and the notebook
#   widget in Chromium (JupyterLab and Notebook 7), the docs.
# Each test file's tests run in one process (they share their fixtures: a browser page, a trained run); each
# notebook run is a test class of its own. The tiny run the notebooks and tests chat with is trained once per machine
# (neochat.runs.cached_run) and reused until the code that shapes training changes.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] && . .venv/bin/activate
python -m pytest -n 2 --dist loadscope -q --durations=10 tests
