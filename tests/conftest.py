"""Shared pytest fixtures, and how the suite is split between test.sh's two processes (pytest-xdist, --dist loadgroup):
the tests of one file stay in one process, since they share module fixtures (a browser page, a trained run), while
each notebook of tests/test_notebooks.py is a test of its own that either process may take."""
from pathlib import Path
import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(item.fspath).name != "test_notebooks.py": item.add_marker(pytest.mark.xdist_group(Path(item.fspath).stem))


@pytest.fixture(scope="session")
def chat_tiny_run():
    """The `tiny` preset's run on the bundled sample (`neochat.runs.cached_run`): the run the notebooks chat with,
    trained once per machine (under a lock, so parallel test processes train it once) and reused while the code that
    shapes training is unchanged."""
    from neochat.runs import cached_run
    return cached_run()
