"""Bad input and faults through the `neochat` command, as a user meets them: each is one line on stderr (no traceback)
and exit status 2, or 130 for Ctrl-C. Nothing here downloads anything (HF_HUB_OFFLINE=1)."""
import shutil, signal, subprocess, sys
import pytest
from browsing import wait_until
from cli_server import ENV, neochat_cli, one_line


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d/"a_file").write_text("not a folder")
    (d/"a_dir").mkdir()
    (d/"weights.toml").write_text('preset = "tiny"\n[data]\nsources = ["sample"]\nweights = ["a"]\n')
    (d/"sources.toml").write_text('preset = "tiny"\n[data]\nsources = [1]\n')
    (d/"latin1.toml").write_bytes(b"preset = '\xe9'\n")
    (d/"deep.jsonl").write_text("[" * 200_000 + "]" * 200_000 + "\n")
    (d/"bom.jsonl").write_bytes('\ufeff{"text": "### Human: Hi### Assistant: Hello!"}\n'.encode())
    (d/"bom.csv").write_bytes('\ufeffsystem_prompt,question,response\n,"What is 2+2?",4\n'.encode())
    (d/"empty_run").mkdir()
    stopped = d/"stopped"/"checkpoints"/"checkpoint-5"
    stopped.mkdir(parents=True); (stopped/"trainer_state.json").write_text("{}")
    return d


ONE_LINE = [
    (["train", "--output", "{d}/run"], "model.name: cannot load 'EleutherAI/gpt-neo-1.3B'"),  # the default preset, offline
    (["train", "--preset", "tiny", "--model", "/nonexistent", "--output", "{d}/run"], "model.name: /nonexistent is not a folder"),
    (["train", "--config", "{d}/a_dir"], "is a directory, not a TOML file"),
    (["train", "--preset", "tiny", "--output", "{d}/a_file"], "--output {d}/a_file is a file, not a directory"),
    (["train", "--config", "{d}/weights.toml", "--output", "{d}/run"], "data.weights: must be positive numbers, got ['a']"),
    (["train", "--config", "{d}/sources.toml", "--output", "{d}/run"], "data.sources: must be names or paths (strings), got [1]"),
    (["train", "--config", "{d}/latin1.toml"], "latin1.toml cannot be read"),
    (["train", "--preset", "tiny", "--output", "{d}/stopped"], "holds a run stopped at checkpoint-5: continue it with --resume"),
    (["train", "--preset", "tiny", "--max-steps", str(10**22), "--output", "{d}/run"], "train.max_steps: must be between 1 and"),
    (["data", "{d}/deep.jsonl"], "deep.jsonl: line 1 is nested too deeply to read as JSON"),
    (["data", "sample", "--export", "{d}/a_file/out.jsonl"], "a_file is a file, not a folder"),
    (["data", "sample", "--export", "{d}/a_dir"], "--export {d}/a_dir is a directory"),
    (["data", "sample", "--plots", "{d}/a_file/plots"], "a_file is a file, not a folder"),
    (["data", "sample", "--plots", "{d}/a_file"], "--plots {d}/a_file is a file"),
    (["chat", "{d}/empty_run", "--prompt", "Hi"], "holds no neochat run (no run.json)"),
    (["chat", "{d}/stopped/checkpoints/checkpoint-5", "--prompt", "Hi"], "is a checkpoint of the run in"),
    (["chat", "{d}/stopped", "--prompt", "Hi"], "did not finish: continue it with: neochat train --output"),
    (["eval", "{d}/empty_run"], "holds no neochat run"),
    (["bench", "--behaviour", "--data", "{d}/missing.jsonl"], "missing.jsonl: no such file"),  # before the model is fetched
    (["bench", "--behaviour", "--data", "{d}/deep.jsonl"], "deep.jsonl: line 1 is nested too deeply"),
]


@pytest.mark.parametrize("args, needle", ONE_LINE)
def test_one_line(files, args, needle):
    d = str(files)
    line = one_line(neochat_cli(*[a.format(d=d) for a in args]), needle.format(d=d))
    assert line.startswith("neochat: error: "), line
    assert not (files/"run").exists()  # nothing half-made


def test_bom_files_are_read(files):
    for f in ("bom.jsonl", "bom.csv"):
        r = neochat_cli("data", files/f)
        assert r.returncode == 0, r.stderr
        assert "No bad rows" in r.stdout


def test_empty_prompt_fails_before_loading(files):
    "The prompt is checked before the run is opened: in a folder that holds no run, the empty prompt is what is reported."
    one_line(neochat_cli("chat", files/"empty_run", "--prompt", "  "), "--prompt is empty")


def test_missing_adapter(files, chat_tiny_run, tmp_path):
    run = tmp_path/"run"
    shutil.copytree(chat_tiny_run, run)
    (run/"adapter_model.safetensors").unlink()
    assert "has no adapter (adapter_model.safetensors missing)" in one_line(neochat_cli("chat", run, "--prompt", "Hi"))


@pytest.fixture
def tiny_config(tmp_path):
    p = tmp_path/"tiny.toml"
    # (10,000 steps: training would go on long after the first checkpoint, however slowly the test notices it)
    p.write_text('preset = "tiny"\n[data]\neval_size = 4\n[train]\nmax_steps = 10000\nsave_steps = 2\nlogging_steps = 1\neval_steps = 100\n')
    return p


def test_ctrl_c_during_training(tiny_config, tmp_path):
    run = tmp_path/"run"
    proc = subprocess.Popen([sys.executable, "-m", "neochat.cli", "train", "--config", tiny_config, "--output", run],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try: wait_until(lambda: any((run/"checkpoints").glob("checkpoint-*/trainer_state.json")) or proc.poll() is not None, 600, "a first checkpoint")
    except BaseException: proc.kill(); proc.communicate(); raise
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    line = one_line(r, "checkpoint-", f"continue with: neochat train --output {run} --resume", status=130)
    assert line.startswith("neochat: stopped: training stopped by Ctrl-C at step"), line


@pytest.mark.parametrize("limit", [3_000_000, 20_000_000], ids=["safetensors", "torch.save"])
def test_disk_full_during_training(tiny_config, tmp_path, limit):
    """A file-size limit makes the first checkpoint's write fail, as a full disk does: at 3 MB in the adapter's
    safetensors (13 MB), at 20 MB in torch.save's optimizer state (26 MB), each library in its own words."""
    one_line(neochat_cli("train", "--config", tiny_config, "--output", tmp_path/"run", limits={"RLIMIT_FSIZE": limit}),
             "training stopped: the disk is full", "kept: no checkpoint yet")


def test_a_checkpoint_folder_points_at_its_run(tmp_path):
    "A finished run's checkpoint given where a run belongs: one line that names the run (and, to train it further, how)."
    run = tmp_path/"run"; ckpt = run/"checkpoints"/"checkpoint-3"
    ckpt.mkdir(parents=True); (ckpt/"trainer_state.json").write_text("{}")
    for f in ("run.json", "neochat.toml"): (run/f).write_text("{}" if f == "run.json" else 'preset = "tiny"\n')
    for args in (["chat", ckpt, "--prompt", "Hi"], ["export", ckpt, "--output", tmp_path/"out"], ["eval", ckpt]):
        one_line(neochat_cli(*args), f"is a checkpoint of the finished run in {run}, not a run directory: open the run")
    one_line(neochat_cli("train", "--output", ckpt, "--resume"),
             f"continue the run with: neochat train --output {run} --resume --max-steps N (more than it trained: it is finished)")
    assert not (tmp_path/"out").exists()
