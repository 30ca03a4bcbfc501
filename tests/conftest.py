"""Shared pytest fixtures. test.sh runs the suite in two processes (pytest-xdist, --dist loadscope): a file's test
functions stay in one process, since they share module fixtures (a browser page, a trained run), while each notebook
run of tests/test_notebooks.py is a class of its own that either process may take."""
import pytest


@pytest.fixture(scope="session")
def chat_tiny_run():
    """The `tiny` preset's run on the bundled sample (`neochat.session.cached_run`): the run the notebooks chat with,
    trained once per machine (under a lock, so parallel test processes train it once) and reused while the code that
    shapes training is unchanged."""
    from neochat.session import cached_run
    return cached_run()
