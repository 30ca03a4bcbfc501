"""`neochat export` end to end, on the cached `tiny` run: the adapter and the merged model, each with a model card that
huggingface_hub parses; bad input as one line and exit status 2 with nothing written; a push to the hub through a
stand-in `HfApi` (nothing here reaches the network); `neochat eval` putting its report on the run's card and the
export's. Each command runs in a process of its own, as a user runs it (`cli_server.neochat_cli`), except the push,
which runs in this process (`neochat.testing.run_cli`) to meet the stand-in. The token-for-token comparison of the
exports with the chat is in nbs/08b_export.ipynb."""
import re, shutil, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
import pytest
from huggingface_hub import ModelCard
from neochat.testing import run_cli
from cli_server import neochat_cli, one_line


@pytest.fixture(scope="module")
def tiny_run():
    from neochat.session import cached_run
    return cached_run()


def test_merged_export_is_a_standalone_model_with_its_card(tiny_run, tmp_path):
    r = neochat_cli("export", tiny_run, "--output", tmp_path/"merged", "--merged")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Wrote the merged model" in r.stdout
    files = {p.name for p in (tmp_path/"merged").iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "chat_template.jinja",
            "README.md", "loss.png"} <= files and "adapter_config.json" not in files, files
    card = ModelCard.load(tmp_path/"merged"/"README.md")
    assert (card.data.library_name, card.data.license, "merged" in card.data.tags) == ("transformers", "other", True)
    assert f'AutoModelForCausalLM.from_pretrained("{tmp_path/"merged"}")' in card.text
    assert "[More Information Needed]" not in card.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]  # the temporary folder was renamed into place


def test_adapter_export_opens_as_a_run(tiny_run, tmp_path):
    from neochat.chat import ChatSession
    r = neochat_cli("export", tiny_run, "--output", tmp_path/"lora")
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path/"lora"
    assert {p.name for p in out.iterdir()} >= {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                                               "chat_template.jinja", "README.md", "neochat.toml", "run.json", "loss.png"}
    assert not (out/"eval").exists() and not (out/"checkpoints").exists()
    card = ModelCard.load(out/"README.md")
    assert card.data.library_name == "peft" and "**207 conversations trained on, 23 held out**" in card.text
    assert ChatSession.from_run(out, sampling="precise").send("Hi!") is not None  # neochat opens the export like the run


def test_bad_input_is_one_line_and_writes_nothing(tiny_run, tmp_path):
    (tmp_path/"stopped"/"checkpoints"/"checkpoint-5").mkdir(parents=True)
    (tmp_path/"stopped"/"checkpoints"/"checkpoint-5"/"trainer_state.json").write_text("{}")
    (tmp_path/"taken").mkdir(); (tmp_path/"taken"/"notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, needle in [((tmp_path/"missing", "--output", tmp_path/"out"), "does not exist"),
                         ((tmp_path/"stopped", "--output", tmp_path/"out"), "is a run that did not finish"),
                         ((tiny_run, "--output", tmp_path/"taken"), "is not empty: give a new folder"),
                         ((tiny_run, "--output", tmp_path/"out", "--push-to-hub", "not a repo"), "is not a hub repo id")]:
        one_line(neochat_cli("export", *args), needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temporary folder
    assert (tmp_path/"taken"/"notes.txt").read_text() == "mine"


@pytest.mark.parametrize("merged", [False, True], ids=["adapter", "merged"])
def test_a_full_disk_stops_the_export_in_one_line(tiny_run, tmp_path, merged):
    """A 1 MB file-size limit fails the export's first large write, as a full disk does: shutil's copy of the adapter
    (which gathers every failed file into one long list) and safetensors' write of the merged model."""
    r = neochat_cli("export", tiny_run, "--output", tmp_path/"out", *(["--merged"] if merged else []), limits={"RLIMIT_FSIZE": 1_000_000})
    r.stderr = "\n".join(l for l in r.stderr.splitlines() if "it/s]" not in l)  # transformers' progress bars (loading, writing)
    line = one_line(r, f"export stopped: the disk is full ({tmp_path}); nothing was written to {tmp_path/'out'} and the run is untouched")
    assert len(line) < 300, line
    assert list(tmp_path.iterdir()) == []  # no output, no temporary folder


def test_output_through_a_link_and_on_a_read_only_disk(tiny_run, tmp_path):
    (tmp_path/"folder").mkdir(); (tmp_path/"link").symlink_to(tmp_path/"folder")
    r = neochat_cli("export", tiny_run, "--output", tmp_path/"link")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path/"folder"/"adapter_model.safetensors").exists()
    ro = tmp_path/"ro"; ro.mkdir()
    script = f"mount -t tmpfs -o ro,size=1m tmpfs {ro} || exit 99; exec {sys.executable} -m neochat.cli export {tiny_run} --output {ro}/out"
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if r.returncode == 99 or "unshare:" in r.stderr: pytest.skip(f"no private read-only mount here: {r.stderr.strip()[:200]}")
    one_line(r, f"--output {ro}/out: cannot write in {ro} (a read-only file system): give a folder you can write to")


def test_push_to_hub_uploads_the_export(tiny_run, tmp_path, monkeypatch):
    import huggingface_hub
    calls = []
    class StandInHfApi:
        def __init__(self, *args, **kwargs): pass
        def create_repo(self, repo_id, **kwargs): calls.append(("create_repo", repo_id, kwargs))
        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            calls.append(("upload_folder", repo_id, sorted(p.name for p in Path(folder_path).iterdir())))
            return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/1")
    monkeypatch.setattr(huggingface_hub, "HfApi", StandInHfApi)
    r = run_cli("export", tiny_run, "--output", tmp_path/"up", "--push-to-hub", "someone/tiny-chat", "--private")
    assert r.returncode == 0, r.stderr
    assert calls[0] == ("create_repo", "someone/tiny-chat", dict(private=True, exist_ok=True, repo_type="model"))
    assert calls[1] == ("upload_folder", "someone/tiny-chat", sorted(p.name for p in (tmp_path/"up").iterdir()))
    card = ModelCard.load(tmp_path/"up"/"README.md")
    assert "\n# tiny-chat\n" in "\n" + card.text
    assert 'AutoPeftModelForCausalLM.from_pretrained("someone/tiny-chat")' in card.text
    assert "https://huggingface.co/someone/tiny-chat/commit/1" in r.stdout


def test_eval_puts_its_report_on_the_card(tiny_run, tmp_path):
    tiny = Path(shutil.copytree(tiny_run, tmp_path/"tiny"))  # (tests/test_eval.py may have evaluated the cached run already)
    r = neochat_cli("eval", tiny, "--limit", "2", "--max-new-tokens", "8", "--batch-size", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"Updated the model card: {tiny/'README.md'}" in r.stdout
    card = ModelCard.load(tiny/"README.md")
    assert "`neochat eval` measured the model" in card.text and "| role leakage |" in card.text
    assert "`tiny` on 2 held-out prompts" in card.text  # this evaluation's
    assert neochat_cli("export", tiny, "--output", tmp_path/"lora").returncode == 0
    exported = ModelCard.load(tmp_path/"lora"/"README.md")
    assert "| stop rate (EOS or a turn start, after some text) |" in exported.text and "`tiny` on 2 held-out prompts" in exported.text
    assert "[More Information Needed]" not in exported.text
