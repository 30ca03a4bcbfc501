#!/usr/bin/env bash
# Run every test offline, in two processes (pytest-xdist), ending with pytest's summary line:
# - tests/test_notebooks.py: every notebook top to bottom in a live Jupyter kernel, as Run all runs it (cells flagged
#   hub, gpu or slow are left out), and the notebooks that use neochat's Colab session once more as if in Google Colab
#   (the stand-in google.colab of tests/colab_stub, with a temporary folder as Colab's /content);
# - the rest of tests/: the command line end to end, kill and resume, two processes, the web chat and the notebook
#   widget in Chromium (JupyterLab and Notebook 7), the docs.
# Each test file's tests run in one process (they share their fixtures: a browser page, a trained run); each
# notebook run is a test class of its own. The tiny run the notebooks and tests chat with is trained once per machine
# (neochat.session.cached_run) and reused until the code that shapes training changes.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] && . .venv/bin/activate
# Two test processes, each with its share of the cores for PyTorch's threads. Left to itself, every process (and
# every kernel and CLI process a test starts) takes a thread per core: on 2 cores that is 4+ busy threads spinning
# against each other, and the suite took 13 min 50 s here instead of 7 min 20 s.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(( $(nproc) > 3 ? $(nproc) / 2 : 1 ))}"
export MKL_NUM_THREADS="${MKL_NUM_THREADS:-$OMP_NUM_THREADS}"
python -m pytest -n 2 --dist loadscope -q --durations=10 tests
