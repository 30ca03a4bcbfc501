"""Shared pytest fixtures. Fixtures of the chat tests are named `chat_*`, so other suites can add their own here."""
import os
from pathlib import Path
import pytest
from neochat.data import asset



@pytest.fixture(scope="session")
def chat_tiny_run(tmp_path_factory):
    """A complete `tiny` run trained on `asset("unseen_guanaco.jsonl")` (bundled with neochat) (data no notebook has seen), built once per
    session: 20 steps, about half a minute on two CPU cores. NEOCHAT_TEST_CHAT_RUN=DIR reuses a run built before."""
    if os.environ.get("NEOCHAT_TEST_CHAT_RUN"): return Path(os.environ["NEOCHAT_TEST_CHAT_RUN"])
    from neochat.config import get_preset
    from neochat.train import train
    cfg = get_preset("tiny")
    cfg.train.output_dir = str(tmp_path_factory.mktemp("chat")/"tiny-unseen")
    cfg.train.max_steps, cfg.train.batch_size, cfg.data.eval_size = 20, 4, 2
    cfg.data.sources = [str(asset("unseen_guanaco.jsonl"))]
    return train(cfg, live_plot=False).run_dir
