"""`neochat train` end to end on conversations the notebooks never saw: killed mid-run, resumed, and checked."""
import json, os, re, signal, subprocess, sys
from pathlib import Path
import pytest
from neochat.sources import asset
from browsing import wait_until

CLI = [sys.executable, "-m", "neochat.cli"]


def _train(out, *extra):
    return [*CLI, "train", "--preset", "tiny", "--data", str(asset("unseen_guanaco.jsonl")),
            "--max-steps", "40", "--output", str(out), *extra]


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    "A tiny run killed with SIGKILL after its first checkpoint, then finished with --resume."
    out = tmp_path_factory.mktemp("train") / "run"
    proc = subprocess.Popen(_train(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = out / "checkpoints" / "checkpoint-20" / "trainer_state.json"
    wait_until(lambda: state.exists() or proc.poll() is not None, 600, "checkpoint-20 or the end of training")
    assert state.exists(), "no checkpoint-20 was written"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_complete = (out / "run.json").exists()
    res = subprocess.run(_train(out, "--resume"), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return out, killed_complete, res.stdout


def test_killed_run_is_not_complete_and_resume_finishes(resumed_run):
    out, killed_complete, stdout = resumed_run
    assert not killed_complete
    assert json.loads((out / "run.json").read_text())["steps"] == 40
    history = json.loads((out / "log_history.json").read_text())
    assert [h["step"] for h in history if "loss" in h] == [1, 5, 10, 15, 20, 25, 30, 35, 40]
    assert f"Run directory: {out}" in stdout
    assert re.search(rf"Continuing {re.escape(str(out))} from checkpoint-(\d+) \(step \1;", stdout), stdout[:2000]


def test_run_dir_opens_with_peft(resumed_run):
    from peft import AutoPeftModelForCausalLM
    out, _, _ = resumed_run
    model = AutoPeftModelForCausalLM.from_pretrained(out)
    assert any("lora_A" in n for n, _ in model.named_parameters())


def test_saved_template_marks_replies_and_one_eos(resumed_run):
    from transformers import AutoTokenizer
    from neochat.sources import load_source
    out, _, _ = resumed_run
    tok = AutoTokenizer.from_pretrained(out)
    convs, _ = load_source(str(asset("unseen_guanaco.jsonl")), seed=None)
    multi = next(c for c in convs if sum(m["role"] == "assistant" for m in c) >= 2)
    enc = tok.apply_chat_template(multi, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    marked = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    want = []
    for m in multi:
        if m["role"] == "assistant": want += tok(" " + m["content"]).input_ids + [tok.eos_token_id]
    assert marked == want
    assert marked.count(tok.eos_token_id) == sum(m["role"] == "assistant" for m in multi)


def test_two_trainings_on_one_directory(tmp_path):
    "While one `neochat train` runs, a second on the same --output is refused in one line and changes nothing."
    out = tmp_path/"run"
    # (100,000 steps: the first training still holds the lock however slowly the second starts; it is killed below)
    first = subprocess.Popen(_train(out, "--max-steps", "100000"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        wait_until(lambda: (out/".lock").exists() or first.poll() is not None, 300, "the first training's lock")
        assert (out/".lock").read_text().strip() == str(first.pid)
        second = subprocess.run(_train(out, "--overwrite"), capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        err = second.stderr.strip().splitlines()
        assert len(err) == 1 and f"is being trained by process {first.pid}" in err[0], second.stderr[-2000:]
    finally:
        os.killpg(first.pid, signal.SIGKILL); first.wait()
    # the killed training's lock is stale: the next one takes it over (and, with a checkpoint or not, says how to go on)
    again = subprocess.run(_train(out, "--overwrite", "--max-steps", "2"), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not (out/".lock").exists() and json.loads((out/"run.json").read_text())["steps"] == 2


def test_a_llama_by_relative_path_trains_records_itself_and_chats_from_elsewhere(tmp_path):
    "Beyond GPT-Neo: a tiny random Llama, given as a relative folder, with the tiny preset's `all-linear` preset."
    import shutil, tomllib
    from neochat.model import tiny_llama_dir
    work = tmp_path/"work"; work.mkdir()
    shutil.copytree(tiny_llama_dir(), work/"my-llama")
    r = subprocess.run([*CLI, "train", "--preset", "tiny", "--model", "my-llama", "--max-steps", "4", "--output", "run"],
                       cwd=work, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "(llama)" in r.stdout and "packing off (packing needs neochat's attention, which is GPT-Neo's" in r.stdout
    run, model = work/"run", str((work/"my-llama").resolve())
    saved = (run/"neochat.toml").read_text()
    assert saved.startswith("# The model is model.name below; the other settings started from preset 'tiny'")
    cfg = tomllib.loads(saved)
    assert (cfg["model"]["name"], cfg["model"]["max_positions"]) == (model, 4096)  # absolute; the model's own context
    summary = json.loads((run/"run.json").read_text())
    assert (summary["model_type"], summary["context_length"], summary["packing"]) == ("llama", 4096, False)
    adapter = json.loads((run/"adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == model
    assert {t.rsplit(".", 1)[-1] for t in adapter["target_modules"]} == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert f"`{model}` (llama)" in (run/"README.md").read_text()
    elsewhere = tmp_path/"elsewhere"; elsewhere.mkdir()
    r = subprocess.run([*CLI, "chat", str(run), "--prompt", "Hello", "--max-new-tokens", "5"], cwd=elsewhere,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
