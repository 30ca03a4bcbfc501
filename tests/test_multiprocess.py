"""Training in several processes (`neochat train --num-processes`, accelerate's launcher, gloo on a CPU) against one process.

The `tiny` preset for 6 steps on the bundled sample, with the same seed and the same effective batch of 4 conversations:
one process with batch 2 x accumulation 2, and two processes with batch 2 x accumulation 1. accelerate shares each step's
batches out between the processes from the same seeded order, so the two runs see the same conversations at every step
and their losses agree to rounding. About 30 s per run on two CPU cores; the timings are printed (pytest -s)."""
import json, subprocess, sys, time
from pathlib import Path
import pytest
from neochat.config import get_preset, save_config

CLI = [sys.executable, "-m", "neochat.cli"]
STEPS = 6


def _config(path, grad_accum):
    cfg = get_preset("tiny")
    cfg.data.eval_size = 4  # a short evaluation: this is about training
    t = cfg.train
    t.max_steps, t.batch_size, t.grad_accum, t.logging_steps, t.eval_steps, t.save_steps = STEPS, 2, grad_accum, 1, STEPS, STEPS
    save_config(cfg, path)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "The same run trained in one process and in two: {processes: (run dir, stdout, stderr, seconds)}."
    d, out = tmp_path_factory.mktemp("multiprocess"), {}
    for n, accum in ((1, 2), (2, 1)):
        start = time.perf_counter()
        r = subprocess.run([*CLI, "train", "--config", str(_config(d/f"p{n}.toml", accum)), "--output", str(d/f"run{n}"),
                            "--num-processes", str(n)], capture_output=True, text=True, timeout=300, cwd=d)
        assert r.returncode == 0, r.stderr[-3000:]
        out[n] = (d/f"run{n}", r.stdout, r.stderr, time.perf_counter() - start)
    losses = {n: [h["loss"] for h in json.loads((run/"log_history.json").read_text()) if "loss" in h] for n, (run, *_) in out.items()}
    for n, (run, _, _, s) in out.items(): print(f"\n{n} process(es): {s:.1f} s, losses {[round(l, 4) for l in losses[n]]}")
    print(f"largest step-loss difference, 2 processes against 1: {max(abs(a - b) for a, b in zip(losses[1], losses[2])):.2e}")
    return out


def _files(run:Path):
    return sorted(str(p.relative_to(run)) for p in run.rglob("*"))


def test_both_runs_complete_and_alike(runs):
    (one, *_), (two, *_) = runs[1], runs[2]
    top = ["README.md", "adapter_config.json", "adapter_model.safetensors", "chat_template.jinja", "checkpoints", "log_history.json",
           "loss.png", "neochat.toml", "run.json", "tokenizer.json", "tokenizer_config.json"]
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir()) == top
    # the checkpoints differ only in the random state each process keeps (one file per process, for --resume)
    rng = lambda run, names: [f for f in _files(run) if "rng_state" in f] == [f"checkpoints/checkpoint-{STEPS}/{n}" for n in names]
    assert rng(one, ["rng_state.pth"]) and rng(two, ["rng_state_0.pth", "rng_state_1.pth"])
    same = lambda run: [f for f in _files(run) if "rng_state" not in f]
    assert same(one) == same(two)
    assert all(json.loads((run/"run.json").read_text())["steps"] == STEPS for run in (one, two))


def test_effective_batch_is_saved_and_printed(runs):
    for n, accum in ((1, 2), (2, 1)):
        run, stdout, *_ = runs[n]
        s = json.loads((run/"run.json").read_text())
        assert (s["effective_batch"], s["per_device_batch"], s["processes"], s["grad_accum"]) == (4, 2, n, accum)
        assert stdout.count(f"effective batch: 4 conversations a step (2 per device x {n} process") == 1, stdout


def test_losses_match(runs):
    "Same conversations, same start, same effective batch: the same losses, up to the order floating-point sums are taken in."
    hist = {n: json.loads((runs[n][0]/"log_history.json").read_text()) for n in (1, 2)}
    loss = {n: [h["loss"] for h in hist[n] if "loss" in h] for n in hist}
    evals = {n: [h["eval_loss"] for h in hist[n] if "eval_loss" in h] for n in hist}
    assert len(loss[1]) == len(loss[2]) == STEPS and len(evals[1]) == len(evals[2]) == 2
    # 1e-3 of a loss of about 10: gloo's all-reduce adds the two halves of a step's gradient in another order than one
    # process accumulating them (measured on this 2-core CPU: no difference at all, 0.0 at every step). A run whose processes did not average their
    # gradients (each stepping on its own half) is off by 0.03 or more by step 3.
    assert max(abs(a - b) for a, b in zip(loss[1], loss[2])) < 1e-3, loss
    assert abs(sum(loss[1]) / STEPS - sum(loss[2]) / STEPS) < 1e-3, loss
    assert max(abs(a - b) for a, b in zip(evals[1], evals[2])) < 1e-3, evals


def test_nothing_written_twice(runs):
    run, stdout, stderr, _ = runs[2]
    history = json.loads((run/"log_history.json").read_text())
    assert [h["step"] for h in history if "eval_loss" in h] == [0, STEPS]  # the evaluation before training logged once, and the last
    assert [h["step"] for h in history if "loss" in h] == list(range(1, STEPS + 1))  # one line per step, not one per process
    for line in ("train conversations", "trainable of", f"Trained {STEPS} steps", "Run directory:"):
        assert stdout.count(line) == 1, (line, stdout)
    assert not (run/".lock").exists() and not (run/".final.tmp").exists()
    assert not list(run.parent.glob("*.lock")) and sorted(p.name for p in run.parent.iterdir()) == ["p1.toml", "p2.toml", "run1", "run2"]


def test_bundled_accelerate_configs_parse():
    "accelerate reads both bundled configs, as `accelerate launch --config_file` would, with every key one it knows."
    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DistributedType
    from neochat.cli import ACCELERATE_CONFIGS, accelerate_config
    parser = launch_command_parser()
    known = {a.dest for a in parser._actions}
    want = {"deepspeed_zero2": DistributedType.DEEPSPEED, "fsdp_lora": DistributedType.FSDP}
    assert set(ACCELERATE_CONFIGS) == set(want)
    for name, kind in want.items():
        path = accelerate_config(name)
        cfg = load_config_from_file(str(path))
        assert isinstance(cfg, ClusterConfig) and cfg.distributed_type == kind
        section = cfg.deepspeed_config if kind == DistributedType.DEEPSPEED else cfg.fsdp_config
        assert section and set(section) <= known, set(section) - known
        args, _, _ = _validate_launch_command(parser.parse_args(["--config_file", str(path), "--num_processes", "4", "-m", "neochat.cli", "train"]))
        assert args.num_processes == 4 and cfg.mixed_precision == "no"  # neochat sets bf16/fp16 itself
        if kind == DistributedType.DEEPSPEED: assert args.use_deepspeed and args.zero_stage == 2
        else: assert args.use_fsdp and args.fsdp_use_orig_params and args.fsdp_transformer_layer_cls_to_wrap == "GPTNeoBlock"


def test_resume_with_a_config_is_checked_as_one_process_checks_it(runs):
    "The launcher checks a resume against the run with the config settled as the processes settle it (the model's positions filled in)."
    run, *_ = runs[2]
    r = subprocess.run([*CLI, "train", "--config", str(run.parent/"p2.toml"), "--output", str(run), "--num-processes", "2", "--resume"],
                       capture_output=True, text=True, timeout=300, cwd=run.parent)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert lines[0] == f"neochat: error: {run} already finished its {STEPS} steps: raise train.max_steps (--max-steps) to train it further"


def _resumed(run:Path, tmp:Path):
    "A copy of `run` resumed for many more steps in two processes (its own process group), once they have trained a step."
    import os, signal, shutil
    copy = shutil.copytree(run, tmp/"resumed")
    proc = subprocess.Popen([*CLI, "train", "--output", str(copy), "--resume", "--max-steps", "400", "--num-processes", "2"],
                            stdout=subprocess.PIPE, stderr=open(tmp/"stderr", "w"), text=True, cwd=tmp, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # (xdist's workers ignore SIGINT)
    for line in proc.stdout:  # the main process logs each step's loss
        if line.startswith("{'loss'"): break
    return copy, proc


def _ended(proc, tmp:Path)->str:
    "Wait for `proc`; its stderr."
    proc.communicate(timeout=300)
    return (tmp/"stderr").read_text(errors="replace")


def _neochat_lines(stderr:str)->list:
    return [l.strip() for l in stderr.replace("\r", "\n").splitlines() if "neochat: " in l]


def test_ctrl_c_and_a_killed_process_are_one_line(runs, tmp_path):
    """Ctrl-C to the terminal's process group: the processes stop at a step and say where, the launcher's
    ChildFailedError and the launching process's KeyboardInterrupt are not shown. A process killed with SIGKILL: one
    line from the launching process naming it and the checkpoint kept, exit status 2."""
    import os, signal
    run, *_ = runs[2]
    (tmp_path/"a").mkdir(); copy, proc = _resumed(run, tmp_path/"a")
    os.killpg(proc.pid, signal.SIGINT)
    err = _ended(proc, tmp_path/"a")
    assert proc.returncode == 130 and "Traceback" not in err and "ChildFailedError" not in err, err[-3000:]
    lines = _neochat_lines(err)
    assert len(lines) == 1 and "neochat: stopped: training stopped by Ctrl-C at step" in lines[0], lines
    assert f"continue with: neochat train --output {copy} --resume" in lines[0], lines

    (tmp_path/"b").mkdir(); copy, proc = _resumed(run, tmp_path/"b")
    rank1 = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _is_rank1_of(p, copy))
    os.kill(rank1, signal.SIGKILL)
    err = _ended(proc, tmp_path/"b")
    assert proc.returncode == 2 and "Traceback" not in err and "ChildFailedError" not in err, err[-3000:]
    lines = _neochat_lines(err)
    assert len(lines) == 1 and "neochat: error: training stopped: training process 1 was killed by SIGKILL; kept: " in lines[0], lines
    assert f"checkpoint-{STEPS}; continue with: neochat train --output {copy} --resume" in lines[0], lines


def _is_rank1_of(p:Path, run:Path)->bool:
    try: env, cmd = (p/"environ").read_bytes().split(b"\0"), (p/"cmdline").read_bytes().split(b"\0")
    except OSError: return False
    return b"RANK=1" in env and str(run).encode() in cmd and b"neochat.cli" in cmd
